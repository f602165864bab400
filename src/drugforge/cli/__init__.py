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
from drugforge.core.errors import DrugforgeError


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
    from drugforge.molecules.models import model_choices

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
    train.add_argument("--model", choices=model_choices(), default="auto")
    train.add_argument("--model-param", action="append", default=[], type=_model_param,
                       metavar="MODEL.PARAM=VALUE", help="e.g. svm.C=10, mlp.hidden=[512,128]")
    train.add_argument("--pretrained", default=None, metavar="NAME|DIR",
                       help="chem-lm: the pretrained chem-lm generator (shipped name or directory; "
                       "default: chem-lm)")
    train.add_argument("--finetune", choices=["frozen", "full"], default=None,
                       help="chem-lm: train only the heads on the fixed encoder (frozen, default) "
                       "or the whole network (full)")
    train.add_argument("--auto-pool", default=None,
                       help="comma-separated candidates for --model auto (default: svm,gp,gbm "
                       "for regression; svm,gbm,mlp for classification; plus chem-lm up to "
                       "1,000 training molecules)")
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

    _add_export_parser(sub)
    _add_screen_parser(sub)

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

    # pretrain: options default to None so that --resume can tell the ones given from the rest
    pre = sub.add_parser("pretrain", help="pretrain the chemical language model on SMILES")
    pre.add_argument("data", nargs="*", metavar="DATA",
                     help="corpus files: .smi/.txt/.csv/.tsv (optionally .gz), streamed")
    pre.add_argument("--moses", action="store_true", default=None,
                     help="train on MOSES train (1.58 M molecules); validate on MOSES test")
    pre.add_argument("--out", required=True, help="generator directory to create")
    pre.add_argument("--arch", default="chem-lm", choices=("chem-lm", "smiles-vae", "latent-gan"),
                     help="chem-lm: Transformer language model (default); smiles-vae: SMILES "
                     "VAE; latent-gan: WGAN in the latent space of a VAE given by --vae")
    pre.add_argument("--vae", default=None, metavar="DIR",
                     help="latent-gan: the trained smiles-vae directory it decodes with")
    pre.add_argument("--epochs", type=int, default=None, help="smiles-vae/latent-gan: epochs")
    pre.add_argument("--max-molecules", type=int, default=None,
                     help="smiles-vae/latent-gan: a seeded random subset of the data")
    pre.add_argument("--size", default=None, metavar="tiny|small|base", help="default: small")
    pre.add_argument("--init", default=None, metavar="NAME|DIR",
                     help="chem-lm: continue pretraining a saved model (shipped name such as "
                     "chem-lm, or a directory) with a fresh optimizer and schedule; it keeps "
                     "that model's size and vocabulary")
    pre.add_argument("--max-steps", type=int, default=None, help="optimizer steps (20000)")
    pre.add_argument("--batch-size", type=int, default=None, help="molecules per step (64)")
    pre.add_argument("--lr", type=float, default=None, help="peak learning rate (1e-3)")
    pre.add_argument("--seed", type=int, default=None)
    pre.add_argument("--smiles-column", default=None)
    pre.add_argument("--max-len", type=int, default=None,
                     help="max tokens incl. <bos>/<eos> (128); longer molecules are skipped")
    pre.add_argument("--augment", type=float, default=None, metavar="P",
                     help="use a randomized SMILES with probability P (0)")
    pre.add_argument("--eval-every", type=int, default=None, metavar="STEPS")
    pre.add_argument("--checkpoint-every", type=int, default=None, metavar="STEPS")
    pre.add_argument("--resume", action="store_true", default=None,
                     help="continue the run in --out from its last checkpoint")
    pre.add_argument("--force", action="store_true", default=None, help="start --out over")
    pre.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)
    pre.add_argument("--threads", type=int, default=None,
                     help="torch CPU threads (default: one per core; 1 is faster on a busy machine)")
    pre.add_argument("--time-budget-minutes", type=float, default=None, metavar="M",
                     help="stop after M minutes with a resumable checkpoint and a saved model")
    pre.add_argument("--quiet", action="store_true", default=None)

    gen = sub.add_parser("generate", help="sample molecules from a generator")
    gen.add_argument("--model", default="chem-lm",
                     help="generator directory or shipped name (default: chem-lm)")
    gen.add_argument("-n", type=int, required=True, help="number of strings to sample")
    gen.add_argument("--out", required=True, help="output .csv/.tsv/.parquet (optionally .gz)")
    gen.add_argument("--temperature", type=float, default=None,
                     help="sampling temperature (default 1; 0 = greedy for --interpolate/--near)")
    gen.add_argument("--top-k", type=int, default=None)
    gen.add_argument("--interpolate", nargs=2, metavar=("SMILES_A", "SMILES_B"), default=None,
                     help="smiles-vae/latent-gan: decode -n points on the latent path from A to B")
    gen.add_argument("--near", metavar="SMILES", default=None,
                     help="smiles-vae/latent-gan: decode -n points around a molecule's latent")
    gen.add_argument("--radius", type=float, default=0.5,
                     help="--near: scale of the latent noise (0.5)")
    gen.add_argument("--batch-size", type=int, default=512)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--unique", action="store_true", help="write first occurrences only")
    gen.add_argument("--valid-only", action="store_true", help="write valid molecules only")
    gen.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    gen.add_argument("--force", action="store_true")
    gen.add_argument("--quiet", action="store_true")
    emb = sub.add_parser("embed", help="one vector per molecule from a chemical language model")
    emb.add_argument("data", help="molecule file (CSV/TSV/SMI/SDF/Parquet, optionally .gz)")
    emb.add_argument("--out", required=True,
                     help="output .csv/.tsv/.parquet (optionally .gz) or .npy (matrix only)")
    emb.add_argument("--model", default="chem-lm",
                     help="chem-lm directory or shipped name (default: chem-lm)")
    emb.add_argument("--smiles-column", default=None)
    emb.add_argument("--batch-size", type=int, default=256)
    emb.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    emb.add_argument("--encoding", default=None, help="text encoding of the input (utf-8)")
    emb.add_argument("--force", action="store_true")
    emb.add_argument("--quiet", action="store_true")
    prof = sub.add_parser("profile", help="drug-likeness, alerts, predicted toxicity and "
                          "approved-drug percentiles for every molecule of a file")
    prof.add_argument("input", help="molecule file (CSV/TSV/SMI/SDF/Parquet, optionally .gz)")
    prof.add_argument("--out", required=True, help="output .csv/.tsv/.parquet (optionally .gz)")
    prof.add_argument("--smiles-column", default=None)
    prof.add_argument("--no-panel", action="store_true",
                      help="skip the predicted endpoints (physicochemistry and alerts only)")
    prof.add_argument("--max-heavy-atoms", type=int, default=None,
                      help="refuse bigger molecules with an error row (default 200)")
    prof.add_argument("--n-jobs", type=int, default=None,
                      help="worker processes (default: 2 from 20,000 rows on, else 1)")
    prof.add_argument("--encoding", default=None, help="text encoding of the input (utf-8)")
    prof.add_argument("--force", action="store_true")
    prof.add_argument("--quiet", action="store_true")
    _add_optimize_parser(sub)
    bench = sub.add_parser("benchmark", help="score generated molecules on a benchmark")
    bsub = bench.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    moses = bsub.add_parser("moses", help="the MOSES metrics (Polykovskiy et al. 2020)")
    moses_src = moses.add_mutually_exclusive_group(required=True)
    moses_src.add_argument("--samples", metavar="FILE",
                        help="generated strings: one per line, or a CSV/TSV/Parquet with a raw "
                        "or smiles column (invalid strings count, as in MOSES)")
    moses_src.add_argument("--model", metavar="NAME", help="generator directory or shipped name")
    moses.add_argument("-n", type=int, default=30000, help="number of samples (30000)")
    moses.add_argument("--seed", type=int, default=0, help="sampling seed for --model")
    moses.add_argument("--out", default=None, metavar="REPORT.json",
                       help="write the report as JSON and a markdown table beside it")
    moses.add_argument("--n-jobs", type=int, default=1,
                       help="worker processes for the per-molecule work (-1: all cores)")
    moses.add_argument("--test", default=None, metavar="FILE",
                       help="custom test set (default: MOSES test, statistics cached)")
    moses.add_argument("--test-scaffolds", default=None, metavar="FILE",
                       help="custom scaffold test set (default: MOSES test_scaffolds)")
    moses.add_argument("--train", default=None, metavar="FILE",
                       help="custom training set for novelty (default: MOSES train)")
    moses.add_argument("--force", action="store_true", help="overwrite --out")
    moses.add_argument("--quiet", action="store_true")
    return parser


