"""``drugforge evaluate``: score a saved model on a labelled file
(:mod:`drugforge.workflows.evaluate`)."""

from __future__ import annotations

import argparse
import json

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config

HELP = "score a saved model on a labelled file"


def config_models() -> tuple[type[BaseModel], ...]:
    """The config models whose fields are this command's options."""
    from drugforge.workflows.evaluate import EvaluateConfig

    return (EvaluateConfig,)


def configure(parser: argparse.ArgumentParser) -> None:
    from drugforge.workflows.evaluate import EvaluateConfig

    add_options(parser, EvaluateConfig, ["model_dir", "data", "smiles_column", "out", "force",
                                         "quiet"])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from drugforge.workflows.evaluate import EvaluateConfig, run_evaluate

    result = run_evaluate(build_config(EvaluateConfig, args))
    print(json.dumps(result.to_dict(), indent=2, default=float))
    return 0
