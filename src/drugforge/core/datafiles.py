"""Where public dataset files come from, for every modality's catalog: a local mirror folder, the
cache, or a download of the canonical URL into the cache.

* mirrors: an explicit folder, else ``$DRUGFORGE_DATA_MIRROR`` (folders joined with ``os.pathsep``);
* the cache: ``cache_dir``, else ``$DRUGFORGE_CACHE``, else ``~/.cache/drugforge/datasets``;
* downloads go to a temporary name beside the destination and are renamed into place, unless
  offline (``$DRUGFORGE_OFFLINE=1``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

from drugforge.core.errors import InputError

__all__ = ["DOWNLOAD_TIMEOUT_S", "cache_root", "download", "env_flag", "find_in", "mirror_dirs"]

DOWNLOAD_TIMEOUT_S = 60.0


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def mirror_dirs(mirror: str | PathLike[str] | None) -> list[Path]:
    if mirror is not None:
        folder = Path(mirror).expanduser()
        if not folder.is_dir():
            raise InputError("mirror folder not found", path=folder)
        return [folder]
    env = os.environ.get("DRUGFORGE_DATA_MIRROR", "")
    return [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]


def cache_root(cache_dir: str | PathLike[str] | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("DRUGFORGE_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "drugforge" / "datasets"


def find_in(folder: Path, names: Sequence[str]) -> Path | None:
    """A file in ``folder`` whose name matches one of ``names`` case-insensitively."""
    if not folder.is_dir():
        return None
    entries = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    for name in names:
        hit = entries.get(name.lower())
        if hit is not None:
            return hit
    return None


def download(url: str, dest: Path, timeout: float = DOWNLOAD_TIMEOUT_S) -> None:
    """Fetch ``url`` to a temporary file beside ``dest`` and rename it into place."""
    from drugforge import __version__

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": f"drugforge/{__version__}"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as resp:
            shutil.copyfileobj(resp, out, 1 << 20)
        if Path(tmp).stat().st_size == 0:
            raise OSError("empty response")
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError, TimeoutError, ValueError) as err:
        Path(tmp).unlink(missing_ok=True)
        reason = getattr(err, "reason", None) or err
        raise InputError(
            f"could not download {url} ({reason}); download it yourself into a folder and set "
            "DRUGFORGE_DATA_MIRROR to that folder"
        ) from None
