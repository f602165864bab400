"""Jobs and uploads in the store: create, read (a key sees only its own), claim, report, finish.

States: ``queued`` -> ``running`` -> ``done`` | ``failed`` | ``cancelled``. A job that was
running when the server stopped goes back to ``queued`` when it starts again (its ``runs``
count grows), and its workflow resumes from what it had saved (a screen's committed chunks).
Each job has a folder ``DATA_DIR/jobs/<id>/`` with its result and ``log.txt``.
"""

from __future__ import annotations

import json
import math
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import Row, select, update

from drugforge.api.db import Database, dumps, jobs, now, uploads
from drugforge.api.settings import ServerSettings, safe_name
from drugforge.core.errors import InputError

__all__ = ["ACTIVE", "FINAL", "JobStore", "UploadStore"]

ACTIVE = ("queued", "running")
FINAL = ("done", "failed", "cancelled")


class NotFound(InputError):
    """A job or upload id that is not the caller's (or does not exist): 404."""


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def _checked_id(value: str, prefix: str, what: str) -> str:
    if not (value.startswith(prefix + "_") and len(value) == len(prefix) + 17
            and all(c in "0123456789abcdef" for c in value[len(prefix) + 1:])):  # fmt: skip
        raise NotFound(f"no {what} '{value[:40]}'")
    return value


class UploadStore:
    """Uploaded files: ``DATA_DIR/uploads/<id>/<checked name>``, each owned by a key."""

    def __init__(self, db: Database, settings: ServerSettings) -> None:
        self.db, self.settings = db, settings

    def folder(self, upload_id: str) -> Path:
        return self.settings.uploads_dir / upload_id

    def add(self, key_id: str, upload_id: str, name: str, n_bytes: int) -> dict[str, Any]:
        with self.db.engine.begin() as conn:
            conn.execute(uploads.insert().values(id=upload_id, key_id=key_id, name=name,
                                                 bytes=n_bytes, created=now()))  # fmt: skip
        return {"id": upload_id, "name": name, "bytes": n_bytes}

    def path(self, key_id: str, upload_id: str) -> Path:
        """The file of upload ``upload_id`` of ``key_id`` (404 when it is not theirs)."""
        _checked_id(upload_id, "u", "upload")
        with self.db.engine.connect() as conn:
            row = conn.execute(select(uploads).where(uploads.c.id == upload_id,
                                                     uploads.c.key_id == key_id)).first()  # fmt: skip
        if row is None:
            raise NotFound(f"no upload '{upload_id}'")
        return self.folder(upload_id) / safe_name(row.name, "file")


class JobStore:
    """The jobs table, scoped by key for requests, unscoped for the runner and workers."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ----------------------------------------------------------------- requests (one key)
    def create(self, key_id: str, job_id: str, kind: str, name: str, request: dict[str, Any],
               config: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        with self.db.engine.begin() as conn:
            conn.execute(jobs.insert().values(
                id=job_id, key_id=key_id, kind=kind, name=name, state="queued",
                request=dumps(request), config=dumps(config), created=now(), progress=0.0,
                done=0, total=0, unit="", rate="", label="", counts="{}", error="", runs=0,
                cancel=False))  # fmt: skip
        return self.get(key_id, job_id)

    def _row(self, key_id: str | None, job_id: str) -> Row[Any]:
        _checked_id(job_id, "j", "job")
        query = select(jobs).where(jobs.c.id == job_id)
        if key_id is not None:
            query = query.where(jobs.c.key_id == key_id)
        with self.db.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"no job '{job_id}'")
        return row

    def get(self, key_id: str | None, job_id: str) -> dict[str, Any]:
        return describe(self._row(key_id, job_id))

    def of_key(self, key_id: str, limit: int = 200) -> list[dict[str, Any]]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(jobs).where(jobs.c.key_id == key_id)
                                .order_by(jobs.c.created.desc()).limit(limit)).all()  # fmt: skip
        return [describe(r) for r in rows]

    def cancel(self, key_id: str, job_id: str) -> dict[str, Any]:
        """Cancel: a queued job at once; a running one is asked to stop (the runner ends it)."""
        row = self._row(key_id, job_id)
        with self.db.engine.begin() as conn:
            if row.state == "queued":
                conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.state == "queued")
                             .values(state="cancelled", finished=now()))  # fmt: skip
            if row.state in ACTIVE:
                conn.execute(update(jobs).where(jobs.c.id == job_id).values(cancel=True))
        return self.get(key_id, job_id)

    def config(self, job_id: str) -> tuple[str, dict[str, Any]]:
        row = self._row(None, job_id)
        return row.kind, json.loads(row.config)

    # --------------------------------------------------------------- the runner and workers
    def claim(self) -> str | None:
        """Mark the oldest queued job running and return its id (None when none is queued)."""
        with self.db.engine.begin() as conn:
            for (job_id,) in conn.execute(select(jobs.c.id).where(jobs.c.state == "queued")
                                          .order_by(jobs.c.created).limit(5)).all():  # fmt: skip
                claimed = conn.execute(update(jobs).where(jobs.c.id == job_id,
                                                          jobs.c.state == "queued")
                                       .values(state="running", started=now(),
                                               runs=jobs.c.runs + 1))  # fmt: skip
                if claimed.rowcount == 1:
                    return str(job_id)
        return None

    def set(self, job_id: str, **values: Any) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))

    def finish(self, job_id: str, state: str, *, error: str = "",
               counts: dict[str, Any] | None = None) -> None:  # fmt: skip
        values: dict[str, Any] = {"state": state, "finished": now(), "error": error, "pid": None}
        if counts is not None:
            values["counts"] = dumps(counts)
        if state == "done":
            values["progress"] = 1.0
        with self.db.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.state == "running")
                         .values(**values))  # fmt: skip

    def requeue_running(self) -> list[str]:
        """Jobs left running by a server that stopped go back to the queue (to resume)."""
        with self.db.engine.begin() as conn:
            ids = [r.id for r in conn.execute(select(jobs.c.id).where(jobs.c.state == "running"))]
            if ids:
                conn.execute(update(jobs).where(jobs.c.id.in_(ids))
                             .values(state="queued", pid=None))  # fmt: skip
        return ids

    def wanted_cancelled(self, job_ids: list[str]) -> list[str]:
        if not job_ids:
            return []
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(jobs.c.id).where(jobs.c.id.in_(job_ids),
                                                        jobs.c.cancel.is_(True))).all()  # fmt: skip
        return [r.id for r in rows]

    def state(self, job_id: str) -> str:
        return str(self._row(None, job_id).state)


def describe(row: Row[Any]) -> dict[str, Any]:
    """A job as ``GET /v1/jobs/{id}`` shows it (ETA from the progress and the time running)."""
    eta: float | None = None
    if row.state == "running" and row.started and 0 < row.progress < 1:
        elapsed = now() - row.started
        eta = round(elapsed * (1 - row.progress) / row.progress, 1)
        eta = eta if math.isfinite(eta) else None
    return {
        "id": row.id, "kind": row.kind, "name": row.name, "state": row.state,
        "progress": round(float(row.progress), 4), "done": row.done, "total": row.total,
        "unit": row.unit, "rate": row.rate, "stage": row.label, "eta_s": eta,
        "counts": json.loads(row.counts or "{}"), "error": row.error,
        "created": row.created, "started": row.started, "finished": row.finished,
        "runs": row.runs, "cancel_requested": bool(row.cancel) and row.state in ACTIVE,
        "settings": json.loads(row.request),
    }  # fmt: skip
