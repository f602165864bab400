"""Training and sampling speed of the SMILES VAE sizes (and of the latent GAN), CPU.

    python benchmarks/generators_speed.py --sizes small,medium,default,moses --threads 1,2

Training rate: molecules per second of ``fit_torch``'s optimizer loop (forward, backward, AdamW;
data preparation excluded) over ``--steps`` steps of batch ``--batch-size`` on MOSES training
molecules, best of ``--repeats`` runs (on a shared machine the best run is the one least slowed
by the other jobs). Sampling rate: strings per second of ``sample()`` from the prior, batches of
512, at temperature 1 and greedy. An untrained model rarely writes ``<eos>``, so the timed models
decode exactly 58 steps per batch (``max_length=57``, the longest MOSES SMILES): what a trained
model costs, whose batch of 512 runs until its longest string (~55 tokens) ends.

The load average (``uptime``) is recorded beside every number. Prints one JSON object and writes
it to ``results/generators/speed_<sizes>_t<threads>.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
from common import RESULTS, machine, store

#: architectures compared; ``default`` is SmilesVAE's defaults, ``moses`` the MOSES VAE's sizes
SIZES: dict[str, dict[str, Any]] = {
    "small": {"embedding_dim": 32, "encoder_hidden": 128, "latent_dim": 64,
              "decoder_hidden": 256, "decoder_layers": 1},
    "default": {},  # embedding 32, encoder 2 x 128, latent 128, decoder 2 x 256
    "large": {"embedding_dim": 64, "encoder_hidden": 256, "latent_dim": 128,
              "decoder_hidden": 512, "decoder_layers": 2},
    "moses": {"embedding_dim": 32, "encoder_hidden": 256, "bidirectional": False,
              "latent_dim": 128, "decoder_hidden": 512, "decoder_layers": 3},
}  # fmt: skip
MOSES_TRAIN = 1_584_663
MOSES_LONGEST = 57  # tokens of the longest MOSES SMILES


def moses_train() -> Path:
    spec = importlib.util.find_spec("moses")  # never import moses: its imports are broken
    if spec is None or spec.origin is None:
        raise SystemExit("MOSES data not installed (pip install molsets)")
    return Path(spec.origin).parent / "dataset" / "data" / "train.csv.gz"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure_vae(name: str, smiles: list[str], args: argparse.Namespace) -> dict[str, Any]:
    from drugforge.molecules.models.smiles_vae import SmilesVAE

    params = {**SIZES[name], "batch_size": args.batch_size, "max_steps": args.steps,
              "max_length": MOSES_LONGEST, "val_fraction": 0.0, "quiet": True, "seed": 0}  # fmt: skip
    loads = [load()]
    train_rates = []
    vae = SmilesVAE(**params)
    for _ in range(args.repeats):
        vae = SmilesVAE(**params).fit(smiles[: args.batch_size * args.steps])
        train_rates.append(float(vae.training_["history"][-1]["samples_per_s"]))
        loads.append(load())
    sample_rates: dict[str, float] = {}
    for label, temperature in (("t1", 1.0), ("greedy", 0.0)):
        best = 0.0
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            vae.sample(args.n_sample, temperature=temperature, batch_size=512, seed=0)
            best = max(best, args.n_sample / (time.perf_counter() - t0))
            loads.append(load())
        sample_rates[label] = best
    train_rate = max(train_rates)
    return {
        "size": name,
        "params": params,
        "n_parameters": sum(p.numel() for p in vae.module_.parameters()),
        "train_molecules_per_s": train_rate,
        "train_molecules_per_s_all_runs": train_rates,
        "hours_per_moses_epoch": MOSES_TRAIN / train_rate / 3600,
        "molecules_in_3_hours": round(train_rate * 3 * 3600),
        "sample_molecules_per_s_t1": sample_rates["t1"],
        "sample_molecules_per_s_greedy": sample_rates["greedy"],
        "load_averages": loads,
    }


def measure_gan(args: argparse.Namespace) -> dict[str, Any]:
    """The default LatentGAN on 128-d latents: latents per second of the loop (critic and
    generator steps together) and sampling (generator + the small VAE's decoder)."""
    import numpy as np

    from drugforge.molecules.models.latent_gan import LatentGAN
    from drugforge.molecules.models.smiles_vae import SmilesVAE

    smiles = pd.read_csv(moses_train(), nrows=256)["SMILES"].tolist()
    params = {**SIZES["small"], "latent_dim": 128, "max_length": MOSES_LONGEST, "max_steps": 1,
              "val_fraction": 0.0}  # fmt: skip
    vae = SmilesVAE(**params).fit(smiles)
    latents = np.random.default_rng(0).normal(size=(64 * 300, 128)).astype(np.float32)
    loads = [load()]
    best = 0.0
    for _ in range(args.repeats):
        gan = LatentGAN(max_steps=300, quiet=True).fit_latents(vae, latents)
        best = max(best, float(gan.training_["history"][-1]["samples_per_s"]))
        loads.append(load())
    return {
        "size": "latent-gan defaults (3 x 256 MLPs), 128-d latents, batch 64",
        "train_latents_per_s": best,
        "train_steps_per_s": best / 64,
        "hours_per_moses_epoch": MOSES_TRAIN / best / 3600,
        "load_averages": loads,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="small,default,large,moses")
    parser.add_argument("--threads", default="1,2", help="torch threads, comma-separated")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--n-sample", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--gan", action="store_true", help="also time the latent GAN")
    args = parser.parse_args()
    import torch

    frame = pd.read_csv(moses_train(), nrows=50_000)
    smiles = frame["SMILES"].sample(args.batch_size * args.steps, random_state=0).tolist()
    result: dict[str, Any] = {
        "machine": machine(),
        "batch_size": args.batch_size,
        "steps": args.steps,
        "torch": torch.__version__,
        "uptime_start": load(),
        "vae": [],
    }
    threads = [int(t) for t in args.threads.split(",")]
    tag = "_".join(n for n in args.sizes.split(",") if n) + ("_gan" if args.gan else "")
    path = RESULTS / "generators" / f"speed_{tag}_t{args.threads.replace(',', '-')}.json"
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for name in args.sizes.split(","):
            if name:
                row = measure_vae(name, smiles, args)
                result["vae"].append({"threads": n_threads, **row})
                print(json.dumps({k: v for k, v in row.items() if k != "params"}), flush=True)
                store(path, result)  # after every row: a long run that dies keeps what it has
        if args.gan:
            result.setdefault("latent_gan", []).append({"threads": n_threads, **measure_gan(args)})
            store(path, result)
    result["uptime_end"] = load()
    store(path, result)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
