// Molecule page (#/molecule?smiles=...): the full profile, the depiction with structural alerts
// shaded, every panel endpoint with its uncertainty and applicability domain, and the nearest
// training molecules of each panel model.

import { getJSON } from "./api.js";
import { depiction } from "./depict.js";
import { grade, THRESHOLDS } from "./thresholds.js";
import { el, fmt, hashParams, mount } from "./util.js";

const PROPERTIES = [
  ["mw", "Molecular weight", "Da"], ["clogp", "cLogP (Crippen)", ""], ["tpsa", "TPSA", "Å²"],
  ["hbd", "H-bond donors", ""], ["hba", "H-bond acceptors", ""], ["rotatable_bonds", "Rotatable bonds", ""],
  ["aromatic_rings", "Aromatic rings", ""], ["fsp3", "Fraction sp3", ""], ["formal_charge", "Formal charge", ""],
  ["heavy_atoms", "Heavy atoms", ""], ["qed", "QED", ""], ["sa_score", "SA score", ""],
];
const RULES = [["lipinski_violations", "Rule-of-five violations"], ["lipinski", "Lipinski (<= 1 violation)"],
               ["veber", "Veber"], ["leadlike", "Lead-like"]];

function kv(rows) {
  return el("table", { class: "kv" }, el("tbody", {}, rows.map(([label, value, cls, title, pct]) =>
    el("tr", { title: title || null }, el("th", {}, label), el("td", { class: cls || "" }, value),
      el("td", { class: "pct" }, pct || "")))));
}

function profileCard(p) {
  const props = PROPERTIES.map(([key, label, unit]) => {
    const g = grade(key, p[key]);
    const pct = p[`${key}_pctl_drugs`];
    return [label, `${fmt(p[key])}${unit ? ` ${unit}` : ""}`, g ? `grade-${g}` : "", THRESHOLDS[key]?.note,
      typeof pct === "number" ? `${Math.round(pct)}%` : ""];
  });
  const rules = RULES.map(([key, label]) => [label, fmt(p[key]),
    key === "lipinski_violations" ? `grade-${grade(key, p[key])}` : p[key] === false ? "grade-warn" : p[key] ? "grade-good" : ""]);
  return el("section", { class: "card" }, el("h3", {}, "Profile"),
    el("p", { class: "muted small" }, "right: percentile among approved drugs"), kv([...props, ...rules]));
}

function alertsCard(alerts) {
  const colours = ["#f48c8c", "#ffbf66", "#bf99f2", "#73ccc7"];
  return el("section", { class: "card" }, el("h3", {}, `Structural alerts (${alerts.length})`),
    alerts.length
      ? el("ul", { class: "alerts" }, alerts.map((a, i) => el("li", {},
          el("span", { class: "swatch", style: `background:${colours[i % colours.length]}` }),
          el("b", {}, a.family), " ", a.name, el("span", { class: "muted small" }, ` atoms ${a.atoms.join(", ")}`))))
      : el("p", { class: "grade-good pad" }, "No PAINS, Brenk or NIH alert matches."));
}

function endpointsCard(endpoints) {
  return el("section", { class: "card wide" }, el("h3", {}, "ADMET panel"),
    el("p", { class: "muted small" }, "± is the model's uncertainty (Bernoulli spread for probabilities, validation RMSE for values). ",
      "In domain: the most similar training molecule has Tanimoto (ECFP4) similarity at or above the model's threshold; ",
      "outside it, treat the prediction with caution."),
    el("table", { class: "data compact", id: "endpoints" },
      el("thead", {}, el("tr", {}, ["Endpoint", "Prediction", "±", "Units", "Nearest sim.", "Domain", "What it is"].map((h) => el("th", {}, h)))),
      el("tbody", {}, endpoints.map((e) => {
        const g = grade(e.name, e.value);
        return el("tr", {},
          el("td", {}, e.name), el("td", { class: `num ${g ? `grade-${g}` : ""}` }, fmt(e.value)),
          el("td", { class: "num" }, fmt(e.std)), el("td", { class: "muted" }, e.units),
          el("td", { class: "num" }, fmt(e.ad_similarity, 2)),
          el("td", {}, e.in_domain === null ? "" : el("span", { class: `pill ${e.in_domain ? "grade-good" : "grade-warn"}`,
            title: `threshold ${fmt(e.threshold, 2)}` }, e.in_domain ? "in domain" : "outside")),
          el("td", { class: "muted small" }, e.description));
      }))));
}

function neighboursCard(neighbours) {
  const groups = Object.entries(neighbours);
  return el("section", { class: "card wide" }, el("h3", {}, "Nearest training molecules of each panel model"),
    groups.map(([group, g]) => el("div", { class: "nb-group" },
      el("h4", {}, group, el("span", { class: "muted small" }, `  ${g.n_train} training molecules, AD threshold ${fmt(g.threshold, 2)}`)),
      g.note ? el("p", { class: "muted small" }, g.note) : null,
      el("div", { class: "nb-row" }, g.molecules.map((m) => el("figure", { class: "nb" },
        m.smiles ? depiction(m.smiles, 150, 110) : el("div", { class: "nodepict" }, `training molecule #${m.index}`),
        el("figcaption", {}, el("b", { class: m.similarity >= g.threshold ? "grade-good" : "" }, `sim ${fmt(m.similarity, 2)}`),
          m.smiles ? el("a", { href: `#/molecule?${new URLSearchParams({ smiles: m.smiles })}`, class: "smiles", title: m.smiles }, m.smiles)
                   : el("span", { class: "muted" }, `index ${m.index}`))))))));
}

export async function moleculePage(root) {
  const params = hashParams();
  const smiles = params.get("smiles") || "";
  const name = params.get("name") || "";
  const back = el("a", { href: "#/", class: "back" }, "← Molecules");
  if (!smiles) { mount(root, back, el("p", { class: "status error" }, "No molecule given.")); return; }
  mount(root, back, el("p", { class: "status" }, `Loading ${smiles}…`));
  let data;
  try {
    data = await getJSON(`/v1/molecule?${new URLSearchParams({ smiles })}`);
  } catch (err) {
    mount(root, back, el("h2", {}, name || smiles),
      el("p", { class: "status error", "data-testid": "molecule-error" }, err.message));
    return;
  }
  const p = data.profile;
  mount(root, back,
    el("div", { class: "mol-head" },
      el("div", { class: "card depict-big" }, depiction(smiles, 420, 300, { highlight: "alerts" })),
      el("div", { class: "mol-title" }, el("h2", { id: "molecule-title" }, name || "Molecule"),
        el("p", { class: "smiles big", title: "SMILES" }, smiles),
        el("div", { class: "chips" },
          ["qed", "mw", "clogp", "tpsa", "sa_score"].map((k) => el("span", { class: `chip grade-${grade(k, p[k]) || "none"}` },
            `${THRESHOLDS[k]?.label || k} ${fmt(p[k])}`)),
          el("span", { class: `chip grade-${data.alerts.length ? (data.alerts.length > 1 ? "bad" : "warn") : "good"}` },
            `${data.alerts.length} alerts`)),
        alertsCard(data.alerts))),
    el("div", { class: "grid2" }, profileCard(p), endpointsCard(data.endpoints)),
    neighboursCard(data.neighbours));
}
