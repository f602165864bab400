"""Where and how reproducibly torch runs: seeding, the device, deterministic kernels, autocast."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from drugforge.core.errors import DrugforgeError

__all__ = ["Deterministic", "autocast_enabled", "resolve_device", "seed_everything"]


def seed_everything(seed: int) -> None:
    """Seed python ``random``, numpy's global RNG and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(device: str) -> torch.device:
    """``'auto'`` -> CUDA when available, else CPU; ``'cuda'`` without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise DrugforgeError("device 'cuda' requested but no CUDA GPU is available")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}; choose from: cpu, cuda, auto")
    return torch.device(device)


class Deterministic:
    """Turn on deterministic algorithms for a block and restore the previous setting after."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __enter__(self) -> None:
        self._prev = torch.are_deterministic_algorithms_enabled()
        self._prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
        if self.enabled:
            # cuBLAS needs this to be deterministic; it only has effect before CUDA starts.
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)

    def __exit__(self, *exc: object) -> None:
        torch.use_deterministic_algorithms(self._prev, warn_only=self._prev_warn)


def autocast_enabled(precision: str, device: torch.device) -> bool:
    """bf16 autocast: asked for, or ``auto`` on a CUDA device that supports it; else fp32."""
    if precision == "bf16":
        return True
    return precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported()
