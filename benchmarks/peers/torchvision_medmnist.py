"""Peer baseline for MedMNIST: torchvision's ResNet-18 trained by torchvision's reference recipe.

Runs under the peer venv (benchmarks/.venv-peers, torchvision==0.28.0 on torch 2.13.0 CPU):

    benchmarks/.venv-peers/bin/python benchmarks/peers/torchvision_medmnist.py \
        --data NPZ --seed N --out RESULT.json [--epochs E] [--threads T] [--eval-part val]

Recipe (github.com/pytorch/vision references/classification: README "ResNet" entry, train.py and
presets.py defaults), kept except where noted:
- model: `torchvision.models.resnet18(weights=None, num_classes=C)`, unmodified (7x7 stride-2 stem
  and max-pool); grayscale images repeated to 3 channels (`transforms.v2.RGB`).
- SGD, momentum 0.9, weight decay 1e-4 on all parameters, cross-entropy (no label smoothing).
- lr 0.1 for batch 256 (8 GPUs x 32), scaled linearly: batch 128 -> lr 0.05.
- StepLR gamma 0.1 every epochs // 3 epochs (the recipe's 30 of 90), stepped once per epoch;
  90 epochs by default; no warm-up, no EMA, no mixup/cutmix, no auto-augment, no random erasing.
- train: RandomResizedCrop(size, bilinear, antialias; scale (0.08, 1), ratio (3/4, 4/3)),
  RandomHorizontalFlip(0.5), scale to [0, 1], ImageNet mean/std normalisation.
- eval: the recipe's Resize(256) + CenterCrop(224) (a 0.875 crop) is not used: at 28 px it would
  cut the image border for nothing; images are only resized to `--size` (a no-op at 28 px), then
  scaled and normalised as in training.
- no early stopping (the recipe has none): the metrics are those of the final-epoch model; the
  best epoch's eval AUC is recorded for information only.
Deviation: when n_train % batch == 1 the last batch is dropped (BatchNorm cannot train on one
image whose layer-4 map is 1x1); the recipe keeps it. Neither MedMNIST set here hits that.

Metrics as MedMNIST's evaluator computes them: ROC-AUC (binary: P(class 1); multi-class: mean of
the per-class one-vs-rest AUCs), accuracy at argmax (binary: P(class 1) > 0.5), balanced accuracy.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from torch import nn
from torch.utils.data import DataLoader, Dataset

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
REFERENCE_LR = 0.1  # for the reference's total batch of 256 (8 GPUs x 32)
REFERENCE_BATCH = 256

# Keeps the op declarations below alive: a torch.library.Library drops them when collected.
_OP_STUBS: list[torch.library.Library] = []


def _load_torchvision_ops() -> bool:
    """Load torchvision's compiled ops, or declare the two it needs at import; True if loaded.

    PyPI's Linux torchvision wheels are CUDA builds: their `_C.so` links libtorch_cuda, absent
    from the CPU torch build, so it cannot load, and `import torchvision` then dies with
    "operator torchvision::nms does not exist" (pytorch/pytorch#122494) because
    `_meta_registrations` registers fake kernels for nms/qnms unconditionally. Nothing used here
    (ResNet-18, transforms.v2) calls those ops, so their schemas are declared without kernels.
    Must run before the first `import torchvision`.
    """
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        raise SystemExit("torchvision is not installed: rerun benchmarks/peers/setup_peers.sh")
    extension = next(Path(spec.origin).parent.glob("_C*.so"), None)
    if extension is not None:
        with contextlib.suppress(OSError):
            torch.ops.load_library(str(extension))
            return True
    lib = torch.library.Library("torchvision", "DEF")
    for op in ("nms", "qnms"):
        lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _OP_STUBS.append(lib)
    return False


TORCHVISION_OPS_LOADED = _load_torchvision_ops()

# torchvision is imported only now, after the op declarations above.
import torchvision
from torchvision.transforms import v2


class ImageSet(Dataset[tuple[torch.Tensor, int]]):
    """(1, H, W) uint8 images with integer labels, transformed one image at a time."""

    def __init__(self, images: torch.Tensor, labels: np.ndarray, transform: v2.Transform) -> None:
        self.images = images  # (N, 1, H, W) uint8
        self.labels = labels  # (N,) int64
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.images[i]), int(self.labels[i])  # (3, size, size) float32


def load_part(path: Path, part: str) -> tuple[torch.Tensor, np.ndarray]:
    """Images (N, 1, H, W) uint8 and labels (N,) int64 of one part of a MedMNIST-style npz."""
    with np.load(path) as data:
        missing = {f"{part}_images", f"{part}_labels"} - set(data.files)
        if missing:
            raise SystemExit(f"{path}: no {sorted(missing)}; it has {sorted(data.files)}")
        images = data[f"{part}_images"]
        labels = data[f"{part}_labels"].reshape(-1).astype(np.int64)
    if images.ndim != 3 or images.dtype != np.uint8 or len(images) != len(labels):
        raise SystemExit(f"{path}: {part}_images must be (N, H, W) uint8 matching its labels")
    return torch.from_numpy(images).unsqueeze(1), labels


def train_transform(size: int) -> v2.Transform:
    return v2.Compose(
        [
            v2.RandomResizedCrop(size, interpolation=v2.InterpolationMode.BILINEAR, antialias=True),
            v2.RandomHorizontalFlip(0.5),
            v2.ToDtype(torch.float32, scale=True),
            v2.RGB(),
            v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


def eval_transform(size: int, native: int) -> v2.Transform:
    steps: list[v2.Transform] = []
    if size != native:
        steps.append(v2.Resize(size, interpolation=v2.InterpolationMode.BILINEAR, antialias=True))
    steps += [
        v2.ToDtype(torch.float32, scale=True),
        v2.RGB(),
        v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ]
    return v2.Compose(steps)


@torch.no_grad()
def predict_proba(model: nn.Module, images: torch.Tensor, batch_size: int) -> np.ndarray:
    """Softmax probabilities (N, C) for already transformed images (N, 3, size, size)."""
    model.eval()
    out = [
        torch.softmax(model(images[i : i + batch_size]), dim=1)
        for i in range(0, len(images), batch_size)
    ]
    return torch.cat(out).numpy()


def metrics(labels: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """AUC, accuracy and balanced accuracy, as MedMNIST's evaluator computes AUC and accuracy."""
    n_classes = proba.shape[1]
    if n_classes == 2:
        auc = roc_auc_score(labels, proba[:, 1])
        pred = (proba[:, 1] > 0.5).astype(np.int64)
    else:
        auc = float(np.mean([roc_auc_score(labels == c, proba[:, c]) for c in range(n_classes)]))
        pred = proba.argmax(axis=1)
    return {
        "auc": float(auc),
        "acc": float(np.mean(pred == labels)),
        "balanced_acc": float(balanced_accuracy_score(labels, pred)),
    }


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="MedMNIST-style .npz")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", type=Path, required=True, help="result JSON")
    p.add_argument("--epochs", type=int, default=90, help="default 90; lr steps at epochs // 3")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--eval-part", default="val", help="npz part to evaluate on (default val)")
    p.add_argument("--size", type=int, default=28, help="image side fed to the model")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=None, help="default 0.1 * batch / 256")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines on stderr")
    args = p.parse_args(argv)
    if args.eval_part == "train":
        p.error("--eval-part train would score the model on its own training images")
    if args.epochs < 1 or args.batch_size < 2 or args.threads < 1 or args.size < 1:
        p.error("--epochs, --threads and --size must be >= 1, --batch-size >= 2")
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # weights and the augmentations (main process, num_workers=0)
    loadavg_at_start = list(os.getloadavg())

    train_images, train_labels = load_part(args.data, "train")
    eval_images, eval_labels = load_part(args.data, args.eval_part)
    n_classes = int(max(train_labels.max(), eval_labels.max())) + 1
    native = train_images.shape[-1]
    lr = args.lr if args.lr is not None else REFERENCE_LR * args.batch_size / REFERENCE_BATCH
    step_size = max(1, args.epochs // 3)

    generator = torch.Generator().manual_seed(args.seed)  # shuffling order
    loader = DataLoader(
        ImageSet(train_images, train_labels, train_transform(args.size)),
        batch_size=args.batch_size,
        shuffle=True,
        num_workers=0,
        generator=generator,
        drop_last=len(train_labels) % args.batch_size == 1,
    )
    eval_x = eval_transform(args.size, native)(eval_images)  # (N, 3, size, size), deterministic

    model = torchvision.models.resnet18(weights=None, num_classes=n_classes)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=0.1)

    history: list[dict[str, float]] = []
    train_seconds = 0.0
    for epoch in range(1, args.epochs + 1):
        model.train()
        start = time.perf_counter()
        loss_sum, seen = 0.0, 0
        for x, y in loader:  # x: (B, 3, size, size), y: (B,)
            loss = criterion(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(y)
            seen += len(y)
        scheduler.step()
        seconds = time.perf_counter() - start
        train_seconds += seconds
        eval_auc = metrics(eval_labels, predict_proba(model, eval_x, args.batch_size))["auc"]
        history.append(
            {"epoch": epoch, "loss": loss_sum / seen, "eval_auc": eval_auc, "seconds": seconds}
        )
        if not args.quiet:
            print(
                f"epoch {epoch:3d}/{args.epochs}  loss {loss_sum / seen:.4f}  "
                f"{args.eval_part} auc {eval_auc:.4f}  {seconds:.1f} s",
                file=sys.stderr,
                flush=True,
            )

    start = time.perf_counter()
    proba = predict_proba(model, eval_x, args.batch_size)
    predict_seconds = time.perf_counter() - start
    best = max(history, key=lambda h: h["eval_auc"])
    n_train_seen = seen  # images per epoch actually trained on (drop_last aside, all of them)
    return {
        "tool": "torchvision-resnet18",
        "versions": {
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "numpy": np.__version__,
            "scikit-learn": importlib.metadata.version("scikit-learn"),
            "python": platform.python_version(),
        },
        "torchvision_ops_loaded": TORCHVISION_OPS_LOADED,
        "data": str(args.data),
        "n_train": len(train_labels),
        "n_eval": len(eval_labels),
        "n_classes": n_classes,
        "eval_part": args.eval_part,
        "seed": args.seed,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": lr,
        "lr_step_size": step_size,
        "size": args.size,
        "threads": args.threads,
        **metrics(eval_labels, proba),
        "best_epoch_auc": best["eval_auc"],
        "best_epoch": best["epoch"],
        "train_seconds": train_seconds,
        "train_images_per_s": n_train_seen * args.epochs / train_seconds,
        "epoch_seconds_mean": train_seconds / args.epochs,
        "predict_seconds": predict_seconds,
        "predict_images_per_s": len(eval_labels) / predict_seconds,
        "history": history,
        "machine": cpu_model(),
        "nproc": len(os.sched_getaffinity(0)),
        "loadavg_at_start": loadavg_at_start,
        "loadavg_at_end": list(os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(
        f"{result['tool']} {args.data.name} seed {args.seed} {args.epochs} epochs: "
        f"{args.eval_part} auc {result['auc']:.4f} acc {result['acc']:.4f} "
        f"bal_acc {result['balanced_acc']:.4f} (best epoch {result['best_epoch']} auc "
        f"{result['best_epoch_auc']:.4f}); train {result['train_seconds']:.0f} s "
        f"({result['train_images_per_s']:.0f} img/s), predict "
        f"{result['predict_images_per_s']:.0f} img/s -> {args.out}"
    )


if __name__ == "__main__":
    main()
