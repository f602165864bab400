"""A slice of the real BreastMNIST set (``../shared/data/imaging``) for the image REST and browser
tests: a small ``.npz``, PNG files of validation images, and a tiny model trained on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import SHARED_DATA

BREASTMNIST = SHARED_DATA / "imaging" / "breastmnist_trainval.npz"


def write_breast_slice(out: Path, n_train: int = 64, n_val: int = 32) -> Path:
    """``out/breast.npz``: the first ``n_train`` train and ``n_val`` val images (both classes)."""
    if not BREASTMNIST.is_file():
        pytest.skip(f"BreastMNIST is not at {BREASTMNIST}")
    with np.load(BREASTMNIST) as npz:
        parts = {f"{p}_{k}": npz[f"{p}_{k}"][:n] for p, n in (("train", n_train), ("val", n_val))
                 for k in ("images", "labels")}  # fmt: skip
    path = out / "breast.npz"
    np.savez(path, **parts)
    return path


def write_pngs(npz: Path, out: Path, n: int) -> list[Path]:
    """The first ``n`` validation images of ``npz`` as ``out/scan-<i>.png`` (56 px: resized)."""
    out.mkdir(parents=True, exist_ok=True)
    with np.load(npz) as data:
        images = data["val_images"][:n]
    paths = [out / f"scan-{i}.png" for i in range(n)]
    for image, path in zip(images, paths, strict=True):
        Image.fromarray(image).resize((56, 56)).save(path)
    return paths


def train_tiny(npz: Path, out: Path) -> Path:
    """A one-epoch resnet10 on ``npz`` at ``out`` (seconds on a CPU)."""
    from drugforge.workflows.image import ImageTrainConfig, run_image_train

    run_image_train(ImageTrainConfig(data=str(npz), arch="resnet10", max_epochs=1, device="cpu",
                                     out=str(out), quiet=True))  # fmt: skip
    return out
