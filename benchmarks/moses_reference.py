"""Reproduce the "Train" row of the MOSES results table with drugforge's MOSES metrics.

30,000 molecules drawn from MOSES' training set (without replacement, one draw per seed) are scored
as if generated and compared with the values MOSES publishes for its training set (README of
molecularsets/moses; Polykovskiy et al., Front. Pharmacol. 2020). Reported: mean and sd over the
seeds, the published value, and the seconds each step took, with the machine's load.

Cross-checks against MOSES' own statistics: MOSES ships the statistics it computed for its test
sets (``test_stats.npz``, ``test_scaffolds_stats.npz``; a pickle of numpy arrays and Counters).
They are read here with an unpickler that allows only numpy's array reconstruction and
``collections.Counter`` (nothing else can be called), then compared with drugforge's recomputed
statistics (fingerprints bit for bit, fragment and scaffold counts, property values, the FCD
between the two ChemNet Gaussians), and every seed is scored against both.

Usage::

    python benchmarks/moses_reference.py [--seeds 0,1,2] [-n 30000] [--n-jobs 2] [--threads 1]
    python benchmarks/moses_reference.py --describe-only   # phase 1 alone (no reference needed)

Phase 1 describes each seed's samples (parsing, fingerprints, fragments, scaffolds, filters,
properties, ChemNet) into ``benchmarks/work/moses``; phase 2 scores them. Splitting them lets
phase 1 run while the reference statistics are still being computed.

Per-seed results are cached in ``benchmarks/results/moses/train_s{seed}.json`` (delete to rerun);
the summary goes to ``benchmarks/results/moses/reference.json`` and ``reference.md``.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import pickle
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from common import cached, machine, store

OUT = BENCH / "results" / "moses"
WORK = BENCH / "work" / "moses"

# what the unpickler may build from MOSES' statistics files, and nothing else
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("collections", "Counter"),
    ("_codecs", "encode"),  # protocol-2 pickles spell bytes as encode(text, 'latin1')
}


class _StatsUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing {module}.{name} in a statistics file")
        return super().find_class(module, name)


def read_moses_stats(path: Path) -> dict[str, Any]:
    """MOSES' ``*_stats.npz``: the pickled dict inside ``stats.npy``, read with the allowlist."""
    with zipfile.ZipFile(path) as archive, archive.open("stats.npy") as raw:
        handle = io.BytesIO(raw.read())
    major, _minor = np.lib.format.read_magic(handle)
    read_header = (np.lib.format.read_array_header_1_0 if major == 1
                   else np.lib.format.read_array_header_2_0)  # fmt: skip
    _shape, _order, dtype = read_header(handle)
    if dtype != np.dtype(object):
        raise ValueError(f"{path}: expected a pickled object array")
    array = _StatsUnpickler(handle).load()
    return dict(np.asarray(array).item())


def shipped_reference(name: str, stats: dict[str, Any]) -> Any:
    """A drugforge ``MosesReference`` holding MOSES' shipped statistics."""
    from drugforge.molecules.generation.moses_reference import MosesReference

    fps = np.packbits(np.asarray(stats["SNN"]["fps"], dtype=np.uint8), axis=1)
    return MosesReference(
        name=f"{name} (MOSES npz)",
        n=len(fps),
        fcd_mu=np.asarray(stats["FCD"]["mu"], dtype=np.float64),
        fcd_sigma=np.asarray(stats["FCD"]["sigma"], dtype=np.float64),
        fingerprints=fps,
        fragments=Counter(stats["Frag"]["frag"]),
        scaffolds=Counter(stats["Scaf"]["scaf"]),
        properties={p: np.asarray(stats[p]["values"], dtype=np.float64)
                    for p in ("logP", "SA", "QED", "weight")},
    )  # fmt: skip


