"""SMILES variational autoencoder (``kind='smiles-vae'``), in the style of the MOSES VAE.

After Polykovskiy et al. 2020 (MOSES, ``moses/vae/model.py``) and Gomez-Bombarelli et al. 2018:
a recurrent encoder reads the SMILES tokens into a Gaussian posterior ``q(z | x)``, a recurrent
decoder writes the tokens back, conditioned on ``z`` at every step. Shapes (``B`` molecules,
``L`` tokens with ``<bos>``/``<eos>``, ``V`` vocabulary, ``E`` embedding, ``Z`` latent)::

    ids (B, L) -> embedding (B, L, E) -> bidirectional GRU -> last layer, both directions
               -> h (B, 2 * encoder_hidden) -> mu, logvar (B, Z)
    z = mu + exp(logvar / 2) * eps                                   (reparameterization)
    z -> h0 (decoder_layers, B, decoder_hidden)                      (one linear map)
    [embedding(ids[:, :-1]) ; z] (B, L-1, E+Z) -> GRU decoder -> logits (B, L-1, V)

The loss per molecule is the negative ELBO with a weighted KL term (a beta-VAE)::

    recon = sum over tokens of the cross-entropy of ids[:, 1:]       (nats per molecule)
    kl    = KL(q(z|x) || N(0, I)) = 0.5 * sum(exp(logvar) + mu^2 - 1 - logvar)
    loss  = recon + beta * kl

``beta`` rises linearly from ``kl_weight_start`` to ``kl_weight`` over the first
``kl_anneal_fraction`` of the optimizer steps (KL annealing, Bowman et al. 2016) through a
:class:`~drugforge.core.training.hooks.TrainHooks` of the one training loop; the validation loss always
uses the final ``kl_weight`` so that early stopping compares like with like. MOSES takes the
cross-entropy per *token* with a KL weight of 0.05, i.e. about 0.05 x 35 tokens = 1.7 per
molecule; here both terms are per molecule. The default ``kl_weight`` is 0.5, below 1, because
a strong autoregressive decoder learns to ignore ``z`` (posterior collapse) and the latent space
is what interpolation, ``sample_near`` and the latent GAN use: in a one-epoch probe on 20,000
MOSES molecules (default size) the validation KL fell to 0.17 nats at 1.0 and stayed at 1.1
(0.5) and 3.4 (0.25). A short probe, not a tuned value.

Generation: :meth:`SmilesVAE.sample` draws ``z ~ N(0, I)`` and decodes; :meth:`~SmilesVAE.decode`
is greedy at ``temperature=0`` and samples otherwise, from a seeded ``torch.Generator`` so the
same seed gives the same strings. The decoded strings are returned raw: some may be invalid.
"""

from __future__ import annotations

import hashlib
import math
import time
from array import array
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal, Self

import numpy as np
import torch
import torch.nn.functional as F
from rdkit import Chem
from sklearn.base import BaseEstimator
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from drugforge.molecules.chem import parse_smiles
from drugforge.core.errors import InputError, InvalidSmilesError
from drugforge.molecules.featurize.tokenizer import SmilesTokenizer, tokenize_smiles
from drugforge.molecules.models.base import ModelState
from drugforge.core.training.arrays import arrays_to_module, holdout_split, module_to_arrays
from drugforge.core.training.device import resolve_device, seed_everything
from drugforge.core.training.hooks import TrainHooks
from drugforge.core.training.loop import TrainConfig, TrainResult, fit_torch

__all__ = [
    "KLAnnealing",
    "PreparedSmiles",
    "SmilesVAE",
    "SmilesVAEConfig",
    "SmilesVAEModule",
    "StepCounter",
    "TokenData",
    "decode_latents",
    "finite_or_none",
    "join_history",
    "prepare_smiles",
]

_FORMAT = 1
_PAD, _BOS, _EOS = 0, 1, 2  # SmilesTokenizer's fixed ids


