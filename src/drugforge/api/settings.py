"""The server's settings (``drugforge serve`` options, one declaration each)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field

from drugforge.api.db import database_url
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
        description="folder of the server's models (DATA_DIR/models/NAME), jobs, uploads and job store",
    )
    max_molecules: int = Field(default=1000, ge=1,
                               description="most molecules (or images) one request may send "
                               "(413 beyond)")  # fmt: skip
    max_body_bytes: int = Field(default=2_000_000, ge=1024,
                                description="largest request body in bytes (413 beyond)")  # fmt: skip
    max_upload_bytes: int = Field(default=500_000_000, ge=1024,
                                  description="largest uploaded file in bytes (413 beyond)")  # fmt: skip
    open_reads: bool = Field(
        default=True, description="require a key for every request, this machine's included "
        "(default: clients on this machine may profile, predict and browse models without one; "
        "jobs and uploads always need one)",
        json_schema_extra={"cli": {"flag": "--no-open-reads", "action": "store_false"}},
    )  # fmt: skip
    rate_limit: int = Field(default=600, ge=1,
                            description="requests per minute per key (429 beyond)")  # fmt: skip
    workers: int = Field(default=2, ge=1, description="jobs run at once (one process each)")
    database: str | None = Field(
        default=None, description="SQLAlchemy URL of the job store (default: SQLite in "
        "DATA_DIR; e.g. postgresql://host/db for a shared deployment)",
        json_schema_extra={"cli": {"metavar": "URL"}},
    )  # fmt: skip
    ray_address: str | None = Field(
        default=None, description="run screen jobs' chunks on this Ray cluster ('auto', "
        "'ray://host:10001')", json_schema_extra={"cli": {"metavar": "ADDRESS"}},
    )  # fmt: skip

    @property
    def root(self) -> Path:
        return Path(self.data_dir).expanduser()

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def jobs_dir(self) -> Path:
        return self.root / "jobs"

    @property
    def uploads_dir(self) -> Path:
        return self.root / "uploads"

    @property
    def database_url(self) -> str:
        return database_url(self.root, self.database)


def safe_name(name: str, what: str = "model") -> str:
    """``name`` when it is a plain name (never a path: no ``/``, no ``..``), else InputError."""
    if not _NAME.fullmatch(name) or ".." in name:
        raise InputError(f"invalid {what} name '{name}': use letters, digits, '.', '_' and '-'")
    return name
