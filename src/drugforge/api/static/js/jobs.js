// Jobs page: the API key, forms that start a screen, a generation or a training run, the key's
// jobs with live progress, and each finished job's result as a table to browse and download.

import { del, getJSON, getKey, postFile, postJSON, request, setKey } from "./api.js";
import { depiction } from "./depict.js";
import { DataTable } from "./table.js";
import { download, duration, el, fmt, mount, parseDelimited } from "./util.js";

let timer = null;
const ACTIVE = new Set(["queued", "running"]);

const list = (text) => text.split(/[,\n]/).map((s) => s.trim()).filter(Boolean);

function keyCard(onChange) {
  const input = el("input", { type: "password", id: "api-key", autocomplete: "off", value: getKey(),
                              placeholder: "df_…", "aria-label": "API key" });
  const note = el("span", { class: "muted small" });
  const show = () => { note.textContent = getKey() ? "key saved in this browser" : "no key: jobs need one"; };
  show();
  return el("form", { class: "card keybar", onsubmit: (e) => { e.preventDefault(); setKey(input.value); show(); onChange(); } },
    el("label", { for: "api-key" }, "API key"), input,
    el("button", { id: "save-key", type: "submit" }, "Save"),
    el("button", { type: "button", class: "secondary", onclick: () => { input.type = input.type === "password" ? "text" : "password"; } }, "Show"),
    el("button", { type: "button", class: "secondary", onclick: () => { input.value = ""; setKey(""); show(); onChange(); } }, "Forget"),
    note,
    el("span", { class: "hint" }, "Create one on the server: ", el("code", {}, "drugforge keys create --name NAME")));
}

function field(label, input, hint = "") {
  return el("label", { class: "field" }, el("span", {}, label), input, hint ? el("span", { class: "hint" }, hint) : null);
}