def compare_references(ours: Any, theirs: Any) -> dict[str, Any]:
    """How drugforge's recomputed statistics differ from MOSES' shipped ones."""
    from drugforge.molecules.generation.fcd import frechet_distance
    from drugforge.molecules.generation.moses import cosine_similarity

    same_rows = np.all(ours.fingerprints == theirs.fingerprints, axis=1)
    out: dict[str, Any] = {
        "n_ours": ours.n,
        "n_moses": theirs.n,
        "fingerprint_rows_identical": int(same_rows.sum()),
        "fragments_keys_ours_moses": [len(ours.fragments), len(theirs.fragments)],
        "fragments_identical": ours.fragments == theirs.fragments,
        "fragments_cosine": cosine_similarity(ours.fragments, theirs.fragments),
        "scaffolds_keys_ours_moses": [len(ours.scaffolds), len(theirs.scaffolds)],
        "scaffolds_identical": ours.scaffolds == theirs.scaffolds,
        "scaffolds_cosine": cosine_similarity(ours.scaffolds, theirs.scaffolds),
        "fcd_between_chemnet_gaussians": frechet_distance(
            ours.fcd_mu, ours.fcd_sigma, theirs.fcd_mu, theirs.fcd_sigma
        ),
        "fcd_mu_max_abs_diff": float(np.abs(ours.fcd_mu - theirs.fcd_mu).max()),
    }
    for prop, values in ours.properties.items():
        diff = np.abs(values - theirs.properties[prop])
        out[f"{prop}_max_abs_diff"] = float(diff.max())
        out[f"{prop}_rows_differing"] = int((diff > 1e-9).sum())
    return out


def draw(train: list[str], seed: int, n: int) -> list[str]:
    """``n`` training SMILES drawn without replacement with ``seed``."""
    rng = np.random.default_rng(seed)
    return [train[i] for i in rng.choice(len(train), size=n, replace=False)]


def describe_seed(seed: int, n: int, n_jobs: int, train: list[str]) -> dict[str, Any]:
    """Phase 1 (no reference needed): describe a seed's samples, keep them in benchmarks/work."""
    from drugforge.core.progress import Progress
    from drugforge.molecules.generation.moses import describe_samples

    path = WORK / f"train_s{seed}_n{n}.npz"
    if path.is_file():
        return {"path": path}

    def progress(total: int, label: str) -> Progress:
        return Progress(total, f"s{seed} {label}")

    load_start = os.getloadavg()
    described = describe_samples(draw(train, seed, n), n_jobs=n_jobs, progress=progress)
    f = described.features
    WORK.mkdir(parents=True, exist_ok=True)
    meta = {"seconds": described.seconds, "stage_seconds": f.stage_seconds,
            "load_average_start": [round(x, 2) for x in load_start],
            "load_average_end": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp, meta=np.asarray(json.dumps(meta)), n_input=f.n_input, valid=f.valid,
        smiles=np.asarray(f.smiles, dtype=np.str_), fingerprints=f.fingerprints,
        frag_keys=np.asarray(list(f.fragments), dtype=np.str_),
        frag_counts=np.asarray(list(f.fragments.values())),
        scaf_keys=np.asarray(list(f.scaffolds), dtype=np.str_),
        scaf_counts=np.asarray(list(f.scaffolds.values())),
        passes=f.passes_filters, mu=described.fcd_mu, sigma=described.fcd_sigma,
        **{f"prop_{k}": v for k, v in f.properties.items()},
    )  # fmt: skip
    os.replace(tmp, path)
    return {"path": path}


def load_described(path: Path) -> tuple[Any, dict[str, Any]]:
    from drugforge.molecules.chem.moses_features import PROPERTY_NAMES, MosesFeatures
    from drugforge.molecules.generation.moses import MosesSamples

    with np.load(path, allow_pickle=False) as d:
        meta = json.loads(str(d["meta"]))
        feats = MosesFeatures(
            n_input=int(d["n_input"]), valid=d["valid"], smiles=d["smiles"].tolist(),
            fingerprints=d["fingerprints"],
            fragments=Counter(dict(zip(d["frag_keys"].tolist(), d["frag_counts"].tolist()))),
            scaffolds=Counter(dict(zip(d["scaf_keys"].tolist(), d["scaf_counts"].tolist()))),
            passes_filters=d["passes"],
            properties={p: d[f"prop_{p}"] for p in PROPERTY_NAMES},
            stage_seconds=meta["stage_seconds"],
        )  # fmt: skip
        described = MosesSamples(feats, d["mu"], d["sigma"], dict(meta["seconds"]))
    return described, meta


