"""``drugforge datasets list|show|export``: the dataset catalog
(:mod:`drugforge.workflows.datasets`)."""

from __future__ import annotations

import argparse
import sys

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config

HELP = "the dataset catalog"


def config_models() -> tuple[type[BaseModel], ...]:
    """The config models whose fields are this command's options."""
    from drugforge.workflows.datasets import DatasetExportConfig, DatasetShowConfig

    return (DatasetShowConfig, DatasetExportConfig,)


def configure(parser: argparse.ArgumentParser) -> None:
    from drugforge.workflows.datasets import DatasetExportConfig, DatasetShowConfig

    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="list catalog datasets")
    add_options(actions.add_parser("show", help="describe one dataset"), DatasetShowConfig,
                ["name", "mirror"])  # fmt: skip
    add_options(actions.add_parser("export", help="write a dataset to a CSV file"),
                DatasetExportConfig, ["name", "out", "force", "mirror"])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from drugforge.workflows import datasets as ds

    if args.action == "list":
        print(ds.format_list())
    elif args.action == "show":
        print(ds.run_dataset_show(build_config(ds.DatasetShowConfig, args)))
    else:
        path = ds.run_dataset_export(build_config(ds.DatasetExportConfig, args))
        print(f"wrote {path}", file=sys.stderr)
    return 0
