// Binding page: one molecule against every target of a drug-target model of the server's store
// (POST /v1/dti/profile): a selectivity profile, strongest predicted binding first, sortable,
// filterable and downloadable. Models come from `drugforge dti train` or a dti-train job.

import { getJSON, postJSON } from "./api.js";
import { depiction } from "./depict.js";
import { DataTable } from "./table.js";
import { download, el, fmt, hashParams, mount } from "./util.js";

const PAIR_MODELS = ["pair-nn", "pair-gbm", "pair-ensemble"];

function profileView(model, smiles, rows) {
  const columns = [
    { key: "rank", label: "Rank", numeric: true },
    { key: "target_id", label: "Target" },
    { key: "affinity", label: "Predicted affinity", numeric: true, render: (r) => fmt(r.affinity) },
    { key: "affinity_std", label: "± std", numeric: true, render: (r) => fmt(r.affinity_std) },
    { key: "percentile", label: "Percentile", numeric: true, render: (r) => fmt(r.percentile, 1) },
  ];
  const table = new DataTable(columns, rows);
  const filter = el("input", { type: "search", placeholder: "Filter targets", "aria-label": "filter targets",
                               oninput: (e) => table.setFilter(e.target.value) });
  return el("section", { class: "card", id: "binding-results" },
    el("h3", {}, `${model}: ${rows.length} targets`),
    el("div", { class: "toolbar" }, depiction(smiles, 160, 110), filter, table.count, el("span", { class: "spacer" }),
      el("button", { onclick: () => download(`binding-${model}.csv`,
        table.csv(["rank", "target_id", "affinity", "affinity_std", "percentile", "error"])) }, "Download CSV")),
    table.render());
}

export async function bindingPage(root) {
  const status = el("div", { class: "status", role: "status", "data-testid": "binding-status" });
  const say = (text, kind = "") => { status.className = `status ${kind}`; status.textContent = text; };
  const select = el("select", { id: "binding-model", "aria-label": "drug-target model" });
  const input = el("input", { id: "binding-smiles", type: "text", spellcheck: "false", size: 60,
                              placeholder: "SMILES of the molecule", value: hashParams().get("smiles") || "" });
  const results = el("div");
  const run = el("button", { id: "run-binding", class: "primary", onclick: async () => {
    const smiles = input.value.trim();
    if (!smiles) { say("enter a SMILES", "error"); return; }
    run.disabled = true;
    say(`predicting ${smiles} against every target of ${select.value}…`);
    try {
      const { rows } = await postJSON("/v1/dti/profile", { model: select.value, smiles });
      mount(results, profileView(select.value, smiles, rows));
      say(`${rows.length} targets ranked`);
    } catch (err) {
      mount(results);
      say(err.message, "error");
    } finally {
      run.disabled = false;
    }
  } }, "Profile");
  mount(root, el("h2", {}, "Binding"), el("p", { class: "status" }, "Loading models…"));
  try {
    const { models } = await getJSON("/v1/models");
    const pairs = models.filter((m) => PAIR_MODELS.includes(m.model));
    if (!pairs.length) {
      mount(root, el("h2", {}, "Binding"), el("p", { class: "muted" }, "No drug-target models in the store yet: train one with ",
        el("code", {}, "drugforge dti train"), " into DATA_DIR/models, or start a dti-train job."));
      return;
    }
    for (const m of pairs) {
      const ci = m.test_metrics && typeof m.test_metrics.ci === "number" ? ` (test CI ${fmt(m.test_metrics.ci)})` : "";
      select.append(el("option", { value: m.name }, `${m.name}${ci}`));
    }
    mount(root, el("h2", {}, "Binding"),
      el("p", { class: "muted" }, "Predicted binding affinity of one molecule to every target a drug-target model was trained on: a selectivity profile."),
      el("section", { class: "card" }, el("div", { class: "toolbar" }, select, input, run), status),
      results);
  } catch (err) {
    mount(root, el("h2", {}, "Binding"), el("p", { class: "status error" }, err.message));
  }
}
