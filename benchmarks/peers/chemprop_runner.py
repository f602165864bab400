"""Run Chemprop 2.3.1 (the peer) through its own CLI, from the project's Python.

Chemprop lives in the peer virtual environment `benchmarks/.venv-peers` (made by
`setup_peers.sh`), never in drugforge's dependencies, so this module only shells out to
`benchmarks/.venv-peers/bin/chemprop` and reads the files it writes. It needs numpy and pandas
(and scikit-learn for ROC-AUC), all drugforge dependencies already.

Fairness rules baked in here, the same for every caller:
- one thread: OMP_NUM_THREADS=MKL_NUM_THREADS=1 (torch's intra-op pool follows OMP), and
  `--num-workers 0` (no data-loader processes);
- one Chemprop job at a time on this machine: a file lock under `benchmarks/results/chemprop/`
  serialises every train/predict call from every script that uses this module;
- Chemprop defaults (D-MPNN, hidden 300, depth 3, 50 epochs, batch 64, Noam-like LR schedule,
  best epoch chosen by validation loss), with explicit train/val/test files and seeds.

Timings are wall-clock seconds of the CLI subprocesses as a user experiences them, so they
include Python start-up and imports (~5 s here); the same work timed inside the process, after
the imports, is kept beside them as `*_excl_startup` (see `_timed_chemprop.py`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BENCH_DIR = Path(__file__).resolve().parents[1]
VENV_DIR = BENCH_DIR / ".venv-peers"
CHEMPROP_BIN = VENV_DIR / "bin" / "chemprop"
VENV_PYTHON = VENV_DIR / "bin" / "python"
TIMED_WRAPPER = Path(__file__).resolve().parent / "_timed_chemprop.py"
RESULTS_DIR = BENCH_DIR / "results"
CHEMPROP_RESULTS_DIR = RESULTS_DIR / "chemprop"
LOCK_PATH = CHEMPROP_RESULTS_DIR / ".chemprop.lock"
EXPECTED_CHEMPROP_VERSION = "2.3.1"
SMILES_COLUMN = "smiles"
TASKS = ("regression", "classification")
# Bump when the way runs are made changes, so cached results made the old way are not mixed in.
RUNNER_VERSION = 1


class ChempropRunError(RuntimeError):
    """A Chemprop CLI call failed; the message carries the tail of its log."""


class CacheMismatchError(RuntimeError):
    """A cached result exists for this key but was made with a different configuration."""


# --------------------------------------------------------------------------------------------
# Environment and machine facts
# --------------------------------------------------------------------------------------------


def single_thread_env() -> dict[str, str]:
    """The environment every Chemprop subprocess runs in: one thread, quiet, no GPU lookups."""
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        NUMEXPR_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONHASHSEED="0",
        CUDA_VISIBLE_DEVICES="",
    )
    # The project's own interpreter settings must not leak into the peer venv.
    for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(key, None)
    env["PATH"] = f"{VENV_DIR / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def require_venv() -> None:
    if not CHEMPROP_BIN.exists():
        raise FileNotFoundError(
            f"{CHEMPROP_BIN} not found: run `bash benchmarks/peers/setup_peers.sh` first"
        )


_VERSIONS: dict[str, str] = {}


def peer_versions() -> dict[str, str]:
    """Versions of chemprop, torch, lightning, rdkit inside the peer venv (cached per process)."""
    if not _VERSIONS:
        require_venv()
        code = (
            "import importlib.metadata as m, json\n"
            "print(json.dumps({n: m.version(n) for n in "
            "('chemprop', 'torch', 'lightning', 'rdkit', 'numpy')}))"
        )
        out = subprocess.run(
            [str(VENV_PYTHON), "-c", code],
            env=single_thread_env(),
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        _VERSIONS.update(json.loads(out))
        if _VERSIONS["chemprop"] != EXPECTED_CHEMPROP_VERSION:
            raise RuntimeError(
                f"peer venv has chemprop {_VERSIONS['chemprop']}, expected "
                f"{EXPECTED_CHEMPROP_VERSION}: rerun setup_peers.sh"
            )
    return dict(_VERSIONS)


def machine_info() -> dict[str, Any]:
    """Where a run happened: cores usable, CPU model, memory, load when it started."""
    cpu_model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = round(int(line.split()[1]) / 2**20, 1)
                break
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "mem_total_gib": mem_gib,
        "loadavg_at_start": list(os.getloadavg()),
        "hostname": platform.node(),
        "platform": platform.platform(),
        "threads": 1,
    }


_LOCK_DEPTH = [0]


@contextlib.contextmanager
def chemprop_lock() -> Iterator[None]:
    """Hold the machine-wide 'one Chemprop job at a time' lock (blocks while another holds it).

    Re-entrant within a process, so one job (check SMILES, train, predict) takes it once.
    """
    if _LOCK_DEPTH[0]:
        _LOCK_DEPTH[0] += 1
        try:
            yield
        finally:
            _LOCK_DEPTH[0] -= 1
        return
    LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_PATH, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"[chemprop] waiting for another Chemprop job ({LOCK_PATH})", flush=True)
            fcntl.flock(fh, fcntl.LOCK_EX)
        _LOCK_DEPTH[0] = 1
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            yield
        finally:
            _LOCK_DEPTH[0] = 0
            fcntl.flock(fh, fcntl.LOCK_UN)
    # Let a waiting job (another script) take the lock before this process asks again.
    time.sleep(1.0)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def invalid_smiles_positions(smiles: Sequence[str]) -> list[int]:
    """Positions Chemprop cannot parse, judged by Chemprop's own `make_mol` in the peer venv.

    Chemprop 2.3.1 raises on the first unparsable SMILES and aborts the whole run, so callers
    drop these rows from train/val and give them NaN predictions in test.
    """
    require_venv()
    code = (
        "import sys, json\n"
        "from rdkit import RDLogger\n"
        "RDLogger.DisableLog('rdApp.*')\n"
        "from chemprop.utils import make_mol\n"
        "bad = []\n"
        "for i, s in enumerate(json.load(sys.stdin)):\n"
        "    try:\n"
        "        make_mol(s)\n"
        "    except Exception:\n"
        "        bad.append(i)\n"
        "print(json.dumps(bad))\n"
    )
    with chemprop_lock():
        out = subprocess.run(
            [str(VENV_PYTHON), "-c", code],
            input=json.dumps([str(s) for s in smiles]),
            env=single_thread_env(),
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return [int(i) for i in json.loads(out.strip().splitlines()[-1])]


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _read_targets_csv(path: Path, target_columns: Sequence[str]) -> pd.DataFrame:
    df = pd.read_csv(path)
    missing = [c for c in [SMILES_COLUMN, *target_columns] if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; has {list(df.columns)}")
    return df


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def _run_logged(cmd: list[str], log_path: Path, cwd: Path) -> tuple[float, float, float]:
    """Run a `chemprop ...` command line with output to `log_path`.

    It runs through `_timed_chemprop.py` (the console script's `main()`, timed from inside), so
    this returns (wall seconds of the whole process, seconds of the CLI's work after imports,
    CPU seconds user+system of the process). CPU time is the steadier number when other jobs
    share the cores.
    """
    timing = log_path.with_suffix(".timing.json")
    argv = [str(VENV_PYTHON), str(TIMED_WRAPPER), str(timing), *cmd[1:]]
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=single_thread_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,  # a failure is reported below, with the log's tail
        )
        seconds = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if proc.returncode != 0 or not timing.exists():
        tail = log_path.read_text(errors="replace")[-4000:]
        raise ChempropRunError(f"exit {proc.returncode}: {' '.join(cmd)}\n--- log tail ---\n{tail}")
    return seconds, float(json.loads(timing.read_text())["run_seconds"]), cpu


def train_command(
    train_csv: Path,
    val_csv: Path,
    test_csv: Path,
    task: str,
    target_columns: Sequence[str],
    seed: int,
    out_dir: Path,
    epochs: int,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The exact `chemprop train` command line (extra_args come last, so they override)."""
    return [
        str(CHEMPROP_BIN),
        "train",
        "--data-path", str(train_csv), str(val_csv), str(test_csv),
        "--smiles-columns", SMILES_COLUMN,
        "--target-columns", *target_columns,
        "--task-type", task,
        "--epochs", str(epochs),
        "--pytorch-seed", str(seed),
        "--data-seed", str(seed),
        "--num-workers", "0",
        "--accelerator", "cpu",
        "--devices", "1",
        "--output-dir", str(out_dir),
        *extra_args,
    ]  # fmt: skip


def predict_command(test_smiles_csv: Path, model_path: Path, preds_csv: Path) -> list[str]:
    """The exact `chemprop predict` command line."""
    return [
        str(CHEMPROP_BIN),
        "predict",
        "--test-path", str(test_smiles_csv),
        "--smiles-columns", SMILES_COLUMN,
        "--model-paths", str(model_path),
        "--output", str(preds_csv),
        "--num-workers", "0",
        "--accelerator", "cpu",
        "--devices", "1",
    ]  # fmt: skip


def _best_epoch(model_dir: Path) -> int | None:
    """The epoch Chemprop kept (its checkpoint file is named best-epoch=N-...)."""
    for ckpt in sorted((model_dir / "checkpoints").glob("best-epoch=*")):
        m = re.match(r"best-epoch=(\d+)-", ckpt.name)
        if m:
            return int(m.group(1))
    return None


def run_chemprop(
    train_csv: str | os.PathLike[str],
    val_csv: str | os.PathLike[str],
    test_csv: str | os.PathLike[str],
    task: str,
    target_columns: Sequence[str],
    seed: int,
    out_dir: str | os.PathLike[str] | None = None,
    epochs: int = 50,
    extra_args: Sequence[str] = (),
    keep_outputs: bool = False,
) -> dict[str, Any]:
    """Train Chemprop on explicit train/val/test CSVs, predict the test set with `chemprop predict`.

    Each CSV has a `smiles` column and the `target_columns` (empty cells = missing labels), and
    every SMILES must parse (see `invalid_smiles_positions`). `out_dir` is the working directory
    for Chemprop's own outputs (checkpoints, model file, logs); None makes a temporary one. It is
    deleted afterwards unless `keep_outputs`.

    Returns a dict with `predictions` (n_test x n_targets list, aligned with the test CSV rows;
    class-1 probabilities for classification), `train_seconds`, `predict_seconds`,
    `molecules_per_second` (n_test / predict_seconds), the same timings without start-up, the commands,
    the best epoch, versions and machine facts.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose from: {', '.join(TASKS)}")
    target_columns = list(target_columns)
    if not target_columns:
        raise ValueError("target_columns is empty")
    require_venv()
    versions = peer_versions()
    paths = {
        k: Path(p).resolve()
        for k, p in (("train", train_csv), ("val", val_csv), ("test", test_csv))
    }
    frames = {k: _read_targets_csv(p, target_columns) for k, p in paths.items()}

    made_temp = out_dir is None
    work = Path(tempfile.mkdtemp(prefix="chemprop_run_") if out_dir is None else out_dir)
    work.mkdir(parents=True, exist_ok=True)
    try:
        # Predict from a SMILES-only file: Chemprop names its prediction columns after the
        # targets and would overwrite true labels that sit in the input under the same names.
        test_smiles_csv = work / "test_smiles.csv"
        frames["test"][[SMILES_COLUMN]].to_csv(test_smiles_csv, index=False)
        train_dir = work / "train"
        preds_csv = work / "test_preds.csv"
        t_cmd = train_command(
            paths["train"], paths["val"], paths["test"], task, target_columns, seed,
            train_dir, epochs, extra_args,
        )  # fmt: skip
        model_path = train_dir / "model_0" / "best.pt"
        p_cmd = predict_command(test_smiles_csv, model_path, preds_csv)

        with chemprop_lock():
            machine = machine_info()
            train_seconds, train_work, train_cpu = _run_logged(t_cmd, work / "train.log", cwd=work)
            if not model_path.exists():
                raise ChempropRunError(f"chemprop train wrote no model at {model_path}")
            predict_seconds, predict_work, predict_cpu = _run_logged(
                p_cmd, work / "predict.log", cwd=work
            )

        preds_df = pd.read_csv(preds_csv)
        n_test = len(frames["test"])
        if len(preds_df) != n_test:
            raise ChempropRunError(f"{len(preds_df)} predictions for {n_test} test rows")
        if list(preds_df[SMILES_COLUMN].astype(str)) != list(
            frames["test"][SMILES_COLUMN].astype(str)
        ):
            raise ChempropRunError("prediction rows are not in test-file order")
        predictions = preds_df[target_columns].to_numpy(dtype=float)
        return {
            "tool": "chemprop",
            "versions": versions,
            "task": task,
            "target_columns": target_columns,
            "seed": seed,
            "epochs": epochs,
            "best_epoch": _best_epoch(train_dir / "model_0"),
            "extra_args": list(extra_args),
            "train_command": _portable(t_cmd, work, paths["train"].parent),
            "predict_command": _portable(p_cmd, work, paths["train"].parent),
            "n_train": len(frames["train"]),
            "n_val": len(frames["val"]),
            "n_test": n_test,
            "predictions": predictions.tolist(),
            "train_seconds": train_seconds,
            "predict_seconds": predict_seconds,
            "molecules_per_second": n_test / predict_seconds,
            # The same work without Python start-up and imports (timed inside the CLI process).
            "train_seconds_excl_startup": train_work,
            "predict_seconds_excl_startup": predict_work,
            "molecules_per_second_excl_startup": n_test / predict_work,
            "train_cpu_seconds": train_cpu,
            "predict_cpu_seconds": predict_cpu,
            "machine_loadavg_at_end": list(os.getloadavg()),
            "machine": machine,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
    finally:
        if made_temp and not keep_outputs:
            shutil.rmtree(work, ignore_errors=True)
        elif not keep_outputs:
            for name in ("train", "test_smiles.csv", "test_preds.csv"):
                target = work / name
                if target.is_dir():
                    shutil.rmtree(target, ignore_errors=True)
                else:
                    target.unlink(missing_ok=True)


def _portable(cmd: list[str], work: Path, data_dir: Path) -> str:
    """A command line with temporary and machine-specific paths shortened, for the result JSON."""
    text = " ".join(cmd).replace(str(CHEMPROP_BIN), "chemprop").replace(str(work), "$WORK")
    return text.replace(str(data_dir), "$DATA")


# --------------------------------------------------------------------------------------------
# Running from an index split of one CSV, with a resumable JSON cache
# --------------------------------------------------------------------------------------------


def result_path(dataset: str, split_id: str, seed: int) -> Path:
    """Where the cached result for (dataset, split id, seed) lives."""
    safe = [re.sub(r"[^A-Za-z0-9._-]+", "_", s) for s in (dataset, split_id)]
    return CHEMPROP_RESULTS_DIR / safe[0] / safe[1] / f"seed{seed}.json"


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (a killed campaign never leaves half a file to be read as done)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(_jsonable(obj), indent=1, allow_nan=True) + "\n")
    os.replace(tmp, path)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, Path):
        return str(obj)
    return obj


def cached(
    path: Path, config: dict[str, Any], compute: Callable[[], dict[str, Any]], force: bool = False
) -> dict[str, Any]:
    """Return the result at `path` if it was made with `config`, else compute and store it.

    A result made with a different config is never silently overwritten: that raises
    CacheMismatchError unless `force`.
    """
    config = _jsonable(config)
    if path.exists() and not force:
        old = json.loads(path.read_text())
        if old.get("config") == config:
            old["cached"] = True
            return old
        raise CacheMismatchError(
            f"{path} was made with a different configuration; pass --force to overwrite it, "
            f"or use another --results-dir.\n old: {old.get('config')}\n new: {config}"
        )
    result = compute()
    result["config"] = config
    write_json(path, result)
    result["cached"] = False
    return result


def run_index_split(
    df: pd.DataFrame,
    split: Mapping[str, Sequence[int]],
    task: str,
    target_columns: Sequence[str],
    seed: int,
    epochs: int = 50,
    extra_args: Sequence[str] = (),
    smiles_column: str = SMILES_COLUMN,
) -> dict[str, Any]:
    """Run Chemprop on rows of `df` chosen by `split` {'train','val','test'} (0-based row indices).

    Rows Chemprop cannot parse are left out of train/val and get NaN predictions in test; their
    indices are reported. Predictions come back aligned with `split['test']`, in its order.
    """
    target_columns = list(target_columns)
    idx = {k: np.asarray(split[k], dtype=int) for k in ("train", "val", "test")}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        overlap = np.intersect1d(idx[a], idx[b])
        if overlap.size:
            raise ValueError(f"split overlaps: {a} and {b} share rows {overlap[:10].tolist()}")
    table = pd.DataFrame({SMILES_COLUMN: df[smiles_column].astype(str)})
    for col in target_columns:
        table[col] = df[col].to_numpy()
    used = np.concatenate(list(idx.values()))
    with chemprop_lock(), tempfile.TemporaryDirectory(prefix="chemprop_split_") as tmp:
        bad_pos = invalid_smiles_positions(table[SMILES_COLUMN].iloc[used].tolist())
        bad_rows = set(used[bad_pos].tolist())
        keep = {k: np.array([i for i in v if i not in bad_rows], dtype=int) for k, v in idx.items()}
        tmpdir = Path(tmp)
        files = {}
        for k in ("train", "val", "test"):
            files[k] = tmpdir / f"{k}.csv"
            table.iloc[keep[k]].to_csv(files[k], index=False)
        res = run_chemprop(
            files["train"], files["val"], files["test"], task, target_columns, seed,
            out_dir=tmpdir / "run", epochs=epochs, extra_args=extra_args,
        )  # fmt: skip
    valid_preds = np.asarray(res["predictions"], dtype=float).reshape(len(keep["test"]), -1)
    preds = np.full((len(idx["test"]), len(target_columns)), np.nan)
    pos = {row: j for j, row in enumerate(keep["test"].tolist())}
    for i, row in enumerate(idx["test"].tolist()):
        if row in pos:
            preds[i] = valid_preds[pos[row]]
    res["predictions"] = preds.tolist()
    res["test_indices"] = idx["test"].tolist()
    res["invalid_smiles_rows"] = {
        k: sorted(int(i) for i in v if i in bad_rows) for k, v in idx.items()
    }
    return res


# --------------------------------------------------------------------------------------------
# Metrics (computed in the project's Python, identically for Chemprop and drugforge)
# --------------------------------------------------------------------------------------------


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true = np.asarray(y_true, dtype=float).ravel()
    y_pred = np.asarray(y_pred, dtype=float).ravel()
    ok = ~(np.isnan(y_true) | np.isnan(y_pred))
    if not ok.any():
        return float("nan")
    return float(np.sqrt(np.mean((y_true[ok] - y_pred[ok]) ** 2)))


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    y_true = np.asarray(y_true, dtype=float).ravel()
    y_pred = np.asarray(y_pred, dtype=float).ravel()
    ok = ~(np.isnan(y_true) | np.isnan(y_pred))
    t, p = y_true[ok], y_pred[ok]
    ss_tot = float(np.sum((t - t.mean()) ** 2)) if t.size else float("nan")
    return {
        "rmse": rmse(t, p),
        "mae": float(np.mean(np.abs(t - p))) if t.size else float("nan"),
        "r2": 1.0 - float(np.sum((t - p) ** 2)) / ss_tot if ss_tot else float("nan"),
        "n_scored": int(ok.sum()),
    }


def classification_metrics(
    y_true: np.ndarray, y_prob: np.ndarray, target_columns: Sequence[str]
) -> dict[str, Any]:
    """Mean ROC-AUC over tasks; per task only rows with a label (and a prediction) count.

    A task whose test labels are all one class has no ROC-AUC and is left out of the mean
    (listed in `skipped_tasks`), as MoleculeNet and Chemprop do.
    """
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true, dtype=float).reshape(len(y_true), -1)
    y_prob = np.asarray(y_prob, dtype=float).reshape(len(y_prob), -1)
    per_task: dict[str, float] = {}
    skipped: list[str] = []
    for j, name in enumerate(target_columns):
        ok = ~(np.isnan(y_true[:, j]) | np.isnan(y_prob[:, j]))
        labels = y_true[ok, j]
        if np.unique(labels).size < 2:
            skipped.append(name)
            continue
        per_task[name] = float(roc_auc_score(labels, y_prob[ok, j]))
    values = list(per_task.values())
    return {
        "roc_auc": float(np.mean(values)) if values else float("nan"),
        "roc_auc_per_task": per_task,
        "skipped_tasks": skipped,
    }


def main_guard() -> None:
    """Refuse to run under the peer venv's Python: these scripts belong to the project's."""
    if Path(sys.prefix).resolve() == VENV_DIR.resolve():
        raise SystemExit("run this with the project's python3, not the peer venv's")
