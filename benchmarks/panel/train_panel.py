"""Build the endpoint panel shipped with ``drugforge profile``: train, measure, write model cards.

For each group (Tox21's 12 assays as one multi-task model, BBBP, ESOL, FreeSolv) this runs
drugforge's own command (``drugforge train moleculenet/<set> --split scaffold --seed 0 --model gbm
...``, the full line is in each model card) on the MoleculeNet files in ``../shared/data``, then:

* keeps the saved model directory as it is (``model/``: weights, split, metrics, checksums);
* stores the ECFP4 bits of the training molecules (``ad_train.safetensors``, bit-packed) for the
  applicability-domain search;
* measures the scaffold-split test error against the similarity to the nearest training molecule,
  pools the curve over all endpoints and picks the in-domain threshold from it;
* writes ``panel.json`` (endpoints, units, threshold, checksums) and ``model_card.md``.

Usage::

    python benchmarks/panel/train_panel.py               # train all groups, ship them
    python benchmarks/panel/train_panel.py --groups esol # only some (threshold refitted on all
                                                         # groups present in the work folder)

Deterministic: the same command gives the same models (seed 0, one LightGBM thread).
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from drugforge.core.runtime import sha256_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from panel_spec import (
    GROUPS,
    RESOURCES,
    RESULTS,
    SEED,
    SHARED_MOLECULENET,
    WORK,
    Group,
    data_env,
    train_command,
)

BENCH_RESULTS = Path(__file__).resolve().parents[1] / "results"
#: the admet_bench.py tool name of the panel recipe, and how cards name the tools
PANEL_TOOL = "panel"
_TOOL_NAMES = {"panel": "drugforge (this recipe)", "chemprop": "Chemprop 2.3.1",
               "rf": "RF on ECFP4"}

#: Candidate in-domain thresholds (max Tanimoto similarity, ECFP4 2048 bits).
GRID = (0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60)
#: Each side of a candidate threshold needs this many pooled test molecules to be judged.
MIN_SIDE = 50
BINS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0001)


def train_group(group: Group, seed: int = SEED) -> tuple[Path, list[str], float]:
    out = WORK / f"{group.name}_s{seed}" / "model"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = train_command(group, out, seed)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=data_env())
    return out, cmd, time.perf_counter() - t0


def test_errors(group: Group, model_dir: Path) -> dict[str, Any]:
    """Per test molecule: nearest-training-neighbour similarity and per-endpoint errors."""
    from drugforge.core.artifacts import load_model
    from drugforge.molecules.data.catalog_load import load_dataset
    from drugforge.molecules.data.dataset import prepare_dataset
    from drugforge.molecules.panel import ad_bits, max_similarity, pack_bits

    loaded = load_model(model_dir)
    split = json.loads((model_dir / "split.json").read_text())
    train_smiles, test_smiles = split["smiles"]["train"], split["smiles"]["test"]
    if group.source == "tdc":
        from drugforge.molecules.data.input import read_input

        table = read_input(str(group.data_path), "smiles", ["y"])
    else:
        table = load_dataset(group.dataset, mirror=SHARED_MOLECULENET)
    dataset, _ = prepare_dataset(table, task=group.task, skip_invalid=True)  # type: ignore[arg-type]
    row = {s: i for i, s in enumerate(dataset.smiles)}
    y = dataset.y[[row[s] for s in test_smiles]]
    train_packed = pack_bits(ad_bits(train_smiles))
    sim = max_similarity(pack_bits(ad_bits(test_smiles)), [train_packed])[0]
    pred = loaded.predict(test_smiles).mean
    return {"train_packed": train_packed, "sim": sim, "y": y, "pred": pred}


def normalized_errors(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Per test molecule, its error relative to the endpoint's mean error (squared error for
    regression, Brier score for classification: both are (pred - y)^2), averaged over the
    molecule's labelled endpoints, so each group counts once per molecule in the pooled curve."""
    rel = np.full(y.shape, np.nan)
    for t in range(y.shape[1]):
        e = (pred[:, t] - y[:, t]) ** 2
        mean = np.nanmean(e)
        rel[:, t] = e / mean if mean > 0 else e
    with np.errstate(all="ignore"):
        return np.nanmean(rel, axis=1)  # type: ignore[no-any-return]


