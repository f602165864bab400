"""Read the flat ``key: value`` YAML files that ship with MoleculeACE without a YAML dependency."""

from __future__ import annotations

from pathlib import Path


def _value(text: str) -> object:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text.strip("'\"")


def read_flat_yaml(path: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].rstrip()
        if not line or line.startswith((" ", "-")) or ":" not in line:
            continue
        key, value = line.split(":", 1)
        if value.strip():
            out[key.strip()] = _value(value.strip())
    return out
