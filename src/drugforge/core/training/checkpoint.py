"""Checkpoints of :func:`drugforge.core.training.loop.fit_torch`: resumable, atomic, without pickle.

A checkpoint is one directory ``step-000001200/`` inside the run's checkpoint directory::

    model.safetensors      the module's weights
    optimizer.safetensors  the optimizer's tensors (AdamW moments and step counts)
    best.safetensors       the best weights so far (only when there is validation data)
    rng.safetensors        torch's CPU (and CUDA) generator states, numpy's global MT19937 key
    state.json             step, loop counters and history, data position, optimizer
                           hyperparameters, scheduler, Python/numpy RNG states, the training
                           config, and the sha256 of every other file

It is written into a hidden temporary directory and renamed into place, so a crash while
writing leaves the earlier checkpoints intact and never a half-written one under a step name.
Reading uses safetensors and JSON only: nothing in a checkpoint can execute code.

Of drugforge it imports only ``errors`` (the loop imports this module).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from drugforge.core.errors import ArtifactError
from drugforge.core.runtime import sha256_file

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "Checkpoint",
    "latest_checkpoint",
    "read_checkpoint",
    "restore_training_state",
    "write_checkpoint",
]

CHECKPOINT_FORMAT = "drugforge-checkpoint"
CHECKPOINT_VERSION = 1
STATE_JSON = "state.json"
_STEP_DIR = re.compile(r"^step-(\d{9})$")
_MARKER = "__drugforge__"  # safetensors needs one tensor; an empty optimizer state has none


@dataclass
class Checkpoint:
    """One checkpoint read back: JSON state and the tensors of each safetensors file."""

    path: Path
    meta: dict[str, Any]
    model: dict[str, Tensor]
    optimizer: dict[str, Tensor]
    rng: dict[str, Tensor]
    best: dict[str, Tensor] | None

    @property
    def step(self) -> int:
        return int(self.meta["step"])


def _save_tensors(path: Path, tensors: Mapping[str, Tensor]) -> None:
    # clones: tied weights share storage, which safetensors refuses; a clone also leaves the
    # live tensors untouched while the file is written
    out = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    out.setdefault(_MARKER, torch.zeros(1, dtype=torch.uint8))
    save_file(out, str(path))


def _load_tensors(path: Path) -> dict[str, Tensor]:
    tensors = load_file(str(path))
    tensors.pop(_MARKER, None)
    return tensors


# ------------------------------------------------------------------------------ RNG states
def _capture_rng() -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Every global generator a training step may draw from: torch (CPU, CUDA), numpy, random."""
    tensors = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"torch_cuda_{i}"] = state
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    tensors["numpy_mt19937"] = torch.from_numpy(np.asarray(keys, dtype=np.int64))
    version, internal, gauss_next = random.getstate()
    meta = {
        "numpy": {"kind": kind, "pos": int(pos), "has_gauss": int(has_gauss),
                  "cached_gaussian": float(cached)},
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
    }  # fmt: skip
    return tensors, meta


def _restore_rng(tensors: Mapping[str, Tensor], meta: Mapping[str, Any]) -> None:
    torch.set_rng_state(tensors["torch_cpu"])
    cuda = sorted(k for k in tensors if k.startswith("torch_cuda_"))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[k] for k in cuda])
    npm = meta["numpy"]
    keys = tensors["numpy_mt19937"].numpy().astype(np.uint32)
    np.random.set_state((npm["kind"], keys, npm["pos"], npm["has_gauss"], npm["cached_gaussian"]))
    py = meta["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss_next"]))


# ------------------------------------------------------------------------ optimizer state
def _optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, Tensor], dict[str, Any]]:
    state = optimizer.state_dict()
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, Any] = {}
    for pid, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, Tensor):
                tensors[f"{pid}.{key}"] = value
            else:
                scalars[f"{pid}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _load_optimizer(
    optimizer: torch.optim.Optimizer, tensors: Mapping[str, Tensor], meta: Mapping[str, Any]
) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in [*tensors.items(), *meta["scalars"].items()]:
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    groups = [
        {k: tuple(v) if k == "betas" else v for k, v in group.items()}
        for group in meta["param_groups"]
    ]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


