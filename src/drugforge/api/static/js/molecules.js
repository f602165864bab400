// Molecules page: paste SMILES, upload a CSV/SDF or draw a structure; then one table row per
// input molecule with its depiction, profile, panel and (optionally) store-model predictions,
// colour-coded, sortable, filterable and downloadable. An invalid SMILES stays in place, in red.

import { getJSON, postFile, postJSON, profileAll } from "./api.js";
import { depiction } from "./depict.js";
import { createEditor } from "./jsme.js";
import { DataTable } from "./table.js";
import { THRESHOLDS } from "./thresholds.js";
import { download, el, fmt, mount, parseDelimited } from "./util.js";

const EXAMPLE = [
  "CC(=O)Oc1ccccc1C(=O)O aspirin",
  "CN1C=NC2=C1C(=O)N(C(=O)N2C)C caffeine",
  "CC(C)Cc1ccc(cc1)C(C)C(=O)O ibuprofen",
  "O=C1C(=Cc2ccccc2)SC(=S)N1 benzylidene-rhodanine",
  "c1ccccc1N=Nc1ccccc1 azobenzene",
  "C1CC not-a-molecule",
].join("\n");

const SMILES_HEADERS = ["smiles", "canonical_smiles", "isomeric_smiles", "smi", "mol", "structure"];
const NAME_HEADERS = ["name", "id", "title", "compound", "compound_id", "molecule", "mol_id"];

// what the page remembers while you visit molecule pages
const state = { rows: null, modelColumns: [], text: "", table: null, showPanel: false };

/** "SMILES name with spaces" lines -> [{smiles, name}] (blank lines and # comments skipped). */
export function parsePasted(text) {
  const out = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^(\S+)(?:\s+(.*))?$/);
    out.push({ smiles: m[1], name: (m[2] || "").trim() });
  }
  return out;
}

function fromCSV(text, fileName) {
  const rows = parseDelimited(text);
  if (rows.length < 2) throw new Error(`${fileName}: no data rows`);
  const header = rows[0].map((h) => h.trim().toLowerCase());
  const si = header.findIndex((h) => SMILES_HEADERS.includes(h));
  if (si === -1) {
    throw new Error(`${fileName}: no SMILES column (looked for a header named ${SMILES_HEADERS.join(", ")})`);
  }
  const ni = header.findIndex((h) => NAME_HEADERS.includes(h));
  return rows.slice(1).map((r) => ({ smiles: (r[si] || "").trim(), name: ni === -1 ? "" : (r[ni] || "").trim() }));
}

async function readFile(file) {
  const lower = file.name.toLowerCase();
  if (/\.(csv|tsv|tab)$/.test(lower)) return fromCSV(await file.text(), file.name);
  // SDF, SMI, gzipped or Parquet: the server reads them as the CLI does
  const body = await postFile("/v1/read-molecules", file);
  return body.molecules.map((m) => ({ smiles: m.smiles, name: m.name }));
}

function baseColumns(showPanel, panelNames) {
  const n = (key, label, extra = {}) => ({ key, label, numeric: true, graded: true, ...extra });
  const cols = [
    { key: "__index", label: "#", numeric: true, keepOnError: true, value: (r) => r.__order + 1 },
    { key: "structure", label: "Structure", keepOnError: true, value: () => "",
      render: (r) => (r.error ? el("span", { class: "muted" }, "—") : depiction(r.smiles, 120, 84)) },
    { key: "name", label: "Name", keepOnError: true },
    { key: "smiles", label: "SMILES", keepOnError: true,
      render: (r) => el("span", { class: "smiles", title: r.smiles }, r.smiles) },
    n("qed", "QED"), n("mw", "MW"), n("clogp", "cLogP"), n("tpsa", "TPSA"),
    n("hbd", "HBD"), n("hba", "HBA"), n("rotatable_bonds", "RotB"), n("sa_score", "SA"),
    n("lipinski_violations", "Ro5"),
    n("n_alerts", "Alerts", { title: THRESHOLDS.n_alerts.note,
      render: (r) => el("span", { class: `grade-${r.n_alerts === 0 ? "good" : r.n_alerts === 1 ? "warn" : "bad"} pill`,
                                  title: r.alerts || "no structural alerts" }, fmt(r.n_alerts)) }),
  ];
  if (panelNames.includes("esol_logS")) cols.push(n("esol_logS", "logS"));
  if (panelNames.includes("bbbp")) cols.push(n("bbbp", "BBB P", { graded: false, title: "P(blood-brain barrier penetration)" }));
  if (panelNames.some((p) => p.startsWith("tox21_"))) {
    cols.push(n("tox21_max", "Tox21 max", { title: `${THRESHOLDS.tox21_max.note}; hover for the endpoint`,
      render: (r) => el("span", { class: `pill grade-${r.tox21_max < 0.3 ? "good" : r.tox21_max < 0.5 ? "warn" : "bad"}`,
                                  title: r.tox21_argmax }, fmt(r.tox21_max)) }));
  }
  const headline = ["herg", "ames", "dili"].filter((p) => panelNames.includes(p));
  for (const p of headline) cols.push(n(p, THRESHOLDS[p].label, { title: THRESHOLDS[p].note }));
  if (showPanel) {
    for (const p of panelNames) {
      if (p === "esol_logS" || p === "bbbp" || headline.includes(p)) continue;
      cols.push(n(p, p.replace(/^tox21_/, ""), { title: `${p} (panel prediction)` }));
    }
  }
  return cols;
}

