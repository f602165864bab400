"""From a raw :class:`MolTable` to a clean :class:`MoleculeDataset` (standardized, labelled, unique).

Rules of :func:`prepare_dataset`, in order:

1. Targets must be numeric: empty cells and NA tokens are missing (NaN); any other non-number is
   an error naming the line and column; so is an infinite value. A target with no values is an
   error.
2. SMILES are standardized (:func:`~drugforge.molecules.chem.standardize_many`). Invalid rows are an error
   listing up to 10 line numbers, unless ``skip_invalid`` drops (and reports) them.
3. Rows whose targets are all missing are dropped and counted.
4. Task: given, or ``'classification'`` when every label is 0 or 1, else ``'regression'``.
   Classification labels must be 0/1, and each target needs both classes.
5. Rows with the same standardized SMILES are merged: regression labels by mean or median
   (``dedupe``), classification labels by majority (a tie keeps the first row's label);
   ``dedupe='first'`` keeps the first non-missing label per target, ``'none'`` keeps every row.
   Disagreeing classification labels, or regression labels spread more than
   ``conflict_threshold``, are reported as conflicts. The merged row keeps the first row's
   position (``source_rows``) and its ``split``/``cliff_mol`` values.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from drugforge.core.errors import InputError
from drugforge.molecules.chem.mol import StandardizerConfig, standardize_many
from drugforge.molecules.data.io import MolTable

__all__ = ["Dedupe", "MoleculeDataset", "PrepReport", "Task", "prepare_dataset"]

Task = Literal["regression", "classification"]
Dedupe = Literal["mean", "median", "first", "none"]
DEFAULT_EXTRA_COLUMNS = ("split", "cliff_mol")
_MAX_LISTED = 10
_MISSING = frozenset({"", "na", "n/a", "nan", "-nan", "null", "none", "#n/a", "<na>"})


@dataclass
class MoleculeDataset:
    """Standardized molecules with a float label matrix (a :class:`drugforge.core.dataset.Dataset`).

    Attributes
    ----------
    smiles : standardized SMILES, one per molecule.
    y : ``(n, t)`` float64 labels, NaN = missing.
    target_names : the ``t`` target names.
    task : ``'regression'`` or ``'classification'`` (labels 0/1).
    source_rows : ``(n,)`` row positions in the input table (first row of merged duplicates).
    extra : per-molecule side columns carried through, e.g. ``split``, ``cliff_mol``.
    """

    smiles: list[str]
    y: np.ndarray
    target_names: list[str]
    task: Task
    source_rows: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.smiles = list(self.smiles)
        y = np.asarray(self.y, dtype=np.float64)
        if y.ndim == 1:
            y = y[:, None]
        self.y = y
        self.source_rows = np.asarray(self.source_rows, dtype=np.int64)
        n = len(self.smiles)
        if y.shape != (n, len(self.target_names)):
            raise ValueError(f"y has shape {y.shape}, expected ({n}, {len(self.target_names)})")
        if self.source_rows.shape != (n,):
            raise ValueError(f"source_rows has shape {self.source_rows.shape}, expected ({n},)")
        if self.task not in ("regression", "classification"):
            raise ValueError(f"task must be 'regression' or 'classification', got {self.task!r}")
        self.extra = {k: np.asarray(v) for k, v in self.extra.items()}
        for name, values in self.extra.items():
            if len(values) != n:
                raise ValueError(
                    f"extra column '{name}' has {len(values)} values for {n} molecules"
                )

    def __len__(self) -> int:
        return len(self.smiles)

    @property
    def n_tasks(self) -> int:
        return len(self.target_names)

    @property
    def inputs(self) -> list[str]:
        """The model inputs (:class:`drugforge.core.dataset.Dataset`): the SMILES."""
        return self.smiles

    def subset(self, idx: Sequence[int] | np.ndarray) -> MoleculeDataset:
        """A new dataset with the molecules at positions ``idx`` (in that order)."""
        index = np.asarray(idx, dtype=np.int64).reshape(-1)
        if index.size and (index.min() < -len(self) or index.max() >= len(self)):
            raise IndexError(f"subset index out of range for {len(self)} molecules")
        return MoleculeDataset(
            smiles=[self.smiles[i] for i in index],
            y=self.y[index].copy(),
            target_names=list(self.target_names),
            task=self.task,
            source_rows=self.source_rows[index].copy(),
            extra={k: v[index].copy() for k, v in self.extra.items()},
        )

    def data_hash(self) -> str:
        """SHA-256 over target names, SMILES and labels (NaN-safe, platform independent)."""
        digest = hashlib.sha256()
        digest.update(("\x1f".join(self.target_names) + "\x1e").encode())
        digest.update("\n".join(self.smiles).encode())
        digest.update(b"\x1e")
        y = np.ascontiguousarray(self.y, dtype="<f8").copy()
        mask = np.isnan(y)
        y[mask] = 0.0  # NaN payloads differ across platforms; hash the mask instead
        digest.update(y.tobytes())
        digest.update(np.packbits(mask).tobytes())
        return digest.hexdigest()

    def to_frame(self) -> pd.DataFrame:
        """``smiles``, one column per target, then the extra columns."""
        data: dict[str, Any] = {"smiles": self.smiles}
        for t, name in enumerate(self.target_names):
            data[name] = self.y[:, t]
        for name, values in self.extra.items():
            if name not in data:
                data[name] = values
        return pd.DataFrame(data)


@dataclass
class PrepReport:
    """What :func:`prepare_dataset` did to the input; JSON-ready via :meth:`to_dict`."""

    n_input: int
    n_output: int = 0
    task: str = ""
    task_inferred: bool = False
    n_invalid: int = 0
    invalid: list[tuple[int, str, str]] = field(default_factory=list)  # (line, smiles, error)
    n_missing_labels: int = 0
    n_duplicates_merged: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    label_issues: list[str] = field(default_factory=list)
    line_kind: str = "line"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["invalid"] = [list(item) for item in self.invalid]
        return out

    def summary(self) -> str:
        """One line for logs."""
        parts = [f"{self.n_input} rows -> {self.n_output} molecules ({self.task})"]
        if self.n_invalid:
            parts.append(f"{self.n_invalid} invalid skipped")
        if self.n_missing_labels:
            parts.append(f"{self.n_missing_labels} without labels dropped")
        if self.n_duplicates_merged:
            parts.append(f"{self.n_duplicates_merged} duplicates merged")
        if self.conflicts:
            parts.append(f"{len(self.conflicts)} label conflicts")
        return ", ".join(parts)


def _numeric_target(table: MolTable, column: str) -> np.ndarray:
    """A target column as float64; a non-number raises InputError naming line and column."""
    series = table.frame[column]
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = np.full(len(series), np.nan)
        for i, raw in enumerate(series.tolist()):
            if raw is None or (isinstance(raw, float) and math.isnan(raw)):
                continue
            if isinstance(raw, bool):
                values[i] = float(raw)
                continue
            text = str(raw).strip()
            if text.lower() in _MISSING:
                continue
            try:
                values[i] = float(text)
            except ValueError:
                shown = text if len(text) <= 40 else text[:37] + "..."
                raise InputError(
                    f"target column '{column}' has a non-numeric value '{shown}'",
                    path=table.path,
                    line=int(table.line_numbers[i]),
                ) from None
    bad = np.flatnonzero(np.isinf(values))
    if bad.size:
        raise InputError(
            f"target column '{column}' has an infinite value",
            path=table.path,
            line=int(table.line_numbers[bad[0]]),
        )
    return values


def _where(kind: str, lines: Sequence[int]) -> str:
    word = {"record": "record", "row": "row"}.get(kind, "line")
    listed = ", ".join(str(x) for x in lines[:_MAX_LISTED])
    more = f" and {len(lines) - _MAX_LISTED} more" if len(lines) > _MAX_LISTED else ""
    return f"{word}{'s' if len(lines) > 1 else ''} {listed}{more}"


def _infer_task(y: np.ndarray) -> Task:
    labels = y[~np.isnan(y)]
    return "classification" if labels.size and np.isin(labels, (0.0, 1.0)).all() else "regression"


def _aggregate(values: np.ndarray, task: Task, dedupe: Dedupe) -> float:
    """One label from the labels of duplicate rows (NaN ignored; all-NaN gives NaN)."""
    present = values[~np.isnan(values)]
    if present.size == 0:
        return math.nan
    if dedupe == "first":
        return float(present[0])
    if task == "classification":
        ones = int(np.count_nonzero(present == 1.0))
        zeros = present.size - ones
        return 1.0 if ones > zeros else 0.0 if zeros > ones else float(present[0])
    return float(np.median(present) if dedupe == "median" else np.mean(present))


def prepare_dataset(
    table: MolTable,
    task: Task | None = None,
    skip_invalid: bool = False,
    standardizer: StandardizerConfig | None = None,
    dedupe: Dedupe = "mean",
    *,
    conflict_threshold: float = 1.0,
    extra_columns: Sequence[str] = DEFAULT_EXTRA_COLUMNS,
) -> tuple[MoleculeDataset, PrepReport]:
    """Standardize, validate labels, merge duplicates and infer the task (rules: module docstring).

    Parameters
    ----------
    table : the table from :func:`~drugforge.molecules.data.read_molecules` or the catalog.
    task : force ``'regression'`` or ``'classification'``; inferred when None.
    skip_invalid : drop rows whose SMILES fail standardization instead of stopping.
    standardizer : how SMILES are cleaned (default :class:`StandardizerConfig`).
    dedupe : ``'mean'``, ``'median'``, ``'first'`` or ``'none'`` (keep duplicates).
    conflict_threshold : regression duplicates whose labels span more than this are reported.
    extra_columns : side columns carried into ``dataset.extra`` when present.
    """
    if dedupe not in ("mean", "median", "first", "none"):
        raise InputError(f"unknown dedupe '{dedupe}'; choose from: mean, median, first, none")
    if task is not None and task not in ("regression", "classification"):
        raise InputError(f"unknown task '{task}'; choose from: regression, classification")
    path = table.path
    targets = list(table.target_columns)
    if not targets:
        raise InputError("no target columns; name them (e.g. --target COLUMN)", path=path)
    report = PrepReport(n_input=len(table), line_kind=table.line_kind)
    if len(table) == 0:
        raise InputError("no data rows", path=path)

    # 1. labels
    y = np.column_stack([_numeric_target(table, col) for col in targets])
    for t, col in enumerate(targets):
        if np.isnan(y[:, t]).all():
            raise InputError(f"target column '{col}' has no values", path=path)

    # 2. SMILES
    config = standardizer or StandardizerConfig()
    raw = table.smiles
    clean, errors = standardize_many(raw, config)
    bad = [i for i, s in enumerate(clean) if s is None]
    if bad:
        report.invalid = [(int(table.line_numbers[i]), raw[i], errors[i]) for i in bad]
        report.n_invalid = len(bad)
        if not skip_invalid:
            lines = [int(table.line_numbers[i]) for i in bad]
            first = bad[0]
            shown = raw[first] if len(raw[first]) <= 40 else raw[first][:37] + "..."
            raise InputError(
                f"{len(bad)} invalid SMILES at {_where(table.line_kind, lines)} "
                f"(first: '{shown}': {errors[first]}); fix them or use --skip-invalid",
                path=path,
            )
    keep = np.array([s is not None for s in clean], dtype=bool)

    # 3. rows without any label
    unlabeled = keep & np.isnan(y).all(axis=1)
    report.n_missing_labels = int(unlabeled.sum())
    keep &= ~unlabeled
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        raise InputError("no rows left with a valid SMILES and a label", path=path)

    # 4. task
    y_kept = y[rows]
    if task is None:
        task = _infer_task(y_kept)
        report.task_inferred = True
    if task == "classification":
        _check_binary(table, targets, y, rows)
    else:
        binary = [
            c for t, c in enumerate(targets) if _infer_task(y_kept[:, [t]]) == "classification"
        ]
        if binary and len(binary) < len(targets):
            report.label_issues.append(
                f"target(s) {', '.join(binary)} hold only 0/1 labels but are treated as regression"
            )

    # 5. duplicates
    smiles_kept = [clean[i] for i in rows]
    groups: dict[str, list[int]] = {}
    for pos, smi in enumerate(smiles_kept):
        groups.setdefault(smi, []).append(pos)  # type: ignore[arg-type]
    if dedupe == "none":
        order = list(range(len(rows)))
        y_out = y_kept
        n_dupes = len(rows) - len(groups)
        if n_dupes:
            report.label_issues.append(f"{n_dupes} duplicate molecules kept (dedupe='none')")
    else:
        order = [members[0] for members in groups.values()]
        y_out = y_kept[order].copy()
        for g, members in enumerate(groups.values()):
            if len(members) == 1:
                continue
            report.n_duplicates_merged += len(members) - 1
            for t, col in enumerate(targets):
                values = y_kept[members, t]
                y_out[g, t] = _aggregate(values, task, dedupe)
                present = values[~np.isnan(values)]
                if present.size > 1 and (
                    (task == "classification" and np.unique(present).size > 1)
                    or (task == "regression" and np.ptp(present) > conflict_threshold)
                ):
                    report.conflicts.append(
                        {
                            "smiles": smiles_kept[members[0]],
                            "target": col,
                            "lines": [int(table.line_numbers[rows[m]]) for m in members],
                            "values": [float(v) for v in values],
                        }
                    )
    source = rows[order]
    if task == "classification":
        for t, col in enumerate(targets):
            classes = np.unique(y_out[:, t][~np.isnan(y_out[:, t])])
            if classes.size < 2:
                only = ", ".join(str(int(c)) for c in classes) or "none"
                raise InputError(
                    f"target '{col}' has a single class ({only}); classification needs both 0 and 1",
                    path=path,
                )

    extra: dict[str, np.ndarray] = {}
    for name in extra_columns:
        if name in table.frame.columns and name not in targets:
            extra[name] = table.frame[name].to_numpy()[source]

    dataset = MoleculeDataset(
        smiles=[smiles_kept[i] for i in order],  # type: ignore[misc]
        y=y_out,
        target_names=targets,
        task=task,
        source_rows=source,
        extra=extra,
    )
    report.n_output = len(dataset)
    report.task = task
    return dataset, report


def _check_binary(table: MolTable, targets: list[str], y: np.ndarray, rows: np.ndarray) -> None:
    for t, col in enumerate(targets):
        values = y[rows, t]
        bad = np.flatnonzero(~np.isnan(values) & ~np.isin(values, (0.0, 1.0)))
        if bad.size:
            row = int(rows[bad[0]])
            raise InputError(
                f"classification labels must be 0 or 1; target '{col}' has {values[bad[0]]:g} "
                f"({bad.size} such values)",
                path=table.path,
                line=int(table.line_numbers[row]),
            )