function startForms(say, refresh) {
  const submit = async (form, build) => {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const body = await build();
      say("Submitting…");
      const job = await postJSON("/v1/jobs", body);
      say(`Started ${job.kind} job ${job.id}.`, "ok");
      refresh();
    } catch (err) {
      say(err.message, "error");
    } finally {
      button.disabled = false;
    }
  };
  const upload = async (input, what) => {
    const file = input.files[0];
    if (!file) throw new Error(`choose a ${what} file first`);
    say(`Uploading ${file.name}…`);
    return (await postFile("/v1/uploads", file)).id;
  };

  const lib = el("input", { type: "file", id: "screen-library", accept: ".csv,.tsv,.smi,.txt,.sdf,.sd,.gz,.parquet,.pq" });
  const props = el("input", { id: "screen-properties", value: "qed,mw,clogp,tpsa,sa_score" });
  const filters = el("input", { id: "screen-filter", placeholder: "mw<=500, qed>=0.5" });
  const rank = el("input", { id: "screen-rank", value: "qed", placeholder: "qed or -sa_score" });
  const top = el("input", { id: "screen-top", type: "number", min: 1, value: 100 });
  const models = el("input", { id: "screen-models", placeholder: "store model names (optional)" });
  const screen = el("form", { class: "card job-form", id: "screen-form" },
    el("h3", {}, "Screen a library"),
    field("Library", lib, "CSV/SDF/SMI with SMILES"), field("Properties", props, "comma-separated"),
    field("Filters", filters, "e.g. mw<=500, qed>=0.5"), field("Rank by", rank, "a column; -col for ascending"),
    field("Keep top", top), field("Models", models, "adds their predictions"),
    el("button", { type: "submit", class: "primary" }, "Start screen"));
  screen.addEventListener("submit", (e) => { e.preventDefault(); submit(screen, async () => {
    const body = { kind: "screen", library: await upload(lib, "library"), properties: list(props.value),
                   filters: list(filters.value), models: list(models.value) };
    if (rank.value.trim()) body.rank = rank.value.trim();
    if (top.value) body.top = Number(top.value);
    return body;
  }); });

  const n = el("input", { id: "generate-n", type: "number", min: 1, value: 100 });
  const seed = el("input", { id: "generate-seed", type: "number", min: 0, value: 0 });
  const gen = el("form", { class: "card job-form", id: "generate-form" },
    el("h3", {}, "Generate molecules"), field("How many", n), field("Seed", seed),
    el("p", { class: "hint" }, "Samples new molecules with the shipped chemical language model."),
    el("button", { type: "submit", class: "primary" }, "Start generation"));
  gen.addEventListener("submit", (e) => { e.preventDefault(); submit(gen, async () =>
    ({ kind: "generate", n: Number(n.value), seed: Number(seed.value) })); });

  const data = el("input", { type: "file", id: "train-data", accept: ".csv,.tsv,.sdf,.gz,.parquet,.pq" });
  const targets = el("input", { id: "train-targets", placeholder: "y" });
  const require = el("input", { id: "train-require", placeholder: "rmse<=1.0" });
  const name = el("input", { id: "train-name", placeholder: "my-model" });
  const family = el("input", { id: "train-model", value: "auto" });
  const choice = (id, values) => el("select", { id }, values.map((v) => el("option", { value: v }, v)));
  const split = choice("train-split", ["scaffold", "random", "cluster"]);
  const calibration = choice("train-calibration", ["auto", "platt", "isotonic", "none"]);
  const transform = choice("train-target-transform", ["auto", "none", "log10"]);
  const train = el("form", { class: "card job-form", id: "train-form" },
    el("h3", {}, "Train a model"), field("Data", data, "CSV with SMILES and target columns"),
    field("Targets", targets, "comma-separated columns"), field("Requirement", require, "acceptance, e.g. rmse<=1.0"),
    field("Model", family, "auto tries several; or svm, gp, gbm, mlp, mpnn…"),
    field("Model name", name, "saved in the store under this name"),
    el("details", { class: "advanced" }, el("summary", {}, "Advanced settings"),
      field("Held-out split", split, "scaffold keeps chemical series apart (auto's folds follow it)"),
      field("Probability calibration", calibration, "classification: fitted on out-of-fold predictions"),
      field("Target transform", transform, "regression: auto takes log10 of skewed positive targets")),
    el("button", { type: "submit", class: "primary" }, "Start training"));
  train.addEventListener("submit", (e) => { e.preventDefault(); submit(train, async () => {
    if (!name.value.trim()) throw new Error("give the model a name");
    if (!list(targets.value).length) throw new Error("name at least one target column");
    return { kind: "train", name: name.value.trim(), data: await upload(data, "training"),
             targets: list(targets.value), require: list(require.value),
             model: family.value.trim() || "auto", split: split.value,
             calibration: calibration.value, target_transform: transform.value };
  }); });
  return el("div", { class: "grid3" }, screen, gen, train);
}

function stateBadge(state) {
  const cls = { done: "good", failed: "bad", cancelled: "muted", running: "info", queued: "info" }[state] || "";
  return el("span", { class: `badge ${cls}`, "data-testid": "job-state" }, state);
}

function jobCard(job, showResult, refresh, say) {
  const act = (fn) => async () => { try { await fn(); } catch (err) { say(err.message, "error"); } };
  const pct = Math.round(100 * (job.progress || 0));
  const total = job.total ? `${fmt(job.done)} / ${fmt(job.total)} ${job.unit || ""}` : job.done ? `${fmt(job.done)} ${job.unit || ""}` : "";
  const counts = Object.entries(job.counts || {}).map(([k, v]) => `${k} ${fmt(v)}`).join(" · ");
  const actions = [];
  if (job.state === "done") {
    actions.push(el("button", { onclick: () => showResult(job) }, "View result"));
    actions.push(el("button", { class: "secondary", onclick: act(async () => {
      const r = await request(`/v1/jobs/${job.id}/result?format=csv`);
      download(`${job.name || job.id}.csv`, await r.blob());
    }) }, "Download CSV"));
  }
  if (ACTIVE.has(job.state)) {
    actions.push(el("button", { class: "secondary", onclick: act(async () => {
      await del(`/v1/jobs/${job.id}`);
      say(`Cancelled ${job.id}.`, "ok");
      refresh();
    }) }, "Cancel"));
  }
  return el("div", { class: `job ${job.state}`, "data-job": job.id },
    el("div", { class: "job-head" }, el("b", {}, job.kind), " ", job.name ? el("span", {}, job.name) : null,
      el("code", { class: "muted small" }, job.id), stateBadge(job.state), el("span", { class: "spacer" }), actions),
    el("div", { class: "progress", title: `${pct}%` }, el("div", { class: "bar", style: `width:${pct}%` })),
    el("div", { class: "job-meta muted small" },
      [total, job.rate, job.eta_s != null && ACTIVE.has(job.state) ? `ETA ${duration(job.eta_s)}` : "", counts]
        .filter(Boolean).join(" · ")),
    job.error ? el("p", { class: "status error" }, job.error) : null);
}

