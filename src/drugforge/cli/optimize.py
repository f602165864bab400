"""``drugforge optimize``: steer a chem-lm generator toward an objective by reinforcement
learning (:mod:`drugforge.workflows.optimize`)."""

from __future__ import annotations

import argparse
import json

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config

HELP = "steer a chem-lm generator toward an objective (reinforcement learning)"

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
  --constraint (NAME>=V, <=, >, <; NAME: a score name or a value of `drugforge profile`: qed
  sa_score mw clogp tpsa hbd hba rotatable_bonds aromatic_rings fsp3 formal_charge heavy_atoms
  rings; logp, rotb and sa are aliases of clogp, rotatable_bonds and sa_score; hbd/hba are
  Lipinski's NH+OH / N+O counts as in profile), --must or --must-not SMARTS fails. --objective FILE (.json/.toml) holds
  the same as {"components": [{"kind": "model", "path": "DIR", "name": "pKi", "transform":
  {"kind": "sigmoid", "low": 5, "high": 9}}], "constraints": [{"metric": "qed", "op": ">=",
  "value": 0.5}], "must_not": ["[N+](=O)[O-]"]}; flags add to it.
example:
  drugforge optimize --prior runs/chem-lm --out top.csv --steps 300 \\
    --score "model:models/pki name=pKi sigmoid(5,9)" --score qed --constraint "qed>=0.5"
"""

PARSER = {
    "description": "Fine-tune a pretrained chem-lm generator by reinforcement learning "
    "(REINVENT-style augmented likelihood, scaffold diversity filter, experience replay) and "
    "write the best molecules it found with every score component.",
    "epilog": _OPTIMIZE_EPILOG,
    "formatter_class": argparse.RawDescriptionHelpFormatter,
}


def config_models() -> tuple[type[BaseModel], ...]:
    """The config models whose fields are this command's options."""
    from drugforge.workflows.optimize import OptimizeConfig

    return (OptimizeConfig,)


def configure(parser: argparse.ArgumentParser) -> None:
    from drugforge.workflows.optimize import OptimizeConfig

    add_options(parser, OptimizeConfig, ["prior", "out"])
    # the objective: a file and/or flags that add to it (objective_from_options)
    parser.add_argument("--objective", dest="objective_file", default=None, metavar="FILE",
                        help="objective .json/.toml")
    parser.add_argument("--score", action="append", default=[], metavar="SPEC",
                        help='a score component, e.g. "model:DIR name=pKi sigmoid(5,9)" or qed')
    parser.add_argument("--constraint", action="append", default=[], metavar="EXPR",
                        help='hard constraint on a raw value, e.g. "qed>=0.5"')
    parser.add_argument("--must", action="append", default=[], metavar="SMARTS",
                        help="every molecule must match (else score 0)")
    parser.add_argument("--must-not", action="append", default=[], metavar="SMARTS",
                        help="no molecule may match (else score 0)")
    parser.add_argument("--similar-to", action="append", default=[], metavar="SMILES",
                        help="add a similarity score to these molecules")
    parser.add_argument("--aggregate", choices=["geometric", "arithmetic"], default=None,
                        help="weighted mean of the scored components (default: geometric)")
    add_options(parser, OptimizeConfig, [
        "steps", "batch_size", "sigma", "lr", "temperature", "bucket_size", "min_score",
        "diversity_filter", "replay_size", "replay_sample", "top", "seed", "save_agent",
        "novelty_reference", "checkpoint_dir", "checkpoint_every", "resume",
        "time_budget_minutes", "device", "threads", "force", "quiet",
    ])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from drugforge.workflows.optimize import OptimizeConfig, objective_from_options, run_optimize

    objective = objective_from_options(
        file=args.objective_file, scores=args.score, constraints=args.constraint, must=args.must,
        must_not=args.must_not, similar_to=args.similar_to, aggregate=args.aggregate,
    )  # fmt: skip
    result = run_optimize(build_config(OptimizeConfig, args, objective=objective))
    print(json.dumps(result.summary, default=float))
    return 0
