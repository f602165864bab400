"""Where a command's molecule data comes from: a file, or a catalog dataset name."""

from __future__ import annotations

from pathlib import Path

from drugforge.core.errors import InputError
from drugforge.molecules.data.catalog import dataset_info
from drugforge.molecules.data.catalog_load import load_dataset
from drugforge.molecules.data.io import MolTable, read_molecules

__all__ = ["read_input"]


def read_input(
    data: str,
    smiles_column: str | None = None,
    target_columns: list[str] | None = None,
) -> MolTable:
    """Read ``data`` as a file path, or, when no such file exists, as a catalog dataset name."""
    path = Path(data)
    if not path.exists() and _is_catalog_name(data):
        table = load_dataset(data)
        if smiles_column is not None or target_columns:
            # re-select columns on the catalog table through the same reader rules
            frame = table.frame
            for col in [smiles_column, *(target_columns or [])]:
                if col is not None and col not in frame.columns:
                    raise InputError(
                        f"column '{col}' not found; available: {', '.join(map(str, frame.columns))}",
                        path=data,
                    )
            if smiles_column is not None:
                table.smiles_column = smiles_column
            if target_columns:
                table.target_columns = list(target_columns)
        return table
    return read_molecules(path, smiles_column=smiles_column, target_columns=target_columns)


def _is_catalog_name(name: str) -> bool:
    try:
        dataset_info(name)
    except (InputError, ValueError, KeyError):
        return False
    return True
