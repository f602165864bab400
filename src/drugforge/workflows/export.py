"""``drugforge export``: a saved model as ONNX, its featurization documented, its parity checked.

Writes ``OUT.onnx`` and ``OUT.onnx.json``: the sidecar says how to compute every input from a
SMILES without drugforge (standardizer steps and settings, featurizers with their parameters and
column ranges, the graph feature layout), names the outputs, and records the parity check: the
exported graph, run by onnxruntime on a sample of molecules, against ``drugforge predict`` on the
same molecules. A difference above :data:`PARITY_TOLERANCE` fails the export and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

import drugforge
from drugforge.core.artifacts import LoadedModel, load_model
from drugforge.core.config import RunConfig
from drugforge.core.errors import InputError
from drugforge.core.evaluation.target_transform import methods as target_methods
from drugforge.core.runtime import make_logger
from drugforge.molecules.chem import StandardizerConfig, standardize_many
from drugforge.molecules.data.io import read_molecules
from drugforge.molecules.export import EXPORT_FORMATS
from drugforge.molecules.export.onnx import DEFAULT_OPSET, ExportError, OnnxExport, to_onnx
from drugforge.molecules.export.onnx_inputs import describe_inputs, make_inputs
from drugforge.molecules.predict import predict_smiles

__all__ = ["BUILTIN_CHECK_SMILES", "EXPORT_FORMATS", "PARITY_TOLERANCE", "ExportConfig",
           "ExportSummary", "export_model", "run_export"]  # fmt: skip

#: largest allowed |onnx - drugforge| over the check molecules, per output
PARITY_TOLERANCE = 1e-5
#: training molecules added to the check set when the training file is still where it was
TRAINING_SAMPLE = 64

#: the default check set: drug-like molecules and the cases featurizers get wrong first (salts,
#: charges, stereo, single atoms, rare elements, rings without aromaticity, long chains)
BUILTIN_CHECK_SMILES: tuple[str, ...] = (
    "CC(=O)Oc1ccccc1C(=O)O",  # aspirin
    "Cn1c(=O)c2c(ncn2C)n(C)c1=O",  # caffeine
    "CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)O",  # (S)-ibuprofen
    "CC(=O)Nc1ccc(O)cc1",  # paracetamol
    "O=C([O-])c1ccccc1.[Na+]",  # a salt: largest fragment, neutralized
    "C[NH+](C)CCc1c[nH]c2ccc(O)cc12",  # a protonated amine
    "C[C@@H](N)C(=O)O",  # L-alanine
    "C/C=C/C(=O)O",  # an E double bond
    "C",  # one atom, no bonds
    "O",
    "FC(F)(F)c1ccc(Cl)cc1Br",
    "Ic1ccc(cc1)S(=O)(=O)N",
    "OB(O)c1ccccc1",
    "C[Si](C)(C)OC",
    "[Se]1C=CC=C1",
    "OP(=O)(O)OCC",
    "O=[N+]([O-])c1ccc(cc1)C#N",
    "C1CCC2(CC1)OCCO2",
    "CCCCCCCCCCCCCCCCCC(=O)O",
    "c1ccc2c(c1)ccc1ccccc12",
    "CN1CCC[C@H]1c1cccnc1",  # nicotine
    "CC1(C)S[C@@H]2[C@H](NC(=O)Cc3ccccc3)C(=O)N2[C@H]1C(=O)O",  # penicillin G
    "N#N",
    "C1=CC=CC=CC=C1",  # cyclooctatetraene
)


@dataclass
class ExportSummary:
    out: Path
    sidecar: Path
    n_checked: int
    max_abs_diff: dict[str, float]
    seconds: float
    check_source: str
    spec: dict[str, Any] = field(default_factory=dict)


def _paths(model_dir: Path, out: str | Path | None, force: bool) -> tuple[Path, Path]:
    if out is None:  # resolved, so that '.' or 'runs/esol/' give a real name
        model_dir = model_dir.resolve()
    path = Path(out) if out is not None else model_dir.parent / f"{model_dir.name}.onnx"
    if path.suffix.lower() != ".onnx":
        raise InputError("the output file must end in .onnx", path=path)
    sidecar = path.with_name(path.name + ".json")
    for p in (path, sidecar):
        if p.exists() and not force:
            raise InputError("output exists; use --force to overwrite", path=p)
    return path, sidecar


def _check_smiles(loaded: LoadedModel, check_file: str | Path | None) -> tuple[list[str], str]:
    """The molecules of the parity check and where they came from."""
    if check_file is not None:
        table = read_molecules(check_file, target_columns=[])
        smiles = [str(s) for s in table.frame[table.smiles_column].tolist() if not pd.isna(s)]
        if not smiles:
            raise InputError("no molecules to check", path=check_file)
        return smiles, str(check_file)
    smiles, source = list(BUILTIN_CHECK_SMILES), "built-in set"
    data = loaded.config.get("data")
    if isinstance(data, str) and Path(data).is_file():
        try:
            table = read_molecules(data, smiles_column=loaded.config.get("smiles_column"),
                                   target_columns=[])  # fmt: skip
        except InputError:
            return smiles, source  # the training file changed: the built-in set still checks
        column = table.frame[table.smiles_column].dropna().astype(str)
        sample = column.sample(min(TRAINING_SAMPLE, len(column)), random_state=0).tolist()
        smiles += sample
        source += f" + {len(sample)} training molecules ({data})"
    return smiles, source


def _max_diff(a: np.ndarray, b: np.ndarray, relative: np.ndarray | None = None) -> float:
    """Largest |a - b|; positions where both are NaN agree, where one is NaN differ by inf.

    In the columns flagged by ``relative`` (``(t,)`` bool: targets predicted as ``10**mu``) the
    difference is relative, ``|a - b| / max(1, |b|)``: there a float32 network's last-digit
    difference in ``mu`` is a constant relative one, whatever the size of the value."""
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.abs(a - b)
    if relative is not None and relative.any():
        diff = np.where(relative[None, :], diff / np.maximum(1.0, np.abs(b)), diff)
    diff = np.where(both_nan, 0.0, np.where(np.isnan(diff), np.inf, diff))
    return float(diff.max(initial=0.0))


def _session(model_bytes: bytes) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # small check sets; and deterministic sums
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    except Exception as err:  # noqa: BLE001 - onnxruntime raises its own assorted types
        raise ExportError(f"onnxruntime cannot load the exported model: "
                          f"{' '.join(str(err).split())[:300]}") from None  # fmt: skip


def check_parity(
    loaded: LoadedModel, export: OnnxExport, smiles: list[str]
) -> tuple[int, dict[str, float]]:
    """Run the export on ``smiles`` with onnxruntime; max |onnx - drugforge| per output."""
    mean, std, errors = predict_smiles(loaded, smiles)
    clean, _ = standardize_many(smiles, StandardizerConfig.from_dict(loaded.standardizer))
    ok = [i for i, e in enumerate(errors) if not e and clean[i] is not None]
    if not ok:
        raise InputError("none of the check molecules could be predicted")
    session = _session(export.model.SerializeToString())
    feeds = make_inputs(export.inputs, [str(clean[i]) for i in ok])
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(None, feeds), strict=True))
    logged = np.asarray([m == "log10" for m in target_methods(loaded.target_transform,
                                                               len(loaded.target_names))])
    diffs = {"prediction": _max_diff(got["prediction"], mean[ok], logged)}
    if "std" in got:
        diffs["std"] = _max_diff(got["std"], std[ok], logged)
    return len(ok), diffs


def _standardizer_doc(settings: dict[str, Any]) -> dict[str, Any]:
    config = StandardizerConfig.from_dict(settings)
    steps = [("mol = Chem.MolFromSmiles(smiles.strip()); empty, non-ASCII, invalid or atomless "
             "input (or a space inside the SMILES) is not predicted")]
    if config.largest_fragment:
        steps.append("several fragments: mol = rdMolStandardize.LargestFragmentChooser()"
                     ".choose(mol)")  # fmt: skip
    steps.append(f"smiles = Chem.MolToSmiles(mol, isomericSmiles=True, "
                 f"canonical={config.canonical})")  # fmt: skip
    if config.neutralize:
        steps.append("formal charges: neutral = rdMolStandardize.Uncharger().uncharge(mol); "
                     "its SMILES replaces smiles when it parses back")  # fmt: skip
    if config.max_heavy_atoms is not None:
        steps.append(f"more than {config.max_heavy_atoms} heavy atoms: not predicted")
    steps.append("every input is computed from Chem.MolFromSmiles(smiles) of this standardized "
                 "SMILES")  # fmt: skip
    return {"settings": config.to_dict(), "steps": steps}


def _versions() -> dict[str, str]:
    out = {"drugforge": drugforge.__version__}
    for lib in ("rdkit", "onnx", "onnxruntime", "lightgbm", "torch", "numpy"):
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = "not installed"
    return out


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ExportConfig(RunConfig):
    """The validated configuration of one ``drugforge export`` run."""

    model_dir: str = Field(json_schema_extra={"cli": {"positional": True}})
    format: str = Field(default="onnx", json_schema_extra={"cli": {"choices": list(EXPORT_FORMATS)}})
    out: str | None = Field(
        default=None, description="output file (default: MODEL_DIR.onnx beside the model directory)",
        json_schema_extra={"cli": {"metavar": "FILE.onnx"}},
    )  # fmt: skip
    check_smiles: str | None = Field(
        default=None, description="molecules for the parity check (default: a built-in set plus "
        "a sample of the training file when it is still there)",
        json_schema_extra={"cli": {"metavar": "FILE"}},
    )  # fmt: skip
    opset: int | None = Field(default=None, description=f"ONNX opset (default: {DEFAULT_OPSET})")
    force: bool = Field(default=False, description="overwrite --out")
    quiet: bool = False


def run_export(config: ExportConfig) -> ExportSummary:
    """Export the model in ``config.model_dir`` (see :func:`export_model`)."""
    return export_model(config.model_dir, config.out, fmt=config.format,
                        check_smiles=config.check_smiles,
                        opset=DEFAULT_OPSET if config.opset is None else config.opset,
                        force=config.force, quiet=config.quiet)  # fmt: skip


def export_model(
    model_dir: str | Path,
    out: str | Path | None = None,
    *,
    fmt: str = "onnx",
    check_smiles: str | Path | None = None,
    opset: int = DEFAULT_OPSET,
    force: bool = False,
    quiet: bool = False,
) -> ExportSummary:
    """Export the model in ``model_dir``; default output ``<model_dir>.onnx`` beside it."""
    log = make_logger(quiet)
    started = time.perf_counter()
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format '{fmt}'; choose from: {', '.join(EXPORT_FORMATS)}")
    model_path = Path(model_dir)
    out_path, sidecar = _paths(model_path, out, force)
    loaded = load_model(model_path)
    export = to_onnx(loaded.model, uncertainty=loaded.uncertainty or None,
                     probability_calibration=loaded.probability_calibration or None,
                     target_transform=loaded.target_transform or None, opset=opset)
    smiles, source = _check_smiles(loaded, check_smiles)
    n_checked, diffs = check_parity(loaded, export, smiles)
    worst = max(diffs, key=lambda k: diffs[k])
    if not diffs[worst] <= PARITY_TOLERANCE:
        raise ExportError(
            f"parity check failed: max |onnx - drugforge| of '{worst}' is {diffs[worst]:.3g} "
            f"> {PARITY_TOLERANCE:g} on {n_checked} molecules; nothing written"
        )
    data = export.model.SerializeToString()
    spec = {
        "format": "drugforge-onnx",
        "format_version": 1,
        "onnx_file": out_path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "opsets": export.opsets,
        "source_model": {
            "path": str(model_path),
            "model": loaded.manifest.get("model"),
            "created": loaded.manifest.get("created"),
            "data_hash": loaded.manifest.get("data_hash"),
        },
        "task": loaded.task,
        "target_names": loaded.target_names,
        "standardizer": _standardizer_doc(loaded.standardizer),
        "inputs": describe_inputs(export.inputs),
        "outputs": export.outputs,
        "uncertainty": loaded.uncertainty,
        "probability_calibration": loaded.probability_calibration,
        "target_transform": loaded.target_transform,
        "parity": {
            "molecules": n_checked,
            "source": source,
            "max_abs_diff": diffs,
            "tolerance": PARITY_TOLERANCE,
            "runtime": "onnxruntime CPUExecutionProvider",
        },
        "versions": _versions(),
    }
    _atomic_write(out_path, data)
    _atomic_write(sidecar, (json.dumps(spec, indent=2) + "\n").encode())
    seconds = time.perf_counter() - started
    shown = ", ".join(f"{k} {v:.2g}" for k, v in diffs.items())
    log(f"exported {loaded.manifest.get('model')} -> {out_path} ({len(data) / 1e6:.1f} MB); "
        f"parity on {n_checked} molecules: max |diff| {shown}")  # fmt: skip
    return ExportSummary(out_path, sidecar, n_checked, diffs, seconds, source, spec)
