"""What each job kind runs: a request's settings made into that workflow's own config.

A request is ``{"kind": K, "name": LABEL, ...the workflow's config fields}``. The workflow's
config model validates the settings (the CLI's checks and messages); the server fills in what a
request may not choose: every output path (inside the job's folder), and ``force``, ``resume``,
``quiet``. Inputs a request names are resolved here, never joined raw: a file is an upload id
of the same key (``u_...``), a model a name of the server's store (``NAME`` or ``COL=NAME``), a
generator a shipped name.

=========  ===================================================  ==============================
kind       inputs                                               result (``GET .../result``)
=========  ===================================================  ==============================
screen     ``library`` (upload), ``models`` (store names)       the ranked hits
generate   ``model`` (shipped generator)                        the molecules
optimize   ``prior`` (shipped), objective ``model`` components  the top molecules
train      ``data`` (upload or catalog name), ``name``          the attempts; the model is
                                                                saved to the store as ``name``
dti-train  ``pairs``, ``drugs``, ``targets`` (uploads), ``name``  the test metrics; the model
                                                                is saved to the store
image-     ``data``, ``val`` (``.npz`` uploads), ``name``        the validation (and test)
train                                                           metrics; the model is saved to
                                                                the store
=========  ===================================================  ==============================

An image-train job takes MedMNIST-style ``.npz`` uploads only: a CSV of image paths or a folder
would name files on the server.

A drug-target screen is a ``screen`` job with a dti model and ``target_sequence``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from drugforge.api.settings import ServerSettings, safe_name
from drugforge.core.artifacts import MANIFEST
from drugforge.core.config import config_error
from drugforge.core.errors import InputError

__all__ = ["JOB_KINDS", "TRAIN_KINDS", "JobKind", "build_config", "model_path"]

#: resolves an upload id of the requesting key to its file (InputError when not theirs)
UploadResolver = Callable[[str], Path]


@dataclass(frozen=True)
class JobKind:
    workflow: str  # the WORKFLOWS entry that runs it
    config: str  # "module:Class" of its config model
    result: str  # file name of the result table in the job folder
    server_fields: frozenset[str]  # set by the server; a request naming one is refused


JOB_KINDS: dict[str, JobKind] = {
    "screen": JobKind("screen", "drugforge.workflows.screen:ScreenConfig", "hits.parquet",
                      frozenset({"out", "all_rows", "resume", "force", "quiet", "engine",
                                 "address"})),
    "generate": JobKind("generate", "drugforge.workflows.generate:GenerateConfig",
                        "molecules.csv", frozenset({"out", "force", "quiet"})),
    "optimize": JobKind("optimize", "drugforge.workflows.optimize:OptimizeConfig", "top.csv",
                        frozenset({"out", "force", "quiet", "resume", "checkpoint_dir",
                                   "save_agent"})),
    "train": JobKind("train", "drugforge.workflows.train:TrainConfig", "attempts.csv",
                     frozenset({"out", "force", "quiet"})),
    "dti-train": JobKind("dti.train", "drugforge.workflows.dti:DTITrainConfig", "metrics.csv",
                         frozenset({"out", "force", "quiet"})),
    "image-train": JobKind("image.train", "drugforge.workflows.image:ImageTrainConfig",
                           "metrics.csv", frozenset({"out", "force", "quiet", "resume", "mirror"})),
}  # fmt: skip
#: the kinds whose model joins the store under the job's name
TRAIN_KINDS = ("train", "dti-train", "image-train")


def config_class(kind: JobKind) -> type[BaseModel]:
    import importlib

    module, _, attr = kind.config.partition(":")
    cls: type[BaseModel] = getattr(importlib.import_module(module), attr)
    return cls


def model_path(settings: ServerSettings, name: str) -> Path:
    """The store's directory of model ``name`` (a plain name, inside the store, with a manifest)."""
    from drugforge.core.errors import ArtifactError

    root = settings.models_dir.resolve()
    path = (root / safe_name(name)).resolve()
    if path.parent != root or not (path / MANIFEST).is_file():
        raise ArtifactError(f"no model named '{name}' on this server")
    return path


def _generator(name: Any, field: str) -> str:
    from drugforge.molecules.models.shipped import shipped_generators

    if not isinstance(name, str) or name not in shipped_generators():
        raise InputError(f"{field}: '{name}' is not a generator of this server; choose from: "
                         f"{', '.join(shipped_generators())}")  # fmt: skip
    return name