def error_curve(sims: list[np.ndarray], errs: list[np.ndarray]) -> list[dict[str, Any]]:
    s = np.concatenate(sims)
    e = np.concatenate(errs)
    keep = np.isfinite(e)
    s, e = s[keep], e[keep]
    rows = []
    for lo, hi in itertools.pairwise(BINS):
        m = (s >= lo) & (s < hi)
        rows.append({"similarity": f"[{lo:.1f}, {min(hi, 1.0):.1f}{']' if hi > 1 else ')'}",
                     "n": int(m.sum()),
                     "relative_error": float(e[m].mean()) if m.any() else float("nan")})
    return rows


def choose_threshold(sims: list[np.ndarray], errs: list[np.ndarray]) -> dict[str, Any]:
    """The grid value that most significantly separates worse- from better-predicted molecules:
    the largest Welch t statistic of the mean relative error below it vs at or above it (the
    raw ratio of the means favours extreme thresholds that keep few molecules on one side)."""
    s = np.concatenate(sims)
    e = np.concatenate(errs)
    keep = np.isfinite(e)
    s, e = s[keep], e[keep]
    table = []
    for t in GRID:
        below, above = e[s < t], e[s >= t]
        if len(below) < MIN_SIDE or len(above) < MIN_SIDE:
            continue
        table.append({"threshold": t, "n_below": len(below), "n_above": len(above),
                      "error_below": float(below.mean()), "error_above": float(above.mean()),
                      "ratio": float(below.mean() / above.mean()),
                      "welch_t": float((below.mean() - above.mean()) / np.sqrt(
                          below.var(ddof=1) / len(below) + above.var(ddof=1) / len(above)))})
    best = max(table, key=lambda r: r["welch_t"])
    return {"threshold": best["threshold"], "grid": table,
            "rule": "max over the grid of the Welch t statistic of mean relative test error below vs "
                    "at-or-above the threshold, pooled "
                    f"over every group's scaffold test molecules; at least {MIN_SIDE} labelled "
                    "test molecules on each side"}


def _fmt(v: float) -> str:
    return f"{v:.3f}"


def _family(info: dict[str, Any]) -> str:
    model = str(info.get("model") or "gbm")
    return {"gbm": "LightGBM (drugforge `gbm`)", "svm": "a Tanimoto-kernel SVM (drugforge `svm`)",
            "gp": "a Tanimoto-kernel Gaussian process (drugforge `gp`)"}.get(
                model, f"drugforge `{model}`")


