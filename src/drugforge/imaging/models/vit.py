"""A small vision transformer for small images (``arch='vit'``).

The image is cut into ``patch x patch`` patches (4x4 on a 28-pixel image: 49 tokens), each
linearly embedded, with a learnt position embedding and a class token; pre-norm Transformer
encoder blocks (``torch.nn.TransformerEncoderLayer``); the class token's final state is
classified. Small data needs strong augmentation for a ViT; ``auto`` keeps it only when it wins on
the validation split.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = ["ViT", "ViTConfig"]


@dataclass
class ViTConfig:
    in_channels: int = 1
    n_classes: int = 2
    image_size: int = 28
    patch: int = 4
    dim: int = 192
    depth: int = 6
    heads: int = 3
    mlp_ratio: float = 2.0
    dropout: float = 0.1


class ViT(nn.Module):
    """(B, C, S, S) images -> (B, n_classes) logits."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        patch = c.patch * max(1, c.image_size // 32)  # 64 px -> 8x8 patches: same 7x7-ish grid
        self.grid = -(-c.image_size // patch)  # ceil: the image is padded to a whole grid
        self.patch = patch
        self.embed = nn.Conv2d(c.in_channels, c.dim, patch, patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, c.dim))
        self.pos = nn.Parameter(torch.randn(1, self.grid**2 + 1, c.dim) * 0.02)
        layer = nn.TransformerEncoderLayer(c.dim, c.heads, int(c.dim * c.mlp_ratio), c.dropout,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)  # fmt: skip
        self.encoder = nn.TransformerEncoder(layer, c.depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(c.dim)
        self.head = nn.Linear(c.dim, c.n_classes)

    def _encode(self, x: Tensor) -> Tensor:
        pad = self.grid * self.patch - x.shape[-1]
        if pad:
            x = nn.functional.pad(x, (0, pad, 0, pad))
        h = self.embed(x).flatten(2).transpose(1, 2)  # (B, grid^2, dim)
        h = torch.cat([self.cls.expand(len(h), -1, -1), h], dim=1) + self.pos
        return self.norm(self.encoder(h))  # (B, 1 + grid^2, dim)

    # Grad-CAM: the tokens entering the last block (the class token's output depends on them
    # through that block's attention; the last block's own patch outputs do not reach it)
    def cam_layer(self) -> tuple[nn.Module, bool]:
        """The module whose activations Grad-CAM weighs, and whether they are its input."""
        return self.encoder.layers[-1], True

    def cam_maps(self, acts: Tensor) -> Tensor:
        """Captured tokens ``(B, 1 + grid^2, dim)`` -> maps ``(B, dim, grid, grid)``."""
        return acts[:, 1:].transpose(1, 2).reshape(len(acts), -1, self.grid, self.grid)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self._encode(x)[:, 0])  # (B, n_classes)
