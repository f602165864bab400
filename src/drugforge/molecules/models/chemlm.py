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
loop, :func:`drugforge.core.training.loop.fit_torch` (:meth:`ChemLM.fit`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Self

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from drugforge.core.errors import ArtifactError, InputError
from drugforge.molecules.featurize.tokenizer import SmilesTokenizer
from drugforge.molecules.models.base import ModelState
from drugforge.core.artifacts import read_generator_state
from drugforge.molecules.models.shipped import resolve_generator_dir
from drugforge.core.training.arrays import arrays_to_module, module_to_arrays
from drugforge.core.training.data import BatchStream, ListData
from drugforge.core.training.device import resolve_device, seed_everything
from drugforge.core.training.hooks import TrainHooks
from drugforge.core.training.loop import TrainConfig, TrainResult, fit_torch

__all__ = [
    "SIZES",
    "ChemLM",
    "ChemLMConfig",
    "ChemLMModule",
    "KVCache",
    "lm_loss",
    "load_chemlm",
    "pad_batch",
    "sequence_log_probs",
]

_FORMAT = 1
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3  # SmilesTokenizer's fixed special ids


@dataclass
class ChemLMConfig:
    """Architecture of :class:`ChemLMModule`."""

    vocab_size: int
    n_layer: int = 4
    n_head: int = 4
    d_model: int = 256
    max_len: int = 128  # positions: <bos> + SMILES tokens + <eos> must fit
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.vocab_size <= UNK_ID:
            raise ValueError(f"vocab_size must exceed the 4 special tokens, got {self.vocab_size}")
        if min(self.n_layer, self.n_head, self.d_model) < 1 or self.max_len < 3:
            raise ValueError("n_layer, n_head and d_model must be >= 1 and max_len >= 3")
        if self.d_model % self.n_head:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_head {self.n_head}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @classmethod
    def preset(cls, size: str, vocab_size: int, max_len: int = 128) -> ChemLMConfig:
        """The named size (see :data:`SIZES`) for a vocabulary of ``vocab_size`` tokens."""
        if size not in SIZES:
            raise ValueError(f"unknown size '{size}'; choose from: {', '.join(SIZES)}")
        return cls(vocab_size=vocab_size, max_len=max_len, **SIZES[size])


#: named sizes, chosen by the training throughput benchmarks/chemlm_sizes.py measured on a busy
#: 2-core CPU (1 torch thread; benchmarks/results/chemlm/): ``tiny`` (0.1 M parameters, ~16 k
#: tokens/s) is for tests and smoke runs; ``small`` (0.8 M, ~3.7 k tokens/s, ~40 M tokens or
#: 0.7 MOSES epochs in 3 h) is the CPU pretraining size; ``base`` (4.8 M, ~0.9 k tokens/s) wants
#: a GPU.
SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"n_layer": 2, "n_head": 2, "d_model": 64, "dropout": 0.0},
    "small": {"n_layer": 4, "n_head": 4, "d_model": 128, "dropout": 0.1},
    "base": {"n_layer": 6, "n_head": 8, "d_model": 256, "dropout": 0.1},
}


# ------------------------------------------------------------------------------ KV cache
class KVCache:
    """Keys and values of every layer for the tokens fed so far, so that sampling step ``t``
    attends over them instead of recomputing them.

    Per layer ``k``/``v``: (B, n_head, capacity, head_dim); the first :attr:`length` positions
    are filled. Capacity grows by doubling up to ``max_len``; :meth:`keep` drops finished rows.
    """

    def __init__(self, config: ChemLMConfig, batch: int, device: torch.device, dtype: torch.dtype):
        self.max_len = config.max_len
        self.length = 0
        head_dim = config.d_model // config.n_head
        capacity = min(32, config.max_len)
        shape = (batch, config.n_head, capacity, head_dim)
        self.k = [torch.empty(shape, device=device, dtype=dtype) for _ in range(config.n_layer)]
        self.v = [torch.empty(shape, device=device, dtype=dtype) for _ in range(config.n_layer)]

    def append(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Store the new ``k``/``v`` (B, nh, T, hd) of ``layer``; return all of them so far."""
        end = self.length + k.shape[2]
        if end > self.k[layer].shape[2]:
            self._grow(layer, end)
        self.k[layer][:, :, self.length : end] = k
        self.v[layer][:, :, self.length : end] = v
        return self.k[layer][:, :, :end], self.v[layer][:, :, :end]  # (B, nh, end, hd)

    def _grow(self, layer: int, needed: int) -> None:
        if needed > self.max_len:
            raise ValueError(f"sequence longer than max_len={self.max_len}")
        old = self.k[layer].shape[2]
        capacity = min(self.max_len, max(needed, 2 * old))
        for store in (self.k, self.v):
            b, nh, _, hd = store[layer].shape
            grown = store[layer].new_empty((b, nh, capacity, hd))
            grown[:, :, :old] = store[layer]
            store[layer] = grown

    def advance(self, n: int) -> None:
        """Mark ``n`` more positions as filled (after every layer has appended them)."""
        self.length += n

    def keep(self, rows: Tensor) -> None:
        """Keep only the batch rows selected by the boolean mask or index ``rows``."""
        for store in (self.k, self.v):
            for i, t in enumerate(store):
                store[i] = t[rows, :, : max(self.length, 1)].contiguous()


# ------------------------------------------------------------------------------- network
class CausalSelfAttention(nn.Module):
    def __init__(self, config: ChemLMConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self.dropout = config.dropout
        self.resid_drop = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        B, T, C = x.shape  # batch, new tokens, d_model
        q, k, v = self.qkv(x).split(C, dim=2)  # each (B, T, C)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hd)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hd)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hd)
        past = 0 if cache is None else cache.length
        if cache is not None:
            k, v = cache.append(layer, k, v)  # (B, nh, past + T, hd)
        mask: Tensor | None = None
        if past and T > 1:  # new tokens see every cached one and the earlier new ones
            mask = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(diagonal=past)
        y = F.scaled_dot_product_attention(
            q, k, v,
            attn_mask=mask,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=mask is None and T > 1,  # one new token may attend to everything cached
        )  # (B, nh, T, hd)  # fmt: skip
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.resid_drop(self.proj(y))  # type: ignore[no-any-return]


class MLP(nn.Module):
    def __init__(self, config: ChemLMConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.proj = nn.Linear(4 * config.d_model, config.d_model)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.proj(F.gelu(self.fc(x))))  # type: ignore[no-any-return]


class Block(nn.Module):
    """Pre-LayerNorm Transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: ChemLMConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.d_model)
        self.mlp = MLP(config)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)  # (B, T, C)
        return x + self.mlp(self.ln_2(x))  # type: ignore[no-any-return]


