"""``drugforge image predict``: apply a saved image model to every image of an input, in order.

The output has one row per input image: ``path`` (or ``index`` for an ``.npz``), ``prob_<class>``
for every class, ``prob_std`` (the spread over ensemble members and test-time views of the
predicted class's probability), the predicted ``label`` (a binary model's saved threshold, else
the most probable class) and ``error``; a measured ``label`` column of the input is kept as
``label_measured``. An unreadable image keeps its row with NaN and the reason. With
``--saliency DIR`` every readable image gets a Grad-CAM overlay ``DIR/<row>_<name>.png`` for its
predicted class, and the output a ``saliency`` column with the file name.

:func:`run_image_predict_inline` is the same prediction for image files sent in a request
(``POST /v1/image/predict``): base64 bytes in, one row per image in order, the Grad-CAM overlay
as a base64 PNG. Both go through :func:`_predict_chunk`.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from drugforge.core.config import RunConfig
from drugforge.core.errors import InputError
from drugforge.core.progress import Progress
from drugforge.core.runtime import check_output_path, make_logger
from drugforge.imaging.classifier import ImageClassifier
from drugforge.imaging.gradcam import grad_cam, overlay_png, overlay_png_bytes
from drugforge.imaging.io import ImageReadError, read_image_bytes, read_image_table, to_model_input
from drugforge.molecules.data.io import write_table
from drugforge.workflows.image import load_image_model, npz_parts, resolve_image_data

__all__ = [
    "ImagePredictConfig",
    "ImagePredictInlineConfig",
    "ImagePredictSummary",
    "run_image_predict",
    "run_image_predict_inline",
]

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
    parts = npz_parts(path)
    for name in ("test", "val", "train"):
        if name in parts:
            return name
    raise InputError("no test_images, val_images or train_images in the .npz", path=path)


def _safe_name(text: str) -> str:
    stem = Path(text).stem if text else "image"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[:60] or "image"


@dataclass
class _Chunk:
    """Predictions of one chunk of images; unreadable rows keep NaN, ``None`` and their error."""

    probs: np.ndarray  # (b, n_classes)
    std: np.ndarray  # (b,) spread of the predicted class's probability
    labels: list[str | None]
    errors: list[str]
    cams: np.ndarray | None  # (b, S, S) Grad-CAM of the predicted class (zeros where unreadable)


def _predict_chunk(model: ImageClassifier, classes: list[str], batch: np.ndarray,
                   errors: list[str], *, saliency: bool) -> _Chunk:  # fmt: skip
    """Predict the readable rows of ``batch`` (uint8 ``(b, C, S, S)``; ``errors[j]`` non-empty
    for an unreadable row), with their Grad-CAM maps when ``saliency``."""
    b = len(batch)
    out = _Chunk(np.full((b, len(classes)), np.nan), np.full(b, np.nan), [None] * b,
                 [" ".join(e.split()) for e in errors], None)  # fmt: skip
    ok = [j for j, e in enumerate(out.errors) if not e]
    if not ok:
        return out
    good = batch[ok]
    member = model.member_probs(good)  # (k*views, b, C)
    p = member.mean(axis=0)
    pred = model.decide(p)
    for row, j in enumerate(ok):
        out.probs[j] = p[row]
        out.std[j] = float(member[:, row, pred[row]].std())
        out.labels[j] = classes[int(pred[row])]
    if saliency:
        out.cams = np.zeros((b, *batch.shape[2:]))
        out.cams[ok] = grad_cam(model.members_, model.normalize(good), pred)
    return out


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
    classes = model.class_names()
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
            chunk = _predict_chunk(model, classes, batch, errs, saliency=sal_dir is not None)
            probs[idx], std[idx] = chunk.probs, chunk.std
            for j, i in enumerate(idx):
                labels[i], errors[i] = chunk.labels[j], chunk.errors[j]
                if sal_dir is not None and chunk.cams is not None and not errors[i]:
                    name = f"{i:06d}_{_safe_name(table.ids[i])}.png"
                    overlay_png(batch[j], chunk.cams[j], sal_dir / name)
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


class ImagePredictInlineConfig(RunConfig):
    """``POST /v1/image/predict``: an image model's predictions for image files sent inline."""

    model: str = Field(description="the saved model (the server resolves a name in its store)")
    images: list[str] = Field(description="the image files (PNG, JPEG, TIFF, BMP, DICOM), each "
                              "base64-encoded (a data: URI prefix is allowed); an unreadable "
                              "one is a row with an error")  # fmt: skip
    names: list[str] | None = Field(default=None, description="a name per image (its file "
                                    "name; a .dcm suffix marks DICOM); default image-1, ...")  # fmt: skip
    saliency: bool = Field(default=False, description="add each readable image's Grad-CAM "
                           "overlay for its predicted class (saliency_png, a base64 PNG)")  # fmt: skip

    @model_validator(mode="after")
    def _names_match(self) -> ImagePredictInlineConfig:
        if self.names is not None and len(self.names) != len(self.images):
            raise ValueError(f"names: {len(self.names)} names for {len(self.images)} images")
        return self


def _decode(text: str, name: str) -> bytes:
    """The bytes of a base64 text (standard alphabet, optional ``data:...;base64,`` prefix)."""
    if text.startswith("data:") and ";base64," in text[:200]:
        text = text.split(";base64,", 1)[1]
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as err:
        raise ImageReadError(f"not valid base64: {err}", path=name) from None


def run_image_predict_inline(config: ImagePredictInlineConfig) -> list[dict[str, Any]]:
    """One row per image, in order: ``name``, ``prob_<class>``..., ``prob_std``, ``label``
    (``saliency_png`` with ``saliency``), ``error``; an unreadable image keeps its row with
    ``None`` values and the reason (JSON-ready: no NaN)."""
    loaded = load_image_model(config.model)
    model = loaded.model
    assert isinstance(model, ImageClassifier)
    classes = model.class_names()
    names = config.names or [f"image-{i + 1}" for i in range(len(config.images))]
    rows: list[dict[str, Any]] = []
    for start in range(0, len(config.images), CHUNK):
        part = range(start, min(start + CHUNK, len(config.images)))
        batch = np.zeros((len(part), model.channels, model.size, model.size), dtype=np.uint8)
        errs: list[str] = []
        for j, i in enumerate(part):
            try:
                image = read_image_bytes(_decode(config.images[i], names[i]), names[i])
                batch[j] = to_model_input(image, model.size, model.channels)
                errs.append("")
            except ImageReadError as err:
                errs.append(str(err))
            except ValueError as err:  # an image to_model_input cannot take
                errs.append(f"{names[i]}: {err}")
        chunk = _predict_chunk(model, classes, batch, errs, saliency=config.saliency)
        for j, i in enumerate(part):
            ok = not chunk.errors[j]
            row: dict[str, Any] = {"name": names[i]}
            row.update({f"prob_{c}": float(chunk.probs[j, c_i]) if ok else None
                        for c_i, c in enumerate(classes)})  # fmt: skip
            row["prob_std"] = float(chunk.std[j]) if ok else None
            row["label"] = chunk.labels[j]
            if config.saliency:
                png = None
                if ok and chunk.cams is not None:
                    png = base64.b64encode(overlay_png_bytes(batch[j], chunk.cams[j])).decode()
                row["saliency_png"] = png
            row["error"] = chunk.errors[j]
            rows.append(row)
    return rows
