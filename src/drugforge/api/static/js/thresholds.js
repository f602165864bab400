// Colour bands (green / amber / red) of the profile's main columns, in one table.
// Each band list is checked in order: the first [lo, hi] (inclusive, null = open) that holds
// the value gives its grade. Columns without an entry are shown uncoloured.
//
// Sources: QED bands from Bickerton et al. 2012 (mean QED of attractive / unattractive
// compounds 0.67 / 0.49); MW, cLogP, HBD, HBA from Lipinski's rule of five; TPSA and rotatable
// bonds from Veber et al. 2002; SA score from Ertl & Schuffenhauer 2009 (1 easy .. 10 hard);
// solubility logS bands as used for oral drugs (> -4 soluble, < -6 poorly soluble); Tox21
// probabilities: P(active) < 0.3 low risk, >= 0.5 flagged; the TDC toxicity classifiers (hERG
// blockade, Ames mutagenicity, drug-induced liver injury) get the same probability bands.

const G = "good", A = "warn", R = "bad";

export const THRESHOLDS = {
  qed: { label: "QED", bands: [[0.67, null, G], [0.49, 0.67, A], [null, 0.49, R]],
         note: "drug-likeness 0-1; >= 0.67 green, < 0.49 red" },
  mw: { label: "MW", bands: [[150, 500, G], [500, 600, A], [null, 150, A], [600, null, R]],
        note: "Da; <= 500 (Lipinski) green, > 600 red" },
  clogp: { label: "cLogP", bands: [[-0.4, 5, G], [5, 6, A], [-2, -0.4, A], [null, null, R]],
           note: "-0.4..5 green, > 6 or < -2 red" },
  tpsa: { label: "TPSA", bands: [[20, 140, G], [140, 160, A], [null, 20, A], [160, null, R]],
          note: "Å²; 20..140 (Veber) green, > 160 red" },
  hbd: { label: "HBD", bands: [[null, 5, G], [5, null, R]], note: "<= 5 (Lipinski)" },
  hba: { label: "HBA", bands: [[null, 10, G], [10, null, R]], note: "<= 10 (Lipinski)" },
  rotatable_bonds: { label: "RotB", bands: [[null, 10, G], [10, null, R]], note: "<= 10 (Veber)" },
  sa_score: { label: "SA score", bands: [[null, 4, G], [4, 6, A], [6, null, R]],
              note: "synthetic accessibility 1 (easy) .. 10 (hard); > 6 red" },
  lipinski_violations: { label: "Ro5 viol.", bands: [[0, 0, G], [1, 1, A], [2, null, R]],
                         note: "rule-of-five violations; 0 green, >= 2 red" },
  n_alerts: { label: "Alerts", bands: [[0, 0, G], [1, 1, A], [2, null, R]],
              note: "PAINS + Brenk + NIH structural alerts; 0 green, >= 2 red" },
  n_PAINS: { label: "PAINS", bands: [[0, 0, G], [1, null, R]], note: "PAINS alerts; any is red" },
  esol_logS: { label: "logS", bands: [[-4, null, G], [-6, -4, A], [null, -6, R]],
               note: "log10 mol/L; > -4 green, < -6 red" },
  solubility_aqsoldb: { label: "logS (AqSolDB)", bands: [[-4, null, G], [-6, -4, A], [null, -6, R]],
                        note: "log10 mol/L; > -4 green, < -6 red" },
  herg: { label: "hERG", bands: [[null, 0.3, G], [0.3, 0.5, A], [0.5, null, R]],
          note: "P(hERG blocker); < 0.3 green, >= 0.5 red" },
  ames: { label: "AMES", bands: [[null, 0.3, G], [0.3, 0.5, A], [0.5, null, R]],
          note: "P(Ames mutagenic); < 0.3 green, >= 0.5 red" },
  dili: { label: "DILI", bands: [[null, 0.3, G], [0.3, 0.5, A], [0.5, null, R]],
          note: "P(drug-induced liver injury); < 0.3 green, >= 0.5 red" },
  tox21_max: { label: "Tox21 max", bands: [[null, 0.3, G], [0.3, 0.5, A], [0.5, null, R]],
               note: "largest Tox21 P(active); < 0.3 green, >= 0.5 red" },
};

/** Tox21 endpoints are probabilities of activity: each gets the same bands as tox21_max. */
export function thresholdOf(column) {
  if (THRESHOLDS[column]) return THRESHOLDS[column];
  if (column.startsWith("tox21_") && !/_(std|ad_similarity|in_domain|pctl_drugs)$/.test(column)) {
    return { ...THRESHOLDS.tox21_max, label: column.slice(6) };
  }
  return null;
}

/** "good" | "warn" | "bad" | "" for `value` of `column`. */
export function grade(column, value) {
  const t = thresholdOf(column);
  if (!t || typeof value !== "number" || !Number.isFinite(value)) return "";
  for (const [lo, hi, g] of t.bands) {
    if ((lo === null || value >= lo) && (hi === null || value <= hi)) return g;
  }
  return "";
}