@dataclass
class SmilesVAEConfig:
    """Architecture of :class:`SmilesVAEModule`.

    The defaults (~1.0 M parameters) are sized for CPU training: on one torch thread of the
    2-core development machine, loaded by other jobs (load average 5-10), they trained
    110-140 molecules/s (1.2-1.5 M molecules, about one MOSES epoch, in 3 hours) and sampled
    370-525 per second (``benchmarks/generators_speed.py``). The MOSES VAE's own size
    (decoder 3 x 512) trained 25-38 molecules/s there, 12+ hours per MOSES epoch: a GPU size.
    """

    vocab_size: int  # tokens including the four specials
    embedding_dim: int = 32
    encoder_hidden: int = 128  # per direction
    encoder_layers: int = 1
    bidirectional: bool = True
    latent_dim: int = 128
    decoder_hidden: int = 256
    decoder_layers: int = 2
    dropout: float = 0.0  # between stacked GRU layers
    max_length: int = 100  # most tokens a decoded string may have (<bos>/<eos> excluded)

    def __post_init__(self) -> None:
        for name in ("vocab_size", "embedding_dim", "encoder_hidden", "encoder_layers",
                     "latent_dim", "decoder_hidden", "decoder_layers", "max_length"):  # fmt: skip
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


class SmilesVAEModule(nn.Module):
    """GRU encoder -> (mu, logvar) -> z -> GRU decoder fed ``[token ; z]`` at every step."""

    def __init__(self, config: SmilesVAEConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embedding_dim, padding_idx=_PAD)
        self.encoder = nn.GRU(
            c.embedding_dim,
            c.encoder_hidden,
            num_layers=c.encoder_layers,
            batch_first=True,
            bidirectional=c.bidirectional,
            dropout=c.dropout if c.encoder_layers > 1 else 0.0,
        )
        directions = 2 if c.bidirectional else 1
        self.to_mu = nn.Linear(directions * c.encoder_hidden, c.latent_dim)
        self.to_logvar = nn.Linear(directions * c.encoder_hidden, c.latent_dim)
        self.latent_to_hidden = nn.Linear(c.latent_dim, c.decoder_layers * c.decoder_hidden)
        self.decoder = nn.GRU(
            c.embedding_dim + c.latent_dim,
            c.decoder_hidden,
            num_layers=c.decoder_layers,
            batch_first=True,
            dropout=c.dropout if c.decoder_layers > 1 else 0.0,
        )
        self.output = nn.Linear(c.decoder_hidden, c.vocab_size)

    def encode(self, ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """ids (B, L) right-padded, lengths (B,) -> mu, logvar (B, Z)."""
        c = self.config
        x = self.embedding(ids)  # (B, L, E)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, h = self.encoder(packed)  # (layers * directions, B, H_enc)
        directions = 2 if c.bidirectional else 1
        h = h.view(c.encoder_layers, directions, ids.shape[0], c.encoder_hidden)[-1]
        h = h.transpose(0, 1).reshape(ids.shape[0], directions * c.encoder_hidden)  # (B, 2H_enc)
        return self.to_mu(h), self.to_logvar(h)

    def initial_hidden(self, z: Tensor) -> Tensor:
        """z (B, Z) -> the decoder's first hidden state (decoder_layers, B, decoder_hidden)."""
        c = self.config
        h = self.latent_to_hidden(z).view(z.shape[0], c.decoder_layers, c.decoder_hidden)
        return h.transpose(0, 1).contiguous()

    def decode_logits(self, z: Tensor, ids: Tensor) -> Tensor:
        """Teacher forcing: z (B, Z), ids (B, L) -> logits (B, L-1, V) predicting ids[:, 1:].

        The padded batch goes through the GRU unpacked: the decoder reads left to right, so the
        padding after a molecule's last token cannot change its outputs, and the loss ignores
        the padded positions. On CPU this is ~20 % faster than a packed sequence (the GRU
        computes every step's input projection in one matrix product).
        """
        inputs = ids[:, :-1]  # (B, L-1): <bos> t1 ... tn (the <eos> is never an input)
        steps = inputs.shape[1]
        x = torch.cat([self.embedding(inputs), z[:, None, :].expand(-1, steps, -1)], dim=-1)
        out, _ = self.decoder(x, self.initial_hidden(z))  # (B, L-1, H)
        return self.output(out)  # type: ignore[no-any-return]

    def step(self, token: Tensor, z: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """One decoding step: token (B,), z (B, Z), h (layers, B, H) -> logits (B, V), new h."""
        x = torch.cat([self.embedding(token), z], dim=-1)[:, None, :]  # (B, 1, E+Z)
        out, h = self.decoder(x, h)  # out (B, 1, H)
        return self.output(out[:, 0]), h

    def forward(self, ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """ids (B, L), lengths (B,) -> logits (B, L-1, V), mu (B, Z), logvar (B, Z)."""
        mu, logvar = self.encode(ids, lengths)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # (B, Z)
        return self.decode_logits(z, ids), mu, logvar


def vae_loss_terms(module: SmilesVAEModule, ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """Reconstruction cross-entropy and KL divergence, each in nats per molecule (mean over B)."""
    logits, mu, logvar = module(ids, lengths)  # (B, L-1, V), (B, Z), (B, Z)
    target = ids[:, 1:]  # (B, L-1); <pad> positions are ignored
    recon = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
        ignore_index=_PAD, reduction="sum",
    ) / ids.shape[0]  # fmt: skip
    kl = 0.5 * (torch.exp(logvar) + mu.pow(2) - 1.0 - logvar).sum(dim=1).mean()
    return recon, kl


# ---------------------------------------------------------------------------------- data
class TokenData:
    """Token ids of many SMILES in one flat array (compact for millions of molecules).

    A :class:`~drugforge.core.training.data.BatchSource`: ``batch(idx)`` is ``(ids (B, L) int64
    right-padded with <pad>, lengths (B,) int64)``, ``L`` the longest sequence in the batch.
    """

    def __init__(self, smiles: Sequence[str], tokenizer: SmilesTokenizer) -> None:
        flat = array("i")
        lengths = np.empty(len(smiles), dtype=np.int64)
        for i, s in enumerate(smiles):
            ids = tokenizer.encode(s)
            flat.extend(ids)
            lengths[i] = len(ids)
        self.flat = np.frombuffer(flat, dtype=np.int32) if len(flat) else np.zeros(0, np.int32)
        self.lengths = lengths
        self.offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)

    def __len__(self) -> int:
        return len(self.lengths)

    def batch(self, idx: np.ndarray) -> tuple[Tensor, Tensor]:
        lengths = self.lengths[idx]  # (B,)
        width = int(lengths.max(initial=0))
        cols = np.arange(width)[None, :]  # (1, L)
        inside = cols < lengths[:, None]  # (B, L)
        pos = np.where(inside, self.offsets[idx][:, None] + cols, 0)
        ids = np.where(inside, self.flat[pos], _PAD).astype(np.int64)  # (B, L)
        return torch.from_numpy(ids), torch.from_numpy(lengths.copy())


@dataclass
class PreparedSmiles:
    """Training SMILES after the validity and length checks; rows are 0-based input positions."""

    smiles: list[str]  # kept, canonical when asked
    invalid_rows: list[int]
    too_long_rows: list[int]

    @property
    def n_skipped(self) -> int:
        return len(self.invalid_rows) + len(self.too_long_rows)


def prepare_smiles(
    smiles: Sequence[str], *, canonicalize: bool = True, max_length: int = 100
) -> PreparedSmiles:
    """Keep the SMILES RDKit parses (canonical when ``canonicalize``) of at most ``max_length``
    tokens; report the others by row."""
    kept: list[str] = []
    invalid: list[int] = []
    too_long: list[int] = []
    for row, s in enumerate(smiles):
        mol = parse_smiles(s)
        if mol is None:
            invalid.append(row)
            continue
        text = Chem.MolToSmiles(mol) if canonicalize else str(s).strip()
        if len(tokenize_smiles(text)) > max_length:
            too_long.append(row)
            continue
        kept.append(text)
    return PreparedSmiles(kept, invalid, too_long)


def _rows(rows: list[int], limit: int = 5) -> str:
    shown = ", ".join(str(r + 1) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


# ------------------------------------------------------------------------------ training
class StepCounter(nn.Module):
    """A module trained by ``fit_torch`` plus a count of its optimizer steps (a buffer).

    Schedules that depend on the step (the KL weight, the GAN's turns) read :attr:`steps`; being a
    buffer it is saved in ``fit_torch``'s checkpoints, so a resumed run continues the schedule
    exactly where the interrupted one was. The loss function calls :meth:`tick` once per
    training step. Only ``inner`` is kept once training is over.
    """

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    steps: Tensor

    def tick(self) -> int:
        """The number of steps before this one; counts this one."""
        done = int(self.steps)
        self.steps.add_(1)
        return done


def schedule_total_steps(config: TrainConfig, n_train: int) -> int:
    """Optimizer steps ``fit_torch`` will take with ``config`` on ``n_train`` examples."""
    if config.max_steps is not None:
        return int(config.max_steps)
    return config.max_epochs * math.ceil(n_train / config.batch_size)


def period_key(logs: dict[str, float]) -> tuple[str, float]:
    """Names a period of ``fit_torch``'s history: its epoch, or its last step in step mode."""
    return ("step", logs["step"]) if "step" in logs else ("epoch", logs["epoch"])


def join_history(
    history: list[dict[str, float]], terms: dict[tuple[str, float], dict[str, float]]
) -> list[dict[str, float]]:
    """``fit_torch``'s history with a hook's per-period terms added (periods of a resumed run's
    earlier session have none)."""
    return [{**logs, **terms.get(period_key(logs), {})} for logs in history]


class KLAnnealing(TrainHooks):
    """KL weight schedule, and per-period means of both loss terms.

    ``beta`` goes linearly from ``start`` to ``end`` over the first ``fraction`` of all optimizer
    steps (known at ``on_train_begin`` from the config and ``n_train``), then stays at ``end``.
    The loss function asks :meth:`beta` for its step and reports its terms with :meth:`record`.
    """

    def __init__(self, start: float, end: float, fraction: float, n_train: int) -> None:
        self.start, self.end, self.fraction, self.n_train = start, end, fraction, n_train
        self.ramp = 1
        self.last_beta = start
        self.terms: dict[tuple[str, float], dict[str, float]] = {}
        self._sums = np.zeros(6)  # train recon, kl, n; val recon, kl, n

    def on_train_begin(self, module: nn.Module, config: TrainConfig) -> None:
        self.ramp = max(1, round(self.fraction * schedule_total_steps(config, self.n_train)))

    def beta(self, step: int) -> float:
        """The KL weight at 0-based optimizer step ``step``."""
        if self.fraction <= 0:
            return self.end
        self.last_beta = self.start + (self.end - self.start) * min(1.0, step / self.ramp)
        return self.last_beta

    def record(self, recon: float, kl: float, n: int, training: bool) -> None:
        at = 0 if training else 3
        self._sums[at : at + 3] += (recon * n, kl * n, n)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        s = self._sums
        self.terms[period_key(logs)] = {
            "train_recon": s[0] / max(s[2], 1.0),
            "train_kl": s[1] / max(s[2], 1.0),
            "val_recon": s[3] / s[5] if s[5] else math.nan,
            "val_kl": s[4] / s[5] if s[5] else math.nan,
            "beta": self.last_beta,
        }
        self._sums = np.zeros(6)
        return None


# ------------------------------------------------------------------------------ decoding
@torch.no_grad()
def decode_latents(
    module: SmilesVAEModule,
    z: Tensor,
    *,
    temperature: float = 0.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> np.ndarray:
    """Token ids ``(B, T)`` decoded from ``z (B, Z)``, ``T <= max_length``, padded after <eos>.

    ``temperature=0`` takes the most likely token; otherwise tokens are drawn from
    ``softmax(logits / temperature)`` (restricted to the ``top_k`` most likely when given) with
    uniforms from ``generator`` (a CPU generator, so the same seed gives the same draws on any
    device).
    """
    module.eval()
    n = z.shape[0]
    device = z.device
    h = module.initial_hidden(z)  # (layers, B, H)
    token = torch.full((n,), _BOS, dtype=torch.long, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    out: list[Tensor] = []
    for _ in range(module.config.max_length + 1):  # max_length tokens, then room for <eos>
        logits, h = module.step(token, z, h)  # (B, V)
        if temperature <= 0:
            token = logits.argmax(dim=-1)
        else:
            logits = logits / temperature
            if top_k is not None and top_k < logits.shape[-1]:
                kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (B, 1)
                logits = logits.masked_fill(logits < kth, -math.inf)
            cdf = torch.softmax(logits.float(), dim=-1).cumsum(dim=-1)  # (B, V)
            u = torch.rand(n, 1, generator=generator).to(device) * cdf[:, -1:]
            token = torch.searchsorted(cdf, u).squeeze(1).clamp_max(logits.shape[-1] - 1)
        token = token.masked_fill(done, _PAD)
        out.append(token)
        done |= token == _EOS
        if bool(done.all()):
            break
    return torch.stack(out, dim=1).cpu().numpy()  # (B, T)


# ---------------------------------------------------------------------------- the model
class SmilesVAE(BaseEstimator):  # type: ignore[misc]
    """SMILES VAE generator: ``fit`` on SMILES, then encode, decode, sample, interpolate.

    Parameters
    ----------
    embedding_dim, encoder_hidden, encoder_layers, bidirectional, latent_dim, decoder_hidden,
    decoder_layers, dropout, max_length
        Architecture, see :class:`SmilesVAEConfig`.
    kl_weight, kl_weight_start, kl_anneal_fraction
        ``beta`` of the loss ``recon + beta * kl`` (both in nats per molecule) rises linearly
        from ``kl_weight_start`` to ``kl_weight`` over the first ``kl_anneal_fraction`` of the
        optimizer steps.
    lr, batch_size, max_epochs, warmup_epochs, grad_clip, patience
        Training through :func:`~drugforge.core.training.loop.fit_torch` (AdamW, warmup + cosine).
    max_steps, eval_every
        Step mode instead of epochs: this many optimizer steps, validating every ``eval_every``
        steps (large corpora, where one epoch is hours); the warmup is then ``warmup_epochs``
        worth of steps.
    time_budget_s
        Stop after this many seconds of training (the weights so far are kept).
    val_fraction
        Seeded share of the molecules held out for the validation loss (best-epoch selection,
        early stopping when ``patience`` is set); 0 keeps the last epoch.
    canonicalize
        Train on RDKit canonical SMILES (and canonicalize the inputs of :meth:`interpolate`,
        :meth:`sample_near`, :meth:`reconstruction_accuracy`).
    seed, device, quiet
        Seeds weights, batch order, hold-out and noise; ``'cpu'``, ``'cuda'`` or ``'auto'``;
        no progress bar.
    """

    kind: ClassVar[str] = "smiles-vae"

    def __init__(
        self,
        embedding_dim: int = 32,
        encoder_hidden: int = 128,
        encoder_layers: int = 1,
        bidirectional: bool = True,
        latent_dim: int = 128,
        decoder_hidden: int = 256,
        decoder_layers: int = 2,
        dropout: float = 0.0,
        max_length: int = 100,
        kl_weight: float = 0.5,
        kl_weight_start: float = 0.0,
        kl_anneal_fraction: float = 0.5,
        lr: float = 1e-3,
        batch_size: int = 128,
        max_epochs: int = 10,
        max_steps: int | None = None,
        eval_every: int | None = None,
        time_budget_s: float | None = None,
        warmup_epochs: float = 0.05,
        grad_clip: float | None = 50.0,
        patience: int | None = None,
        val_fraction: float = 0.02,
        canonicalize: bool = True,
        seed: int = 0,
        device: Literal["cpu", "cuda", "auto"] = "cpu",
        quiet: bool = True,
    ) -> None:
        self.embedding_dim = embedding_dim
        self.encoder_hidden = encoder_hidden
        self.encoder_layers = encoder_layers
        self.bidirectional = bidirectional
        self.latent_dim = latent_dim
        self.decoder_hidden = decoder_hidden
        self.decoder_layers = decoder_layers
        self.dropout = dropout
        self.max_length = max_length
        self.kl_weight = kl_weight
        self.kl_weight_start = kl_weight_start
        self.kl_anneal_fraction = kl_anneal_fraction
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.max_steps = max_steps
        self.eval_every = eval_every
        self.time_budget_s = time_budget_s
        self.warmup_epochs = warmup_epochs
        self.grad_clip = grad_clip
        self.patience = patience
        self.val_fraction = val_fraction
        self.canonicalize = canonicalize
        self.seed = seed
        self.device = device
        self.quiet = quiet

    # ------------------------------------------------------------------------------ fitting
    def _train_config(
        self, n_train: int, checkpoint_dir: str | None, checkpoint_every: int | None, resume: bool
    ) -> TrainConfig:
        steps_per_epoch = math.ceil(max(n_train, 1) / int(self.batch_size))
        return TrainConfig(
            max_epochs=int(self.max_epochs),
            max_steps=self.max_steps,
            eval_every=self.eval_every,
            warmup_steps=round(float(self.warmup_epochs) * steps_per_epoch),
            time_budget_s=self.time_budget_s,
            checkpoint_dir=checkpoint_dir,
            checkpoint_every=checkpoint_every,
            resume=resume,
            lr=float(self.lr),
            batch_size=int(self.batch_size),
            patience=self.patience,
            grad_clip=self.grad_clip,
            seed=int(self.seed),
            warmup_epochs=float(self.warmup_epochs),
            device=self.device,
            quiet=bool(self.quiet),
        )

    def fit(
        self,
        smiles: Sequence[str],
        *,
        skip_invalid: bool = False,
        hooks: Sequence[TrainHooks] = (),
        checkpoint_dir: str | None = None,
        checkpoint_every: int | None = None,
        resume: bool = False,
    ) -> Self:
        """Train on ``smiles``; returns ``self``.

        Invalid SMILES and SMILES longer than ``max_length`` tokens raise one
        :class:`~drugforge.core.errors.InvalidSmilesError` line naming their (1-based) rows, unless
        ``skip_invalid``: then they are skipped and their 0-based rows kept in
        ``invalid_rows_`` / ``too_long_rows_``. ``hooks`` are passed on to ``fit_torch``; with
        ``checkpoint_dir`` the run is resumable (``resume=True`` continues it, see
        :func:`~drugforge.core.training.loop.fit_torch`).
        """
        if isinstance(smiles, str):
            raise TypeError("smiles must be a sequence of SMILES, not a single string")
        self._train_config(0, checkpoint_dir, checkpoint_every, resume)  # checked before any work
        started = time.perf_counter()
        prepared = prepare_smiles(
            list(smiles), canonicalize=bool(self.canonicalize), max_length=int(self.max_length)
        )
        if prepared.n_skipped and not skip_invalid:
            parts = []
            if prepared.invalid_rows:
                parts.append(f"{len(prepared.invalid_rows)} invalid SMILES (rows "
                             f"{_rows(prepared.invalid_rows)})")  # fmt: skip
            if prepared.too_long_rows:
                parts.append(
                    f"{len(prepared.too_long_rows)} SMILES longer than "
                    f"{self.max_length} tokens (rows {_rows(prepared.too_long_rows)})"
                )
            raise InvalidSmilesError("; ".join(parts) + "; fix them or skip them (skip_invalid)")
        train_smiles = prepared.smiles
        if len(train_smiles) < 2:
            raise InputError(f"need at least 2 valid training SMILES, got {len(train_smiles)}")
        tokenizer = SmilesTokenizer.build(train_smiles)
        train_idx, val_idx = holdout_split(len(train_smiles), float(self.val_fraction), self.seed)
        train_data = TokenData([train_smiles[i] for i in train_idx], tokenizer)
        val_data = TokenData([train_smiles[i] for i in val_idx], tokenizer)

        arch = SmilesVAEConfig(
            vocab_size=len(tokenizer),
            embedding_dim=int(self.embedding_dim),
            encoder_hidden=int(self.encoder_hidden),
            encoder_layers=int(self.encoder_layers),
            bidirectional=bool(self.bidirectional),
            latent_dim=int(self.latent_dim),
            decoder_hidden=int(self.decoder_hidden),
            decoder_layers=int(self.decoder_layers),
            dropout=float(self.dropout),
            max_length=int(self.max_length),
        )
        config = self._train_config(len(train_data), checkpoint_dir, checkpoint_every, resume)
        seed_everything(int(self.seed))  # identical initial weights for identical seeds
        module = SmilesVAEModule(arch)
        counted = StepCounter(module)
        annealing = KLAnnealing(
            float(self.kl_weight_start), float(self.kl_weight),
            float(self.kl_anneal_fraction), len(train_data),
        )  # fmt: skip
        final_beta = float(self.kl_weight)

        def loss_fn(m: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
            ids, lengths = batch  # (B, L), (B,)
            assert isinstance(m, StepCounter) and isinstance(m.inner, SmilesVAEModule)
            recon, kl = vae_loss_terms(m.inner, ids, lengths)
            annealing.record(float(recon.detach()), float(kl.detach()), len(ids), m.training)
            beta = annealing.beta(m.tick()) if m.training else final_beta
            return recon + beta * kl

        result = fit_torch(
            counted, train_data, val_data if len(val_data) else None, loss_fn, config,
            [annealing, *hooks],
        )  # fmt: skip
        history = join_history(result.history, annealing.terms)
        self.module_ = module
        self.config_ = arch
        self.tokenizer_ = tokenizer
        self.holdout_smiles_ = [train_smiles[i] for i in val_idx]  # not saved
        self.invalid_rows_ = prepared.invalid_rows
        self.too_long_rows_ = prepared.too_long_rows
        self.train_result_: TrainResult | None = result
        self.training_: dict[str, Any] = {
            "n_input": len(smiles),
            "n_invalid": len(prepared.invalid_rows),
            "n_too_long": len(prepared.too_long_rows),
            "n_train": len(train_data),
            "n_val": len(val_data),
            "data_sha256": _smiles_hash(train_smiles),
            "steps": result.steps,
            "periods_run": len(result.history),
            "best_period": result.best_epoch,
            "best_step": result.best_step,
            "best_val_loss": result.best_val_loss,
            "stop_reason": result.stop_reason,
            "train_seconds": round(result.seconds, 3),
            "seconds": round(time.perf_counter() - started, 3),
            "torch": torch.__version__,
            "history": history,
        }
        self.training_ = finite_or_none(self.training_)
        return self

    # ---------------------------------------------------------------------------- latents
    def _device(self) -> torch.device:
        return resolve_device(self.device)

    def _module(self) -> SmilesVAEModule:
        module: SmilesVAEModule = self.module_.to(self._device())
        module.eval()
        return module

    def encode(self, smiles: Sequence[str], *, batch_size: int = 512) -> np.ndarray:
        """Posterior means ``mu`` as float32 ``(n, latent_dim)``, in input order.

        Strings are encoded as given (no RDKit check): tokens outside the vocabulary become
        ``<unk>``. Pass canonical SMILES when the model was trained on them.
        """
        if isinstance(smiles, str):
            raise TypeError("smiles must be a sequence of SMILES, not a single string")
        module = self._module()
        data = TokenData(list(smiles), self.tokenizer_)
        out = np.zeros((len(data), self.config_.latent_dim), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, len(data), batch_size):
                idx = np.arange(start, min(start + batch_size, len(data)))
                ids, lengths = data.batch(idx)
                mu, _ = module.encode(ids.to(self._device()), lengths)  # (B, Z)
                out[idx] = mu.float().cpu().numpy()
        return out

    def decode(
        self,
        z: np.ndarray | Tensor,
        *,
        temperature: float = 0.0,
        top_k: int | None = None,
        seed: int = 0,
        batch_size: int = 512,
    ) -> list[str]:
        """Strings decoded from latents ``z (n, latent_dim)``: greedy at ``temperature=0``,
        sampled (seeded) otherwise."""
        latents = torch.as_tensor(np.asarray(z, dtype=np.float32))
        if latents.ndim != 2 or latents.shape[1] != self.config_.latent_dim:
            raise ValueError(
                f"z must have shape (n, {self.config_.latent_dim}), got {tuple(latents.shape)}"
            )
        module = self._module()
        generator = torch.Generator().manual_seed(int(seed))
        out: list[str] = []
        for start in range(0, len(latents), batch_size):
            chunk = latents[start : start + batch_size].to(self._device())
            ids = decode_latents(
                module, chunk, temperature=temperature, top_k=top_k, generator=generator
            )
            out.extend(self.tokenizer_.decode(row) for row in ids)
        return out

    def sample(
        self,
        n: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        batch_size: int = 512,
        seed: int = 0,
    ) -> list[str]:
        """``n`` strings decoded from ``z ~ N(0, I)`` (raw: some may be invalid)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        generator = torch.Generator().manual_seed(int(seed))
        z = torch.randn(n, self.config_.latent_dim, generator=generator)  # (n, Z)
        return self.decode(
            z, temperature=temperature, top_k=top_k, seed=int(seed) + 1, batch_size=batch_size
        )

    def _canonical(self, smiles: str) -> str:
        mol = parse_smiles(smiles)
        if mol is None:
            raise InvalidSmilesError(f"invalid SMILES '{smiles}'")
        return Chem.MolToSmiles(mol) if self.canonicalize else smiles.strip()

    def interpolate(
        self,
        smiles_a: str,
        smiles_b: str,
        steps: int = 10,
        *,
        method: Literal["spherical", "linear"] = "spherical",
        temperature: float = 0.0,
        seed: int = 0,
    ) -> list[str]:
        """``steps`` strings decoded along the path between the two molecules' ``mu``.

        The first and last strings are the decodings of ``mu_a`` and ``mu_b`` themselves.
        ``'spherical'`` is slerp (White 2016; the prior's mass lies on a shell), ``'linear'`` a
        straight line.
        """
        if steps < 2:
            raise ValueError(f"steps must be >= 2, got {steps}")
        if method not in ("spherical", "linear"):
            raise ValueError(f"unknown method {method!r}; choose from: spherical, linear")
        a, b = self.encode([self._canonical(smiles_a), self._canonical(smiles_b)]).astype(
            np.float64
        )
        t = np.linspace(0.0, 1.0, steps)[:, None]  # (steps, 1)
        cos = float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))
        omega = math.acos(min(1.0, max(-1.0, cos)))
        if method == "linear" or math.sin(omega) < 1e-6:
            path = (1.0 - t) * a + t * b
        else:
            path = (np.sin((1.0 - t) * omega) * a + np.sin(t * omega) * b) / math.sin(omega)
        path[0], path[-1] = a, b  # exact endpoints
        return self.decode(path.astype(np.float32), temperature=temperature, seed=seed)

    def sample_near(
        self,
        smiles: str,
        n: int,
        radius: float = 0.5,
        seed: int = 0,
        *,
        temperature: float = 0.0,
    ) -> list[str]:
        """``n`` strings decoded from ``mu + radius * eps``, ``eps ~ N(0, I)``, around a molecule."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if radius < 0:
            raise ValueError(f"radius must be >= 0, got {radius}")
        mu = self.encode([self._canonical(smiles)])  # (1, Z)
        generator = torch.Generator().manual_seed(int(seed))
        eps = torch.randn(n, self.config_.latent_dim, generator=generator).numpy()
        return self.decode(mu + radius * eps, temperature=temperature, seed=int(seed) + 1)

    def reconstruct(self, smiles: Sequence[str], *, batch_size: int = 512) -> list[str]:
        """Greedy decodings of the inputs' ``mu`` (inputs encoded as given)."""
        return self.decode(self.encode(smiles, batch_size=batch_size), batch_size=batch_size)

    def reconstruction_accuracy(self, smiles: Sequence[str], *, batch_size: int = 512) -> float:
        """Share of molecules whose greedy decoding of ``mu`` is the same molecule.

        Inputs are canonicalized first when the model was trained canonical; a decoding counts
        when its canonical SMILES equals the input's. Invalid inputs raise.
        """
        inputs = [self._canonical(s) for s in smiles]
        if not inputs:
            raise ValueError("no SMILES to reconstruct")
        hits = 0
        for given, decoded in zip(inputs, self.reconstruct(inputs, batch_size=batch_size),
                                  strict=True):  # fmt: skip
            if decoded == given:
                hits += 1
                continue
            mol = parse_smiles(decoded)
            hits += int(mol is not None and Chem.MolToSmiles(mol) == Chem.CanonSmiles(given))
        return hits / len(inputs)

    # -------------------------------------------------------------------------------- state
    def get_state(self) -> ModelState:
        meta: dict[str, Any] = {
            "generator": self.kind,
            "format": _FORMAT,
            "params": self.get_params(),
            "architecture": asdict(self.config_),
            "vocabulary": list(self.tokenizer_.tokens),
            "training": self.training_,
        }
        return ModelState(arrays=module_to_arrays(self.module_, prefix="module."), meta=meta)

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        meta = state.meta
        if meta.get("generator") != cls.kind or int(meta.get("format", -1)) != _FORMAT:
            raise ValueError(
                f"state is not a {cls.kind} generator of format {_FORMAT} "
                f"(got generator={meta.get('generator')!r}, format={meta.get('format')!r})"
            )
        model = cls(**meta["params"])
        config = SmilesVAEConfig(**meta["architecture"])
        tokenizer = SmilesTokenizer(tuple(meta["vocabulary"]))
        if len(tokenizer) != config.vocab_size:
            raise ValueError(
                f"vocabulary has {len(tokenizer)} tokens, the network {config.vocab_size}"
            )
        module = SmilesVAEModule(config)
        arrays_to_module(module, state.arrays, prefix="module.").eval()
        model.module_ = module
        model.config_ = config
        model.tokenizer_ = tokenizer
        model.holdout_smiles_ = []
        model.invalid_rows_ = []
        model.too_long_rows_ = []
        model.train_result_ = None
        model.training_ = dict(meta.get("training") or {})
        return model


def finite_or_none(value: Any) -> Any:
    """NaN and infinities -> None, recursively: the state's meta must be strict JSON."""
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_or_none(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def _smiles_hash(smiles: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for s in smiles:
        digest.update(s.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