def model_card(group: Group, info: dict[str, Any], ad: dict[str, Any]) -> str:
    m = info["metrics"]
    tdc = group.source == "tdc"
    source = (f"TDC ADMET `{group.dataset}`" if tdc else f"MoleculeNet `{group.dataset}`")
    folder = "admet" if tdc else "moleculenet"
    lines = [
        f"# drugforge profile panel: `{group.name}`", "",
        (f"{_family(info)[0].upper()}{_family(info)[1:]} predicting {len(group.endpoints)} "
         f"endpoint(s) of {source} for `drugforge profile`. Loaded by "
         "`drugforge.molecules.panel.Panel.load()`."), "",
        "## Endpoints", "",
        "| column | target in the data | units | description |", "|---|---|---|---|",
    ]
    for ep in group.endpoints:
        lines.append(f"| `{ep.name}` | `{ep.target}` | {ep.units} | {ep.description} |")
    lines += [
        "", "## Data", "",
        f"- file: `shared/data/{folder}/{group.file}`, sha256 `{info['data_sha256']}`",
        (f"- {m['data']['n_input']} rows -> {m['data']['n_molecules']} molecules after "
        f"standardization (largest fragment, neutralized), {m['data']['n_invalid']} invalid "
        f"skipped, {m['data']['n_duplicates_merged']} duplicates merged (mean)"),
        (f"- scaffold split (drugforge balanced scaffold splitter, seed {info['seed']}): "
        f"train {info['n_train']}, validation {info['n_val']}, test {info['n_test']} molecules"),
    ]
    if tdc:
        lines.append("- TDC's data re-split by scaffold (see `shared/data/admet/README.md`): "
                     "not comparable with the TDC leaderboard")
    lines += [
        "", "## Training", "",
        f"- command: `{' '.join(_quote(_relative(c)) for c in info['command'])}`",
        ("  (run from the repository root)" if tdc else
         "  (environment: `DRUGFORGE_DATA_MIRROR=../shared/data/moleculenet DRUGFORGE_OFFLINE=1`)"),
        f"- rebuild: `python benchmarks/panel/train_panel.py --groups {group.name}`",
        (f"- seed {info['seed']}; fitted on the training part (the validation part stops the "
         "boosting early); the shipped model is exactly the one scored below"),
    ]
    if info.get("auto_cv"):
        lines += [
            (f"- model chosen by `--model auto`: {len(info['auto_cv'])} candidates, 5-fold "
            "cross-validation on scaffold folds of the training part (test part never seen); "
            f"chosen: `{info.get('model')}`"), "",
            "| candidate | CV score (pooled out-of-fold) | fold mean ± sd | seconds |",
            "|---|---:|---:|---:|",
        ]
        for row in info["auto_cv"]:
            sd = row.get("fold_sd")
            spread = (f"{row['fold_mean']:.3f} ± {sd:.3f}"
                      if sd is not None and sd == sd else "")  # noqa: PLR0124 - NaN check
            lines.append(f"| `{row['model']}` | {row['score']:.3f} | {spread} | "
                         f"{row['seconds']:.1f} |")
        lines.append("")
    if info["descriptors"]:
        lines.append(f"- gbm features: count ECFP4 (2048 bits) + {len(info['descriptors'])} RDKit "
                     f"descriptors ({', '.join(info['descriptors'])})")
    if info["trees"]:
        lines.append(f"- trees per endpoint: {', '.join(str(t) for t in info['trees'])}")
    if group.task == "classification":
        lines.append(f"- probability calibration: {_calibration_text(info.get('calibration'))}")
    else:
        tt = m.get("target_transform") or {}
        reasons = "; ".join(str(t.get("reason", "")) for t in tt.get("targets", []) if t)
        lines.append(f"- target transform (`--target-transform {tt.get('requested', 'none')}`): "
                     f"{tt.get('summary', 'none')}{f' ({reasons})' if reasons else ''}; "
                     "predictions and metrics are in the units of the data")
    lines += [
        f"- uncertainty (`<name>_std`): {info['uncertainty']}",
        (f"- software: drugforge {info['versions'].get('drugforge')}, rdkit "
        f"{info['versions'].get('rdkit')}, lightgbm {info['versions'].get('lightgbm')}"),
        "", "## Scaffold-split test metrics (seed 0, the shipped model)", "",
    ]
    if group.task == "classification":
        lines += ["| endpoint | n test labelled | ROC-AUC | PR-AUC | Brier |",
                  "|---|---:|---:|---:|---:|"]
        for ep in group.endpoints:
            t = info["per_task"].get(ep.target) or m["test"]
            lines.append(f"| `{ep.name}` | {t.get('n', info['n_test'])} | {_fmt(t['roc_auc'])} | "
                         f"{_fmt(t['pr_auc'])} | {_fmt(t.get('brier', float('nan')))} |")
        if len(group.endpoints) > 1:
            lines.append(f"| mean | | {_fmt(m['test']['roc_auc'])} | {_fmt(m['test']['pr_auc'])} "
                         f"| {_fmt(m['test'].get('brier', float('nan')))} |")
    else:
        lines += ["| endpoint | n test | RMSE | MAE | R2 | Spearman |",
                  "|---|---:|---:|---:|---:|---:|"]
        for ep in group.endpoints:
            t = m["test"]
            lines.append(f"| `{ep.name}` | {info['n_test']} | {_fmt(t['rmse'])} | "
                         f"{_fmt(t['mae'])} | {_fmt(t['r2'])} | "
                         f"{_fmt(t.get('spearman', float('nan')))} |")
    lines += admet_lines(group) if tdc else chemprop_lines(group)
    if not tdc:
        lines += ["", ("All seeds, Chemprop 2.3.1 on the same splits: "
                       "`benchmarks/results/panel/compare_chemprop.md`.")]
    lines += [
        "", "## Applicability domain", "",
        (f"- `<name>_ad_similarity`: the largest Tanimoto similarity (ECFP4, 2048 bits) to the "
        f"{ad['n_train']} training molecules (`ad_train.safetensors`)."),
        (f"- `<name>_in_domain`: similarity >= {ad['threshold']:.2f}, chosen on the pooled "
        "scaffold-test error curve of the panel endpoints trained together (relative error = "
        "squared error or Brier score divided by the endpoint's mean):"), "",
        "| similarity | n (pooled) | relative error |", "|---|---:|---:|",
    ]
    for r in ad["curve"]:
        lines.append(f"| {r['similarity']} | {r['n']} | {_fmt(r['relative_error'])} |")
    lines += [
        "", (f"This model's own test molecules: {ad['own_in_domain']:.0%} in domain "
        f"(median similarity {ad['own_median']:.2f})."), "",
        "## Limitations", "",
        ("- Trained on public data only (TDC / MoleculeNet); labels are noisy assay read-outs "
         "or literature compilations, and small sets (a few hundred molecules) generalize "
         "poorly to new chemotypes: use the applicability-domain flag."),
        "- The molecules must be standardized as at training (largest fragment, neutralized).",
        ("- Classification uncertainty is the Bernoulli spread sqrt(p(1-p)); regression "
        "uncertainty comes from the model (GP variance) or is one constant per endpoint (the "
        "validation RMSE), so rely on the applicability-domain flag to spot molecules unlike "
        "the training data."),
        "",
    ]
    return "\n".join(lines)


