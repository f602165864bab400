"""The 21 TDC ADMET endpoints, 5 scaffold splits: drugforge vs Chemprop 2.3.1 vs RF on ECFP.

For each set and seed, ONE scaffold split (``admet_sets.split_files``: drugforge's balanced
scaffold splitter on the standardized molecules, 80/10/10) is given to every tool:

* drugforge: its own command, ``drugforge train all.csv --split column:split --model auto``
  (``--model`` and ``--auto-pool`` can be changed here), cross-validation on scaffold folds of the
  training part; scored on the test part;
* Chemprop 2.3.1 with its defaults (``benchmarks/peers/chemprop_parallel.py``, run separately:
  hours on 2 cores; its JSON lines are read from ``results/admet/chemprop_runs.jsonl``);
* a random forest (scikit-learn, 500 trees, ECFP4 2048 bits; sqrt of the features per split for
  classification, a third for regression; fitted on train + validation: it has no use for a
  validation set otherwise).

Classification is scored by ROC-AUC and PR-AUC, regression by MAE and Spearman (TDC's metric of
each endpoint is marked). Runs are cached per (tool, set, seed); reruns resume. The caches hold
test labels from ``../shared`` and are not committed; the scores are, in ``admet_rows.csv``, and
a report keeps every recorded (set, seed, tool) row that no cache on this machine recomputes, so
adding runs on a fresh clone (say, Chemprop's slow large sets) never drops the earlier ones.

    python benchmarks/admet_sets.py                    # the split files (once)
    python benchmarks/admet_bench.py --tools drugforge,rf --seeds 0,1,2,3,4
    python benchmarks/admet_bench.py --report-only
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from admet_sets import BY_NAME, SEEDS, SETS, WORK, AdmetSet, split_files
from common import RESULTS, cached, machine, store

OUT = RESULTS / "admet"
RUNS = OUT / "runs"
CHEMPROP_RUNS = OUT / "chemprop_runs.jsonl"
ROWS = OUT / "admet_rows.csv"


def _test(paths: dict[str, Path]) -> pd.DataFrame:
    return pd.read_csv(paths["test"])


def run_drugforge(spec: AdmetSet, seed: int, paths: dict[str, Path], model: str,
                  pool: str) -> dict[str, Any]:
    tag = model if not pool else f"{model}-{pool.replace(',', '+')}"
    path = RUNS / f"drugforge-{tag}__{spec.file}__s{seed}.json"
    hit = cached(path)
    if hit is not None:
        return hit
    out = WORK / spec.file / f"scaffold_s{seed}" / f"drugforge-{tag}"
    cmd = ["drugforge", "train", str(paths["all"]), "--smiles-column", "smiles", "--target", "y",
           "--task", spec.task, "--split", "column:split", "--seed", str(seed), "--model", model,
           "--quiet", "--force", "--out", str(out)]
    if pool:
        cmd += ["--auto-pool", pool]
    if "--cv-split" in _train_help():
        cmd += ["--cv-split", "scaffold"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    seconds = time.perf_counter() - t0
    from drugforge.core.artifacts import load_model

    loaded = load_model(out)
    test = _test(paths)
    pred = np.asarray(loaded.predict(test["smiles"].tolist()).mean, dtype=float)[:, 0]
    metrics = json.loads((out / "metrics.json").read_text())
    attempts = metrics.get("attempts") or [{}]
    result = {"tool": f"drugforge-{tag}", "set": spec.file, "seed": seed,
              "command": " ".join(cmd), "choice": attempts[-1].get("model"),
              "auto_cv": attempts[-1].get("auto_cv"), "predictions": pred.tolist(),
              "train_seconds": round(seconds, 1), "machine": machine()}
    store(path, result)
    return result


def run_panel(spec: AdmetSet, seed: int, paths: dict[str, Path]) -> dict[str, Any]:
    """The shipped panel's recipe (``benchmarks/panel/panel_spec.py``: ``drugforge train FILE
    --split scaffold --seed N --model auto --auto-pool ...``) on this seed's split; the saved
    split must be this benchmark's split, else nothing is compared."""
    path = RUNS / f"panel__{spec.file}__s{seed}.json"
    hit = cached(path)
    if hit is not None:
        return hit
    sys.path.insert(0, str(Path(__file__).resolve().parent / "panel"))
    from panel_spec import GROUPS, train_command
    from panel_spec import WORK as PANEL_WORK

    group = next(g for g in GROUPS if g.source == "tdc" and g.dataset == spec.file)
    out = PANEL_WORK / f"{group.name}_s{seed}" / "model"
    cmd = train_command(group, out, seed)
    t0 = time.perf_counter()
    if not (out.parent / "command.json").is_file():  # never run, or cut off before the end
        shutil.rmtree(out, ignore_errors=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(cmd, check=True)
        (out.parent / "command.json").write_text(
            json.dumps({"command": cmd, "seconds": time.perf_counter() - t0}))
    seconds = json.loads((out.parent / "command.json").read_text())["seconds"]
    test = _test(paths)
    saved = json.loads((out / "split.json").read_text())["smiles"]
    if saved["test"] != test["smiles"].tolist():
        raise SystemExit(f"{spec.file} s{seed}: the panel command's split differs from the "
                         "benchmark split; refusing to compare")
    from drugforge.core.artifacts import load_model

    loaded = load_model(out)
    pred = np.asarray(loaded.predict(test["smiles"].tolist()).mean, dtype=float)[:, 0]
    metrics = json.loads((out / "metrics.json").read_text())
    attempts = metrics.get("attempts") or [{}]
    result = {"tool": "panel", "set": spec.file, "seed": seed, "command": " ".join(cmd),
              "choice": attempts[-1].get("model"), "auto_cv": attempts[-1].get("auto_cv"),
              "predictions": pred.tolist(), "train_seconds": round(seconds, 1),
              "machine": machine()}
    store(path, result)
    return result


def run_rf(spec: AdmetSet, seed: int, paths: dict[str, Path]) -> dict[str, Any]:
    path = RUNS / f"rf__{spec.file}__s{seed}.json"
    hit = cached(path)
    if hit is not None:
        return hit
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)

    def ecfp(smiles: list[str]) -> np.ndarray:
        return np.array([gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in smiles],
                        dtype=np.uint8)

    fit = pd.concat([pd.read_csv(paths["train"]), pd.read_csv(paths["val"])])
    test = _test(paths)
    t0 = time.perf_counter()
    if spec.task == "classification":
        rf: Any = RandomForestClassifier(n_estimators=500, n_jobs=1, random_state=seed)
        rf.fit(ecfp(fit["smiles"].tolist()), fit["y"].astype(int))
        pred = rf.predict_proba(ecfp(test["smiles"].tolist()))[:, 1]
    else:
        # a third of the features per split (Breiman's regression default; sklearn's 1.0 makes
        # bagged trees, 10x slower on 2048 bits and no better in published ECFP baselines)
        rf = RandomForestRegressor(n_estimators=500, max_features=0.33, n_jobs=1,
                                   random_state=seed)
        rf.fit(ecfp(fit["smiles"].tolist()), fit["y"])
        pred = rf.predict(ecfp(test["smiles"].tolist()))
    result = {"tool": "rf", "set": spec.file, "seed": seed, "predictions": pred.tolist(),
              "train_seconds": round(time.perf_counter() - t0, 1),
              "params": {"n_estimators": 500, "features": "ECFP4 2048 bits",
                         "max_features": "sqrt" if spec.task == "classification" else 0.33}, "machine": machine()}
    store(path, result)
    return result


