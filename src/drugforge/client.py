"""A small Python client of the drugforge REST API (``drugforge serve``).

    from drugforge.client import Client

    api = Client("http://127.0.0.1:8000")
    frame = api.profile(["CCO", "c1ccccc1O"])          # one row per molecule, errors in place
    pki = api.predict("my-model", ["CCO"])             # a model of the server's store
    api.models()                                       # what the server holds

An error the server reports (400/404/413/422) is raised as :class:`ApiError` with its status and
the server's one-line message. ``key`` is sent as ``Authorization: Bearer KEY`` (for servers that
require keys).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

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

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, path, json=body)
        if response.status_code >= 400:
            try:
                detail = response.json()
                message = detail.get("error") or detail.get("detail") or response.text
            except ValueError:
                message = response.text
            raise ApiError(response.status_code, " ".join(str(message).split()))
        return response.json()

    def profile(self, smiles: Sequence[str], *, panel: bool = True,
                percentiles: bool = True) -> pd.DataFrame:  # fmt: skip
        """``POST /v1/profile``: the profile of each molecule, in order (``error`` per row)."""
        body = {"smiles": list(smiles), "panel": panel, "percentiles": percentiles}
        return pd.DataFrame(self._call("POST", "/v1/profile", body)["rows"])

    def predict(self, model: str, smiles: Sequence[str]) -> pd.DataFrame:
        """``POST /v1/predict``: predictions of the server's model ``model``, in order."""
        body = {"model": model, "smiles": list(smiles)}
        return pd.DataFrame(self._call("POST", "/v1/predict", body)["rows"])

    def models(self) -> list[dict[str, Any]]:
        """``GET /v1/models``: name, model kind, task, targets and test metrics of each."""
        result: list[dict[str, Any]] = self._call("GET", "/v1/models")["models"]
        return result

    def model(self, name: str) -> dict[str, Any]:
        """``GET /v1/models/{name}``: one model's summary, metrics, config and report."""
        from urllib.parse import quote

        detail: dict[str, Any] = self._call("GET", f"/v1/models/{quote(name, safe='')}")
        return detail
