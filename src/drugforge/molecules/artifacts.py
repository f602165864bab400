"""Saved models: a directory that loads safely (no pickle) and keeps loading in later versions.

Layout::

    model_dir/
      manifest.json      format version, versions of drugforge and libraries, data hash,
                         task/targets, standardizer, sha256 of every other file
      model.safetensors  all weights / numeric state (safetensors never executes code)
      model.json         the model's JSON state (class name, parameters, text blobs)
      config.json        the resolved run configuration
      split.json         the split indices and seed used for evaluation
      metrics.json       held-out metrics, calibration and gate result
      report.*           the evaluation report

Loading verifies every checksum, refuses unknown future format versions and unknown model
classes, and reports any problem as one :class:`ArtifactError` line.

Molecule generators (:mod:`drugforge.molecules.models.generative`) are saved the same way by
:func:`save_generator` / :func:`load_generator`: ``manifest.json`` (format
``drugforge-generator``, the generator kind, versions, sha256 of every file),
``model.safetensors``, ``model.json`` (the generator's JSON state: architecture, vocabulary,
training provenance), ``config.json`` (the run configuration), ``metrics.json`` and extra files
such as ``model_card.md``.

Reading and verifying a directory (manifest, checksums, safetensors) lives one layer down, in
:mod:`drugforge.molecules.models.stored`, so that a model can load a saved generator (the ``chem-lm``
predictor's pretrained encoder) without importing this module.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

import drugforge
from drugforge.core.errors import ArtifactError, InputError
from drugforge.molecules.models import model_from_state, model_state
from drugforge.molecules.models.base import ModelState, MolecularPredictor
from drugforge.molecules.models.generative import SmilesGenerator, generator_from_state
from drugforge.molecules.models.stored import (
    GENERATOR_FORMAT_VERSION,
    MANIFEST,
    MODEL_JSON,
    WEIGHTS,
    read_generator_state,
)
from drugforge.molecules.models.stored import read_json as _read_json
from drugforge.molecules.models.stored import sha256_file as _sha256
from drugforge.molecules.models.stored import verified_state as _verified_state

FORMAT_VERSION = 1
_LIBRARIES = ("numpy", "torch", "rdkit", "scikit-learn", "lightgbm", "safetensors", "pandas")


@dataclass
class LoadedModel:
    """A model loaded from a directory, with the context it was saved with."""

    model: MolecularPredictor
    path: Path
    manifest: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> str:
        return str(self.manifest["task"])

    @property
    def target_names(self) -> list[str]:
        return list(self.manifest["target_names"])

    @property
    def standardizer(self) -> dict[str, Any]:
        return dict(self.manifest.get("standardizer", {}))

    @property
    def uncertainty(self) -> dict[str, Any]:
        return dict(self.manifest.get("uncertainty", {}))


def library_versions() -> dict[str, str]:
    """Versions of Python and the numeric libraries, recorded in every artifact."""
    versions = {"python": platform.python_version(), "drugforge": drugforge.__version__}
    for lib in _LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = "not installed"
    return versions


def _to_jsonable(obj: Any) -> Any:
    """JSON encoder fallback for numpy scalars/arrays and paths."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_to_jsonable) + "\n")


