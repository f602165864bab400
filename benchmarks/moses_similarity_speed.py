"""Speed of all-pairs Tanimoto on MOSES fingerprints (Morgan r=2, 1024 bits): the kernel of SNN
(30k samples x 176k test molecules) and IntDiv (30k x 30k).

Candidates, each computing the exact common-bit counts of every pair:

* ``int8 _int_mm``: int8 x int8 -> int32 matrix product (what ``drugforge.molecules.generation.moses_similarity`` uses)
* ``float32 matmul`` and ``bfloat16 matmul`` (bf16 is exact only while counts stay <= 256)
* ``numpy bitwise_count``: packed uint64 words, AND + popcount, chunked
* ``RDKit BulkTanimotoSimilarity``: one molecule against a list, per molecule

Usage: python benchmarks/moses_similarity_speed.py [--threads N]
Writes benchmarks/results/moses/similarity_speed.json and .md (pairs per second, load average).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from common import machine, store

OUT = BENCH / "results" / "moses"


def fingerprints(n: int, offset: int) -> np.ndarray:
    from drugforge.molecules.chem.moses_features import moses_fingerprint, moses_mol
    from drugforge.molecules.generation.moses_reference import load_moses_split

    smiles = load_moses_split("test")[offset : offset + n]
    return np.stack([moses_fingerprint(moses_mol(s)) for s in smiles])


def timed(fn: Callable[[], Any], pairs: int, repeats: int = 3) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return pairs / best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    gen_packed, ref_packed = fingerprints(512, 0), fingerprints(8192, 1000)
    pairs = len(gen_packed) * len(ref_packed)
    gen = torch.from_numpy(np.unpackbits(gen_packed, axis=1).view(np.int8))
    ref = torch.from_numpy(np.unpackbits(ref_packed, axis=1).view(np.int8))
    expected = gen.float() @ ref.float().T
    gen_w, ref_w = gen_packed.view(np.uint64), ref_packed.view(np.uint64)

    def popcount() -> np.ndarray:
        out = np.empty((len(gen_w), len(ref_w)), dtype=np.uint16)
        for i in range(0, len(gen_w), 16):
            both = gen_w[i : i + 16, None, :] & ref_w[None, :, :]
            out[i : i + 16] = np.bitwise_count(both).sum(-1)
        return out

    checks = {
        "int8 _int_mm": torch.equal(torch._int_mm(gen, ref.T).float(), expected),
        "bfloat16 matmul": torch.equal((gen.bfloat16() @ ref.bfloat16().T).float(), expected),
        "numpy bitwise_count": bool(np.array_equal(popcount(), expected.numpy())),
    }
    rates = {
        "int8 _int_mm": timed(lambda: torch._int_mm(gen, ref.T), pairs),
        "float32 matmul": timed(lambda: gen.float() @ ref.float().T, pairs),
        "bfloat16 matmul": timed(lambda: gen.bfloat16() @ ref.bfloat16().T, pairs),
        "numpy bitwise_count": timed(popcount, pairs, repeats=1),
    }
    from rdkit import DataStructs

    def to_bv(row: np.ndarray) -> Any:
        bv = DataStructs.ExplicitBitVect(1024)
        bv.SetBitsFromList(np.flatnonzero(np.unpackbits(row)).tolist())
        return bv

    gen_bv = [to_bv(r) for r in gen_packed[:64]]
    ref_bv = [to_bv(r) for r in ref_packed]
    rates["RDKit BulkTanimotoSimilarity"] = timed(
        lambda: [DataStructs.BulkTanimotoSimilarity(g, ref_bv) for g in gen_bv],
        len(gen_bv) * len(ref_bv),
        repeats=1,
    )
    result = {
        "pairs_per_second": rates,
        "exact": checks,
        "torch_threads": torch.get_num_threads(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "machine": machine(),
        "note": "common-bit counts only; the Tanimoto division and max/mean add the same cost "
        "to every candidate",
    }
    store(OUT / "similarity_speed.json", result)
    lines = [
        "# All-pairs Tanimoto kernels on MOSES fingerprints (1024 bits)",
        "",
        "| kernel | million pairs/s | exact |",
        "|---|---:|---|",
    ]
    for name, rate in sorted(rates.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {rate / 1e6:.0f} | {checks.get(name, True)} |")
    lines += ["", (f"torch threads {result['torch_threads']}, load average "
              f"{result['load_average']} on {result['machine']['cpus']} CPUs.")]  # fmt: skip
    (OUT / "similarity_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
