"""The chemical language model as a property predictor (``name='chem-lm'``).

Built by composition, like :mod:`drugforge.molecules.models.mpnn`::

    ids (B, L) -> encoder: ChemLMModule.hidden -> (B, L, d)      the (pretrained) chem-lm
               -> pool -> (B, F)                                 mean over real tokens [; last]
               -> heads: n_heads MLPs -> (B, K, T)               one output per task per head

The encoder is a :class:`~drugforge.molecules.models.chemlm_net.ChemLMModule` loaded from a saved ``chem-lm``
generator (``pretrained``: a shipped name or a directory), or the same architecture with random
weights (``pretrained=None``, "from scratch"). ``finetune`` chooses what trains:

* ``'frozen'``: the encoder is fixed, so every molecule's vector is computed once and only the
  heads train (seconds on a thousand molecules; the variant ``--model auto`` may try).
* ``'full'``: everything trains; a pretrained encoder moves ``encoder_lr_ratio`` (0.1) times as
  fast as the heads (its own AdamW parameter group, ``fit_torch(lr_scale=...)``) so that
  fine-tuning adjusts, rather than overwrites, what pretraining learned.

Pooling (``'mean_last'`` by default): in a causal model token ``t`` sees only tokens ``<= t``, so
the mean over tokens leans on prefixes of the molecule; the state at the last real token
(``<eos>``) is the only one that has read the whole SMILES. Their concatenation keeps both
(ESOL, a random 800/328 split, frozen encoder pretrained 6,077 steps on MOSES: test RMSE 0.727
against 0.749 with the mean alone).

Regression outputs are standardized targets (masked MSE), classification outputs logits (masked
BCE); NaN labels of multi-task data do not contribute. Training is the one loop,
:func:`drugforge.core.training.loop.fit_torch`, with early stopping on ``X_val`` or a seeded hold-out.
With ``n_heads > 1`` the heads start from different weights and ``predict_dist`` returns their
spread as the raw uncertainty (calibrated on validation data by the workflows).

Molecules: SMILES are parsed with RDKit (an invalid one raises
:class:`~drugforge.core.errors.InvalidSmilesError` naming its position, as the other models do) and
written as RDKit canonical SMILES, so that one molecule always reads the same. A token outside the
vocabulary is read as ``<unk>`` (the tokenizer's documented behaviour) and a SMILES longer than the
encoder's ``max_len`` is cut to its first ``max_len`` tokens, as Transformer property models
usually do; both are counted in ``fit_info_`` rather than refusing a valid molecule.

The saved state holds the (fine-tuned) encoder weights, its vocabulary and the heads: a saved
model never needs the pretrained directory again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Literal, Self

import numpy as np
import torch
from rdkit import Chem
from torch import Tensor, nn

from drugforge.core.errors import InvalidSmilesError
from drugforge.core.training.arrays import (
    ColumnScaler,
    arrays_to_module,
    holdout_split,
    module_to_arrays,
    outputs_to_predictions,
    predict_torch,
    validation_targets,
)
from drugforge.core.training.data import ListData, TensorData
from drugforge.core.training.device import seed_everything
from drugforge.core.training.loop import TrainConfig, TrainResult, fit_torch
from drugforge.core.training.losses import masked_loss
from drugforge.molecules.chem.mol import parse_smiles
from drugforge.molecules.featurize.tokenizer import PAD_ID, UNK_ID, SmilesTokenizer
from drugforge.molecules.models.base import ModelState, MolecularPredictor, MolLike, TaskType
from drugforge.molecules.models.chemlm import ChemLM, load_chemlm
from drugforge.molecules.models.chemlm_net import ChemLMConfig, ChemLMModule, pad_batch
from drugforge.molecules.models.kernels import prepare_targets
from drugforge.molecules.models.mlp import MLP, MLPConfig

__all__ = [
    "ChemLMPredictor",
    "ChemLMPredictorConfig",
    "ChemLMPredictorNet",
    "HeadEnsemble",
    "pool_hidden",
]

PoolingKind = Literal["mean", "mean_last"]
FinetuneKind = Literal["frozen", "full"]
POOLINGS: tuple[str, ...] = ("mean", "mean_last")
FINETUNES: tuple[str, ...] = ("frozen", "full")
_FORMAT = 1


@dataclass
class ChemLMPredictorConfig:
    """Pooling and heads of :class:`ChemLMPredictorNet` (the encoder's is a ChemLMConfig)."""

    d_model: int  # encoder width
    out_dim: int  # number of tasks
    pooling: PoolingKind = "mean_last"
    n_heads: int = 5
    hidden_sizes: tuple[int, ...] = (256,)
    dropout: float = 0.1

    @property
    def feature_dim(self) -> int:
        return self.d_model * (2 if self.pooling == "mean_last" else 1)


def pool_hidden(h: Tensor, ids: Tensor, kind: PoolingKind) -> Tensor:
    """Molecule vectors from hidden states ``h`` (B, L, C) of right-padded ``ids`` (B, L).

    ``'mean'``: mean over the real tokens (``<bos>`` ... ``<eos>``), (B, C); ``'mean_last'``: that
    mean and the state of the last real token side by side, (B, 2C).
    """
    lengths = (ids != PAD_ID).sum(dim=1)  # (B,) padding only ever follows the real tokens
    mask = (ids != PAD_ID).unsqueeze(-1).to(h.dtype)  # (B, L, 1)
    mean = (h * mask).sum(dim=1) / lengths.clamp(min=1).unsqueeze(1).to(h.dtype)  # (B, C)
    if kind == "mean":
        return mean
    last = h[torch.arange(h.shape[0], device=h.device), (lengths - 1).clamp(min=0)]  # (B, C)
    return torch.cat([mean, last], dim=1)  # (B, 2C)


class HeadEnsemble(nn.Module):
    """``n_heads`` MLPs on the same molecule vector: (B, F) -> (B, K, T)."""

    def __init__(self, config: ChemLMPredictorConfig) -> None:
        super().__init__()
        self.config = config
        mlp = MLPConfig(
            in_dim=config.feature_dim,
            out_dim=config.out_dim,
            hidden_sizes=config.hidden_sizes,
            dropout=config.dropout,
        )
        self.heads = nn.ModuleList(MLP(mlp) for _ in range(config.n_heads))

    def forward(self, x: Tensor) -> Tensor:
        return torch.stack([head(x) for head in self.heads], dim=1)  # (B, K, T)


class ChemLMPredictorNet(nn.Module):
    """``heads(pool(encoder.hidden(ids)))``: ids (B, L) -> (B, K, T)."""

    def __init__(self, encoder: ChemLMModule, heads: HeadEnsemble, pooling: PoolingKind) -> None:
        super().__init__()
        self.encoder = encoder
        self.heads = heads
        self.pooling: PoolingKind = pooling

    def features(self, ids: Tensor) -> Tensor:
        """Molecule vectors (B, F) of right-padded ids (B, L)."""
        return pool_hidden(self.encoder.hidden(ids), ids, self.pooling)

    def forward(self, ids: Tensor) -> Tensor:
        return self.heads(self.features(ids))  # type: ignore[no-any-return]  # (B, K, T)


# --------------------------------------------------------------------- a slower encoder
# ------------------------------------------------------------------------------ predictor
class ChemLMPredictor(MolecularPredictor):
    """Property prediction with the (pretrained) chemical language model as the encoder.

    Parameters
    ----------
    task
        ``'regression'`` or ``'classification'`` (0/1 labels, NaN = missing).
    pretrained
        A saved ``chem-lm`` generator: a shipped name (``'chem-lm'``) or a directory written by
        ``drugforge pretrain``. ``None``: the same architecture with random weights (``size``,
        ``max_len``) and a vocabulary built from the training SMILES.
    finetune
        ``'frozen'`` (train the heads on fixed encoder vectors) or ``'full'`` (train everything).
    encoder_lr_ratio
        ``'full'`` with a pretrained encoder: its learning rate relative to ``lr``.
    size, max_len
        Architecture (a :data:`~drugforge.molecules.models.chemlm_net.SIZES` preset) and positions of the
        from-scratch encoder; ignored with ``pretrained``.
    pooling
        ``'mean_last'`` (mean over tokens and the last token's state) or ``'mean'``.
    hidden_sizes, dropout, n_heads
        Each head's hidden layers and dropout; the number of heads (their spread is the
        uncertainty; 1 gives none).
    lr, weight_decay, batch_size, max_epochs, patience
        Training (AdamW, warmup + cosine learning rate, early stopping on the validation loss).
    val_fraction
        Share of the training molecules held out (seeded) for early stopping when ``fit`` gets no
        ``X_val``; 0 trains for ``max_epochs`` without early stopping.
    seed
        Seeds the from-scratch encoder, the heads, dropout, batch order and the hold-out split.
    device
        ``'cpu'``, ``'cuda'`` or ``'auto'``.
    quiet
        No progress bar while training.
    """

    name: ClassVar[str] = "chem-lm"
    native_uncertainty: ClassVar[bool] = True  # the heads' spread (None when n_heads == 1)

    def __init__(
        self,
        task: TaskType = "regression",
        pretrained: str | None = "chem-lm",
        finetune: FinetuneKind = "frozen",
        encoder_lr_ratio: float = 0.1,
        size: str = "small",
        max_len: int = 128,
        pooling: PoolingKind = "mean_last",
        hidden_sizes: Sequence[int] = (256,),
        dropout: float = 0.1,
        n_heads: int = 5,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 32,
        max_epochs: int = 60,
        patience: int = 10,
        val_fraction: float = 0.1,
        seed: int = 0,
        device: Literal["cpu", "cuda", "auto"] = "cpu",
        quiet: bool = True,
    ) -> None:
        self.task = task
        self.pretrained = pretrained
        self.finetune = finetune
        self.encoder_lr_ratio = encoder_lr_ratio
        self.size = size
        self.max_len = max_len
        self.pooling = pooling
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.n_heads = n_heads
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.val_fraction = val_fraction
        self.seed = seed
        self.device = device
        self.quiet = quiet

    # ------------------------------------------------------------------------------ fitting
    def _check_params(self) -> None:
        if self.finetune not in FINETUNES:
            raise ValueError(f"unknown finetune {self.finetune!r}; choose from: frozen, full")
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; choose from: mean, mean_last")
        if int(self.n_heads) < 1:
            raise ValueError(f"n_heads must be >= 1, got {self.n_heads}")
        if not 0 < float(self.encoder_lr_ratio) <= 1:
            raise ValueError(f"encoder_lr_ratio must be in (0, 1], got {self.encoder_lr_ratio}")

    def _encoder(self, smiles: list[str]) -> tuple[SmilesTokenizer, ChemLMModule, dict[str, Any]]:
        """The starting encoder: loaded (``pretrained``) or fresh, seeded (from scratch)."""
        if self.pretrained is not None:
            lm = load_chemlm(str(self.pretrained), option="--pretrained")
            lm.module.cpu()
            steps = lm.training.get("steps")
            info = {"pretrained": str(self.pretrained), "pretrained_steps": steps}
            return lm.tokenizer, lm.module, info
        tokenizer = SmilesTokenizer.build(smiles)
        lm = ChemLM.create(tokenizer, str(self.size), max_len=int(self.max_len), seed=self.seed)
        return tokenizer, lm.module.cpu(), {"pretrained": None}

    def fit(
        self,
        X: Sequence[MolLike],
        y: Any,
        X_val: Sequence[MolLike] | None = None,
        y_val: Any = None,
    ) -> Self:
        """Train; ``X_val``/``y_val`` (or a seeded hold-out of ``X``) decide early stopping."""
        self._check_params()
        config = TrainConfig.from_params(self.get_params())  # checked before loading anything
        smiles = _canonical(X)
        Y = prepare_targets(y, self.task, n=len(smiles))  # (n, t)
        if X_val is not None:
            smiles_val = _canonical(X_val)
            Y_val = validation_targets(y_val, n=len(smiles_val), n_tasks=Y.shape[1])
        else:
            train_idx, val_idx = holdout_split(len(smiles), self.val_fraction, self.seed)
            smiles_val, Y_val = [smiles[i] for i in val_idx], Y[val_idx]
            smiles, Y = [smiles[i] for i in train_idx], Y[train_idx]

        tokenizer, encoder, info = self._encoder(smiles)
        ids, counts = _encode(tokenizer, encoder.config.max_len, smiles)
        ids_val, _ = _encode(tokenizer, encoder.config.max_len, smiles_val)
        n_tasks = Y.shape[1]
        scaler = (
            ColumnScaler.fit(Y) if self.task == "regression" else ColumnScaler.identity(n_tasks)
        )
        arch = ChemLMPredictorConfig(
            d_model=encoder.config.d_model,
            out_dim=n_tasks,
            pooling=self.pooling,
            n_heads=int(self.n_heads),
            hidden_sizes=tuple(int(h) for h in self.hidden_sizes),
            dropout=float(self.dropout),
        )
        seed_everything(self.seed)  # identical heads for identical seeds
        net = ChemLMPredictorNet(encoder, HeadEnsemble(arch), arch.pooling)
        loss = masked_loss(self.task)
        K = arch.n_heads

        def heads_loss(out: Tensor, target: Tensor) -> Tensor:
            # out (B, K, T), target (B, T): every head is scored on the same labels
            return loss(out.flatten(0, 1), target.repeat_interleave(K, dim=0))

        def targets(Y_: np.ndarray) -> Tensor:
            return torch.from_numpy(scaler.transform(Y_).astype(np.float32))  # (n, t)

        if self.finetune == "frozen":
            # the encoder never changes: its vectors are computed once, only the heads train
            key = (encoder_digest(encoder), str(self.pooling))
            feats = _cached_features(net, key, smiles, ids, config.device)  # (n, F)
            feats_val = (_cached_features(net, key, smiles_val, ids_val, config.device)
                         if ids_val else None)  # fmt: skip
            self.feature_key_ = key

            def frozen_loss(m: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
                x, target = batch  # (B, F), (B, t)
                return heads_loss(m(x), target)

            result = fit_torch(
                net.heads,
                TensorData(torch.from_numpy(feats), targets(Y)),
                None if feats_val is None else TensorData(torch.from_numpy(feats_val),
                                                          targets(Y_val)),
                frozen_loss,
                config,
            )  # fmt: skip
        else:

            def full_loss(m: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
                tokens, target = batch  # (B, L), (B, t)
                return heads_loss(m(tokens), target)

            def as_data(ids_: list[list[int]], Y_: np.ndarray) -> ListData[Any]:
                rows = list(zip(ids_, targets(Y_), strict=True))
                return ListData(rows, _collate_labelled)

            ratio = float(self.encoder_lr_ratio) if self.pretrained is not None else 1.0
            result = fit_torch(
                net, as_data(ids, Y), as_data(ids_val, Y_val) if ids_val else None,
                full_loss, config, lr_scale={"encoder": ratio} if ratio != 1.0 else None,
            )  # fmt: skip
        net.eval()
        self.tokenizer_ = tokenizer
        self.net_ = net
        self.config_ = arch
        self.scaler_ = scaler
        self.n_tasks_ = n_tasks
        self.fit_info_: dict[str, Any] = {**info, **counts, "n_train": len(ids)}
        self.train_result_: TrainResult | None = result
        return self

    # --------------------------------------------------------------------------- prediction
    def predict_dist(self, X: Sequence[MolLike]) -> tuple[np.ndarray, np.ndarray | None]:
        smiles = _canonical(X)
        if not smiles:
            return np.zeros((0, self.n_tasks_)), None
        ids, _ = _encode(self.tokenizer_, self.net_.encoder.config.max_len, smiles)
        if self.finetune == "frozen":  # the encoder is the pretrained one: reuse its vectors
            key = getattr(self, "feature_key_", None)
            if key is None:
                key = self.feature_key_ = (encoder_digest(self.net_.encoder), str(self.pooling))
            feats = _cached_features(self.net_, key, smiles, ids, self.device)  # (n, F)
            with torch.no_grad():
                out = self.net_.heads(torch.from_numpy(feats)).numpy()  # (n, K, T)
        else:
            out = _run(self.net_, ids, _outputs, self.device)  # (n, K, T)
        per_head = np.stack(
            [outputs_to_predictions(out[:, k], self.task, self.scaler_) for k in range(out.shape[1])]
        )  # (K, n, T)
        std = per_head.std(axis=0) if len(per_head) > 1 else None
        return per_head.mean(axis=0), std

    # -------------------------------------------------------------------------------- state
    def get_state(self) -> ModelState:
        arrays = {
            **module_to_arrays(self.net_, prefix="net."),
            **self.scaler_.to_arrays(prefix="y_"),
        }
        result = self.train_result_
        meta = {
            "format": _FORMAT,
            "params": self.get_params(),  # tuples become lists in JSON; from_state undoes that
            "encoder": asdict(self.net_.encoder.config),
            "tokens": list(self.tokenizer_.tokens),
            "architecture": asdict(self.config_),
            "n_tasks": self.n_tasks_,
            "fit_info": self.fit_info_,
            "best_epoch": result.best_epoch if result else None,
            "epochs_run": len(result.history) if result else None,
        }
        return ModelState(arrays=arrays, meta=meta)

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        meta = state.meta
        if int(meta.get("format", 0)) != _FORMAT:
            raise ValueError(f"unsupported chem-lm predictor state format {meta.get('format')!r}")
        params = dict(meta["params"])
        params["hidden_sizes"] = tuple(params["hidden_sizes"])
        model = cls(**params)
        names = {f.name for f in fields(ChemLMConfig)}
        encoder = ChemLMModule(ChemLMConfig(**{k: v for k, v in meta["encoder"].items()
                                               if k in names}))  # fmt: skip
        arch = dict(meta["architecture"])
        arch["hidden_sizes"] = tuple(arch["hidden_sizes"])
        config = ChemLMPredictorConfig(**arch)
        net = ChemLMPredictorNet(encoder, HeadEnsemble(config), config.pooling)
        arrays_to_module(net, state.arrays, prefix="net.").eval()
        model.tokenizer_ = SmilesTokenizer(tuple(meta["tokens"]))
        if len(model.tokenizer_) != encoder.config.vocab_size:
            raise ValueError("the saved vocabulary does not match the encoder's embedding size")
        model.net_ = net
        model.config_ = config
        model.scaler_ = ColumnScaler.from_arrays(state.arrays, prefix="y_")
        model.n_tasks_ = int(meta["n_tasks"])
        model.fit_info_ = dict(meta.get("fit_info") or {})
        model.train_result_ = None
        return model


# --------------------------------------------------------------------------------- helpers
def _canonical(X: Sequence[MolLike]) -> list[str]:
    """RDKit canonical SMILES of each molecule; an invalid one raises naming its position."""
    if isinstance(X, str):
        raise TypeError("X must be a sequence of SMILES or Mols, not a single string")
    out: list[str] = []
    for pos, item in enumerate(X, start=1):
        mol = item if isinstance(item, Chem.Mol) else parse_smiles(item)
        if mol is None or mol.GetNumAtoms() == 0:
            what = f"SMILES {item!r}" if isinstance(item, str) else "an empty molecule"
            raise InvalidSmilesError(f"invalid {what} at position {pos}")
        out.append(Chem.MolToSmiles(mol))
    return out


def _encode(
    tokenizer: SmilesTokenizer, max_len: int, smiles: list[str]
) -> tuple[list[list[int]], dict[str, int]]:
    """Ids ``<bos> ... <eos>`` per SMILES, cut to ``max_len``; counts of unknown and cut ones."""
    ids: list[list[int]] = []
    unknown = cut = 0
    for s in smiles:
        seq = tokenizer.encode(s)
        unknown += UNK_ID in seq
        if len(seq) > max_len:
            seq, cut = seq[:max_len], cut + 1
        ids.append(seq)
    return ids, {"n_unknown_token": unknown, "n_truncated": cut}


def _collate_ids(items: list[list[int]]) -> Tensor:
    return torch.from_numpy(pad_batch(items))  # (B, L)


def _collate_labelled(items: list[tuple[list[int], Tensor]]) -> tuple[Tensor, Tensor]:
    ids = torch.from_numpy(pad_batch([i for i, _ in items]))  # (B, L)
    return ids, torch.stack([t for _, t in items])  # (B, L), (B, t)


def _features(net: nn.Module, ids: Tensor) -> Tensor:
    assert isinstance(net, ChemLMPredictorNet)
    return net.features(ids)  # (B, F)


def _outputs(net: nn.Module, ids: Tensor) -> Tensor:
    return net(ids)  # type: ignore[no-any-return]  # (B, K, T)


#: molecule vectors of frozen encoders, keyed by (encoder weights digest, pooling), then by
#: canonical SMILES: cross-validation (``auto``) refits the heads on every fold while the frozen
#: encoder's vectors stay the same, so each molecule is encoded once per process
_FEATURE_CACHE: dict[tuple[str, str], dict[str, np.ndarray]] = {}
_CACHE_MAX_MOLECULES = 200_000  # per encoder (~1 KB each for the small model)
_CACHE_MAX_ENCODERS = 4


def encoder_digest(encoder: nn.Module) -> str:
    """SHA-256 of an encoder's weights (names, shapes and bytes), in a fixed order."""
    h = hashlib.sha256()
    for name, tensor in sorted(encoder.state_dict().items()):
        h.update(name.encode())
        h.update(str(tuple(tensor.shape)).encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _cached_features(
    net: ChemLMPredictorNet, key: tuple[str, str], smiles: list[str], ids: list[list[int]],
    device: str,
) -> np.ndarray:
    """The frozen encoder's vectors (n, F) of ``smiles`` (encoded as ``ids``), memoized."""
    memo = _FEATURE_CACHE.get(key)
    if memo is None:
        while len(_FEATURE_CACHE) >= _CACHE_MAX_ENCODERS:
            _FEATURE_CACHE.pop(next(iter(_FEATURE_CACHE)))
        memo = _FEATURE_CACHE[key] = {}
    todo: dict[str, int] = {}  # SMILES not cached yet -> its first position
    for i, smi in enumerate(smiles):
        if smi not in memo:
            todo.setdefault(smi, i)
    found = {smi: memo[smi] for smi in set(smiles) if smi in memo}
    if todo:
        rows = _run(net, [ids[i] for i in todo.values()], _features, device)  # (m, F)
        new = dict(zip(todo, rows, strict=True))
        found.update(new)
        if len(memo) + len(new) > _CACHE_MAX_MOLECULES:
            memo.clear()
        if len(new) <= _CACHE_MAX_MOLECULES:
            memo.update(new)
    return np.stack([found[smi] for smi in smiles]).astype(np.float32)


def _run(
    net: ChemLMPredictorNet,
    ids: list[list[int]],
    forward: Callable[[nn.Module, Tensor], Tensor],
    device: str,
) -> np.ndarray:
    """``forward`` over every sequence in eval mode, in the order of ``ids``, float32.

    Batches hold sequences of similar length (less padding; causal attention means padding
    never changes a real token's state), and the rows are put back in input order.
    """
    order = np.argsort([len(i) for i in ids], kind="stable")
    data = ListData([ids[i] for i in order], _collate_ids)
    out = predict_torch(net, data, forward, batch_size=128, device=device)  # (n, ...)
    result = np.empty_like(out, dtype=np.float32)
    result[order] = out
    return result
