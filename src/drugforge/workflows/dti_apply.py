"""``drugforge dti predict`` and ``dti profile``: apply a saved drug-target affinity model.

``predict`` keeps every input pair, in order, with its own columns plus ``affinity``,
``affinity_std`` and ``error`` (a measured ``affinity`` column of the input is kept as
``affinity_measured``). A pair that cannot be predicted (invalid SMILES or sequence, an id missing
from ``drugs.csv``/``targets.csv``) keeps NaN and says why. ``profile`` ranks every target the
model was trained on (or those of ``--targets``) for one molecule: a selectivity profile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field

from drugforge.core.artifacts import LoadedModel, load_model
from drugforge.core.config import RunConfig
from drugforge.core.errors import ArtifactError, InputError
from drugforge.core.runtime import check_output_path, make_logger
from drugforge.interactions.data import LABEL, TARGETS_FILE, read_pair_data, read_table_columns
from drugforge.molecules.data.io import write_table
from drugforge.proteins.sequences import check_sequence, normalize_sequence

__all__ = [
    "DTIPredictConfig",
    "DTIPredictPairsConfig",
    "DTIProfileConfig",
    "DTIProfileMoleculeConfig",
    "load_pair_model",
    "model_targets",
    "resolve_target",
    "run_dti_predict",
    "run_dti_predict_pairs",
    "run_dti_profile",
    "run_dti_profile_molecule",
]



def load_pair_model(model_dir: str | Path) -> LoadedModel:
    """A saved model that takes (smiles, sequence) pairs; any other kind is a one-line error."""
    loaded = load_model(model_dir)
    if getattr(loaded.model, "input_kind", "") != "pairs":
        raise ArtifactError("not a drug-target model (train one with 'drugforge dti train')",
                            path=model_dir)  # fmt: skip
    return loaded


def model_targets(model_dir: str | Path, targets: str | None = None) -> dict[str, str]:
    """``target_id -> sequence``: those of ``targets`` (a targets.csv) or the model's own."""
    path = Path(targets) if targets else Path(model_dir) / TARGETS_FILE
    if not path.is_file() and not targets:
        raise ArtifactError(f"no {TARGETS_FILE} beside the model; pass --targets",
                            path=model_dir)  # fmt: skip
    table = read_table_columns(path, ["target_id", "target_sequence"])
    out: dict[str, str] = {}
    for key, seq, line in zip(table.columns["target_id"], table.columns["target_sequence"],
                              table.lines, strict=True):  # fmt: skip
        err = check_sequence(seq)
        if err:
            raise InputError(err, path=path, line=line)
        out[key.strip()] = normalize_sequence(seq)
    return out


