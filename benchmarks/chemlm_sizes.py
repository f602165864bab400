"""Chemical language model throughput on this machine, per model size: training tokens/s
(forward + backward + AdamW step, through ``fit_torch`` on streamed MOSES molecules, RDKit
screening included) and sampling speed (KV cache).

    python benchmarks/chemlm_sizes.py --seconds 30

Each size trains for ``--seconds`` (a time budget of the real training loop), then samples. An
untrained network rarely ends a sequence, so sampling is timed as generated tokens per second and
converted to molecules/s at the mean MOSES sequence length (SMILES tokens + ``<eos>``); the
``tiny`` model, after its training window, is also timed directly on real samples. The machine's
load (``uptime``) is recorded beside the numbers: other jobs share the cores.

Writes ``benchmarks/results/chemlm/sizes_<device>_threads<N>.json`` and ``.md``. On a shared,
loaded machine one torch thread can be far faster than one per core (spinning worker threads
compete with the other jobs): measure both.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from common import RESULTS, machine

SIZES = {  # name -> (n_layer, n_head, d_model); the first three are ChemLM's presets
    "tiny": (2, 2, 64),
    "small": (4, 4, 128),
    "base": (6, 8, 256),
    "large": (8, 8, 512),
}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--seconds", type=float, default=30.0, help="training time per size")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--sample", type=int, default=256, help="molecules sampled per size")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's choice, one per core)")
    args = parser.parse_args()

    import numpy as np
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from drugforge.core.training.loop import TrainConfig
    from drugforge.molecules.chem.mol import parse_smiles
    from drugforge.molecules.data.corpus import (
        SmilesStream,
        TokenBatches,
        build_vocabulary,
        corpus_file,
        moses_file,
        scan_corpus,
    )
    from drugforge.molecules.models.chemlm import ChemLM
    from drugforge.molecules.models.chemlm_net import ChemLMConfig

    test = corpus_file(moses_file("test"))  # 176 k molecules: the vocabulary and lengths
    scan = scan_corpus([test])
    tok = build_vocabulary(scan.token_counts)
    probe = SmilesStream([test], tok, 128, seed=0, buffer_size=1000)
    mean_len = float(np.mean([len(tok.tokenize(next(probe))) + 1 for _ in range(5000)]))

    rows: list[dict[str, Any]] = []
    for name in args.sizes.split(","):
        n_layer, n_head, d_model = SIZES[name]
        config = ChemLMConfig(len(tok), n_layer, n_head, d_model, max_len=128, dropout=0.1)
        lm = ChemLM.create(tok, config, seed=0, device=args.device)
        load_before = load()
        stream = SmilesStream([corpus_file(moses_file("train"))], tok, 128, seed=0,
                              buffer_size=10_000)  # fmt: skip
        next(stream)  # fill the shuffle buffer before the clock starts (a one-off cost)
        train = TrainConfig(max_steps=1_000_000, batch_size=args.batch_size, lr=1e-3,
                            warmup_steps=100, patience=None, grad_clip=1.0,
                            time_budget_s=args.seconds, device=args.device, precision="auto",
                            deterministic=False, quiet=True)  # fmt: skip
        lm.fit(TokenBatches(stream, args.batch_size), train)
        result = lm.train_result_
        tokens_per_s = result.units_seen / result.seconds

        t0 = time.perf_counter()
        samples = lm.sample(args.sample, batch_size=args.sample, seed=0)
        seconds = time.perf_counter() - t0
        sampled_tokens = sum(len(tok.tokenize(s)) + 1 for s in samples)
        row = {
            "size": name,
            "n_layer": n_layer,
            "n_head": n_head,
            "d_model": d_model,
            "parameters": lm.n_parameters(),
            "batch_size": args.batch_size,
            "train_steps": result.steps,
            "train_seconds": round(result.seconds, 2),
            "train_tokens_per_s": round(tokens_per_s, 1),
            "train_molecules_per_s": round(tokens_per_s / mean_len, 1),
            "train_loss_end": round(result.history[-1]["train_loss"], 4),
            "sample_tokens_per_s": round(sampled_tokens / seconds, 1),
            "sample_molecules_per_s_at_moses_length": round(sampled_tokens / seconds / mean_len, 1),
            "load_before": load_before,
            "load_after": load(),
        }
        if name == "tiny":  # a partly trained tiny model ends its sequences: time it directly
            row["tiny_sampled_molecules_per_s"] = round(args.sample / seconds, 1)
            row["tiny_valid_fraction"] = sum(parse_smiles(s) is not None for s in samples) / len(
                samples
            )
        rows.append(row)
        print(json.dumps(row), flush=True)

    info = {**machine(), "torch_threads": torch.get_num_threads(), "device": args.device,
            "mean_moses_sequence_tokens": round(mean_len, 2), "seconds_per_size": args.seconds}  # fmt: skip
    header = ("| size | layers | heads | d_model | parameters | train tokens/s | train molecules/s "
              "| sample tokens/s | sample molecules/s | load (1/5/15 min) |")  # fmt: skip
    lines = [header, "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['size']} | {r['n_layer']} | {r['n_head']} | {r['d_model']} | "
            f"{r['parameters']:,} | {r['train_tokens_per_s']:,.0f} | "
            f"{r['train_molecules_per_s']:,.0f} | {r['sample_tokens_per_s']:,.0f} | "
            f"{r['sample_molecules_per_s_at_moses_length']:,.0f} | {r['load_before']} |"
        )
    table = "\n".join(lines)
    print(table)
    out = RESULTS / "chemlm"
    out.mkdir(parents=True, exist_ok=True)
    stem = f"sizes_{args.device}_threads{torch.get_num_threads()}"
    (out / f"{stem}.json").write_text(json.dumps({"machine": info, "rows": rows}, indent=1) + "\n")
    (out / f"{stem}.md").write_text(table + "\n\n" + json.dumps(info) + "\n")


if __name__ == "__main__":
    main()
