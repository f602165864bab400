// Images page: classify image files (PNG, JPEG, TIFF, BMP, DICOM) with an image model of the
// server's store (POST /v1/image/predict): one row per file, in the order chosen, an unreadable
// file a red row with its reason, and with "show saliency" each image's Grad-CAM overlay for its
// predicted class. Models come from `drugforge image train` or an image-train job.

import { getJSON, postJSON } from "./api.js";
import { DataTable } from "./table.js";
import { download, el, fmt, mount } from "./util.js";

const CHUNK = 16; // files per request; halved when the server says the body is too large (413)

/** A file's bytes as base64 (the data URL's payload). */
function base64Of(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(new Error(`cannot read ${file.name}`));
    reader.readAsDataURL(file);
  });
}

/** Predict every file in chunks; rows in file order (a file too large to send alone is a row
 *  with the server's 413 message). */
async function predictAll(model, files, saliency, onChunk) {
  const rows = [];
  let size = CHUNK;
  for (let start = 0; start < files.length;) {
    const part = files.slice(start, start + size);
    try {
      const images = await Promise.all(part.map(base64Of));
      const body = await postJSON("/v1/image/predict", { model, images, names: part.map((f) => f.name), saliency });
      rows.push(...body.rows);
    } catch (err) {
      if (err.status === 413 && size > 1) { size = Math.max(1, Math.floor(size / 2)); continue; }
      if (err.status !== 413) throw err;
      rows.push({ name: part[0].name, label: null, error: err.message });
    }
    start += part.length;
    onChunk(rows.length, files.length);
  }
  return rows;
}

function resultsView(model, rows, saliency) {
  const probs = Object.keys(rows[0] || {}).filter((k) => k.startsWith("prob_") && k !== "prob_std");
  const columns = [
    { key: "__order", label: "#", numeric: true, keepOnError: true, render: (r) => String(r.__order + 1) },
    { key: "name", label: "File", keepOnError: true },
    { key: "label", label: "Predicted label" },
    ...probs.map((k) => ({ key: k, label: `P(${k.slice(5)})`, numeric: true, title: `probability of class ${k.slice(5)}` })),
    { key: "prob_std", label: "± std", numeric: true, title: "spread over ensemble members and test-time views" },
  ];
  if (saliency) {
    columns.push({ key: "saliency_png", label: "Grad-CAM", value: () => "", render: (r) => r.saliency_png
      ? el("img", { class: "saliency", src: `data:image/png;base64,${r.saliency_png}`, alt: `Grad-CAM of ${r.name}`,
                    width: 112, height: 112 })
      : "" });
  }
  const table = new DataTable(columns, rows);
  const filter = el("input", { type: "search", placeholder: "Filter files or labels", "aria-label": "filter images",
                               oninput: (e) => table.setFilter(e.target.value) });
  return el("section", { class: "card", id: "image-results" },
    el("h3", {}, `${model}: ${rows.length} images`),
    el("div", { class: "toolbar" }, filter, table.count, el("span", { class: "spacer" }),
      el("button", { onclick: () => download(`images-${model}.csv`,
        table.csv(["name", "label", ...probs, "prob_std", "error"])) }, "Download CSV")),
    table.render());
}

export async function imagesPage(root) {
  const status = el("div", { class: "status", role: "status", "data-testid": "images-status" });
  const say = (text, kind = "") => { status.className = `status ${kind}`; status.textContent = text; };
  const select = el("select", { id: "image-model", "aria-label": "image model" });
  const files = el("input", { id: "image-files", type: "file", multiple: true,
                              accept: ".png,.jpg,.jpeg,.tif,.tiff,.bmp,.dcm,.dicom,image/*,application/dicom" });
  const saliency = el("input", { id: "image-saliency", type: "checkbox" });
  const results = el("div");
  const run = el("button", { id: "run-images", class: "primary", onclick: async () => {
    const chosen = [...files.files];
    if (!chosen.length) { say("choose one or more image files", "error"); return; }
    const model = select.value, withSaliency = saliency.checked;
    run.disabled = true;
    const started = performance.now();
    say(`classifying ${chosen.length} images with ${model}…`);
    try {
      const rows = await predictAll(model, chosen, withSaliency, (d, t) => say(`classifying… ${d} of ${t}`));
      mount(results, resultsView(model, rows, withSaliency));
      const bad = rows.filter((r) => r.error).length;
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      say(`${rows.length} images in ${secs} s` + (bad ? `; ${bad} could not be read (red rows)` : ""), bad ? "warn" : "ok");
    } catch (err) {
      mount(results);
      say(err.message, "error");
    } finally {
      run.disabled = false;
    }
  } }, "Predict");
  mount(root, el("h2", {}, "Images"), el("p", { class: "status" }, "Loading models…"));
  try {
    const { models } = await getJSON("/v1/models");
    const images = models.filter((m) => m.input_kind === "images");
    if (!images.length) {
      mount(root, el("h2", {}, "Images"), el("p", { class: "muted" }, "No image models in the store yet: train one with ",
        el("code", {}, "drugforge image train"), " into DATA_DIR/models, or start an image-train job."));
      return;
    }
    for (const m of images) {
      const auc = m.test_metrics && typeof m.test_metrics.roc_auc === "number" ? ` (test ROC-AUC ${fmt(m.test_metrics.roc_auc)})` : "";
      select.append(el("option", { value: m.name }, `${m.name}${auc}`));
    }
    mount(root, el("h2", {}, "Images"),
      el("p", { class: "muted" }, "Classify medical images (PNG, JPEG, TIFF, BMP or DICOM files) with an image model of the store; ",
        "the Grad-CAM overlay shows where the network found the evidence for its predicted class."),
      el("section", { class: "card" },
        el("div", { class: "toolbar" }, select, el("label", { class: "file" }, "Images… ", files),
          el("label", { class: "check" }, saliency, "show saliency"), run),
        status),
      results);
  } catch (err) {
    mount(root, el("h2", {}, "Images"), el("p", { class: "status error" }, err.message));
  }
}
