"""The server's store: API keys, uploads and jobs in one SQL database (SQLAlchemy Core).

SQLite in ``DATA_DIR/drugforge.sqlite`` by default (write-ahead log, so the server and its job
workers write at once); any SQLAlchemy URL (``postgresql://...``) for a shared deployment. The
tables are created on first use; a key is stored only as its SHA-256 hash.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)

__all__ = ["Database", "database_url", "jobs", "keys", "uploads"]

metadata = MetaData()

keys = Table(
    "keys", metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Column("created", Float, nullable=False),
    Column("revoked", Float, nullable=True),
)  # fmt: skip

uploads = Table(
    "uploads", metadata,
    Column("id", String(32), primary_key=True),
    Column("key_id", String(32), nullable=False, index=True),
    Column("name", String(200), nullable=False),  # the checked file name, stored under the id
    Column("bytes", Integer, nullable=False),
    Column("created", Float, nullable=False),
)  # fmt: skip

jobs = Table(
    "jobs", metadata,
    Column("id", String(32), primary_key=True),
    Column("key_id", String(32), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("state", String(16), nullable=False, index=True),  # queued running done failed cancelled
    Column("request", Text, nullable=False),  # the settings as sent (JSON)
    Column("config", Text, nullable=False),   # the workflow config with the server's paths (JSON)
    Column("created", Float, nullable=False),
    Column("started", Float, nullable=True),
    Column("finished", Float, nullable=True),
    Column("progress", Float, nullable=False, default=0.0),
    Column("done", Integer, nullable=False, default=0),
    Column("total", Integer, nullable=False, default=0),
    Column("unit", String(16), nullable=False, default=""),
    Column("rate", String(64), nullable=False, default=""),
    Column("label", String(64), nullable=False, default=""),
    Column("counts", Text, nullable=False, default="{}"),
    Column("error", Text, nullable=False, default=""),
    Column("runs", Integer, nullable=False, default=0),  # starts (a restart resumes: runs > 1)
    Column("pid", Integer, nullable=True),
    Column("cancel", Boolean, nullable=False, default=False),
)  # fmt: skip


def database_url(data_dir: Path, url: str | None = None) -> str:
    """``url`` when given, else SQLite in ``data_dir``."""
    return url or f"sqlite:///{(data_dir / 'drugforge.sqlite').resolve()}"


class Database:
    """One engine over the store's tables (created when missing)."""

    def __init__(self, url: str) -> None:
        self.url = url
        sqlite = url.startswith("sqlite")
        if sqlite:
            path = url.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False} if sqlite else {},
            pool_pre_ping=not sqlite,
        )  # fmt: skip
        if sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the worker's writes
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def now() -> float:
    return time.time()


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
