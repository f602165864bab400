"""``drugforge image train`` and ``image evaluate``: image classifiers on MedMNIST-style data.

``train`` reads the training images (a MedMNIST ``.npz``, a folder of class folders, a CSV of
``path,label``, or a MedMNIST name from the catalog), takes validation images from ``--val``,
else the ``.npz``'s ``val`` part, else a seeded stratified 10 % of the training images; fits
the network (``--arch auto``: every architecture of the pool, the best validation ROC-AUC
kept); picks a binary model's threshold on the validation images; reports validation metrics
(optimistic: early stopping, the threshold and the architecture were chosen on them) and, when
the data has a ``test`` part, test metrics that nothing was chosen on; checks ``--require`` on
the test metrics when there are some, else on the validation ones (saying which); and saves the
model directory. ``evaluate`` scores a saved model on a labelled set (an ``.npz``'s ``test``
part, else its ``val`` part; or a folder/CSV) and writes a report.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from drugforge.core.artifacts import LoadedModel, load_model, save_model, write_rejected
from drugforge.core.config import RunConfig
from drugforge.core.errors import ArtifactError, GateFailedError, InputError
from drugforge.core.evaluation.gate import (
    check_requirements,
    parse_requirements,
    validate_requirements,
)
from drugforge.core.progress import Progress
from drugforge.core.runtime import make_logger
from drugforge.imaging.catalog import MEDMNIST, resolve_medmnist
from drugforge.imaging.classifier import ImageClassifier
from drugforge.imaging.io import ImageTable, read_image_table
from drugforge.imaging.metrics import image_metrics
from drugforge.imaging.models import arch_choices

__all__ = [
    "ImageEvaluateConfig",
    "ImageTrainConfig",
    "ImageTrainResult",
    "load_image_model",
    "load_images",
    "resolve_image_data",
    "run_image_evaluate",
    "run_image_train",
]

#: the architectures ``--arch auto`` tries by default (CPU-friendly; add others with --auto-pool)
DEFAULT_POOL = ["resnet18-half", "vit"]


def arch_options() -> list[str]:
    return ["auto", *arch_choices()]


class ImageTrainConfig(RunConfig):
    """The validated configuration of one ``drugforge image train`` run."""

    data: str = Field(description="training images: a MedMNIST-style .npz, a folder of class "
                      "folders, a CSV of path,label, or a MedMNIST name (pneumoniamnist...)",
                      json_schema_extra={"cli": {"positional": True}})  # fmt: skip
    val: str | None = Field(default=None, description="validation images (default: the .npz's "
                            "val part, else a stratified 10%% of DATA)")  # fmt: skip
    arch: str = Field(default="auto", description="network; auto tries --auto-pool and keeps "
                      "the best validation ROC-AUC",
                      json_schema_extra={"cli": {"choices_from":
                                                 "drugforge.workflows.image:arch_options"}})  # fmt: skip
    auto_pool: list[str] = Field(default_factory=lambda: list(DEFAULT_POOL),
                                 json_schema_extra={"cli": {"parse": "comma_list"}})
    size: int = Field(default=28, ge=8, le=512, description="image side in pixels (28, 64, 128)")
    channels: int | None = Field(default=None, description="1 (gray) or 3 (RGB); default: the data's")
    n_members: int = Field(default=1, ge=1, le=20, description="ensemble members (uncertainty)")
    max_epochs: int = Field(default=40, ge=1)
    patience: int = Field(default=10, ge=1)
    batch_size: int = Field(default=128, ge=1)
    lr: float = Field(default=2e-3, gt=0)
    no_augment: bool = Field(default=False, description="train without augmentation (flips, "
                             "small affine, intensity)")  # fmt: skip
    vflip: bool = Field(default=False, description="also flip vertically (augmentation and TTA)")
    no_tta: bool = Field(default=False, description="predict without test-time augmentation "
                         "(mirror views)")  # fmt: skip
    class_weight: str | None = Field(default="balanced", description="balanced or none")
    device: str = Field(default="auto", description="auto (GPU when present), cpu or cuda")
    seed: int = 0
    resume: bool = Field(default=False, description="continue an interrupted run from its "
                         "checkpoints (OUT.ckpt/, kept until the model is saved)")  # fmt: skip
    require: list[str] = Field(default_factory=list, description="e.g. \"roc_auc>=0.95\" (repeatable)")
    mirror: str | None = Field(default=None, description="folder with MedMNIST .npz files "
                               "(for a dataset name; default $DRUGFORGE_DATA_MIRROR)")  # fmt: skip
    encoding: str | None = None
    out: str
    force: bool = Field(default=False, description="overwrite --out")
    quiet: bool = False

    @field_validator("arch")
    @classmethod
    def _known_arch(cls, value: str) -> str:
        if value not in arch_options():
            raise ValueError(f"unknown arch '{value}'; choose from: {', '.join(arch_options())}")
        return value

    @field_validator("auto_pool")
    @classmethod
    def _known_pool(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in arch_choices():
                raise ValueError(f"unknown arch '{name}' in the pool; choose from: "
                                 f"{', '.join(arch_choices())}")  # fmt: skip
        return value

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: int | None) -> int | None:
        if value not in (None, 1, 3):
            raise ValueError("channels must be 1 or 3")
        return value

    @field_validator("class_weight")
    @classmethod
    def _class_weight(cls, value: str | None) -> str | None:
        if value in (None, "none", "None"):
            return None
        if value != "balanced":
            raise ValueError("class_weight must be balanced or none")
        return value


@dataclass
class ImageTrainResult:
    out: Path
    arch: str
    metrics: dict[str, Any]
    model: ImageClassifier


# ---------------------------------------------------------------------------------- data
def resolve_image_data(spec: str, mirror: str | None = None) -> Path:
    """A path as given, or the ``.npz`` of a MedMNIST name from the catalog."""
    path = Path(spec)
    if path.exists():
        return path
    if spec.lower().removeprefix("medmnist/") in MEDMNIST:
        return resolve_medmnist(spec, mirror=mirror)
    raise InputError("not found (give an image file, a folder, a .npz, a CSV of path,label, or "
                     f"a MedMNIST name: {', '.join(sorted(MEDMNIST))})", path=spec)  # fmt: skip


def npz_parts(path: Path) -> set[str]:
    """The parts (``train``, ``val``, ``test``...) an ``.npz`` holds images of; empty for any
    other input (and for an unreadable file, which the reader then reports)."""
    if path.suffix.lower() != ".npz":
        return set()
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key.removesuffix("_images") for key in npz.files if key.endswith("_images")}
    except (OSError, ValueError):
        return set()


def load_images(table: ImageTable, size: int, channels: int, *, quiet: bool = True,
                label: str = "reading images") -> tuple[np.ndarray, list[str]]:  # fmt: skip
    """Every row as uint8 ``(n, channels, size, size)`` and an error text per row."""
    arrays = table.arrays
    if (arrays is not None and arrays.dtype == np.uint8 and channels == 1 and arrays.ndim == 3
            and arrays.shape[1:] == (size, size)):  # a MedMNIST part at its own size: as it is
        return arrays[:, None].copy(), [""] * len(table)
    out = np.zeros((len(table), channels, size, size), dtype=np.uint8)
    errors: list[str] = []
    with Progress(total=len(table), label=label, quiet=quiet, unit="images") as progress:
        for start in range(0, len(table), 256):
            idx = list(range(start, min(start + 256, len(table))))
            out[start : start + len(idx)], errs = table.read_batch(idx, size, channels)
            errors.extend(errs)
            progress.update(len(idx))
    return out, errors


def _data_channels(table: ImageTable) -> int:
    if table.arrays is not None:
        return 3 if table.arrays.ndim == 4 and table.arrays.shape[-1] >= 3 else 1
    for i in range(min(len(table), 16)):
        try:
            return 3 if table.read(i).shape[-1] == 3 else 1
        except InputError:
            continue
    return 1


def _labelled_images(table: ImageTable, classes: list[str], size: int, channels: int,
                     quiet: bool, what: str) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Images and class indices; an unreadable image or unknown label stops the run."""
    images, errors = load_images(table, size, channels, quiet=quiet, label=f"reading {what}")
    bad = [i for i, e in enumerate(errors) if e]
    if bad:
        shown = "; ".join(errors[i] for i in bad[:3])
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise InputError(f"{len(bad)} {what} image(s) cannot be read: {shown}{more}",
                         path=table.source)  # fmt: skip
    index = {c: i for i, c in enumerate(classes)}
    assert table.labels is not None
    unknown = [i for i, lab in enumerate(table.labels) if lab not in index]
    if unknown:
        i = unknown[0]
        raise InputError(f"{what} label '{table.labels[i]}' is not a training class "
                         f"({', '.join(classes)})", path=table.source, line=table.lines[i])  # fmt: skip
    return images, np.array([index[lab] for lab in table.labels], dtype=np.int64)