def resolve_target(model_dir: str | Path, sequence: str | None, target_id: str | None) -> str:
    """The validated sequence given, or that of ``target_id`` among the model's targets."""
    if (sequence is None) == (target_id is None):
        raise InputError("give exactly one of --target-sequence and --target-id")
    if sequence is not None:
        err = check_sequence(sequence)
        if err:
            raise InputError(f"--target-sequence: {err}")
        return normalize_sequence(sequence)
    known = model_targets(model_dir)
    if target_id not in known:
        import difflib

        close = difflib.get_close_matches(str(target_id), list(known), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise InputError(f"target '{target_id}' is not among the model's {len(known)} "
                         f"targets{hint}", path=model_dir)  # fmt: skip
    return known[str(target_id)]


@dataclass
class DTIPredictSummary:
    out: Path | None
    n_rows: int
    n_failed: int
    seconds: float
    frame: pd.DataFrame


class DTIPredictConfig(RunConfig):
    """The validated configuration of one ``drugforge dti predict`` run."""

    model_dir: str = Field(json_schema_extra={"cli": {"positional": True}})
    pairs: str = Field(description="pairs: drug_id,target_id (with --drugs and --targets) or "
                       "one table smiles,target_sequence")  # fmt: skip
    drugs: str | None = Field(default=None, description="drugs.csv: drug_id,smiles")
    targets: str | None = Field(default=None, description="targets.csv: target_id,target_sequence")
    out: str = Field(description="output .csv/.tsv/.parquet (optionally .gz)")
    encoding: str | None = None
    force: bool = False
    quiet: bool = False


def run_dti_predict(config: DTIPredictConfig) -> DTIPredictSummary:
    """Predict every pair of the input, in order."""
    log = make_logger(config.quiet)
    started = time.perf_counter()
    out = check_output_path(config.out, config.force)
    loaded = load_pair_model(config.model_dir)
    data = read_pair_data(config.pairs, config.drugs, config.targets, encoding=config.encoding,
                          unknown_ids="mark")  # fmt: skip
    pred = loaded.predict(data.inputs, quiet=config.quiet)
    errors = [d or p for d, p in zip(data.errors, pred.errors, strict=True)]
    bad = np.array([bool(e) for e in errors])
    mean, std = pred.mean[:, 0].copy(), pred.std[:, 0].copy()
    mean[bad], std[bad] = np.nan, np.nan
    frame = pd.DataFrame(dict(data.columns))
    if LABEL in frame.columns:
        frame = frame.rename(columns={LABEL: f"{LABEL}_measured"})
    frame[LABEL] = mean
    frame[f"{LABEL}_std"] = std
    frame["error"] = errors
    write_table(frame, out, force=config.force)
    seconds = time.perf_counter() - started
    n_failed = int(bad.sum())
    log(f"predicted {len(frame) - n_failed} of {len(frame)} pairs ({n_failed} with errors) in "
        f"{seconds:.1f} s -> {out}")  # fmt: skip
    return DTIPredictSummary(out, len(frame), n_failed, seconds, frame)


class DTIProfileConfig(RunConfig):
    """The validated configuration of one ``drugforge dti profile`` run."""

    model_dir: str = Field(json_schema_extra={"cli": {"positional": True}})
    smiles: str = Field(description="the molecule")
    targets: str | None = Field(default=None, description="targets.csv to rank (default: the "
                                "targets the model was trained on)")  # fmt: skip
    out: str = Field(description="output .csv/.tsv/.parquet (optionally .gz)")
    force: bool = False
    quiet: bool = False


def run_dti_profile(config: DTIProfileConfig) -> pd.DataFrame:
    """Every target's predicted affinity for one molecule, strongest first (``rank`` 1)."""
    log = make_logger(config.quiet)
    out = check_output_path(config.out, config.force)
    frame = _profile(config.model_dir, config.smiles, config.targets, quiet=config.quiet)
    write_table(frame, out, force=config.force)
    log(f"profiled {config.smiles} against {len(frame)} targets -> {out}")
    return frame


def _profile(model_dir: str, smiles: str, targets_file: str | None, *,
             quiet: bool = True) -> pd.DataFrame:  # fmt: skip
    loaded = load_pair_model(model_dir)
    targets = model_targets(model_dir, targets_file)
    pred = loaded.predict([(smiles, seq) for seq in targets.values()], quiet=quiet)
    if pred.errors and all(pred.errors):
        raise InputError(f"cannot profile '{smiles}': {pred.errors[0]}")
    frame = pd.DataFrame({"target_id": list(targets), LABEL: pred.mean[:, 0],
                          f"{LABEL}_std": pred.std[:, 0], "error": pred.errors})  # fmt: skip
    frame = frame.sort_values(LABEL, ascending=False, kind="stable", na_position="last")
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    frame["percentile"] = 100.0 * (1.0 - (frame["rank"] - 1) / max(len(frame), 1))
    return frame.reset_index(drop=True)


class PairIn(RunConfig):
    """One (molecule, protein) pair of a REST request."""

    smiles: str
    target_sequence: str


class DTIPredictPairsConfig(RunConfig):
    """``POST /v1/dti/predict``: a drug-target model's affinities for pairs given inline."""

    model: str = Field(description="the saved model (the server resolves a name in its store)")
    pairs: list[PairIn] = Field(description="the pairs; an invalid one is a row with an error")


def run_dti_predict_pairs(config: DTIPredictPairsConfig) -> pd.DataFrame:
    """``smiles``, ``target_sequence``, ``affinity``, ``affinity_std``, ``error``: one row per pair."""
    loaded = load_pair_model(config.model)
    pairs = [(p.smiles, p.target_sequence) for p in config.pairs]
    pred = loaded.predict(pairs)
    return pd.DataFrame({"smiles": [p[0] for p in pairs],
                         "target_sequence": [p[1] for p in pairs], LABEL: pred.mean[:, 0],
                         f"{LABEL}_std": pred.std[:, 0], "error": pred.errors})  # fmt: skip


class DTIProfileMoleculeConfig(RunConfig):
    """``POST /v1/dti/profile``: one molecule against every target of a drug-target model."""

    model: str = Field(description="the saved model (the server resolves a name in its store)")
    smiles: str = Field(description="the molecule")


def run_dti_profile_molecule(config: DTIProfileMoleculeConfig) -> pd.DataFrame:
    """The rows of ``dti profile`` for one molecule, strongest predicted binding first."""
    return _profile(config.model, config.smiles, None)
