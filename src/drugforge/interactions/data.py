"""Drug-target pair data: read the three-file layout or one table, validate, keep every row.

Two layouts are read (CSV/TSV, optionally ``.gz``; UTF-8 unless an encoding is given):

- three files, as DeepDTA's DAVIS/KIBA releases: ``drugs.csv`` (``drug_id,smiles``),
  ``targets.csv`` (``target_id,target_sequence``) and pairs (``drug_id,target_id[,affinity]
  [,split]``);
- one table with ``smiles,target_sequence[,affinity][,split]`` (optional ``drug_id`` and
  ``target_id`` columns name the entities; else the SMILES and a sequence hash do).

Every problem with a file is one :class:`~drugforge.core.errors.InputError` line naming the file
and line: a missing column, an empty file, a duplicate id with two different values, a pair
naming an unknown drug or target, a label that is not a number. Invalid SMILES and sequences are
not fatal when reading: each pair records its error text (row-wise jobs keep and mark the row;
training lists them and stops unless told to skip them).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Self

import numpy as np

from drugforge.core.errors import InputError
from drugforge.molecules.data.io_text import (
    RawTable,
    choose_delimiter,
    decode_text,
    gunzip,
    parse_delimited,
)
from drugforge.proteins.sequences import check_sequence, normalize_sequence

__all__ = [
    "LABEL",
    "TARGETS_FILE",
    "PairDataset",
    "read_pair_data",
    "read_table_columns",
    "sequence_id",
]

LABEL = "affinity"
#: the sequences a pair model was trained on, saved beside it (``target_id,target_sequence``)
TARGETS_FILE = "targets.csv"


def sequence_id(sequence: str) -> str:
    """A stable id for a sequence given without one (``seq:`` + 12 hex digits of its SHA-1)."""
    return "seq:" + hashlib.sha1(sequence.encode()).hexdigest()[:12]


def read_table_columns(
    path: str | PathLike[str], required: Sequence[str], *, encoding: str | None = None
) -> RawTable:
    """A delimited text table as string columns with line numbers; ``required`` columns must
    exist (matched case-insensitively and renamed to the given spelling)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=p) from None
    except OSError as err:
        raise InputError(f"cannot read the file ({err.strerror})", path=p) from None
    if p.suffix == ".gz":
        raw = gunzip(raw, p)
    text = decode_text(raw, p, encoding)
    name = p.name[:-3] if p.suffix == ".gz" else p.name
    default = "\t" if name.endswith((".tsv", ".tab")) else ","
    header, table = parse_delimited(text, choose_delimiter(text, default), p)
    if table.n_rows == 0:
        raise InputError("file has a header but no data rows", path=p)
    lower = {h.lower(): h for h in header}
    for col in required:
        if col.lower() not in lower:
            raise InputError(f"missing column '{col}' (found: {', '.join(header)})", path=p)
        src = lower[col.lower()]
        if src != col:
            table.columns[col] = table.columns.pop(src)
    return table


def _lookup_table(path: str | PathLike[str], id_col: str, value_col: str,
                  encoding: str | None) -> dict[str, tuple[str, int]]:  # fmt: skip
    """``id -> (value, line)``; a repeated id with another value is an error."""
    table = read_table_columns(path, [id_col, value_col], encoding=encoding)
    out: dict[str, tuple[str, int]] = {}
    for key, value, line in zip(table.columns[id_col], table.columns[value_col], table.lines,
                                strict=True):  # fmt: skip
        key, value = key.strip(), value.strip()
        if not key:
            raise InputError(f"empty {id_col}", path=path, line=line)
        if key in out and out[key][0] != value:
            raise InputError(f"{id_col} '{key}' appears twice with different values "
                             f"(first on line {out[key][1]})", path=path, line=line)  # fmt: skip
        out.setdefault(key, (value, line))
    return out


def _labels(values: list[str] | None, n: int, path: Path, lines: list[int]) -> np.ndarray:
    y = np.full(n, np.nan)
    if values is None:
        return y
    for i, (text, line) in enumerate(zip(values, lines, strict=True)):
        text = text.strip()
        if text == "" or text.lower() in ("nan", "na", "n/a", "none", "null"):
            continue  # unlabelled
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"{LABEL} '{text}' is not a number", path=path, line=line) from None
        if not math.isfinite(value):
            raise InputError(f"{LABEL} '{text}' is not a finite number", path=path, line=line)
        y[i] = value
    return y


