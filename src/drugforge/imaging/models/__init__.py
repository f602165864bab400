"""Image network architectures by name (``--arch``): one config per name, built on demand.

Each architecture maps ``(B, C, S, S)`` images to ``(B, n_classes)`` logits and names the layer
Grad-CAM weighs (``cam_layer``/``cam_maps``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from torch import nn

__all__ = ["ARCHS", "arch_choices", "build_arch"]


def _resnet(blocks: list[int], width: int) -> Callable[..., nn.Module]:
    def build(in_channels: int, n_classes: int, image_size: int, dropout: float) -> nn.Module:
        from drugforge.imaging.models.resnet import ResNet, ResNetConfig

        return ResNet(ResNetConfig(in_channels, n_classes, list(blocks), width, dropout,
                                   image_size))  # fmt: skip

    return build


def _vit(dim: int, depth: int, heads: int) -> Callable[..., nn.Module]:
    def build(in_channels: int, n_classes: int, image_size: int, dropout: float) -> nn.Module:
        from drugforge.imaging.models.vit import ViT, ViTConfig

        return ViT(ViTConfig(in_channels, n_classes, image_size, dim=dim, depth=depth,
                             heads=heads, dropout=max(dropout, 0.1)))  # fmt: skip

    return build


#: name -> (builder, one-line description)
ARCHS: dict[str, tuple[Callable[..., nn.Module], str]] = {
    "resnet18": (_resnet([2, 2, 2, 2], 64), "ResNet-18, 3x3 stride-1 stem (11M parameters)"),
    "resnet18-half": (_resnet([2, 2, 2, 2], 32), "ResNet-18 at half width (2.8M; CPU default)"),
    "resnet10": (_resnet([1, 1, 1, 1], 32), "ResNet-10 at half width (1.2M)"),
    "resnet34": (_resnet([3, 4, 6, 3], 64), "ResNet-34, deeper (21M)"),
    "wide-resnet": (_resnet([2, 2, 2, 2], 96), "ResNet-18 at 1.5x width (25M)"),
    "vit": (_vit(192, 6, 3), "a small vision transformer: 4x4 patches, 6 blocks, dim 192 (2.7M)"),
}


def arch_choices() -> list[str]:
    return sorted(ARCHS)


def build_arch(name: str, **kwargs: Any) -> nn.Module:
    """The network ``name`` for ``in_channels``, ``n_classes``, ``image_size``, ``dropout``."""
    if name not in ARCHS:
        close = difflib.get_close_matches(name, ARCHS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ValueError(f"unknown arch '{name}'{hint}; choose from: {', '.join(arch_choices())}")
    return ARCHS[name][0](**kwargs)
