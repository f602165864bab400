"""Fingerprint MLP (``name='mlp'``): a dense network on a 2048-long ECFP4 fingerprint.

The feed-forward network the field's introductions start from: fingerprint -> Linear -> ReLU ->
Dropout -> ... -> Linear -> one output per task. Regression outputs are standardized targets
(masked MSE); classification outputs are logits (masked BCE, sigmoid at prediction). Missing
labels (NaN) of multi-task data simply do not contribute to the loss. Training is
:func:`drugforge.core.training.loop.fit_torch` with early stopping on ``X_val`` (or a seeded 10 % of the
training molecules when no ``X_val`` is given).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal, Self

import numpy as np
import torch
from torch import Tensor, nn

from drugforge.core.predictor import ClassWeight, balanced_pos_weight, check_class_weight
from drugforge.core.training.arrays import (
    ColumnScaler,
    arrays_to_module,
    holdout_split,
    module_to_arrays,
    outputs_to_predictions,
    predict_torch,
    validation_targets,
)
from drugforge.core.training.data import TensorData
from drugforge.core.training.device import seed_everything
from drugforge.core.training.loop import TrainConfig, TrainResult, fit_torch
from drugforge.core.training.losses import masked_loss
from drugforge.molecules.featurize import Featurizer
from drugforge.molecules.models.base import ModelState, MolecularPredictor, MolLike, TaskType
from drugforge.molecules.models.kernels import (
    featurize_X,
    featurizers_from_meta,
    featurizers_to_meta,
    prepare_targets,
    resolve_featurizers,
)

__all__ = ["DEFAULT_FINGERPRINT", "MLP", "FingerprintMLP", "MLPConfig"]

#: ``featurizer='ecfp'`` without ``featurizer_params``: ECFP4 counts folded to 2048 (benchmarks/)
DEFAULT_FINGERPRINT: dict[str, Any] = {"radius": 2, "size": 2048, "counts": True}

_FORMAT = 1


@dataclass
class MLPConfig:
    """Architecture of :class:`MLP`."""

    in_dim: int  # fingerprint length
    out_dim: int  # number of tasks
    hidden_sizes: tuple[int, ...] = (1024, 256)
    dropout: float = 0.2


class MLP(nn.Module):
    """Linear -> ReLU -> Dropout per hidden layer, then a linear output layer."""

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        width = config.in_dim
        for hidden in config.hidden_sizes:
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(config.dropout)]
            width = hidden
        layers.append(nn.Linear(width, config.out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        # x: (B, in_dim) -> (B, out_dim) standardized values or logits
        return self.net(x)  # type: ignore[no-any-return]


def _forward(module: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
    return module(batch[0])  # type: ignore[no-any-return]


class FingerprintMLP(MolecularPredictor):
    """Multi-task feed-forward network on molecular fingerprints.

    Parameters
    ----------
    task
        ``'regression'`` or ``'classification'`` (0/1 labels, NaN = missing).
    featurizer, featurizer_params
        Registered featurizer name (or list of names, concatenated) and its params.
        ``'ecfp'`` without params means count ECFP4 folded to 2048.
    hidden_sizes, dropout
        Widths of the hidden layers and the dropout after each.
    lr, weight_decay, batch_size, max_epochs, patience
        Training (AdamW, warmup + cosine learning rate, early stopping on the validation loss).
    val_fraction
        Share of the training molecules held out (seeded) for early stopping when ``fit`` gets no
        ``X_val``; 0 trains for ``max_epochs`` without early stopping.
    seed
        Seeds the initial weights, dropout, batch order and the hold-out split.
    device
        ``'cpu'``, ``'cuda'`` or ``'auto'``.
    n_jobs
        Processes for featurizing large inputs.
    quiet
        No progress bar while training.
    class_weight
        ``'balanced'``: each task's positive labels weigh ``n_neg / n_pos`` (that task's
        labelled training rows) in the cross-entropy; ``None`` (default): every label alike.
        Classification only (ignored for regression).
    """

    name: ClassVar[str] = "mlp"
    native_uncertainty: ClassVar[bool] = False

    def __init__(
        self,
        task: TaskType = "regression",
        featurizer: str | Sequence[str] = "ecfp",
        featurizer_params: dict[str, Any] | Sequence[dict[str, Any] | None] | None = None,
        hidden_sizes: Sequence[int] = (1024, 256),
        dropout: float = 0.2,
        lr: float = 1e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 64,
        max_epochs: int = 200,
        patience: int = 20,
        val_fraction: float = 0.1,
        seed: int = 0,
        device: Literal["cpu", "cuda", "auto"] = "cpu",
        n_jobs: int = 1,
        quiet: bool = True,
        class_weight: ClassWeight = None,
    ) -> None:
        self.task = task
        self.featurizer = featurizer
        self.featurizer_params = featurizer_params
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.val_fraction = val_fraction
        self.seed = seed
        self.device = device
        self.n_jobs = n_jobs
        self.quiet = quiet
        self.class_weight = class_weight

    # ------------------------------------------------------------------------------ fitting
    def _featurizers(self) -> list[Featurizer]:
        params = self.featurizer_params
        if params is None and self.featurizer == "ecfp":
            params = dict(DEFAULT_FINGERPRINT)
        return resolve_featurizers(self.featurizer, params)

    def fit(
        self,
        X: Sequence[MolLike],
        y: Any,
        X_val: Sequence[MolLike] | None = None,
        y_val: Any = None,
    ) -> Self:
        """Train; ``X_val``/``y_val`` (or a seeded hold-out of ``X``) decide early stopping."""
        config = TrainConfig.from_params(self.get_params())  # checked before featurizing
        feats = self._featurizers()
        F = featurize_X(feats, X, n_jobs=self.n_jobs)  # (n, d)
        Y = prepare_targets(y, self.task, n=F.shape[0])  # (n, t)
        if X_val is not None:
            F_val = featurize_X(feats, X_val, n_jobs=self.n_jobs)  # (n_val, d)
            Y_val = validation_targets(y_val, n=F_val.shape[0], n_tasks=Y.shape[1])
        else:
            train_idx, val_idx = holdout_split(len(F), self.val_fraction, self.seed)
            F, F_val, Y, Y_val = F[train_idx], F[val_idx], Y[train_idx], Y[val_idx]

        n_tasks = Y.shape[1]
        scaler = (
            ColumnScaler.fit(Y) if self.task == "regression" else ColumnScaler.identity(n_tasks)
        )
        seed_everything(self.seed)  # identical initial weights for identical seeds
        module = MLP(
            MLPConfig(
                in_dim=F.shape[1],
                out_dim=n_tasks,
                hidden_sizes=tuple(int(h) for h in self.hidden_sizes),
                dropout=float(self.dropout),
            )
        )
        loss = masked_loss(self.task, self._pos_weight(Y))

        def loss_fn(m: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
            x, target = batch  # (B, d), (B, t)
            return loss(m(x), target)

        def as_data(F_: np.ndarray, Y_: np.ndarray) -> TensorData:
            return TensorData(
                torch.from_numpy(np.ascontiguousarray(F_, dtype=np.float32)),
                torch.from_numpy(scaler.transform(Y_).astype(np.float32)),
            )

        result = fit_torch(
            module,
            as_data(F, Y),
            as_data(F_val, Y_val) if len(F_val) else None,
            loss_fn,
            config,
        )
        self.featurizers_ = feats
        self.module_ = module
        self.scaler_ = scaler
        self.n_tasks_ = n_tasks
        self.train_result_: TrainResult | None = result
        return self

    def _pos_weight(self, Y: np.ndarray) -> np.ndarray | None:
        """The per-task weight of positive labels (class weights), None for unweighted."""
        if check_class_weight(self.class_weight) is None or self.task != "classification":
            return None
        return balanced_pos_weight(Y)

    # --------------------------------------------------------------------------- prediction
    def predict_dist(self, X: Sequence[MolLike]) -> tuple[np.ndarray, np.ndarray | None]:
        F = featurize_X(self.featurizers_, X, n_jobs=self.n_jobs)  # (n, d)
        if len(F) == 0:
            return np.zeros((0, self.n_tasks_)), None
        out = predict_torch(
            self.module_, TensorData(torch.from_numpy(F)), _forward, device=self.device
        )  # (n, t)
        return outputs_to_predictions(out, self.task, self.scaler_), None

    # -------------------------------------------------------------------------------- state
    def get_state(self) -> ModelState:
        arrays = {
            **module_to_arrays(self.module_, prefix="module."),
            **self.scaler_.to_arrays(prefix="y_"),
        }
        result = self.train_result_
        meta = {
            "format": _FORMAT,
            "params": self.get_params(),  # tuples become lists in JSON; from_state undoes that
            "architecture": asdict(self.module_.config),
            "featurizers": featurizers_to_meta(self.featurizers_),
            "n_tasks": self.n_tasks_,
            "best_epoch": result.best_epoch if result else None,
            "epochs_run": len(result.history) if result else None,
        }
        return ModelState(arrays=arrays, meta=meta)

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        meta = state.meta
        if int(meta.get("format", 0)) != _FORMAT:
            raise ValueError(f"unsupported mlp state format {meta.get('format')!r}")
        params = dict(meta["params"])
        params["hidden_sizes"] = tuple(params["hidden_sizes"])
        model = cls(**params)
        arch = dict(meta["architecture"])
        arch["hidden_sizes"] = tuple(arch["hidden_sizes"])
        module = MLP(MLPConfig(**arch))
        arrays_to_module(module, state.arrays, prefix="module.").eval()
        model.featurizers_ = featurizers_from_meta(meta["featurizers"])
        model.module_ = module
        model.scaler_ = ColumnScaler.from_arrays(state.arrays, prefix="y_")
        model.n_tasks_ = int(meta["n_tasks"])
        model.train_result_ = None
        return model
