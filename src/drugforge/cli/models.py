"""``drugforge models``: list the available models (the model registry)."""

from __future__ import annotations

import argparse

from pydantic import BaseModel

HELP = "list the available models"


def config_models() -> tuple[type[BaseModel], ...]:
    """No options, no config."""
    return ()


def configure(parser: argparse.ArgumentParser) -> None:
    """No options."""


def run(args: argparse.Namespace) -> int:
    from drugforge.molecules.models import list_models

    print("auto       choose among the models below by cross-validation on the training data")
    for name, desc in list_models().items():
        print(f"{name:<10} {desc}")
    return 0