def _add_export_parser(sub: Any) -> None:
    from drugforge.molecules.export import EXPORT_FORMATS

    exp = sub.add_parser(
        "export", help="write a saved model as ONNX, with its featurization and a parity check",
        description="Convert a saved model (svm, gp, gbm, mlp, mpnn or an ensemble of them) to "
        "ONNX, write OUT and OUT.json (how to compute the inputs without drugforge), and check "
        "that onnxruntime reproduces drugforge's predictions within 1e-5.",
    )  # fmt: skip
    exp.add_argument("model_dir")
    exp.add_argument("--format", choices=EXPORT_FORMATS, default="onnx")
    exp.add_argument("--out", default=None, metavar="FILE.onnx",
                     help="output file (default: MODEL_DIR.onnx beside the model directory)")
    exp.add_argument("--check-smiles", default=None, metavar="FILE",
                     help="molecules for the parity check (default: a built-in set plus a "
                     "sample of the training file when it is still there)")
    exp.add_argument("--opset", type=int, default=None, help="ONNX opset (default: 17)")
    exp.add_argument("--force", action="store_true", help="overwrite --out")
    exp.add_argument("--quiet", action="store_true")


def _add_screen_parser(sub: Any) -> None:
    scr = sub.add_parser(
        "screen", help="score, filter and rank a compound library of any size with saved models",
        description="Stream a library (SMILES/CSV/TSV/SDF/Parquet, optionally .gz) in chunks "
        "through saved models and built-in properties; every row ends as hit, scored, "
        "filtered, duplicate or invalid (with the reason). Names in --rank/--filter: the "
        "models' target names (and TARGET_std), built-in properties, 'similarity'; quote "
        "other characters with backticks.",
    )
    scr.add_argument("library", help="the library file")
    scr.add_argument("--model", action="append", default=[], metavar="[NAME=]DIR",
                     help="a saved model (repeat for several); NAME names its output column "
                     "(NAME_<target> for a multi-target model), else the target names are used")
    scr.add_argument("--out", required=True, help="hits file (.parquet, .csv, .tsv, opt. .gz)")
    scr.add_argument("--rank", default=None, metavar="EXPR",
                     help="score to sort by, higher first, e.g. \"pKi - 0.5*herg\"")
    scr.add_argument("--filter", action="append", default=[], metavar="EXPR",
                     help="condition every hit must meet, e.g. \"QED>=0.5 and not PAINS\"")
    scr.add_argument("--require", action="append", default=[], metavar="SMARTS",
                     help="substructure every hit must contain")
    scr.add_argument("--exclude", action="append", default=[], metavar="SMARTS",
                     help="substructure no hit may contain")
    scr.add_argument("--similar-to", action="append", default=[], metavar="SMILES",
                     help="reference molecule: adds column 'similarity' (max Tanimoto, ECFP4)")
    scr.add_argument("--min-similarity", type=float, default=None)
    scr.add_argument("--properties", default="", metavar="NAMES",
                     help="comma-separated built-in properties to add to the output "
                     "(any column of 'drugforge profile', e.g. qed,sa_score,PAINS,alerts)")
    scr.add_argument("--profile", action="store_true",
                     help="add every built-in property: the whole drug-likeness and toxicity "
                     "profile of 'drugforge profile', streamed")
    scr.add_argument("--top", type=int, default=None, metavar="K",
                     help="keep the best K by --rank (a bounded heap)")
    scr.add_argument("--dedup", choices=["none", "smiles", "inchikey"], default="none",
                     help="drop later copies of the same molecule (memory grows ~100 bytes "
                     "per unique molecule)")
    scr.add_argument("--all-rows", default=None, metavar="FILE",
                     help="also write every row in input order with its status and values")
    scr.add_argument("--smiles-column", default=None)
    scr.add_argument("--id-column", default=None)
    scr.add_argument("--encoding", default=None)
    scr.add_argument("--chunk-size", type=int, default=5_000,
                     help="records per chunk (5000): memory grows with it, resume granularity too")
    scr.add_argument("--max-heavy-atoms", type=int, default=150)
    scr.add_argument("--engine", choices=["local", "ray"], default="local")
    scr.add_argument("--address", default=None,
                     help="Ray cluster address (default: start a local Ray instance)")
    scr.add_argument("--n-jobs", type=int, default=0, help="worker processes (0: one per core)")
    scr.add_argument("--resume", action="store_true",
                     help="finish an interrupted screen (same command)")
    scr.add_argument("--force", action="store_true", help="overwrite outputs and start over")
    scr.add_argument("--quiet", action="store_true")


