"""``drugforge export``: a saved model as ONNX, with a parity check
(:mod:`drugforge.workflows.export`)."""

from __future__ import annotations

import argparse
import json

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config

HELP = "write a saved model as ONNX, with its featurization and a parity check"
PARSER = {
    "description": "Convert a saved model (svm, gp, gbm, mlp, mpnn or an ensemble of them) to "
    "ONNX, write OUT and OUT.json (how to compute the inputs without drugforge), and check "
    "that onnxruntime reproduces drugforge's predictions within 1e-5.",
}


def config_models() -> tuple[type[BaseModel], ...]:
    """The config models whose fields are this command's options."""
    from drugforge.workflows.export import ExportConfig

    return (ExportConfig,)


def configure(parser: argparse.ArgumentParser) -> None:
    from drugforge.workflows.export import ExportConfig

    add_options(parser, ExportConfig, ["model_dir", "format", "out", "check_smiles", "opset",
                                       "force", "quiet"])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from drugforge.workflows.export import ExportConfig, run_export

    result = run_export(build_config(ExportConfig, args))
    print(json.dumps({"out": str(result.out), "sidecar": str(result.sidecar),
                      "checked": result.n_checked, "max_abs_diff": result.max_abs_diff}))
    return 0
