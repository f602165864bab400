"""``drugforge profile``: drug-likeness, alerts, predicted toxicity and approved-drug
percentiles for every molecule of a file (:mod:`drugforge.workflows.profile`)."""

from __future__ import annotations

import argparse
import json

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config

HELP = ("drug-likeness, alerts, predicted toxicity and approved-drug percentiles for every "
        "molecule of a file")  # fmt: skip


def config_models() -> tuple[type[BaseModel], ...]:
    """The config models whose fields are this command's options."""
    from drugforge.workflows.profile import ProfileConfig

    return (ProfileConfig,)


def configure(parser: argparse.ArgumentParser) -> None:
    from drugforge.workflows.profile import ProfileConfig

    add_options(parser, ProfileConfig, ["data", "out", "smiles_column", "panel",
                                        "max_heavy_atoms", "n_jobs", "encoding", "force",
                                        "quiet"])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from drugforge.workflows.profile import ProfileConfig, run_profile

    summary = run_profile(build_config(ProfileConfig, args))
    print(json.dumps({"out": str(summary.out), "rows": summary.n_rows,
                      "profiled": summary.n_profiled, "endpoints": len(summary.endpoints)}))
    return 0
