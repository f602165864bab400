"""A ResNet for small medical images (``arch='resnet18'``, ``'resnet10'``, ``'resnet34'``,
``'wide-resnet'``...).

ImageNet ResNets open with a 7x7 stride-2 convolution and a max-pool: a 28-pixel image is 7x7
before the first block and 1x1 after the last, which is why the MedMNIST replications replace
that stem. This one opens with a 3x3 stride-1 convolution and no pooling (the CIFAR variant of
He et al. 2016), so a 28-pixel image is 28, 14, 7 and 4 pixels wide in the four stages; larger
inputs (64, 128) get a stride-2 stem so the stages see the same scales. Blocks are the basic
two-convolution residual blocks with batch normalization; the head is global average pooling,
dropout and a linear layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

__all__ = ["ResNet", "ResNetConfig"]


@dataclass
class ResNetConfig:
    """Depth (blocks per stage), width (channels of the first stage, doubled per stage)."""

    in_channels: int = 1
    n_classes: int = 2
    blocks: list[int] = field(default_factory=lambda: [2, 2, 2, 2])  # ResNet-18
    width: int = 64
    dropout: float = 0.0
    image_size: int = 28  # > 32: a stride-2 stem (the stages then see 28-ish pixel maps)


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                          nn.BatchNorm2d(c_out))  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        h = torch.relu(self.bn1(self.conv1(x)))  # (B, c_out, H/s, W/s)
        h = self.bn2(self.conv2(h))
        return torch.relu(h + self.shortcut(x))


class ResNet(nn.Module):
    """(B, C, S, S) images -> (B, n_classes) logits."""

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        stride = 1 if c.image_size <= 32 else 2  # 64 -> 32, 128 -> 64 after the stem
        stem: list[nn.Module] = [nn.Conv2d(c.in_channels, c.width, 3, stride, 1, bias=False),
                                 nn.BatchNorm2d(c.width), nn.ReLU(inplace=True)]  # fmt: skip
        if c.image_size > 64:
            stem.append(nn.MaxPool2d(3, 2, 1))  # 128 -> 32
        self.stem = nn.Sequential(*stem)
        stages: list[nn.Module] = []
        c_in = c.width
        for i, n in enumerate(c.blocks):
            c_out = c.width * 2**i
            blocks = [BasicBlock(c_in if j == 0 else c_out, c_out, 2 if (i > 0 and j == 0) else 1)
                      for j in range(n)]  # fmt: skip
            stages.append(nn.Sequential(*blocks))
            c_in = c_out
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(c_in, c.n_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        for m in self.modules():  # zero-init the last BN of each block (Goyal et al. 2017)
            if isinstance(m, BasicBlock):
                nn.init.zeros_(m.bn2.weight)

    def cam_layer(self) -> tuple[nn.Module, bool]:
        """The module whose activations Grad-CAM weighs (the last stage's output maps), and
        whether they are its input (no: its output)."""
        return self.stages, False

    def cam_maps(self, acts: Tensor) -> Tensor:
        return acts  # already (B, C_last, h, w)

    def forward(self, x: Tensor) -> Tensor:
        h = self.stages(self.stem(x))  # (B, C_last, h, w)
        return self.head(h.mean(dim=(2, 3)))  # (B, n_classes)
