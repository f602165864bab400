"""``drugforge embed``: one vector per molecule from a chemical language model
(:mod:`drugforge.workflows.embed`)."""

from __future__ import annotations

import argparse
import json

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config

HELP = "one vector per molecule from a chemical language model"


def config_models() -> tuple[type[BaseModel], ...]:
    """The config models whose fields are this command's options."""
    from drugforge.workflows.embed import EmbedConfig

    return (EmbedConfig,)


def configure(parser: argparse.ArgumentParser) -> None:
    from drugforge.workflows.embed import EmbedConfig

    add_options(parser, EmbedConfig, ["data", "out", "model", "smiles_column", "batch_size",
                                      "threads", "encoding", "force", "quiet"])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from drugforge.workflows.embed import EmbedConfig, run_embed

    result = run_embed(build_config(EmbedConfig, args))
    print(json.dumps({"out": str(result.out), "rows": result.n_rows,
                      "embedded": result.n_embedded, "dim": result.dim}))  # fmt: skip
    return 0
