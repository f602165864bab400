"""The server's settings (``drugforge serve`` options, one declaration each)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field

from drugforge.core.config import RunConfig
from drugforge.core.errors import InputError

__all__ = ["ServerSettings", "safe_name"]

#: a model (or file) name a request may use: letters, digits, ``. _ -``, no leading dot
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class ServerSettings(RunConfig):
    """Where the server listens, where it keeps its data, and its request limits."""

    host: str = Field(default="127.0.0.1", description="address to listen on")
    port: int = Field(default=8000, ge=0, le=65535, description="port to listen on")
    data_dir: str = Field(
        default=str(Path("~/.drugforge")),
        description="folder of the server's models (DATA_DIR/models/NAME) and, later, jobs",
    )
    max_molecules: int = Field(default=1000, ge=1,
                               description="most molecules one request may send (413 beyond)")  # fmt: skip
    max_body_bytes: int = Field(default=2_000_000, ge=1024,
                                description="largest request body in bytes (413 beyond)")  # fmt: skip

    @property
    def models_dir(self) -> Path:
        return Path(self.data_dir).expanduser() / "models"


def safe_name(name: str, what: str = "model") -> str:
    """``name`` when it is a plain name (never a path: no ``/``, no ``..``), else InputError."""
    if not _NAME.fullmatch(name) or ".." in name:
        raise InputError(f"invalid {what} name '{name}': use letters, digits, '.', '_' and '-'")
    return name
