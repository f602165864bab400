"""A small Python client of the drugforge REST API (``drugforge serve``).

    from drugforge.client import Client

    api = Client("http://127.0.0.1:8000")
    frame = api.profile(["CCO", "c1ccccc1O"])          # one row per molecule, errors in place
    pki = api.predict("my-model", ["CCO"])             # a model of the server's store
    api.models()                                       # what the server holds
    scans = api.image_predict("pneumonia", ["a.png", "b.dcm"])  # an image model, in order

    api = Client("http://127.0.0.1:8000", key="df_...")   # jobs and uploads need a key
    library = api.upload("library.smi")["id"]
    job = api.submit("screen", library=library, properties=["qed"], rank="qed", top=100)
    api.wait(job["id"])                                # polls state, progress, rate, ETA
    hits = api.result(job["id"])                       # the ranked hits as a DataFrame

An error the server reports (400/401/404/409/413/422/429) is raised as :class:`ApiError` with its status and
the server's one-line message. ``key`` is sent as ``Authorization: Bearer KEY`` (for servers that
require keys).
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import httpx
import pandas as pd

__all__ = ["ApiError", "Client"]


class ApiError(Exception):
    """A request the server refused: ``status`` and the server's message."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"HTTP {status}: {message}")


class Client:
    """The REST API of one server; ``timeout`` in seconds per request."""

    def __init__(self, url: str, key: str | None = None, *, timeout: float = 300.0) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              **kwargs: Any) -> Any:  # fmt: skip
        response = self._send(method, path, body, **kwargs)
        return response.json()

    def _send(self, method: str, path: str, body: dict[str, Any] | None = None,
              **kwargs: Any) -> httpx.Response:  # fmt: skip
        response = self._http.request(method, path, json=body, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json()
                message = detail.get("error") or detail.get("detail") or response.text
            except ValueError:
                message = response.text
            raise ApiError(response.status_code, " ".join(str(message).split()))
        return response

    def profile(self, smiles: Sequence[str], *, panel: bool = True,
                percentiles: bool = True) -> pd.DataFrame:  # fmt: skip
        """``POST /v1/profile``: the profile of each molecule, in order (``error`` per row)."""
        body = {"smiles": list(smiles), "panel": panel, "percentiles": percentiles}
        return pd.DataFrame(self._call("POST", "/v1/profile", body)["rows"])

    def predict(self, model: str, smiles: Sequence[str]) -> pd.DataFrame:
        """``POST /v1/predict``: predictions of the server's model ``model``, in order."""
        body = {"model": model, "smiles": list(smiles)}
        return pd.DataFrame(self._call("POST", "/v1/predict", body)["rows"])

    def dti_predict(self, model: str, pairs: Sequence[tuple[str, str]]) -> pd.DataFrame:
        """``POST /v1/dti/predict``: affinities of (smiles, target_sequence) pairs, in order."""
        body = {"model": model,
                "pairs": [{"smiles": s, "target_sequence": t} for s, t in pairs]}  # fmt: skip
        return pd.DataFrame(self._call("POST", "/v1/dti/predict", body)["rows"])

    def dti_profile(self, model: str, smiles: str) -> pd.DataFrame:
        """``POST /v1/dti/profile``: every target of a dti model for one molecule, ranked."""
        body = {"model": model, "smiles": smiles}
        return pd.DataFrame(self._call("POST", "/v1/dti/profile", body)["rows"])

    def image_predict(self, model: str, paths_or_bytes: Sequence[str | Path | bytes], *,
                      saliency: bool = False) -> pd.DataFrame:  # fmt: skip
        """``POST /v1/image/predict``: classify image files (paths, or a file's bytes) with the
        server's image model ``model``, in order: ``name``, ``prob_<class>``, ``prob_std``,
        ``label``, ``error`` (and ``saliency_png``, a base64 PNG of the Grad-CAM overlay)."""
        images: list[str] = []
        names: list[str] = []
        for i, item in enumerate(paths_or_bytes):
            if isinstance(item, bytes):
                data, name = item, f"image-{i + 1}"
            else:
                data, name = Path(item).read_bytes(), Path(item).name
            images.append(base64.b64encode(data).decode("ascii"))
            names.append(name)
        body = {"model": model, "images": images, "names": names, "saliency": saliency}
        return pd.DataFrame(self._call("POST", "/v1/image/predict", body)["rows"])

    def models(self) -> list[dict[str, Any]]:
        """``GET /v1/models``: name, model kind, input kind, task, targets and test metrics
        of each."""
        result: list[dict[str, Any]] = self._call("GET", "/v1/models")["models"]
        return result

    def model(self, name: str) -> dict[str, Any]:
        """``GET /v1/models/{name}``: one model's summary, metrics, config and report."""
        detail: dict[str, Any] = self._call("GET", f"/v1/models/{quote(name, safe='')}")
        return detail

    # ------------------------------------------------------------------ uploads and jobs
    def upload(self, path: str | Path) -> dict[str, Any]:
        """``POST /v1/uploads``: send a file; ``{"id", "name", "bytes"}`` (the id goes in jobs)."""
        path = Path(path)
        with path.open("rb") as handle:
            result: dict[str, Any] = self._call("POST", "/v1/uploads",
                                                files={"file": (path.name, handle)})  # fmt: skip
        return result

    def submit(self, kind: str, *, name: str | None = None, **settings: Any) -> dict[str, Any]:
        """``POST /v1/jobs``: start a ``screen``, ``generate``, ``optimize``, ``train``,
        ``dti-train`` or ``image-train`` job with that workflow's settings (files as upload ids,
        models as store names)."""
        body = {"kind": kind, **({"name": name} if name else {}), **settings}
        job: dict[str, Any] = self._call("POST", "/v1/jobs", body)
        return job

    def job(self, job_id: str) -> dict[str, Any]:
        """``GET /v1/jobs/{id}``: state, progress, done/total, rate, ETA, counts, error."""
        job: dict[str, Any] = self._call("GET", f"/v1/jobs/{quote(job_id, safe='')}")
        return job

    def jobs(self) -> list[dict[str, Any]]:
        """``GET /v1/jobs``: this key's jobs, newest first."""
        jobs: list[dict[str, Any]] = self._call("GET", "/v1/jobs")["jobs"]
        return jobs

    def cancel(self, job_id: str) -> dict[str, Any]:
        """``DELETE /v1/jobs/{id}``: cancel (a running job stops within seconds)."""
        job: dict[str, Any] = self._call("DELETE", f"/v1/jobs/{quote(job_id, safe='')}")
        return job

    def wait(self, job_id: str, *, timeout: float = 3600.0, poll: float = 1.0) -> dict[str, Any]:
        """Poll a job until it is done, failed or cancelled; TimeoutError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["state"] in ("done", "failed", "cancelled"):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {timeout:g} s")
            time.sleep(poll)

    def download(self, job_id: str, path: str | Path, *, format: str = "csv") -> Path:
        """``GET /v1/jobs/{id}/result``: write a done job's result table to ``path``."""
        response = self._send("GET", f"/v1/jobs/{quote(job_id, safe='')}/result",
                              params={"format": format})  # fmt: skip
        path = Path(path)
        path.write_bytes(response.content)
        return path

    def result(self, job_id: str) -> pd.DataFrame:
        """A done job's result table as a DataFrame (fetched as Parquet: types kept)."""
        response = self._send("GET", f"/v1/jobs/{quote(job_id, safe='')}/result",
                              params={"format": "parquet"})  # fmt: skip
        return pd.read_parquet(io.BytesIO(response.content))

    def log(self, job_id: str) -> str:
        """``GET /v1/jobs/{id}/log``: what the job's process printed (the last 100 kB)."""
        return self._send("GET", f"/v1/jobs/{quote(job_id, safe='')}/log").text
