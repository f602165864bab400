"""Residue CNN protein encoder, as the protein branch of DeepDTA (Ozturk et al. 2018).

Residue codes (from :func:`~drugforge.proteins.featurize.encode_residues`) -> embedding -> three
Conv1d + ReLU -> global max pool over the real residues -> one vector per sequence::

    codes (B, L) -> embed (B, L, E) -> conv x3 (B, C_k, L) -> masked max (B, C_3)

Two departures from DeepDTA, both so that a sequence's vector does not depend on the batch it
is in or on a maximum length: convolutions use ``same`` padding with padding positions zeroed
after every layer (a valid convolution would need L >= 22 and DeepDTA cuts at 1,000 residues),
and the max pool ignores padding positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from drugforge.proteins.sequences import ALPHABET

__all__ = ["ResidueCNN", "ResidueCNNConfig"]


@dataclass(frozen=True)
class ResidueCNNConfig:
    """Hyperparameters of :class:`ResidueCNN` (defaults: DeepDTA's protein branch)."""

    embed_dim: int = 64
    channels: tuple[int, ...] = (32, 64, 96)
    kernel_sizes: tuple[int, ...] = (4, 8, 12)
    dropout: float = 0.1
    vocab_size: int = len(ALPHABET) + 1  # residue codes 1..24 and padding 0

    def __post_init__(self) -> None:
        if len(self.channels) != len(self.kernel_sizes) or not self.channels:
            raise ValueError("channels and kernel_sizes must be non-empty and the same length")

    @property
    def out_dim(self) -> int:
        return self.channels[-1]


class ResidueCNN(nn.Module):
    """Residue codes ``(B, L)`` (0 = padding) -> sequence vectors ``(B, config.out_dim)``."""

    def __init__(self, config: ResidueCNNConfig | None = None) -> None:
        super().__init__()
        self.config = config or ResidueCNNConfig()
        cfg = self.config
        # padding_idx=0: padding embeds to a zero vector, the same as the convolution's own
        # zero padding at the sequence ends, so a sequence alone and padded in a batch agree
        self.embed = nn.Embedding(cfg.vocab_size, cfg.embed_dim, padding_idx=0)
        widths = (cfg.embed_dim, *cfg.channels)
        self.convs = nn.ModuleList(
            nn.Conv1d(c_in, c_out, k)
            for c_in, c_out, k in zip(widths[:-1], widths[1:], cfg.kernel_sizes, strict=True)
        )
        self.dropout = nn.Dropout(cfg.dropout)

    @property
    def out_dim(self) -> int:
        return self.config.out_dim

    def forward(self, codes: Tensor) -> Tensor:
        mask = (codes != 0).unsqueeze(1)  # (B, 1, L) real residues
        h = self.embed(codes).transpose(1, 2)  # (B, E, L): Conv1d wants channels first
        for conv, k in zip(self.convs, self.config.kernel_sizes, strict=True):
            # 'same' padding by hand (k - 1 zeros, the extra one on the right for even k):
            # torch's padding="same" does the same but warns for DeepDTA's even kernels
            h = F.pad(h, ((k - 1) // 2, k // 2))  # (B, C, L + k - 1)
            # zero the padding after each layer: bias and neighbours make it non-zero, and
            # the next layer would carry that into the real residues near the end
            h = torch.relu(conv(h)) * mask  # (B, C_k, L)
        h = h.masked_fill(~mask, float("-inf"))  # padding must not win the max
        pooled = h.max(dim=2).values  # (B, C_3)
        # an all-padding row (no residues; encode_residues never makes one) pools to 0, not -inf
        pooled = torch.where(mask.any(dim=2), pooled, torch.zeros_like(pooled))
        return self.dropout(pooled)  # (B, C_3)
