"""A server killed with -9 during a screen: restarted, the job resumes and ends as if never cut."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pandas as pd

from drugforge.client import Client
from drugforge.workflows.screen import ScreenConfig, run_screen
from serving import ServerProcess, make_key

SCREEN = {"properties": ["qed", "sa_score", "PAINS"], "filters": ["not PAINS"],
          "rank": "qed - 0.1*sa_score", "top": 100, "chunk_size": 100}  # fmt: skip


def _pid(data: Path, job_id: str) -> int | None:
    with sqlite3.connect(data / "drugforge.sqlite") as db:
        row = db.execute("select pid from jobs where id = ?", (job_id,)).fetchone()
    return row[0] if row else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.is_file() and "zombie" in status.read_text())


def test_kill_9_during_a_screen_then_restart_finishes_the_same(
    tmp_path: Path, moleculenet_dir: Path
) -> None:
    library = tmp_path / "library.csv"
    pd.read_csv(moleculenet_dir / "tox21.csv")[["smiles"]].head(2000).to_csv(library, index=False)
    data = tmp_path / "store"
    data.mkdir()
    key = make_key(data)
    server = ServerProcess(data).start()
    try:
        with Client(server.url, key) as api:
            job = api.submit("screen", library=api.upload(library)["id"], **SCREEN)
            for _ in range(600):  # until some chunks are committed, not all
                state = api.job(job["id"])
                if state["state"] == "running" and 0.1 < state["progress"] < 0.8:
                    break
                time.sleep(0.05)
            assert state["state"] == "running" and state["progress"] < 0.8, state
            worker = _pid(data, job["id"])
        assert worker is not None
        server.kill9()
        for _ in range(100):  # the worker dies with the server (no orphan writing on)
            if not _alive(worker):
                break
            time.sleep(0.05)
        assert not _alive(worker)

        server = ServerProcess(data, port=server.port).start()
        with Client(server.url, key) as api:
            ended = api.wait(job["id"], timeout=300, poll=0.3)
            assert ended["state"] == "done", (ended, api.log(job["id"]))
            assert ended["runs"] == 2 and ended["counts"]["records"] == 2000
            assert "resuming after" in api.log(job["id"])
            resumed = api.result(job["id"])
    finally:
        server.stop()
    once = tmp_path / "once.parquet"
    run_screen(ScreenConfig(library=library, out=once, quiet=True, n_jobs=1, **SCREEN))
    pd.testing.assert_frame_equal(resumed, pd.read_parquet(once))
