"""Throughput of the shipped endpoint panel (``Panel.predict``) on MOSES test molecules.

Reports molecules/s of the whole call and microseconds per molecule of each part: the shared
featurization (count ECFP4, the cheap descriptors, and the Crippen logP/MR among them, which a
profile that already computed cLogP gets from RDKit's per-molecule cache), the nearest-neighbour
search against all groups' training molecules, and the models. One process, one thread
(``OMP_NUM_THREADS=1``); SMILES parsing is not included (the profile parses once for everything).

    OMP_NUM_THREADS=1 python benchmarks/panel/panel_speed.py -n 5000

The load average is recorded: on a shared machine the numbers are upper bounds of the cost.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from rdkit import Chem
from rdkit.Chem import Crippen

RESULTS = Path(__file__).resolve().parents[1] / "results" / "panel"


def moses_test() -> Path:
    spec = importlib.util.find_spec("moses")  # never import it (heavy, broken imports)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("molsets is not installed (MOSES data)")
    return Path(next(iter(spec.submodule_search_locations))) / "dataset" / "data" / "test.csv.gz"


def per_mol_us(seconds: float, n: int) -> float:
    return round(seconds / n * 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    from drugforge.molecules.panel import Panel

    smiles = pd.read_csv(moses_test())["SMILES"].tolist()[: args.n]
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    panel = Panel.load()
    load_s = time.perf_counter() - t0
    result: dict[str, Any] = {"n": len(smiles), "load_seconds": round(load_s, 2),
                              "endpoints": len(panel.endpoints)}  # fmt: skip
    with threadpool_limits(1):
        best: dict[str, float] = {}
        for _ in range(args.repeats):
            mols = [Chem.MolFromSmiles(s) for s in smiles]  # fresh: no cached descriptors
            t = time.perf_counter()
            frame = panel.predict(mols)
            total = time.perf_counter() - t
            best["total"] = min(best.get("total", np.inf), total)

            mols = [Chem.MolFromSmiles(s) for s in smiles]
            t = time.perf_counter()
            for m in mols:
                Crippen.MolLogP(m)  # type: ignore[attr-defined]  # the profile computes it anyway
            crippen = time.perf_counter() - t
            t = time.perf_counter()
            panel.predict(mols)
            best["total_with_cached_crippen"] = min(
                best.get("total_with_cached_crippen", np.inf), time.perf_counter() - t)
            best["crippen_logp"] = min(best.get("crippen_logp", np.inf), crippen)

            # components
            mols = [Chem.MolFromSmiles(s) for s in smiles]
            for key, f in panel._featurizers.items():
                t = time.perf_counter()
                for m in mols:
                    f(m)
                best[f"featurize {key[:60]}"] = min(best.get(f"featurize {key[:60]}", np.inf),
                                                    time.perf_counter() - t)  # fmt: skip
            feats = panel._features(mols)
            q = panel._ad_query(mols, feats)
            assert panel._index is not None
            t = time.perf_counter()
            panel._index.max_similarity(q)
            best["ad_search"] = min(best.get("ad_search", np.inf), time.perf_counter() - t)
            X = np.hstack([feats[f.cache_key()] for f in panel._model_featurizers(panel._groups[0])])
            t = time.perf_counter()
            S = sp.csr_matrix(X)  # built once, shared by every model (all use the same features)
            best["sparse_input"] = min(best.get("sparse_input", np.inf), time.perf_counter() - t)
            for g in panel._groups:
                t = time.perf_counter()
                g.loaded.model.predict_from_features(S)  # type: ignore[attr-defined]
                key = f"model {g.path.name}"
                best[key] = min(best.get(key, np.inf), time.perf_counter() - t)
    n = len(smiles)
    result["molecules_per_second"] = round(n / best["total"], 1)
    result["molecules_per_second_crippen_cached"] = round(n / best["total_with_cached_crippen"], 1)
    result["us_per_molecule"] = {k: per_mol_us(v, n) for k, v in best.items()}
    result["ad_reference_molecules"] = int(panel._index._rt.shape[1]) if panel._index else 0
    result["loadavg_before"] = [round(x, 2) for x in load0]
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    result["cpus"] = os.cpu_count()
    result["nan_rows"] = int(frame[panel.columns[0]].isna().sum())
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "panel_speed.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
