"""The profile of a molecule: a ready drug-likeness and toxicity panel, no training.

One row per input SMILES, in input order, with:

* the physicochemical values of :mod:`drugforge.molecules.chem.properties` (``mw`` ..
  ``sa_score``);
* the rules of :mod:`drugforge.molecules.chem.alerts`: ``lipinski_violations``, ``lipinski``,
  ``veber``, ``leadlike`` (booleans), then per alert family a boolean (``PAINS``, ``Brenk``,
  ``NIH``) and a count (``n_PAINS`` ...), and ``alerts``: every hit as
  ``FAMILY:name [atoms i,j,...]`` joined by ``"; "`` (0-based atom indices);
* the predicted endpoints of the shipped prediction panel when it is installed
  (``<name>``, ``<name>_std``, ``<name>_ad_similarity``, ``<name>_in_domain``);
* ``<column>_pctl_drugs``: the percentile (0-100) of each value among approved drugs
  (:mod:`drugforge.molecules.data.reference_drugs`);
* ``error``: empty for a profiled row, else why not (empty or invalid SMILES, a molecule above
  the heavy-atom limit, an RDKit failure). Such rows keep NaN/empty values; nothing is dropped.

Molecules are profiled as written (no salt stripping or neutralization): the profile describes
the structure the user gave. The panel's endpoints alone are predicted for the standardized
parent (largest fragment, neutralized), the form its models were trained on. Molecules above
``max_heavy_atoms`` (default 200: the largest approved drug of the reference set has 200) are
refused with an error rather than spending seconds on substructure searches; so is SMILES text
longer than 12 characters per allowed atom.

:func:`profile_frame` is a pure function of a list of SMILES, so a chunked engine can call it
chunk by chunk (:func:`profile_many` does, through :mod:`drugforge.core.engine`); :class:`Profiler`
holds what is loaded once (alert catalogs, reference, panel). ``drugforge profile``
(:mod:`drugforge.workflows.profile`) reads a file, calls :func:`profile_many` and writes the rows.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from rdkit import Chem

from drugforge.core.engine import make_engine
from drugforge.core.errors import DrugforgeError
from drugforge.core.progress import Progress
from drugforge.molecules.chem.alerts import (
    ALERT_FAMILIES,
    RULE_COLUMNS,
    SubstructureScreen,
    alert_matcher,
    count_families,
    format_alerts,
    rule_columns,
)
from drugforge.molecules.chem.mol import (
    changed_by_standardizer,
    parse_smiles,
    smiles_problem,
    standardize_smiles,
)
from drugforge.molecules.chem.properties import PROPERTY_COLUMNS, properties_many, qed_queries
from drugforge.molecules.data.reference_drugs import load_reference
from drugforge.molecules.panel import Panel, list_panel

__all__ = [
    "DEFAULT_MAX_HEAVY_ATOMS",
    "Profiler",
    "default_profiler",
    "profile_frame",
    "profile_many",
]

DEFAULT_MAX_HEAVY_ATOMS = 200
_CHARS_PER_ATOM = 12
_BOOL_COLUMNS = ("lipinski", "veber", "leadlike")
#: the properties the rules are computed from
_RULE_INPUTS = ("mw", "clogp", "hbd", "hba", "tpsa", "rotatable_bonds")


class Profiler:
    """Computes profile rows; loads the catalogs, the reference and the panel once.

    Parameters
    ----------
    panel : add the prediction panel's endpoints (when installed).
    percentiles : add ``<column>_pctl_drugs`` columns.
    max_heavy_atoms : refuse bigger molecules (an error row).
    log : where to say that the panel is missing (once).
    """

    def __init__(
        self,
        *,
        panel: bool = True,
        percentiles: bool = True,
        max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if isinstance(max_heavy_atoms, bool) or int(max_heavy_atoms) < 1:
            raise ValueError(f"max_heavy_atoms must be a positive integer, got {max_heavy_atoms!r}")
        self.settings: dict[str, Any] = {
            "panel": panel,
            "percentiles": percentiles,
            "max_heavy_atoms": int(max_heavy_atoms),
        }
        self.max_heavy_atoms = int(max_heavy_atoms)
        self._alerts = alert_matcher(ALERT_FAMILIES)
        n_alert_queries = len(self._alerts)
        # one screen for the catalog entries and QED's patterns: atoms and bonds are read once
        self._screen = SubstructureScreen([*self._alerts.queries, *qed_queries()])
        self._split = n_alert_queries
        # loaded on first use and shared with the copies of :meth:`with_max_heavy_atoms`
        self._lazy: dict[str, Any] = {"panel": None, "lock": threading.Lock()}
        self._endpoints: list[str] = []
        self.panel_note = ""
        if panel:
            self._endpoints, self.panel_note = _panel_endpoints()
            if self.panel_note and log is not None:
                log(self.panel_note)
        self._reference = load_reference() if percentiles else None
        #: seconds spent per component (parse, screen, properties, alerts, panel, rules, ...)
        self.timings: dict[str, float] = {}

    def with_max_heavy_atoms(self, max_heavy_atoms: int) -> Profiler:
        """This profiler with another size limit, sharing its catalogs, reference and panel."""
        if isinstance(max_heavy_atoms, bool) or int(max_heavy_atoms) < 1:
            raise ValueError(f"max_heavy_atoms must be a positive integer, got {max_heavy_atoms!r}")
        other = copy.copy(self)
        other.max_heavy_atoms = int(max_heavy_atoms)
        other.settings = {**self.settings, "max_heavy_atoms": int(max_heavy_atoms)}
        other.timings = {}
        return other

    def endpoint_names(self) -> list[str]:
        """The panel endpoints this profiler predicts ([] without a panel)."""
        return list(self._endpoints)

    def reference_columns(self) -> list[str]:
        """Columns that get an approved-drug percentile: the properties and endpoint values."""
        return [*PROPERTY_COLUMNS, *self._endpoints]

    def _tick(self, name: str, started: float) -> float:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - started
        return now

    def _parse(self, smiles: Sequence[object]) -> tuple[list[Chem.Mol | None], list[str]]:
        limit_chars = _CHARS_PER_ATOM * self.max_heavy_atoms
        mols: list[Chem.Mol | None] = []
        errors: list[str] = []
        for raw in smiles:
            if isinstance(raw, str) and len(raw.strip()) > limit_chars:
                mols.append(None)
                errors.append(
                    f"SMILES of {len(raw.strip())} characters is too long (limit {limit_chars})"
                )
                continue
            mol = parse_smiles(raw)  # type: ignore[arg-type]
            if mol is None:
                mols.append(None)
                errors.append(smiles_problem(raw))
                continue
            heavy = mol.GetNumHeavyAtoms()
            if heavy > self.max_heavy_atoms:
                mols.append(None)
                errors.append(f"molecule has {heavy} heavy atoms (limit {self.max_heavy_atoms})")
                continue
            mols.append(mol)
            errors.append("")
        return mols, errors

    def column_names(self) -> list[str]:
        """Every column :meth:`profile` writes before ``error``, in output order."""
        names = [*PROPERTY_COLUMNS, *RULE_COLUMNS, *ALERT_FAMILIES]
        names += [f"n_{family}" for family in ALERT_FAMILIES]
        names += ["alerts", *self._panel_columns()]
        if self._reference is not None:
            names += [f"{c}_pctl_drugs" for c in self.reference_columns()
                      if c in self._reference.columns]  # fmt: skip
        return names

    def profile(self, smiles: Sequence[object]) -> pd.DataFrame:
        """One row per SMILES, in order (see the module docstring for the columns)."""
        started = time.perf_counter()
        mols, errors = self._parse(smiles)
        self._tick("parse", started)
        return self.profile_mols(mols, errors)

    def profile_mols(
        self,
        mols: Sequence[Chem.Mol | None],
        errors: Sequence[str] | None = None,
        columns: Collection[str] | None = None,
    ) -> pd.DataFrame:
        """The profile of parsed molecules: one row each, in order, with an ``error`` column.

        ``None`` molecules (and those whose ``errors`` entry is set) get an empty row with that
        error. ``columns`` (a subset of :meth:`column_names`) limits the work to what those
        columns need, e.g. QED alone parses nothing more and matches no alert catalog.
        """
        started = time.perf_counter()
        n = len(mols)
        errors = [""] * n if errors is None else list(errors)
        everything = self.column_names()
        want = set(everything) if columns is None else set(columns)
        unknown = sorted(want - set(everything))
        if unknown:
            raise ValueError(f"unknown profile column '{unknown[0]}'; choose from: "
                             f"{', '.join(everything)}")  # fmt: skip
        pctl = {c.removesuffix("_pctl_drugs") for c in want if c.endswith("_pctl_drugs")}
        needed = want | pctl
        prop_needed = needed & set(PROPERTY_COLUMNS)
        if needed & set(RULE_COLUMNS):
            prop_needed |= set(_RULE_INPUTS)
        alerts_needed = bool(needed & {*ALERT_FAMILIES, "alerts"}) or any(
            f"n_{family}" in needed for family in ALERT_FAMILIES
        )
        panel_needed = bool(needed & set(self._panel_columns()))
        ok = [i for i, m in enumerate(mols) if m is not None and not errors[i]]
        good = [cast(Chem.Mol, mols[i]) for i in ok]
        columns_out: dict[str, Any] = {}

        screened = np.ones((len(ok), len(self._alerts) + len(qed_queries())), dtype=bool)
        if alerts_needed or "qed" in prop_needed:
            screened = self._screen.candidates(good)
            started = self._tick("screen", started)

        if prop_needed:
            qed_candidates = np.ones((n, screened.shape[1] - self._split), dtype=bool)
            qed_candidates[ok] = screened[:, self._split :]
            values, prop_errors = properties_many(
                [m if not errors[i] else None for i, m in enumerate(mols)],
                qed_candidates=qed_candidates, columns=prop_needed,
            )  # fmt: skip
            for i, err in enumerate(prop_errors):
                if err:
                    errors[i] = err
            columns_out.update(values)
            started = self._tick("properties", started)
            if needed & set(RULE_COLUMNS):
                rules = rule_columns(values)
                for name in RULE_COLUMNS:
                    columns_out[name] = (
                        _boolean(rules[name]) if name in _BOOL_COLUMNS else rules[name]
                    )
                started = self._tick("rules", started)

        if alerts_needed:
            hits = self._alerts.match(good, screened[:, : self._split])
            counts = np.full((n, len(ALERT_FAMILIES)), np.nan)
            alert_text = [""] * n
            for i, found in zip(ok, hits):
                counts[i] = count_families(found, ALERT_FAMILIES)
                alert_text[i] = format_alerts(found)
            for j, family in enumerate(ALERT_FAMILIES):
                columns_out[family] = _boolean(
                    np.where(np.isnan(counts[:, j]), np.nan, counts[:, j] > 0)
                )
                columns_out[f"n_{family}"] = pd.array(
                    [None if np.isnan(v) else int(v) for v in counts[:, j]], dtype="Int64"
                )
            columns_out["alerts"] = pd.array(alert_text, dtype=str)  # text even when empty
            started = self._tick("alerts", started)

        if panel_needed:
            columns_out.update(self._predict_panel(list(mols), ok, errors))
            started = self._tick("panel", started)

        if self._reference is not None and pctl:
            for name in self.reference_columns():
                if name in pctl and name in self._reference.columns:
                    raw = np.asarray(columns_out[name], dtype=np.float64)
                    columns_out[f"{name}_pctl_drugs"] = self._reference.percentile(name, raw)
            started = self._tick("percentiles", started)

        # a row that failed keeps no partial values: everything but the error is missing
        frame = pd.DataFrame({c: columns_out[c] for c in everything if c in want}, index=range(n))
        failed = np.array([bool(e) for e in errors], dtype=bool)
        if failed.any():
            frame.loc[failed, [c for c in frame.columns if c != "alerts"]] = np.nan
            if "alerts" in frame.columns:
                frame.loc[failed, "alerts"] = ""
        frame["error"] = pd.array(errors, dtype=str)
        self._tick("frame", started)
        return frame

    def _predict_panel(
        self, mols: list[Chem.Mol | None], ok: list[int], errors: list[str]
    ) -> dict[str, Any]:
        n = len(mols)
        rows = [i for i in ok if not errors[i]]
        # the panel was trained on standardized molecules (largest fragment, neutral): a salt or
        # a charged form is predicted as its parent, as `drugforge predict` would
        good = []
        for i in rows:
            mol = cast(Chem.Mol, mols[i])
            if changed_by_standardizer(mol):  # what `drugforge predict` would give the model
                clean, error = standardize_smiles(Chem.MolToSmiles(mol))
                parent = parse_smiles(clean) if clean is not None else None
                if parent is None:
                    errors[i] = error or "standardization failed"
                    continue
                mol = parent
            good.append(mol)
        rows = [i for i in rows if not errors[i]]
        panel = self._lazy["panel"]
        if panel is None and good:
            with self._lazy["lock"]:  # on first use: a QED-only screen never needs it
                if self._lazy["panel"] is None:
                    self._lazy["panel"] = Panel.load(names=None)
                panel = self._lazy["panel"]
        try:
            predicted = panel.predict(good) if good else None
        except (DrugforgeError, ValueError, RuntimeError) as err:
            for i in rows:
                errors[i] = f"panel prediction failed: {' '.join(str(err).split())}"
            predicted = None
        out: dict[str, Any] = {}
        names = self._panel_columns()
        for name in names:
            full = np.full(n, np.nan)
            if predicted is not None and name in predicted.columns:
                full[rows] = predicted[name].to_numpy(dtype=np.float64, na_value=np.nan)
            out[name] = _boolean(full) if name.endswith("_in_domain") else full
        return out

    def _panel_columns(self) -> list[str]:
        out = []
        for name in self._endpoints:
            out += [name, f"{name}_std", f"{name}_ad_similarity", f"{name}_in_domain"]
        return out


def _boolean(values: np.ndarray) -> pd.arrays.BooleanArray:
    """Float 1/0/NaN (or bool) -> pandas' nullable boolean (NaN -> <NA>)."""
    x = np.asarray(values, dtype=np.float64)
    return pd.array([None if np.isnan(v) else bool(v) for v in x], dtype="boolean")


