"""``drugforge benchmark moses``: score generated molecules on a benchmark
(:mod:`drugforge.workflows.benchmark`)."""

from __future__ import annotations

import argparse

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config

HELP = "score generated molecules on a benchmark"


def config_models() -> tuple[type[BaseModel], ...]:
    """The config models whose fields are this command's options."""
    from drugforge.workflows.benchmark import MosesBenchmarkConfig

    return (MosesBenchmarkConfig,)


def configure(parser: argparse.ArgumentParser) -> None:
    from drugforge.workflows.benchmark import MosesBenchmarkConfig

    benchmarks = parser.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    moses = benchmarks.add_parser("moses", help="the MOSES metrics (Polykovskiy et al. 2020)")
    add_options(moses, MosesBenchmarkConfig, ["samples", "model", "n", "seed", "out", "n_jobs",
                                              "test", "test_scaffolds", "train", "force",
                                              "quiet"])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from drugforge.workflows.benchmark import MosesBenchmarkConfig, run_moses_benchmark

    report = run_moses_benchmark(build_config(MosesBenchmarkConfig, args))
    print(report.format_table())
    return 0
