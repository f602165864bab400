"""``drugforge models``: list the available models (the model registry)."""

from __future__ import annotations

import argparse

HELP = "list the available models"


def configure(parser: argparse.ArgumentParser) -> None:
    """No options."""


def run(args: argparse.Namespace) -> int:
    from drugforge.molecules.models import list_models

    print("auto       choose among the models below by cross-validation on the training data")
    for name, desc in list_models().items():
        print(f"{name:<10} {desc}")
    return 0
