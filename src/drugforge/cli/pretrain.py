"""``drugforge pretrain``: train a generator on SMILES, one config model per architecture
(:mod:`drugforge.workflows.pretrain` for chem-lm, :mod:`drugforge.workflows.generative_train`
for smiles-vae and latent-gan). The config of the chosen ``--arch`` refuses the options of the
others."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config

HELP = "pretrain the chemical language model on SMILES"


def architectures() -> dict[str, tuple[type[Any], Callable[[Any], Any]]]:
    """``--arch`` -> (its config model, its workflow); the first is the default."""
    from drugforge.workflows.generative_train import (
        TrainLatentGANConfig,
        TrainVAEConfig,
        run_train_latent_gan,
        run_train_vae,
    )
    from drugforge.workflows.pretrain import PretrainConfig, run_pretrain

    return {
        "chem-lm": (PretrainConfig, run_pretrain),
        "smiles-vae": (TrainVAEConfig, run_train_vae),
        "latent-gan": (TrainLatentGANConfig, run_train_latent_gan),
    }


def config_models() -> tuple[type[BaseModel], ...]:
    """The config models whose fields are this command's options (one per ``--arch``)."""
    return tuple(config for config, _ in architectures().values())


def configure(parser: argparse.ArgumentParser) -> None:
    archs = architectures()
    chem_lm, vae, gan = (config for config, _ in archs.values())
    add_options(parser, chem_lm, ["data", "moses", "out"])
    parser.add_argument("--arch", default=next(iter(archs)), choices=tuple(archs),
                        help="chem-lm: Transformer language model (default); smiles-vae: SMILES "
                        "VAE; latent-gan: WGAN in the latent space of a VAE given by --vae")
    add_options(parser, gan, ["vae"])
    add_options(parser, vae, ["epochs", "max_molecules"])
    add_options(parser, chem_lm, [
        "size", "init", "max_steps", "batch_size", "lr", "seed", "smiles_column", "max_len",
        "augment", "eval_every", "checkpoint_every", "resume", "force", "device", "threads",
        "time_budget_minutes", "quiet",
    ])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    given = dict(vars(args))
    del given["command"]
    config_model, workflow = architectures()[given.pop("arch")]
    # every option given goes to the architecture's config, which refuses the foreign ones;
    # options not given stay out of it, so that a resumed run can tell them from defaults
    config = build_config(config_model, {}, **given)
    result = workflow(config)
    if args.arch == "chem-lm":
        print(json.dumps({"out": str(result.out), "steps": result.steps,
                          "max_steps": result.max_steps, "tokens_seen": result.tokens_seen,
                          "val_loss": result.val_loss, "stop_reason": result.stop_reason},
                         default=float))  # fmt: skip
    else:
        print(json.dumps({"out": str(result.out), "molecules": result.n_used,
                          "invalid": result.n_invalid, "too_long": result.n_too_long,
                          "stop_reason": result.stop_reason, "seconds": result.seconds}))
    return 0