async function resultView(job, box) {
  mount(box, el("p", { class: "status" }, `Loading the result of ${job.id}…`));
  try {
    const text = await (await request(`/v1/jobs/${job.id}/result?format=csv`)).text();
    const rows = parseDelimited(text, ",");
    const header = rows[0] || [];
    const objects = rows.slice(1).map((r) => Object.fromEntries(header.map((h, i) => {
      const v = r[i] ?? "";
      const x = Number(v);
      return [h, v !== "" && Number.isFinite(x) ? x : v];
    })));
    const numeric = new Set(header.filter((h) => objects.some((o) => typeof o[h] === "number")));
    const columns = header.map((h) => (h === "smiles" || h === "input"
      ? { key: h, label: h, render: (r) => el("span", { class: "smiles", title: r[h] }, r[h]) }
      : { key: h, label: h, numeric: numeric.has(h), graded: numeric.has(h) }));
    if (header.includes("smiles")) {
      columns.splice(header.indexOf("rank") + 1, 0, { key: "__structure", label: "Structure", value: () => "",
        render: (r) => (r.smiles ? depiction(r.smiles, 120, 84) : "") });
    }
    const table = new DataTable(columns,
      objects.map((o) => ({ ...o, error: typeof o.error === "string" ? o.error : "" })),
      { onRowClick: header.includes("smiles") ? (r) => {
          location.hash = `#/molecule?${new URLSearchParams({ smiles: r.smiles, name: r.id || r.name || "" })}`;
        } : null, rowTitle: () => "open the molecule page" });
    const filter = el("input", { type: "search", placeholder: "Filter rows", oninput: (e) => table.setFilter(e.target.value) });
    mount(box, el("section", { class: "card", id: "job-result" },
      el("h3", {}, `Result of ${job.kind} ${job.name || job.id}`),
      el("div", { class: "toolbar" }, filter, table.count, el("span", { class: "spacer" }),
        el("button", { onclick: () => download(`${job.name || job.id}.csv`, text) }, "Download CSV")),
      table.render()));
  } catch (err) {
    mount(box, el("p", { class: "status error" }, err.message));
  }
}

export async function jobsPage(root) {
  const status = el("div", { class: "status", role: "status" });
  const say = (text, kind = "") => { status.className = `status ${kind}`; status.textContent = text; };
  const jobsBox = el("div", { id: "jobs-list" });
  const resultBox = el("div", { id: "result-box" });
  const showResult = (job) => resultView(job, resultBox);

  async function refresh() {
    clearTimeout(timer);
    if (!getKey()) { mount(jobsBox, el("p", { class: "muted" }, "Save an API key to see and start jobs.")); return; }
    try {
      const { jobs } = await getJSON("/v1/jobs");
      mount(jobsBox, jobs.length ? jobs.map((j) => jobCard(j, showResult, refresh, say)) : el("p", { class: "muted" }, "No jobs yet."));
      if (jobs.some((j) => ACTIVE.has(j.state)) && location.hash.startsWith("#/jobs")) timer = setTimeout(refresh, 1000);
    } catch (err) {
      mount(jobsBox, el("p", { class: "status error" }, err.message));
    }
  }

  mount(root, keyCard(refresh), startForms(say, refresh), status,
    el("section", { class: "card" }, el("div", { class: "toolbar" }, el("h2", {}, "Your jobs"), el("span", { class: "spacer" }),
      el("button", { class: "secondary", onclick: refresh }, "Refresh")), jobsBox),
    resultBox);
  await refresh();
}

export function leaveJobs() {
  clearTimeout(timer);
}
