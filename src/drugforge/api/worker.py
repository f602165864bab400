"""One job in its own process: ``python -m drugforge.api.worker DATA_DIR JOB_ID [DATABASE_URL]``.

The server's runner starts it; it runs the job's workflow with the config stored at submission
(:mod:`drugforge.api.jobspecs`), sends the workflow's progress bars to the store twice a second,
and records the outcome: ``done`` with the workflow's counts, ``failed`` with the one-line error
(a user error) or the exception (a bug, with the traceback in the job's ``log.txt``), or, when
SIGTERM came, ``cancelled`` if the job was cancelled and ``queued`` (to resume) if the server
was stopping. It dies with the server (Linux: ``PR_SET_PDEATHSIG``), so a server killed with
-9 leaves no orphan writing to the store; the next server resumes the job.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

import pandas as pd

from drugforge.api.db import Database
from drugforge.api.jobs import JobStore
from drugforge.api.jobspecs import JOB_KINDS, config_class
from drugforge.api.settings import ServerSettings
from drugforge.core import progress
from drugforge.core.errors import DrugforgeError

__all__ = ["main"]


class _Reporter:
    """Writes a progress bar's counts to the job's row at most every ``every`` seconds."""

    def __init__(self, store: JobStore, job_id: str, every: float = 0.5) -> None:
        self.store, self.job_id, self.every = store, job_id, every
        self.last = 0.0

    def __call__(self, label: str, done: int, total: int, unit: str, rate: str) -> None:
        t = time.monotonic()
        if t - self.last < self.every and done < total:
            return
        self.last = t
        fraction = min(1.0, done / total) if total > 0 else 0.0
        self.store.set(self.job_id, label=label[:64], done=int(done), total=int(total),
                       unit=unit[:16], rate=rate[:64], progress=fraction)  # fmt: skip


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _run(kind: str, config: Any, job_dir: Path, settings: ServerSettings) -> dict[str, Any]:
    """Run the workflow; write the result table; return the counts the job shows."""
    from drugforge.workflows import WORKFLOWS

    result = WORKFLOWS.get(JOB_KINDS[kind].workflow)(config)
    if kind == "screen":
        return {"records": result.n_records, **result.counts,
                "molecules_per_s": round(result.rate, 1)}  # fmt: skip
    if kind == "generate":
        return {"sampled": result.n_sampled, "valid": result.n_valid, "unique": result.n_unique,
                "novel": result.n_novel, "written": result.n_written}  # fmt: skip
    if kind == "optimize":
        return {"written": len(result.frame),
                **{k: v for k, v in result.summary.items() if isinstance(v, int | float)}}
    if kind == "dti-train":
        row = {"model": result.spec.describe(),
               **{f"test_{k}": v for k, v in result.metrics["test"].items()}}  # fmt: skip
        pd.DataFrame([row]).to_csv(job_dir / JOB_KINDS[kind].result, index=False)
        return {"accepted": True, "model": _to_store(result.out, job_dir, settings), **row}
    if kind == "image-train":
        row = {"arch": result.arch,
               **{f"{part}_{k}": v for part in ("validation", "test")
                  for k, v in result.metrics.get(part, {}).items()
                  if isinstance(v, int | float)}}  # fmt: skip
        pd.DataFrame([row]).to_csv(job_dir / JOB_KINDS[kind].result, index=False)
        return {"accepted": True, "model": _to_store(result.out, job_dir, settings), **row}
    # train: the attempts table is the result; the accepted model joins the store
    rows = [{"attempt": i + 1, "model": a.spec.describe(), "seconds": round(a.seconds, 2),
             "passed": bool(a.gate.get("passed")) if a.gate else None,
             **{f"test_{k}": v for k, v in a.evaluation.test_metrics.items()}}
            for i, a in enumerate(result.attempts)]  # fmt: skip
    pd.DataFrame(rows).to_csv(job_dir / JOB_KINDS[kind].result, index=False)
    name = _to_store(result.out, job_dir, settings)
    return {"attempts": len(rows), "accepted": True, "model": name,
            **{f"test_{k}": v for k, v in result.final.evaluation.test_metrics.items()}}


def _to_store(model_dir: Path, job_dir: Path, settings: ServerSettings) -> str:
    """Move a trained model into the store under the job's name; return the name."""
    name = str(json.loads((job_dir / "job.json").read_text())["name"])
    target = settings.models_dir / name
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise DrugforgeError(f"a model named '{name}' appeared in the store while training; "
                             f"this one is kept in the job folder")  # fmt: skip
    shutil.move(str(model_dir), target)
    return name


def run_job(settings: ServerSettings, job_id: str) -> str:
    """Run job ``job_id`` to its end (or to SIGTERM); returns the state it ended in."""
    store = JobStore(Database(settings.database_url))
    kind, values = store.config(job_id)
    job_dir = settings.jobs_dir / job_id
    if kind == "optimize":  # a restarted run continues from its last checkpoint, if any
        values["resume"] = (Path(values["checkpoint_dir"]) / "run.json").is_file()
    config = config_class(JOB_KINDS[kind]).model_validate(values)
    previous = progress.set_observer(_Reporter(store, job_id))
    signal.signal(signal.SIGTERM, _stop)
    try:
        counts = _run(kind, config, job_dir, settings)
    except KeyboardInterrupt:
        cancelled = store.wanted_cancelled([job_id])
        state = "cancelled" if cancelled else "queued"
        if cancelled:
            store.finish(job_id, "cancelled", error="cancelled")
        else:
            store.set(job_id, state="queued", pid=None)
        return state
    except DrugforgeError as err:
        store.finish(job_id, "failed", error=str(err))
        return "failed"
    except Exception as err:  # noqa: BLE001 - a bug: the job fails, its log has the traceback
        traceback.print_exc()
        store.finish(job_id, "failed", error=f"internal error: {type(err).__name__}: {err}")
        return "failed"
    finally:
        progress.set_observer(previous)
    store.finish(job_id, "done", counts=counts)
    return "done"


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when the server that started it dies."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the runner's shutdown stops workers instead
        return
    server = os.environ.get("DRUGFORGE_SERVER_PID")
    if server and os.getppid() != int(server):  # the server died before prctl took hold
        raise SystemExit(3)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    data_dir, job_id = args[0], args[1]
    _die_with_parent()
    settings = ServerSettings(data_dir=data_dir, database=args[2] if len(args) > 2 else None)
    state = run_job(settings, job_id)
    return 0 if state in ("done", "cancelled", "queued") else 1


if __name__ == "__main__":
    raise SystemExit(main())
