"""The web app's routes: the static app at ``/`` and the data endpoints its pages need.

- ``GET /`` is the single-page app (``static/index.html``); ``GET /static/{path}`` its files
  (plain HTML, CSS and ES modules, no build step; JSME vendored under ``static/vendor/jsme``).
  A path is resolved inside the static folder and must be a file there, else 404.
- ``GET /v1/depict?smiles=&width=&height=&highlight=alerts`` is an SVG depiction
  (:func:`~drugforge.molecules.depict.depict_svg`), with the atoms of every structural alert
  shaded when ``highlight=alerts``.
- ``GET /v1/molecule?smiles=&k=`` is the molecule page's data: the profile row (as
  ``POST /v1/profile`` gives it), the alerts with their atoms, each panel endpoint with its
  uncertainty and applicability domain, and the ``k`` nearest training molecules of each panel
  model (:func:`~drugforge.molecules.details.molecule_details`).
- ``GET /v1/models/{name}/plots`` lists the plots embedded in a store model's ``report.html``
  (parity, residuals, calibration...) as ``[{"title", "src": data URI}]`` for its card.
- ``POST /v1/read-molecules`` (multipart, field ``file``: CSV/TSV/SMI/SDF/Parquet, optionally
  gzipped) reads a molecule file as the CLI does and answers ``{"molecules": [{"smiles",
  "name", "error"}]}``, one entry per record in order, an unreadable one with its error.

The data endpoints are reads (:meth:`~drugforge.api.auth.Guard.reader`: a key, or none from
loopback with ``open_reads``); the app's own files are open, since the page must load before a
key can be entered. Bad input is 400 with ``{"error": LINE}`` (the app's handler for
drugforge's user errors).
"""

from __future__ import annotations

import html
import json
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, File, HTTPException, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response

from drugforge.api.auth import Guard
from drugforge.api.jobspecs import model_path
from drugforge.api.settings import ServerSettings
from drugforge.core.errors import InputError
from drugforge.molecules.chem import parse_smiles_or_raise, smiles_problem
from drugforge.molecules.chem.alerts import find_alerts
from drugforge.molecules.data.io import read_molecules
from drugforge.molecules.depict import MAX_SIZE, MIN_SIZE, depict_svg
from drugforge.molecules.details import molecule_details
from drugforge.workflows.profile import ProfileMoleculesConfig, run_profile_molecules

__all__ = ["STATIC_DIR", "web_router"]

STATIC_DIR = Path(__file__).parent / "static"
#: most records ``POST /v1/read-molecules`` returns (a bigger library is a screen job's input)
MAX_READ_MOLECULES = 10_000
_PLOT = re.compile(r'<img alt="([^"]*)" src="(data:image/(?:png|svg\+xml);base64,[A-Za-z0-9+/=]+)"')
_SUFFIX = re.compile(r"(\.[A-Za-z]{1,8}){1,2}$")
_MEDIA = {".js": "text/javascript", ".css": "text/css", ".html": "text/html",
          ".svg": "image/svg+xml", ".png": "image/png", ".gif": "image/gif"}  # fmt: skip


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


def _static_file(path: str) -> Path:
    root = STATIC_DIR.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(status_code=404, detail="not found")
    return target


def _suffix(filename: str) -> str:
    """The file type suffix of an uploaded name ('.csv', '.sdf.gz'); the name itself is unused."""
    found = _SUFFIX.search(filename or "")
    if found is None:
        raise InputError(f"cannot tell the file type of '{filename}'; "
                         "use a .csv, .tsv, .smi, .sdf or .parquet file (optionally .gz)")  # fmt: skip
    return found.group(0).lower()


def _text(value: object) -> str:
    """A table cell as text ('' for missing)."""
    return "" if value is None or bool(pd.isna(value)) else str(value)


def report_plots(report_html: str) -> list[dict[str, str]]:
    """The embedded plots of a drugforge report (``<img alt=... src="data:image/png;base64,...">``)
    as ``[{"title", "src"}]``; anything but a base64 PNG or SVG data URI is left out."""
    return [{"title": html.unescape(m.group(1)), "src": m.group(2)}
            for m in _PLOT.finditer(report_html)]  # fmt: skip


