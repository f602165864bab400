"""The image classifier (``name='image-classifier'``): a CNN or small ViT, trained through the one
loop, with augmentation, class weights, test-time augmentation and a deep ensemble.

Inputs (``X``) are images: ``uint8 (channels, size, size)`` arrays as the readers prepare them
(:func:`drugforge.imaging.io.to_model_input`), or any ``(H, W[, C])`` array in [0, 1] (resized
here), or file paths (read with :func:`drugforge.imaging.io.read_image` by
:meth:`ImageClassifier.prepare_inputs`, which the saved-model predict path calls). Labels are
class indices ``0..n_classes-1`` (``(n,)`` or ``(n, 1)``).

Outputs follow the core contract: a binary classifier's ``predict_dist`` gives P(class 1)
``(n, 1)``; a multi-class one gives the probability of every class ``(n, n_classes)`` (one task
per class, one-vs-rest, which is how MedMNIST scores multi-class AUC). The mean is over ensemble
members and test-time views; the spread of those probabilities is the native uncertainty.
A binary classifier fitted with validation images also picks its decision threshold there: the
one with the best balanced accuracy (Youden's J), which does not move with the class balance
the way an accuracy-optimal threshold does; it is saved with the model (:attr:`threshold_`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import torch
from torch import Tensor, nn

from drugforge.core.predictor import ModelState, Predictor, TaskType, check_state_format
from drugforge.core.training.arrays import arrays_to_module, holdout_split, module_to_arrays
from drugforge.core.training.checkpoint import latest_checkpoint
from drugforge.core.training.device import autocast_enabled, resolve_device, seed_everything
from drugforge.core.training.loop import TrainConfig, fit_torch
from drugforge.imaging.augment import AugmentConfig, augment_batch, tta_views
from drugforge.imaging.io import ImageReadError, read_image, to_model_input
from drugforge.imaging.models import build_arch

__all__ = ["ImageBatches", "ImageClassifier", "best_threshold", "images_to_array"]

_FORMAT = 1


def images_to_array(X: Sequence[Any] | np.ndarray, size: int, channels: int) -> np.ndarray:
    """Images -> ``uint8 (n, channels, size, size)``; prepared arrays pass through unchanged."""
    if isinstance(X, np.ndarray) and X.dtype == np.uint8 and X.shape[1:] == (channels, size, size):
        return X
    out = np.empty((len(X), channels, size, size), dtype=np.uint8)
    for i, item in enumerate(X):
        a = np.asarray(item)
        if a.dtype == np.uint8 and a.shape == (channels, size, size):
            out[i] = a
            continue
        if a.dtype == np.uint8:
            a = a.astype(np.float32) / 255.0
        if a.ndim == 2:
            a = a[:, :, None]
        if a.ndim != 3:
            raise ValueError(f"image {i} has shape {a.shape}; expected (H, W) or (H, W, C)")
        out[i] = to_model_input(a.astype(np.float32), size, channels)
    return out


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The threshold on P(class 1) with the best balanced accuracy on labels ``y`` (0/1); ties go
    to the one closest to 0.5. 0.5 when one class is missing."""
    y = np.asarray(y).reshape(-1).astype(int)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    if not n_pos or not n_neg:
        return 0.5
    cuts = np.unique(p)
    cand = (
        np.concatenate([[0.5], (cuts[:-1] + cuts[1:]) / 2.0]) if len(cuts) > 1 else np.array([0.5])
    )
    pred = p[None, :] >= cand[:, None]  # (k, n)
    tpr = (pred & (y == 1)).sum(axis=1) / n_pos
    tnr = (~pred & (y == 0)).sum(axis=1) / n_neg
    bacc = (tpr + tnr) / 2.0
    best = np.flatnonzero(bacc >= bacc.max() - 1e-12)
    return float(cand[best[np.argmin(np.abs(cand[best] - 0.5))]])


class ImageBatches:
    """A :class:`~drugforge.core.training.data.BatchSource` of uint8 images and class labels:
    a batch is ``(x, y)``, ``x`` float ``(B, C, S, S)`` normalized, augmented when training."""

    def __init__(self, images: Tensor, labels: Tensor | None, mean: float, std: float,
                 augment: AugmentConfig | None = None) -> None:  # fmt: skip
        self.images, self.labels, self.augment = images, labels, augment
        self.mean, self.std = mean, std

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, idx: np.ndarray) -> tuple[Tensor, ...]:
        index = torch.as_tensor(idx, dtype=torch.long)
        x = self.images[index].float() / 255.0
        if self.augment is not None:
            x = augment_batch(x, self.augment)
        x = (x - self.mean) / self.std
        return (x,) if self.labels is None else (x, self.labels[index])


