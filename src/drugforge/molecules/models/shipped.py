"""Generators shipped with drugforge, and how a name or directory given by a user is resolved.

Shipped generators live in ``drugforge/resources/generators/<NAME>/``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from drugforge.core.artifacts import MANIFEST
from drugforge.core.errors import ArtifactError
from drugforge.core.registry import GENERATORS

__all__ = ["resolve_generator_dir", "shipped_generators", "shipped_generators_root"]


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
    if model in GENERATORS:
        raise ArtifactError(
            f"no trained '{model}' generator is shipped with this drugforge yet; pretrain one "
            f"(drugforge pretrain --moses --out DIR) and pass {option} DIR"
        )
    available = ", ".join(shipped) if shipped else "none"
    raise ArtifactError(
        f"unknown generator '{model}': not a directory and not a shipped generator "
        f"(shipped: {available})"
    )
