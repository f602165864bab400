"""``drugforge screen``: score, filter and rank a compound library with saved models
(:mod:`drugforge.workflows.screen`)."""

from __future__ import annotations

import argparse
import json

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config

HELP = "score, filter and rank a compound library of any size with saved models"
PARSER = {
    "description": "Stream a library (SMILES/CSV/TSV/SDF/Parquet, optionally .gz) in chunks "
    "through saved models and built-in properties; every row ends as hit, scored, "
    "filtered, duplicate or invalid (with the reason). Names in --rank/--filter: the "
    "models' target names (and TARGET_std), built-in properties, 'similarity'; quote "
    "other characters with backticks.",
}


def config_models() -> tuple[type[BaseModel], ...]:
    """The config models whose fields are this command's options."""
    from drugforge.workflows.screen import ScreenConfig

    return (ScreenConfig,)


def configure(parser: argparse.ArgumentParser) -> None:
    from drugforge.workflows.screen import ScreenConfig

    add_options(parser, ScreenConfig, [
        "library", "models", "out", "rank", "filters", "require", "exclude", "similar_to",
        "min_similarity", "properties", "profile", "top", "dedup", "all_rows", "target_sequence",
        "smiles_column",
        "id_column", "encoding", "chunk_size", "max_heavy_atoms", "engine", "address", "n_jobs",
        "resume", "force", "quiet",
    ])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from drugforge.workflows.screen import ScreenConfig, run_screen

    summary = run_screen(build_config(ScreenConfig, args))
    print(json.dumps(summary.as_dict()))
    return 0
