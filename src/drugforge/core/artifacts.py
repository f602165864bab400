"""Saved models: a directory that loads safely (no pickle) and keeps loading in later versions.

Layout::

    model_dir/
      manifest.json      format version, versions of drugforge and libraries, data hash,
                         task/targets, standardizer, sha256 of every other file
      model.safetensors  all weights / numeric state (safetensors never executes code)
      model.json         the model's JSON state (class name, parameters, text blobs)
      config.json        the resolved run configuration
      split.json         the split indices and seed used for evaluation
      metrics.json       held-out metrics, calibration and gate result
      report.*           the evaluation report

Loading verifies every checksum, refuses unknown future format versions and unknown model
classes, and reports any problem as one :class:`ArtifactError` line. The model class is found by
its registry name (``model.json``'s ``model``) in :data:`drugforge.core.registry.MODELS`, which
the modality packages fill; nothing in a directory names Python code to import.

``load_model(dir).predict(X)`` is the one predict path (:class:`LoadedModel`): raw inputs are
prepared with the saved settings by the model's modality (molecules: standardized), a
classifier's probabilities are calibrated with the saved probability calibration (manifest
``probability_calibration``; absent in older models, which predict as before), the raw spread is
calibrated with the saved uncertainty recipe, a regression target the model was fitted on as
``log10(y)`` is transformed back to its units (manifest ``target_transform``: mean ``10**mu``, std
by the delta method; absent in older models and models without a transform, which predict as
before), and every row keeps its place with an error text when it cannot be predicted.

Generators (:mod:`drugforge.molecules.models.generative`) are saved the same way by
:func:`save_generator` / :func:`load_generator`: ``manifest.json`` (format
``drugforge-generator``, the generator kind, versions, sha256 of every file),
``model.safetensors``, ``model.json`` (the generator's JSON state: architecture, vocabulary,
training provenance), ``config.json`` (the run configuration), ``metrics.json`` and extra files
such as ``model_card.md``. :func:`read_generator_state` reads one without rebuilding it (the
``chem-lm`` predictor takes its pretrained encoder's weights that way).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
from safetensors.numpy import load_file, save_file

import drugforge
from drugforge.core.errors import ArtifactError, DrugforgeError, InputError
from drugforge.core.evaluation.probability import apply_probability_calibration
from drugforge.core.evaluation.target_transform import inverse as inverse_target_transform
from drugforge.core.evaluation.target_transform import is_identity
from drugforge.core.evaluation.target_transform import methods as target_methods
from drugforge.core.evaluation.uncertainty import apply_uncertainty
from drugforge.core.predictor import ModelState, Predictor
from drugforge.core.progress import Progress
from drugforge.core.registry import GENERATORS, MODELS
from drugforge.core.runtime import sha256_file

MANIFEST = "manifest.json"
WEIGHTS = "model.safetensors"
MODEL_JSON = "model.json"
MODEL_FORMAT = "drugforge-model"
GENERATOR_FORMAT = "drugforge-generator"
GENERATOR_FORMAT_VERSION = 1


def read_json(path: Path, model_dir: Path) -> Any:
    """The JSON in ``path``; a problem is one :class:`ArtifactError` line naming ``model_dir``."""
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ArtifactError(f"cannot read {path.name}: {err}", path=model_dir) from None


def verified_state(
    path: Path, *, fmt: str, max_version: int, what: str, missing_hint: str = ""
) -> tuple[dict[str, Any], dict[str, Any], dict[str, np.ndarray]]:
    """(manifest, model.json, arrays) of a saved directory whose every checksum matches.

    ``fmt`` is the manifest's ``format`` ("drugforge-model" or "drugforge-generator"),
    ``what`` the word used in messages ("model", "generator"). Each problem is one line.
    """
    if not path.is_dir():
        raise ArtifactError(f"not a drugforge {what} directory (no such directory)", path=path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(
            f"not a drugforge {what} directory (manifest.json missing){missing_hint}", path=path
        )
    manifest = read_json(manifest_path, path)
    if not isinstance(manifest, dict) or manifest.get("format") != fmt:
        raise ArtifactError(f"manifest.json is not a drugforge {what} manifest", path=path)
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > max_version:
        made_by = manifest.get("versions", {}).get("drugforge", "?")
        raise ArtifactError(
            f"{what} format version {version} (made by drugforge {made_by}) is newer than this "
            f"drugforge {drugforge.__version__} understands (format {max_version}); upgrade",
            path=path,
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or WEIGHTS not in files or MODEL_JSON not in files:
        raise ArtifactError(f"manifest.json does not list the {what} files", path=path)
    for name, expected in files.items():
        file = path / name
        if not file.is_file():
            raise ArtifactError(f"file {name} listed in the manifest is missing", path=path)
        if sha256_file(file) != expected:
            raise ArtifactError(
                f"checksum mismatch for {name}: the {what} was modified after it was saved; "
                "refusing to load it",
                path=path,
            )
    meta = read_json(path / MODEL_JSON, path)
    if not isinstance(meta, dict):
        raise ArtifactError(f"{MODEL_JSON} is not a JSON object", path=path)
    try:
        arrays = load_file(str(path / WEIGHTS))
    except Exception as err:  # noqa: BLE001  (safetensors raises its own error types)
        raise ArtifactError(f"cannot read {WEIGHTS}: {err}", path=path) from None
    arrays.pop("__drugforge__", None)
    return manifest, meta, arrays


def read_generator_state(path: Path) -> tuple[dict[str, Any], ModelState]:
    """(manifest, state) of a saved generator directory, every checksum verified.

    A directory holding only a pretraining run's ``checkpoints/`` gets a hint to resume it.
    """
    hint = (" (a pretraining run that has not finished: resume it with --resume)"
            if (path / "checkpoints").is_dir() else "")  # fmt: skip
    manifest, meta, arrays = verified_state(
        path, fmt=GENERATOR_FORMAT, max_version=GENERATOR_FORMAT_VERSION, what="generator",
        missing_hint=hint,
    )  # fmt: skip
    return manifest, ModelState(arrays=arrays, meta=meta)


FORMAT_VERSION = 1
_LIBRARIES = ("numpy", "torch", "rdkit", "scikit-learn", "lightgbm", "safetensors", "pandas")


class Generator(Protocol):
    """What the artifact layer needs of a generator (the modality defines the rest)."""

    kind: ClassVar[str]

    def get_state(self) -> ModelState: ...


def model_state(model: Predictor) -> ModelState:
    """The model's state with its registry name recorded, ready for saving."""
    state = model.get_state()
    state.meta["model"] = model.name
    return state


