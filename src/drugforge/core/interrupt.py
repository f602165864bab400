"""Ctrl-C and SIGTERM during long work: the one place that installs signal handlers.

:class:`Interrupts` routes signals to itself while active (a ``with`` block, or
:meth:`~Interrupts.install` ... :meth:`~Interrupts.restore`) and puts the previous handlers back
after. It has two ways to answer a signal:

* graceful (the training loop): the first signal is only recorded in
  :attr:`~Interrupts.received` (``"Ctrl-C"``, ``"SIGTERM"``), and the caller stops at its next safe
  point (after the current step, with a checkpoint); a second Ctrl-C raises
  ``KeyboardInterrupt`` at once, for a user who will not wait.
* raising (a screen): the signal raises :class:`Terminated` where the program is, so the
  caller's ``except`` keeps what is already committed and resumable.

Python lets only the main thread set signal handlers; in any other thread this does nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any, Self

__all__ = ["Interrupts", "Terminated"]


class Terminated(Exception):
    """A signal asked this process to stop (raised by a non-graceful :class:`Interrupts`)."""


class Interrupts:
    """While active, ``signals`` (default: SIGINT and SIGTERM) come to this object.

    Parameters
    ----------
    signals
        The signals to catch.
    graceful
        ``True``: record the signal in :attr:`received` for the caller to poll (a second Ctrl-C
        raises ``KeyboardInterrupt``); ``False``: raise :class:`Terminated` at once.
    enabled
        ``False`` installs nothing (e.g. a training run without checkpoints, which has nothing
        to save, keeps Python's own Ctrl-C).
    """

    def __init__(
        self,
        signals: Sequence[signal.Signals] = (signal.SIGINT, signal.SIGTERM),
        *,
        graceful: bool = True,
        enabled: bool = True,
    ) -> None:
        self.signals = tuple(signals)
        self.graceful = graceful
        self.enabled = enabled
        self.received: str | None = None  # "Ctrl-C" or the signal's name, once one came
        self._previous: dict[int, Any] = {}

    def install(self) -> Self:
        """Route the signals here (main thread only; elsewhere a no-op)."""
        if self.enabled and threading.current_thread() is threading.main_thread():
            for sig in self.signals:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def restore(self) -> None:
        """Put back the handlers that were there before :meth:`install`."""
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if not self.graceful:
            raise Terminated(signal.Signals(signum).name)
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name

    def __enter__(self) -> Self:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.restore()
