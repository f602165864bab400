"""``drugforge train``: train, evaluate, gate and save a model (:mod:`drugforge.workflows.train`)."""

from __future__ import annotations

import argparse
import json

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config, convert
from drugforge.core.errors import DrugforgeError

HELP = "train, evaluate, gate and save a model"


def config_models() -> tuple[type[BaseModel], ...]:
    """The config models whose fields are this command's options."""
    from drugforge.workflows.train import TrainConfig

    return (TrainConfig,)


def configure(parser: argparse.ArgumentParser) -> None:
    from drugforge.workflows.train import TrainConfig

    add_options(parser, TrainConfig, ["data", "targets", "smiles_column", "task", "split",
                                      "split_sizes", "model", "model_params"])  # fmt: skip
    # shortcuts for two chem-lm parameters (--model-param chem-lm.pretrained=...)
    parser.add_argument("--pretrained", default=None, metavar="NAME|DIR",
                        help="chem-lm: the pretrained chem-lm generator (shipped name or "
                        "directory; default: chem-lm)")
    parser.add_argument("--finetune", choices=["frozen", "full"], default=None,
                        help="chem-lm: train only the heads on the fixed encoder (frozen, "
                        "default) or the whole network (full)")
    add_options(parser, TrainConfig, ["auto_pool", "cv_folds", "cv_split", "calibration",
                                      "target_transform",
                                      "search", "require",
                                      "budget_minutes", "max_attempts", "seed", "skip_invalid",
                                      "dedupe", "out", "force", "quiet"])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from drugforge.workflows.train import TrainConfig, run_train

    given = dict(vars(args))
    model = given.get("model", TrainConfig.model_fields["model"].default)
    chem_lm = {key: given.pop(key) for key in ("pretrained", "finetune")
               if given.get(key) is not None}  # fmt: skip
    for key in chem_lm:
        if model not in ("chem-lm", "auto"):
            raise DrugforgeError(f"--{key} applies to --model chem-lm (or auto with chem-lm "
                                 f"in its pool), not to --model {model}")
    settings = {}
    if chem_lm:  # added to the --model-param values
        params = convert(TrainConfig, "model_params", given.pop("model_params", []))
        params.setdefault("chem-lm", {}).update(chem_lm)
        settings["model_params"] = params
    result = run_train(build_config(TrainConfig, given, **settings))
    print(json.dumps({"out": str(result.out), "test": result.final.evaluation.test_metrics},
                     default=float))
    return 0