def admet_lines(group: Group) -> list[str]:
    """Scaffold-CV metrics over 5 seeds against Chemprop and RF, from ``admet_bench.py``."""
    import pandas as pd

    path = BENCH_RESULTS / "admet" / "admet_rows.csv"
    if not path.is_file():
        return ["", ("_Scaffold-CV comparison with Chemprop: not run yet "
                "(`python benchmarks/admet_bench.py`)._")]
    rows = pd.read_csv(path)
    rows = rows[rows.set == group.dataset]
    if rows.empty:
        return ["", "_Scaffold-CV comparison with Chemprop: not run yet for this endpoint._"]
    metrics = ("roc_auc", "pr_auc") if group.task == "classification" else ("mae", "spearman")
    tools = [t for t in (PANEL_TOOL, "chemprop", "rf") if t in set(rows.tool)]
    out = ["", "## Scaffold splits, 5 seeds, beside Chemprop 2.3.1 and a random forest", "",
           ("The same recipe retrained on the scaffold splits of seeds 0-4 "
            "(`python benchmarks/admet_bench.py --tools panel,rf`; Chemprop 2.3.1 defaults by "
            "`benchmarks/peers/chemprop_parallel.py`), every tool on identical splits; mean ± sd "
            "over the seeds each tool finished (n):"), "",
           "| metric | " + " | ".join(_TOOL_NAMES.get(t, t) for t in tools) + " |",
           "|---|" + "---:|" * len(tools)]
    for metric in metrics:
        cells = []
        for t in tools:
            v = rows[(rows.tool == t) & (rows.metric == metric)].value
            cells.append(f"{v.mean():.3f} ± {v.std(ddof=1):.3f} (n={len(v)})" if len(v) > 1
                         else (f"{v.mean():.3f} (n=1)" if len(v) else ""))
        out.append(f"| {metric} | " + " | ".join(cells) + " |")
    return out


def chemprop_lines(group: Group) -> list[str]:
    """Seed-0 comparison with Chemprop 2.3.1 from ``compare_chemprop.py``'s rows, if present."""
    import pandas as pd

    path = RESULTS / "compare_chemprop_rows.csv"
    if not path.is_file():
        return []
    rows = pd.read_csv(path)
    rows = rows[(rows.group == group.name) & (rows.seed == SEED)]
    if rows.empty:
        return []
    metric = str(rows.metric.iloc[0])
    out = ["", f"Chemprop 2.3.1 (defaults, 50 epochs) trained on the same split (seed {SEED}):", "",
           f"| endpoint | drugforge {metric} | Chemprop {metric} |", "|---|---:|---:|"]
    for r in rows.itertuples():
        out.append(f"| `{r.endpoint}` | {r.drugforge:.3f} | {r.chemprop:.3f} |")
    return out


