"""Chemical language model (``kind='chem-lm'``): a decoder-only causal Transformer over SMILES.

The GPT recipe (nanoGPT ``model.py``) on SMILES tokens: token + learned position embeddings,
pre-LayerNorm blocks of causal self-attention (``F.scaled_dot_product_attention``) and a GELU
MLP, a final LayerNorm, and an output layer tied to the token embedding. Trained to predict
each next token of ``<bos> SMILES <eos>`` (:func:`lm_loss`), it samples new molecules token by
token; a KV cache keeps each sampling step at the cost of one new token.

:class:`ChemLM` wraps tokenizer and network and is what the rest of drugforge uses: it follows
the :class:`~drugforge.molecules.models.generative.SmilesGenerator` contract (``sample``, ``get_state``,
``from_state``), scores molecules (:meth:`ChemLM.log_likelihood`, for reinforcement-learning
fine-tuning) and embeds them (:meth:`ChemLM.embed`). Training runs through the one training
loop, :func:`drugforge.core.training.loop.fit_torch` (:meth:`ChemLM.fit`). The network, its
KV cache and loss are in :mod:`drugforge.molecules.models.chemlm_net`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from typing import Any, ClassVar, Self

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from drugforge.core.artifacts import read_generator_state
from drugforge.core.errors import ArtifactError, InputError
from drugforge.core.training.arrays import arrays_to_module, module_to_arrays
from drugforge.core.training.data import BatchStream, ListData
from drugforge.core.training.device import resolve_device, seed_everything
from drugforge.core.training.hooks import TrainHooks
from drugforge.core.training.loop import TrainConfig, TrainResult, fit_torch
from drugforge.molecules.featurize.tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID, SmilesTokenizer
from drugforge.molecules.models.base import ModelState
from drugforge.molecules.models.chemlm_net import (
    ChemLMConfig,
    ChemLMModule,
    KVCache,
    ids_on,
    lm_loss,
    pad_batch,
    sequence_log_probs,
)
from drugforge.molecules.models.shipped import resolve_generator_dir

__all__ = ["ChemLM", "load_chemlm"]

_FORMAT = 1


def _pick(logits: Tensor, temperature: float, top_k: int | None, gen: torch.Generator) -> Tensor:
    """One token per row of ``logits`` (B, V), drawn from the tempered, top-k-cut softmax."""
    logits = logits.float() / temperature
    logits[:, [PAD_ID, BOS_ID, UNK_ID]] = -math.inf  # never SMILES content
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, -math.inf)
    probs = F.softmax(logits, dim=-1)  # (B, V)
    return torch.multinomial(probs, 1, generator=gen).squeeze(1)  # (B,)


# ------------------------------------------------------------------------------ generator
class ChemLM:
    """A SMILES language model: tokenizer + :class:`ChemLMModule`.

    Build one with :meth:`create` (fresh, seeded weights) or :meth:`from_state` (saved ones);
    train it with :meth:`fit`. ``training`` is provenance (data, steps, tokens seen...) that is
    saved with the weights.
    """

    kind: ClassVar[str] = "chem-lm"

    def __init__(
        self,
        tokenizer: SmilesTokenizer,
        module: ChemLMModule,
        *,
        training: Mapping[str, Any] | None = None,
        device: str = "cpu",
    ) -> None:
        if len(tokenizer) != module.config.vocab_size:
            raise ValueError(
                f"tokenizer has {len(tokenizer)} tokens, the network {module.config.vocab_size}"
            )
        self.tokenizer = tokenizer
        self.module = module
        self.training = dict(training or {})
        self.device = resolve_device(device)
        self.module.to(self.device)
        self.module.eval()

    @classmethod
    def create(
        cls,
        tokenizer: SmilesTokenizer,
        size: str | ChemLMConfig = "small",
        *,
        max_len: int = 128,
        seed: int = 0,
        device: str = "cpu",
    ) -> ChemLM:
        """A new model with seeded random weights; ``size`` is a preset name or a config."""
        config = (
            ChemLMConfig.preset(size, len(tokenizer), max_len) if isinstance(size, str) else size
        )
        seed_everything(seed)
        return cls(tokenizer, ChemLMModule(config), device=device)

    @property
    def config(self) -> ChemLMConfig:
        return self.module.config

    @property
    def max_len(self) -> int:
        return self.config.max_len

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.module.parameters())

    def to(self, device: str) -> Self:
        self.device = resolve_device(device)
        self.module.to(self.device)
        return self

    # -------------------------------------------------------------------------- encoding
    def check(self, smiles: str) -> str:
        """Why ``smiles`` cannot be modelled ('' when it can): unknown token or too long."""
        ids = self.tokenizer.encode(smiles)
        if UNK_ID in ids:
            return "token not in the vocabulary"
        if len(ids) > self.max_len:
            return f"longer than {self.max_len - 2} tokens"
        return ""

    def _encode_ok(self, smiles: Sequence[str]) -> tuple[list[list[int]], np.ndarray]:
        """Ids of each string and a mask of the ones the model can score (known, short enough)."""
        encoded = [self.tokenizer.encode(s) for s in smiles]
        ok = np.array([UNK_ID not in e and len(e) <= self.max_len for e in encoded], dtype=bool)
        return encoded, ok

    # -------------------------------------------------------------------------- training
    def fit(
        self,
        train: Sequence[str] | BatchStream,
        config: TrainConfig,
        *,
        val_smiles: Sequence[str] | None = None,
        hooks: TrainHooks | Sequence[TrainHooks] | None = None,
    ) -> Self:
        """Train by next-token prediction through :func:`~drugforge.core.training.loop.fit_torch`.

        ``train`` is a list of SMILES (epoch mode, or step mode with ``config.max_steps``) or a
        token :class:`~drugforge.core.training.data.BatchStream` such as
        :class:`drugforge.molecules.data.corpus.TokenBatches` (step mode). Every SMILES must be
        modellable (:meth:`check`): a bad one raises :class:`InputError` naming its row.
        """
        train_data: ListData[list[int]] | BatchStream
        if hasattr(train, "next_batch"):
            train_data = train  # type: ignore[assignment]
        else:
            train_data = self._token_data(train, "training")  # type: ignore[arg-type]
        val_data = self._token_data(val_smiles, "validation") if val_smiles else None
        self.module.train()
        result = fit_torch(self.module, train_data, val_data, lm_loss, config, hooks)
        self.device = next(self.module.parameters()).device
        self.module.eval()
        self.train_result_: TrainResult = result
        return self

    def _token_data(self, smiles: Sequence[str], role: str) -> ListData[list[int]]:
        if isinstance(smiles, str):
            raise TypeError(f"{role} SMILES must be a sequence of strings, not one string")
        encoded: list[list[int]] = []
        for row, s in enumerate(smiles, start=1):
            problem = self.check(s)
            if problem:
                raise InputError(f"{role} SMILES {row} '{s[:60]}': {problem}")
            encoded.append(self.tokenizer.encode(s))
        return ListData(encoded, pad_batch)

    # -------------------------------------------------------------------------- sampling
    def sample(
        self,
        n: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        batch_size: int = 512,
        seed: int = 0,
        use_cache: bool = True,
    ) -> list[str]:
        """``n`` SMILES strings, in sampling order, neither checked nor de-duplicated.

        Each sequence starts at ``<bos>`` and stops at ``<eos>``; one that reaches ``max_len``
        tokens without it is returned as generated so far. A ``torch.Generator`` seeded with
        ``seed`` draws every token: the same seed and arguments give the same strings on the
        same machine. ``use_cache=False`` recomputes every step from the start (slow; for tests).
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be >= 1 or None, got {top_k}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        gen = torch.Generator(device=self.device).manual_seed(seed)
        self.module.eval()
        out: list[str] = []
        with torch.inference_mode():
            for start in range(0, n, batch_size):
                size = min(batch_size, n - start)
                ids = self._sample_ids(size, temperature, top_k, gen, use_cache)  # (size, L)
                out.extend(self.tokenizer.decode(row) for row in ids.tolist())
        return out

    def _sample_ids(
        self, b: int, temperature: float, top_k: int | None, gen: torch.Generator, use_cache: bool
    ) -> Tensor:
        """Generated ids (b, max_len - 1), ``<pad>`` after each row's ``<eos>``."""
        steps = self.max_len - 1  # <bos> + at most max_len - 1 generated tokens
        out = torch.full((b, steps), PAD_ID, dtype=torch.long, device=self.device)
        rows = torch.arange(b, device=self.device)  # original row of each live sequence
        seq = torch.full((b, 1), BOS_ID, dtype=torch.long, device=self.device)  # (live, t)
        dtype = next(self.module.parameters()).dtype
        cache = KVCache(self.config, b, self.device, dtype) if use_cache else None
        done = torch.zeros(b, dtype=torch.bool, device=self.device)
        for t in range(steps):
            if cache is not None:
                logits = self.module(seq if t == 0 else seq[:, -1:], cache)[:, -1]  # (live, V)
            else:
                logits = self.module(seq)[:, -1]  # (live, V)
            token = _pick(logits, temperature, top_k, gen)  # (live,)
            token = token.masked_fill(done, PAD_ID)  # finished rows are only carried along
            out[rows, t] = token
            seq = torch.cat([seq, token[:, None]], dim=1)  # (live, t + 2)
            done = done | (token == EOS_ID)
            if bool(done.all()):
                break
            # dropping finished rows costs a copy of the cache: do it once a quarter are done
            if int(done.sum()) * 4 >= len(done):
                keep = ~done
                rows, seq, done = rows[keep], seq[keep], done[keep]
                if cache is not None:
                    cache.keep(keep)
        return out

    def sample_sequences(
        self,
        n: int,
        generator: torch.Generator,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
    ) -> tuple[Tensor, list[str]]:
        """``n`` sampled sequences as training-ready ids and as strings (reinforcement learning).

        ids: int64 (n, L) ``<bos> ... <eos> <pad>...``, trimmed to the longest row, drawn by
        ``generator`` (on the model's device) with the KV cache. Computed without gradients but
        outside inference mode, so the ids can feed a training step (``sequence_log_probs``).
        The module is put in eval mode for sampling and left in the mode it was in.
        """
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                body = self._sample_ids(n, temperature, top_k, generator, True)  # (n, max_len-1)
        finally:
            self.module.train(was_training)
        strings = [self.tokenizer.decode(row) for row in body.tolist()]
        bos = torch.full((n, 1), BOS_ID, dtype=torch.long, device=body.device)
        ids = torch.cat([bos, body], dim=1)  # (n, max_len)
        width = int((ids != PAD_ID).sum(dim=1).max()) if n else 1
        return ids[:, :width].contiguous(), strings

    # ---------------------------------------------------------------------- scoring
    def log_likelihood(self, smiles: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Per molecule, the sum of the log-probabilities of its tokens (``<eos>`` included).

        float64 (n,); NaN for a string the model cannot score (a token outside the vocabulary,
        or longer than ``max_len``). The string is scored as written (not canonicalized).
        """
        encoded, ok = self._encode_ok(smiles)
        result = np.full(len(encoded), np.nan)
        index = np.flatnonzero(ok)
        self.module.eval()
        with torch.inference_mode():
            for start in range(0, len(index), batch_size):
                rows = index[start : start + batch_size]
                ids = ids_on(self.module, pad_batch([encoded[i] for i in rows]))  # (B, L)
                result[rows] = sequence_log_probs(self.module, ids).double().cpu().numpy()
        return result

    def embed(self, smiles: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """A fixed-size vector per molecule: the mean final hidden state over its tokens.

        float32 (n, d_model), averaged over ``<bos>``, the SMILES tokens and ``<eos>``; a row of
        NaN for a string the model cannot read (see :meth:`log_likelihood`).
        """
        encoded, ok = self._encode_ok(smiles)
        result = np.full((len(encoded), self.config.d_model), np.nan, dtype=np.float32)
        index = np.flatnonzero(ok)
        self.module.eval()
        with torch.inference_mode():
            for start in range(0, len(index), batch_size):
                rows = index[start : start + batch_size]
                ids = ids_on(self.module, pad_batch([encoded[i] for i in rows]))  # (B, L)
                h = self.module.hidden(ids).float()  # (B, L, C)
                mask = (ids != PAD_ID).unsqueeze(-1).float()  # (B, L, 1)
                mean = (h * mask).sum(dim=1) / mask.sum(dim=1)  # (B, C)
                result[rows] = mean.cpu().numpy()
        return result

    # ------------------------------------------------------------------------------ state
    def get_state(self) -> ModelState:
        return ModelState(
            arrays=module_to_arrays(self.module, prefix="module."),
            meta={
                "generator": self.kind,
                "format": _FORMAT,
                "config": asdict(self.config),
                "tokens": list(self.tokenizer.tokens),
                "training": self.training,
            },
        )

    @classmethod
    def from_state(cls, state: ModelState) -> ChemLM:
        meta = state.meta
        if meta.get("generator") != cls.kind or int(meta.get("format", -1)) > _FORMAT:
            raise ValueError(
                f"state is not a {cls.kind} generator of format <= {_FORMAT} "
                f"(got generator={meta.get('generator')!r}, format={meta.get('format')!r})"
            )
        names = {f.name for f in fields(ChemLMConfig)}
        config = ChemLMConfig(**{k: v for k, v in dict(meta["config"]).items() if k in names})
        tokenizer = SmilesTokenizer(tuple(meta["tokens"]))
        module = ChemLMModule(config)
        arrays_to_module(module, state.arrays, prefix="module.")
        return cls(tokenizer, module, training=meta.get("training"))


def load_chemlm(model: str, *, option: str = "--model") -> ChemLM:
    """The saved chem-lm generator ``model``: a shipped name (``chem-lm``) or a directory.

    Every checksum is verified and nothing pickled is read (:mod:`drugforge.core.artifacts`).
    ``option`` is the command-line option named when a shipped name is missing ("no trained
    'chem-lm' generator is shipped ...; pass --pretrained DIR"). Another generator kind (a SMILES
    VAE) is refused with an :class:`~drugforge.core.errors.ArtifactError`.
    """
    path = resolve_generator_dir(model, option=option)
    _, state = read_generator_state(path)
    kind = state.meta.get("generator")
    if kind != ChemLM.kind:
        raise ArtifactError(f"this is a '{kind}' generator, not a '{ChemLM.kind}'", path=path)
    try:
        return ChemLM.from_state(state)
    except (KeyError, ValueError, TypeError, RuntimeError) as err:
        message = " ".join(str(err).split())[:300]
        raise ArtifactError(f"incompatible chem-lm state: {message}", path=path) from None
