"""``drugforge dti train``: read pairs, validate, split (random or cold), choose, fit, gate, save.

The saved model is an ordinary drugforge model directory (``load_model(dir).predict(pairs)``
with ``(smiles, target_sequence)`` pairs) plus ``targets.csv``, the sequences it was trained on,
which ``dti profile`` ranks a molecule against and ``dti screen --target-id`` looks up.
"""

from __future__ import annotations

import csv
import hashlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from drugforge.core.artifacts import save_model, write_rejected
from drugforge.core.config import RunConfig
from drugforge.core.errors import GateFailedError, InputError
from drugforge.core.evaluation.fit import Evaluation, evaluate_split
from drugforge.core.evaluation.gate import (
    check_requirements,
    parse_requirements,
    validate_requirements,
)
from drugforge.core.runtime import make_logger
from drugforge.core.selection.auto import AutoResult, ModelFactory, ModelSpec, select_model
from drugforge.core.splits import Split
from drugforge.interactions.data import TARGETS_FILE, PairDataset, read_pair_data
from drugforge.interactions.models import PAIR_MODELS, build_pair_model, pair_model_choices
from drugforge.interactions.splits import check_split_spec, cv_folds, split_pairs
from drugforge.molecules.chem import StandardizerConfig, standardize_many

__all__ = ["TARGETS_FILE", "DTITrainConfig", "DTITrainResult", "run_dti_train"]


