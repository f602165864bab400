"""The chem-lm network: a decoder-only causal Transformer over SMILES tokens, its KV cache and loss.

The GPT recipe (nanoGPT ``model.py``): token + learned position embeddings, pre-LayerNorm blocks of
causal self-attention (``F.scaled_dot_product_attention``) and a GELU MLP, a final LayerNorm, and
an output layer tied to the token embedding. Trained to predict each next token of
``<bos> SMILES <eos>`` (:func:`lm_loss`); the :class:`KVCache` keeps each sampling step at the
cost of one new token. The generator that wraps it with a tokenizer is
:class:`~drugforge.molecules.models.chemlm.ChemLM`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from drugforge.molecules.featurize.tokenizer import PAD_ID, UNK_ID

__all__ = [
    "SIZES",
    "ChemLMConfig",
    "ChemLMModule",
    "KVCache",
    "ids_on",
    "lm_loss",
    "pad_batch",
    "sequence_log_probs",
]


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


def ids_on(module: nn.Module, batch: Any) -> Tensor:
    """Padded ids ``batch`` as an int64 tensor on ``module``'s device."""
    device = next(module.parameters()).device
    return torch.as_tensor(batch, dtype=torch.long).to(device)  # (B, L)


def lm_loss(module: nn.Module, batch: Any) -> Tensor:
    """Mean next-token cross-entropy of padded ids (B, L) ``<bos> ... <eos> <pad>...``.

    Every real token after ``<bos>`` (``<eos>`` included) is a target; padding is not.
    """
    ids = ids_on(module, batch)  # (B, L)
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
