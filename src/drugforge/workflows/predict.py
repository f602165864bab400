"""``drugforge predict``: apply a saved model to every row of a file, in order.

Every input row is written back with its columns, one prediction column per target (the
probability of the positive class for classification), ``<target>_std`` and ``error`` (empty for
good rows). A row whose molecule cannot be used keeps NaN predictions and says why.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field
from rdkit import Chem

from drugforge.core.artifacts import LoadedModel, Prediction, load_model
from drugforge.molecules.chem import StandardizerConfig
from drugforge.molecules.chem.mol import changed_by_standardizer, standardize_smiles
from drugforge.molecules.data.io import read_molecules, write_table
from drugforge.core.errors import InputError
from drugforge.molecules.featurize.batch import feature_cache_disabled
from drugforge.workflows.common import check_output_path, make_logger
from drugforge.core.config import RunConfig


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


def prediction_columns(loaded: LoadedModel, existing: set[str]) -> dict[str, tuple[str, str]]:
    """Output column names per target; a clash with an input column gets a ``_pred`` suffix."""
    names = {}
    for target in loaded.target_names:
        col = target if target not in existing else f"{target}_pred"
        names[target] = (col, f"{col}_std")
    return names


def predict_smiles(
    loaded: LoadedModel, smiles: list[str], *, batch_size: int = 2048, quiet: bool = True
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Predict for raw SMILES; returns (mean (n,t), std (n,t), error text per row)."""
    result = loaded.predict(smiles, batch_size=batch_size, quiet=quiet)
    return result.mean, result.std, result.errors


def predict_mols(
    loaded: LoadedModel, mols: Sequence[Chem.Mol], texts: Sequence[str], *,
    batch_size: int = 2048,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """:func:`predict_smiles` for molecules already parsed from ``texts`` (a library screen).

    A molecule the standardizer leaves as it is (one fragment, and no charge the ``Uncharger``
    would change: most charged library molecules are nitro groups or quaternary nitrogens) goes
    to the model as the parsed Mol, with no second parse or canonical SMILES. The others take the
    SMILES path (:func:`standardize_smiles`), exactly as ``drugforge predict`` does. Features equal
    those of the SMILES path up to the order of floating-point sums.
    """
    config = StandardizerConfig.from_dict(loaded.standardizer)
    result = Prediction.empty(len(mols), len(loaded.target_names))
    ready: list[Chem.Mol | str] = []
    ok: list[int] = []
    for i, (mol, text) in enumerate(zip(mols, texts, strict=True)):
        if not config.canonical or changed_by_standardizer(mol, config):
            clean, error = standardize_smiles(text, config)
            if clean is None:
                result.errors[i] = error
                continue
            ready.append(clean)
        else:
            heavy = mol.GetNumHeavyAtoms()
            if config.max_heavy_atoms is not None and heavy > config.max_heavy_atoms:
                result.errors[i] = f"molecule has {heavy} heavy atoms (limit {config.max_heavy_atoms})"
                continue
            ready.append(mol)
        ok.append(i)
    with feature_cache_disabled():
        for start in range(0, len(ok), batch_size):
            loaded.predict_prepared(ready[start : start + batch_size],
                                    ok[start : start + batch_size], result)  # fmt: skip
    return result.mean, result.std, result.errors


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
    loaded = load_model(model_dir)
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
