"""MedMNIST (PneumoniaMNIST, BreastMNIST at 28 px): ``drugforge image train`` beside a ResNet-18
trained by torchvision's reference recipe, on the same official train/val split, several seeds.

Only the train and validation parts are used (the test parts are held out for acceptance
checks): both tools train on ``train_*``; drugforge early-stops, picks its threshold and (with
``--arch auto``) its architecture on ``val_*``, so its validation numbers are optimistic; the
peer has no early stopping and reports its last epoch (the reference recipe), plus its best
epoch's AUC for information. Accuracy is reported at drugforge's saved threshold and at 0.5
(argmax, the MedMNIST evaluator's rule) for both.

    python benchmarks/medmnist.py --datasets pneumoniamnist,breastmnist --seeds 0,1,2,3,4
    python benchmarks/medmnist.py --report

The peer runs in benchmarks/.venv-peers (``bash benchmarks/peers/setup_peers.sh`` installs
torchvision 0.28.0 there). Rows are appended to ``results/medmnist/runs.jsonl`` and a run that is
already there is skipped; ``--report`` writes ``results/medmnist/medmnist.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import RESULTS, SHARED_DATA, machine, mean_sd

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("DRUGFORGE_MEDMNIST", SHARED_DATA / "imaging"))
OUT = RESULTS / "medmnist"
RUNS = OUT / "runs.jsonl"
PEER_PY = HERE / ".venv-peers" / "bin" / "python"
PEER = HERE / "peers" / "torchvision_medmnist.py"


def _npz(dataset: str) -> Path:
    for name in (f"{dataset}.npz", f"{dataset}_trainval.npz"):
        if (DATA / name).is_file():
            return DATA / name
    raise SystemExit(f"no {dataset}.npz or {dataset}_trainval.npz in {DATA}")


def _done() -> list[dict[str, Any]]:
    if not RUNS.is_file():
        return []
    return [json.loads(line) for line in RUNS.read_text().splitlines() if line.strip()]


def _append(row: dict[str, Any]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with RUNS.open("a") as handle:
        handle.write(json.dumps(row) + "\n")


def run_drugforge(dataset: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    from drugforge.core.artifacts import load_model

    npz = _npz(dataset)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "drugforge", "image", "train", str(npz), "--seed", str(seed),
               "--arch", args.arch, "--max-epochs", str(args.max_epochs), "--device", "cpu",
               "--n-members", str(args.n_members), "--quiet", "--out", f"{tmp}/m"]  # fmt: skip
        if args.auto_pool:
            cmd += ["--auto-pool", args.auto_pool]
        t0 = time.perf_counter()
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
        subprocess.run(cmd, check=True, env=env)
        wall = time.perf_counter() - t0
        metrics = json.loads(Path(f"{tmp}/m/metrics.json").read_text())
        model = load_model(f"{tmp}/m").model
        with np.load(npz) as data:
            images, labels = data["val_images"], data["val_labels"].reshape(-1).astype(int)
        t0 = time.perf_counter()
        probs, _pred = model.predict_classes(images)  # type: ignore[attr-defined]
        predict_s = time.perf_counter() - t0
    val = metrics["validation"]
    history = metrics["training"]
    return {
        "tool": "drugforge", "dataset": dataset, "seed": seed, "arch": model.arch,  # type: ignore[attr-defined]
        "config": {"arch": args.arch, "max_epochs": args.max_epochs, "n_members": args.n_members,
                   "auto_pool": args.auto_pool},
        "auc": val["roc_auc"], "acc": val["accuracy"], "balanced_acc": val["balanced_accuracy"],
        "acc_at_0.5": float(((probs[:, 1] >= 0.5).astype(int) == labels).mean()),
        "threshold": metrics["threshold"], "epochs": [h["epochs"] for h in history],
        "train_seconds": wall,
        "train_images_per_s": float(np.mean([h["images_per_s"] for h in history])),
        "predict_images_per_s": len(images) / predict_s,
        "auto": metrics.get("auto"), "threads": args.threads, "machine": machine(),
    }


def run_peer(dataset: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    if not PEER_PY.is_file():
        raise SystemExit("peer venv missing: bash benchmarks/peers/setup_peers.sh")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        cmd = [str(PEER_PY), str(PEER), "--data", str(_npz(dataset)), "--seed", str(seed),
               "--out", str(out), "--epochs", str(args.peer_epochs), "--threads", str(args.threads), "--quiet"]
        subprocess.run(cmd, check=True)
        result = json.loads(out.read_text())
    return {"tool": "torchvision-resnet18", "dataset": dataset, "seed": seed,
            "config": {"epochs": args.peer_epochs}, "auc": result["auc"], "acc": result["acc"],
            "acc_at_0.5": result["acc"], "balanced_acc": result["balanced_acc"],
            "best_epoch_auc": result.get("best_epoch_auc"),
            "train_seconds": result["train_seconds"],
            "train_images_per_s": result["train_images_per_s"],
            "predict_images_per_s": result["predict_images_per_s"],
            "versions": result.get("versions"), "threads": args.threads,
            "machine": machine()}  # fmt: skip


def report() -> Path:
    rows = _done()
    lines = ["# MedMNIST at 28 px: validation metrics, drugforge beside torchvision's ResNet-18", "",
             ("Validation part of the official split (the test parts are held out); mean ± sd over "
             "seeds. drugforge chose its early-stopping epoch, threshold and architecture on these "
             "images (optimistic); the peer reports its last epoch. `acc` is at drugforge's saved "
             "threshold (peer: argmax); `acc@0.5` at 0.5 for both. drugforge's train seconds are "
             "the whole `image train` command (start-up, reading, every epoch's validation, "
             "choosing the threshold, saving); the peer's are its training passes only. "
             "drugforge's predict rate includes its two test-time views."), ""]  # fmt: skip
    for dataset in sorted({r["dataset"] for r in rows}):
        lines += [f"## {dataset}", "", ("| tool | seeds | ROC-AUC | acc | acc@0.5 | balanced acc | "
                  "train s | train images/s | predict images/s | model |"),
                  "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        per_tool: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            if r["dataset"] == dataset:
                per_tool.setdefault(_label(r), []).append(r)
        for tool, rs in sorted(per_tool.items()):
            def col(key: str, rs: list[dict[str, Any]] = rs) -> str:
                return mean_sd([float(r[key]) for r in rs])

            arch = ", ".join(sorted({str(r.get("arch", "resnet18 (torchvision)")) for r in rs}))
            seeds = ",".join(str(r["seed"]) for r in sorted(rs, key=lambda r: r["seed"]))
            lines.append(f"| {tool} | {seeds} | {col('auc')} | {col('acc')} | {col('acc_at_0.5')}"
                         f" | {col('balanced_acc')} | {col('train_seconds')} | "
                         f"{col('train_images_per_s')} | {col('predict_images_per_s')} | {arch} |")
        peers = [rs for rs in per_tool.values() if rs[0]["tool"] != "drugforge"]
        for label, ours in sorted(per_tool.items()):
            if ours[0]["tool"] != "drugforge" or len(peers) != 1:
                continue
            peer = peers[0]
            shared = sorted({r["seed"] for r in ours} & {r["seed"] for r in peer})
            if shared:
                a = {r["seed"]: r for r in ours}
                b = {r["seed"]: r for r in peer}
                d_auc = [a[s]["auc"] - b[s]["auc"] for s in shared]
                t_ratio = [a[s]["train_seconds"] / b[s]["train_seconds"] for s in shared]
                lines += ["", (f"{label} beside the peer, paired over seeds {shared}: ROC-AUC "
                               "difference (drugforge - peer) "
                          f"{mean_sd(d_auc)}; train time ratio (drugforge / peer) "
                          f"{mean_sd(t_ratio)}.")]  # fmt: skip
        lines.append("")
    m = machine()
    lines += [f"Machine: {m['cpus']} cores ({m['cpu']}), Python {m['python']}, CPU only."]
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "medmnist.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _label(row: dict[str, Any]) -> str:
    c = row["config"]
    if row["tool"] == "drugforge":
        pool = f" [{c['auto_pool']}]" if c.get("auto_pool") else ""
        members = f", {c['n_members']} members" if c.get("n_members", 1) > 1 else ""
        return f"drugforge --arch {c['arch']}{pool}, {c['max_epochs']} epochs max{members}"
    return f"{row['tool']}, {c['epochs']} epochs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="pneumoniamnist,breastmnist")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--tools", default="drugforge,torchvision")
    parser.add_argument("--arch", default="auto")
    parser.add_argument("--auto-pool", default=None)
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--n-members", type=int, default=1)
    parser.add_argument("--peer-epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2, help="torch threads of both tools")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if not args.report:
        done = _done()
        for dataset in args.datasets.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                for tool in args.tools.split(","):
                    row_tool = "drugforge" if tool == "drugforge" else "torchvision-resnet18"
                    config = ({"arch": args.arch, "max_epochs": args.max_epochs,
                               "n_members": args.n_members, "auto_pool": args.auto_pool}
                              if tool == "drugforge" else {"epochs": args.peer_epochs})  # fmt: skip
                    if any(r["tool"] == row_tool and r["dataset"] == dataset and r["seed"] == seed
                           and r["config"] == config for r in done):  # fmt: skip
                        print(f"cached: {tool} {dataset} seed {seed}", file=sys.stderr)
                        continue
                    row = (run_drugforge if tool == "drugforge" else run_peer)(dataset, seed, args)
                    _append(row)
                    print(f"{tool} {dataset} seed {seed}: AUC {row['auc']:.4f} acc "
                          f"{row['acc']:.4f} ({row['train_seconds']:.0f} s)", file=sys.stderr)
    print(report())


if __name__ == "__main__":
    main()