class DTITrainConfig(RunConfig):
    """The validated configuration of one ``drugforge dti train`` run."""

    pairs: str = Field(description="pairs: drug_id,target_id[,affinity][,split] (with --drugs "
                       "and --targets) or one table smiles,target_sequence[,affinity][,split]")
    drugs: str | None = Field(default=None, description="drugs.csv: drug_id,smiles")
    targets: str | None = Field(default=None, description="targets.csv: target_id,target_sequence")
    split: str | None = Field(default=None, description="column:NAME (train*/valid*/test "
                              "values, e.g. DeepDTA's folds), random, cold-drug, cold-target or "
                              "cold-both (default: column:split when the pairs have a 'split' "
                              "column, else random)")  # fmt: skip
    split_sizes: tuple[float, float, float] = Field(
        default=(0.8, 0.1, 0.1), description="train,val,test fractions (random and cold splits)",
        json_schema_extra={"cli": {"parse": "fractions", "metavar": "TRAIN,VAL,TEST"}})
    seed: int = 0
    model: str = Field(default="auto", description="auto chooses by cross-validation inside "
                       "the training pairs", json_schema_extra={"cli": {"choices_from":
                       "drugforge.interactions.models:pair_model_choices"}})  # fmt: skip
    model_params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="MODEL.PARAM=VALUE (repeatable), e.g. pair-nn.n_members=3",
        json_schema_extra={"cli": {"flag": "--model-param", "parse": "model_params",
                                   "metavar": "MODEL.PARAM=VALUE", "action": "append"}})  # fmt: skip
    auto_pool: list[str] = Field(default_factory=lambda: list(PAIR_MODELS),
                                 json_schema_extra={"cli": {"parse": "comma_list"}})
    cv_folds: int = Field(default=3, ge=2, description="auto: cross-validation folds")
    require: list[str] = Field(default_factory=list, description="e.g. \"ci>=0.88\" (repeatable)")
    skip_invalid: bool = Field(default=False, description="drop pairs with an invalid SMILES or "
                               "sequence instead of stopping")  # fmt: skip
    encoding: str | None = None
    standardizer: dict[str, Any] = Field(default_factory=lambda: StandardizerConfig().to_dict())
    out: str
    force: bool = Field(default=False, description="overwrite --out")
    quiet: bool = False

    @field_validator("split")
    @classmethod
    def _known_split(cls, value: str | None) -> str | None:
        return None if value is None else check_split_spec(value)

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if value not in pair_model_choices():
            raise ValueError(f"unknown model '{value}'; choose from: "
                             f"{', '.join(pair_model_choices())}")  # fmt: skip
        return value

    @field_validator("auto_pool")
    @classmethod
    def _known_pool(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in PAIR_MODELS:
                raise ValueError(f"unknown pool model '{name}'; choose from: "
                                 f"{', '.join(PAIR_MODELS)}")  # fmt: skip
        return value


@dataclass
class DTITrainResult:
    out: Path
    spec: ModelSpec
    evaluation: Evaluation[Any]
    metrics: dict[str, Any]
    auto: AutoResult | None


def _prepare(data: PairDataset, config: DTITrainConfig) -> tuple[PairDataset, dict[str, int]]:
    """Standardize each distinct molecule once; stop on invalid pairs unless told to skip them;
    drop unlabelled pairs."""
    drugs = data.drugs()
    clean, errors = standardize_many(list(drugs.values()),
                                     StandardizerConfig.from_dict(config.standardizer))  # fmt: skip
    std = {d: (s, e) for d, s, e in zip(drugs, clean, errors, strict=True)}
    bad: list[int] = []
    for i, drug in enumerate(data.drug_ids):
        smiles, err = std[drug]
        if smiles is None or err:
            data.errors[i] = data.errors[i] or f"invalid SMILES: {err}"
        else:
            data.smiles[i] = smiles
        if data.errors[i]:
            bad.append(i)
    if bad and not config.skip_invalid:
        shown = "; ".join(f"line {data.lines[i]}: {data.errors[i]}" for i in bad[:3])
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise InputError(f"{len(bad)} pair(s) cannot be used: {shown}{more}; fix them or pass "
                         "--skip-invalid", path=data.source)  # fmt: skip
    labelled = ~np.isnan(data.y[:, 0])
    keep = [i for i in range(len(data)) if labelled[i] and not data.errors[i]]
    if not keep:
        raise InputError("no labelled pairs to train on (an 'affinity' column with numbers)",
                         path=data.source)  # fmt: skip
    counts = {"n_input": len(data), "n_invalid": len(bad),
              "n_unlabelled": int((~labelled).sum()), "n_pairs": len(keep)}  # fmt: skip
    return data.subset(keep), counts


def _factory() -> ModelFactory:
    def build(name: str, task: Any, **params: Any) -> Any:
        return build_pair_model("pair-ensemble" if name == "ensemble" else name, **params)

    def param_names(name: str) -> set[str]:
        return set(build_pair_model("pair-ensemble" if name == "ensemble" else name)
                   .get_params())  # fmt: skip

    return ModelFactory(build=build, param_names=param_names)


#: auto cross-validates each candidate with one ensemble member (the final fit uses all)
_CV_LIGHT = {"pair-nn": {"n_members": 1}, "pair-gbm": {"n_members": 1}}


def _choose(config: DTITrainConfig, train: PairDataset, log: Any) -> tuple[ModelSpec,
                                                                           AutoResult | None]:  # fmt: skip
    if config.model != "auto":
        return ModelSpec(config.model, dict(config.model_params.get(config.model, {}))), None
    log(f"auto: {config.cv_folds}-fold cross-validation ({config.split or 'random'} folds) of "
        f"{', '.join(config.auto_pool)} on {len(train)} training pairs")
    light = {n: {**config.model_params.get(n, {}), **_CV_LIGHT.get(n, {})}
             for n in config.auto_pool}  # fmt: skip
    auto = select_model(train, config.auto_pool,
                        lambda d: cv_folds(d, config.split or "random", config.cv_folds,
                                           config.seed),
                        _factory(), seed=config.seed, model_params=light, log=log)  # fmt: skip
    best = auto.best
    if best.name == "ensemble":
        members = best.params["member_params"]
        params = {**best.params, "member_params": {
            m: _final_params(config, m, p) for m, p in members.items()}}  # fmt: skip
        return ModelSpec("pair-ensemble", params), auto
    return ModelSpec(best.name, _final_params(config, best.name, best.params)), auto


def _final_params(config: DTITrainConfig, name: str, cv_params: dict[str, Any]) -> dict[str, Any]:
    """The CV's parameters of ``name`` without its light ensemble size: the final fit uses the
    configured size (``--model-param``), else the model's default."""
    params = {k: v for k, v in cv_params.items() if k != "n_members"}
    params.update(config.model_params.get(name, {}))
    return params


def _data_hash(data: PairDataset) -> str:
    h = hashlib.sha256()
    for d, t, s, q, y in zip(data.drug_ids, data.target_ids, data.smiles, data.sequences,
                             data.y[:, 0], strict=True):  # fmt: skip
        h.update(f"{d}\t{t}\t{s}\t{q}\t{y!r}\n".encode())
    return h.hexdigest()


def write_targets(path: Path, targets: dict[str, str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["target_id", "target_sequence"])
        writer.writerows(sorted(targets.items()))
    return path


def run_dti_train(config: DTITrainConfig) -> DTITrainResult:
    """Train, evaluate and save a drug-target affinity model as configured."""
    log = make_logger(config.quiet)
    started = time.perf_counter()
    out = Path(config.out)
    if out.exists() and not config.force:
        raise InputError("output directory exists; use --force to overwrite", path=out)
    requirements = parse_requirements(config.require) if config.require else []
    validate_requirements(requirements, "regression", ["affinity"])
    raw = read_pair_data(config.pairs, config.drugs, config.targets, encoding=config.encoding)
    data, counts = _prepare(raw, config)
    log(f"data: {counts['n_input']} pairs -> {counts['n_pairs']} labelled pairs of "
        f"{len(set(data.drug_ids))} drugs and {len(set(data.target_ids))} targets"
        + (f", {counts['n_invalid']} invalid skipped" if counts["n_invalid"] else "")
        + (f", {counts['n_unlabelled']} unlabelled" if counts["n_unlabelled"] else ""))
    if config.split is None:  # DeepDTA-style files carry their folds
        config = config.model_copy(
            update={"split": "column:split" if "split" in data.extra else "random"})
    assert config.split is not None
    split = split_pairs(data, config.split, sizes=config.split_sizes, seed=config.seed)
    if len(split.test) == 0:
        raise InputError(f"split '{config.split}' left no test pairs", path=config.pairs)
    log(f"split: {config.split} (seed {config.seed}): train {len(split.train)}, "
        f"val {len(split.val)}, test {len(split.test)}")
    spec, auto = _choose(config, data.subset(split.train), log)
    spec.params.setdefault("seed", config.seed)
    if spec.name != "pair-ensemble":
        spec.params.setdefault("quiet", config.quiet)
    model = build_pair_model(spec.name, **spec.params)
    log(f"fitting {spec.describe()} on {len(split.train)} pairs")
    evaluation = evaluate_split(model, data, split, fit=True, seed=config.seed)
    gate = check_requirements(requirements, evaluation.test_result) if requirements else None
    log("test: " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(evaluation.test_metrics.items())
                             if k in ("ci", "mse", "rmse", "pearson", "spearman", "rm2")))
    metrics = {
        "test": evaluation.test_metrics,
        "calibration": evaluation.calibration,
        "validation": evaluation.val_metrics,
        "gate": gate.to_dict() if gate else None,
        "auto": auto.table() if auto else None,
        "data": counts,
        "train_seconds": round(time.perf_counter() - started, 2),
    }
    if gate is not None and not gate.passed:
        rejected = write_rejected(out, metrics)
        raise GateFailedError(f"requirement not met: {gate.summary()}; nothing saved as accepted "
                              f"(the evaluation is in {rejected})", path=config.pairs)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="drugforge-dti-") as tmp:
        targets = write_targets(Path(tmp) / TARGETS_FILE, data.targets())
        saved = save_model(
            out, model, task="regression", target_names=["affinity"],
            standardizer=config.standardizer, data_hash=_data_hash(data),
            config={**config.resolved(), "resolved_model": spec.to_dict()},
            split=_split_manifest(split, data), metrics=metrics,
            uncertainty=evaluation.uncertainty, extra_files={TARGETS_FILE: targets},
            force=config.force,
        )  # fmt: skip
    log(f"saved: {saved} ({time.perf_counter() - started:.0f} s)")
    return DTITrainResult(saved, spec, evaluation, metrics, auto)


def _split_manifest(split: Split, data: PairDataset) -> dict[str, Any]:
    manifest = split.to_json_dict()
    manifest["n_pairs"] = len(data)
    return manifest