class ChemLMModule(nn.Module):
    """The network: ids (B, T) -> next-token logits (B, T, vocab_size)."""

    def __init__(self, config: ChemLMConfig) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.d_model)  # also the output layer
        self.pos_emb = nn.Embedding(config.max_len, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: scaled init of the residual outputs
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def hidden(self, idx: Tensor, cache: KVCache | None = None) -> Tensor:
        """Final (layer-normed) hidden states (B, T, d_model) of ids ``idx`` (B, T).

        With a ``cache``, ``idx`` are the tokens that follow the cached ones.
        """
        T = idx.shape[1]
        start = 0 if cache is None else cache.length
        if start + T > self.config.max_len:
            raise ValueError(
                f"sequence of {start + T} tokens exceeds max_len={self.config.max_len}"
            )
        pos = torch.arange(start, start + T, device=idx.device)  # (T,)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))  # (B, T, C)
        for layer, block in enumerate(self.blocks):
            x = block(x, cache, layer)  # (B, T, C)
        if cache is not None:
            cache.advance(T)
        return self.ln_f(x)  # type: ignore[no-any-return]

    def logits(self, h: Tensor) -> Tensor:
        """Hidden states (..., C) -> logits (..., vocab_size) through the tied embedding."""
        return F.linear(h, self.tok_emb.weight)

    def forward(self, idx: Tensor, cache: KVCache | None = None) -> Tensor:
        return self.logits(self.hidden(idx, cache))  # (B, T, vocab_size)


# ---------------------------------------------------------------------- losses and batches
def pad_batch(sequences: Sequence[Sequence[int]]) -> np.ndarray:
    """Right-pad id sequences with ``<pad>`` (id 0) to the longest: int64 (B, L)."""
    width = max((len(s) for s in sequences), default=0)
    out = np.full((len(sequences), width), PAD_ID, dtype=np.int64)
    for row, seq in enumerate(sequences):
        out[row, : len(seq)] = seq
    return out


def _ids_on(module: nn.Module, batch: Any) -> Tensor:
    device = next(module.parameters()).device
    return torch.as_tensor(batch, dtype=torch.long).to(device)  # (B, L)


def lm_loss(module: nn.Module, batch: Any) -> Tensor:
    """Mean next-token cross-entropy of padded ids (B, L) ``<bos> ... <eos> <pad>...``.

    Every real token after ``<bos>`` (``<eos>`` included) is a target; padding is not.
    """
    ids = _ids_on(module, batch)  # (B, L)
    logits = module(ids[:, :-1])  # (B, L-1, V)
    targets = ids[:, 1:]  # (B, L-1)
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), ignore_index=PAD_ID
    )


def sequence_log_probs(module: nn.Module, ids: Tensor) -> Tensor:
    """Sum of token log-probabilities per sequence (B,) of padded ids (B, L); differentiable."""
    logits = module(ids[:, :-1]).float()  # (B, L-1, V)
    targets = ids[:, 1:]  # (B, L-1)
    logp = F.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return (logp * (targets != PAD_ID)).sum(dim=1)  # (B,)


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
                ids = _ids_on(self.module, pad_batch([encoded[i] for i in rows]))  # (B, L)
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
                ids = _ids_on(self.module, pad_batch([encoded[i] for i in rows]))  # (B, L)
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