def _relative(arg: str) -> str:
    """Paths inside the repository as the repository-relative paths a reader can rerun."""
    from panel_spec import REPO

    for prefix, short in ((str(REPO) + "/", ""), (str(REPO.parent) + "/", "../")):
        if arg.startswith(prefix):
            return short + arg[len(prefix):]
    return arg


def _quote(arg: str) -> str:
    return f"'{arg}'" if any(c in arg for c in " []{}\"") else arg


def collect(group: Group, model_dir: Path, command: list[str], seconds: float) -> dict[str, Any]:
    from drugforge.core.artifacts import load_model

    loaded = load_model(model_dir)
    split = json.loads((model_dir / "split.json").read_text())
    metrics = loaded.metrics
    per_task = {}
    for name, vals in (metrics.get("test_per_task") or {}).items():
        per_task[name] = vals
    model = loaded.model
    trees = _trees(model)
    attempts = metrics.get("attempts") or [{}]
    return {
        "command": command, "seed": SEED, "seconds": round(seconds, 1),
        "data_sha256": sha256_file(group.data_path),
        "n_train": len(split["smiles"]["train"]), "n_val": len(split["smiles"]["val"]),
        "n_test": len(split["smiles"]["test"]), "metrics": metrics, "per_task": per_task,
        "trees": trees, "uncertainty": loaded.uncertainty,
        "versions": loaded.manifest.get("versions", {}),
        "descriptors": _descriptor_names(model),
        "model": attempts[-1].get("model", loaded.manifest.get("model")),
        "calibration": loaded.manifest.get("probability_calibration"),
        "auto_cv": attempts[-1].get("auto_cv"),
    }


def _calibration_text(cal: dict[str, Any] | None) -> str:
    """What the saved probability calibration is, per task (manifest ``probability_calibration``)."""
    if not cal:
        return "none (raw probabilities)"
    tasks = cal.get("tasks") if isinstance(cal.get("tasks"), dict | list) else None
    methods = ([t.get("method") for t in tasks.values()] if isinstance(tasks, dict)
               else [t.get("method") for t in tasks] if isinstance(tasks, list) else [])
    source = cal.get("fitted_on") or "out-of-fold predictions"
    briers = [(t.get("brier_before"), t.get("brier_after")) for t in (tasks or [])
              if isinstance(t, dict)]
    gain = "; ".join(f"Brier {b:.3f} -> {a:.3f}" for b, a in briers
                     if isinstance(b, float) and isinstance(a, float))
    return (f"{', '.join(str(m) for m in methods) or 'yes'}, fitted on the {source} "
            f"predictions ({gain or 'cross-fitted'}); the saved model applies it to every "
            "prediction")


def _descriptor_names(model: Any) -> list[str]:
    """The RDKit descriptor names of the model's gbm (itself or an ensemble member)."""
    for m in [model, *getattr(model, "members_", [])]:
        if getattr(m, "name", "") == "gbm":
            for f in m.featurizers_:
                if f.name == "rdkit2d":
                    return list(f.params()["names"])
    return []


def _trees(model: Any) -> list[int]:
    for m in [model, *getattr(model, "members_", [])]:
        if hasattr(m, "boosters_"):
            return [b.num_trees() if b is not None else 0 for b in m.boosters_]
    return []