def web_router(settings: ServerSettings, guard: Guard) -> APIRouter:
    """The web app's routes; the data endpoints are reads (``guard.reader``), the app's files are
    open (the page has to load before a key can be entered)."""
    router = APIRouter()
    reader = [Depends(guard.reader)]
    viewer = [Depends(guard.viewer)]  # one per table row: not rate-limited

    @router.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html",
                            headers={"Cache-Control": "no-cache"})  # fmt: skip

    @router.get("/static/{path:path}", include_in_schema=False)
    def static(path: str) -> FileResponse:
        target = _static_file(path)
        vendored = "vendor" in target.relative_to(STATIC_DIR.resolve()).parts
        cache = "public, max-age=86400" if vendored else "no-cache"
        return FileResponse(target, media_type=_MEDIA.get(target.suffix),
                            headers={"Cache-Control": cache})  # fmt: skip

    @router.get("/v1/depict", summary="2D depiction (SVG) of a SMILES, alerts optionally shaded",
                response_class=Response, dependencies=viewer,
                responses={200: {"content": {"image/svg+xml": {}}}})  # fmt: skip
    def depict(
        smiles: Annotated[str, Query(max_length=2000)],
        width: Annotated[int, Query(ge=MIN_SIZE, le=MAX_SIZE)] = 300,
        height: Annotated[int, Query(ge=MIN_SIZE, le=MAX_SIZE)] = 220,
        highlight: Literal["none", "alerts"] = "none",
    ) -> Response:
        mol = parse_smiles_or_raise(smiles)
        groups = [a.atoms for a in find_alerts(mol)] if highlight == "alerts" else []
        svg = depict_svg(mol, width, height, groups)
        return Response(svg, media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=3600"})  # fmt: skip

    @router.get("/v1/molecule", summary="one molecule: profile, alerts, panel with AD, neighbours",
                dependencies=reader)  # fmt: skip
    def molecule(
        smiles: Annotated[str, Query(max_length=2000)],
        k: Annotated[int, Query(ge=1, le=20)] = 5,
    ) -> Any:
        problem = smiles_problem(smiles)
        if problem:
            return _bad(f"{problem} '{smiles[:80]}'" if smiles.strip() else problem)
        frame = run_profile_molecules(ProfileMoleculesConfig(smiles=[smiles]))
        row: dict[str, Any] = json.loads(frame.to_json(orient="records", double_precision=15))[0]
        if row.get("error"):
            return _bad(str(row["error"]))
        return {"profile": row, **molecule_details(smiles, row, k=k)}

    @router.get("/v1/models/{name}/plots", summary="a model's report plots (PNG data URIs)",
                dependencies=reader)  # fmt: skip
    def plots(name: str) -> dict[str, Any]:
        report = model_path(settings, name) / "report.html"
        return {"plots": report_plots(report.read_text()) if report.is_file() else []}

    @router.post("/v1/read-molecules", summary="read a molecule file (CSV/SDF/...) into SMILES",
                 dependencies=reader)  # fmt: skip
    def read_file(file: Annotated[UploadFile, File(description="the molecule file")]) -> Any:
        suffix = _suffix(file.filename or "")
        with tempfile.TemporaryDirectory(prefix="drugforge-read-") as tmp:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(file.file.read())
            table = read_molecules(path, target_columns=[])
        shown = file.filename or "upload"
        if len(table) > MAX_READ_MOLECULES:
            return JSONResponse({"error": f"{len(table)} molecules in {shown}; the web page reads "
                                          f"at most {MAX_READ_MOLECULES} (screen bigger libraries "
                                          "as a job)"}, status_code=413)  # fmt: skip
        name_col = table.id_column or next(
            (c for c in table.frame.columns if str(c).lower() in {"name", "title"}), None
        )
        names = [_text(v) for v in table.frame[name_col]] if name_col else [""] * len(table)
        molecules = []
        for s, n, line in zip(table.smiles, names, table.line_numbers, strict=True):
            error = smiles_problem(s)
            if error and not s and table.line_kind == "record":
                error = f"SDF record {line} could not be read"
            molecules.append({"smiles": s, "name": n, "error": error})
        return {"source": shown, "smiles_column": table.smiles_column, "molecules": molecules}

    return router
