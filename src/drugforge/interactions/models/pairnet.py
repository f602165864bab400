"""A two-tower network for drug-target affinity (``name='pair-nn'``).

Each pair's molecule features (count ECFP4 by default) and sequence features (amino-acid,
dipeptide and physicochemical composition plus hashed 3-mers by default) go through their own
tower; the head sees both embeddings and their element-wise product, the way DeepDTA-style models
join a drug and a protein encoder. With ``target_encoder="cnn"`` the sequence tower is DeepDTA's
residue CNN (:class:`~drugforge.proteins.models.cnn.ResidueCNN`) over the whole sequence, learnt
end to end (about 100x the compute of the feature tower: a GPU option). Features are standardized with statistics of the distinct
training molecules and sequences. ``n_members`` networks from different seeds form a deep
ensemble: the prediction is their mean and the native uncertainty their spread. Training goes
through the one loop (:func:`drugforge.core.training.loop.fit_torch`) with early stopping on the
validation pairs (else a seeded 10 % of the training pairs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Self

import numpy as np
import torch
from torch import Tensor, nn

from drugforge.core.predictor import ModelState, TaskType, as_2d_targets, check_state_format
from drugforge.core.training.arrays import (
    ColumnScaler,
    arrays_to_module,
    holdout_split,
    module_to_arrays,
    predict_torch,
)
from drugforge.core.training.data import ListData, TensorData
from drugforge.core.training.device import seed_everything
from drugforge.core.training.loop import TrainConfig, fit_torch
from drugforge.interactions.models.base import (
    PairFeatures,
    PairPredictor,
    as_pairs,
    ensemble_dist,
    featurize_pairs,
    noise_variance,
)
from drugforge.proteins.models.cnn import ResidueCNN, ResidueCNNConfig

__all__ = ["PairNet", "PairNetConfig", "TwoTower"]

_FORMAT = 1


@dataclass
class PairNetConfig:
    """The architecture of one :class:`TwoTower` network."""

    d_drug: int
    d_target: int  # sequence features (target_encoder "features")
    hidden: int = 512
    embed: int = 256
    dropout: float = 0.1
    target_encoder: str = "features"  # or "cnn": the residue CNN over the sequence


class TwoTower(nn.Module):
    """(drug features, target features) -> affinity; composition of two towers and a head."""

    def __init__(self, config: PairNetConfig) -> None:
        super().__init__()
        c = config

        def tower(d_in: int) -> nn.Sequential:
            return nn.Sequential(nn.Linear(d_in, c.hidden), nn.ReLU(), nn.Dropout(c.dropout),
                                 nn.Linear(c.hidden, c.embed))  # fmt: skip

        self.drug = tower(c.d_drug)
        if c.target_encoder == "cnn":
            cnn = ResidueCNN(ResidueCNNConfig(dropout=c.dropout))
            self.target = nn.Sequential(cnn, nn.Linear(cnn.config.out_dim, c.hidden), nn.ReLU(),
                                        nn.Dropout(c.dropout), nn.Linear(c.hidden, c.embed))
        else:
            self.target = tower(c.d_target)
        self.head = nn.Sequential(
            nn.Linear(3 * c.embed, c.hidden), nn.ReLU(), nn.Dropout(c.dropout),
            nn.Linear(c.hidden, c.embed), nn.ReLU(), nn.Linear(c.embed, 1),
        )  # fmt: skip

    def forward(self, xd: Tensor, xt: Tensor) -> Tensor:
        a = self.drug(xd)  # (B, embed)
        b = self.target(xt)  # (B, embed) from features (B, d_target) or residue codes (B, L)
        return self.head(torch.cat([a, b, a * b], dim=1))  # (B, 1)


def _scale_stats(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = F.mean(axis=0)
    sd = F.std(axis=0)
    return mu.astype(np.float32), np.where(sd > 1e-6, sd, 1.0).astype(np.float32)


class PairNet(PairPredictor):
    """Two-tower deep ensemble over molecule and sequence features (regression).

    Parameters
    ----------
    drug_featurizers, target_featurizers
        Registered molecule and protein featurizer names; each list's features are concatenated.
    target_encoder
        ``"features"`` (a dense tower on the sequence features) or ``"cnn"`` (DeepDTA's residue
        CNN over the full sequence, no truncation; the sequence features are then unused).
    hidden, embed, dropout
        Tower/head widths and dropout.
    n_members
        Networks in the ensemble (different seeds); their spread is the native uncertainty.
    max_epochs, patience, lr, weight_decay, batch_size
        Training settings of the one loop.
    seed
        Seed of the first member (member ``k`` uses ``seed + k``).
    """

    name = "pair-nn"
    native_uncertainty = True

    def __init__(
        self,
        task: TaskType = "regression",
        drug_featurizers: Sequence[str] = ("ecfp_count",),
        target_featurizers: Sequence[str] = ("composition", "kmer"),
        target_encoder: str = "features",
        hidden: int = 512,
        embed: int = 256,
        dropout: float = 0.1,
        n_members: int = 5,
        max_epochs: int = 150,
        patience: int = 20,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 256,
        seed: int = 0,
        quiet: bool = True,
    ) -> None:
        self.task = task
        self.drug_featurizers = drug_featurizers
        self.target_featurizers = target_featurizers
        self.target_encoder = target_encoder
        self.hidden = hidden
        self.embed = embed
        self.dropout = dropout
        self.n_members = n_members
        self.max_epochs = max_epochs
        self.patience = patience
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.seed = seed
        self.quiet = quiet

    # ------------------------------------------------------------------ features
    def _target_names(self) -> list[str]:
        return [] if self.target_encoder == "cnn" else list(self.target_featurizers)

    def _raw_features(self, X: Sequence[Any]) -> PairFeatures:
        """Unscaled features (count fingerprints log1p-compressed)."""
        F = featurize_pairs(as_pairs(X), list(self.drug_featurizers), self._target_names(),
                            codes=self.target_encoder == "cnn")  # fmt: skip
        F.drug = np.log1p(np.maximum(F.drug, 0.0)) if self._log_drug else F.drug
        return F

    def _scaled(self, F: PairFeatures) -> PairFeatures:
        F.drug = (F.drug - self.drug_mu_) / self.drug_sd_
        F.target = (F.target - self.target_mu_) / self.target_sd_
        return F

    def _features(self, X: Sequence[Any]) -> PairFeatures:
        return self._scaled(self._raw_features(X))

    @property
    def _log_drug(self) -> bool:
        # count fingerprints span 0..~40; log1p keeps a frequent substructure from dominating
        return any(name.endswith("_count") for name in self.drug_featurizers)

    def _data(self, F: PairFeatures, y: np.ndarray | None) -> TensorData | ListData[Any]:
        xd = torch.from_numpy(F.drug[F.drug_idx].astype(np.float32))
        if self.target_encoder == "cnn":
            assert F.codes is not None
            codes = [torch.from_numpy(c) for c in F.codes]
            rows = [(xd[i], codes[int(t)], None if y is None else float(y[i, 0]))
                    for i, t in enumerate(F.target_idx)]  # fmt: skip
            return ListData(rows, _collate_codes)
        xt = torch.from_numpy(F.target[F.target_idx].astype(np.float32))
        if y is None:
            return TensorData(xd, xt)
        return TensorData(xd, xt, torch.from_numpy(y.astype(np.float32)))

    # ------------------------------------------------------------------ fit / predict
    def fit(
        self, X: Sequence[Any], y: Any, X_val: Sequence[Any] | None = None, y_val: Any = None
    ) -> Self:
        if self.task != "regression":
            raise ValueError("pair-nn predicts affinities (regression); got task "
                             f"{self.task!r}")  # fmt: skip
        pairs = as_pairs(X)
        Y = as_2d_targets(y)
        if Y.shape[1] != 1:
            raise ValueError(f"pair-nn predicts one affinity per pair, got {Y.shape[1]} targets")
        keep = ~np.isnan(Y[:, 0])
        pairs = [p for p, k in zip(pairs, keep, strict=True) if k]
        Y = Y[keep]
        if X_val is None or len(X_val) == 0:
            tr, va = holdout_split(len(pairs), 0.1, self.seed)
            val_pairs, Yv = [pairs[i] for i in va], Y[va]
            pairs, Y = [pairs[i] for i in tr], Y[tr]
        else:
            val_pairs, Yv = as_pairs(X_val), as_2d_targets(y_val)
            ok = ~np.isnan(Yv[:, 0])
            val_pairs, Yv = [p for p, k in zip(val_pairs, ok, strict=True) if k], Yv[ok]
        if self.target_encoder not in ("features", "cnn"):
            raise ValueError(f"unknown target_encoder {self.target_encoder!r}; choose from: "
                             "features, cnn")  # fmt: skip
        raw = self._raw_features(pairs)  # featurized once: the statistics, then the scaled copy
        self.drug_mu_, self.drug_sd_ = _scale_stats(raw.drug)
        self.target_mu_, self.target_sd_ = _scale_stats(raw.target)
        self.scaler_ = ColumnScaler.fit(Y)
        F, Fv = self._scaled(raw), self._features(val_pairs)
        train = self._data(F, self.scaler_.transform(Y))
        val = self._data(Fv, self.scaler_.transform(Yv)) if len(val_pairs) else None
        self.n_tasks_ = 1
        self.arch_ = PairNetConfig(F.drug.shape[1], F.target.shape[1], self.hidden, self.embed,
                                   self.dropout, self.target_encoder)  # fmt: skip
        self.members_: list[TwoTower] = []
        self.history_: list[dict[str, Any]] = []
        for k in range(self.n_members):
            seed_everything(self.seed + k)  # identical initial weights for identical seeds
            module = TwoTower(self.arch_)
            config = TrainConfig(max_epochs=self.max_epochs, lr=self.lr,
                                 weight_decay=self.weight_decay, batch_size=self.batch_size,
                                 patience=self.patience, seed=self.seed + k,
                                 quiet=self.quiet)  # fmt: skip
            result = fit_torch(module, train, val, _loss, config)
            self.members_.append(module)
            self.history_.append({"member": k, "best_epoch": result.best_epoch,
                                  "best_val_loss": result.best_val_loss})  # fmt: skip
        self.noise_var_ = 0.0
        if len(val_pairs):
            self.noise_var_ = noise_variance(Yv[:, 0], self._member_preds(Fv))
        return self

    def _member_preds(self, F: PairFeatures) -> np.ndarray:
        """``(members, n)`` predictions in target units."""
        data = self._data(F, None)
        return np.stack([self.scaler_.inverse(predict_torch(m, data, _forward,
                                                            batch_size=4096))[:, 0]
                         for m in self.members_])  # fmt: skip

    def predict_dist(self, X: Sequence[Any]) -> tuple[np.ndarray, np.ndarray | None]:
        return ensemble_dist(self._member_preds(self._features(X)), self.noise_var_)

    # ------------------------------------------------------------------ state
    def get_state(self) -> ModelState:
        arrays: dict[str, np.ndarray] = {
            "drug_mu": self.drug_mu_, "drug_sd": self.drug_sd_,
            "target_mu": self.target_mu_, "target_sd": self.target_sd_,
            "noise_var": np.array([self.noise_var_]), **self.scaler_.to_arrays("y_"),
        }  # fmt: skip
        for k, module in enumerate(self.members_):
            arrays.update(module_to_arrays(module, f"m{k}."))
        params = self.get_params()
        params["drug_featurizers"] = list(self.drug_featurizers)
        params["target_featurizers"] = list(self.target_featurizers)
        meta = {"model": self.name, "format": _FORMAT, "params": params,
                "arch": asdict(self.arch_), "history": self.history_}  # fmt: skip
        return ModelState(arrays, meta)

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        check_state_format(state.meta, cls.name, _FORMAT)
        model = cls(**state.meta["params"])
        a = state.arrays
        model.drug_mu_, model.drug_sd_ = a["drug_mu"], a["drug_sd"]
        model.target_mu_, model.target_sd_ = a["target_mu"], a["target_sd"]
        model.scaler_ = ColumnScaler.from_arrays(a, "y_")
        model.noise_var_ = float(a["noise_var"][0])
        model.arch_ = PairNetConfig(**state.meta["arch"])
        model.members_ = []
        for k in range(int(model.n_members)):
            member = TwoTower(model.arch_)
            arrays_to_module(member, a, f"m{k}.")
            model.members_.append(member)
        for m in model.members_:
            m.eval()
        model.history_ = list(state.meta.get("history", []))
        model.n_tasks_ = 1
        return model


def _collate_codes(rows: list[tuple[Tensor, Tensor, float | None]]) -> tuple[Tensor, ...]:
    """Drug features ``(B, d)``, residue codes padded to the batch's longest ``(B, L)``, labels."""
    xd = torch.stack([r[0] for r in rows])
    codes = nn.utils.rnn.pad_sequence([r[1] for r in rows], batch_first=True)
    if rows[0][2] is None:
        return xd, codes
    return xd, codes, torch.tensor([[r[2]] for r in rows], dtype=torch.float32)


def _forward(module: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
    return module(batch[0], batch[1])


def _loss(module: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
    return nn.functional.mse_loss(module(batch[0], batch[1]), batch[2])
