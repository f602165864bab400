"""Directed message-passing neural network (``name='mpnn'``), chemprop v2 style.

Built by composition, as chemprop v2's ``MPNN(message_passing, agg, predictor)``:

1. :class:`BondMessagePassing` - hidden states live on *directed bonds*. For bond ``v -> w``::

       h0_vw  = W_i [x_v ; e_vw]                                  (M, d_h)
       m_vw   = sum_{k -> v} h_kv  -  h_wv                        (incoming to v, minus reverse)
       h_vw   = relu(h0_vw + W_h m_vw)                            depth - 1 times
       h_v    = relu(W_o [x_v ; sum_{k -> v} h_kv])               (N, d_h) atom embeddings

   Every step is a gather (``H[rev_edge]``, ``M[src]``) or a scatter-add (``index_add`` over
   target atoms): no Python loop over atoms or molecules.
2. :class:`Aggregation` - atom embeddings -> one vector per molecule (mean, sum, or sum / 100).
3. A predictor head: :class:`~drugforge.molecules.models.mlp.MLP` on the molecule vector (optionally with
   molecule-level descriptors such as ``rdkit2d`` appended), one output per task.

:class:`DMPNN` wraps it in the scikit-learn predictor contract: masked multi-task loss, target
standardization, early stopping through :func:`drugforge.core.training.loop.fit_torch`.
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
from drugforge.core.training.device import seed_everything
from drugforge.core.training.loop import TrainConfig, TrainResult, fit_torch
from drugforge.core.training.losses import masked_loss
from drugforge.molecules.featurize import Featurizer, get_featurizer
from drugforge.molecules.featurize.graph import (
    ATOM_DIM,
    BOND_DIM,
    BatchMolGraph,
    MolGraph,
    batch_graphs,
    mols_to_graphs,
)
from drugforge.molecules.models.base import ModelState, MolecularPredictor, MolLike, TaskType
from drugforge.molecules.models.kernels import (
    featurize_X,
    featurizers_from_meta,
    featurizers_to_meta,
    prepare_targets,
)
from drugforge.molecules.models.mlp import MLP, MLPConfig

__all__ = [
    "DMPNN",
    "MPNN",
    "Aggregation",
    "BondMessagePassing",
    "MPNNConfig",
    "build_mpnn",
]

AggregationKind = Literal["mean", "sum", "norm"]
_FORMAT = 1


@dataclass
class MPNNConfig:
    """Architecture of :class:`MPNN` (chemprop v2 defaults: d_h 300, depth 3, FFN 300)."""

    out_dim: int  # number of tasks
    atom_dim: int = ATOM_DIM
    bond_dim: int = BOND_DIM
    hidden: int = 300  # d_h, width of bond messages and atom embeddings
    depth: int = 3  # message-passing steps
    dropout: float = 0.0
    aggregation: AggregationKind = "mean"
    extra_dim: int = 0  # molecule-level descriptors appended to the aggregated vector
    ffn_hidden: int = 300
    ffn_layers: int = 1  # hidden layers of the predictor head


class BondMessagePassing(nn.Module):
    """D-MPNN message passing on directed bonds; returns atom embeddings ``(N, hidden)``."""

    def __init__(
        self, atom_dim: int, bond_dim: int, hidden: int = 300, depth: int = 3, dropout: float = 0.0
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.depth = depth
        self.W_i = nn.Linear(atom_dim + bond_dim, hidden, bias=False)
        self.W_h = nn.Linear(hidden, hidden, bias=False)
        self.W_o = nn.Linear(atom_dim + hidden, hidden)
        self.act = nn.ReLU()
        self.dropout = nn.Dropout(dropout)

    @staticmethod
    def _incoming(H: Tensor, dst: Tensor, n_atoms: int) -> Tensor:
        # H: (M, d_h) bond states -> (N, d_h) sum of the states of the bonds pointing at each atom
        return H.new_zeros(n_atoms, H.shape[1]).index_add(0, dst, H)

    def forward(self, bmg: BatchMolGraph) -> Tensor:
        src, dst = bmg.edge_index  # (M,), (M,)
        n_atoms = bmg.V.shape[0]
        H0 = self.W_i(torch.cat([bmg.V[src], bmg.E], dim=1))  # (M, d_h)
        H = self.act(H0)
        for _ in range(self.depth - 1):
            # message into v -> w: everything arriving at v except what came back from w
            M = self._incoming(H, dst, n_atoms)[src] - H[bmg.rev_edge]  # (M, d_h)
            H = self.dropout(self.act(H0 + self.W_h(M)))  # (M, d_h)
        M_atom = self._incoming(H, dst, n_atoms)  # (N, d_h); zero for atoms without bonds
        return self.dropout(self.act(self.W_o(torch.cat([bmg.V, M_atom], dim=1))))  # (N, d_h)


class Aggregation(nn.Module):
    """Atom embeddings -> molecule vectors: ``mean``, ``sum`` or ``norm`` (sum / 100)."""

    NORM: ClassVar[float] = 100.0

    def __init__(self, kind: AggregationKind = "mean") -> None:
        super().__init__()
        if kind not in ("mean", "sum", "norm"):
            raise ValueError(f"unknown aggregation {kind!r}; choose from: mean, norm, sum")
        self.kind = kind

    def forward(self, H: Tensor, batch: Tensor, n_graphs: int) -> Tensor:
        # H: (N, d), batch: (N,) molecule index of each atom -> (B, d)
        summed = H.new_zeros(n_graphs, H.shape[1]).index_add(0, batch, H)
        if self.kind == "sum":
            return summed
        if self.kind == "norm":
            return summed / self.NORM
        counts = torch.bincount(batch, minlength=n_graphs).clamp(min=1)  # (B,)
        return summed / counts.unsqueeze(1).to(H.dtype)


class MPNN(nn.Module):
    """``predictor(agg(message_passing(graph)) [; extra descriptors])``."""

    def __init__(
        self, message_passing: BondMessagePassing, agg: Aggregation, predictor: nn.Module
    ) -> None:
        super().__init__()
        self.message_passing = message_passing
        self.agg = agg
        self.predictor = predictor

    def fingerprint(self, bmg: BatchMolGraph, X_d: Tensor | None = None) -> Tensor:
        """Learned molecule vectors ``(B, hidden [+ extra_dim])``."""
        H = self.message_passing(bmg)  # (N, d_h)
        Z = self.agg(H, bmg.batch, bmg.n_graphs)  # (B, d_h)
        return Z if X_d is None else torch.cat([Z, X_d], dim=1)  # (B, d_h + d_extra)

    def forward(self, bmg: BatchMolGraph, X_d: Tensor | None = None) -> Tensor:
        return self.predictor(self.fingerprint(bmg, X_d))  # type: ignore[no-any-return]  # (B, T)


def build_mpnn(config: MPNNConfig) -> MPNN:
    """Compose an :class:`MPNN` from its config."""
    return MPNN(
        BondMessagePassing(
            config.atom_dim, config.bond_dim, config.hidden, config.depth, config.dropout
        ),
        Aggregation(config.aggregation),
        MLP(
            MLPConfig(
                in_dim=config.hidden + config.extra_dim,
                out_dim=config.out_dim,
                hidden_sizes=(config.ffn_hidden,) * config.ffn_layers,
                dropout=config.dropout,
            )
        ),
    )


# ------------------------------------------------------------------------ data for the loop
GraphBatch = tuple[BatchMolGraph, Tensor | None, Tensor | None]


class _GraphData:
    """Molecule graphs with optional descriptors and targets, batched by index for fit_torch."""

    def __init__(self, graphs: list[MolGraph], X_d: Tensor | None, Y: Tensor | None) -> None:
        self.graphs, self.X_d, self.Y = graphs, X_d, Y

    def __len__(self) -> int:
        return len(self.graphs)

    def batch(self, idx: np.ndarray) -> GraphBatch:
        index = torch.as_tensor(idx, dtype=torch.long)
        return (
            batch_graphs([self.graphs[int(i)] for i in idx]),
            None if self.X_d is None else self.X_d[index],  # (B, d_extra)
            None if self.Y is None else self.Y[index],  # (B, T)
        )


def _forward(module: nn.Module, batch: GraphBatch) -> Tensor:
    bmg, X_d, _ = batch
    return module(bmg, X_d)  # type: ignore[no-any-return]


def _f32(a: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def _graph_data(
    X: list[MolLike],
    graphs: list[MolGraph],
    extra: list[Featurizer],
    extra_scaler: ColumnScaler,
    Y: np.ndarray | None,
    n_jobs: int,
) -> _GraphData:
    """Batchable data: graphs, standardized extra descriptors (if any) and targets (if given)."""
    X_d = extra_scaler.transform(featurize_X(extra, X, n_jobs=n_jobs)) if extra else None
    return _GraphData(graphs, None if X_d is None else _f32(X_d), None if Y is None else _f32(Y))


# ------------------------------------------------------------------------------- predictor
class DMPNN(MolecularPredictor):
    """Directed message-passing neural network on molecular graphs (multi-task).

    Parameters
    ----------
    task
        ``'regression'`` or ``'classification'`` (0/1 labels, NaN = missing).
    hidden, depth, dropout, aggregation
        Message passing: width, steps, dropout, and ``'mean'``/``'sum'``/``'norm'`` pooling.
    ffn_hidden, ffn_layers
        Predictor head: width and number of hidden layers.
    extra_features
        A registered featurizer (e.g. ``'rdkit2d'``) whose standardized values are appended to
        the learned molecule vector; ``None`` (default) for none.
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
        Processes for computing ``extra_features`` on large inputs.
    quiet
        No progress bar while training.
    class_weight
        ``'balanced'``: each task's positive labels weigh ``n_neg / n_pos`` (that task's
        labelled training rows) in the cross-entropy; ``None`` (default): every label alike.
        Classification only (ignored for regression).
    """

    name: ClassVar[str] = "mpnn"
    native_uncertainty: ClassVar[bool] = False

    def __init__(
        self,
        task: TaskType = "regression",
        hidden: int = 300,
        depth: int = 3,
        dropout: float = 0.0,
        aggregation: AggregationKind = "mean",
        ffn_hidden: int = 300,
        ffn_layers: int = 1,
        extra_features: str | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 64,
        max_epochs: int = 100,
        patience: int = 15,
        val_fraction: float = 0.1,
        seed: int = 0,
        device: Literal["cpu", "cuda", "auto"] = "cpu",
        n_jobs: int = 1,
        quiet: bool = True,
        class_weight: ClassWeight = None,
    ) -> None:
        self.task = task
        self.hidden = hidden
        self.depth = depth
        self.dropout = dropout
        self.aggregation = aggregation
        self.ffn_hidden = ffn_hidden
        self.ffn_layers = ffn_layers
        self.extra_features = extra_features
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
    def fit(
        self,
        X: Sequence[MolLike],
        y: Any,
        X_val: Sequence[MolLike] | None = None,
        y_val: Any = None,
    ) -> Self:
        """Train; ``X_val``/``y_val`` (or a seeded hold-out of ``X``) decide early stopping."""
        config = TrainConfig.from_params(self.get_params())  # checked before featurizing
        if isinstance(X, str):
            raise TypeError("X must be a sequence of SMILES or Mols, not a single string")
        X = list(X)
        graphs = mols_to_graphs(X)
        Y = prepare_targets(y, self.task, n=len(graphs))  # (n, t)
        if X_val is not None:
            X_val = list(X_val)
            graphs_val = mols_to_graphs(X_val)
            Y_val = validation_targets(y_val, n=len(graphs_val), n_tasks=Y.shape[1])
        else:
            train_idx, val_idx = holdout_split(len(graphs), self.val_fraction, self.seed)
            X_val = [X[i] for i in val_idx]
            graphs_val, Y_val = [graphs[i] for i in val_idx], Y[val_idx]
            X, graphs, Y = [X[i] for i in train_idx], [graphs[i] for i in train_idx], Y[train_idx]

        n_tasks = Y.shape[1]
        extra = [get_featurizer(self.extra_features)] if self.extra_features else []
        extra_scaler = (
            ColumnScaler.fit(featurize_X(extra, X, n_jobs=self.n_jobs))
            if extra
            else ColumnScaler.identity(0)
        )
        scaler = (
            ColumnScaler.fit(Y) if self.task == "regression" else ColumnScaler.identity(n_tasks)
        )

        arch = MPNNConfig(
            out_dim=n_tasks,
            hidden=int(self.hidden),
            depth=int(self.depth),
            dropout=float(self.dropout),
            aggregation=self.aggregation,
            extra_dim=sum(len(f) for f in extra),
            ffn_hidden=int(self.ffn_hidden),
            ffn_layers=int(self.ffn_layers),
        )
        seed_everything(self.seed)  # identical initial weights for identical seeds
        module = build_mpnn(arch)
        loss = masked_loss(self.task, self._pos_weight(Y))

        def loss_fn(m: nn.Module, batch: GraphBatch) -> Tensor:
            bmg, X_d, target = batch  # target: (B, t) standardized, NaN = missing
            assert target is not None  # training data always carries targets
            return loss(m(bmg, X_d), target)

        def as_data(X_: list[MolLike], graphs_: list[MolGraph], Y_: np.ndarray) -> _GraphData:
            return _graph_data(X_, graphs_, extra, extra_scaler, scaler.transform(Y_), self.n_jobs)

        result = fit_torch(
            module,
            as_data(X, graphs, Y),
            as_data(X_val, graphs_val, Y_val) if len(graphs_val) else None,
            loss_fn,
            config,
        )
        self.module_ = module
        self.config_ = arch
        self.extra_featurizers_ = extra
        self.extra_scaler_ = extra_scaler
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
        if isinstance(X, str):
            raise TypeError("X must be a sequence of SMILES or Mols, not a single string")
        X = list(X)
        if len(X) == 0:
            return np.zeros((0, self.n_tasks_)), None
        data = _graph_data(
            X, mols_to_graphs(X), self.extra_featurizers_, self.extra_scaler_, None, self.n_jobs
        )
        out = predict_torch(self.module_, data, _forward, device=self.device)  # (n, t)
        return outputs_to_predictions(out, self.task, self.scaler_), None

    # -------------------------------------------------------------------------------- state
    def get_state(self) -> ModelState:
        arrays = {
            **module_to_arrays(self.module_, prefix="module."),
            **self.scaler_.to_arrays(prefix="y_"),
        }
        arrays.update(self.extra_scaler_.to_arrays(prefix="extra_"))
        result = self.train_result_
        meta = {
            "format": _FORMAT,
            "params": self.get_params(),
            "architecture": asdict(self.config_),
            "extra_featurizers": featurizers_to_meta(self.extra_featurizers_),
            "n_tasks": self.n_tasks_,
            "best_epoch": result.best_epoch if result else None,
            "epochs_run": len(result.history) if result else None,
        }
        return ModelState(arrays=arrays, meta=meta)

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        meta = state.meta
        if int(meta.get("format", 0)) != _FORMAT:
            raise ValueError(f"unsupported mpnn state format {meta.get('format')!r}")
        config = MPNNConfig(**meta["architecture"])
        if (config.atom_dim, config.bond_dim) != (ATOM_DIM, BOND_DIM):
            raise ValueError(
                f"the model was fitted with atom/bond features of size "
                f"{config.atom_dim}/{config.bond_dim}, this drugforge makes {ATOM_DIM}/{BOND_DIM}"
            )
        model = cls(**meta["params"])
        module = build_mpnn(config)
        arrays_to_module(module, state.arrays, prefix="module.").eval()
        model.module_ = module
        model.config_ = config
        model.extra_featurizers_ = featurizers_from_meta(meta["extra_featurizers"])
        model.extra_scaler_ = ColumnScaler.from_arrays(state.arrays, prefix="extra_")
        model.scaler_ = ColumnScaler.from_arrays(state.arrays, prefix="y_")
        model.n_tasks_ = int(meta["n_tasks"])
        model.train_result_ = None
        return model
