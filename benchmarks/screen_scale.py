"""Library-scale screening: throughput, peak memory, resume under kills, peers side by side.

    python benchmarks/screen_scale.py prepare            # MOSES libraries + the potency models
    python benchmarks/screen_scale.py run --job model --size 1m     # one potency model
    python benchmarks/screen_scale.py run --job profile --size 1m   # the full profile
    python benchmarks/screen_scale.py run --job floor --size 1m     # parse + fingerprint only
    python benchmarks/screen_scale.py peers              # ADMET-AI, Chemprop on a 10k slice
    python benchmarks/screen_scale.py kill-resume --kills 10
    python benchmarks/screen_scale.py report             # results/screen/screen.md

Libraries (``benchmarks/work/screen/``, git-ignored): the 1,584,663 MOSES training SMILES in a
seeded random order, cut to 100k and 1M; 3M is that order followed by a second, differently
shuffled copy (so the 3M library repeats molecules; no job here de-duplicates). The 10k slice
given to the peers is the first 10,000 molecules of every library.

The potency model is drugforge's Tanimoto SVM (the MoleculeACE family that ``auto`` picks most)
trained on MoleculeACE CHEMBL204_Ki (thrombin, 2,201 training molecules, its own split); the
Chemprop model for ``chemprop predict`` is Chemprop 2.3.1's default D-MPNN on the same training
molecules. Each job is the command a user runs, with default settings:

* ``model``:   ``drugforge screen LIB --model svm --rank pKi --top 1000 --out hits.parquet``
* ``profile``: ``drugforge screen LIB --profile --out profile.parquet`` (every molecule's full
  profile: properties, rules, alerts with atoms, the 15 panel endpoints with uncertainty and
  applicability domain, approved-drug percentiles)
* ``floor``:   the same streaming reader and worker processes doing only what the model job
  cannot avoid: parse each SMILES and compute the SVM's fingerprints (nothing predicted, nothing
  written)

Peak memory is sampled every 0.2 s over the whole process tree (the command and its worker
processes): the sum of RSS (counts pages shared by forked workers more than once) and the sum of
PSS (shares them out; what the tree really holds). Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
from common import BENCH, RESULTS, machine, moleculeace_dir, store

from drugforge.workflows.screen import DEFAULT_CHUNK_SIZE

WORK = BENCH / "work" / "screen"
OUT = RESULTS / "screen"
SIZES = {"100k": 100_000, "1m": 1_000_000, "3m": 3_000_000}
SLICE = 10_000
POTENCY_SET = "CHEMBL204_Ki"
VENV_BIN = BENCH / ".venv-peers" / "bin"


def moses_train() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("moses")
    if spec is None or spec.origin is None:
        raise SystemExit("MOSES data (molsets) is not installed: pip install --no-deps molsets")
    return Path(spec.origin).parent / "dataset" / "data" / "train.csv.gz"


def library(size: str) -> Path:
    return WORK / f"moses_{size}.smi"


def cli() -> list[str]:
    return [sys.executable, "-m", "drugforge"]


# ---------------------------------------------------------------------------- prepare
def prepare() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    smiles = pd.read_csv(moses_train())["SMILES"].tolist()
    first = smiles[:]
    random.Random(0).shuffle(first)
    second = smiles[:]
    random.Random(1).shuffle(second)
    both = first + second
    for size, n in SIZES.items():
        path = library(size)
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_text("".join(f"{s}\n" for s in both[:n]))
            tmp.replace(path)
        print(f"{path}: {n:,} molecules")
    slice_csv = WORK / "slice_10k.csv"
    pd.DataFrame({"smiles": first[:SLICE]}).to_csv(slice_csv, index=False)
    data = moleculeace_dir() / f"{POTENCY_SET}.csv"
    model = WORK / "svm"
    if not (model / "manifest.json").exists():
        subprocess.run([*cli(), "train", str(data), "--target", "y", "--split", "column:split",
                        "--model", "svm", "--out", str(model), "--force", "--quiet"],
                       check=True)  # fmt: skip
    print(f"drugforge model: {model}")


def chemprop_model() -> Path:
    """Chemprop 2.3.1 trained on the same training molecules (its default D-MPNN)."""
    from chemprop_runner import run_chemprop

    out = WORK / "chemprop"
    model = out / "train" / "model_0" / "best.pt"
    if model.exists():
        return model
    frame = pd.read_csv(moleculeace_dir() / f"{POTENCY_SET}.csv")
    train = frame[frame["split"] == "train"]
    valid = train.sample(frac=0.1, random_state=0)
    train = train.drop(valid.index)
    test = frame[frame["split"] == "test"]
    files = []
    for name, part in (("train", train), ("val", valid), ("test", test)):
        path = WORK / f"chemprop_{name}.csv"
        part[["smiles", "y"]].to_csv(path, index=False)
        files.append(path)
    run_chemprop(*files, task="regression", target_columns=["y"], seed=0, out_dir=out,
                 keep_outputs=True)
    found = sorted(out.rglob("best*.pt"))
    if not found:
        raise SystemExit(f"Chemprop wrote no model under {out}")
    return found[0]


# ---------------------------------------------------------------------------- memory
def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                kids = Path(f"/proc/{p}/task/{tid}/children").read_text().split()
                todo += [int(k) for k in kids]
        except OSError:
            pass
    return out


def _kb(path: str, key: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeMemory(threading.Thread):
    """Samples the summed RSS and PSS of a process tree until stopped (peaks in MiB)."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_rss = self.peak_pss = 0.0
        self.max_processes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            pids = _tree(self.pid)
            rss = sum(_kb(f"/proc/{p}/status", "VmRSS:") for p in pids) / 1024
            pss = sum(_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids) / 1024
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.max_processes = max(self.max_processes, len(pids))
            self._stop_event.wait(self.every)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def measured(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd``; wall seconds, peak tree memory, load average around it, exit code."""
    load = os.getloadavg()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    memory = TreeMemory(proc.pid)
    memory.start()
    stdout, stderr = proc.communicate()
    memory.stop()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return {"command": _shown(cmd), "wall_s": round(wall, 2),
            "peak_rss_mib": round(memory.peak_rss, 1), "peak_pss_mib": round(memory.peak_pss, 1),
            "processes": memory.max_processes, "stdout_tail": stdout[-2000:],
            "load_before": [round(x, 2) for x in load],
            "load_after": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip


# ---------------------------------------------------------------------------- jobs
def _floor_worker(texts: list[str]) -> int:
    from drugforge.molecules.chem.mol import parse_smiles
    from drugforge.molecules.featurize import featurize

    mols = [m for m in map(parse_smiles, texts) if m is not None]
    for featurizer in _FLOOR_FEATURIZERS:
        featurize(featurizer, mols, cache=False)
    return len(mols)


_FLOOR_FEATURIZERS: list[Any] = []


def floor_main(lib: str, model_dir: str, n_jobs: int, chunk_size: int) -> None:
    """Read + parse + fingerprint with the model's own featurizers, nothing else (a child)."""
    import multiprocessing

    from drugforge.core.artifacts import load_model
    from drugforge.molecules.data.stream import LibraryReader

    loaded = load_model(model_dir)
    _FLOOR_FEATURIZERS[:] = list(loaded.model.featurizers_)
    reader = LibraryReader(Path(lib), chunk_size=chunk_size)
    parsed = 0
    with multiprocessing.get_context("fork").Pool(n_jobs) as pool:
        for n in pool.imap(_floor_worker, (c.texts for c in reader.chunks())):
            parsed += n
    print(json.dumps({"parsed": parsed}))


def run_job(job: str, size: str, n_jobs: int, force: bool) -> dict[str, Any]:
    path = OUT / f"{job}_{size}.json"
    if path.exists() and not force:
        print(f"cached: {path}")
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    lib = library(size)
    if not lib.exists():
        raise SystemExit(f"{lib} is missing: run `python benchmarks/screen_scale.py prepare`")
    out = WORK / f"out_{job}_{size}"
    out.mkdir(parents=True, exist_ok=True)
    model = WORK / "svm"
    jobs = ["--n-jobs", str(n_jobs)] if n_jobs else []
    if job == "model":
        cmd = [*cli(), "screen", str(lib), "--model", f"pKi={model}", "--rank", "pKi",
               "--top", "1000", "--out", str(out / "hits.parquet"), "--force", "--quiet", *jobs]
    elif job == "profile":
        cmd = [*cli(), "screen", str(lib), "--profile", "--out", str(out / "profile.parquet"),
               "--force", "--quiet", *jobs]
    elif job == "floor":
        cmd = [sys.executable, __file__, "_floor", str(lib), str(model),
               str(n_jobs or os.cpu_count() or 1), str(DEFAULT_CHUNK_SIZE)]
    else:
        raise SystemExit(f"unknown job {job}")
    print(f"{job} {size}: {' '.join(cmd)}", flush=True)
    result = measured(cmd)
    n = SIZES[size]
    result.update({"job": job, "size": size, "molecules": n,
                   "mol_per_s": round(n / result["wall_s"], 1), "n_jobs": n_jobs or os.cpu_count(),
                   "machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})
    if job != "floor":
        summary = json.loads(result["stdout_tail"].strip().splitlines()[-1])
        result["counts"] = summary["counts"]
        result["records"] = summary["records"]
    for produced in out.glob("*"):
        result.setdefault("output_bytes", {})[produced.name] = produced.stat().st_size
    store(path, result)
    print(json.dumps({k: result[k] for k in ("job", "size", "wall_s", "mol_per_s",
                                              "peak_rss_mib", "peak_pss_mib")}))  # fmt: skip
    return result


# ---------------------------------------------------------------------------- peers
def peers(force: bool) -> dict[str, Any]:
    """ADMET-AI and Chemprop on the 10k slice, drugforge on the same slice, one after the other."""
    path = OUT / "peers_10k.json"
    if path.exists() and not force:
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    slice_csv = WORK / "slice_10k.csv"
    slice_smi = WORK / "slice_10k.smi"
    slice_smi.write_text("".join(f"{s}\n" for s in pd.read_csv(slice_csv)["smiles"]))
    out = WORK / "peers"
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"molecules": SLICE, "machine": machine(),
                              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    runs = {
        "admet_ai": [str(VENV_BIN / "admet_predict"), "--data_path", str(slice_csv),
                     "--save_path", str(out / "admet.csv"), "--smiles_column", "smiles"],
        "chemprop": [str(VENV_BIN / "chemprop"), "predict", "--test-path", str(slice_csv),
                     "--smiles-columns", "smiles", "--model-paths", str(chemprop_model()),
                     "--preds-path", str(out / "chemprop.csv"), "--num-workers", "0",
                     "--accelerator", "cpu", "--devices", "1"],
        "drugforge_model": [*cli(), "screen", str(slice_smi), "--model",
                            f"pKi={WORK / 'svm'}", "--rank", "pKi", "--top", "1000", "--out",
                            str(out / "df_hits.parquet"), "--force", "--quiet"],
        "drugforge_profile": [*cli(), "screen", str(slice_smi), "--profile", "--out",
                              str(out / "df_profile.parquet"), "--force", "--quiet"],
    }  # fmt: skip
    for name, cmd in runs.items():
        print(f"{name}: {' '.join(cmd)}", flush=True)
        run = measured(cmd)
        run["mol_per_s"] = round(SLICE / run["wall_s"], 1)
        result[name] = run
        print(f"  {run['wall_s']} s, {run['mol_per_s']} mol/s, peak PSS {run['peak_pss_mib']} MiB")
    admet = pd.read_csv(out / "admet.csv")
    result["admet_ai"]["columns"] = len(admet.columns)
    result["admet_ai"]["rows"] = len(admet)
    store(path, result)
    return result


# ---------------------------------------------------------------------------- kill/resume
def _shown(cmd: list[str]) -> str:
    """A command as a user would type it: quoted, paths relative to the repository."""
    root = str(BENCH.parent) + "/"
    return shlex.join(["python3" if c == sys.executable else c.replace(root, "") for c in cmd])


def kill_resume(kills: int, size: int, seed: int) -> dict[str, Any]:
    """Kill a screen (SIGKILL to the whole process group) at random moments, resume each time,
    and compare every output file with an uninterrupted run of the same command."""
    lib = WORK / f"kill_{size}.smi"
    smiles = library("100k").read_text().splitlines()[:size]
    smiles[7] = "not-a-smiles"
    smiles[size // 2] = smiles[3]  # a duplicate across chunks
    lib.write_text("".join(f"{s}\n" for s in smiles))
    base = WORK / "kill"
    base.mkdir(parents=True, exist_ok=True)

    def command(out: Path, resume: bool) -> list[str]:
        return [*cli(), "screen", str(lib), "--model", f"pKi={WORK / 'svm'}", "--rank",
                "pKi - 0.1*sa_score", "--filter", "qed >= 0.4 and not PAINS", "--top", "500",
                "--dedup", "smiles", "--chunk-size", "1000", "--out", str(out), "--all-rows",
                str(out.with_name(out.stem + ".all.parquet")), "--quiet",
                *(["--resume"] if resume else ["--force"])]  # fmt: skip

    reference = base / "reference.parquet"
    ref_parts = reference.with_name(reference.name + ".parts")
    started = time.perf_counter()
    proc = subprocess.Popen(command(reference, False), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    first = last = None  # when the first / last part appeared: start-up, chunks, final merge
    n_chunks = -(-size // 1000)
    while proc.poll() is None:
        done = len(list(ref_parts.glob("part-*.parquet"))) if ref_parts.exists() else 0
        now = time.perf_counter() - started
        if done and first is None:
            first = now
        if done >= n_chunks and last is None:
            last = now
        time.sleep(0.05)
    if proc.returncode != 0:
        raise SystemExit(f"the reference screen failed ({proc.returncode})")
    uninterrupted = time.perf_counter() - started
    first = first if first is not None else uninterrupted
    last = last if last is not None else uninterrupted
    phases = {"startup_s": round(first, 2), "chunks_s": round(last - first, 2),
              "merge_s": round(uninterrupted - last, 2)}  # fmt: skip
    rng = random.Random(seed)
    target = base / "killed.parquet"
    for stale in base.glob("killed*"):
        if stale.is_file():
            stale.unlink()
        elif stale.is_dir():
            shutil.rmtree(stale)
    parts = target.with_name(target.name + ".parts")
    log: list[dict[str, Any]] = []
    resume = False
    while sum(e["killed"] for e in log) < kills and len(log) < 10 * kills:
        # a random moment before this attempt would finish: start-up (workers, models),
        # a chunk in flight, a part being written, or the final merge
        committed = len(list(parts.glob("part-*.parquet"))) if parts.exists() else 0
        remaining = (first + (last - first) * (1 - committed / n_chunks)
                     + (uninterrupted - last))
        # each attempt gets about two kills' share of the chunk work, so that the kills spread
        # over start-up, the chunks and the final merge instead of the first one taking it all
        share = first + 2 * (last - first) / kills + (uninterrupted - last)
        delay = rng.uniform(0.3, 0.95 * min(remaining, share))
        proc = subprocess.Popen(command(target, resume), start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        try:
            proc.wait(timeout=delay)
            killed = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            killed = True
        after = len(list(parts.glob("part-*.parquet"))) if parts.exists() else None
        log.append({"delay_s": round(delay, 2), "killed": killed, "exit": proc.returncode,
                    "parts_before": committed, "parts_after": after})  # fmt: skip
        print(log[-1], flush=True)
        resume = True
        if not killed:
            break
    final = subprocess.run(command(target, True), capture_output=True, text=True, check=False)
    if final.returncode != 0:
        raise SystemExit(final.stderr)
    identical = {}
    for suffix in (".parquet", ".all.parquet", ".rejected.parquet"):
        a = pd.read_parquet(base / f"reference{suffix}")
        b = pd.read_parquet(base / f"killed{suffix}")
        identical[suffix] = bool(a.equals(b))
    summary_a = json.loads((base / "reference.summary.json").read_text())["counts"]
    summary_b = json.loads((base / "killed.summary.json").read_text())["counts"]
    result = {"molecules": size, "kills": sum(e["killed"] for e in log), "attempts": log,
              "uninterrupted_s": round(uninterrupted, 1), "phases": phases,
              "identical": identical,
              "counts_reference": summary_a, "counts_resumed": summary_b,
              "all_identical": all(identical.values()) and summary_a == summary_b,
              "seed": seed, "command": _shown(command(target, True)), "machine": machine()}
    store(OUT / "kill_resume.json", result)
    print(json.dumps({k: result[k] for k in ("kills", "identical", "all_identical")}))
    return result


# ---------------------------------------------------------------------------- report
def _load(name: str) -> dict[str, Any] | None:
    path = OUT / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _ratios(peers: dict[str, Any], peer: str, job: str, label: str, goal: str) -> list[str]:
    """drugforge's molecules/s over the peer's, on the 1M library and on the same 10k slice."""
    if peer not in peers:
        return []
    out = []
    for size, run in (("1M", _load(f"{job}_1m")), ("same 10k", peers.get(f"drugforge_{job}"))):
        if run:
            ratio = run["mol_per_s"] / peers[peer]["mol_per_s"]
            out.append(f"{label} ({size}): {ratio:.1f}x{goal}")
    return out


def report() -> None:
    intro = ("Every job is the real command on MOSES training molecules, 2 worker processes "
             "(one per core), default chunk size (5,000). Peak memory is the whole process tree "
             "(command + workers); PSS shares pages held by several processes out, RSS counts "
             "them once per process.")
    header = ("| job | molecules | wall s | molecules/s | peak PSS MiB | peak RSS (sum) MiB | "
              "load before -> after |")
    lines = ["# Library-scale screening (`python benchmarks/screen_scale.py`)", "", intro, "",
             header, "|---|---:|---:|---:|---:|---:|---|"]
    for job in ("floor", "model", "profile"):
        for size in SIZES:
            r = _load(f"{job}_{size}")
            if r is None:
                continue
            lines.append(f"| {job} | {r['molecules']:,} | {r['wall_s']:,.1f} | "
                         f"{r['mol_per_s']:,.0f} | {r['peak_pss_mib']:,.0f} | "
                         f"{r['peak_rss_mib']:,.0f} | {r['load_before'][0]} -> "
                         f"{r['load_after'][0]} |")  # fmt: skip
    floor, model = _load("floor_1m"), _load("model_1m")
    if floor and model:
        ratio = model["wall_s"] / floor["wall_s"]
        lines += ["", (f"Model screen vs its floor (1M): {ratio:.2f}x the time of reading, "
                       "parsing and fingerprinting alone (goal: <= 2x).")]
    p = _load("peers_10k")
    if p:
        lines += ["", "#### Same 10,000 molecules, one after the other",
                  "", "| tool | what | wall s | molecules/s | peak PSS MiB |",
                  "|---|---|---:|---:|---:|"]  # fmt: skip
        what = {"admet_ai": "`admet_predict` (ADMET-AI 2.0.1, all its endpoints)",
                "chemprop": "`chemprop predict` (2.3.1, one D-MPNN)",
                "drugforge_model": "`drugforge screen --model` (one SVM)",
                "drugforge_profile": "`drugforge screen --profile` (full profile)"}
        for name, text in what.items():
            if name in p:
                r = p[name]
                lines.append(f"| {name} | {text} | {r['wall_s']:.1f} | {r['mol_per_s']:,.0f} | "
                             f"{r['peak_pss_mib']:,.0f} |")  # fmt: skip
        ratios = [*_ratios(p, "admet_ai", "profile", "full profile / ADMET-AI", " (goal >= 100x)"),
                  *_ratios(p, "chemprop", "model", "one model / `chemprop predict`", "")]
        lines += ["", *[f"- {r}" for r in ratios]]
    k = _load("kill_resume")
    if k:
        text = (f"{k['kills']} SIGKILLs of the whole process group at random moments "
                f"(seed {k['seed']}) of a {k['molecules']:,}-molecule screen, each followed by "
                f"`--resume`; outputs identical to an uninterrupted run: "
                f"{'yes' if k['all_identical'] else 'NO'} ({k['identical']}).")
        n_chunks = -(-k["molecules"] // 1000)
        kills = [a for a in k["attempts"] if a["killed"]]
        merge = [a for a in kills if (a["parts_after"] or 0) >= n_chunks]
        still = [a for a in kills if a not in merge and (a["parts_after"] or 0) == a["parts_before"]]
        merge, still, moved = len(merge), len(still), len(kills) - len(merge) - len(still)
        where = (f"Where the kills fell: {still} before the attempt committed a part (start-up "
                 f"or inside a chunk), {moved} after it had committed parts, {merge} with every "
                 f"part committed (the final merge). Phases of the uninterrupted run: "
                 f"{k.get('phases', {})}.")
        lines += ["", "#### Kill and resume", "", text, "", where, "",
                  f"Command: `{k['command']}`"]
    m = machine()
    lines += ["", f"Machine: {m['cpu']}, {m['cpus']} CPUs, Python {m['python']}."]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "screen.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_floor":
        floor_main(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare")
    run = sub.add_parser("run")
    run.add_argument("--job", choices=["model", "profile", "floor"], required=True)
    run.add_argument("--size", choices=list(SIZES), required=True)
    run.add_argument("--n-jobs", type=int, default=0)
    run.add_argument("--force", action="store_true")
    pe = sub.add_parser("peers")
    pe.add_argument("--force", action="store_true")
    kr = sub.add_parser("kill-resume")
    kr.add_argument("--kills", type=int, default=10)
    kr.add_argument("--molecules", type=int, default=20_000)
    kr.add_argument("--seed", type=int, default=0)
    sub.add_parser("report")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare()
    elif args.command == "run":
        run_job(args.job, args.size, args.n_jobs, args.force)
    elif args.command == "peers":
        peers(args.force)
    elif args.command == "kill-resume":
        kill_resume(args.kills, args.molecules, args.seed)
    else:
        report()


if __name__ == "__main__":
    main()
