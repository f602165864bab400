"""A real server and Debian's Chromium for the web app's browser tests and screenshots.

:func:`serve` runs the app with uvicorn in a thread on a free localhost port;
:func:`chromium` launches the system Chromium (``/usr/bin/chromium``, installed by ``make
browser``) through Playwright, headless, with the flags that keep it off the network; Playwright's
own browser downloads are never used.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from drugforge.api.app import create_app
from drugforge.api.settings import ServerSettings

CHROMIUM = os.environ.get("DRUGFORGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium_path() -> str | None:
    """The Chromium executable, or None when it is not installed."""
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(settings: ServerSettings) -> Iterator[str]:
    """The app for ``settings`` on ``127.0.0.1:settings.port``; yields its base URL."""
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.port,
                            log_level="warning")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):
        if server.started:
            break
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError("the server did not start")
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def chromium(playwright: Any) -> Iterator[Any]:
    """System Chromium through Playwright (headless, no network services)."""
    path = chromium_path()
    if path is None:
        raise RuntimeError("chromium is not installed (make browser)")
    browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
    try:
        yield browser
    finally:
        browser.close()
