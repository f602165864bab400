"""``drugforge predict``: predict every row of a file (:mod:`drugforge.workflows.predict`)."""

from __future__ import annotations

import argparse

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config

HELP = "predict every row of a file with a saved model"


def config_models() -> tuple[type[BaseModel], ...]:
    """The config models whose fields are this command's options."""
    from drugforge.workflows.predict import PredictConfig

    return (PredictConfig,)


def configure(parser: argparse.ArgumentParser) -> None:
    from drugforge.workflows.predict import PredictConfig

    add_options(parser, PredictConfig, ["model_dir", "input", "out", "smiles_column",
                                        "batch_size", "encoding", "force", "quiet"])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from drugforge.workflows.predict import PredictConfig, run_predict

    run_predict(build_config(PredictConfig, args))
    return 0
