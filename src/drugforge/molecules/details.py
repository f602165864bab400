"""One molecule in detail (the web app's molecule page): alerts with atoms, panel endpoints with
uncertainty and applicability domain, and the nearest training molecules of each panel model.

:func:`molecule_details` takes a molecule's profile row (``POST /v1/profile``'s row) and adds:

- ``alerts``: every PAINS/Brenk/NIH alert with its family, catalog name and matched atoms
  (0-based indices of the molecule as parsed from its SMILES, the depiction's indices);
- ``endpoints``: per panel endpoint its group, task, units, description, prediction, ``std``,
  ``ad_similarity``, ``in_domain`` and the group's AD ``threshold`` (values from the row);
- ``neighbours``: per panel group the ``k`` most similar training molecules (Tanimoto on the
  same ECFP4 bits the AD uses, ``ad_train.safetensors``), each with its training index,
  similarity and SMILES. The SMILES come from the shipped model's split manifest
  (``model/split.json``, ``smiles.train``, which lists the training molecules in the order the
  bits were stored); where that list is missing or has another length, ``smiles`` is ``None``
  and the group's ``note`` says why; the index and similarity stay exact.

The query is the standardized parent (largest fragment, neutral), the molecule the panel
predicts, so the first neighbour's similarity is the row's ``<endpoint>_ad_similarity``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from rdkit import Chem

from drugforge.molecules.chem import parse_smiles_or_raise, standardize_smiles
from drugforge.molecules.chem.alerts import find_alerts
from drugforge.molecules.panel import (
    AD_SIZE,
    PANEL_DIR,
    ad_bits,
    list_panel,
    load_ad_packed,
    panel_spec,
)

__all__ = ["TrainingSet", "molecule_details", "training_sets"]


@dataclass(frozen=True)
class TrainingSet:
    """One panel group's training molecules: AD bits (unpacked) and, when known, SMILES."""

    group: str
    threshold: float
    bits: np.ndarray  # (n, 2048) bool
    counts: np.ndarray  # (n,) float32, |bits| per molecule (at least 1)
    smiles: list[str] | None
    note: str  # why ``smiles`` is None ('' when known)

    def nearest(self, query: np.ndarray, k: int) -> list[dict[str, Any]]:
        """The ``k`` most similar training molecules to ``query`` (2048 bool), best first."""
        inter = self.bits[:, query].sum(axis=1, dtype=np.float32)  # |q & r| per molecule
        sim = inter / (self.counts + np.float32(query.sum()) - inter)
        k = min(k, len(sim))
        top = np.argpartition(-sim, k - 1)[:k] if k < len(sim) else np.arange(len(sim))
        top = top[np.lexsort((top, -sim[top]))]  # by similarity, then index: deterministic
        return [
            {"index": int(i), "similarity": round(float(sim[i]), 4),
             "smiles": self.smiles[i] if self.smiles is not None else None}
            for i in top
        ]  # fmt: skip


def _training_smiles(group_dir: Path, spec: Mapping[str, Any], n: int) -> tuple[list[str] | None, str]:
    path = group_dir / str(spec.get("model", "model")) / "split.json"
    try:
        split = json.loads(path.read_text())
        smiles = split["smiles"]["train"]
    except (OSError, ValueError, KeyError, TypeError):
        return None, "the model's split manifest lists no training SMILES; neighbours by index"
    if not isinstance(smiles, list) or len(smiles) != n or not all(isinstance(s, str) for s in smiles):
        return None, (f"the model's split manifest lists {len(smiles) if isinstance(smiles, list) else 0}"
                      f" training SMILES for {n} stored fingerprints; neighbours by index")  # fmt: skip
    return smiles, ""


def _load_training_set(group_dir: Path) -> TrainingSet:
    spec = panel_spec(group_dir)
    ad = spec["ad"]
    packed = load_ad_packed(group_dir, ad)
    bits = np.unpackbits(packed, axis=1, count=AD_SIZE).astype(bool)
    counts = np.maximum(bits.sum(axis=1), 1).astype(np.float32)
    smiles, note = _training_smiles(group_dir, spec, len(bits))
    return TrainingSet(str(spec.get("group", group_dir.name)), float(ad["threshold"]), bits,
                       counts, smiles, note)  # fmt: skip


@lru_cache(maxsize=2)
def training_sets(root: Path = PANEL_DIR) -> dict[str, TrainingSet]:
    """Every panel group's :class:`TrainingSet`, by group directory name (loaded once)."""
    groups = sorted({ep.path for ep in list_panel(root)})
    return {path.name: _load_training_set(path) for path in groups}


def _number(value: Any) -> float | None:
    """A JSON-safe float (None for missing/NaN)."""
    if value is None or isinstance(value, bool):
        return None
    x = float(value)
    return None if math.isnan(x) else x


def _parent(mol: Chem.Mol) -> Chem.Mol | None:
    clean, _ = standardize_smiles(Chem.MolToSmiles(mol))
    return Chem.MolFromSmiles(clean) if clean is not None else None


def molecule_details(
    smiles: str,
    row: Mapping[str, Any],
    *,
    k: int = 5,
    root: Path = PANEL_DIR,
) -> dict[str, Any]:
    """Alerts, panel endpoints and training neighbours of ``smiles`` (see the module docstring).

    ``row`` is the molecule's profile row (its ``<endpoint>``, ``_std``, ``_ad_similarity`` and
    ``_in_domain`` values are reported per endpoint). An invalid SMILES raises
    :class:`~drugforge.core.errors.InvalidSmilesError`.
    """
    mol = parse_smiles_or_raise(smiles)
    alerts = [{"family": a.family, "name": a.name, "atoms": list(a.atoms)} for a in find_alerts(mol)]
    endpoints: list[dict[str, Any]] = []
    for ep in list_panel(root):
        in_domain = row.get(f"{ep.name}_in_domain")
        endpoints.append({
            "name": ep.name, "group": ep.path.name, "task": ep.task, "units": ep.units,
            "description": ep.description, "value": _number(row.get(ep.name)),
            "std": _number(row.get(f"{ep.name}_std")),
            "ad_similarity": _number(row.get(f"{ep.name}_ad_similarity")),
            "in_domain": None if in_domain is None else bool(in_domain),
        })  # fmt: skip
    neighbours: dict[str, Any] = {}
    sets = training_sets(root) if endpoints else {}
    parent = _parent(mol) if sets else None
    query = ad_bits([parent])[0] if parent is not None else None
    for name, train in sets.items():
        for entry in endpoints:
            if entry["group"] == name:
                entry["threshold"] = train.threshold
        neighbours[name] = {
            "n_train": len(train.bits),
            "threshold": train.threshold,
            "molecules": train.nearest(query, k) if query is not None else [],
            "note": train.note if query is not None else "the molecule could not be standardized",
        }
    return {"smiles": smiles, "n_atoms": mol.GetNumAtoms(), "alerts": alerts,
            "endpoints": endpoints, "neighbours": neighbours}  # fmt: skip
