"""``drugforge image predict``: apply a saved image model to every image of an input, in order.

The output has one row per input image: ``path`` (or ``index`` for an ``.npz``), ``prob_<class>``
for every class, ``prob_std`` (the spread over ensemble members and test-time views of the
predicted class's probability), the predicted ``label`` (a binary model's saved threshold, else
the most probable class) and ``error``; a measured ``label`` column of the input is kept as
``label_measured``. An unreadable image keeps its row with NaN and the reason. With
``--saliency DIR`` every readable image gets a Grad-CAM overlay ``DIR/<row>_<name>.png`` for its
predicted class, and the output a ``saliency`` column with the file name.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field

from drugforge.core.config import RunConfig
from drugforge.core.errors import InputError
from drugforge.core.progress import Progress
from drugforge.core.runtime import check_output_path, make_logger
from drugforge.imaging.classifier import ImageClassifier
from drugforge.imaging.gradcam import grad_cam, overlay_png
from drugforge.imaging.io import read_image_table
from drugforge.molecules.data.io import write_table
from drugforge.workflows.image import load_image_model, resolve_image_data

__all__ = ["ImagePredictConfig", "ImagePredictSummary", "run_image_predict"]

CHUNK = 512  # images read, predicted and written per step (bounded memory for any input size)


class ImagePredictConfig(RunConfig):
    """The validated configuration of one ``drugforge image predict`` run."""

    model_dir: str = Field(json_schema_extra={"cli": {"positional": True}})
    input: str = Field(description="images: a folder, a CSV of path[,label], a .npz (its test "
                       "part, else val, else train; or --part), or one image file",
                       json_schema_extra={"cli": {"positional": True}})  # fmt: skip
    out: str = Field(description="output .csv/.tsv/.parquet (optionally .gz)")
    saliency: str | None = Field(default=None, description="folder for Grad-CAM PNG overlays")
    part: str | None = Field(default=None, description="the .npz part to predict")
    mirror: str | None = None
    encoding: str | None = None
    force: bool = False
    quiet: bool = False


@dataclass
class ImagePredictSummary:
    out: Path
    n_rows: int
    n_failed: int
    seconds: float
    frame: pd.DataFrame


def _npz_part(path: Path, part: str | None) -> str:
    if part is not None or path.suffix.lower() != ".npz":
        return part or "train"
    with np.load(path, allow_pickle=False) as npz:
        for name in ("test", "val", "train"):
            if f"{name}_images" in npz.files:
                return name
    raise InputError("no test_images, val_images or train_images in the .npz", path=path)


def _safe_name(text: str) -> str:
    stem = Path(text).stem if text else "image"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[:60] or "image"


def run_image_predict(config: ImagePredictConfig) -> ImagePredictSummary:
    """Predict every image of ``config.input`` in order; write the table (and overlays)."""
    log = make_logger(config.quiet)
    started = time.perf_counter()
    out = check_output_path(config.out, config.force)
    loaded = load_image_model(config.model_dir)
    model = loaded.model
    assert isinstance(model, ImageClassifier)
    source = resolve_image_data(config.input, config.mirror)
    table = read_image_table(source, part=_npz_part(source, config.part), labelled=None,
                             encoding=config.encoding)  # fmt: skip
    classes = [str(c) for c in (model.classes or range(model.n_classes_))]
    n, k = len(table), len(classes)
    probs = np.full((n, k), np.nan)
    std = np.full(n, np.nan)
    labels: list[str | None] = [None] * n
    errors = [""] * n
    saliency: list[str] = [""] * n
    sal_dir = Path(config.saliency) if config.saliency else None
    if sal_dir is not None:
        sal_dir.mkdir(parents=True, exist_ok=True)
    with Progress(total=n, label="predict", quiet=config.quiet, unit="images",
                  min_total=1) as progress:  # fmt: skip
        for start in range(0, n, CHUNK):
            idx = list(range(start, min(start + CHUNK, n)))
            batch, errs = table.read_batch(idx, model.size, model.channels)
            ok = [j for j, e in enumerate(errs) if not e]
            for j, e in enumerate(errs):
                errors[idx[j]] = " ".join(e.split())
            if ok:
                good = batch[ok]
                member = model._member_probs(good)  # (k*views, b, C)
                p = member.mean(axis=0)
                pred = model.decide(p)
                for row, j in enumerate(ok):
                    i = idx[j]
                    probs[i] = p[row]
                    std[i] = float(member[:, row, pred[row]].std())
                    labels[i] = classes[int(pred[row])]
                if sal_dir is not None:
                    cams = grad_cam(model.members_, model.normalize(good), pred)
                    for row, j in enumerate(ok):
                        i = idx[j]
                        name = f"{i:06d}_{_safe_name(table.ids[i])}.png"
                        overlay_png(good[row], cams[row], sal_dir / name)
                        saliency[i] = name
            progress.update(len(idx))
    frame = pd.DataFrame({table.id_column: table.ids})
    if table.labels is not None:
        frame["label_measured"] = table.labels
    for c in range(k):
        frame[f"prob_{classes[c]}"] = probs[:, c]
    frame["prob_std"] = std
    frame["label"] = labels
    if sal_dir is not None:
        frame["saliency"] = saliency
    frame["error"] = errors
    write_table(frame, out, force=config.force)
    n_failed = sum(1 for e in errors if e)
    seconds = time.perf_counter() - started
    log(f"predicted {n - n_failed} of {n} images ({n_failed} failed) in {seconds:.1f} s -> {out}")
    return ImagePredictSummary(out, n, n_failed, seconds, frame)