def build_config(kind_name: str, settings_in: dict[str, Any], job_dir: Path,
                 settings: ServerSettings, upload: UploadResolver) -> BaseModel:  # fmt: skip
    """The workflow config of a ``kind_name`` job whose files go to ``job_dir``."""
    kind = JOB_KINDS.get(kind_name)
    if kind is None:
        raise InputError(f"unknown job kind '{kind_name}'; choose from: {', '.join(JOB_KINDS)}")
    named = sorted(kind.server_fields & settings_in.keys())
    if named:
        raise InputError(f"{', '.join(named)}: set by the server for a {kind_name} job; leave "
                         f"{'it' if len(named) == 1 else 'them'} out")  # fmt: skip
    values = dict(settings_in)
    out = str(job_dir / kind.result)
    if kind_name == "screen":
        values["library"] = str(upload(_text(values.get("library"), "library")))
        values["models"] = [_model_option(settings, m) for m in _texts(values.get("models", []))]
        values.update(out=out, resume=True, quiet=False)
        values.setdefault("n_jobs", 1)
        if settings.ray_address:
            values.update(engine="ray", address=settings.ray_address)
    elif kind_name == "generate":
        values["model"] = _generator(values.get("model", "chem-lm"), "model")
        values.update(out=out, force=True, quiet=False)
    elif kind_name == "optimize":
        values["prior"] = _generator(values.get("prior", "chem-lm"), "prior")
        values["objective"] = _objective(settings, values.get("objective"))
        if values.get("novelty_reference") is not None:
            values["novelty_reference"] = str(upload(_text(values["novelty_reference"],
                                                           "novelty_reference")))  # fmt: skip
        values.update(out=out, resume=False, quiet=False,  # the worker resumes a restarted run
                      checkpoint_dir=str(job_dir / "checkpoints"))  # fmt: skip
    elif kind_name == "dti-train":  # like train: job folder, then the store
        values["pairs"] = str(upload(_text(values.get("pairs"), "pairs")))
        for name in ("drugs", "targets"):
            if values.get(name) is not None:
                values[name] = str(upload(_text(values[name], name)))
        values.update(out=str(job_dir / "model"), force=True, quiet=False)
    elif kind_name == "image-train":  # like dti-train; .npz only (a CSV names server files)
        values["data"] = str(_npz(upload(_text(values.get("data"), "data")), "data"))
        if values.get("val") is not None:
            values["val"] = str(_npz(upload(_text(values["val"], "val")), "val"))
        # a job restarted with the server continues from its epoch checkpoints (none at first)
        values.update(out=str(job_dir / "model"), force=True, quiet=False, resume=True)
    else:  # train: the model goes to the job folder, then to the store when accepted
        data = _text(values.get("data"), "data")
        values["data"] = str(upload(data)) if data.startswith("u_") else safe_name(data, "dataset")
        values.update(out=str(job_dir / "model"), force=True, quiet=False)
    try:
        return config_class(kind).model_validate(values)
    except ValidationError as err:
        raise config_error(err) from None  # the CLI's wording


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"{field}: give an upload id (POST /v1/uploads answers one)")
    return value


def _npz(path: Path, field: str) -> Path:
    if path.suffix.lower() != ".npz":
        raise InputError(f"{field}: an image-train job takes a MedMNIST-style .npz upload "
                         f"(train_images, train_labels[, val_*, test_*]), not '{path.name}'")  # fmt: skip
    return path


def _texts(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError("models: give a list of model names of this server")
    return value


def _model_option(settings: ServerSettings, text: str) -> str:
    """``NAME`` or ``COL=NAME`` with NAME a store model -> the screen's ``[COL=]DIR``."""
    column, _, name = text.rpartition("=")
    path = model_path(settings, name)
    return f"{column}={path}" if column else f"{name}={path}"


def _objective(settings: ServerSettings, objective: Any) -> Any:
    """The objective with each ``model`` component's store name made its directory."""
    if not isinstance(objective, dict) or not isinstance(objective.get("components"), list):
        return objective  # the config model reports what is wrong
    components = []
    for component in objective["components"]:
        if isinstance(component, dict) and component.get("kind") == "model":
            name = component.get("path")
            if not isinstance(name, str):
                raise InputError("objective: a model component needs 'path': a model name of "
                                 "this server")  # fmt: skip
            component = {**component, "path": str(model_path(settings, name))}
        components.append(component)
    return {**objective, "components": components}