def _stratified_holdout(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray,
                                                                                   np.ndarray]:  # fmt: skip
    rng = np.random.default_rng(seed)
    val: list[int] = []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        k = round(fraction * len(rows))
        if len(rows) > 1 and k == 0:
            k = 1
        val.extend(rng.choice(rows, size=min(k, len(rows) - 1), replace=False).tolist())
    va = np.sort(np.array(val, dtype=np.int64))
    tr = np.setdiff1d(np.arange(len(labels)), va)
    return tr, va


def _hash(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _model(config: ImageTrainConfig, arch: str, classes: list[str], channels: int) -> ImageClassifier:
    return ImageClassifier(checkpoint_dir=str(_checkpoints(config) / arch), resume=config.resume,
                           arch=arch, size=config.size, channels=channels,
                           n_classes=len(classes), classes=classes, n_members=config.n_members,
                           max_epochs=config.max_epochs, patience=config.patience,
                           lr=config.lr, batch_size=config.batch_size, augment=not config.no_augment,
                           vflip=config.vflip, tta=not config.no_tta, class_weight=config.class_weight,
                           device=config.device, seed=config.seed, quiet=config.quiet)  # fmt: skip


def _checkpoints(config: ImageTrainConfig) -> Path:
    out = Path(config.out)
    return out.with_name(out.name + ".ckpt")


def score_model(model: ImageClassifier, images: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    probs, pred = model.predict_classes(images)
    return image_metrics(labels, probs, pred, model.class_names())


# ---------------------------------------------------------------------------------- train
def run_image_train(config: ImageTrainConfig) -> ImageTrainResult:
    """Train, evaluate, gate and save an image classifier as configured."""
    log = make_logger(config.quiet)
    started = time.perf_counter()
    out = Path(config.out)
    if out.exists() and not config.force:
        raise InputError("output directory exists; use --force to overwrite", path=out)
    requirements = parse_requirements(config.require) if config.require else []
    validate_requirements(requirements, "classification", [])
    source = resolve_image_data(config.data, config.mirror)
    parts = npz_parts(source)
    train_table = read_image_table(source, part="train", labelled=True, encoding=config.encoding)
    if config.val is not None:
        val_path = resolve_image_data(config.val, config.mirror)
        val_table: ImageTable | None = read_image_table(val_path, part="val", labelled=True,
                                                        encoding=config.encoding)  # fmt: skip
    elif "val" in parts:
        val_table = read_image_table(source, part="val", labelled=True)
    else:
        val_table = None
    test_table = read_image_table(source, part="test", labelled=True) if "test" in parts else None
    classes = train_table.class_names()
    if len(classes) < 2:
        raise InputError(f"training images need at least 2 classes, found {classes}",
                         path=source)  # fmt: skip
    channels = config.channels or _data_channels(train_table)
    images, labels = _labelled_images(train_table, classes, config.size, channels, config.quiet,
                                      "training")  # fmt: skip
    if val_table is not None:
        val_images, val_labels = _labelled_images(val_table, classes, config.size, channels,
                                                  config.quiet, "validation")  # fmt: skip
        val_from = str(val_table.source) + ("" if config.val else " (val part)")
    else:
        tr, va = _stratified_holdout(labels, 0.1, config.seed)
        val_images, val_labels = images[va], labels[va]
        images, labels = images[tr], labels[tr]
        val_from = f"a stratified 10% of the training images (seed {config.seed})"
    counts = {c: int((labels == i).sum()) for i, c in enumerate(classes)}
    log(f"data: {len(images)} training images {counts}, {len(val_images)} validation images "
        f"from {val_from}; {channels} channel(s) at {config.size}x{config.size}")
    pool = list(config.auto_pool) if config.arch == "auto" else [config.arch]
    candidates: list[dict[str, Any]] = []
    best: tuple[float, ImageClassifier, dict[str, Any]] | None = None
    for arch in pool:
        t0 = time.perf_counter()
        log(f"fitting {arch} ({config.n_members} member(s), up to {config.max_epochs} epochs)")
        model = _model(config, arch, classes, channels).fit(images, labels, val_images, val_labels)
        val_metrics = score_model(model, val_images, val_labels)
        auc = val_metrics["roc_auc"]
        candidates.append({"arch": arch, "val_roc_auc": auc, "val_accuracy":
                           val_metrics["accuracy"], "seconds": round(time.perf_counter() - t0, 1),
                           "epochs": [h["epochs"] for h in model.history_]})  # fmt: skip
        log(f"  {arch}: validation ROC-AUC {auc:.4f}, accuracy {val_metrics['accuracy']:.4f} "
            f"({time.perf_counter() - t0:.0f} s)")
        if best is None or (np.isfinite(auc) and not auc <= best[0]):
            best = (float(auc) if np.isfinite(auc) else -np.inf, model, val_metrics)
    assert best is not None
    _, model, val_metrics = best  # the winner's validation metrics, computed once above
    metrics: dict[str, Any] = {
        "validation": val_metrics,
        "validation_note": "early stopping, the decision threshold and --arch auto used these "
                           "images: an optimistic estimate",
        "threshold": model.threshold_,
        "auto": candidates if config.arch == "auto" else None,
        "data": {"train": len(images), "validation": len(val_images), "classes": classes,
                 "class_counts": counts, "validation_from": val_from},
        "training": model.history_,
    }
    if test_table is not None:
        test_images, test_labels = _labelled_images(test_table, classes, config.size, channels,
                                                    config.quiet, "test")  # fmt: skip
        metrics["test"] = score_model(model, test_images, test_labels)
        log(f"test (nothing chosen on it): ROC-AUC {metrics['test']['roc_auc']:.4f}, "
            f"accuracy {metrics['test']['accuracy']:.4f}")
    log(f"validation: ROC-AUC {val_metrics['roc_auc']:.4f}, accuracy "
        f"{val_metrics['accuracy']:.4f}, balanced accuracy {val_metrics['balanced_accuracy']:.4f}"
        f" (threshold {model.threshold_:.3f})")
    gate = None
    if requirements:
        on = "test" if "test" in metrics else "validation"
        gate = check_requirements(requirements, metrics[on], split=f"the {on} images")
        metrics["gate"] = gate.to_dict()
    metrics["train_seconds"] = round(time.perf_counter() - started, 2)
    if gate is not None and not gate.passed:
        rejected = write_rejected(out, metrics)
        raise GateFailedError(f"requirement not met: {gate.summary()}; nothing saved as accepted "
                              f"(the evaluation is in {rejected})", path=config.data)  # fmt: skip
    targets = ["prob_" + classes[1]] if len(classes) == 2 else [f"prob_{c}" for c in classes]
    saved = save_model(
        out, model, task="classification", target_names=targets,
        standardizer={"size": config.size, "channels": channels},
        data_hash=_hash(images, labels), config={**config.resolved(), "resolved_arch": model.arch},
        split={"train": len(images), "validation": len(val_images), "validation_from": val_from,
               "seed": config.seed, "source": str(source)},
        metrics=metrics, force=config.force,
    )  # fmt: skip
    shutil.rmtree(_checkpoints(config), ignore_errors=True)
    log(f"saved: {saved} ({time.perf_counter() - started:.0f} s)")
    return ImageTrainResult(saved, model.arch, metrics, model)


# ---------------------------------------------------------------------------------- evaluate
def load_image_model(model_dir: str | Path) -> LoadedModel:
    """A saved image model; any other kind is a one-line error."""
    loaded = load_model(model_dir)
    if not isinstance(loaded.model, ImageClassifier):
        raise ArtifactError("not an image model (train one with 'drugforge image train')",
                            path=model_dir)  # fmt: skip
    return loaded


class ImageEvaluateConfig(RunConfig):
    """``drugforge image evaluate``: score a saved image model on labelled images."""

    model_dir: str = Field(json_schema_extra={"cli": {"positional": True}})
    data: str = Field(description="labelled images: a .npz (its test part, else val), a folder "
                      "of class folders or a CSV of path,label",
                      json_schema_extra={"cli": {"positional": True}})  # fmt: skip
    part: str | None = Field(default=None, description="the .npz part to score (default: test, "
                             "else val)")  # fmt: skip
    out: str | None = Field(default=None, description="report folder (metrics.json, report.md, "
                            "roc.png)")  # fmt: skip
    mirror: str | None = None
    encoding: str | None = None
    force: bool = False
    quiet: bool = False


def run_image_evaluate(config: ImageEvaluateConfig) -> dict[str, Any]:
    """Metrics of a saved model on ``config.data`` (and a report folder with ``--out``)."""
    log = make_logger(config.quiet)
    loaded = load_image_model(config.model_dir)
    model = loaded.model
    assert isinstance(model, ImageClassifier)
    source = resolve_image_data(config.data, config.mirror)
    part = config.part or ("test" if "test" in npz_parts(source) else "val")
    table = read_image_table(source, part=part, labelled=True, encoding=config.encoding)
    classes = model.class_names()
    images, labels = _labelled_images(table, classes, model.size, model.channels, config.quiet,
                                      "evaluation")  # fmt: skip
    probs, pred = model.predict_classes(images)
    metrics = image_metrics(labels, probs, pred, classes)
    where = f"{source}" + (f" ({part} part)" if source.suffix.lower() == ".npz" else "")
    result = {"model": str(config.model_dir), "data": where, "threshold": model.threshold_,
              **metrics}  # fmt: skip
    log(f"{where}: ROC-AUC {metrics['roc_auc']:.4f}, accuracy {metrics['accuracy']:.4f}, "
        f"balanced accuracy {metrics['balanced_accuracy']:.4f} ({len(labels)} images)")
    if config.out:
        from drugforge.workflows.image_report import write_image_report

        write_image_report(Path(config.out), result, labels, probs, classes, force=config.force)
    return result
