"""Progress with rate and ETA on stderr (rich), silent when quiet or not needed.

The one progress bar of drugforge: screens, predictions and benchmarks count molecules or bytes
with it, and the training loop counts epochs or steps with its losses in the ``metrics`` field.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as _RichProgress

#: what an observer is told at each update: label, done, total, unit, rate text ('' if none)
Observer = Callable[[str, int, int, str, str], None]
_observer: Observer | None = None


def set_observer(observer: Observer | None) -> Observer | None:
    """Send every bar's counts to ``observer`` too (a job server's worker records them);
    returns the previous observer. Observers see bars that are quiet or too small to show."""
    global _observer
    previous, _observer = _observer, observer
    return previous


class Progress:
    """A progress bar showing items/s and ETA; a no-op when ``quiet`` or ``total`` is small.

    ``unit`` names what is counted in the rate (``mol/s`` by default). ``completed`` starts the
    count (a resumed run); ``metrics`` adds a text field (e.g. losses) set by :meth:`update`.

    When stderr is not a terminal (the log file of a long run) a live bar shows nothing until the
    end; with ``lines_off_terminal`` the bar then prints one plain line per :meth:`line` instead.
    """

    def __init__(
        self,
        total: int,
        label: str,
        *,
        quiet: bool = False,
        min_total: int = 1000,
        unit: str = "mol",
        completed: int = 0,
        metrics: bool = False,
        lines_off_terminal: bool = False,
    ):
        self._bar: _RichProgress | None = None
        self._unit = unit
        self._lines = False
        self._label, self._total, self._start, self._done = label, total, completed, completed
        if quiet or total < min_total:
            return
        console = Console(file=sys.stderr)
        if lines_off_terminal and not console.is_terminal:
            self._lines = True
            self._t0 = time.perf_counter()
            return
        self._bar = _RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            *([TextColumn("{task.fields[metrics]}")] if metrics else []),
            TextColumn("[cyan]{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(
            label, total=total, completed=completed, rate="", metrics=""
        )

    def update(self, n: int, rate: str | None = None, metrics: str | None = None) -> None:
        """Advance by ``n``; ``rate`` replaces the shown rate (e.g. molecules/s while the bar
        counts bytes of a streamed file); ``metrics`` replaces the metrics text."""
        self._done += n
        if _observer is not None:
            _observer(self._label, self._done, self._total, self._unit, rate or "")
        if self._bar is None:
            return
        self._bar.advance(self._task, n)
        if metrics is not None:
            self._bar.update(self._task, metrics=metrics)
        speed = self._bar.tasks[0].speed
        if rate is not None:
            self._bar.update(self._task, rate=rate)
        elif speed:
            self._bar.update(self._task, rate=f"{speed:,.0f} {self._unit}/s")

    def line(self, text: str) -> None:
        """Print ``label done/total  text  elapsed  ETA`` as one plain line, only when stderr is
        not a terminal and the bar was made with ``lines_off_terminal`` (else the bar shows it)."""
        if not self._lines:
            return
        elapsed = time.perf_counter() - self._t0
        speed = (self._done - self._start) / max(elapsed, 1e-9)
        eta = (self._total - self._done) / speed if speed > 0 else math.nan
        print(f"{self._label} {self._done}/{self._total}  {text}  "
              f"elapsed {_clock(elapsed)}  ETA {_clock(eta)}", file=sys.stderr, flush=True)  # fmt: skip

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _clock(seconds: float) -> str:
    """``H:MM:SS``, or ``?`` when unknown."""
    if not math.isfinite(seconds):
        return "?"
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