class ImageClassifier(Predictor):
    """A convolutional network (or small ViT) for image classification.

    Parameters
    ----------
    arch
        Network name (:data:`drugforge.imaging.models.ARCHS`).
    size, channels
        Images are resized to ``size x size`` with ``channels`` channels (1 gray, 3 RGB).
    n_classes
        Classes (labels ``0..n_classes-1``); ``None`` = from the training labels (at least 2).
    classes
        The class names, index order (kept with the model for the output columns).
    n_members
        Networks in the deep ensemble (seeds ``seed..seed+n_members-1``).
    max_epochs, patience, lr, weight_decay, batch_size, dropout, label_smoothing
        Training (AdamW, warmup + cosine, early stopping on the validation loss).
    augment, hflip, vflip
        Training augmentation (flips, small affine, intensity); ``hflip``/``vflip`` also choose
        the test-time views.
    class_weight
        ``"balanced"``: cross-entropy weighs each class by ``n / (n_classes * n_class)``.
    tta
        Average the predictions over the test-time views.
    device, precision
        ``auto``: CUDA and bf16 autocast when a GPU is present.
    checkpoint_dir, resume
        Checkpoint every epoch of every member under ``checkpoint_dir/member<k>`` (Ctrl-C saves
        too); ``resume`` continues each member from its newest checkpoint, so an interrupted run
        ends with the weights an uninterrupted one would have (on CPU).
    """

    name = "image-classifier"
    input_kind = "images"
    native_uncertainty = True

    def __init__(
        self,
        task: TaskType = "classification",
        arch: str = "resnet18-half",
        size: int = 28,
        channels: int = 1,
        n_classes: int | None = None,
        classes: Sequence[str] | None = None,
        n_members: int = 1,
        max_epochs: int = 40,
        patience: int = 10,
        lr: float = 2e-3,
        weight_decay: float = 5e-4,
        batch_size: int = 128,
        dropout: float = 0.1,
        label_smoothing: float = 0.0,
        augment: bool = True,
        hflip: bool = True,
        vflip: bool = False,
        class_weight: str | None = "balanced",
        tta: bool = True,
        device: str = "auto",
        precision: str = "auto",
        seed: int = 0,
        quiet: bool = True,
        checkpoint_dir: str | None = None,
        resume: bool = False,
    ) -> None:
        self.task = task
        self.arch = arch
        self.size = size
        self.channels = channels
        self.n_classes = n_classes
        self.classes = classes
        self.n_members = n_members
        self.max_epochs = max_epochs
        self.patience = patience
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.dropout = dropout
        self.label_smoothing = label_smoothing
        self.augment = augment
        self.hflip = hflip
        self.vflip = vflip
        self.class_weight = class_weight
        self.tta = tta
        self.device = device
        self.precision = precision
        self.seed = seed
        self.quiet = quiet
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume

    # ------------------------------------------------------------------ inputs
    @classmethod
    def prepare_inputs(
        cls, raw: Sequence[Any], settings: Mapping[str, Any]
    ) -> tuple[list[Any], list[str]]:
        """Paths or arrays -> prepared ``uint8 (channels, size, size)`` arrays; an unreadable
        image is ``None`` with its one-line reason."""
        size, channels = int(settings.get("size", 28)), int(settings.get("channels", 1))
        items: list[Any] = []
        errors: list[str] = []
        for item in raw:
            try:
                if isinstance(item, str | Path):
                    img = read_image(item)
                else:
                    img = np.asarray(item)
                items.append(images_to_array([img], size, channels)[0])
                errors.append("")
            except (ImageReadError, ValueError, OSError) as err:
                items.append(None)
                errors.append(" ".join(str(err).split()))
        return items, errors

    def _array(self, X: Sequence[Any] | np.ndarray) -> np.ndarray:
        return images_to_array(X, self.size, self.channels)

    @staticmethod
    def _labels(y: Any, n: int) -> np.ndarray:
        Y = np.asarray(y, dtype=np.float64)
        if Y.ndim == 2 and Y.shape[1] == 1:
            Y = Y[:, 0]
        if Y.shape != (n,):
            raise ValueError(f"expected one class index per image ({n}), got shape {Y.shape}")
        if np.isnan(Y).any() or (Y < 0).any() or (Y != np.round(Y)).any():
            raise ValueError("image labels must be class indices 0, 1, ... without missing values")
        return Y.astype(np.int64)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: Sequence[Any] | np.ndarray,
        y: Any,
        X_val: Sequence[Any] | np.ndarray | None = None,
        y_val: Any = None,
    ) -> Self:
        if self.task != "classification":
            raise ValueError(f"image-classifier classifies; got task {self.task!r}")
        images = self._array(X)
        labels = self._labels(y, len(images))
        n_classes = int(self.n_classes or max(2, int(labels.max()) + 1))
        if labels.max() >= n_classes:
            raise ValueError(f"label {int(labels.max())} is outside 0..{n_classes - 1}")
        if X_val is None or len(X_val) == 0:
            tr, va = holdout_split(len(images), 0.1, self.seed)
            val_images, val_labels = images[va], labels[va]
            images, labels = images[tr], labels[tr]
        else:
            val_images = self._array(X_val)
            val_labels = self._labels(y_val, len(val_images))
        self.n_classes_ = n_classes
        self.n_tasks_ = 1 if n_classes == 2 else n_classes
        pixels = images.astype(np.float32) / 255.0
        self.norm_ = (float(pixels.mean()), float(max(pixels.std(), 1e-3)))
        del pixels
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        if self.class_weight == "balanced":
            w = np.where(counts > 0, len(labels) / (n_classes * np.maximum(counts, 1)), 1.0)
        elif self.class_weight is None:
            w = np.ones(n_classes)
        else:
            raise ValueError(
                f"unknown class_weight {self.class_weight!r}; choose from: balanced, None"
            )
        weight = torch.tensor(w, dtype=torch.float32)
        aug = AugmentConfig(hflip=self.hflip, vflip=self.vflip) if self.augment else None
        train = ImageBatches(torch.from_numpy(images), torch.from_numpy(labels), *self.norm_, aug)
        val = ImageBatches(torch.from_numpy(val_images), torch.from_numpy(val_labels), *self.norm_)
        smoothing = float(self.label_smoothing)

        def loss_fn(module: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
            logits = module(batch[0]).float()  # (B, n_classes)
            return nn.functional.cross_entropy(logits, batch[1], weight=weight.to(logits.device),
                                               label_smoothing=smoothing)  # fmt: skip

        device = resolve_device(self.device)
        loop_device: Literal["cpu", "cuda"] = "cuda" if device.type == "cuda" else "cpu"
        self.members_: list[nn.Module] = []
        self.history_: list[dict[str, Any]] = []
        for k in range(int(self.n_members)):
            seed_everything(self.seed + k)
            module = self._build()
            ckpt = Path(self.checkpoint_dir) / f"member{k}" if self.checkpoint_dir else None
            config = TrainConfig(max_epochs=self.max_epochs, lr=self.lr,
                                 weight_decay=self.weight_decay, batch_size=self.batch_size,
                                 patience=self.patience, seed=self.seed + k, quiet=self.quiet,
                                 device=loop_device, precision="bf16" if autocast_enabled(
                                     self.precision, device) else "fp32",
                                 deterministic=device.type == "cpu",
                                 checkpoint_dir=str(ckpt) if ckpt else None,
                                 checkpoint_every=-(-len(train) // self.batch_size),
                                 resume=bool(self.resume and ckpt and latest_checkpoint(ckpt)),
                                 keep_checkpoints=1)  # fmt: skip
            result = fit_torch(module, train, val if len(val) else None, loss_fn, config)
            module.to("cpu").eval()
            self.members_.append(module)
            self.history_.append({"member": k, "best_epoch": result.best_epoch,
                                  "best_val_loss": result.best_val_loss,
                                  "epochs": len(result.history), "seconds": result.seconds,
                                  "images_per_s": float(np.mean([h.get("samples_per_s", 0.0)
                                                                 for h in result.history]))})  # fmt: skip
        self.threshold_ = 0.5
        if n_classes == 2 and len(val_images):
            self.threshold_ = best_threshold(val_labels, self._probs(val_images)[:, 1])
        return self

    def _build(self) -> nn.Module:
        return build_arch(self.arch, in_channels=self.channels, n_classes=self._n_classes(),
                          image_size=self.size, dropout=self.dropout)  # fmt: skip

    def _n_classes(self) -> int:
        return int(getattr(self, "n_classes_", None) or self.n_classes or 2)

    # ------------------------------------------------------------------ predict
    def normalize(self, images: np.ndarray) -> Tensor:
        """uint8 ``(n, C, S, S)`` -> the network's normalized float input."""
        mean, std = self.norm_
        return (torch.from_numpy(images).float() / 255.0 - mean) / std

    def class_names(self) -> list[str]:
        """The class names in index order (``"0"``, ``"1"``... when none were given)."""
        return [str(c) for c in (self.classes or range(self.n_classes_))]

    def member_probs(self, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """``(members * views, n, n_classes)`` class probabilities of prepared images (uint8
        ``(n, C, S, S)``): one slice per ensemble member and test-time view."""
        device = resolve_device(self.device)
        bf16 = autocast_enabled(self.precision, device)
        outs: list[np.ndarray] = []
        for module in self.members_:
            module.to(device).eval()
            per_view: list[list[np.ndarray]] = []
            with torch.no_grad():
                for start in range(0, len(images), batch_size):
                    x = self.normalize(images[start : start + batch_size]).to(device)
                    views = tta_views(x, self.hflip, self.vflip) if self.tta else [x]
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                        probs = [torch.softmax(module(v).float(), dim=1).cpu().numpy()
                                 for v in views]  # fmt: skip
                    if not per_view:
                        per_view = [[] for _ in probs]
                    for j, p in enumerate(probs):
                        per_view[j].append(p)
            module.to("cpu")
            outs.extend(np.concatenate(v, axis=0) for v in per_view)
        return np.stack(outs).astype(np.float64)

    def _probs(self, images: np.ndarray) -> np.ndarray:
        return self.member_probs(images).mean(axis=0)

    def predict_classes(self, X: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(probabilities (n, n_classes), predicted class index (n,))``: the saved threshold
        for a binary model, the most probable class otherwise."""
        probs = self._probs(self._array(X))
        return probs, self.decide(probs)

    def decide(self, probs: np.ndarray) -> np.ndarray:
        """Class indices from probabilities ``(n, n_classes)``."""
        if probs.shape[1] == 2:
            return (probs[:, 1] >= self.threshold_).astype(np.int64)
        return probs.argmax(axis=1).astype(np.int64)

    def predict_dist(self, X: Sequence[Any]) -> tuple[np.ndarray, np.ndarray | None]:
        images = self._array(X)
        if not len(images):
            t = self.n_tasks
            return np.zeros((0, t)), np.zeros((0, t))
        probs = self.member_probs(images)  # (k, n, C)
        mean, std = probs.mean(axis=0), probs.std(axis=0)
        if self.n_classes_ == 2:
            return mean[:, 1:], std[:, 1:]
        return mean, std

    # ------------------------------------------------------------------ state
    def get_state(self) -> ModelState:
        arrays: dict[str, np.ndarray] = {}
        for k, module in enumerate(self.members_):
            arrays.update(module_to_arrays(module, f"m{k}."))
        params = self.get_params()
        params["classes"] = None if self.classes is None else [str(c) for c in self.classes]
        params["checkpoint_dir"], params["resume"] = None, False  # where it was trained: not state
        meta = {"model": self.name, "format": _FORMAT, "params": params,
                "n_classes": self.n_classes_, "norm": list(self.norm_),
                "threshold": self.threshold_, "history": self.history_,
                "arch_config": _arch_config(self.members_[0])}  # fmt: skip
        return ModelState(arrays, meta)

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        check_state_format(state.meta, cls.name, _FORMAT)
        meta = state.meta
        model = cls(**meta["params"])
        model.n_classes_ = int(meta["n_classes"])
        model.n_tasks_ = 1 if model.n_classes_ == 2 else model.n_classes_
        model.norm_ = (float(meta["norm"][0]), float(meta["norm"][1]))
        model.threshold_ = float(meta["threshold"])
        model.history_ = list(meta.get("history", []))
        model.members_ = []
        for k in range(int(model.n_members)):
            module = model._build()
            arrays_to_module(module, state.arrays, f"m{k}.")
            module.eval()
            model.members_.append(module)
        return model


def _arch_config(module: nn.Module) -> dict[str, Any]:
    config = getattr(module, "config", None)
    return asdict(config) if config is not None else {}