def run_seed(seed: int, n: int, n_jobs: int, refs: dict[str, Any], train: list[str],
             train_set: set[str], with_npz: bool) -> dict[str, Any]:  # fmt: skip
    """Phase 2: score a seed's described samples against drugforge's and MOSES' statistics."""
    from drugforge.core.progress import Progress
    from drugforge.molecules.generation.moses import score_samples

    def progress(total: int, label: str) -> Progress:
        return Progress(total, f"s{seed} {label}")

    described, meta = load_described(describe_seed(seed, n, n_jobs, train)["path"])
    load_score = os.getloadavg()
    t0 = time.perf_counter()
    ours = score_samples(described, test=refs["test"], test_scaffolds=refs["test_scaffolds"],
                         train=train_set, progress=progress)  # fmt: skip
    scoring = time.perf_counter() - t0
    shipped = None
    if with_npz:  # the first seed only: SNN against 176k molecules twice more is the slow part
        shipped = score_samples(
            described,
            test=refs["moses_test"],
            test_scaffolds=refs["moses_test_scaffolds"],
            train=train_set,
        )
    return {
        "seed": seed,
        "n": n,
        "metrics": ours.metrics,
        "metrics_with_moses_npz": None if shipped is None else shipped.metrics,
        "seconds": ours.seconds,
        "feature_stage_seconds": ours.feature_stage_seconds,
        "wall_seconds": meta["seconds"]["features"] + meta["seconds"]["chemnet"] + scoring,
        "load_average_describe": [meta["load_average_start"], meta["load_average_end"]],
        "load_average_score": [
            [round(x, 2) for x in load_score],
            [round(x, 2) for x in os.getloadavg()],
        ],
        "notes": ours.notes,
    }


def summarize(runs: list[dict[str, Any]], checks: dict[str, Any], args: argparse.Namespace,
              reference_seconds: dict[str, float]) -> dict[str, Any]:  # fmt: skip
    from drugforge.molecules.generation.moses import METRIC_NAMES, MOSES_PUBLISHED_TRAIN

    rows = {}
    for name in METRIC_NAMES:
        values = np.asarray([r["metrics"][name] for r in runs], dtype=float)
        npz_values = np.asarray(
            [r["metrics_with_moses_npz"][name] for r in runs if r["metrics_with_moses_npz"]],
            dtype=float,
        )
        rows[name] = {
            "mean": float(values.mean()),
            "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "per_seed": values.tolist(),
            "with_moses_npz_first_seed": float(npz_values[0]) if len(npz_values) else None,
            "published": MOSES_PUBLISHED_TRAIN.get(name),
        }
    seconds_keys = sorted({k for r in runs for k in r["seconds"]})
    seconds = {k: float(np.mean([r["seconds"].get(k, 0.0) for r in runs])) for k in seconds_keys}
    return {
        "benchmark": "MOSES Train row, drugforge metrics on samples of the MOSES training set",
        "n_per_seed": args.n,
        "seeds": [r["seed"] for r in runs],
        "metrics": rows,
        "mean_seconds_per_seed": seconds,
        "mean_wall_seconds_per_seed": float(np.mean([r["wall_seconds"] for r in runs])),
        "load_average_per_seed": [
            {"describe": r["load_average_describe"], "score": r["load_average_score"]} for r in runs
        ],
        "reference_statistics_check": checks,
        "reference_load_seconds": reference_seconds,
        "machine": machine(),
        "published_source": "MOSES README (molecularsets/moses), Train row; "
        "unrounded in data/samples/train_metrics.csv",
    }


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or math.isnan(x):
        return "-"
    if x != 0 and abs(x) < 1e-3:
        return f"{x:.1e}"
    return f"{x:.{digits}f}"


