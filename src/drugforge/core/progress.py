"""Progress with rate and ETA on stderr (rich), silent when quiet or not needed."""

from __future__ import annotations

import sys
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


class Progress:
    """A progress bar showing items/s and ETA; a no-op when ``quiet`` or ``total`` is small.

    ``unit`` names what is counted in the rate (``mol/s`` by default).
    """

    def __init__(
        self,
        total: int,
        label: str,
        *,
        quiet: bool = False,
        min_total: int = 1000,
        unit: str = "mol",
    ):
        self._bar: _RichProgress | None = None
        self._unit = unit
        if quiet or total < min_total:
            return
        self._bar = _RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("[cyan]{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(label, total=total, rate="")

    def update(self, n: int, rate: str | None = None) -> None:
        """Advance by ``n``; ``rate`` replaces the shown rate (e.g. molecules/s while the bar
        counts bytes of a streamed file)."""
        if self._bar is None:
            return
        self._bar.advance(self._task, n)
        speed = self._bar.tasks[0].speed
        if rate is not None:
            self._bar.update(self._task, rate=rate)
        elif speed:
            self._bar.update(self._task, rate=f"{speed:,.0f} {self._unit}/s")

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
