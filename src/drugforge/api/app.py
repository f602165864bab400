"""The ASGI app: ``/v1`` endpoints over the workflows, OpenAPI at ``/openapi.json``.

- ``POST /v1/profile`` and ``POST /v1/predict`` answer ``{"rows": [...]}``, one row per input
  molecule in order with ``smiles``, the values and ``error`` ('' when fine): an invalid SMILES
  is a row with an error, never a failed request. More than ``max_molecules`` molecules, or a
  body over ``max_body_bytes``, is 413.
- ``POST /v1/image/predict`` answers ``{"rows": [...]}`` too: one row per base64 image file in
  order, an unreadable image a row with an error; more than ``max_molecules`` images is 413.
- ``GET /v1/models`` lists the models in ``DATA_DIR/models`` (with each one's ``input_kind``:
  molecules, pairs or images); ``GET /v1/models/{name}`` gives one
  model's manifest summary, metrics, configuration and report. A name is checked to be a plain
  name (never joined as a path) and to be a model directory of the store.
- Uploads and jobs: :mod:`drugforge.api.routes_jobs`; the jobs run in worker processes started
  by :class:`~drugforge.api.runner.JobRunner`, which starts and stops with the app (lifespan).
- Keys, open reads on loopback, rate limits and body limits: :mod:`drugforge.api.auth`.
- A user error (:class:`~drugforge.core.errors.DrugforgeError`) is 400 with ``{"error": LINE}``,
  the same line the CLI prints (404 for an unknown job, upload or model); an invalid body is
  FastAPI's 422 with the fields named; 401, 409, 413 and 429 are ``{"error": LINE}`` too.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.to_thread
import pandas as pd
from fastapi import Body, Depends, FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import HTMLResponse, JSONResponse

from drugforge import __version__
from drugforge.api.auth import ApiFailure, BodyLimit, Caller, Guard, error_body
from drugforge.api.db import Database
from drugforge.api.jobs import JobStore, NotFound, UploadStore
from drugforge.api.jobspecs import model_path
from drugforge.api.keys import KeyStore
from drugforge.api.routes_jobs import jobs_router
from drugforge.api.runner import JobRunner
from drugforge.api.settings import ServerSettings
from drugforge.api.web import web_router
from drugforge.core.artifacts import MANIFEST, read_json
from drugforge.core.errors import ArtifactError, DrugforgeError
from drugforge.core.registry import MODELS
from drugforge.workflows.dti_apply import (
    DTIPredictPairsConfig,
    DTIProfileMoleculeConfig,
    run_dti_predict_pairs,
    run_dti_profile_molecule,
)
from drugforge.workflows.image_apply import ImagePredictInlineConfig, run_image_predict_inline
from drugforge.workflows.predict import PredictMoleculesConfig, run_predict_molecules
from drugforge.workflows.profile import ProfileMoleculesConfig, run_profile_molecules

__all__ = ["create_app"]

_PNG_2X2 = ("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAAAAABX3VL4AAAADklEQVR42mNg+M/wnwEABgAB/"
            "5KZsuwAAAAASUVORK5CYII=")  # a 2x2 checkerboard, base64
_IMAGE_EXAMPLES = {
    "png": {"summary": "one PNG file, with its Grad-CAM overlay", "value": {
        "model": "breast-ultrasound", "names": ["scan-001.png"], "saliency": True,
        "images": [_PNG_2X2]}},
}  # fmt: skip


def _rows(frame: pd.DataFrame) -> dict[str, Any]:
    """``{"rows": [...]}`` with NaN as null and numpy scalars as JSON numbers."""
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records", double_precision=15))
    return {"rows": rows}


def _too_many(n: int, settings: ServerSettings, what: str = "molecules") -> JSONResponse | None:
    if n <= settings.max_molecules:
        return None
    return JSONResponse(
        {"error": f"{n} {what} in one request; the limit is {settings.max_molecules}"},
        status_code=413,
    )


def _input_kind(model: Any) -> str | None:
    """What a registered model family takes (molecules, pairs, images); None when unknown."""
    try:
        return str(getattr(MODELS.get(str(model)), "input_kind", "any"))
    except (ValueError, ImportError):  # a family this installation does not have
        return None


def _summary(name: str, path: Path) -> dict[str, Any]:
    manifest = read_json(path / MANIFEST, path)
    metrics = read_json(path / "metrics.json", path) if (path / "metrics.json").is_file() else {}
    return {
        "name": name,
        "model": manifest.get("model"),
        "input_kind": _input_kind(manifest.get("model")),
        "task": manifest.get("task"),
        "target_names": manifest.get("target_names", []),
        "created": manifest.get("created"),
        "test_metrics": metrics.get("test", {}) if isinstance(metrics, dict) else {},
    }


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The app for ``settings`` (defaults: localhost, ``~/.drugforge``)."""
    settings = settings or ServerSettings()
    db = Database(settings.database_url)
    guard = Guard(KeyStore(db), settings)
    store, files = JobStore(db), UploadStore(db, settings)
    runner = JobRunner(store, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner.start()
        try:
            yield
        finally:
            runner.stop()
            db.dispose()

    app = FastAPI(title="drugforge", version=__version__, lifespan=lifespan,
                  description="Property prediction, profiling, screening, generation and "
                  "training of models for molecules.")  # fmt: skip
    app.state.settings = settings
    app.state.runner = runner
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes,
                       upload_limit=settings.max_upload_bytes)  # fmt: skip

    reader = Depends(guard.reader)

    @app.exception_handler(DrugforgeError)
    async def user_error(request: Request, err: DrugforgeError) -> JSONResponse:
        missing = isinstance(err, NotFound) or (isinstance(err, ArtifactError)
                                                and "no model named" in str(err))  # fmt: skip
        return JSONResponse(error_body(str(err)), status_code=404 if missing else 400)

    @app.exception_handler(ApiFailure)
    async def refused(request: Request, err: ApiFailure) -> JSONResponse:
        return JSONResponse(error_body(err.message), status_code=err.status, headers=err.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> JSONResponse:
        return JSONResponse(error_body(str(err.detail)), status_code=err.status_code,
                            headers=getattr(err, "headers", None))  # fmt: skip

    # Profiles and predictions run on their own few threads (one per core), not on the shared
    # thread pool that serves every other request: a burst of them queues here, and listing
    # models, a job's state or a depiction still answers at once.
    compute = anyio.CapacityLimiter(max(1, os.cpu_count() or 1))

    @app.post("/v1/profile", summary="profile molecules: drug-likeness, alerts, panel, percentiles")
    async def profile(config: ProfileMoleculesConfig, caller: Caller = reader) -> Any:
        too_many = _too_many(len(config.smiles), settings)
        if too_many is not None:
            return too_many
        return await anyio.to_thread.run_sync(
            lambda: _rows(run_profile_molecules(config)), limiter=compute
        )

    @app.post("/v1/predict", summary="predict molecules with a model of the server's store")
    async def predict(config: PredictMoleculesConfig, caller: Caller = reader) -> Any:
        too_many = _too_many(len(config.smiles), settings)
        if too_many is not None:
            return too_many
        path = model_path(settings, config.model)
        config = config.model_copy(update={"model": str(path)})
        return await anyio.to_thread.run_sync(
            lambda: _rows(run_predict_molecules(config)), limiter=compute
        )

    @app.post("/v1/dti/predict", summary="binding affinity of (molecule, protein) pairs")
    async def dti_predict(config: DTIPredictPairsConfig, caller: Caller = reader) -> Any:
        too_many = _too_many(len(config.pairs), settings)
        if too_many is not None:
            return too_many
        config = config.model_copy(update={"model": str(model_path(settings, config.model))})
        return await anyio.to_thread.run_sync(
            lambda: _rows(run_dti_predict_pairs(config)), limiter=compute
        )

    @app.post("/v1/dti/profile", summary="one molecule against every target of a dti model")
    async def dti_profile(config: DTIProfileMoleculeConfig, caller: Caller = reader) -> Any:
        config = config.model_copy(update={"model": str(model_path(settings, config.model))})
        return await anyio.to_thread.run_sync(
            lambda: _rows(run_dti_profile_molecule(config)), limiter=compute
        )

    @app.post("/v1/image/predict", summary="classify image files (base64) with an image model, "
              "optionally with Grad-CAM overlays")  # fmt: skip
    async def image_predict(
        config: Annotated[ImagePredictInlineConfig, Body(openapi_examples=_IMAGE_EXAMPLES)],
        caller: Caller = reader,
    ) -> Any:
        too_many = _too_many(len(config.images), settings, "images")
        if too_many is not None:
            return too_many
        config = config.model_copy(update={"model": str(model_path(settings, config.model))})
        return await anyio.to_thread.run_sync(
            lambda: {"rows": run_image_predict_inline(config)}, limiter=compute
        )

    @app.get("/v1/models", summary="the models of the server's store")
    def models(caller: Caller = reader) -> dict[str, Any]:
        root = settings.models_dir
        found = sorted(p for p in root.iterdir() if (p / MANIFEST).is_file()) if root.is_dir() else []
        return {"models": [_summary(p.name, p) for p in found]}

    @app.get("/v1/models/{name}", summary="one model: manifest summary, metrics, config, report")
    def model(name: str, caller: Caller = reader) -> dict[str, Any]:
        path = model_path(settings, name)
        detail = _summary(name, path)
        for key, file in (("metrics", "metrics.json"), ("config", "config.json")):
            detail[key] = read_json(path / file, path) if (path / file).is_file() else {}
        report = path / "report.md"
        detail["report_md"] = report.read_text() if report.is_file() else ""
        detail["report_html"] = (f"/v1/models/{name}/report"
                                 if (path / "report.html").is_file() else None)  # fmt: skip
        return detail

    @app.get("/v1/models/{name}/report", response_class=HTMLResponse,
             summary="one model's evaluation report with its plots (self-contained HTML)")  # fmt: skip
    def model_report(name: str, caller: Caller = reader) -> HTMLResponse:
        report = model_path(settings, name) / "report.html"
        if not report.is_file():
            raise NotFound(f"model '{name}' has no report")
        # the report is data: no script runs, only its own inline styles and embedded images
        policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"
        return HTMLResponse(report.read_text(errors="replace"),
                            headers={"Content-Security-Policy": policy})  # fmt: skip

    app.include_router(jobs_router(settings, guard, store, files, runner))
    app.include_router(web_router(settings, guard))
    return app