def markdown(summary: dict[str, Any]) -> str:
    from drugforge.molecules.generation.moses import METRIC_LABELS

    n_seeds = len(summary["seeds"])
    lines = [
        '# MOSES metrics of the MOSES training set (the published "Train" row)',
        "",
        (
            f"{summary['n_per_seed']:,} molecules drawn from MOSES' training set per seed "
            f"(seeds {', '.join(map(str, summary['seeds']))}), scored as generated samples by "
            "`drugforge.molecules.generation.moses`; reference statistics recomputed by drugforge from the "
            "MOSES test sets. Mean ± sd over seeds; the seed column scores the first seed's "
            "samples against drugforge's statistics and against the ones MOSES ships. Seconds: "
            "the metric's own step; the per-molecule work and ChemNet are shared (below)."
        ),
        "",
        (
            f"| metric | drugforge (mean ± sd, {n_seeds} seeds) | seed {summary['seeds'][0]}: "
            "drugforge stats / MOSES npz | published Train | seconds/seed |"
        ),
        "|---|---:|---:|---:|---:|",
    ]
    secs = summary["mean_seconds_per_seed"]
    for name, row in summary["metrics"].items():
        spent = secs.get(name, secs.get("IntDiv") if name == "IntDiv2" else None)
        lines.append(
            f"| {METRIC_LABELS.get(name, name)} | {_fmt(row['mean'])} ± {_fmt(row['sd'])} | "
            f"{_fmt(row['per_seed'][0])} / {_fmt(row['with_moses_npz_first_seed'])} | "
            f"{_fmt(row['published'])} | "
            f"{'-' if spent is None else f'{spent:.1f}'} |"
        )
    shared = {k: v for k, v in secs.items() if k in ("features", "chemnet")}
    lines += [
        "",
        "Shared steps per seed (s): "
        + ", ".join(f"{k} {v:.0f}" for k, v in shared.items())
        + f"; wall per seed {summary['mean_wall_seconds_per_seed']:.0f} s.",
        (
            f"Load average (1/5/15 min) at start/end of each seed's two phases: "
            f"{summary['load_average_per_seed']} on {summary['machine']['cpus']} CPUs "
            f"({summary['machine']['cpu']})."
        ),
        "",
        "## drugforge's recomputed reference statistics vs the ones MOSES ships",
        "",
        "| check | test | test_scaffolds |",
        "|---|---:|---:|",
    ]
    checks = summary["reference_statistics_check"]
    for key in checks["test"]:
        a, b = checks["test"][key], checks["test_scaffolds"][key]
        lines.append(f"| {key} | {_cell(a)} | {_cell(b)} |")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return _fmt(value, 6)
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("-n", type=int, default=30000)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (1 is faster on a loaded 2-core machine)",
    )
    parser.add_argument(
        "--describe-only",
        action="store_true",
        help="phase 1 only: describe the seeds' samples (no reference needed)",
    )
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from drugforge.molecules.chem.moses_filters import moses_package_dir
    from drugforge.molecules.generation.moses_reference import load_moses_split, load_reference

    seeds = [int(s) for s in args.seeds.split(",")]
    if args.describe_only:
        train = load_moses_split("train")
        for seed in seeds:
            print(seed, describe_seed(seed, args.n, args.n_jobs, train), flush=True)
        return

    data = moses_package_dir() / "dataset" / "data"
    refs: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    reference_seconds: dict[str, float] = {}
    for name in ("test", "test_scaffolds"):
        t = time.perf_counter()
        refs[name] = load_reference(name, n_jobs=args.n_jobs)
        reference_seconds[name] = time.perf_counter() - t
        refs[f"moses_{name}"] = shipped_reference(
            name, read_moses_stats(data / f"{name}_stats.npz")
        )
        checks[name] = compare_references(refs[name], refs[f"moses_{name}"])
        print(name, json.dumps(checks[name]), flush=True)
    train = load_moses_split("train")
    train_set = set(train)
    runs = []
    for seed in seeds:
        path = OUT / f"train_s{seed}.json"
        result = cached(path)
        if result is None or result.get("n") != args.n:
            result = run_seed(seed, args.n, args.n_jobs, refs, train, train_set,
                              with_npz=seed == seeds[0])  # fmt: skip
            store(path, result)
        print(f"seed {seed}: {result['wall_seconds']:.0f} s", json.dumps(result["metrics"]),
              flush=True)  # fmt: skip
        runs.append(result)
    summary = summarize(runs, checks, args, reference_seconds)
    store(OUT / "reference.json", summary)
    (OUT / "reference.md").write_text(markdown(summary))
    print(markdown(summary))


if __name__ == "__main__":
    main()
