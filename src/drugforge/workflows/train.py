"""``drugforge train``: read, standardize, split, fit, evaluate, gate, save.

The evaluate-retrain-apply loop: the held-out evaluation is compared with the user's
requirement (``--require``); when unmet, the next stronger configuration of the ladder is tried
within the time budget; when still unmet, nothing is saved as accepted and the run fails.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import ConfigDict, Field, field_validator

from drugforge.core.artifacts import save_model, write_rejected
from drugforge.core.config import RunConfig
from drugforge.core.errors import GateFailedError, InputError
from drugforge.core.evaluation.fit import Evaluation, evaluate_split
from drugforge.core.evaluation.gate import (
    check_requirements,
    parse_requirements,
    validate_requirements,
)
from drugforge.core.evaluation.probability import CalibrationMethod
from drugforge.core.evaluation.target_transform import (
    TargetTransform,
    choose_target_transform,
    describe,
)
from drugforge.core.runtime import Logger, make_logger
from drugforge.core.selection.auto import AutoResult, ModelSpec
from drugforge.core.splits import Split
from drugforge.molecules.chem import StandardizerConfig
from drugforge.molecules.data.dataset import MoleculeDataset, PrepReport, prepare_dataset
from drugforge.molecules.data.input import read_input
from drugforge.molecules.data.splits import make_split
from drugforge.molecules.models import (
    build_model,
    get_model_class,
    model_choices,
    model_param_names,
)
from drugforge.molecules.models.base import MolecularPredictor
from drugforge.molecules.selection.auto import DEFAULT_POOL, select_model

SplitName = str  # random | scaffold | cluster | column:NAME


class TrainConfig(RunConfig):
    """The resolved, validated configuration of one training run (saved beside the model)."""

    model_config = ConfigDict(extra="forbid")

    data: str = Field(
        description="CSV/TSV/SMI/SDF/Parquet file (optionally .gz) or a catalog name",
        json_schema_extra={"cli": {"positional": True}},
    )
    out: str = Field(description="model directory to create")
    targets: list[str] = Field(
        default_factory=list,
        description="target column (repeat for multi-task); detected when omitted",
        json_schema_extra={"cli": {"flag": "--target", "metavar": "COL"}},
    )
    smiles_column: str | None = None
    task: Literal["regression", "classification"] | None = None
    split: SplitName = Field(
        default="scaffold", description="random | scaffold | cluster | column:NAME (default: scaffold)"
    )
    split_sizes: tuple[float, float, float] = Field(
        default=(0.8, 0.1, 0.1), description="train,val,test fractions",
        json_schema_extra={"cli": {"parse": "fractions"}},
    )  # fmt: skip
    model: str = Field(default="auto", json_schema_extra={"cli": {"choices_from": "drugforge.molecules.models:model_choices"}})
    model_params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="e.g. svm.C=10, mlp.hidden=[512,128]",
        json_schema_extra={"cli": {"flag": "--model-param", "metavar": "MODEL.PARAM=VALUE",
                                   "parse": "model_params", "action": "append"}},
    )  # fmt: skip
    auto_pool: list[str] = Field(
        default_factory=list,
        description="comma-separated candidates for --model auto (default: svm,gp,gbm for "
        "regression; svm,gbm,mlp,mpnn for classification, mpnn up to 2,000 training molecules; "
        "plus chem-lm up to 1,000 training molecules)",
        json_schema_extra={"cli": {"parse": "comma_list"}},
    )
    cv_folds: int = 5
    cv_split: Literal["auto", "scaffold", "random"] = Field(
        default="auto", description="folds of the cross-validation inside auto and --search: "
        "auto mirrors the held-out split (scaffold folds for scaffold, cluster and column "
        "splits; random folds for a random split), or scaffold, or random",
    )  # fmt: skip
    calibration: CalibrationMethod = Field(
        default="auto", description="classification: calibrate the probabilities on "
        "out-of-fold predictions (auto) or the validation part (a named model): auto (Platt, "
        "or isotonic when its cross-validated Brier is lower and a task has >= 1,000 labelled "
        "rows; none when neither beats the raw probabilities), platt, isotonic or none",
    )  # fmt: skip
    target_transform: TargetTransform = Field(
        default="auto", description="regression: fit the model on log10(y) and predict in the "
        "target's units: auto (log10 for a target whose values are all > 0 and heavy tailed: "
        "training skewness > 2 or max/min > 1000), log10 (every value must be > 0) or none; "
        "metrics are always in the target's units",
    )  # fmt: skip
    search: int = Field(  # random-search trials per model (0: defaults)
        default=0, ge=0, description="hyperparameter search: N configurations (defaults "
        "included) scored by cross-validation on the training set",
        json_schema_extra={"cli": {"metavar": "N"}},
    )  # fmt: skip
    require: list[str] = Field(
        default_factory=list,
        description='acceptance requirement on the held-out test set, e.g. "rmse<=0.7"',
        json_schema_extra={"cli": {"metavar": "EXPR"}},
    )
    budget_minutes: float = Field(
        default=30.0, description="time budget for stronger attempts when a requirement is unmet"
    )
    max_attempts: int = 3
    seed: int = 0
    skip_invalid: bool = Field(
        default=False, description="drop invalid SMILES (listed) instead of stopping"
    )
    dedupe: Literal["mean", "median", "first", "none"] = "mean"
    standardizer: dict[str, Any] = Field(default_factory=lambda: StandardizerConfig().to_dict())
    force: bool = Field(default=False, description="overwrite --out")
    quiet: bool = False

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if value not in model_choices():
            raise ValueError(f"unknown model '{value}'; choose from: {', '.join(model_choices())}")
        return value

    @field_validator("split")
    @classmethod
    def _known_split(cls, value: str) -> str:
        if value in {"random", "scaffold", "cluster"} or (
            value.startswith("column:") and len(value) > len("column:")
        ):
            return value
        raise ValueError(f"unknown split '{value}'; choose from: random, scaffold, cluster, column:NAME")

    @field_validator("auto_pool")
    @classmethod
    def _known_pool(cls, value: list[str]) -> list[str]:
        for name in value:
            if name in {"auto", "ensemble"}:
                raise ValueError(f"'{name}' cannot be a member of the auto pool")
            get_model_class(name)  # raises with the list of choices
        return value


@dataclass
class Attempt:
    spec: ModelSpec
    evaluation: Evaluation
    seconds: float
    gate: dict[str, Any] | None
    auto: AutoResult | None = None
    cv_method: str | None = None  # the folds of auto's (or --search's) cross-validation

    def summary(self) -> dict[str, Any]:
        return {
            "model": self.spec.describe(),
            "spec": self.spec.to_dict(),
            "seconds": round(self.seconds, 2),
            "test": self.evaluation.test_metrics,
            "gate": self.gate,
            "auto_cv": self.auto.table() if self.auto else None,
            "cv_method": self.cv_method,
        }


@dataclass
class TrainResult:
    out: Path | None
    accepted: bool
    attempts: list[Attempt] = field(default_factory=list)
    prep: PrepReport | None = None

    @property
    def final(self) -> Attempt:
        return self.attempts[-1]


def _ladder(config: TrainConfig) -> list[str]:
    """Configurations in order of strength; each later one is tried only if the gate fails."""
    first = config.model
    ladder = [first]
    if first != "auto":
        ladder.append("auto")
    ladder.append("strong")
    return ladder[: max(1, config.max_attempts)]


def _strong_spec(task: str, pool: tuple[str, ...], seed: int) -> ModelSpec:
    """The strongest configuration: every pool member, three seeds of the fingerprint network
    and the message-passing network, averaged (the members differ in seed and in representation).
    """
    members = [name for name in pool if name not in {"mlp", "mpnn"}] + ["mlp"] * 3 + ["mpnn"]
    return ModelSpec("ensemble", {"members": members, "seed": seed})


def _resolve(
    choice: str,
    config: TrainConfig,
    train: MoleculeDataset,
    log: Logger,
    target_transform: dict[str, Any] | None = None,
) -> tuple[ModelSpec, AutoResult | None]:
    task = train.task
    pool = tuple(config.auto_pool) or None
    if choice == "auto":
        split_method = _cv_method(config)
        log(f"auto: {config.cv_folds}-fold {split_method} cross-validation on the training set")
        auto = select_model(
            train,
            pool=pool,
            k=config.cv_folds,
            seed=config.seed,
            split_method=split_method,
            model_params=config.model_params,
            target_transform=target_transform,
            log=log,
        )
        log(f"auto: chose {auto.best.describe()}")
        return auto.best, auto
    if choice == "strong":
        from drugforge.molecules.selection.auto import default_pool

        chosen_pool = pool or default_pool(task, len(train.smiles))  # type: ignore[arg-type]
        return _strong_spec(task, chosen_pool, config.seed), None
    spec = ModelSpec(choice, dict(config.model_params.get(choice, {})))
    if config.search > 0 and choice != "ensemble":
        from drugforge.molecules.selection.search import search_hyperparameters

        log(f"search: {config.search} configurations of {choice}, "
            f"{config.cv_folds}-fold cross-validation on the training set")
        found = search_hyperparameters(
            train, choice, n_trials=config.search, base_params=spec.params, k=config.cv_folds,
            seed=config.seed, split_method=_cv_method(config), target_transform=target_transform,
            log=log,
        )
        spec = found.best
    return spec, None


def _cv_method(config: TrainConfig) -> str:
    """The folds of the cross-validation: ``cv_split``, or (``auto``) mirroring the held-out
    split: random folds for a random split, else scaffold folds (scaffold and cluster splits
    keep related molecules apart, and so does a column split as a rule: a given test set is
    mostly new chemistry, so random folds would flatter near-duplicates)."""
    if config.cv_split != "auto":
        return config.cv_split
    return "random" if config.split == "random" else "scaffold"


def _build(spec: ModelSpec, task: str, config: TrainConfig) -> MolecularPredictor:
    params = dict(spec.params)
    if spec.name == "ensemble":
        member_params = dict(config.model_params)
        member_params.update(params.get("member_params") or {})
        params["member_params"] = member_params
    accepted = model_param_names(spec.name)
    if "seed" in accepted:
        params.setdefault("seed", config.seed)
    if "quiet" in accepted:  # the networks show epochs, loss, rate and ETA unless --quiet
        params.setdefault("quiet", config.quiet)
    return build_model(spec.name, task, **params)  # type: ignore[arg-type]


def run_train(config: TrainConfig) -> TrainResult:
    """Run one training job as configured; raises DrugforgeError subclasses on bad input."""
    log = make_logger(config.quiet)
    started = time.perf_counter()
    out = Path(config.out)
    if out.exists() and not config.force:
        raise InputError("output directory exists; use --force to overwrite", path=out)
    requirements = parse_requirements(config.require) if config.require else []

    table = read_input(config.data, config.smiles_column, config.targets or None)
    dataset, prep = prepare_dataset(
        table,
        task=config.task,
        skip_invalid=config.skip_invalid,
        standardizer=StandardizerConfig.from_dict(config.standardizer),
        dedupe=config.dedupe,
    )
    log(
        f"data: {prep.n_input} rows -> {len(dataset.smiles)} molecules, "
        f"{len(dataset.target_names)} target(s) {dataset.target_names}, task {dataset.task}"
        + (f", {prep.n_invalid} invalid skipped" if prep.n_invalid else "")
        + (f", {prep.n_duplicates_merged} duplicates merged" if prep.n_duplicates_merged else "")
    )
    validate_requirements(requirements, dataset.task, dataset.target_names)
    split = make_split(dataset, config.split, seed=config.seed, sizes=config.split_sizes)
    if len(split.test) == 0:
        raise InputError(f"split '{config.split}' left no test molecules", path=config.data)
    log(f"split: {config.split} (seed {config.seed}): train {len(split.train)}, "
        f"val {len(split.val)}, test {len(split.test)}")
    train_set = dataset.subset(split.train)
    transform = choose_target_transform(
        dataset.task, train_set.y, dataset.target_names, config.target_transform,
        y_all=dataset.y, source=config.data,
    )  # fmt: skip
    if dataset.task == "regression":
        log(f"target transform: {describe(transform)} (requested {config.target_transform})")

    deadline = started + 60.0 * config.budget_minutes
    attempts: list[Attempt] = []
    for step, choice in enumerate(_ladder(config)):
        if step > 0 and time.perf_counter() > deadline:
            log(f"gate: budget of {config.budget_minutes:g} min used up; no further attempts")
            break
        t0 = time.perf_counter()
        spec, auto = _resolve(choice, config, train_set, log, transform)
        if attempts and spec.to_dict() == attempts[-1].spec.to_dict():
            log(f"attempt {step + 1}: {spec.describe()} was just tried; moving on")
            continue
        model = _build(spec, dataset.task, config)
        log(f"attempt {step + 1}: fitting {spec.describe()} on {len(split.train)} molecules")
        evaluation = evaluate_split(
            model, dataset, split, fit=True, calibrate=config.calibration,
            oof=auto.best_oof if auto is not None else None, seed=config.seed,
            target_transform=transform,
        )  # fmt: skip
        _log_calibration(evaluation.probability_calibration, dataset.target_names, log)
        gate = check_requirements(requirements, evaluation.test_result) if requirements else None
        searched = choice == "auto" or (config.search > 0 and choice not in {"ensemble", "strong"})
        attempt = Attempt(spec, evaluation, time.perf_counter() - t0,
                          gate.to_dict() if gate else None, auto,
                          _cv_method(config) if searched else None)
        attempts.append(attempt)
        log(f"attempt {step + 1}: test {_fmt(evaluation.test_metrics)} ({attempt.seconds:.1f} s)")
        if gate is None:
            break
        log("gate: " + gate.summary())
        if gate.passed:
            break

    final = attempts[-1]
    accepted = final.gate is None or bool(final.gate.get("passed"))
    resolved = config.resolved()
    metrics = {
        "test": final.evaluation.test_metrics,
        "test_per_task": final.evaluation.test_result.per_task,
        "calibration": final.evaluation.calibration,
        "probability_calibration": final.evaluation.probability_calibration,
        "cv_method": final.cv_method,
        "target_transform": {**transform, "summary": describe(transform)},
        "validation": final.evaluation.val_metrics,
        "gate": final.gate,
        "attempts": [a.summary() for a in attempts],
        "data": {"n_input": prep.n_input, "n_molecules": len(dataset.smiles),
                 "n_invalid": prep.n_invalid, "n_duplicates_merged": prep.n_duplicates_merged},
        "train_seconds": round(time.perf_counter() - started, 2),
    }
    if not accepted:
        rejected = write_rejected(out, metrics)
        final.evaluation.write_report(
            rejected, title=f"REJECTED: {final.spec.describe()}", gate=final.gate,
            extra_sections=_selection_sections(final, config),
        )
        raise GateFailedError(
            f"requirement not met after {len(attempts)} attempt(s): "
            f"{final.gate and final.gate.get('summary')}; nothing saved as accepted "
            f"(the evaluation is in {rejected})",
            path=config.data,
        )
    with tempfile.TemporaryDirectory(prefix="drugforge-report-") as tmp:
        reports = final.evaluation.write_report(
            Path(tmp), title=f"drugforge model: {final.spec.describe()}", gate=final.gate,
            extra_sections=_selection_sections(final, config),
        )
        saved = save_model(
            out,
            final.evaluation.model,
            task=dataset.task,
            target_names=dataset.target_names,
            standardizer=config.standardizer,
            data_hash=dataset.data_hash(),
            config={**resolved, "resolved_model": final.spec.to_dict()},
            split=split_manifest(split, dataset),
            metrics=metrics,
            uncertainty=final.evaluation.uncertainty,
            probability_calibration=final.evaluation.probability_calibration,
            target_transform=transform,
            smiles_column=table.smiles_column,
            extra_files={p.name: p for p in reports.values()},
            force=config.force,
        )
    log(f"saved: {saved}")
    return TrainResult(out=saved, accepted=True, attempts=attempts, prep=prep)


def _selection_sections(attempt: Attempt, config: TrainConfig) -> dict[str, Any]:
    """The report's sections on how the model was chosen (auto's cross-validation table)."""
    if attempt.cv_method is None:
        return {}
    sections: dict[str, Any] = {"Model selection": {
        "chosen": attempt.spec.describe(),
        "cross-validation": f"{config.cv_folds}-fold {attempt.cv_method} folds of the training "
                            f"set (held-out split: {config.split})",
    }}  # fmt: skip
    if attempt.auto is not None:
        sections["Cross-validation (auto)"] = [
            {k: row[k] for k in ("model", "score", "fold_mean", "fold_sd", "seconds")}
            for row in attempt.auto.table()
        ]
    return sections


def _log_calibration(recipe: dict[str, Any], names: list[str], log: Logger) -> None:
    for name, task in zip(names, recipe.get("tasks", []), strict=False):
        log(f"calibration {name}: {task['method']} on {recipe.get('fitted_on')} ({task['n']} "
            f"rows), Brier {task['brier_before']:.4f} -> {task['brier_after']:.4f}")


def split_manifest(split: Split, dataset: MoleculeDataset) -> dict[str, Any]:
    """The split with the molecules it refers to, so it can be audited and reused."""
    return {
        **split.to_json_dict(),
        "smiles": {
            part: [dataset.smiles[i] for i in idx]
            for part, idx in (("train", split.train), ("val", split.val), ("test", split.test))
        },
    }


def _fmt(metrics: dict[str, float]) -> str:
    keys = [k for k in ("rmse", "mae", "r2", "spearman", "roc_auc", "pr_auc", "cliff_rmse")
            if k in metrics]
    return ", ".join(f"{k} {metrics[k]:.3f}" for k in keys if np.isfinite(metrics[k]))


__all__ = ["DEFAULT_POOL", "TrainConfig", "TrainResult", "run_train"]