@dataclass
class PairDataset:
    """Labelled (or unlabelled) drug-target pairs; satisfies :class:`drugforge.core.dataset.Dataset`.

    ``smiles``/``sequences`` are what the models take (standardized and validated by
    :func:`~drugforge.interactions.models.base.PairPredictor.prepare_inputs` before training);
    ``errors[i]`` is ``''`` for a usable pair, else why it cannot be used.
    """

    drug_ids: list[str]
    target_ids: list[str]
    smiles: list[str]
    sequences: list[str]
    y: np.ndarray  # (n, 1) float64, NaN = unlabelled
    lines: list[int]
    source: str
    errors: list[str] = field(default_factory=list)
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    #: the pairs file's own columns (strings, in file order), for outputs that keep them
    columns: dict[str, list[str]] = field(default_factory=dict, repr=False)
    task: str = "regression"

    def __post_init__(self) -> None:
        if not self.errors:
            self.errors = [""] * len(self.drug_ids)

    @property
    def inputs(self) -> list[tuple[str, str]]:
        return list(zip(self.smiles, self.sequences, strict=True))

    @property
    def target_names(self) -> list[str]:
        return [LABEL]

    def __len__(self) -> int:
        return len(self.drug_ids)

    def location(self, row: int) -> str:
        return f"{self.source}:{self.lines[row]}"

    def subset(self, idx: Sequence[int] | np.ndarray) -> Self:
        ix = [int(i) for i in idx]
        return type(self)(
            [self.drug_ids[i] for i in ix], [self.target_ids[i] for i in ix],
            [self.smiles[i] for i in ix], [self.sequences[i] for i in ix], self.y[ix],
            [self.lines[i] for i in ix], self.source, [self.errors[i] for i in ix],
            {k: v[ix] for k, v in self.extra.items()}, task=self.task,
        )  # fmt: skip

    def drugs(self) -> dict[str, str]:
        """``drug_id -> smiles`` of the pairs (first occurrence)."""
        return dict(zip(reversed(self.drug_ids), reversed(self.smiles), strict=True))

    def targets(self) -> dict[str, str]:
        """``target_id -> sequence`` of the pairs."""
        return dict(zip(reversed(self.target_ids), reversed(self.sequences), strict=True))


def read_pair_data(
    pairs: str | PathLike[str],
    drugs: str | PathLike[str] | None = None,
    targets: str | PathLike[str] | None = None,
    *,
    encoding: str | None = None,
    unknown_ids: str = "error",
) -> PairDataset:
    """Read pairs in the three-file layout (``drugs`` and ``targets`` given) or as one table.

    A ``split`` column is kept in ``extra["split"]``. Invalid SMILES are kept as given (the
    models' input preparation marks them); an invalid sequence is marked in ``errors``. A pair
    naming a drug or target id missing from its file stops the read (``unknown_ids="error"``,
    training) or is marked in ``errors`` (``"mark"``, prediction keeps every row).
    """
    if (drugs is None) != (targets is None):
        raise InputError("give both --drugs and --targets (three-file layout) or neither "
                         "(one table with smiles,target_sequence)")  # fmt: skip
    path = Path(pairs)
    if drugs is not None and targets is not None:
        table = read_table_columns(path, ["drug_id", "target_id"], encoding=encoding)
        drug_map = _lookup_table(drugs, "drug_id", "smiles", encoding)
        target_map = _lookup_table(targets, "target_id", "target_sequence", encoding)
        d_ids = [v.strip() for v in table.columns["drug_id"]]
        t_ids = [v.strip() for v in table.columns["target_id"]]
        missing = [""] * table.n_rows
        for ids, known, what, where in ((d_ids, drug_map, "drug_id", drugs),
                                        (t_ids, target_map, "target_id", targets)):  # fmt: skip
            for i, (key, line) in enumerate(zip(ids, table.lines, strict=True)):
                if key not in known:
                    text = f"{what} '{key}' is not in {Path(where).name}"
                    if unknown_ids == "error":
                        raise InputError(text, path=path, line=line)
                    missing[i] = missing[i] or text
        smiles = [drug_map[k][0] if k in drug_map else "" for k in d_ids]
        raw_seqs = [target_map[k][0] if k in target_map else "A" for k in t_ids]
    else:
        table = read_table_columns(path, ["smiles", "target_sequence"], encoding=encoding)
        smiles = [v.strip() for v in table.columns["smiles"]]
        raw_seqs = table.columns["target_sequence"]
        d_ids = ([v.strip() for v in table.columns["drug_id"]] if "drug_id" in table.columns
                 else list(smiles))  # fmt: skip
        t_ids = (
            [v.strip() for v in table.columns["target_id"]] if "target_id" in table.columns
            else [sequence_id(normalize_sequence(s)) if check_sequence(s) is None else s
                  for s in raw_seqs]
        )  # fmt: skip
    errors: list[str] = []
    seqs: list[str] = []
    checked: dict[str, tuple[str, str]] = {}
    for s in raw_seqs:
        if s not in checked:
            err = check_sequence(s)
            checked[s] = (s if err else normalize_sequence(s), err or "")
        seqs.append(checked[s][0])
        errors.append(checked[s][1])
    if drugs is not None:
        errors = [m or e for m, e in zip(missing, errors, strict=True)]
    y = _labels(table.columns.get(LABEL), table.n_rows, path, table.lines)
    extra: dict[str, Any] = {}
    if "split" in table.columns:
        extra["split"] = np.asarray([v.strip() for v in table.columns["split"]], dtype=object)
    return PairDataset(d_ids, t_ids, smiles, seqs, y[:, None], list(table.lines), str(path),
                       errors, extra, columns=table.columns)  # fmt: skip