function enrich(row) {
  const out = { ...row };
  if (!row.error) {
    out.n_alerts = (row.n_PAINS || 0) + (row.n_Brenk || 0) + (row.n_NIH || 0);
    let best = -1, arg = "";
    for (const [k, v] of Object.entries(row)) {
      if (k.startsWith("tox21_") && !/_(std|ad_similarity|in_domain|pctl_drugs)$/.test(k) && typeof v === "number" && v > best) {
        best = v; arg = k;
      }
    }
    if (arg) { out.tox21_max = best; out.tox21_argmax = `highest: ${arg} = ${fmt(best)}`; }
  }
  return out;
}

async function predictColumns(models, smiles, rows, status) {
  const columns = [];
  for (const model of models) {
    status(`predicting with ${model}…`);
    const valid = rows.map((r, i) => (r.error ? -1 : i)).filter((i) => i >= 0);
    const body = await postJSON("/v1/predict", { model, smiles: valid.map((i) => smiles[i]) });
    const keys = body.rows.length ? Object.keys(body.rows[0]).filter((k) => k !== "smiles" && k !== "error") : [];
    for (const k of keys) columns.push({ key: `${model}:${k}`, label: `${model}: ${k}`, numeric: true });
    body.rows.forEach((p, j) => {
      const row = rows[valid[j]];
      for (const k of keys) row[`${model}:${k}`] = p.error ? null : p[k];
      if (p.error) row[`${model}:error`] = p.error;
    });
  }
  return columns;
}

function resultsView(root) {
  const first = state.rows.find((r) => !r.error) || {};
  const panelNames = Object.keys(first).filter((k) => `${k}_in_domain` in first);
  const columns = [...baseColumns(state.showPanel, panelNames), ...state.modelColumns];
  const table = new DataTable(columns, state.rows, {
    onRowClick: (row) => {
      location.hash = `#/molecule?${new URLSearchParams({ smiles: row.smiles, name: row.name || "" })}`;
    },
    rowTitle: () => "open the molecule page",
  });
  state.table = table;
  const filter = el("input", { type: "search", placeholder: "Filter rows (name, SMILES, alert…)",
                               "aria-label": "filter rows", oninput: (e) => table.setFilter(e.target.value) });
  const nBad = state.rows.filter((r) => r.error).length;
  const csvColumns = ["name", "smiles", ...Object.keys(state.rows.find((r) => !r.error) || {})
    .filter((k) => !["name", "smiles", "error", "tox21_argmax"].includes(k)), "error"];
  const toolbar = el("div", { class: "toolbar" },
    filter,
    el("label", { class: "check" }, el("input", { type: "checkbox", checked: state.showPanel,
      onchange: (e) => { state.showPanel = e.target.checked; mount(root, resultsView(root)); } }), " every panel endpoint"),
    table.count,
    nBad ? el("span", { class: "badge bad" }, `${nBad} invalid`) : null,
    el("span", { class: "spacer" }),
    el("button", { onclick: () => download("drugforge-molecules.csv", table.csv([...new Set(csvColumns)])) }, "Download CSV"));
  return el("section", { class: "card", id: "results" }, el("h2", {}, "Results"), toolbar, table.render(),
    el("p", { class: "legend" },
      el("span", { class: "pill grade-good" }, "good"), el("span", { class: "pill grade-warn" }, "borderline"),
      el("span", { class: "pill grade-bad" }, "poor"),
      " against the thresholds in each column's tooltip. Click a row for its molecule page."));
}

