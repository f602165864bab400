"""The server's job runner: a thread that starts queued jobs in worker processes.

Up to ``workers`` jobs run at once, each in its own process (:mod:`drugforge.api.worker`, in a
process group of its own so a cancel reaches the processes it starts), so a long screen never
blocks a request. Every ``poll`` seconds the runner reaps finished workers (a worker that died
without recording its end fails its job with the tail of its log), sends SIGTERM to jobs whose
cancel was asked (SIGKILL 10 s later), and claims queued jobs while a slot is free.

On start, jobs still marked running (the last server stopped, even by ``kill -9``; their
workers died with it) go back to the queue: a screen resumes from its committed chunks. On
stop, running workers get SIGTERM and their jobs are queued again for the next start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from drugforge.api.jobs import JobStore
from drugforge.api.settings import ServerSettings

__all__ = ["JobRunner"]

_KILL_AFTER = 10.0  # seconds between a cancel's SIGTERM and its SIGKILL


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    log_path: Path
    term_sent: float | None = None


class JobRunner:
    """Runs the store's queued jobs; :meth:`start` and :meth:`stop` with the server."""

    def __init__(self, store: JobStore, settings: ServerSettings, poll: float = 0.25) -> None:
        self.store, self.settings, self.poll = store, settings, poll
        self._workers: dict[str, _Worker] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.store.requeue_running()
        self._thread = threading.Thread(target=self._loop, name="drugforge-jobs", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the queue now (a job was submitted or cancelled)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the loop; SIGTERM the running workers (their jobs go back to the queue).

        Workers are stopped before the loop's thread ends: Linux kills them (SIGKILL) when the
        thread that started them exits, and SIGTERM lets a screen save its last chunk."""
        self._stop.set()
        workers = list(self._workers.items())
        for _, worker in workers:
            _signal(worker.process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for job_id, worker in workers:
            try:
                worker.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(worker.process, signal.SIGKILL)
                worker.process.wait()
            worker.log.close()
            if self.store.state(job_id) == "running":  # ended without saying: resume later
                self.store.set(job_id, state="queued", pid=None)
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._workers.clear()

    # ---------------------------------------------------------------------------- the loop
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._reap()
                self._cancel()
                self._launch()
            except Exception as err:  # noqa: BLE001 - e.g. the store briefly unreachable: next poll
                print(f"drugforge jobs: {type(err).__name__}: {err}", file=sys.stderr)
            self._wake.wait(self.poll)
            self._wake.clear()

    def _reap(self) -> None:
        for job_id, worker in list(self._workers.items()):
            code = worker.process.poll()
            if code is None:
                continue
            worker.log.close()
            del self._workers[job_id]
            if self._stop.is_set():
                continue
            state = self.store.state(job_id)
            if state == "running":  # the worker died without recording its end
                if self.store.wanted_cancelled([job_id]):
                    self.store.finish(job_id, "cancelled", error="cancelled")
                else:
                    self.store.finish(job_id, "failed", error=f"the job's process ended with "
                                      f"code {code}: {_tail(worker.log_path)}")  # fmt: skip

    def _cancel(self) -> None:
        for job_id in self.store.wanted_cancelled(list(self._workers)):
            worker = self._workers[job_id]
            if worker.term_sent is None:
                _signal(worker.process, signal.SIGTERM)
                worker.term_sent = time.monotonic()
            elif time.monotonic() - worker.term_sent > _KILL_AFTER:
                _signal(worker.process, signal.SIGKILL)

    def _launch(self) -> None:
        while len(self._workers) < self.settings.workers and not self._stop.is_set():
            job_id = self.store.claim()
            if job_id is None:
                return
            job_dir = self.settings.jobs_dir / job_id
            job_dir.mkdir(parents=True, exist_ok=True)
            log_path = job_dir / "log.txt"
            log = open(log_path, "ab")  # noqa: SIM115 - closed when the worker is reaped
            command = [sys.executable, "-m", "drugforge.api.worker",
                       str(self.settings.root), job_id, self.settings.database_url]  # fmt: skip
            env = {**os.environ, "DRUGFORGE_SERVER_PID": str(os.getpid()),
                   "PYTHONUNBUFFERED": "1"}  # fmt: skip
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=env,
                                       start_new_session=True)  # fmt: skip
            self.store.set(job_id, pid=process.pid)
            self._workers[job_id] = _Worker(process, log, log_path)


def _signal(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """``sig`` to the worker's process group (the worker and what it started)."""
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path, n: int = 300) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return "(no log)"
    return " ".join(text[-n:].split()) or "(empty log)"
