"""``drugforge dti``: drug-target binding (:mod:`drugforge.workflows.dti`, ``dti_apply``).

``dti train`` fits an affinity model on (drug, target) pairs, ``dti predict`` predicts every
pair of a file, ``dti screen`` streams a library against one target through the screen engine
(:mod:`drugforge.workflows.screen`), ``dti profile`` ranks a model's targets for one molecule.
"""

from __future__ import annotations

import argparse
import json

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config

HELP = "drug-target binding: train, predict, screen a library against a target, profile"
PARSER = {"description": "Predict binding affinity (e.g. pKd) from a molecule and a protein "
          "sequence. Data: drugs.csv (drug_id,smiles), targets.csv (target_id,target_sequence), "
          "pairs (drug_id,target_id[,affinity][,split]), or one table "
          "smiles,target_sequence[,affinity]."}  # fmt: skip

_SCREEN_OPTIONS = ["out", "top", "rank", "filters", "properties", "dedup", "all_rows",
                   "smiles_column", "id_column", "encoding", "chunk_size", "n_jobs", "resume",
                   "force", "quiet"]  # fmt: skip


def config_models() -> tuple[type[BaseModel], ...]:
    """The config models whose fields are this command's options."""
    from drugforge.workflows.dti import DTITrainConfig
    from drugforge.workflows.dti_apply import DTIPredictConfig, DTIProfileConfig
    from drugforge.workflows.screen import ScreenConfig

    return (DTITrainConfig, DTIPredictConfig, DTIProfileConfig, ScreenConfig)


def configure(parser: argparse.ArgumentParser) -> None:
    from drugforge.workflows.dti import DTITrainConfig
    from drugforge.workflows.dti_apply import DTIPredictConfig, DTIProfileConfig
    from drugforge.workflows.screen import ScreenConfig

    sub = parser.add_subparsers(dest="dti_command", required=True, metavar="DTI_COMMAND")
    train = sub.add_parser("train", help="train, evaluate, gate and save an affinity model")
    add_options(train, DTITrainConfig, ["pairs", "drugs", "targets", "split", "split_sizes",
                                        "seed", "model", "model_params", "auto_pool",
                                        "cv_folds", "require", "skip_invalid", "encoding",
                                        "out", "force", "quiet"])  # fmt: skip
    predict = sub.add_parser("predict", help="predict every pair of a file, in order")
    add_options(predict, DTIPredictConfig, ["model_dir", "pairs", "drugs", "targets", "out",
                                            "encoding", "force", "quiet"])  # fmt: skip
    screen = sub.add_parser("screen", help="score a library of any size against one target")
    add_options(screen, DTIPredictConfig, ["model_dir"])
    add_options(screen, ScreenConfig, ["library"])
    target = screen.add_mutually_exclusive_group(required=True)
    target.add_argument("--target-sequence", metavar="SEQ", default=argparse.SUPPRESS,
                        help=ScreenConfig.model_fields["target_sequence"].description)
    target.add_argument("--target-id", metavar="ID", default=argparse.SUPPRESS,
                        help="a target the model was trained on (its targets.csv)")
    add_options(screen, ScreenConfig, _SCREEN_OPTIONS)
    profile = sub.add_parser("profile", help="rank the model's targets for one molecule")
    add_options(profile, DTIProfileConfig, ["model_dir", "smiles", "targets", "out", "force",
                                            "quiet"])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    if args.dti_command == "train":
        from drugforge.workflows.dti import DTITrainConfig, run_dti_train

        result = run_dti_train(build_config(DTITrainConfig, args))
        print(json.dumps({"out": str(result.out), "model": result.spec.describe(),
                          "test": result.metrics["test"]}, default=float))  # fmt: skip
    elif args.dti_command == "predict":
        from drugforge.workflows.dti_apply import DTIPredictConfig, run_dti_predict

        run_dti_predict(build_config(DTIPredictConfig, args))
    elif args.dti_command == "profile":
        from drugforge.workflows.dti_apply import DTIProfileConfig, run_dti_profile

        run_dti_profile(build_config(DTIProfileConfig, args))
    else:
        from drugforge.workflows.dti_apply import load_pair_model, resolve_target
        from drugforge.workflows.screen import ScreenConfig, run_screen

        load_pair_model(args.model_dir)  # a one-line error for a molecule model
        sequence = resolve_target(args.model_dir, getattr(args, "target_sequence", None),
                                  getattr(args, "target_id", None))  # fmt: skip
        given = {k: v for k, v in vars(args).items() if k in _SCREEN_OPTIONS}
        rank = given.pop("rank", None) or "affinity"  # strongest binders first by default
        config = build_config(ScreenConfig, given, library=args.library,
                              models=[args.model_dir], target_sequence=sequence, rank=rank)
        print(json.dumps(run_screen(config).as_dict()))
    return 0
