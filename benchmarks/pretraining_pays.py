"""Does pretraining pay? The fine-tuned chem-lm against the same architecture from scratch.

The issue's judging benchmark: on the MoleculeACE sets with fewer than 1,000 training molecules
(their own train/test split) and on FreeSolv (drugforge's balanced scaffold split, one per seed),
``ChemLMPredictor(pretrained=DIR, finetune=...)`` and ``ChemLMPredictor(pretrained=None,
finetune='full')`` with the pretrained model's architecture (same preset, same positions) are
trained side by side on the same splits with the same seeds (5 by default); test RMSE is reported
as mean ± sd over the seeds, with MoleculeACE's activity-cliff RMSE beside it. drugforge's
``auto`` over its classical pool (svm, gp, gbm, cross-validated on the same training molecules,
no validation set; the ``auto`` column of ``moleculeace.py``) runs beside them as a reference:
what either language-model variant has to beat to be worth using.

* MoleculeACE sets are read through drugforge's dataset catalog (the package's CSVs, found
  without importing it). The seed changes the weights, the batch order and the 10 % hold-out of
  the training molecules that decides early stopping; the test split is MoleculeACE's own.
* FreeSolv: ``make_split(dataset, 'scaffold', seed)`` gives train/val/test; val decides early
  stopping for both variants.

Usage::

    python benchmarks/pretraining_pays.py --pretrained runs/chem-lm-small          # everything
    python benchmarks/pretraining_pays.py --pretrained DIR --sets CHEMBL2835_Ki,freesolv --seeds 0
    python benchmarks/pretraining_pays.py --list-sets
    python benchmarks/pretraining_pays.py --pretrained DIR --report-only

Each (set, seed, variant) result is cached as JSON under
``results/chemlm/pretraining_pays/cache/`` (the pretrained variant's key includes the weights'
SHA-256 and the fine-tuning mode), so an interrupted run resumes. Writes
``results/chemlm/pretraining_pays.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import RESULTS, SHARED_DATA, cached, machine, mean_sd, rmse, store

OUT = RESULTS / "chemlm"
CACHE = OUT / "pretraining_pays" / "cache"
MAX_TRAIN = 1000  # "MoleculeACE sets with fewer than 1,000 training molecules"
FREESOLV = "freesolv"
#: drugforge's `auto` over its classical pool (svm, gp, gbm; the `auto` column of moleculeace.py)
#: on the same training molecules: what either language-model variant has to beat to be worth
#: using on these sets
REFERENCE = "auto"


# ------------------------------------------------------------------------------------ data
def moleculeace_small_sets() -> dict[str, int]:
    """MoleculeACE sets (catalog names without the group) with < MAX_TRAIN training molecules."""
    from drugforge.molecules.data.catalog import list_datasets
    from drugforge.molecules.data.catalog_load import load_dataset

    sizes = {}
    for name in list_datasets("moleculeace"):
        frame = load_dataset(name).frame
        n_train = int((frame["split"] == "train").sum())
        if n_train < MAX_TRAIN:
            sizes[name.split("/", 1)[1]] = n_train
    return sizes


def load_split(name: str, seed: int) -> dict[str, Any]:
    """train/val/test SMILES and targets (val None: the model holds out its own), cliff flags."""
    from drugforge.molecules.data.catalog_load import load_dataset

    if name == FREESOLV:
        from drugforge.molecules.data.dataset import prepare_dataset
        from drugforge.molecules.data.splits import make_split

        table = load_dataset("moleculenet/freesolv", mirror=SHARED_DATA / "moleculenet")
        dataset, _ = prepare_dataset(table, skip_invalid=True)
        split = make_split(dataset, "scaffold", seed=seed)
        split.assert_disjoint(len(dataset.smiles))
        part = {p: dataset.subset(getattr(split, p)) for p in ("train", "val", "test")}
        return {
            "train": (part["train"].smiles, part["train"].y[:, 0]),
            "val": (part["val"].smiles, part["val"].y[:, 0]),
            "test": (part["test"].smiles, part["test"].y[:, 0]),
            "cliff": None,
            "split": f"scaffold seed {seed}",
        }
    table = load_dataset(f"moleculeace/{name}")
    frame = table.frame
    train, test = frame[frame["split"] == "train"], frame[frame["split"] == "test"]
    smiles = table.smiles_column
    return {
        "train": (train[smiles].tolist(), train["y"].to_numpy(dtype=float)),
        "val": None,
        "test": (test[smiles].tolist(), test["y"].to_numpy(dtype=float)),
        "cliff": test["cliff_mol"].to_numpy() == 1,
        "split": "MoleculeACE train/test",
    }


# -------------------------------------------------------------------------------- variants
def pretrained_key(pretrained: str) -> tuple[str, dict[str, Any]]:
    """A cache tag for the pretrained model (name + weights hash) and its architecture."""
    from drugforge.core.artifacts import WEIGHTS
    from drugforge.molecules.models.chemlm_net import SIZES
    from drugforge.molecules.models.shipped import resolve_generator_dir

    path = resolve_generator_dir(pretrained, option="--pretrained")
    digest = hashlib.sha256((path / WEIGHTS).read_bytes()).hexdigest()[:12]
    config = json.loads((path / "model.json").read_text())["config"]
    shape = {k: config[k] for k in ("n_layer", "n_head", "d_model", "dropout")}
    size = next((s for s, preset in SIZES.items() if preset == shape), None)
    if size is None:
        raise SystemExit(f"{path}: architecture {shape} is no ChemLM size preset; the from-scratch "
                         "twin could not match it")
    return f"{path.name}-{digest}", {"size": size, "max_len": int(config["max_len"]),
                                     "path": str(path)}  # fmt: skip


def build(variant: str, arch: dict[str, Any], finetune: str, seed: int, epochs: int | None) -> Any:
    from drugforge.molecules.models.chemlm_predictor import ChemLMPredictor

    extra = {} if epochs is None else {"max_epochs": epochs}
    if variant == "pretrained":
        return ChemLMPredictor(pretrained=arch["path"], finetune=finetune, seed=seed, **extra)  # type: ignore[arg-type]
    return ChemLMPredictor(pretrained=None, finetune="full", size=arch["size"],
                           max_len=arch["max_len"], seed=seed, **extra)  # fmt: skip


def cache_path(name: str, variant: str, seed: int, tag: str, arch: dict[str, Any],
               finetune: str, epochs: int | None) -> Path:  # fmt: skip
    suffix = "" if epochs is None else f"-e{epochs}"
    # '-groups': the pretrained encoder's 0.1x learning rate comes from its own AdamW parameter
    # group (fit_torch(lr_scale=...)); results from the earlier weight-reparametrization
    # mechanism (no suffix) differ slightly through gradient clipping and are not mixed in
    if variant == REFERENCE:  # no epochs, no language model: one key per (set, seed)
        return CACHE / f"{name}__{REFERENCE}__s{seed}.json"
    key = (f"{tag}-{finetune}" + ("-groups" if finetune == "full" else "")
           if variant == "pretrained" else f"scratch-{arch['size']}-L{arch['max_len']}")  # fmt: skip
    return CACHE / f"{name}__{key}{suffix}__s{seed}.json"


def run_one(name: str, variant: str, seed: int, tag: str, arch: dict[str, Any], finetune: str,
            epochs: int | None) -> dict[str, Any]:  # fmt: skip
    path = cache_path(name, variant, seed, tag, arch, finetune, epochs)
    hit = cached(path)
    if hit is not None:
        return hit
    data = load_split(name, seed)
    X, y = data["train"]
    X_test, y_test = data["test"]
    t0 = time.perf_counter()
    if variant == REFERENCE:  # cross-validated selection included in the time, as in moleculeace.py
        import pandas as pd
        from moleculeace import drugforge_model

        pred, info = drugforge_model(REFERENCE, pd.DataFrame({"smiles": X, "y": y}),
                                     pd.DataFrame({"smiles": X_test}), seed)  # fmt: skip
        seconds = time.perf_counter() - t0
    else:
        model = build(variant, arch, finetune, seed, epochs)
        if data["val"] is not None:
            model.fit(X, y, data["val"][0], data["val"][1])
        else:
            model.fit(X, y)
        seconds = time.perf_counter() - t0
        pred = model.predict(X_test)[:, 0]
    cliff = data["cliff"]
    result = {
        "set": name, "variant": variant, "seed": seed, "split": data["split"],
        "finetune": finetune if variant == "pretrained" else "full",
        "pretrained": tag if variant == "pretrained" else None,
        "n_train": len(X), "n_test": len(X_test),
        "rmse": rmse(y_test, pred),
        "cliff_rmse": rmse(y_test[cliff], pred[cliff]) if cliff is not None and cliff.any()
        else None,
        "train_seconds": seconds,
        **({"best_epoch": None, "epochs_run": None, "auto_choice": info["auto_choice"],
            "auto_cv": info["auto_cv"]} if variant == REFERENCE else
           {"best_epoch": model.train_result_.best_epoch,
            "epochs_run": len(model.train_result_.history), "fit_info": model.fit_info_,
            "params": {k: v for k, v in model.get_params().items() if k != "quiet"}}),
        "pred": pred, "machine": machine(),
    }  # fmt: skip
    store(path, result)
    return result


# ---------------------------------------------------------------------------------- report
def report(sets: list[str], seeds: list[int], tag: str, arch: dict[str, Any], finetune: str,
           epochs: int | None) -> tuple[str, dict[str, Any]]:  # fmt: skip
    rows: list[dict[str, Any]] = []
    for name in sets:
        got = {v: [cached(cache_path(name, v, s, tag, arch, finetune, epochs)) for s in seeds]
               for v in ("pretrained", "scratch")}  # fmt: skip
        done = {v: [r for r in rs if r is not None] for v, rs in got.items()}
        if not done["pretrained"] or not done["scratch"]:
            continue
        paired = [(p["rmse"], s["rmse"]) for p, s in zip(got["pretrained"], got["scratch"],
                                                          strict=True) if p and s]  # fmt: skip
        row: dict[str, Any] = {
            "set": name, "n_train": done["pretrained"][0]["n_train"],
            "n_test": done["pretrained"][0]["n_test"], "seeds": len(paired),
            "wins": sum(p < s for p, s in paired),
        }  # fmt: skip
        reference = [cached(cache_path(name, REFERENCE, s, tag, arch, finetune, epochs))
                     for s in seeds]  # fmt: skip
        row[REFERENCE] = [r["rmse"] for r in reference if r is not None]
        for v, rs in done.items():
            row[v] = [r["rmse"] for r in rs]
            row[f"{v}_cliff"] = [r["cliff_rmse"] for r in rs if r["cliff_rmse"] is not None]
            row[f"{v}_seconds"] = float(np.mean([r["train_seconds"] for r in rs]))
            row[f"{v}_epochs"] = float(np.mean([r["best_epoch"] for r in rs]))
        rows.append(row)

    def cell(values: list[float]) -> str:
        return mean_sd(values) if values else ""

    head = (f"# Does pretraining pay? chem-lm `{tag}` ({finetune} fine-tuning) vs the same "
            f"architecture from scratch\n\n"
            f"`{arch['size']}` preset, {arch['max_len']} positions; test RMSE, mean ± sd over "
            f"seeds {','.join(map(str, seeds))} (cliff: MoleculeACE activity-cliff molecules). "
            "MoleculeACE sets with < 1,000 training molecules (own split) and FreeSolv (scaffold "
            "split per seed). Written by `benchmarks/pretraining_pays.py`.\n")  # fmt: skip
    lines = [head,
             ("| set | train | test | pretrained | from scratch | Δ (scratch − pre) | "
              "pre wins | cliff pre | cliff scratch | s/fit pre | s/fit scratch | "
              f"drugforge {REFERENCE} (reference) |"),
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        delta = float(np.mean(r["scratch"]) - np.mean(r["pretrained"]))
        lines.append(
            f"| {r['set']} | {r['n_train']} | {r['n_test']} | {cell(r['pretrained'])} | "
            f"{cell(r['scratch'])} | {delta:+.3f} | {r['wins']}/{r['seeds']} | "
            f"{cell(r['pretrained_cliff'])} | {cell(r['scratch_cliff'])} | "
            f"{r['pretrained_seconds']:.0f} | {r['scratch_seconds']:.0f} | "
            f"{cell(r[REFERENCE])} |"
        )
    summary: dict[str, Any] = {"sets": len(rows)}
    if rows:
        pre = np.array([np.mean(r["pretrained"]) for r in rows])
        scr = np.array([np.mean(r["scratch"]) for r in rows])
        summary |= {
            "mean_rmse_pretrained": float(pre.mean()), "mean_rmse_scratch": float(scr.mean()),
            "sets_pretrained_better": int((pre < scr).sum()),
            "mean_relative_gain": float(np.mean((scr - pre) / scr)),
            "seed_wins": int(sum(r["wins"] for r in rows)),
            "seed_pairs": int(sum(r["seeds"] for r in rows)),
            "compute_hours": float(sum((r["pretrained_seconds"] + r["scratch_seconds"])
                                       * r["seeds"] for r in rows) / 3600),
        }  # fmt: skip
        with_ref = [r for r in rows if r[REFERENCE]]
        if with_ref:
            ref = np.array([np.mean(r[REFERENCE]) for r in with_ref])
            pre_ref = np.array([np.mean(r["pretrained"]) for r in with_ref])
            summary |= {
                "reference": REFERENCE, "reference_sets": len(with_ref),
                "mean_rmse_reference": float(ref.mean()),
                "mean_rmse_pretrained_on_reference_sets": float(pre_ref.mean()),
                "sets_pretrained_better_than_reference": int((pre_ref < ref).sum()),
            }  # fmt: skip
        if len(rows) >= 5:
            from scipy.stats import wilcoxon

            summary["wilcoxon_p_sets"] = float(wilcoxon(pre, scr).pvalue)
        lines += [
            "",
            f"**Summary ({len(rows)} sets):** mean RMSE pretrained "
            f"{summary['mean_rmse_pretrained']:.3f} vs from scratch "
            f"{summary['mean_rmse_scratch']:.3f}; pretrained better on "
            f"{summary['sets_pretrained_better']}/{len(rows)} sets (set means) and on "
            f"{summary['seed_wins']}/{summary['seed_pairs']} (set, seed) pairs; mean relative "
            f"RMSE gain {100 * summary['mean_relative_gain']:+.1f} %"
            + (f"; Wilcoxon signed-rank over sets p = {summary['wilcoxon_p_sets']:.3g}"
               if "wilcoxon_p_sets" in summary else "")
            + f". Compute: {summary['compute_hours']:.2f} h of training."
            + (f" drugforge's `{REFERENCE}` (svm, gp, gbm; the same training molecules) averages "
               f"{summary['mean_rmse_reference']:.3f} on the {summary['reference_sets']} sets "
               "it has run (pretrained chem-lm "
               f"{summary['mean_rmse_pretrained_on_reference_sets']:.3f}); the pretrained model "
               f"beats it on {summary['sets_pretrained_better_than_reference']}/"
               f"{summary['reference_sets']}." if "reference" in summary else ""),
        ]  # fmt: skip
    missing = [s for s in sets if s not in {r["set"] for r in rows}]
    if missing:
        lines.append(f"\nNot (yet) run: {', '.join(missing)}.")
    return "\n".join(lines) + "\n", {"pretrained": tag, "architecture": arch,
                                      "finetune": finetune, "seeds": seeds, "rows": rows,
                                      "summary": summary, "machine": machine()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pretrained", default="chem-lm",
                        help="saved chem-lm generator: directory or shipped name")
    parser.add_argument("--sets", default="small",
                        help="comma-separated MoleculeACE set names and/or 'freesolv'; 'small' = "
                        "every MoleculeACE set with < 1,000 training molecules + freesolv")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--finetune", choices=["full", "frozen"], default="full")
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="override the model's max_epochs (smoke runs)")
    parser.add_argument("--variants", default=f"pretrained,scratch,{REFERENCE}",
                        help="which of pretrained, scratch, auto to run (the report shows all "
                        "that are cached)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--list-sets", action="store_true")
    parser.add_argument("--out", default="pretraining_pays", help="report name under results/chemlm/")
    args = parser.parse_args()

    os.environ.setdefault("DRUGFORGE_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    small = moleculeace_small_sets()
    if args.list_sets:
        for name, n in sorted(small.items(), key=lambda kv: kv[1]):
            print(f"{name:<18} {n} training molecules")
        print(f"{len(small)} MoleculeACE sets with < {MAX_TRAIN} training molecules, + freesolv")
        return
    sets = [*sorted(small), FREESOLV] if args.sets == "small" else args.sets.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    variants = args.variants.split(",")
    if unknown := set(variants) - {"pretrained", "scratch", REFERENCE}:
        parser.error(f"unknown variant {min(unknown)!r}; choose from: pretrained, scratch, "
                     f"{REFERENCE}")
    tag, arch = pretrained_key(args.pretrained)
    if not args.report_only:
        for seed in seeds:  # seed-major: a partial run covers every set
            for name in sets:
                for variant in variants:
                    r = run_one(name, variant, seed, tag, arch, args.finetune, args.max_epochs)
                    epochs = ("" if r["best_epoch"] is None else
                              f"best epoch {r['best_epoch']:>3}/{r['epochs_run']:<3} ")
                    print(f"{name:<18} s{seed} {variant:<10} rmse {r['rmse']:.3f}  {epochs}"
                          f"{r['train_seconds']:.0f} s", flush=True)
    text, data = report(sets, seeds, tag, arch, args.finetune, args.max_epochs)
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.out}.md").write_text(text)
    (OUT / f"{args.out}.json").write_text(json.dumps(data, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
