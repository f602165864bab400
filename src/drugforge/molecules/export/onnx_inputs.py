"""The inputs of an exported ONNX model: computed for SMILES, read from a sidecar, documented.

:func:`make_inputs` featurizes SMILES with drugforge's own featurizers (for the parity check and
for users who have drugforge); :func:`describe_inputs` writes, input by input, how to compute the
same arrays with RDKit alone (fingerprint calls, descriptor transforms, the graph's feature
columns and vocabularies), so the model also runs where drugforge is not installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from drugforge.molecules.export.graph import DOUBLE, FLOAT, GRAPH_INPUTS, INT64, InputSpec
from drugforge.molecules.featurize import get_featurizer
from drugforge.molecules.models.kernels import featurize_X, featurizers_from_meta

__all__ = ["describe_inputs", "load_input_specs", "make_inputs"]


def make_inputs(inputs: Sequence[InputSpec], smiles: Sequence[str]) -> dict[str, np.ndarray]:
    """The ONNX inputs for (standardized, valid) SMILES, computed with drugforge's featurizers."""
    feeds: dict[str, np.ndarray] = {}
    graph_names = {name for name, *_ in GRAPH_INPUTS}
    if any(spec.name in graph_names for spec in inputs):
        from drugforge.molecules.featurize.graph import batch_graphs, mols_to_graphs

        bmg = batch_graphs(mols_to_graphs(list(smiles)))
        feeds.update({
            "atom_features": bmg.V.numpy(), "bond_features": bmg.E.numpy(),
            "edge_index": bmg.edge_index.numpy(), "rev_edge": bmg.rev_edge.numpy(),
            "atom_batch": bmg.batch.numpy(),
        })  # fmt: skip
    for spec in inputs:
        if spec.featurizers:
            feats = featurizers_from_meta(spec.featurizers)
            feeds[spec.name] = np.ascontiguousarray(featurize_X(feats, list(smiles)), np.float32)
    return {spec.name: feeds[spec.name] for spec in inputs}


def load_input_specs(sidecar: dict[str, Any]) -> list[InputSpec]:
    """The inputs described by a sidecar (``OUT.onnx.json``), ready for :func:`make_inputs`."""
    dtypes = {"float32": FLOAT, "float64": DOUBLE, "int64": INT64}
    return [
        InputSpec(
            name=entry["name"],
            dtype=dtypes[entry["dtype"]],
            shape=list(entry["shape"]),
            description=entry.get("description", ""),
            featurizers=[
                {"name": f["name"], "params": f["params"], "dim": f["dim"]}
                for f in entry.get("featurizers", [])
            ],
        )
        for entry in sidecar["inputs"]
    ]


def _featurizer_recipe(name: str, params: dict[str, Any]) -> str:
    """How to compute one featurizer with RDKit alone (``mol`` from the standardized SMILES)."""
    if name in ("ecfp", "fcfp", "ecfp_count"):
        features = name == "fcfp" or bool(params.get("features"))
        counts = name == "ecfp_count" or bool(params.get("counts"))
        inv = (", atomInvariantsGenerator=rdFingerprintGenerator.GetMorganFeatureAtomInvGen()"
               if features else "")  # fmt: skip
        call = "GetCountFingerprintAsNumPy" if counts else "GetFingerprintAsNumPy"
        return (f"rdFingerprintGenerator.GetMorganGenerator(radius={params['radius']}, "
                f"fpSize={params['size']}{inv}).{call}(mol) as float32 "
                f"({'occurrence counts' if counts else '0/1 bits'})")  # fmt: skip
    if name == "maccs":
        return ("rdMolDescriptors.GetMACCSKeysFingerprint(mol) as a 0/1 float32 vector of 167 "
                "(bit 0 is always 0)")  # fmt: skip
    if name == "rdkit2d":
        return ("for each name in feature_names, the function of that name in RDKit's "
                "Descriptors._descList (Ipc and AvgIpc from the eigenvalues of the heavy-atom "
                "adjacency matrix: the same values for drug-sized molecules); a descriptor that "
                "raises or is not finite is 0; then sign(x) * log1p(|x|), clipped to [-30, 30], "
                "as float32")  # fmt: skip
    return f"drugforge featurizer get_featurizer({name!r}, **{params!r})"