def chemprop_runs() -> dict[tuple[str, int], dict[str, Any]]:
    if not CHEMPROP_RUNS.is_file():
        return {}
    out = {}
    for line in CHEMPROP_RUNS.read_text().splitlines():
        r = json.loads(line)
        out[(r["set"], int(r["seed"]))] = r
    return out


_HELP: list[str] = []


def _train_help() -> str:
    if not _HELP:
        _HELP.append(subprocess.run(["drugforge", "train", "--help"], capture_output=True,
                                    text=True, check=False).stdout)
    return _HELP[0]


# ----------------------------------------------------------------------------------- report
def collect(tools: list[str]) -> pd.DataFrame:
    from admet_sets import score

    rows = []
    cp = chemprop_runs()
    for spec in SETS:
        for seed in SEEDS:
            folder = WORK / spec.file / f"scaffold_s{seed}"
            if not (folder / "test.csv").is_file():
                continue
            y = pd.read_csv(folder / "test.csv")["y"].to_numpy(float)
            found: dict[str, list[float]] = {}
            for tool in tools:
                hit = cached(RUNS / f"{tool}__{spec.file}__s{seed}.json")
                if hit is not None:
                    found[tool] = hit["predictions"]
            if (spec.file, seed) in cp:
                r = cp[(spec.file, seed)]
                if r["y"] != y.tolist():
                    raise SystemExit(f"{spec.file} s{seed}: Chemprop saw other test molecules")
                found["chemprop"] = r["predictions"]
            for tool, pred in found.items():
                for metric, value in score(spec, y, np.asarray(pred)).items():
                    rows.append({"set": spec.file, "task": spec.task, "tdc_metric": spec.metric,
                                 "seed": seed, "tool": tool, "metric": metric, "value": value})
    fresh = pd.DataFrame(rows, columns=ROW_COLUMNS)
    return merge_recorded(fresh, ROWS, [*tools, "chemprop"])


ROW_COLUMNS = ["set", "task", "tdc_metric", "seed", "tool", "metric", "value"]


