"""The shipped endpoint panel of ``drugforge profile``: predictions, uncertainty, domain flags.

Each group under ``drugforge/resources/panel/<group>/`` is one model trained by drugforge's own
``train`` command on public data (``benchmarks/panel/train_panel.py`` rebuilds them all):

    <group>/
      model/                  a saved drugforge model (artifacts format: verified, no pickle)
      ad_train.safetensors    ECFP4 bits (2048) of the model's training molecules: the on-bit
                              indices (``indices`` uint16 + ``indptr``, panel format 2) or
                              the packed rows (``bits``, format 1)
      panel.json              endpoints (name, target, units), AD threshold, checksums
      model_card.md           data, command, seed, scaffold-split test metrics

:meth:`Panel.predict` featurizes every molecule once per distinct featurizer (all shipped
models share count ECFP4 + a few cheap descriptors), runs each model on the shared features and
finds each molecule's most similar training molecule of every group with one sparse product:

    inter = Q (n, 2048 bits, CSR) @ R^T (2048, all groups' training molecules)   # |q & r|
    sim   = inter / (|q| + |r| - inter);  per group: max over its columns

Columns per endpoint ``<name>``: the prediction (P(positive) for classification), ``<name>_std``
(the uncertainty recipe saved with the model: Bernoulli spread or the validation RMSE),
``<name>_ad_similarity`` and ``<name>_in_domain`` (similarity >= the group's threshold, chosen on
the scaffold-test error-vs-similarity curve). A molecule that is ``None`` or cannot be featurized
keeps its row with NaN values and ``in_domain`` False.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator
from safetensors.numpy import load_file

from drugforge.core.artifacts import LoadedModel, Prediction, load_model
from drugforge.core.errors import ArtifactError, InputError
from drugforge.molecules.featurize import Featurizer
from drugforge.molecules.models.base import MolecularPredictor

__all__ = [
    "PANEL_DIR",
    "Panel",
    "PanelEndpoint",
    "ad_bits",
    "ad_file_arrays",
    "list_panel",
    "load_ad_packed",
    "max_similarity",
    "pack_bits",
    "panel_spec",
]

PANEL_DIR = Path(str(resources.files("drugforge"))) / "resources" / "panel"
PANEL_FORMAT = 2  # 2: the AD file may hold on-bit indices instead of packed rows
AD_RADIUS = 2
AD_SIZE = 2048
_BLOCK = 128  # molecules per similarity block: keeps the (block, n_train) product in cache


@dataclass(frozen=True)
class PanelEndpoint:
    """One predicted endpoint of the shipped panel."""

    name: str  # column name, e.g. "tox21_NR-AR", "esol_logS"
    task: str  # "classification" | "regression"
    units: str
    description: str
    path: Path  # the group directory holding its model


def _read_spec(group_dir: Path) -> dict[str, Any]:
    path = group_dir / "panel.json"
    try:
        spec = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ArtifactError(f"unreadable panel.json: {err}", path=group_dir) from None
    if not isinstance(spec, dict) or spec.get("format") != "drugforge-panel":
        raise ArtifactError("panel.json is not a drugforge panel description", path=group_dir)
    if int(spec.get("format_version", -1)) > PANEL_FORMAT:
        raise ArtifactError("panel format is newer than this drugforge understands; upgrade",
                            path=group_dir)  # fmt: skip
    return spec


def panel_spec(group_dir: Path) -> dict[str, Any]:
    """The checked ``panel.json`` of one group directory (ArtifactError when unreadable)."""
    return _read_spec(group_dir)


def _group_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / "panel.json").is_file())


def list_panel(root: Path | None = None) -> list[PanelEndpoint]:
    """The shipped endpoints (``[]`` when none are installed), in group then model order."""
    out = []
    for group_dir in _group_dirs(root or PANEL_DIR):
        spec = _read_spec(group_dir)
        for ep in spec["endpoints"]:
            out.append(PanelEndpoint(ep["name"], str(spec["task"]), ep["units"],
                                     ep["description"], group_dir))  # fmt: skip
    return out


# ------------------------------------------------------------------------ similarity search
def _ad_generator() -> Any:
    return rdFingerprintGenerator.GetMorganGenerator(radius=AD_RADIUS, fpSize=AD_SIZE)


def ad_bits(mols: Sequence[Chem.Mol | str]) -> np.ndarray:
    """ECFP4 bits (2048) of molecules or SMILES, ``(n, 2048)`` bool (the AD fingerprint)."""
    gen = _ad_generator()
    out = np.zeros((len(mols), AD_SIZE), dtype=bool)
    for i, m in enumerate(mols):
        mol = Chem.MolFromSmiles(m) if isinstance(m, str) else m
        if mol is None:
            raise InputError(f"invalid molecule at position {i + 1}")
        out[i] = gen.GetFingerprintAsNumPy(mol).astype(bool)
    return out


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """``(n, 2048)`` bool -> ``(n, 256)`` uint8, the stored form."""
    return np.packbits(np.asarray(bits, dtype=bool), axis=1)


def ad_file_arrays(bits: np.ndarray) -> dict[str, np.ndarray]:
    """``(n, 2048)`` bool -> what ``ad_train.safetensors`` stores (panel format 2): the on-bit
    indices of each row (uint16) and the row offsets (uint32). ECFP4 sets ~30 of 2048 bits of a
    drug-like molecule, so this is ~4x smaller than the packed rows."""
    bits = np.asarray(bits, dtype=bool)
    rows, cols = np.nonzero(bits)
    indptr = np.zeros(len(bits) + 1, dtype=np.uint32)
    np.cumsum(np.bincount(rows, minlength=len(bits)), out=indptr[1:])
    return {"indices": cols.astype(np.uint16), "indptr": indptr}


def load_ad_packed(group_dir: Path, ad: dict[str, Any]) -> np.ndarray:
    """The verified training fingerprints of a group's AD file as packed rows ``(n, 256)``,
    whichever form it stores (packed rows or on-bit indices)."""
    ad_file = group_dir / str(ad["file"])
    if not ad_file.is_file() or _sha256(ad_file) != ad["sha256"]:
        raise ArtifactError(f"{ad['file']} is missing or was modified; refusing to load it",
                            path=group_dir)  # fmt: skip
    arrays = load_file(str(ad_file))
    if "bits" in arrays:
        bits = arrays["bits"]
        if bits.dtype != np.uint8 or bits.ndim != 2 or bits.shape[1] != AD_SIZE // 8:
            raise ArtifactError(f"{ad['file']} does not hold packed {AD_SIZE}-bit rows",
                                path=group_dir)  # fmt: skip
        return bits
    indices, indptr = arrays.get("indices"), arrays.get("indptr")
    if (indices is None or indptr is None or indices.ndim != 1 or indptr.ndim != 1
            or len(indptr) < 1 or int(indptr[0]) != 0 or int(indptr[-1]) != len(indices)
            or bool(np.any(np.diff(np.asarray(indptr, dtype=np.int64)) < 0))
            or (len(indices) and int(indices.max()) >= AD_SIZE)):
        raise ArtifactError(f"{ad['file']} holds neither packed rows nor valid on-bit indices",
                            path=group_dir)  # fmt: skip
    n = len(indptr) - 1
    dense = np.zeros((n, AD_SIZE), dtype=bool)
    lengths: np.ndarray = np.diff(np.asarray(indptr, dtype=np.int64))
    rows = np.repeat(np.arange(n), lengths)
    dense[rows, indices.astype(np.int64)] = True
    return pack_bits(dense)


class _NeighbourIndex:
    """Largest Tanimoto similarity of query bit vectors to each of several reference sets."""

    def __init__(self, refs: Sequence[np.ndarray]) -> None:
        sizes = [len(r) for r in refs]
        if min(sizes, default=1) == 0:
            raise ValueError("a reference set of the similarity search is empty")
        packed = np.concatenate(refs) if refs else np.zeros((0, AD_SIZE // 8), np.uint8)
        # the sets share molecules (the TDC CYP sets share most of theirs): each distinct
        # fingerprint is compared once, then every set takes the max over its own members
        first: dict[bytes, int] = {}  # row bytes -> its index among the distinct rows
        inverse = np.fromiter((first.setdefault(row.tobytes(), len(first)) for row in packed),
                              dtype=np.int64, count=len(packed))
        unique = packed[np.unique(inverse, return_index=True)[1]]
        # |r|, at least 1 so that no denominator is 0: an empty reference (impossible for a
        # molecule with atoms) would then have similarity 0 to everything, as it should
        count = np.maximum(np.bitwise_count(unique).sum(axis=1, dtype=np.int64), 1)
        # order the distinct rows by the sets that hold them, then by bit count. Rows held by
        # the same sets form one block; within a block, rows of one bit count form a segment.
        # Against a query q, the Tanimoto |q&r| / (|q| + |r| - |q&r|) of rows with the same |r|
        # grows with |q&r|: a segment's best row is the one with the largest integer
        # intersection, so one integer maximum.reduceat over the columns leaves only a few
        # thousand segment maxima to turn into similarities, and a set's max is the max over
        # its blocks.
        member = np.zeros((len(unique), len(refs)), dtype=bool)
        starts = np.cumsum([0, *sizes])
        for k, (a, b) in enumerate(itertools.pairwise(starts)):
            member[inverse[a:b], k] = True
        signature = np.packbits(member, axis=1)
        order = np.lexsort([count, *signature.T[::-1]])
        unique, signature, count = unique[order], signature[order], count[order]
        new_block = np.ones(len(unique), dtype=bool)
        new_block[1:] = np.any(signature[1:] != signature[:-1], axis=1)
        new_segment = new_block.copy()
        new_segment[1:] |= count[1:] != count[:-1]
        self._segment_starts = np.flatnonzero(new_segment)
        self._segment_count = count[self._segment_starts].astype(np.float32)  # (n_segments,)
        # the segments where a block starts, for a second reduceat over the segment maxima
        self._block_segments = np.flatnonzero(new_block[self._segment_starts])
        block_member = member[order][new_block]  # (n_blocks, n_sets)
        self._set_blocks = [np.flatnonzero(block_member[:, k]) for k in range(len(refs))]
        # (2048, m) uint8: a CSR query times it sums, per query bit, one contiguous row. An
        # intersection is at most |q|, so uint8 sums are exact for queries of <= 255 bits (all
        # but giant molecules; those are summed in uint16 below). Unpacking the transposed
        # packed rows along axis 0 gives it without a strided copy.
        self._rt = np.unpackbits(np.ascontiguousarray(unique.T), axis=0, count=AD_SIZE)
        self.n_sets = len(refs)

    def _intersections(self, q: np.ndarray, nq: np.ndarray) -> np.ndarray:
        """``|q & r|`` of each query row with each distinct reference row, ``(len(q), m)``: the
        sum of the reference rows of the query's bits (~40 contiguous SIMD adds a molecule;
        faster than a sparse product, which multiplies every term)."""
        exact8 = nq.max(initial=0) <= np.iinfo(np.uint8).max
        out = np.zeros((len(q), self._rt.shape[1]), dtype=np.uint8 if exact8 else np.uint16)
        for i, row in enumerate(q):
            acc = out[i]
            for bit in np.flatnonzero(row):
                np.add(acc, self._rt[bit], out=acc)
        return out

    def max_similarity(self, query: np.ndarray) -> np.ndarray:
        """``query`` (n, 2048) bool -> (n_sets, n) float64 max similarity per reference set."""
        n = len(query)
        out = np.zeros((self.n_sets, n), dtype=np.float64)
        for s in range(0, n, _BLOCK):
            q = query[s : s + _BLOCK]
            nq = q.sum(axis=1, dtype=np.int64)
            inter = np.maximum.reduceat(self._intersections(q, nq), self._segment_starts,
                                        axis=1).astype(np.float32)  # fmt: skip
            denom = self._segment_count[None, :] - inter  # |q| + |r| - |q & r| >= |r| >= 1
            denom += nq.astype(np.float32)[:, None]
            np.divide(inter, denom, out=inter)
            block_max = np.maximum.reduceat(inter, self._block_segments, axis=1)
            for k, blocks in enumerate(self._set_blocks):
                out[k, s : s + len(q)] = block_max[:, blocks].max(axis=1)
        return out


def max_similarity(query_packed: np.ndarray, refs_packed: Sequence[np.ndarray]) -> np.ndarray:
    """Max Tanimoto similarity of packed query fingerprints to each packed reference set,
    ``(len(refs), n)``."""
    query = np.unpackbits(query_packed, axis=1, count=AD_SIZE).astype(bool)
    return _NeighbourIndex(refs_packed).max_similarity(query)


# ------------------------------------------------------------------------------------ panel
@dataclass
class _Group:
    path: Path
    spec: dict[str, Any]
    loaded: LoadedModel
    endpoints: list[PanelEndpoint]
    columns: list[int]  # model output column of each selected endpoint
    threshold: float
    ad_train: np.ndarray  # packed bits


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_group(group_dir: Path, wanted: set[str] | None) -> _Group | None:
    spec = _read_spec(group_dir)
    eps = [ep for ep in spec["endpoints"] if wanted is None or ep["name"] in wanted]
    if not eps:
        return None
    loaded = load_model(group_dir / str(spec.get("model", "model")))
    ad = spec["ad"]
    fp = ad.get("fingerprint", {})
    if (fp.get("name"), fp.get("radius"), fp.get("size")) != ("ecfp", AD_RADIUS, AD_SIZE):
        raise ArtifactError(f"unsupported AD fingerprint {fp}", path=group_dir)
    bits = load_ad_packed(group_dir, ad)
    targets = loaded.target_names
    columns = []
    for ep in eps:
        if ep["target"] not in targets:
            raise ArtifactError(f"model has no target {ep['target']!r}", path=group_dir)
        columns.append(targets.index(ep["target"]))
    endpoints = [PanelEndpoint(ep["name"], loaded.task, ep["units"], ep["description"],
                               group_dir) for ep in eps]  # fmt: skip
    return _Group(group_dir, spec, loaded, endpoints, columns, float(ad["threshold"]), bits)


def _is_ad_counts(f: Featurizer) -> bool:
    """True when ``f``'s nonzero entries are exactly the AD fingerprint's bits."""
    p = f.params()
    return (f.name in {"ecfp", "ecfp_count"} and p.get("radius") == AD_RADIUS
            and p.get("size") == AD_SIZE and not p.get("features", False))  # fmt: skip


class Panel:
    """The shipped endpoint models, loaded once; :meth:`predict` gives one row per molecule."""

    def __init__(self, groups: Sequence[_Group]) -> None:
        self._groups = list(groups)
        self.endpoints: list[PanelEndpoint] = [ep for g in self._groups for ep in g.endpoints]
        self.columns: list[str] = [
            f"{ep.name}{suffix}"
            for ep in self.endpoints
            for suffix in ("", "_std", "_ad_similarity", "_in_domain")
        ]
        self._index = _NeighbourIndex([g.ad_train for g in self._groups]) if groups else None
        # one featurizer per distinct identity (cache key), shared by the models that use it
        self._featurizers: dict[str, Featurizer] = {}
        for g in self._groups:
            for f in self._model_featurizers(g):
                self._featurizers.setdefault(f.cache_key(), f)
        self._ad_key = next((k for k, f in self._featurizers.items() if _is_ad_counts(f)), None)

    @staticmethod
    def _model_featurizers(group: _Group) -> list[Featurizer]:
        model = group.loaded.model
        assert isinstance(model, MolecularPredictor)
        return model.input_featurizers()  # empty: the model featurizes for itself

    @classmethod
    def load(cls, names: Sequence[str] | None = None, *, root: Path | None = None) -> Panel:
        """Load the shipped panel (or only the endpoints ``names``); models are verified."""
        wanted = None if names is None else set(names)
        base = root or PANEL_DIR
        groups = [g for d in _group_dirs(base) if (g := _load_group(d, wanted)) is not None]
        if wanted is not None:
            missing = wanted - {ep.name for g in groups for ep in g.endpoints}
            if missing:
                known = ", ".join(ep.name for ep in list_panel(base))
                raise InputError(f"unknown panel endpoint(s) {', '.join(sorted(missing))}; "
                                 f"choose from: {known}")  # fmt: skip
        return cls(groups)

    # ---------------------------------------------------------------------------- predicting
    def _features(self, mols: Sequence[Chem.Mol]) -> dict[str, np.ndarray]:
        out = {}
        for key, f in self._featurizers.items():
            F = np.zeros((len(mols), len(f)), dtype=np.float32)
            for i, mol in enumerate(mols):
                F[i] = f(mol)
            out[key] = F
        return out

    def _ad_query(self, mols: Sequence[Chem.Mol], feats: dict[str, np.ndarray]) -> np.ndarray:
        if self._ad_key is not None:
            return feats[self._ad_key] > 0
        return ad_bits(mols)

    def _valid(self, mols: Sequence[Chem.Mol | None]) -> tuple[list[int], list[Chem.Mol]]:
        idx, good = [], []
        for i, m in enumerate(mols):
            if isinstance(m, Chem.Mol) and m.GetNumAtoms() > 0:
                idx.append(i)
                good.append(m)
        return idx, good

    def predict(self, mols: Sequence[Chem.Mol]) -> pd.DataFrame:
        """One row per molecule, in input order; columns :attr:`columns`.

        The models were trained on standardized molecules (largest fragment, neutralized: the
        default :class:`~drugforge.molecules.chem.StandardizerConfig`); pass molecules prepared the same
        way. Descriptors RDKit caches on a molecule (Crippen logP/MR, TPSA) are reused, so a
        caller that computed them already does not pay for them twice.
        """
        if isinstance(mols, Chem.Mol):
            raise TypeError("predict expects a sequence of molecules, not a single one")
        n = len(mols)
        values = {c: np.full(n, np.nan) for c in self.columns if not c.endswith("_in_domain")}
        flags = {c: np.zeros(n, dtype=bool) for c in self.columns if c.endswith("_in_domain")}
        idx, good = self._valid(list(mols))
        if good:
            feats, ok = self._safe_features(good)
            rows = np.asarray(idx)[ok]
            good = [good[i] for i in np.flatnonzero(ok)]
            feats = {k: v[ok] for k, v in feats.items()}
            if good:
                self._fill(good, feats, rows, values, flags)
        frame = pd.DataFrame({**values, **flags})
        return frame[self.columns]

    def _safe_features(self, mols: list[Chem.Mol]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Features of every molecule; one that fails is marked, never zero-filled."""
        ok = np.ones(len(mols), dtype=bool)
        try:
            whole: dict[str, np.ndarray] | None = self._features(mols)
        except Exception:  # noqa: BLE001 - RDKit raises many types: find the culprit(s) below
            whole = None
        if whole is not None:
            return whole, ok
        feats = {k: np.zeros((len(mols), len(f)), np.float32) for k, f in self._featurizers.items()}
        for i, mol in enumerate(mols):
            try:
                for k, f in self._featurizers.items():
                    feats[k][i] = f(mol)
            except Exception:  # noqa: BLE001 - RDKit raises many types
                ok[i] = False
        return feats, ok

    def _fill(
        self,
        mols: list[Chem.Mol],
        feats: dict[str, np.ndarray],
        rows: np.ndarray,
        values: dict[str, np.ndarray],
        flags: dict[str, np.ndarray],
    ) -> None:
        assert self._index is not None
        sims = self._index.max_similarity(self._ad_query(mols, feats))  # (n_groups, n)
        inputs: dict[tuple[str, bool], Any] = {}  # one model input per featurizer combination
        for g, sim in zip(self._groups, sims, strict=True):
            model = g.loaded.model
            model_feats = self._model_featurizers(g)
            if model_feats:
                # trees walk only the nonzero entries of a sparse matrix: faster on fingerprints
                key = ("|".join(f.cache_key() for f in model_feats), model.sparse_features)
                if key not in inputs:
                    X = np.hstack([feats[f.cache_key()] for f in model_feats])
                    inputs[key] = sp.csr_matrix(X) if key[1] else X
                pred = g.loaded.predict_features(inputs[key])
            else:
                pred = Prediction.empty(len(mols), len(g.loaded.target_names))
                g.loaded.predict_prepared(mols, range(len(mols)), pred)
            mean, std = pred.mean, pred.std
            in_domain = sim >= g.threshold
            for ep, col in zip(g.endpoints, g.columns, strict=True):
                values[ep.name][rows] = mean[:, col]
                values[f"{ep.name}_std"][rows] = std[:, col]
                values[f"{ep.name}_ad_similarity"][rows] = sim
                flags[f"{ep.name}_in_domain"][rows] = in_domain