_OPTIMIZE_EPILOG = """\
objective grammar (each --score is one quoted spec; options after spaces):
  qed                          RDKit QED (0..1)
  sa                           synthetic accessibility, scored (10 - SA) / 9
  similarity:SMILES[,SMILES]   max Tanimoto (ECFP4) to the reference molecule(s)
  substructure:SMARTS          match count; scored 1 when it matches (step(1,))
  model:DIR[:TARGET]           a saved drugforge model: predicted value (regression, needs a
                               transform) or P(positive) (classification)
  options: weight=W  name=NAME  and one transform: sigmoid(low,high[,k])
           reverse_sigmoid(low,high[,k])  step(low,high) (a bound may be empty)
           linear(low,high)  none()
  The total is the weighted geometric mean of the scored components, set to 0 when a
  --constraint (NAME>=V, <=, >, <; NAME: a score name or qed sa mw logp tpsa hbd hba rotb
  rings heavy_atoms), --must or --must-not SMARTS fails. --objective FILE (.json/.toml) holds
  the same as {"components": [{"kind": "model", "path": "DIR", "name": "pKi", "transform":
  {"kind": "sigmoid", "low": 5, "high": 9}}], "constraints": [{"metric": "qed", "op": ">=",
  "value": 0.5}], "must_not": ["[N+](=O)[O-]"]}; flags add to it.
example:
  drugforge optimize --prior runs/chem-lm --out top.csv --steps 300 \\
    --score "model:models/pki name=pKi sigmoid(5,9)" --score qed --constraint "qed>=0.5"
"""


