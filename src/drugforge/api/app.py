"""The ASGI app: ``/v1`` endpoints over the workflows, OpenAPI at ``/openapi.json``.

- ``POST /v1/profile`` and ``POST /v1/predict`` answer ``{"rows": [...]}``, one row per input
  molecule in order with ``smiles``, the values and ``error`` ('' when fine): an invalid SMILES
  is a row with an error, never a failed request. More than ``max_molecules`` molecules, or a
  body over ``max_body_bytes``, is 413.
- ``GET /v1/models`` lists the models in ``DATA_DIR/models``; ``GET /v1/models/{name}`` gives one
  model's manifest summary, metrics, configuration and report. A name is checked to be a plain
  name (never joined as a path) and to be a model directory of the store.
- A user error (:class:`~drugforge.core.errors.DrugforgeError`) is 400 with ``{"error": LINE}``,
  the same line the CLI prints; an invalid body is FastAPI's 422 with the fields named.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from drugforge import __version__
from drugforge.api.settings import ServerSettings, safe_name
from drugforge.api.web import web_router
from drugforge.core.artifacts import MANIFEST, read_json
from drugforge.core.errors import ArtifactError, DrugforgeError
from drugforge.workflows.predict import PredictMoleculesConfig, run_predict_molecules
from drugforge.workflows.profile import ProfileMoleculesConfig, run_profile_molecules

__all__ = ["create_app"]


def _rows(frame: pd.DataFrame) -> dict[str, Any]:
    """``{"rows": [...]}`` with NaN as null and numpy scalars as JSON numbers."""
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records", double_precision=15))
    return {"rows": rows}


def _too_many(n: int, settings: ServerSettings) -> JSONResponse | None:
    if n <= settings.max_molecules:
        return None
    return JSONResponse(
        {"error": f"{n} molecules in one request; the limit is {settings.max_molecules}"},
        status_code=413,
    )


def _model_dir(settings: ServerSettings, name: str) -> Path:
    """The store's directory of model ``name`` (a plain name, inside the store, with a manifest)."""
    root = settings.models_dir.resolve()
    path = (root / safe_name(name)).resolve()
    if path.parent != root or not (path / MANIFEST).is_file():
        raise ArtifactError(f"no model named '{name}' on this server")
    return path


def _summary(name: str, path: Path) -> dict[str, Any]:
    manifest = read_json(path / MANIFEST, path)
    metrics = read_json(path / "metrics.json", path) if (path / "metrics.json").is_file() else {}
    return {
        "name": name,
        "model": manifest.get("model"),
        "task": manifest.get("task"),
        "target_names": manifest.get("target_names", []),
        "created": manifest.get("created"),
        "test_metrics": metrics.get("test", {}) if isinstance(metrics, dict) else {},
    }


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The app for ``settings`` (defaults: localhost, ``~/.drugforge``)."""
    settings = settings or ServerSettings()
    app = FastAPI(title="drugforge", version=__version__,
                  description="Property prediction, profiling and screening of molecules.")  # fmt: skip
    app.state.settings = settings
    app.include_router(web_router())

    @app.middleware("http")
    async def limit_body(request: Request,
                         call_next: Callable[[Request], Awaitable[Response]]) -> Response:  # fmt: skip
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > settings.max_body_bytes:
            return JSONResponse({"error": f"request body over {settings.max_body_bytes} bytes"},
                                status_code=413)  # fmt: skip
        return await call_next(request)

    @app.exception_handler(DrugforgeError)
    async def user_error(request: Request, err: DrugforgeError) -> JSONResponse:
        status = 404 if isinstance(err, ArtifactError) and "no model named" in str(err) else 400
        return JSONResponse({"error": str(err)}, status_code=status)

    @app.post("/v1/profile", summary="profile molecules: drug-likeness, alerts, panel, percentiles")
    def profile(config: ProfileMoleculesConfig) -> Any:
        return _too_many(len(config.smiles), settings) or _rows(run_profile_molecules(config))

    @app.post("/v1/predict", summary="predict molecules with a model of the server's store")
    def predict(config: PredictMoleculesConfig) -> Any:
        too_many = _too_many(len(config.smiles), settings)
        if too_many is not None:
            return too_many
        path = _model_dir(settings, config.model)
        return _rows(run_predict_molecules(config.model_copy(update={"model": str(path)})))

    @app.get("/v1/models", summary="the models of the server's store")
    def models() -> dict[str, Any]:
        root = settings.models_dir
        found = sorted(p for p in root.iterdir() if (p / MANIFEST).is_file()) if root.is_dir() else []
        return {"models": [_summary(p.name, p) for p in found]}

    @app.get("/v1/models/{name}", summary="one model: manifest summary, metrics, config, report")
    def model(name: str) -> dict[str, Any]:
        path = _model_dir(settings, name)
        detail = _summary(name, path)
        for key, file in (("metrics", "metrics.json"), ("config", "config.json")):
            detail[key] = read_json(path / file, path) if (path / file).is_file() else {}
        report = path / "report.md"
        detail["report_md"] = report.read_text() if report.is_file() else ""
        return detail

    return app
