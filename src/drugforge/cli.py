"""The ``drugforge`` command line: parse arguments, call a workflow, print one-line errors.

Nothing here builds a model or touches data directly; that is the workflows' job.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from drugforge import __version__
from drugforge.errors import DrugforgeError


def _model_param(text: str) -> tuple[str, str, Any]:
    """``svm.C=10`` -> ('svm', 'C', 10); values are parsed as JSON when possible."""
    try:
        key, raw = text.split("=", 1)
        model, param = key.split(".", 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected MODEL.PARAM=VALUE (e.g. svm.C=10), got '{text}'"
        ) from None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return model, param, value


def _build_parser() -> argparse.ArgumentParser:
    from drugforge.models import MODEL_CHOICES

    parser = argparse.ArgumentParser(
        prog="drugforge",
        description="Train, evaluate and apply models of molecular properties.",
    )
    parser.add_argument("--version", action="version", version=f"drugforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train, evaluate, gate and save a model")
    train.add_argument("data", help="CSV/TSV/SMI/SDF/Parquet file (optionally .gz) or a catalog name")
    train.add_argument("--target", action="append", default=[], metavar="COL",
                       help="target column (repeat for multi-task); detected when omitted")
    train.add_argument("--smiles-column", default=None)
    train.add_argument("--task", choices=["regression", "classification"], default=None)
    train.add_argument("--split", default="scaffold",
                       help="random | scaffold | cluster | column:NAME (default: scaffold)")
    train.add_argument("--split-sizes", default="0.8,0.1,0.1", help="train,val,test fractions")
    train.add_argument("--model", choices=MODEL_CHOICES, default="auto")
    train.add_argument("--model-param", action="append", default=[], type=_model_param,
                       metavar="MODEL.PARAM=VALUE", help="e.g. svm.C=10, mlp.hidden=[512,128]")
    train.add_argument("--auto-pool", default=None,
                       help="comma-separated candidates for --model auto (default: svm,gp,gbm "
                       "for regression; svm,gbm,mlp for classification)")
    train.add_argument("--cv-folds", type=int, default=5)
    train.add_argument("--search", type=int, default=0, metavar="N",
                       help="hyperparameter search: N configurations (defaults included) "
                       "scored by cross-validation on the training set")
    train.add_argument("--require", action="append", default=[], metavar="EXPR",
                       help='acceptance requirement on the held-out test set, e.g. "rmse<=0.7"')
    train.add_argument("--budget-minutes", type=float, default=30.0,
                       help="time budget for stronger attempts when a requirement is unmet")
    train.add_argument("--max-attempts", type=int, default=3)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--skip-invalid", action="store_true",
                       help="drop invalid SMILES (listed) instead of stopping")
    train.add_argument("--dedupe", choices=["mean", "median", "first", "none"], default="mean")
    train.add_argument("--out", required=True, help="model directory to create")
    train.add_argument("--force", action="store_true", help="overwrite --out")
    train.add_argument("--quiet", action="store_true")

    predict = sub.add_parser("predict", help="predict every row of a file with a saved model")
    predict.add_argument("model_dir")
    predict.add_argument("input")
    predict.add_argument("--out", required=True, help="output .csv/.tsv/.parquet (optionally .gz)")
    predict.add_argument("--smiles-column", default=None)
    predict.add_argument("--batch-size", type=int, default=2048)
    predict.add_argument("--encoding", default=None,
                         help="text encoding of INPUT when it is not UTF-8 (e.g. latin-1)")
    predict.add_argument("--force", action="store_true")
    predict.add_argument("--quiet", action="store_true")

    evaluate = sub.add_parser("evaluate", help="score a saved model on a labelled file")
    evaluate.add_argument("model_dir")
    evaluate.add_argument("data")
    evaluate.add_argument("--smiles-column", default=None)
    evaluate.add_argument("--out", default=None, help="directory for the report")
    evaluate.add_argument("--force", action="store_true")
    evaluate.add_argument("--quiet", action="store_true")

    datasets = sub.add_parser("datasets", help="the dataset catalog")
    dsub = datasets.add_subparsers(dest="action", required=True, metavar="ACTION")
    dsub.add_parser("list", help="list catalog datasets")
    show = dsub.add_parser("show", help="describe one dataset")
    show.add_argument("name")
    export = dsub.add_parser("export", help="write a dataset to a CSV file")
    export.add_argument("name")
    export.add_argument("out")
    export.add_argument("--force", action="store_true")
    for p in (show, export):
        p.add_argument("--mirror", default=None, help="local directory with dataset files")

    sub.add_parser("models", help="list the available models")

    demo = sub.add_parser("demo", help="train, evaluate and predict on a built-in dataset")
    demo.add_argument("--out", default="demo-out")
    demo.add_argument("--quiet", action="store_true")
    return parser


def _train(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from drugforge.workflows.train import TrainConfig, run_train

    params: dict[str, dict[str, Any]] = {}
    for model, key, value in args.model_param:
        params.setdefault(model, {})[key] = value
    try:
        parts = [float(x) for x in args.split_sizes.split(",")]
        if len(parts) != 3:
            raise ValueError("--split-sizes needs three fractions: train,val,test")
        sizes = (parts[0], parts[1], parts[2])
        config = TrainConfig(
            data=args.data,
            out=args.out,
            targets=args.target,
            smiles_column=args.smiles_column,
            task=args.task,
            split=args.split,
            split_sizes=sizes,
            model=args.model,
            model_params=params,
            auto_pool=[p for p in (args.auto_pool or "").split(",") if p],
            cv_folds=args.cv_folds,
            search=args.search,
            require=args.require,
            budget_minutes=args.budget_minutes,
            max_attempts=args.max_attempts,
            seed=args.seed,
            skip_invalid=args.skip_invalid,
            dedupe=args.dedupe,
            force=args.force,
            quiet=args.quiet,
        )
    except (ValidationError, ValueError) as err:
        raise DrugforgeError(f"invalid arguments: {_first_error(err)}") from None
    result = run_train(config)
    print(json.dumps({"out": str(result.out), "test": result.final.evaluation.test_metrics},
                     default=float))
    return 0


def _first_error(err: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(err, ValidationError):
        first = err.errors()[0]
        loc = ".".join(str(x) for x in first.get("loc", ()))
        return f"{loc}: {first.get('msg')}" if loc else str(first.get("msg"))
    return str(err)


def _predict(args: argparse.Namespace) -> int:
    from drugforge.workflows.predict import run_predict

    run_predict(args.model_dir, args.input, args.out, smiles_column=args.smiles_column,
                force=args.force, batch_size=args.batch_size, quiet=args.quiet,
                encoding=args.encoding)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from drugforge.workflows.evaluate import run_evaluate

    result = run_evaluate(args.model_dir, args.data, out_dir=args.out,
                          smiles_column=args.smiles_column, force=args.force, quiet=args.quiet)
    print(json.dumps(result.to_dict(), indent=2, default=float))
    return 0


def _datasets(args: argparse.Namespace) -> int:
    from drugforge.workflows import datasets as ds

    if args.action == "list":
        print(ds.format_list())
    elif args.action == "show":
        print(ds.format_info(args.name, mirror=args.mirror))
    else:
        path = ds.export(args.name, args.out, mirror=args.mirror, force=args.force)
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _models(args: argparse.Namespace) -> int:
    from drugforge.models import list_models

    print("auto       choose among the models below by cross-validation on the training data")
    for name, desc in list_models().items():
        print(f"{name:<10} {desc}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from drugforge.workflows.demo import run_demo

    run_demo(args.out, quiet=args.quiet)
    return 0


_COMMANDS = {
    "train": _train,
    "predict": _predict,
    "evaluate": _evaluate,
    "datasets": _datasets,
    "models": _models,
    "demo": _demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except DrugforgeError as err:
        print(f"drugforge: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("drugforge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
