"""Who is calling: ``Authorization: Bearer KEY``, open reads on loopback, per-key rate limits.

- :meth:`Guard.writer` (uploads, jobs): a valid, unrevoked key or 401.
- :meth:`Guard.reader` (profile, predict, models, pages' data): the same, except that with the
  ``open_reads`` setting a client on the loopback interface may come without a key. A key that
  is sent is always checked (a revoked key fails even where none is needed).
- Every keyed request (but depictions, :meth:`Guard.viewer`) takes a token from its key's bucket (``rate_limit`` per minute, refilled
  continuously); an empty bucket is 429 with ``Retry-After``.
- Body size (:class:`BodyLimit`): an ASGI middleware that answers 413 when ``Content-Length``
  is over the limit and stops a body streamed without one as soon as it passes the limit.
  Uploads have their own, larger limit.
"""

from __future__ import annotations

import ipaddress
import json
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from drugforge.api.keys import KeyInfo, KeyStore
from drugforge.api.settings import ServerSettings

__all__ = ["ApiFailure", "BodyLimit", "Caller", "Guard"]


class ApiFailure(Exception):
    """A refused request: ``status``, a one-line message and extra headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass(frozen=True)
class Caller:
    key: KeyInfo | None  # None: an open read from loopback

    @property
    def key_id(self) -> str:
        if self.key is None:
            raise ApiFailure(401, "this needs an API key: Authorization: Bearer KEY")
        return self.key.id


class _Buckets:
    """Token buckets per key: ``per_minute`` tokens, refilled at ``per_minute / 60`` per s."""

    def __init__(self, per_minute: int) -> None:
        self.capacity, self.rate = float(per_minute), per_minute / 60.0
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key_id: str) -> float:
        """0 when a token was taken, else the seconds until one is there."""
        t = time.monotonic()
        with self._lock:
            tokens, last = self._state.get(key_id, (self.capacity, t))
            tokens = min(self.capacity, tokens + (t - last) * self.rate)
            if tokens >= 1.0:
                self._state[key_id] = (tokens - 1.0, t)
                return 0.0
            self._state[key_id] = (tokens, t)
            return (1.0 - tokens) / self.rate


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Guard:
    """The checks of one server (its key store, settings and rate buckets)."""

    def __init__(self, keystore: KeyStore, settings: ServerSettings) -> None:
        self.keystore, self.settings = keystore, settings
        self._buckets = _Buckets(settings.rate_limit)

    def _key(self, request: Request, *, metered: bool = True) -> KeyInfo | None:
        header = request.headers.get("authorization")
        if header is None:
            return None
        scheme, _, key = header.partition(" ")
        info = self.keystore.check(key.strip()) if scheme.lower() == "bearer" else None
        if info is None:
            raise ApiFailure(401, "invalid or revoked API key",
                             {"WWW-Authenticate": "Bearer"})  # fmt: skip
        wait = self._buckets.take(info.id) if metered else 0.0
        if wait > 0:
            raise ApiFailure(429, f"rate limit of {self.settings.rate_limit} requests per "
                             f"minute reached; retry in {math.ceil(wait)} s",
                             {"Retry-After": str(math.ceil(wait))})  # fmt: skip
        return info

    def reader(self, request: Request) -> Caller:
        return self._reader(request, metered=True)

    def viewer(self, request: Request) -> Caller:
        """A read that a page makes many of (a depiction per table row): checked as a read,
        not counted against the key's rate limit."""
        return self._reader(request, metered=False)

    def _reader(self, request: Request, *, metered: bool) -> Caller:
        key = self._key(request, metered=metered)
        if key is None and not (self.settings.open_reads and _loopback(request)):
            raise ApiFailure(401, "this needs an API key: Authorization: Bearer KEY",
                             {"WWW-Authenticate": "Bearer"})  # fmt: skip
        return Caller(key)

    def writer(self, request: Request) -> Caller:
        key = self._key(request)
        if key is None:
            raise ApiFailure(401, "this needs an API key: Authorization: Bearer KEY",
                             {"WWW-Authenticate": "Bearer"})  # fmt: skip
        return Caller(key)


class _TooLarge(HTTPException):
    """Raised from ``receive``: an HTTPException so FastAPI's body parsing lets it through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


class BodyLimit:
    """413 for a request body over ``limit`` bytes (``upload_limit`` under ``upload_prefix``)."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int,
                 upload_prefix: str = "/v1/uploads") -> None:  # fmt: skip
        self.app, self.limit, self.upload_limit = app, limit, upload_limit
        self.upload_prefix = upload_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"].startswith(self.upload_prefix) else self.limit
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _refuse(send, limit)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"error": f"request body over {limit} bytes"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def error_body(message: str) -> dict[str, Any]:
    return {"error": " ".join(message.split())}
