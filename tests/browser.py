"""Debian's Chromium driven by Playwright, for the web app's browser tests and screenshots.

:func:`chromium` launches the system Chromium (``/usr/bin/chromium``, installed by ``make
browser``) headless, with the flags that keep it off the network; Playwright's own browser
downloads are never used. Servers come from :mod:`serving` (``drugforge serve`` processes).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = os.environ.get("DRUGFORGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
#: the laptop screen the app is designed for
VIEWPORT = {"width": 1366, "height": 768}


def chromium_path() -> str | None:
    """The Chromium executable, or None when it is not installed."""
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


@contextmanager
def chromium(playwright: Any) -> Iterator[Any]:
    """System Chromium through Playwright (headless, no network services)."""
    path = chromium_path()
    if path is None:
        raise RuntimeError("chromium is not installed; run `make browser`")
    browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
    try:
        yield browser
    finally:
        browser.close()