def ship(group: Group, model_dir: Path, info: dict[str, Any], ad: dict[str, Any],
         train_packed: np.ndarray) -> Path:
    from safetensors.numpy import save_file

    dest = RESOURCES / group.name
    tmp = RESOURCES / f".{group.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copytree(model_dir, tmp / "model")
    from drugforge.molecules.panel import PANEL_FORMAT, ad_file_arrays

    save_file(ad_file_arrays(np.unpackbits(train_packed, axis=1, count=2048).astype(bool)),
              str(tmp / "ad_train.safetensors"))
    panel = {
        "format": "drugforge-panel", "format_version": PANEL_FORMAT, "group": group.name,
        "task": group.task, "model": "model",
        "endpoints": [{"name": ep.name, "target": ep.target, "units": ep.units,
                       "description": ep.description} for ep in group.endpoints],
        "ad": {"fingerprint": {"name": "ecfp", "radius": 2, "size": 2048, "counts": False},
               "file": "ad_train.safetensors",
               "sha256": sha256_file(tmp / "ad_train.safetensors"),
               "n_train": int(train_packed.shape[0]), "threshold": ad["threshold"],
               "threshold_rule": ad["rule"]},
        "split": {"method": "scaffold", "seed": info["seed"], "n_train": info["n_train"],
                  "n_val": info["n_val"], "n_test": info["n_test"]},
        "data_sha256": info["data_sha256"], "command": [_relative(c) for c in info["command"]],
    }
    (tmp / "panel.json").write_text(json.dumps(panel, indent=2) + "\n")
    (tmp / "model_card.md").write_text(model_card(group, info, ad))
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", default=",".join(g.name for g in GROUPS))
    parser.add_argument("--no-train", action="store_true",
                        help="reuse the models in benchmarks/work/panel (re-ship only)")
    args = parser.parse_args()
    wanted = set(args.groups.split(","))
    RESULTS.mkdir(parents=True, exist_ok=True)
    infos: dict[str, dict[str, Any]] = {}
    evals: dict[str, dict[str, Any]] = {}
    for group in GROUPS:
        model_dir = WORK / f"{group.name}_s{SEED}" / "model"
        if group.name in wanted and not args.no_train:
            model_dir, command, seconds = train_group(group)
            (model_dir.parent / "command.json").write_text(
                json.dumps({"command": command, "seconds": seconds}))
            print(f"{group.name}: trained in {seconds:.0f} s", flush=True)
        if not model_dir.is_dir():
            continue  # not built yet: not part of the threshold pool either
        saved = json.loads((model_dir.parent / "command.json").read_text())
        infos[group.name] = collect(group, model_dir, saved["command"], saved["seconds"])
        evals[group.name] = test_errors(group, model_dir)

    sims, errs = [], []
    for ev in evals.values():
        sims.append(ev["sim"])
        errs.append(normalized_errors(ev["y"], ev["pred"]))
    choice = choose_threshold(sims, errs)
    curve = error_curve(sims, errs)
    print(f"in-domain threshold {choice['threshold']:.2f}: " + json.dumps(choice["grid"]))
    summary: dict[str, Any] = {"threshold": choice, "curve": curve, "groups": {}}
    for group in GROUPS:
        if group.name not in wanted or group.name not in infos:
            continue
        ev, info = evals[group.name], infos[group.name]
        ad = {**choice, "curve": curve, "n_train": int(ev["train_packed"].shape[0]),
              "own_in_domain": float(np.mean(ev["sim"] >= choice["threshold"])),
              "own_median": float(np.median(ev["sim"]))}
        dest = ship(group, WORK / f"{group.name}_s{SEED}" / "model", info, ad, ev["train_packed"])
        size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
        summary["groups"][group.name] = {
            "test": info["metrics"]["test"], "per_task": info["per_task"], "trees": info["trees"],
            "n_train": info["n_train"], "n_val": info["n_val"], "n_test": info["n_test"],
            "train_seconds": info["seconds"], "shipped_bytes": size,
        }
        print(f"{group.name}: shipped to {dest} ({size / 2**20:.2f} MiB)", flush=True)
    path = RESULTS / "train_panel.json"
    if path.is_file():  # groups not rebuilt now keep their entries (and their threshold pool)
        before = json.loads(path.read_text())
        summary["groups"] = {**before.get("groups", {}), **summary["groups"]}
        if wanted != {g.name for g in GROUPS}:
            summary["threshold_pools"] = {**before.get("threshold_pools", {}),
                                          ",".join(sorted(evals)): choice}
    path.write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
