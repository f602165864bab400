"""The one signal handler (drugforge.core.interrupt): graceful and raising modes, restoration."""

from __future__ import annotations

import signal
import threading

import pytest

from drugforge.core.interrupt import Interrupts, Terminated


def test_graceful_records_the_first_signal_and_a_second_ctrl_c_aborts() -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with Interrupts() as sig:
        assert sig.received is None
        signal.raise_signal(signal.SIGTERM)
        assert sig.received == "SIGTERM"
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    with Interrupts() as sig:
        signal.raise_signal(signal.SIGINT)
        assert sig.received == "Ctrl-C"


def test_raising_mode_raises_terminated_and_restores() -> None:
    before = signal.getsignal(signal.SIGTERM)
    sigterm = Interrupts((signal.SIGTERM,), graceful=False).install()
    try:
        with pytest.raises(Terminated, match="SIGTERM"):
            signal.raise_signal(signal.SIGTERM)
        assert signal.getsignal(signal.SIGINT) is not sigterm._handle  # only the asked signals
    finally:
        sigterm.restore()
    assert signal.getsignal(signal.SIGTERM) == before


def test_disabled_or_off_the_main_thread_installs_nothing() -> None:
    before = signal.getsignal(signal.SIGINT)
    with Interrupts(enabled=False):
        assert signal.getsignal(signal.SIGINT) == before
    seen: list[object] = []

    def worker() -> None:
        with Interrupts():  # Python forbids signal.signal here: must not raise
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [before]
