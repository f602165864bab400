"""Reading saved drugforge directories: manifest, SHA-256 checksums, safetensors weights.

The low-level half of :mod:`drugforge.molecules.artifacts`. It imports no model class, so that a model
built on another saved model (the ``chem-lm`` property predictor starts from a pretrained
generator) can read that directory without importing :mod:`drugforge.molecules.artifacts`, which imports
the model registry. :mod:`drugforge.molecules.artifacts` writes directories and turns what this module
reads into model objects; both share the constants and checks below.

Also here: where the generators shipped with drugforge live
(``drugforge/resources/generators/<NAME>/``) and how a ``NAME`` or directory given by a user is
resolved to one (:func:`resolve_generator_dir`).
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file

import drugforge
from drugforge.core.errors import ArtifactError
from drugforge.molecules.models.base import ModelState
from drugforge.molecules.models.generative import GENERATOR_KINDS

__all__ = [
    "GENERATOR_FORMAT",
    "GENERATOR_FORMAT_VERSION",
    "MANIFEST",
    "MODEL_FORMAT",
    "MODEL_JSON",
    "WEIGHTS",
    "read_generator_state",
    "read_json",
    "resolve_generator_dir",
    "sha256_file",
    "shipped_generators",
    "shipped_generators_root",
    "verified_state",
]

MANIFEST = "manifest.json"
WEIGHTS = "model.safetensors"
MODEL_JSON = "model.json"
MODEL_FORMAT = "drugforge-model"
GENERATOR_FORMAT = "drugforge-generator"
GENERATOR_FORMAT_VERSION = 1


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json(path: Path, model_dir: Path) -> Any:
    """The JSON in ``path``; a problem is one :class:`ArtifactError` line naming ``model_dir``."""
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ArtifactError(f"cannot read {path.name}: {err}", path=model_dir) from None


def verified_state(
    path: Path, *, fmt: str, max_version: int, what: str, missing_hint: str = ""
) -> tuple[dict[str, Any], dict[str, Any], dict[str, np.ndarray]]:
    """(manifest, model.json, arrays) of a saved directory whose every checksum matches.

    ``fmt`` is the manifest's ``format`` ("drugforge-model" or "drugforge-generator"),
    ``what`` the word used in messages ("model", "generator"). Each problem is one line.
    """
    if not path.is_dir():
        raise ArtifactError(f"not a drugforge {what} directory (no such directory)", path=path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(
            f"not a drugforge {what} directory (manifest.json missing){missing_hint}", path=path
        )
    manifest = read_json(manifest_path, path)
    if not isinstance(manifest, dict) or manifest.get("format") != fmt:
        raise ArtifactError(f"manifest.json is not a drugforge {what} manifest", path=path)
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > max_version:
        made_by = manifest.get("versions", {}).get("drugforge", "?")
        raise ArtifactError(
            f"{what} format version {version} (made by drugforge {made_by}) is newer than this "
            f"drugforge {drugforge.__version__} understands (format {max_version}); upgrade",
            path=path,
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or WEIGHTS not in files or MODEL_JSON not in files:
        raise ArtifactError(f"manifest.json does not list the {what} files", path=path)
    for name, expected in files.items():
        file = path / name
        if not file.is_file():
            raise ArtifactError(f"file {name} listed in the manifest is missing", path=path)
        if sha256_file(file) != expected:
            raise ArtifactError(
                f"checksum mismatch for {name}: the {what} was modified after it was saved; "
                "refusing to load it",
                path=path,
            )
    meta = read_json(path / MODEL_JSON, path)
    if not isinstance(meta, dict):
        raise ArtifactError(f"{MODEL_JSON} is not a JSON object", path=path)
    try:
        arrays = load_file(str(path / WEIGHTS))
    except Exception as err:  # noqa: BLE001  (safetensors raises its own error types)
        raise ArtifactError(f"cannot read {WEIGHTS}: {err}", path=path) from None
    arrays.pop("__drugforge__", None)
    return manifest, meta, arrays


def read_generator_state(path: Path) -> tuple[dict[str, Any], ModelState]:
    """(manifest, state) of a saved generator directory, every checksum verified.

    A directory holding only a pretraining run's ``checkpoints/`` gets a hint to resume it.
    """
    hint = (" (a pretraining run that has not finished: resume it with --resume)"
            if (path / "checkpoints").is_dir() else "")  # fmt: skip
    manifest, meta, arrays = verified_state(
        path, fmt=GENERATOR_FORMAT, max_version=GENERATOR_FORMAT_VERSION, what="generator",
        missing_hint=hint,
    )  # fmt: skip
    return manifest, ModelState(arrays=arrays, meta=meta)


# ------------------------------------------------------------------- shipped generators
def shipped_generators_root() -> Path:
    """``drugforge/resources/generators/``: one directory per shipped generator."""
    return Path(str(resources.files("drugforge"))) / "resources" / "generators"


def shipped_generators() -> list[str]:
    """Names of the generators shipped with drugforge (directories with a manifest)."""
    root = shipped_generators_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / MANIFEST).is_file())


def resolve_generator_dir(model: str, *, option: str = "--model") -> Path:
    """The directory of ``model``: a path to a generator directory, or a shipped name.

    ``option`` is the command-line option that takes the directory, named in the message when
    a known generator kind (``chem-lm``...) is asked for by name but none is shipped.
    """
    path = Path(model)
    if path.is_dir():
        return path
    shipped = shipped_generators()
    if model in shipped:
        return shipped_generators_root() / model
    if model in GENERATOR_KINDS:
        raise ArtifactError(
            f"no trained '{model}' generator is shipped with this drugforge yet; pretrain one "
            f"(drugforge pretrain --moses --out DIR) and pass {option} DIR"
        )
    available = ", ".join(shipped) if shipped else "none"
    raise ArtifactError(
        f"unknown generator '{model}': not a directory and not a shipped generator "
        f"(shipped: {available})"
    )
