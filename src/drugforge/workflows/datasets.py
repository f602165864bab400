"""``drugforge datasets list|show|export``."""

from __future__ import annotations

from pathlib import Path

from drugforge.molecules.data.catalog import dataset_info, list_datasets
from drugforge.molecules.data.catalog_load import export_dataset


def format_list() -> str:
    rows = []
    for name in list_datasets():
        info = dataset_info(name)
        rows.append(f"{name:<34} {info.task:<15} {', '.join(info.targets)[:40]:<40} {info.description}")
    return "\n".join(rows)


def format_info(name: str, mirror: str | None = None) -> str:
    info = dataset_info(name)
    lines = [f"{k}: {v}" for k, v in info.to_dict().items()]
    return "\n".join(lines)


def export(name: str, out: str, *, mirror: str | None = None, force: bool = False) -> Path:
    return export_dataset(name, out, mirror=mirror, force=force)
