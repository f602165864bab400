"""``drugforge predict``: apply a saved model to every row of a file, in order.

Every input row is written back with its columns, one prediction column per target (the
probability of the positive class for classification), ``<target>_std`` and ``error`` (empty for
good rows). A row whose molecule cannot be used keeps NaN predictions and says why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
from pydantic import Field

from drugforge.core.artifacts import LoadedModel, load_model
from drugforge.core.config import RunConfig
from drugforge.core.errors import InputError
from drugforge.core.runtime import check_output_path, make_logger
from drugforge.molecules.data.io import read_molecules, write_table
from drugforge.molecules.predict import check_molecule_model, predict_smiles, prediction_columns


@dataclass
class PredictSummary:
    out: Path | None
    n_rows: int
    n_predicted: int
    n_failed: int
    seconds: float
    frame: pd.DataFrame

    @property
    def rate(self) -> float:
        return self.n_rows / self.seconds if self.seconds > 0 else float("nan")


class PredictConfig(RunConfig):
    """The validated configuration of one ``drugforge predict`` run."""

    model_dir: str = Field(json_schema_extra={"cli": {"positional": True}})
    input: str = Field(json_schema_extra={"cli": {"positional": True}})
    out: str = Field(description="output .csv/.tsv/.parquet (optionally .gz)")
    smiles_column: str | None = None
    batch_size: int = 2048
    encoding: str | None = Field(
        default=None, description="text encoding of INPUT when it is not UTF-8 (e.g. latin-1)"
    )
    force: bool = False
    quiet: bool = False


def run_predict(config: PredictConfig) -> PredictSummary:
    """Predict every row of ``config.input`` with the model in ``config.model_dir``."""
    return predict_file(config.model_dir, config.input, config.out,
                        smiles_column=config.smiles_column, force=config.force,
                        batch_size=config.batch_size, quiet=config.quiet,
                        encoding=config.encoding)  # fmt: skip


def predict_file(
    model_dir: str | Path,
    data: str | Path,
    out: str | Path | None,
    *,
    smiles_column: str | None = None,
    force: bool = False,
    batch_size: int = 2048,
    quiet: bool = False,
    encoding: str | None = None,
) -> PredictSummary:
    log = make_logger(quiet)
    out_path = check_output_path(out, force) if out is not None else None
    started = time.perf_counter()
    loaded = check_molecule_model(load_model(model_dir))  # before reading the input
    column = smiles_column
    table = read_molecules(data, smiles_column=column, target_columns=[], encoding=encoding)
    frame = table.frame.copy()
    if len(frame) == 0:
        raise InputError("no data rows", path=data)
    raw = ["" if pd.isna(v) else str(v) for v in frame[table.smiles_column].tolist()]
    mean, std, errors = predict_smiles(loaded, raw, batch_size=batch_size, quiet=quiet)
    columns = prediction_columns(loaded, set(map(str, frame.columns)))
    for t, target in enumerate(loaded.target_names):
        pred_col, std_col = columns[target]
        frame[pred_col] = mean[:, t]
        frame[std_col] = std[:, t]
    frame["error"] = errors
    if out_path is not None:
        write_table(frame, out_path, force=force)
    seconds = time.perf_counter() - started
    n_failed = sum(1 for e in errors if e)
    summary = PredictSummary(out_path, len(frame), len(frame) - n_failed, n_failed, seconds, frame)
    log(f"predicted {summary.n_predicted} of {summary.n_rows} rows ({n_failed} with errors) "
        f"in {seconds:.1f} s ({summary.rate:.0f} rows/s)" + (f" -> {out_path}" if out_path else ""))
    return summary


class PredictMoleculesConfig(RunConfig):
    """``POST /v1/predict``: predictions of one saved model for SMILES given inline."""

    model: str = Field(description="the saved model (the server resolves a name in its store)")
    smiles: list[str] = Field(description="the molecules; an invalid one is a row with an error")


def run_predict_molecules(config: PredictMoleculesConfig) -> pd.DataFrame:
    """``smiles``, one column per target and ``<target>_std``, ``error``: one row per input."""
    loaded = check_molecule_model(_loaded(config.model))
    pred = loaded.predict(config.smiles)
    frame = pd.DataFrame({"smiles": list(config.smiles)})
    columns = prediction_columns(loaded, {"smiles", "error"})
    for t, target in enumerate(loaded.target_names):
        mean_col, std_col = columns[target]
        frame[mean_col] = pred.mean[:, t]
        frame[std_col] = pred.std[:, t]
    frame["error"] = pred.errors
    return frame


def _loaded(model_dir: str) -> LoadedModel:
    """The model in ``model_dir``, verified once and then reused while its files are unchanged
    (a server answers many requests with one model; every file's size and mtime are compared)."""
    path = Path(model_dir)
    if not path.is_dir():
        return load_model(path)  # the one-line error for a missing directory
    stamp = tuple(sorted((f.name, f.stat().st_mtime_ns, f.stat().st_size)
                         for f in path.iterdir() if f.is_file()))  # fmt: skip
    return _load_verified(str(path.resolve()), stamp)


@lru_cache(maxsize=8)
def _load_verified(model_dir: str, stamp: tuple[tuple[str, int, int], ...]) -> LoadedModel:
    return load_model(model_dir)