def model_from_state(state: ModelState) -> Predictor:
    """Rebuild a fitted model from its saved state (``meta['model']`` names the registry entry)."""
    name = state.meta.get("model")
    if not isinstance(name, str):
        # a malformed file is a value problem for the caller, hence not TypeError
        raise ValueError("saved model state does not name its model class")  # noqa: TRY004
    cls = MODELS.get(name)
    model: Predictor = cls.from_state(state)
    return model


def generator_from_state(state: ModelState) -> Any:
    """Rebuild a generator from its saved state (``meta["generator"]`` names the kind)."""
    kind = state.meta.get("generator")
    if not isinstance(kind, str):
        raise ValueError("saved state does not name its generator kind")  # noqa: TRY004
    return GENERATORS.get(kind).from_state(state)



@dataclass
class LoadedModel:
    """A model loaded from a directory, with the context it was saved with."""

    model: Predictor
    path: Path
    manifest: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> str:
        return str(self.manifest["task"])

    @property
    def target_names(self) -> list[str]:
        return list(self.manifest["target_names"])

    @property
    def standardizer(self) -> dict[str, Any]:
        """The input-preparation settings saved with the model (molecules: the standardizer;
        the manifest key keeps its first name so that saved models keep loading)."""
        return dict(self.manifest.get("standardizer", {}))

    @property
    def uncertainty(self) -> dict[str, Any]:
        return dict(self.manifest.get("uncertainty", {}))

    @property
    def probability_calibration(self) -> dict[str, Any]:
        """The per-task calibration of a classifier's probabilities ({} when none was saved)."""
        return dict(self.manifest.get("probability_calibration") or {})

    @property
    def target_transform(self) -> dict[str, Any]:
        """The per-target transform the model was fitted under ({} when none was saved)."""
        return dict(self.manifest.get("target_transform") or {})

    def _to_target_units(self, mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and reported std from the model's scale to the target's units (unchanged, the
        very arrays, for a model without a target transform)."""
        recipe = self.target_transform
        if is_identity(recipe):
            return mean, std
        m, s = inverse_target_transform(recipe, mean, std)
        assert s is not None
        return m, s

    def _predict_dist(self, batch: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """(calibrated mean, reported std) of prepared inputs, in the target's units."""
        m, s = self.model.predict_dist(batch)
        m = apply_probability_calibration(self.probability_calibration, m)
        return self._to_target_units(m, apply_uncertainty(self.uncertainty, m, s))

    def predict(self, X: Sequence[Any], *, batch_size: int = 2048, quiet: bool = True,
                label: str = "predict") -> Prediction:  # fmt: skip
        """Predict raw inputs (SMILES for a molecule model): mean, calibrated std, error per row.

        Inputs are prepared with the settings saved with the model (molecules: standardized);
        a row that cannot be used keeps NaN and says why, and every row stays in its place.
        Unless ``quiet``, a progress bar named ``label`` counts the usable rows (rate, ETA).
        """
        items, errors = self.model.prepare_inputs(X, self.standardizer)
        ok = [i for i, item in enumerate(items) if item is not None]
        result = Prediction.empty(len(items), len(self.target_names), errors)
        with Progress(total=len(ok), label=label, quiet=quiet) as progress:
            for start in range(0, len(ok), batch_size):
                idx = ok[start : start + batch_size]
                self.predict_prepared([items[i] for i in idx], idx, result)
                progress.update(len(idx))
        return result

    def predict_prepared(self, batch: Sequence[Any], idx: Sequence[int], into: Prediction) -> None:
        """Predict prepared inputs into rows ``idx`` of ``into``; a failing row fails alone."""
        rows = list(idx)
        try:
            into.mean[rows], into.std[rows] = self._predict_dist(batch)
        except (DrugforgeError, ValueError, RuntimeError):
            for i, item in zip(rows, batch, strict=True):
                try:
                    m, s = self._predict_dist([item])
                    into.mean[i], into.std[i] = m[0], s[0]
                except (DrugforgeError, ValueError, RuntimeError) as err:
                    into.errors[i] = f"prediction failed: {' '.join(str(err).split())}"


    def predict_features(self, F: Any) -> Prediction:
        """Predict from features computed by the caller with :meth:`model.input_featurizers`
        (a panel of models on the same molecules featurizes once); std calibrated as above."""
        m, s = self.model.predict_dist_features(F)
        mean = np.asarray(m)  # the model's dtype, as the panel always used it
        if self.probability_calibration:
            mean = apply_probability_calibration(self.probability_calibration, mean)
        std = apply_uncertainty(self.uncertainty, mean, s)
        mean, std = self._to_target_units(mean, std)
        return Prediction(mean, std, [""] * len(mean))


@dataclass
class Prediction:
    """What :meth:`LoadedModel.predict` returns: ``(n, t)`` mean and std, an error text per row.

    For classification ``mean`` is P(positive). A row with an error has NaN values.
    """

    mean: np.ndarray
    std: np.ndarray
    errors: list[str]

    @classmethod
    def empty(cls, n: int, t: int, errors: Sequence[str] | None = None) -> Prediction:
        """All-NaN values for ``n`` rows and ``t`` targets (``errors``: '' for none yet)."""
        return cls(np.full((n, t), np.nan), np.full((n, t), np.nan),
                   list(errors) if errors is not None else [""] * n)  # fmt: skip

    @property
    def n_failed(self) -> int:
        return sum(1 for e in self.errors if e)


def library_versions() -> dict[str, str]:
    """Versions of Python and the numeric libraries, recorded in every artifact."""
    versions = {"python": platform.python_version(), "drugforge": drugforge.__version__}
    for lib in _LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = "not installed"
    return versions


def _to_jsonable(obj: Any) -> Any:
    """JSON encoder fallback for numpy scalars/arrays and paths."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_to_jsonable) + "\n")


def write_rejected(out_dir: str | os.PathLike[str], metrics: dict[str, Any]) -> Path:
    """Where a run whose acceptance gate failed leaves its evaluation: ``OUT.rejected/`` with
    ``metrics.json`` (nothing is written to ``OUT`` itself); returns that folder."""
    out = Path(out_dir)
    rejected = out.with_name(out.name + ".rejected")
    rejected.mkdir(parents=True, exist_ok=True)
    write_json(rejected / "metrics.json", metrics)
    return rejected


def save_model(
    out_dir: str | os.PathLike[str],
    model: Predictor,
    *,
    task: str,
    target_names: list[str],
    standardizer: dict[str, Any],
    data_hash: str,
    config: dict[str, Any] | None = None,
    split: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    uncertainty: dict[str, Any] | None = None,
    probability_calibration: dict[str, Any] | None = None,
    target_transform: dict[str, Any] | None = None,
    smiles_column: str | None = None,
    extra_files: dict[str, Path] | None = None,
    force: bool = False,
) -> Path:
    """Write ``model`` and its context to ``out_dir`` atomically; return the directory.

    ``probability_calibration`` (a classifier's, from
    :func:`~drugforge.core.evaluation.probability.fit_probability_calibration`) is applied by
    every later prediction of the saved model, and so is ``target_transform`` (from
    :func:`~drugforge.core.evaluation.target_transform.choose_target_transform`: the model was
    fitted on ``log10(y)`` of some targets; ``uncertainty`` is then on that scale).
    """
    out = Path(out_dir)
    if out.exists() and not force:
        raise InputError("output directory exists; use --force to overwrite", path=out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        state = model_state(model)
        arrays = {k: np.ascontiguousarray(v) for k, v in state.arrays.items()}
        # safetensors needs at least one tensor; a marker keeps the format uniform
        arrays.setdefault("__drugforge__", np.zeros(1, dtype=np.uint8))
        save_file(arrays, str(tmp / WEIGHTS))
        write_json(tmp / MODEL_JSON, state.meta)
        write_json(tmp / "config.json", config or {})
        write_json(tmp / "split.json", split or {})
        write_json(tmp / "metrics.json", metrics or {})
        for name, src in (extra_files or {}).items():
            shutil.copyfile(src, tmp / name)
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        for p in tmp.iterdir():
            p.chmod(0o644)
        manifest = {
            "format": "drugforge-model",
            "format_version": FORMAT_VERSION,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "model": model.name,
            "task": task,
            "target_names": list(target_names),
            "smiles_column": smiles_column,
            "standardizer": standardizer,
            "uncertainty": uncertainty or {},
            "data_hash": data_hash,
            "versions": library_versions(),
            "files": files,
        }
        if probability_calibration:  # only then: older readers see nothing new
            manifest["probability_calibration"] = probability_calibration
        if not is_identity(target_transform):  # likewise: no key when no target is transformed
            manifest["target_transform"] = target_transform
        write_json(tmp / MANIFEST, manifest)
        (tmp / MANIFEST).chmod(0o644)
        tmp.chmod(0o755)  # mkdtemp makes it private; a model directory is meant to be shared
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def load_model(model_dir: str | os.PathLike[str]) -> LoadedModel:
    """Load a saved model directory after verifying its integrity."""
    path = Path(model_dir)
    manifest, meta, arrays = verified_state(
        path, fmt="drugforge-model", max_version=FORMAT_VERSION, what="model"
    )
    try:
        model = model_from_state(ModelState(arrays=arrays, meta=meta))
    except (KeyError, ValueError, TypeError) as err:
        raise ArtifactError(f"incompatible model state: {err}", path=path) from None
    try:  # a recipe this version cannot apply is refused here, not row by row at predict time
        target_methods(manifest.get("target_transform"), len(manifest.get("target_names", [])))
    except (ValueError, TypeError, AttributeError) as err:
        raise ArtifactError(f"incompatible target transform: {err}", path=path) from None
    config = read_json(path / "config.json", path) if (path / "config.json").is_file() else {}
    metrics = read_json(path / "metrics.json", path) if (path / "metrics.json").is_file() else {}
    return LoadedModel(model=model, path=path, manifest=manifest, config=config, metrics=metrics)


# -------------------------------------------------------------------------------- generators
GENERATOR_FILES = (MANIFEST, WEIGHTS, MODEL_JSON, "config.json", "metrics.json")


@dataclass
class LoadedGenerator:
    """A molecule generator loaded from a directory, with the context it was saved with."""

    generator: Any  # the modality's generator type (molecules: SmilesGenerator)
    path: Path
    manifest: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)  # the generator's JSON state
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def training(self) -> dict[str, Any]:
        """Training provenance recorded by the generator (data, steps...); may be empty."""
        value = self.meta.get("training")
        return dict(value) if isinstance(value, dict) else {}


def save_generator(
    out_dir: str | os.PathLike[str],
    generator: Generator,
    *,
    config: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    extra_files: dict[str, Path] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``generator`` to ``out_dir``: weights (safetensors), JSON state, manifest.

    Unlike :func:`save_model` the directory may already exist and hold other things (a
    pretraining run's ``checkpoints/``), which are left alone: the files are written to a
    temporary directory, then each is renamed into place, the manifest last, so a reader never
    sees a manifest that does not match the files. An existing generator there is replaced only
    with ``overwrite``.
    """
    out = Path(out_dir)
    if (out / MANIFEST).exists() and not overwrite:
        raise InputError("a generator is already saved here; use --force to overwrite", path=out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".generator.", dir=out))
    try:
        state = generator.get_state()
        arrays = {k: np.ascontiguousarray(v) for k, v in state.arrays.items()}
        arrays.setdefault("__drugforge__", np.zeros(1, dtype=np.uint8))
        save_file(arrays, str(tmp / WEIGHTS))
        write_json(tmp / MODEL_JSON, {**state.meta, "generator": generator.kind})
        write_json(tmp / "config.json", config or {})
        write_json(tmp / "metrics.json", metrics or {})
        for name, src in (extra_files or {}).items():
            if name in GENERATOR_FILES or "/" in name:
                raise ValueError(f"extra file name '{name}' is reserved or not a plain name")
            shutil.copyfile(src, tmp / name)
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        manifest = {
            "format": "drugforge-generator",
            "format_version": GENERATOR_FORMAT_VERSION,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "kind": generator.kind,
            "versions": library_versions(),
            "files": files,
        }
        write_json(tmp / MANIFEST, manifest)
        (out / MANIFEST).unlink(missing_ok=True)  # no manifest while the files change
        for p in sorted(tmp.iterdir(), key=lambda p: p.name == MANIFEST):
            p.chmod(0o644)
            os.replace(p, out / p.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def load_generator(model_dir: str | os.PathLike[str]) -> LoadedGenerator:
    """Load a saved generator directory after verifying every checksum (no pickle)."""
    path = Path(model_dir)
    manifest, state = read_generator_state(path)
    meta = state.meta
    files = manifest["files"]
    try:
        generator = generator_from_state(state)
    except (KeyError, ValueError, TypeError, RuntimeError) as err:
        message = " ".join(str(err).split())[:300]
        raise ArtifactError(f"incompatible generator state: {message}", path=path) from None
    config = read_json(path / "config.json", path) if "config.json" in files else {}
    metrics = read_json(path / "metrics.json", path) if "metrics.json" in files else {}
    return LoadedGenerator(generator=generator, path=path, manifest=manifest, meta=meta,
                           config=config, metrics=metrics)  # fmt: skip
