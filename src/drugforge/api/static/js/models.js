// Models page: the server's model store as cards (task, targets, test metrics) and, for one
// model, its full card: metrics, configuration and report.

import { getJSON } from "./api.js";
import { el, fmt, hashParams, mount } from "./util.js";

function metricsTable(metrics) {
  const entries = Object.entries(metrics || {}).filter(([, v]) => typeof v === "number");
  if (!entries.length) return el("p", { class: "muted small" }, "no test metrics recorded");
  return el("table", { class: "kv" }, el("tbody", {}, entries.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", { class: "num" }, fmt(v))))));
}

/** A little markdown: headings, lists, tables, code blocks, bold and code spans. */
function markdown(text) {
  const out = el("div", { class: "markdown" });
  const lines = text.split("\n");
  const inline = (s) => {
    const span = el("span");
    s.split(/(`[^`]+`|\*\*[^*]+\*\*|\b_[^_]+_\b)/).forEach((part) => {
      if (part.startsWith("`") && part.endsWith("`")) span.append(el("code", {}, part.slice(1, -1)));
      else if (part.startsWith("**") && part.endsWith("**")) span.append(el("b", {}, part.slice(2, -2)));
      else if (/^_[^_]+_$/.test(part)) span.append(el("i", {}, part.slice(1, -1)));
      else if (part) span.append(part);
    });
    return span;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith("```")) {
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) code.push(lines[i]);
      out.append(el("pre", {}, code.join("\n")));
    } else if (/^#{1,6} /.test(line)) {
      const level = Math.min(6, line.match(/^#+/)[0].length + 2);
      out.append(el(`h${level}`, {}, inline(line.replace(/^#+ /, ""))));
    } else if (line.startsWith("|")) {
      const rows = [];
      for (; i < lines.length && lines[i].startsWith("|"); i++) rows.push(lines[i]);
      i--;
      const cells = (r) => r.replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
      const body = rows.filter((r) => !/^\|[\s:|-]+\|$/.test(r));
      out.append(el("table", { class: "data compact" },
        el("thead", {}, el("tr", {}, cells(body[0]).map((c) => el("th", {}, inline(c))))),
        el("tbody", {}, body.slice(1).map((r) => el("tr", {}, cells(r).map((c) => el("td", {}, inline(c))))))));
    } else if (/^\s*[-*] /.test(line)) {
      const ul = el("ul");
      for (; i < lines.length && /^\s*[-*] /.test(lines[i]); i++) ul.append(el("li", {}, inline(lines[i].replace(/^\s*[-*] /, ""))));
      i--;
      out.append(ul);
    } else if (line.trim()) {
      out.append(el("p", {}, inline(line)));
    }
  }
  return out;
}

async function modelDetail(root, name) {
  const back = el("a", { href: "#/models", class: "back" }, "← Models");
  mount(root, back, el("p", { class: "status" }, `Loading ${name}…`));
  try {
    const m = await getJSON(`/v1/models/${encodeURIComponent(name)}`);
    const plotsBox = el("div", { class: "plots" }, el("p", { class: "muted" }, "Loading plots…"));
    getJSON(`/v1/models/${encodeURIComponent(name)}/plots`).then(({ plots }) => mount(plotsBox,
      plots.length ? plots.map((p) => el("figure", {}, el("img", { src: p.src, alt: p.title }), el("figcaption", {}, p.title)))
                   : el("p", { class: "muted" }, "this model's report has no plots")))
      .catch((err) => mount(plotsBox, el("p", { class: "status error" }, err.message)));
    mount(root, back, el("h2", {}, m.name),
      el("p", { class: "muted" }, `${m.model || "model"} · ${m.task || ""} · targets ${(m.target_names || []).join(", ")} · created ${m.created || "?"}`),
      el("div", { class: "grid2" },
        el("section", { class: "card" }, el("h3", {}, "Test metrics"), metricsTable(m.test_metrics)),
        el("section", { class: "card" }, el("h3", {}, "Report"),
          m.report_md ? markdown(m.report_md) : el("p", { class: "muted" }, "no report"))),
      el("section", { class: "card", id: "plots" }, el("div", { class: "toolbar" }, el("h3", {}, "Plots"),
        el("span", { class: "spacer" }),
        m.report_html ? el("a", { href: m.report_html, target: "_blank", rel: "noopener" }, "Full report (HTML) ↗") : null), plotsBox),
      el("details", { class: "card" }, el("summary", {}, "Training configuration"),
        el("pre", { class: "config" }, JSON.stringify(m.config, null, 2))));
  } catch (err) {
    mount(root, back, el("p", { class: "status error" }, err.message));
  }
}

export async function modelsPage(root) {
  const name = hashParams().get("name");
  if (name) { await modelDetail(root, name); return; }
  mount(root, el("h2", {}, "Models"), el("p", { class: "status" }, "Loading…"));
  try {
    const { models } = await getJSON("/v1/models");
    mount(root, el("h2", {}, "Models"),
      el("p", { class: "muted" }, "Models in the server's store (train one on the Jobs page, or with ",
        el("code", {}, "drugforge train"), " into DATA_DIR/models). Click a card for its report."),
      models.length
        ? el("div", { class: "cards" }, models.map((m) => el("a", { class: "card model-card", href: `#/models?name=${encodeURIComponent(m.name)}` },
            el("h3", {}, m.name), el("p", { class: "muted small" }, `${m.model || ""} · ${m.task || ""}`),
            el("p", { class: "small" }, `targets: ${(m.target_names || []).join(", ")}`), metricsTable(m.test_metrics))))
        : el("p", { class: "muted" }, "No models in the store yet."));
  } catch (err) {
    mount(root, el("h2", {}, "Models"), el("p", { class: "status error" }, err.message));
  }
}
