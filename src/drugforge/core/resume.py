"""A resumable job's work folder: a manifest and ordered, atomically committed Parquet parts.

A long job over a stream of chunks (a library screen, say) commits each chunk's result as
``part-<index>.parquet`` in ``OUT.parts/``. Each part is written to a temporary name and renamed,
so after a kill at any moment the parts present are complete, and the parts ``0..k-1`` that are
all present are the committed prefix a resumed run goes on after. The manifest records a key of
everything that defines the job's result; a resumed run with another key is refused, since
mixing parts of two different jobs would give a result neither would.

Nothing here knows what a part holds: the caller builds the tables and merges the parts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from drugforge import __version__
from drugforge.core.errors import InputError

__all__ = ["PartStore", "file_digest", "write_atomic"]

_PART = "part-{:08d}.parquet"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a synced temporary file and a rename (never half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def file_digest(path: Path) -> str:
    """Identifies an input file cheaply: size, and SHA-256 of its first and last MiB.

    Hashing a whole multi-GB library on every start would cost as much as reading it; a changed
    file almost always changes its size, head or tail.
    """
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 20))
        if size > 2 << 20:
            handle.seek(size - (1 << 20))
            digest.update(handle.read())
    return digest.hexdigest()


class PartStore:
    """``OUT.parts/``: the manifest and one Parquet part per committed chunk.

    ``what`` names the job in messages ("an unfinished screen is here...").
    """

    def __init__(self, out: Path, what: str) -> None:
        self.path = out.with_name(out.name + ".parts")
        self.manifest = self.path / "manifest.json"
        self.what = what

    def part(self, index: int) -> Path:
        return self.path / _PART.format(index)

    def committed(self) -> int:
        """How many chunks are committed (parts 0..k-1 all present)."""
        k = 0
        while self.part(k).exists():
            k += 1
        return k

    def prepare(self, key: str, settings: Mapping[str, Any], *, resume: bool, force: bool,
                outputs: Mapping[str, Path], finished: Path, unkeyed: Collection[str] = (),
                inputs: str = "the inputs") -> int:  # fmt: skip
        """Create or reopen the work folder; returns the number of chunks already done.

        Returns -1 when ``resume`` is set, no work folder is here and ``finished`` (the job's
        last output) exists: the job completed earlier and there is nothing to do. With
        ``resume`` and nothing begun, the job simply starts, so that a pipeline can always pass
        ``--resume``. ``settings`` is saved in the manifest to name the changed settings when a
        resume is refused; the ``unkeyed`` ones (how, not what, to compute) are not compared, and
        when no setting differs the key changed through ``inputs`` (named so in the message).
        """
        if self.path.exists():
            if not resume and not force:
                raise InputError(f"an unfinished {self.what} is here; continue it with --resume "
                                 "or start over with --force", path=self.path)  # fmt: skip
            if force:
                shutil.rmtree(self.path)
        if not self.path.exists():
            if resume and finished.exists():
                return -1  # finished earlier: nothing to do
            for kind, path in outputs.items():
                if path.exists() and not force:
                    raise InputError(f"output exists ({kind}); use --force to overwrite",
                                     path=path)  # fmt: skip
            self.path.mkdir(parents=True)
            write_atomic(self.manifest, json.dumps({"key": key, "drugforge": __version__,
                                                    "config": dict(settings)},
                                                   indent=1).encode())  # fmt: skip
            return 0
        saved = json.loads(self.manifest.read_text()) if self.manifest.exists() else {}
        if saved.get("key") != key:
            before = saved.get("config", {})
            changed = [k for k in settings if k not in unkeyed
                       and before.get(k) != settings.get(k)]  # fmt: skip
            what = ", ".join(changed) or inputs
            raise InputError(f"cannot resume: this {self.what} was started with other settings "
                             f"({what} changed); use --force to start over", path=self.path)  # fmt: skip
        for stale in self.path.glob("*.tmp"):
            stale.unlink()
        return self.committed()

    def write(self, index: int, table: pa.Table) -> None:
        """Commit part ``index``: written under a temporary name, then renamed into place."""
        tmp = self.part(index).with_suffix(".parquet.tmp")
        pq.write_table(table, tmp)
        tmp.replace(self.part(index))

    def read(self, index: int, columns: list[str] | None = None) -> pd.DataFrame:
        return pq.read_table(self.part(index), columns=columns).to_pandas()

    def remove(self) -> None:
        """Delete the work folder (once the outputs are merged and in place)."""
        shutil.rmtree(self.path)