def _add_optimize_parser(sub: Any) -> None:
    opt = sub.add_parser(
        "optimize", help="steer a chem-lm generator toward an objective (reinforcement learning)",
        description="Fine-tune a pretrained chem-lm generator by reinforcement learning "
        "(REINVENT-style augmented likelihood, scaffold diversity filter, experience replay) and "
        "write the best molecules it found with every score component.",
        epilog=_OPTIMIZE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    opt.add_argument("--prior", default="chem-lm", metavar="NAME|DIR",
                     help="pretrained chem-lm generator directory or shipped name (chem-lm)")
    opt.add_argument("--out", required=True,
                     help="output .csv/.tsv/.parquet (optionally .gz): the top molecules")
    opt.add_argument("--objective", default=None, metavar="FILE", help="objective .json/.toml")
    opt.add_argument("--score", action="append", default=[], metavar="SPEC",
                     help='a score component, e.g. "model:DIR name=pKi sigmoid(5,9)" or qed')
    opt.add_argument("--constraint", action="append", default=[], metavar="EXPR",
                     help='hard constraint on a raw value, e.g. "qed>=0.5"')
    opt.add_argument("--must", action="append", default=[], metavar="SMARTS",
                     help="every molecule must match (else score 0)")
    opt.add_argument("--must-not", action="append", default=[], metavar="SMARTS",
                     help="no molecule may match (else score 0)")
    opt.add_argument("--similar-to", action="append", default=[], metavar="SMILES",
                     help="add a similarity score to these molecules")
    opt.add_argument("--aggregate", choices=["geometric", "arithmetic"], default=None,
                     help="weighted mean of the scored components (default: geometric)")
    opt.add_argument("--steps", type=int, default=300, help="reinforcement-learning steps (300)")
    opt.add_argument("--batch-size", type=int, default=64, help="molecules sampled per step (64)")
    opt.add_argument("--sigma", type=float, default=128.0, help="score weight in the augmented "
                     "likelihood (128)")
    opt.add_argument("--lr", type=float, default=1e-4, help="learning rate (1e-4)")
    opt.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (1)")
    opt.add_argument("--bucket-size", type=int, default=25,
                     help="diversity filter: good molecules per Murcko scaffold (25)")
    opt.add_argument("--min-score", type=float, default=0.4,
                     help="diversity filter: the score that counts as good (0.4)")
    opt.add_argument("--no-diversity-filter", action="store_true")
    opt.add_argument("--replay-size", type=int, default=100,
                     help="best molecules kept for experience replay (100; 0: off)")
    opt.add_argument("--replay-sample", type=int, default=10,
                     help="molecules replayed per step (10)")
    opt.add_argument("--top", type=int, default=100, metavar="K", help="molecules written (100)")
    opt.add_argument("--seed", type=int, default=0)
    opt.add_argument("--save-agent", default=None, metavar="DIR",
                     help="also save the fine-tuned generator here")
    opt.add_argument("--novelty-reference", default=None, metavar="FILE",
                     help="molecules to count novelty against (besides the prior's corpus)")
    opt.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                     help="checkpoints and run.json (default: OUT.checkpoints)")
    opt.add_argument("--checkpoint-every", type=int, default=None, metavar="STEPS")
    opt.add_argument("--resume", action="store_true",
                     help="continue the run from its last checkpoint (same settings)")
    opt.add_argument("--time-budget-minutes", type=float, default=None, metavar="M",
                     help="stop after M minutes with a resumable checkpoint and the top so far")
    opt.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    opt.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    opt.add_argument("--force", action="store_true", help="overwrite --out and start over")
    opt.add_argument("--quiet", action="store_true")


