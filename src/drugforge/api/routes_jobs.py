"""``/v1/uploads`` and ``/v1/jobs``: files in, long work out, each key seeing only its own.

- ``POST /v1/uploads`` (multipart, field ``file``): stored as ``DATA_DIR/uploads/<id>/<name>``
  with the name checked (a plain name, never a path); answers ``{"id", "name", "bytes"}``.
- ``POST /v1/jobs`` ``{"kind": ..., "name": ..., <the workflow's settings>}``: the settings are
  validated now (the workflow's config model, the CLI's messages), so a bad request is a 400
  and never a failed job; answers 201 with the job.
- ``GET /v1/jobs``, ``GET /v1/jobs/{id}``, ``GET /v1/jobs/{id}/result?format=csv|parquet``,
  ``GET /v1/jobs/{id}/log``, ``DELETE /v1/jobs/{id}``. Another key's job is a 404.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Body, Depends, File, Query, UploadFile
from fastapi.responses import FileResponse, PlainTextResponse

from drugforge.api.auth import ApiFailure, Caller, Guard
from drugforge.api.jobs import JobStore, NotFound, UploadStore, new_id
from drugforge.api.jobspecs import JOB_KINDS, TRAIN_KINDS, build_config
from drugforge.api.runner import JobRunner
from drugforge.api.settings import ServerSettings, safe_name
from drugforge.core.errors import InputError

__all__ = ["jobs_router"]

_JOB_EXAMPLES = {
    "screen": {"summary": "screen an uploaded library", "value": {
        "kind": "screen", "library": "u_0123456789abcdef", "properties": ["qed", "logp"],
        "filters": ["qed >= 0.5"], "rank": "qed", "top": 100}},
    "generate": {"summary": "sample molecules", "value": {"kind": "generate", "n": 100}},
    "train": {"summary": "train a model with a requirement", "value": {
        "kind": "train", "name": "solubility", "data": "u_0123456789abcdef",
        "targets": ["logS"], "require": ["rmse<=1.0"]}},
    "dti-train": {"summary": "train a drug-target affinity model", "value": {
        "kind": "dti-train", "name": "davis", "pairs": "u_0123456789abcdef",
        "drugs": "u_00000000000000aa", "targets": "u_00000000000000bb",
        "split": "column:split", "require": ["ci>=0.85"]}},
    "dti-screen": {"summary": "screen a library against one protein with a dti model", "value": {
        "kind": "screen", "library": "u_0123456789abcdef", "models": ["affinity=davis"],
        "target_sequence": "MKKFFDSRREQ", "rank": "affinity", "top": 100}},
    "image-train": {"summary": "train an image classifier on a MedMNIST-style .npz", "value": {
        "kind": "image-train", "name": "breast-ultrasound", "data": "u_0123456789abcdef",
        "arch": "resnet18-half", "max_epochs": 40, "require": ["roc_auc>=0.85"]}},
}  # fmt: skip
_JOB_BODY = Body(
    openapi_examples=_JOB_EXAMPLES,  # type: ignore[arg-type]
    description="`kind` (" + " | ".join(JOB_KINDS) + "), optional `name` (required for train: "
    "the model's name in the store), and that workflow's settings at the top level; files are "
    "upload ids, models are store names",
)
_MEDIA = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


def _read_table(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def jobs_router(settings: ServerSettings, guard: Guard, store: JobStore, files: UploadStore,
                runner: JobRunner) -> APIRouter:  # fmt: skip
    """The routes of uploads and jobs over one server's store."""
    router = APIRouter(prefix="/v1")
    writer = Depends(guard.writer)

    @router.post("/uploads", status_code=201, summary="upload a library or training file")
    def upload(file: Annotated[UploadFile, File()], caller: Caller = writer) -> dict[str, Any]:
        name = safe_name(Path(file.filename or "").name or "upload", "file")
        upload_id = new_id("u")
        folder = files.folder(upload_id)
        folder.mkdir(parents=True, exist_ok=False)
        n_bytes = 0
        with open(folder / name, "wb") as out:
            while chunk := file.file.read(1 << 20):
                n_bytes += len(chunk)
                if n_bytes > settings.max_upload_bytes:
                    out.close()
                    shutil.rmtree(folder, ignore_errors=True)
                    raise ApiFailure(413, f"file over {settings.max_upload_bytes} bytes")
                out.write(chunk)
        if n_bytes == 0:
            shutil.rmtree(folder, ignore_errors=True)
            raise InputError(f"{name}: the uploaded file is empty")
        return files.add(caller.key_id, upload_id, name, n_bytes)

    @router.post("/jobs", status_code=201, summary="start a screen, generation, optimization or "
                 "training job")  # fmt: skip
    def submit(body: dict[str, Any] = _JOB_BODY, caller: Caller = writer) -> dict[str, Any]:
        kind = body.get("kind")
        if not isinstance(kind, str):
            raise InputError(f"kind: give one of {', '.join(JOB_KINDS)}")
        name = body.get("name", "")
        if not isinstance(name, str) or len(name) > 200:
            raise InputError("name: a text of at most 200 characters")
        if kind in TRAIN_KINDS:
            if not name:
                raise InputError("name: a train job needs the name its model will have in the "
                                 "store")  # fmt: skip
            safe_name(name)
            if (settings.models_dir / name).exists():
                raise InputError(f"name: the store already has a model named '{name}'")
        job_id = new_id("j")
        job_dir = settings.jobs_dir / job_id
        request = {k: v for k, v in body.items() if k not in ("kind", "name")}
        config = build_config(kind, request, job_dir, settings,
                              lambda upload_id: files.path(caller.key_id, upload_id))  # fmt: skip
        job_dir.mkdir(parents=True, exist_ok=True)
        (job_dir / "job.json").write_text(json.dumps({"id": job_id, "kind": kind, "name": name}))
        job = store.create(caller.key_id, job_id, kind, name, request,
                           config.model_dump(mode="json"))  # fmt: skip
        runner.wake()
        return job

    @router.get("/jobs", summary="this key's jobs, newest first")
    def list_jobs(caller: Caller = writer) -> dict[str, Any]:
        return {"jobs": store.of_key(caller.key_id)}

    @router.get("/jobs/{job_id}", summary="a job: state, progress, rate, ETA, counts")
    def get_job(job_id: str, caller: Caller = writer) -> dict[str, Any]:
        return store.get(caller.key_id, job_id)

    @router.delete("/jobs/{job_id}", summary="cancel a job")
    def cancel_job(job_id: str, caller: Caller = writer) -> dict[str, Any]:
        job = store.cancel(caller.key_id, job_id)
        runner.wake()
        return job

    @router.get("/jobs/{job_id}/log", summary="a job's log", response_class=PlainTextResponse)
    def job_log(job_id: str, caller: Caller = writer) -> str:
        store.get(caller.key_id, job_id)
        path = settings.jobs_dir / job_id / "log.txt"
        return path.read_text(errors="replace")[-100_000:] if path.is_file() else ""

    @router.get("/jobs/{job_id}/result", summary="a finished job's result table",
                response_class=FileResponse)  # fmt: skip
    def job_result(job_id: str,
                   format: Literal["csv", "parquet"] = Query("csv"), caller: Caller = writer) -> FileResponse:  # fmt: skip
        job = store.get(caller.key_id, job_id)
        if job["state"] != "done":
            raise ApiFailure(409, f"job {job_id} is {job['state']}; its result comes when it "
                             "is done")  # fmt: skip
        stored = settings.jobs_dir / job_id / JOB_KINDS[job["kind"]].result
        if not stored.is_file():
            raise NotFound(f"job {job_id} has no result file")
        wanted = stored.with_name(f"result.{format}")
        path = stored
        if stored.suffix != f".{format}":
            if not wanted.is_file():
                frame = _read_table(stored)
                tmp = wanted.with_suffix(".tmp")
                frame.to_parquet(tmp, index=False) if format == "parquet" else frame.to_csv(tmp, index=False)  # fmt: skip
                tmp.replace(wanted)
            path = wanted
        return FileResponse(path, media_type=_MEDIA[format],
                            filename=f"{job['kind']}-{job_id}.{format}")  # fmt: skip

    return router