def _graph_layout() -> dict[str, Any]:
    """The atom and bond feature columns of the graph inputs, with their vocabularies."""
    from drugforge.molecules.featurize import graph as mg

    def names(values: Sequence[Any]) -> list[Any]:
        return [v if isinstance(v, int) else str(v) for v in values]

    vocab: dict[str, tuple[str, list[Any]]] = {
        "element": ("atom.GetAtomicNum()", names(mg.ELEMENTS)),
        "degree": ("atom.GetTotalDegree()", names(mg.DEGREES)),
        "formal_charge": ("atom.GetFormalCharge()", names(mg.FORMAL_CHARGES)),
        "chiral_tag": ("atom.GetChiralTag()", names(mg.CHIRAL_TAGS)),
        "num_hs": ("atom.GetTotalNumHs()", names(mg.NUM_HS)),
        "hybridization": ("atom.GetHybridization()", names(mg.HYBRIDIZATIONS)),
        "bond_type": ("bond.GetBondType()", names(mg.BOND_TYPES)),
        "stereo": ("bond.GetStereo()", names(mg.BOND_STEREOS)),
    }
    scalars = {
        "aromatic": "float(atom.GetIsAromatic())",
        "mass": "0.01 * atom.GetMass()",
        "conjugated": "float(bond.GetIsConjugated())",
        "in_ring": "float(bond.IsInRing())",
    }

    def blocks(slices: dict[str, slice]) -> list[dict[str, Any]]:
        out = []
        for block, sl in slices.items():
            entry: dict[str, Any] = {"block": block, "columns": [sl.start, sl.stop]}
            if block in vocab:
                entry["value"], entry["one_hot"] = vocab[block]
                entry["one_hot"] = [*entry["one_hot"], "other"]
            else:
                entry["value"] = scalars[block]
            out.append(entry)
        return out

    return {
        "molecule": "Chem.MolFromSmiles(standardized SMILES): atoms as parsed (hydrogens "
                    "implicit unless written), no further processing",
        "atom_features": blocks(mg.ATOM_FEATURE_SLICES),
        "bond_features": blocks(mg.BOND_FEATURE_SLICES),
        "bonds": "RDKit bond i gives directed bonds 2i (begin -> end) and 2i + 1 (end -> begin), "
                 "both with the bond's feature row; rev_edge[k] = k XOR 1",
        "batching": "molecules are concatenated in order: atom indices in edge_index are offset "
                    "by the atoms of the earlier molecules, rev_edge by their directed bonds; "
                    "atom_batch gives each atom's molecule (0-based); every molecule has >= 1 atom",
    }  # fmt: skip


def describe_inputs(inputs: Sequence[InputSpec]) -> list[dict[str, Any]]:
    """JSON description of every input: enough to compute it with RDKit alone."""
    out = []
    for spec in inputs:
        entry: dict[str, Any] = {"name": spec.name, "dtype": spec.dtype_name,
                                 "shape": spec.shape, "description": spec.description}  # fmt: skip
        if spec.featurizers:
            start, feats = 0, []
            for meta in spec.featurizers:
                dim = int(meta["dim"])
                item: dict[str, Any] = {
                    "name": meta["name"], "params": meta["params"], "dim": dim,
                    "columns": [start, start + dim],
                    "recipe": _featurizer_recipe(meta["name"], meta["params"]),
                }  # fmt: skip
                if meta["name"] == "rdkit2d":
                    item["feature_names"] = get_featurizer("rdkit2d").feature_names()
                feats.append(item)
                start += dim
            entry["featurizers"] = feats
        elif spec.name == "atom_features":
            entry["layout"] = _graph_layout()
        out.append(entry)
    return out