def _optimize(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from drugforge.workflows.optimize import OptimizeConfig, objective_from_options, run_optimize

    objective = objective_from_options(
        file=args.objective, scores=args.score, constraints=args.constraint, must=args.must,
        must_not=args.must_not, similar_to=args.similar_to, aggregate=args.aggregate,
    )  # fmt: skip
    try:
        config = OptimizeConfig(
            prior=args.prior, objective=objective, out=args.out, steps=args.steps,
            batch_size=args.batch_size, sigma=args.sigma, lr=args.lr,
            temperature=args.temperature, diversity_filter=not args.no_diversity_filter,
            bucket_size=args.bucket_size, min_score=args.min_score,
            replay_size=args.replay_size, replay_sample=args.replay_sample, top=args.top,
            seed=args.seed, save_agent=args.save_agent, novelty_reference=args.novelty_reference,
            checkpoint_dir=args.checkpoint_dir, checkpoint_every=args.checkpoint_every,
            resume=args.resume, force=args.force, time_budget_minutes=args.time_budget_minutes,
            threads=args.threads, device=args.device, quiet=args.quiet,
        )  # fmt: skip
    except (ValidationError, ValueError) as err:
        raise DrugforgeError(f"invalid arguments: {_first_error(err)}") from None
    result = run_optimize(config)
    print(json.dumps(result.summary, default=float))
    return 0


def _train(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from drugforge.workflows.train import TrainConfig, run_train

    params: dict[str, dict[str, Any]] = {}
    for model, key, value in args.model_param:
        params.setdefault(model, {})[key] = value
    for option, key in (("--pretrained", "pretrained"), ("--finetune", "finetune")):
        value = getattr(args, key)
        if value is not None:
            if args.model not in ("chem-lm", "auto"):
                raise DrugforgeError(f"{option} applies to --model chem-lm (or auto with chem-lm "
                                     f"in its pool), not to --model {args.model}")
            params.setdefault("chem-lm", {})[key] = value
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


def _export(args: argparse.Namespace) -> int:
    from drugforge.molecules.export.onnx import DEFAULT_OPSET
    from drugforge.workflows.export import run_export

    result = run_export(args.model_dir, args.out, fmt=args.format, check_smiles=args.check_smiles,
                        opset=DEFAULT_OPSET if args.opset is None else args.opset,
                        force=args.force, quiet=args.quiet)
    print(json.dumps({"out": str(result.out), "sidecar": str(result.sidecar),
                      "checked": result.n_checked, "max_abs_diff": result.max_abs_diff}))
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
    from drugforge.molecules.models import list_models

    print("auto       choose among the models below by cross-validation on the training data")
    for name, desc in list_models().items():
        print(f"{name:<10} {desc}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from drugforge.workflows.demo import run_demo

    run_demo(args.out, quiet=args.quiet)
    return 0


def _pretrain(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from drugforge.workflows.pretrain import PretrainConfig, run_pretrain

    if args.arch != "chem-lm":
        return _pretrain_vae_gan(args)
    for flag in ("vae", "epochs", "max_molecules"):
        if getattr(args, flag) is not None:
            raise DrugforgeError(f"--{flag.replace('_', '-')} is for --arch smiles-vae/latent-gan")
    names = ("moses", "size", "max_steps", "batch_size", "lr", "seed", "smiles_column", "max_len",
             "augment", "eval_every", "checkpoint_every", "resume", "force", "device",
             "threads", "time_budget_minutes", "quiet", "init")  # fmt: skip
    given = {k: getattr(args, k) for k in names if getattr(args, k) is not None}
    if args.data:
        given["data"] = args.data
    try:
        config = PretrainConfig(out=args.out, **given)
    except (ValidationError, ValueError) as err:
        raise DrugforgeError(f"invalid arguments: {_first_error(err)}") from None
    result = run_pretrain(config)
    print(json.dumps({"out": str(result.out), "steps": result.steps, "max_steps": result.max_steps,
                      "tokens_seen": result.tokens_seen, "val_loss": result.val_loss,
                      "stop_reason": result.stop_reason}, default=float))  # fmt: skip
    return 0


def _pretrain_vae_gan(args: argparse.Namespace) -> int:
    """``pretrain --arch smiles-vae|latent-gan``: the same flags, the VAE/GAN workflows."""
    from pydantic import ValidationError

    from drugforge.workflows.generative_train import (
        TrainLatentGANConfig,
        TrainVAEConfig,
        run_train_latent_gan,
        run_train_vae,
    )

    for flag in ("size", "max_len", "augment", "init"):
        if getattr(args, flag) is not None:
            raise DrugforgeError(f"--{flag.replace('_', '-')} is for --arch chem-lm")
    if len(args.data) > 1:
        raise DrugforgeError(f"--arch {args.arch} reads one data file, got {len(args.data)}")
    if args.data and args.moses:
        raise DrugforgeError("give a data file or --moses, not both")
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    names = ("smiles_column", "max_molecules", "seed", "epochs", "max_steps",
             "time_budget_minutes", "checkpoint_every", "resume", "device", "force", "quiet",
             "batch_size", "lr")  # fmt: skip
    given = {k: getattr(args, k) for k in names if getattr(args, k) is not None}
    if args.data:
        given["data"] = args.data[0]
    try:
        if args.arch == "smiles-vae":
            if args.vae is not None:
                raise ValueError("--vae is for --arch latent-gan")
            if args.eval_every is not None:
                given["eval_every"] = args.eval_every
            result = run_train_vae(TrainVAEConfig(out=args.out, **given))
        else:
            if args.vae is None:
                raise ValueError("--arch latent-gan needs --vae DIR (a trained smiles-vae)")
            result = run_train_latent_gan(TrainLatentGANConfig(out=args.out, vae=args.vae,
                                                               **given))
    except (ValidationError, ValueError) as err:
        raise DrugforgeError(f"invalid arguments: {_first_error(err)}") from None
    print(json.dumps({"out": str(result.out), "molecules": result.n_used,
                      "invalid": result.n_invalid, "too_long": result.n_too_long,
                      "stop_reason": result.stop_reason, "seconds": result.seconds}))
    return 0


def _generate(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from drugforge.workflows.generate import GenerateConfig, run_generate

    try:
        config = GenerateConfig(
            model=args.model, n=args.n, out=args.out, temperature=args.temperature,
            top_k=args.top_k, batch_size=args.batch_size, seed=args.seed, unique=args.unique,
            valid_only=args.valid_only, threads=args.threads, force=args.force, quiet=args.quiet,
            interpolate=tuple(args.interpolate) if args.interpolate else None, near=args.near,
            radius=args.radius,
        )  # fmt: skip
    except (ValidationError, ValueError) as err:
        raise DrugforgeError(f"invalid arguments: {_first_error(err)}") from None
    result = run_generate(config)
    print(json.dumps({"out": str(result.out), "sampled": result.n_sampled,
                      "valid": result.n_valid, "unique": result.n_unique,
                      "novel": result.n_novel, "written": result.n_written}))  # fmt: skip
    return 0


def _embed(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from drugforge.workflows.embed import EmbedConfig, run_embed

    try:
        config = EmbedConfig(
            data=args.data, out=args.out, model=args.model, smiles_column=args.smiles_column,
            batch_size=args.batch_size, threads=args.threads, encoding=args.encoding,
            force=args.force, quiet=args.quiet,
        )  # fmt: skip
    except (ValidationError, ValueError) as err:
        raise DrugforgeError(f"invalid arguments: {_first_error(err)}") from None
    result = run_embed(config)
    print(json.dumps({"out": str(result.out), "rows": result.n_rows,
                      "embedded": result.n_embedded, "dim": result.dim}))  # fmt: skip
    return 0


def _screen(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from drugforge.workflows.screen import ScreenConfig, run_screen

    try:
        config = ScreenConfig(
            library=args.library, out=args.out, models=args.model, rank=args.rank,
            filters=args.filter, require=args.require, exclude=args.exclude,
            similar_to=args.similar_to, min_similarity=args.min_similarity,
            properties=[p.strip() for p in args.properties.split(",") if p.strip()],
            profile=args.profile, top=args.top, dedup=args.dedup, all_rows=args.all_rows,
            smiles_column=args.smiles_column, id_column=args.id_column, encoding=args.encoding,
            chunk_size=args.chunk_size, max_heavy_atoms=args.max_heavy_atoms,
            engine=args.engine, address=args.address, n_jobs=args.n_jobs, resume=args.resume,
            force=args.force, quiet=args.quiet,
        )  # fmt: skip
    except (ValidationError, ValueError) as err:
        raise DrugforgeError(f"invalid arguments: {_first_error(err)}") from None
    summary = run_screen(config)
    print(json.dumps(summary.as_dict()))
    return 0


def _profile(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from drugforge.workflows.profile import ProfileConfig, run_profile

    given = {"max_heavy_atoms": args.max_heavy_atoms, "n_jobs": args.n_jobs}
    try:
        config = ProfileConfig(
            data=args.input, out=args.out, smiles_column=args.smiles_column,
            panel=not args.no_panel, encoding=args.encoding, force=args.force, quiet=args.quiet,
            **{k: v for k, v in given.items() if v is not None},
        )  # fmt: skip
    except (ValidationError, ValueError) as err:
        raise DrugforgeError(f"invalid arguments: {_first_error(err)}") from None
    summary = run_profile(config)
    print(json.dumps({"out": str(summary.out), "rows": summary.n_rows,
                      "profiled": summary.n_profiled, "endpoints": len(summary.endpoints)}))
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    from drugforge.workflows.benchmark import run_moses_benchmark

    report = run_moses_benchmark(
        samples=args.samples, model=args.model, n=args.n, seed=args.seed, out=args.out,
        n_jobs=args.n_jobs, quiet=args.quiet, force=args.force, test=args.test,
        test_scaffolds=args.test_scaffolds, train=args.train,
    )  # fmt: skip
    print(report.format_table())
    return 0

_COMMANDS = {
    "train": _train,
    "predict": _predict,
    "evaluate": _evaluate,
    "export": _export,
    "datasets": _datasets,
    "models": _models,
    "demo": _demo,
    "pretrain": _pretrain,
    "generate": _generate,
    "embed": _embed,
    "profile": _profile,
    "optimize": _optimize,
    "benchmark": _benchmark,
    "screen": _screen,
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