def save_model(
    out_dir: str | os.PathLike[str],
    model: MolecularPredictor,
    *,
    task: str,
    target_names: list[str],
    standardizer: dict[str, Any],
    data_hash: str,
    config: dict[str, Any] | None = None,
    split: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    uncertainty: dict[str, Any] | None = None,
    smiles_column: str | None = None,
    extra_files: dict[str, Path] | None = None,
    force: bool = False,
) -> Path:
    """Write ``model`` and its context to ``out_dir`` atomically; return the directory."""
    out = Path(out_dir)
    if out.exists() and not force:
        raise InputError("output directory exists; use --force to overwrite", path=out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        state = model_state(model)
        arrays = {k: np.ascontiguousarray(v) for k, v in state.arrays.items()}
        # safetensors needs at least one tensor; a marker keeps the format uniform
        arrays.setdefault("__drugforge__", np.zeros(1, dtype=np.uint8))
        save_file(arrays, str(tmp / WEIGHTS))
        write_json(tmp / MODEL_JSON, state.meta)
        write_json(tmp / "config.json", config or {})
        write_json(tmp / "split.json", split or {})
        write_json(tmp / "metrics.json", metrics or {})
        for name, src in (extra_files or {}).items():
            shutil.copyfile(src, tmp / name)
        files = {p.name: _sha256(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        for p in tmp.iterdir():
            p.chmod(0o644)
        manifest = {
            "format": "drugforge-model",
            "format_version": FORMAT_VERSION,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "model": model.name,
            "task": task,
            "target_names": list(target_names),
            "smiles_column": smiles_column,
            "standardizer": standardizer,
            "uncertainty": uncertainty or {},
            "data_hash": data_hash,
            "versions": library_versions(),
            "files": files,
        }
        write_json(tmp / MANIFEST, manifest)
        (tmp / MANIFEST).chmod(0o644)
        tmp.chmod(0o755)  # mkdtemp makes it private; a model directory is meant to be shared
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def load_model(model_dir: str | os.PathLike[str]) -> LoadedModel:
    """Load a saved model directory after verifying its integrity."""
    path = Path(model_dir)
    manifest, meta, arrays = _verified_state(
        path, fmt="drugforge-model", max_version=FORMAT_VERSION, what="model"
    )
    try:
        model = model_from_state(ModelState(arrays=arrays, meta=meta))
    except (KeyError, ValueError, TypeError) as err:
        raise ArtifactError(f"incompatible model state: {err}", path=path) from None
    config = _read_json(path / "config.json", path) if (path / "config.json").is_file() else {}
    metrics = _read_json(path / "metrics.json", path) if (path / "metrics.json").is_file() else {}
    return LoadedModel(model=model, path=path, manifest=manifest, config=config, metrics=metrics)


# -------------------------------------------------------------------------------- generators
GENERATOR_FILES = (MANIFEST, WEIGHTS, MODEL_JSON, "config.json", "metrics.json")


@dataclass
class LoadedGenerator:
    """A molecule generator loaded from a directory, with the context it was saved with."""

    generator: SmilesGenerator
    path: Path
    manifest: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)  # the generator's JSON state
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def training(self) -> dict[str, Any]:
        """Training provenance recorded by the generator (data, steps...); may be empty."""
        value = self.meta.get("training")
        return dict(value) if isinstance(value, dict) else {}


def save_generator(
    out_dir: str | os.PathLike[str],
    generator: SmilesGenerator,
    *,
    config: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    extra_files: dict[str, Path] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``generator`` to ``out_dir``: weights (safetensors), JSON state, manifest.

    Unlike :func:`save_model` the directory may already exist and hold other things (a
    pretraining run's ``checkpoints/``), which are left alone: the files are written to a
    temporary directory, then each is renamed into place, the manifest last, so a reader never
    sees a manifest that does not match the files. An existing generator there is replaced only
    with ``overwrite``.
    """
    out = Path(out_dir)
    if (out / MANIFEST).exists() and not overwrite:
        raise InputError("a generator is already saved here; use --force to overwrite", path=out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".generator.", dir=out))
    try:
        state = generator.get_state()
        arrays = {k: np.ascontiguousarray(v) for k, v in state.arrays.items()}
        arrays.setdefault("__drugforge__", np.zeros(1, dtype=np.uint8))
        save_file(arrays, str(tmp / WEIGHTS))
        write_json(tmp / MODEL_JSON, {**state.meta, "generator": generator.kind})
        write_json(tmp / "config.json", config or {})
        write_json(tmp / "metrics.json", metrics or {})
        for name, src in (extra_files or {}).items():
            if name in GENERATOR_FILES or "/" in name:
                raise ValueError(f"extra file name '{name}' is reserved or not a plain name")
            shutil.copyfile(src, tmp / name)
        files = {p.name: _sha256(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        manifest = {
            "format": "drugforge-generator",
            "format_version": GENERATOR_FORMAT_VERSION,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "kind": generator.kind,
            "versions": library_versions(),
            "files": files,
        }
        write_json(tmp / MANIFEST, manifest)
        (out / MANIFEST).unlink(missing_ok=True)  # no manifest while the files change
        for p in sorted(tmp.iterdir(), key=lambda p: p.name == MANIFEST):
            p.chmod(0o644)
            os.replace(p, out / p.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def load_generator(model_dir: str | os.PathLike[str]) -> LoadedGenerator:
    """Load a saved generator directory after verifying every checksum (no pickle)."""
    path = Path(model_dir)
    manifest, state = read_generator_state(path)
    meta = state.meta
    files = manifest["files"]
    try:
        generator = generator_from_state(state)
    except (KeyError, ValueError, TypeError, RuntimeError) as err:
        message = " ".join(str(err).split())[:300]
        raise ArtifactError(f"incompatible generator state: {message}", path=path) from None
    config = _read_json(path / "config.json", path) if "config.json" in files else {}
    metrics = _read_json(path / "metrics.json", path) if "metrics.json" in files else {}
    return LoadedGenerator(generator=generator, path=path, manifest=manifest, meta=meta,
                           config=config, metrics=metrics)  # fmt: skip