export async function moleculesPage(root) {
  const status = el("div", { class: "status", role: "status", "data-testid": "status" });
  const say = (text, kind = "") => { status.className = `status ${kind}`; status.textContent = text; };
  const textarea = el("textarea", { id: "smiles-input", rows: 6, spellcheck: "false",
    placeholder: "One SMILES per line, optionally followed by a name:\nCCO ethanol\nc1ccccc1O phenol" });
  textarea.value = state.text;
  const fileInput = el("input", { type: "file", id: "file-input",
                                  accept: ".csv,.tsv,.tab,.smi,.txt,.sdf,.sd,.gz,.parquet,.pq" });
  const modelSelect = el("select", { id: "model-select", multiple: true, size: 3, "aria-label": "store models" });
  const editorBox = el("div", { id: "jsme-box", class: "jsme-box" }, el("p", { class: "muted" }, "Loading the editor…"));
  let editor = null;
  const results = el("div", { id: "results-box" });
  const run = el("button", { id: "run-profile", class: "primary" }, "Profile molecules");

  async function profile(items, source) {
    if (!items.length) { say("Nothing to profile: paste at least one SMILES.", "error"); return; }
    run.disabled = true;
    const started = performance.now();
    try {
      const smiles = items.map((i) => i.smiles);
      say(`Profiling ${items.length} molecules…`);
      const rows = await profileAll(smiles, { onChunk: (d, t) => say(`Profiling… ${d} of ${t}`) });
      state.rows = rows.map((r, i) => enrich({ ...r, name: items[i].name }));
      const models = [...modelSelect.selectedOptions].map((o) => o.value);
      state.modelColumns = models.length ? await predictColumns(models, smiles, state.rows, say) : [];
      const bad = state.rows.filter((r) => r.error).length;
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      say(`${items.length} molecules from ${source} in ${secs} s` + (bad ? `; ${bad} could not be read (red rows)` : ""), bad ? "warn" : "ok");
      mount(results, resultsView(results));
    } catch (err) {
      say(err.message, "error");
    } finally {
      run.disabled = false;
    }
  }

  run.addEventListener("click", () => { state.text = textarea.value; profile(parsePasted(textarea.value), "the list"); });
  fileInput.addEventListener("change", async () => {
    const file = fileInput.files[0];
    if (!file) return;
    try {
      say(`Reading ${file.name}…`);
      const items = await readFile(file);
      textarea.value = items.map((i) => (i.name ? `${i.smiles} ${i.name}` : i.smiles)).join("\n");
      state.text = textarea.value;
      await profile(items, file.name);
    } catch (err) {
      say(err.message, "error");
    } finally {
      fileInput.value = "";
    }
  });

  const addDrawn = el("button", { class: "secondary", onclick: () => {
    const smiles = editor ? editor.smiles() : "";
    if (!smiles) { say("Draw a structure first.", "error"); return; }
    textarea.value = (textarea.value.trim() ? textarea.value.trim() + "\n" : "") + smiles;
    say(`Added ${smiles} to the list.`, "ok");
  } }, "Add drawing to the list");
  const drawTab = el("details", { class: "draw", ontoggle: async (e) => {
    if (!e.target.open || editor) return;
    try {
      editor = await createEditor("jsme-box", "600px", "340px");
      editorBox.querySelector("p")?.remove();
      editorBox.jsme = editor; // the editor's own API (readGenericMolecularInput, smiles), for scripts
    }
    catch (err) { mount(editorBox, el("p", { class: "error" }, err.message)); }
  } }, el("summary", {}, "Draw a structure (JSME editor)"), editorBox, addDrawn);

  getJSON("/v1/models").then((body) => {
    // models of SMILES only: drug-target and image models have their own pages
    const models = body.models.filter((m) => !m.input_kind || ["molecules", "any"].includes(m.input_kind));
    mount(modelSelect, models.map((m) => el("option", { value: m.name }, `${m.name} (${m.task || "model"})`)));
    if (!models.length) modelSelect.replaceWith(el("span", { class: "muted" }, "no models in the store yet"));
  }).catch(() => modelSelect.replaceWith(el("span", { class: "muted" }, "models unavailable")));

  mount(root,
    el("section", { class: "card input" },
      el("h2", {}, "Molecules"),
      el("p", { class: "muted" }, "Paste SMILES, upload a CSV (with a SMILES column), SDF or SMI file, or draw a structure. ",
        "Every molecule gets its drug-likeness profile, structural alerts and the shipped ADMET panel."),
      el("div", { class: "input-grid" },
        el("div", {}, textarea,
          el("div", { class: "row" }, run,
            el("button", { class: "secondary", onclick: () => { textarea.value = EXAMPLE; } }, "Load example"),
            el("label", { class: "file" }, "Upload file… ", fileInput))),
        el("div", { class: "side" },
          el("label", { for: "model-select" }, "Also predict with store models (optional):"), modelSelect,
          el("p", { class: "hint" }, "Ctrl/⌘-click to choose several."))),
      drawTab, status),
    results);
  if (state.rows) mount(results, resultsView(results));
}