def merge_recorded(fresh: pd.DataFrame, recorded: Path, tools: list[str]) -> pd.DataFrame:
    """``fresh`` rows plus the rows of ``recorded`` (an earlier ``admet_rows.csv``) for the
    (set, seed, tool) runs of ``tools`` that ``fresh`` lacks; a recomputed run replaces its old
    rows."""
    if not recorded.is_file():
        return fresh
    old = pd.read_csv(recorded)
    old = old[old.tool.isin(tools)]
    key = ["set", "seed", "tool"]
    have = set(map(tuple, fresh[key].astype({"seed": int}).itertuples(index=False, name=None)))
    keep = [tuple(k) not in have for k in old[key].itertuples(index=False, name=None)]
    merged = pd.concat([fresh, old[keep][ROW_COLUMNS]], ignore_index=True)
    merged = merged.assign(_set=merged.set.map({s.file: i for i, s in enumerate(SETS)}),
                           _tool=merged.tool.map({t: i for i, t in enumerate(tools)}))
    merged = merged.sort_values(["_set", "seed", "_tool"], kind="stable")
    return merged.drop(columns=["_set", "_tool"]).reset_index(drop=True)


def _ms(v: pd.Series) -> str:
    return f"{v.mean():.3f} ± {v.std(ddof=1):.3f}" if len(v) > 1 else f"{v.mean():.3f}"


def report(tools: list[str]) -> str:
    frame = collect(tools)
    if frame.empty:
        return "no runs yet\n"
    frame.to_csv(ROWS, index=False)
    names = [t for t in [*tools, "chemprop"] if t in set(frame.tool)]
    lines = ["# TDC ADMET endpoints: drugforge vs Chemprop 2.3.1 vs RF on ECFP", "",
             ("Same scaffold splits for every tool (`benchmarks/admet_sets.py`: drugforge's "
              "balanced scaffold splitter on the standardized dev data of "
              "`../shared/data/admet`, 80/10/10, seeds 0-4). Mean ± sd over the seeds where "
              "**all** tools ran (n). Made by `python benchmarks/admet_bench.py`; Chemprop by "
              "`benchmarks/peers/chemprop_parallel.py` (defaults, 50 epochs, CPU). "
              "Every run on a 2-core CPU machine (these scores do not depend on which)."), ""]
    for task, metrics in (("classification", ("roc_auc", "pr_auc")),
                          ("regression", ("mae", "spearman"))):
        part = frame[frame.task == task]
        if part.empty:
            continue
        lines += [f"## {task.capitalize()}", ""]
        for metric in metrics:
            lower = metric == "mae"
            lines += [f"### {metric} ({'lower' if lower else 'higher'} is better)", "",
                      "| set | TDC metric | n | " + " | ".join(names) + " | best |",
                      "|---|---|---:|" + "---:|" * len(names) + "---|"]
            wins = dict.fromkeys(names, 0)
            for name, sub in part[part.metric == metric].groupby("set", sort=False):
                wide = sub.pivot(index="seed", columns="tool", values="value")
                have = [t for t in names if t in wide.columns]
                wide = wide[have].dropna()
                if wide.empty:
                    continue
                means = wide.mean()
                best = means.idxmin() if lower else means.idxmax()
                if len(have) == len(names):
                    wins[best] += 1
                cells = [_ms(wide[t]) if t in wide else "" for t in names]
                mark = "**" if BY_NAME[str(name)].metric == metric else ""
                lines.append(f"| {name} | {mark}{BY_NAME[str(name)].metric}{mark} | {len(wide)} | "
                             + " | ".join(cells) + f" | {best} |")
            lines += ["", "Best (mean over seeds, sets where every tool ran): "
                      + ", ".join(f"{t} {w}" for t, w in wins.items()), ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(s.file for s in SETS))
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--tools", default="drugforge,rf")
    parser.add_argument("--model", default="auto")
    parser.add_argument("--auto-pool", default="")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    tag = args.model if not args.auto_pool else f"{args.model}-{args.auto_pool.replace(',', '+')}"
    tools = [f"drugforge-{tag}" if t == "drugforge" else t for t in args.tools.split(",")]
    if not args.report_only:
        for name in args.sets.split(","):
            spec = BY_NAME[name]
            for seed in (int(s) for s in args.seeds.split(",")):
                folder = WORK / name / f"scaffold_s{seed}"
                if (folder / "all.csv").is_file():
                    paths = {p: folder / f"{p}.csv" for p in ("train", "val", "test", "all")}
                else:
                    _, paths = split_files(name, seed)
                for tool in args.tools.split(","):
                    t0 = time.perf_counter()
                    if tool == "drugforge":
                        r = run_drugforge(spec, seed, paths, args.model, args.auto_pool)
                    elif tool == "panel":
                        r = run_panel(spec, seed, paths)
                    elif tool == "rf":
                        r = run_rf(spec, seed, paths)
                    else:
                        raise SystemExit(f"unknown tool {tool}")
                    print(f"{name} s{seed} {tool}: {r.get('choice') or ''} "
                          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    text = report(tools)
    (OUT / "README.md").write_text(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