def _panel_endpoints() -> tuple[list[str], str]:
    """(endpoint names of the shipped panel, note); the note says why there are none."""
    endpoints = list_panel()
    if not endpoints:
        return [], "profile: no prediction-panel models are shipped; no endpoint columns"
    return [str(e.name) for e in endpoints], ""


_DEFAULT_PROFILERS: dict[tuple[bool, bool], Profiler] = {}
_DEFAULT_LOCK = threading.Lock()


def default_profiler(
    panel: bool = True, percentiles: bool = True, max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS
) -> Profiler:
    """The process-wide profiler for these settings (thread-safe; built on first use).

    One is built per ``(panel, percentiles)``; another ``max_heavy_atoms`` is a cheap copy that
    shares its catalogs, reference and panel, so a server asked for many limits loads them once.
    """
    with _DEFAULT_LOCK:
        base = _DEFAULT_PROFILERS.get((panel, percentiles))
        if base is None:
            base = Profiler(panel=panel, percentiles=percentiles)
            _DEFAULT_PROFILERS[(panel, percentiles)] = base
    if int(max_heavy_atoms) == base.max_heavy_atoms:
        return base
    return base.with_max_heavy_atoms(max_heavy_atoms)


def profile_frame(
    smiles: Sequence[object],
    *,
    profiler: Profiler | None = None,
    panel: bool = True,
    percentiles: bool = True,
    max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS,
) -> pd.DataFrame:
    """The profile of each SMILES: one row per input, in order, with an ``error`` column.

    ``profiler`` is reused when given (its own settings apply); otherwise a process-wide one
    with the given settings is built on first use.
    """
    if profiler is None:
        profiler = default_profiler(panel, percentiles, max_heavy_atoms)
    return profiler.profile(list(smiles))


