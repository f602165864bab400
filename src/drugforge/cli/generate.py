"""``drugforge generate``: sample molecules from a generator
(:mod:`drugforge.workflows.generate`)."""

from __future__ import annotations

import argparse
import json

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config

HELP = "sample molecules from a generator"


def config_models() -> tuple[type[BaseModel], ...]:
    """The config models whose fields are this command's options."""
    from drugforge.workflows.generate import GenerateConfig

    return (GenerateConfig,)


def configure(parser: argparse.ArgumentParser) -> None:
    from drugforge.workflows.generate import GenerateConfig

    add_options(parser, GenerateConfig, [
        "model", "n", "out", "temperature", "top_k", "interpolate", "near", "radius",
        "batch_size", "seed", "unique", "valid_only", "threads", "force", "quiet",
    ])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from drugforge.workflows.generate import GenerateConfig, run_generate

    result = run_generate(build_config(GenerateConfig, args))
    print(json.dumps({"out": str(result.out), "sampled": result.n_sampled,
                      "valid": result.n_valid, "unique": result.n_unique,
                      "novel": result.n_novel, "written": result.n_written}))  # fmt: skip
    return 0
