// Lazy depictions: <img> elements get their SVG when they scroll into view (a few at a time).

import { depictionURL } from "./api.js";
import { el } from "./util.js";

const queue = [];
let active = 0;
const PARALLEL = 6;

function pump() {
  while (active < PARALLEL && queue.length) {
    const img = queue.shift();
    active++;
    depictionURL(img.dataset.smiles, img.dataset.w, img.dataset.h, img.dataset.highlight || "none")
      .then((url) => { img.src = url; img.classList.remove("loading"); })
      .catch((err) => { img.alt = `no depiction: ${err.message}`; img.title = img.alt; img.classList.add("failed"); })
      .finally(() => { active--; pump(); });
  }
}

const observer = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    observer.unobserve(entry.target);
    queue.push(entry.target);
  }
  pump();
}, { rootMargin: "300px" });

/** An <img> of `smiles` drawn at width x height, fetched when visible. */
export function depiction(smiles, width, height, { highlight = "none", alt = "" } = {}) {
  const img = el("img", {
    class: "depiction loading", width, height, alt: "", title: alt || smiles,
    dataset: { smiles, w: String(width), h: String(height), highlight },
  });
  observer.observe(img);
  return img;
}
