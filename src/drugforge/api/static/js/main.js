// The app shell: hash routes (#/, #/molecule?smiles=, #/binding, #/images, #/jobs, #/models) and the
// navigation.

import { bindingPage } from "./binding.js";
import { imagesPage } from "./images.js";
import { jobsPage, leaveJobs } from "./jobs.js";
import { moleculePage } from "./molecule.js";
import { moleculesPage } from "./molecules.js";
import { modelsPage } from "./models.js";

const ROUTES = { "": moleculesPage, molecule: moleculePage, binding: bindingPage, images: imagesPage, jobs: jobsPage,
                 models: modelsPage };
const NAV = { "": "molecules", molecule: "molecules", binding: "binding", images: "images", jobs: "jobs", models: "models" };

async function route() {
  const path = (location.hash.replace(/^#\/?/, "").split("?")[0] || "").replace(/\/$/, "");
  const page = ROUTES[path] ? path : "";
  if (page !== "jobs") leaveJobs();
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.nav === NAV[page]);
  const root = document.getElementById("app");
  window.scrollTo(0, 0);
  await ROUTES[page](root);
}

window.addEventListener("hashchange", route);
route();