# ------------------------------------------------------------------------- write and read
def latest_checkpoint(directory: str | os.PathLike[str]) -> Path | None:
    """The newest complete checkpoint (highest step) in ``directory``; ``None`` when there is none."""
    path = Path(directory)
    if not path.is_dir():
        return None
    found = [
        (int(m.group(1)), p)
        for p in path.iterdir()
        if (m := _STEP_DIR.match(p.name)) and (p / STATE_JSON).is_file()
    ]
    return max(found)[1] if found else None


def write_checkpoint(
    directory: str | os.PathLike[str],
    step: int,
    *,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    best_weights: Mapping[str, Tensor] | None,
    meta: Mapping[str, Any],
    keep: int = 2,
) -> Path:
    """Write the training state after ``step`` optimizer steps; keep the newest ``keep``.

    ``meta`` (JSON-serializable) carries what only the loop knows: its counters and history,
    the data position and the config.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:09d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        _save_tensors(tmp / "model.safetensors", module.state_dict())
        opt_tensors, opt_meta = _optimizer_state(optimizer)
        _save_tensors(tmp / "optimizer.safetensors", opt_tensors)
        if best_weights is not None:
            _save_tensors(tmp / "best.safetensors", best_weights)
        rng_tensors, rng_meta = _capture_rng()
        _save_tensors(tmp / "rng.safetensors", rng_tensors)
        state = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "step": step,
            **meta,
            "optimizer": opt_meta,
            "scheduler": scheduler.state_dict(),
            "rng": rng_meta,
            "files": {p.name: sha256_file(p) for p in sorted(tmp.iterdir())},
        }
        (tmp / STATE_JSON).write_text(json.dumps(state, indent=1) + "\n")
        tmp.chmod(0o755)
        final = root / name
        if final.exists():  # the same step saved twice (a periodic and a final checkpoint)
            old = Path(tempfile.mkdtemp(prefix=f".{name}.old.", dir=root))
            os.replace(final, old / name)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    steps = sorted(p for p in root.iterdir() if _STEP_DIR.match(p.name))
    for stale in steps[: max(0, len(steps) - max(1, keep))]:
        shutil.rmtree(stale, ignore_errors=True)
    return final


def read_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read one checkpoint directory after checking its format and checksums (no pickle)."""
    root = Path(path)
    try:
        meta = json.loads((root / STATE_JSON).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ArtifactError(f"cannot read checkpoint: {err}", path=root) from None
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
        raise ArtifactError("not a drugforge checkpoint", path=root)
    if int(meta.get("version", 0)) > CHECKPOINT_VERSION:
        raise ArtifactError(
            f"checkpoint format {meta.get('version')} is newer than this drugforge reads "
            f"({CHECKPOINT_VERSION}); upgrade drugforge",
            path=root,
        )
    for name, expected in dict(meta.get("files", {})).items():
        file = root / name
        if not file.is_file() or sha256_file(file) != expected:
            raise ArtifactError(f"checkpoint file {name} is missing or damaged", path=root)
    try:
        best = root / "best.safetensors"
        return Checkpoint(
            path=root,
            meta=meta,
            model=_load_tensors(root / "model.safetensors"),
            optimizer=_load_tensors(root / "optimizer.safetensors"),
            rng=_load_tensors(root / "rng.safetensors"),
            best=_load_tensors(best) if best.is_file() else None,
        )
    except Exception as err:  # noqa: BLE001  (safetensors raises its own error types)
        raise ArtifactError(f"cannot read checkpoint tensors: {err}", path=root) from None


def restore_training_state(
    checkpoint: Checkpoint,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> None:
    """Put weights, optimizer, scheduler and every global RNG back as they were at the save."""
    try:
        module.load_state_dict(checkpoint.model, strict=True)
        _load_optimizer(optimizer, checkpoint.optimizer, checkpoint.meta["optimizer"])
        scheduler.load_state_dict(checkpoint.meta["scheduler"])
        _restore_rng(checkpoint.rng, checkpoint.meta["rng"])
    except (KeyError, RuntimeError, ValueError) as err:
        message = " ".join(str(err).split())[:300]
        raise ArtifactError(
            f"checkpoint does not fit this model or optimizer: {message}", path=checkpoint.path
        ) from None
