"""``drugforge demo``: train, evaluate and predict on a built-in dataset
(:mod:`drugforge.workflows.demo`)."""

from __future__ import annotations

import argparse

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config

HELP = "train, evaluate and predict on a built-in dataset"


def config_models() -> tuple[type[BaseModel], ...]:
    """The config models whose fields are this command's options."""
    from drugforge.workflows.demo import DemoConfig

    return (DemoConfig,)


def configure(parser: argparse.ArgumentParser) -> None:
    from drugforge.workflows.demo import DemoConfig

    add_options(parser, DemoConfig, ["out", "quiet"])


def run(args: argparse.Namespace) -> int:
    from drugforge.workflows.demo import DemoConfig, run_demo

    run_demo(build_config(DemoConfig, args))
    return 0
