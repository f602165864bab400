"""Where drugforge keeps files it can rebuild: ``$DRUGFORGE_CACHE/<name>``, else
``$XDG_CACHE_HOME/drugforge/<name>``, else ``~/.cache/drugforge/<name>``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir(name: str) -> Path:
    """The cache folder for one kind of cached file (not created here)."""
    env = os.environ.get("DRUGFORGE_CACHE")
    if env:
        return Path(env).expanduser() / name
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "drugforge" / name