# ----------------------------------------------------------------------------- workers


@dataclass(frozen=True)
class _ProfileTask:
    """The engine's picklable recipe of a worker: a :class:`Profiler` with these settings."""

    panel: bool
    percentiles: bool
    max_heavy_atoms: int

    @property
    def key(self) -> str:
        return f"profile:{self.panel}:{self.percentiles}:{self.max_heavy_atoms}"

    def build(self) -> _ProfileWorker:
        return _ProfileWorker(Profiler(panel=self.panel, percentiles=self.percentiles,
                                       max_heavy_atoms=self.max_heavy_atoms))  # fmt: skip


@dataclass
class _ProfileWorker:
    profiler: Profiler

    def process(self, chunk: list[object]) -> pd.DataFrame:
        return self.profiler.profile(chunk)


def _chunks(items: list[object], size: int) -> Iterator[list[object]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def profile_many(
    smiles: Sequence[object],
    *,
    profiler: Profiler,
    n_jobs: int = 1,
    chunk_size: int = 2000,
    quiet: bool = True,
) -> pd.DataFrame:
    """:func:`profile_frame` over ``n_jobs`` worker processes in chunks (order kept).

    The workers are the core engine's (:func:`~drugforge.core.engine.make_engine`, local
    processes), each building a :class:`Profiler` with ``profiler.settings`` once.
    """
    items = list(smiles)
    progress = Progress(total=len(items), label="profile", quiet=quiet)
    parts: list[pd.DataFrame] = []
    try:
        if n_jobs <= 1 or len(items) <= chunk_size:
            for chunk in _chunks(items, chunk_size):
                parts.append(profiler.profile(chunk))
                progress.update(len(chunk))
        else:
            engine = make_engine(_ProfileTask(**profiler.settings), "local", n_jobs=n_jobs)
            try:
                for part in engine.map(_chunks(items, chunk_size)):
                    parts.append(part)
                    progress.update(len(part))
            finally:
                engine.close()
    finally:
        progress.close()
    if not parts:
        return profiler.profile([])
    return pd.concat(parts, ignore_index=True)
