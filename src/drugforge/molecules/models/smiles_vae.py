"""SMILES variational autoencoder (``kind='smiles-vae'``), in the style of the MOSES VAE.

The network, its shapes and the loss (the negative ELBO with a weighted KL term, a beta-VAE)
are described in :mod:`drugforge.molecules.models.smiles_vae_net`.

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

The network and its decoding loop are in :mod:`drugforge.molecules.models.smiles_vae_net`, the
training SMILES checks and token batches in :mod:`drugforge.molecules.data.token_data`, the KL
annealing and step counter in :mod:`drugforge.molecules.models.generator_training`.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, ClassVar, Literal, Self

import numpy as np
import torch
from rdkit import Chem
from sklearn.base import BaseEstimator
from torch import Tensor, nn

from drugforge.core.errors import InputError, InvalidSmilesError
from drugforge.core.training.arrays import arrays_to_module, holdout_split, module_to_arrays
from drugforge.core.training.device import resolve_device, seed_everything
from drugforge.core.training.hooks import TrainHooks
from drugforge.core.training.loop import TrainConfig, TrainResult, fit_torch
from drugforge.molecules.chem import parse_smiles
from drugforge.molecules.data.token_data import TokenData, prepare_smiles
from drugforge.molecules.featurize.tokenizer import SmilesTokenizer
from drugforge.molecules.models.base import ModelState
from drugforge.molecules.models.generator_training import (
    KLAnnealing,
    StepCounter,
    finite_or_none,
    join_history,
)
from drugforge.molecules.models.smiles_vae_net import (
    SmilesVAEConfig,
    SmilesVAEModule,
    decode_latents,
    vae_loss_terms,
)

__all__ = ["SmilesVAE"]

_FORMAT = 1


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


def _rows(rows: list[int], limit: int = 5) -> str:
    shown = ", ".join(str(r + 1) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _smiles_hash(smiles: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for s in smiles:
        digest.update(s.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
