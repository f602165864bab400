"""``drugforge datasets list|show|export``."""

from __future__ import annotations

import shutil
from pathlib import Path

from pydantic import Field

from drugforge.core.config import RunConfig
from drugforge.core.errors import InputError
from drugforge.imaging.catalog import MEDMNIST, medmnist_info, resolve_medmnist
from drugforge.molecules.data.catalog import dataset_info, list_datasets
from drugforge.molecules.data.catalog_load import export_dataset

_MIRROR = "local directory with dataset files"


class DatasetShowConfig(RunConfig):
    """``drugforge datasets show``: describe one catalog dataset."""

    name: str = Field(json_schema_extra={"cli": {"positional": True}})
    mirror: str | None = Field(default=None, description=_MIRROR)


class DatasetExportConfig(RunConfig):
    """``drugforge datasets export``: write a catalog dataset to a CSV file."""

    name: str = Field(json_schema_extra={"cli": {"positional": True}})
    out: str = Field(json_schema_extra={"cli": {"positional": True}})
    force: bool = False
    mirror: str | None = Field(default=None, description=_MIRROR)


def format_list() -> str:
    rows = []
    for name in list_datasets():
        info = dataset_info(name)
        rows.append(f"{name:<34} {info.task:<15} {', '.join(info.targets)[:40]:<40} {info.description}")
    for flag in sorted(MEDMNIST):  # images: the MedMNIST .npz files
        image = MEDMNIST[flag]
        classes = f"{len(image.labels)} classes, {image.channels} channel(s)"
        rows.append(f"{image.name:<34} {image.task:<15} {classes:<40} {image.description}")
    return "\n".join(rows)


def _is_image_set(name: str) -> bool:
    return name.lower().removeprefix("medmnist/") in MEDMNIST


def format_info(name: str, mirror: str | None = None) -> str:
    info = medmnist_info(name).to_dict() if _is_image_set(name) else dataset_info(name).to_dict()
    lines = [f"{k}: {v}" for k, v in info.items()]
    return "\n".join(lines)


def export(name: str, out: str, *, mirror: str | None = None, force: bool = False) -> Path:
    if _is_image_set(name):  # a copy of the official .npz (mirror, cache or download)
        dest = Path(out)
        if dest.exists() and not force:
            raise InputError("output file exists; use --force to overwrite", path=dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(resolve_medmnist(name, mirror=mirror), dest)
        return dest
    return export_dataset(name, out, mirror=mirror, force=force)


def run_dataset_show(config: DatasetShowConfig) -> str:
    """The description of ``config.name``, one ``key: value`` per line."""
    return format_info(config.name, mirror=config.mirror)


def run_dataset_export(config: DatasetExportConfig) -> Path:
    """Write ``config.name`` to ``config.out``; returns the path written."""
    return export(config.name, config.out, mirror=config.mirror, force=config.force)
