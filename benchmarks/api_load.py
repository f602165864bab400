"""Load on ``POST /v1/profile``: many clients at once, against the CLI on the same molecules.

    python benchmarks/api_load.py                       # 50 clients x 100 SMILES x 60 s, 3 seeds
    python benchmarks/api_load.py --clients 10 --seconds 20 --seeds 0   # a quick look

Per seed: a fresh ``drugforge serve`` (its own process, default settings but for the rate limit,
raised so that the load is not refused) and ``--clients`` concurrent HTTP clients, each sending
batches of ``--batch`` SMILES drawn from the MOSES test set (the ``molsets`` package) for
``--seconds``. Reported: requests and molecules per second, latency percentiles, errors (any
non-200 or a row count that differs from the batch), and, while the load runs, the latency of a
light request (``GET /v1/models``, once a second) which must stay short. Every answered row of a
sample of responses is compared with ``drugforge profile`` (the CLI) run on the same SMILES: the
number of rows that differ in any column is reported. The CLI's own throughput on
``--cli-molecules`` molecules (wall clock, start-up included) gives the API/CLI ratio, default
``--n-jobs`` and ``--n-jobs 1``.

Writes ``results/api_load/api_load.json`` and ``results/api_load/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from common import RESULTS, machine, mean_sd, store
from profile_speed import moses_test_smiles

OUT = RESULTS / "api_load"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path, max_molecules: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = open(data_dir / "server.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "drugforge", "serve", "--data-dir", str(data_dir), "--port",
         str(port), "--rate-limit", "1000000", "--max-molecules", str(max_molecules)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"drugforge serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("drugforge serve did not answer")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def load(url: str, pool: list[str], args: argparse.Namespace, seed: int) -> dict[str, Any]:
    deadline = time.monotonic() + args.seconds
    latencies: list[float] = []
    light: list[float] = []
    errors: list[str] = []
    samples: list[tuple[list[str], list[dict[str, Any]]]] = []
    limits = httpx.Limits(max_connections=args.clients + 2)
    timeout = httpx.Timeout(600.0)

    async def client(index: int, http: httpx.AsyncClient) -> int:
        rng = random.Random(seed * 10_000 + index)
        molecules = 0
        while time.monotonic() < deadline:
            batch = rng.sample(pool, args.batch)
            started = time.perf_counter()
            try:
                response = await http.post(f"{url}/v1/profile", json={"smiles": batch})
            except httpx.HTTPError as err:
                errors.append(f"{type(err).__name__}: {err}")
                continue
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                errors.append(f"{response.status_code}: {response.text[:200]}")
                continue
            rows = response.json()["rows"]
            if len(rows) != len(batch) or [r["smiles"] for r in rows] != batch:
                errors.append("rows differ from the batch sent")
                continue
            molecules += len(rows)
            if rng.random() < args.sample:
                samples.append((batch, rows))
        return molecules

    async def probe(http: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = await http.get(f"{url}/v1/models")
            if response.status_code == 200:
                light.append(time.perf_counter() - started)
            else:
                errors.append(f"GET /v1/models {response.status_code}")
            await asyncio.sleep(1.0)

    async with httpx.AsyncClient(limits=limits, timeout=timeout) as http:
        started = time.perf_counter()
        done = await asyncio.gather(*(client(i, http) for i in range(args.clients)), probe(http))
        wall = time.perf_counter() - started
    molecules = int(sum(d for d in done if isinstance(d, int)))
    lat = np.array(latencies) if latencies else np.array([math.nan])
    return {
        "seed": seed,
        "wall_s": round(wall, 2),
        "requests": len(latencies),
        "molecules": molecules,
        "req_per_s": round(len(latencies) / wall, 3),
        "mol_per_s": round(molecules / wall, 1),
        "latency_s": {f"p{q}": round(float(np.percentile(lat, q)), 3) for q in (50, 95, 99)},
        "errors": len(errors),
        "error_examples": errors[:5],
        "light_get_models_s": {
            "n": len(light),
            "p50": round(float(np.median(light)), 3) if light else None,
            "max": round(float(np.max(light)), 3) if light else None,
        },
        "samples": samples,
    }


def _same(api: Any, cli: Any) -> bool:
    if api is None or (isinstance(api, float) and math.isnan(api)):
        return cli is None or (isinstance(cli, float) and math.isnan(cli)) or cli == ""
    if isinstance(api, bool) or isinstance(cli, bool):
        return float(api) == float(cli)
    if isinstance(api, (int, float)):
        try:
            return math.isclose(float(api), float(cli), rel_tol=1e-9, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return str(api) == ("" if cli is None or (isinstance(cli, float) and math.isnan(cli))
                        else str(cli))  # fmt: skip


def compare_with_cli(samples: list[tuple[list[str], list[dict[str, Any]]]], work: Path) -> dict:
    rows = [row for _, batch_rows in samples for row in batch_rows]
    if not rows:
        return {"rows_compared": 0, "rows_differ": 0}
    smiles = [row["smiles"] for row in rows]
    src, out = work / "sampled.csv", work / "sampled_profile.csv"
    pd.DataFrame({"smiles": smiles}).to_csv(src, index=False)
    subprocess.run([sys.executable, "-m", "drugforge", "profile", str(src), "--out", str(out),
                    "--quiet", "--force", "--n-jobs", "1"], check=True)  # fmt: skip
    cli = pd.read_csv(out, keep_default_na=False, na_values=[""])
    records = cli.to_dict(orient="records")
    differ, columns_differ = 0, set()
    for api_row, cli_row in zip(rows, records, strict=True):
        bad = [c for c in api_row if c in cli_row and not _same(api_row[c], cli_row[c])]
        missing = [c for c in api_row if c not in cli_row]
        if bad or missing:
            differ += 1
            columns_differ.update(bad + missing)
    return {"rows_compared": len(rows), "rows_differ": differ,
            "columns_differ": sorted(columns_differ)}  # fmt: skip


def cli_rate(pool: list[str], n: int, n_jobs: int | None, work: Path) -> float:
    src, out = work / "cli.csv", work / "cli_profile.csv"
    pd.DataFrame({"smiles": pool[:n]}).to_csv(src, index=False)
    cmd = [sys.executable, "-m", "drugforge", "profile", str(src), "--out", str(out), "--quiet",
           "--force"]  # fmt: skip
    if n_jobs is not None:
        cmd += ["--n-jobs", str(n_jobs)]
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    return n / (time.perf_counter() - started)


def report(result: dict[str, Any]) -> str:
    runs, cli = result["runs"], result["cli"]
    def ms(key: str) -> str:
        return mean_sd([r[key] for r in runs])
    def lat(q: str) -> str:
        return mean_sd([r["latency_s"][q] for r in runs])
    api = np.array([r["mol_per_s"] for r in runs])
    a = result["args"]
    lines = [
        (f"Command: `python benchmarks/api_load.py --clients {a['clients']} --batch {a['batch']} "
        f"--seconds {a['seconds']} --seeds {','.join(map(str, a['seeds']))}`; machine: "
        f"{result['machine']['cpus']} cores ({result['machine']['cpu']}), commit "
        f"{result['machine']['commit']}. {a['clients']} concurrent clients each send batches of "
        f"{a['batch']} MOSES test SMILES to `POST /v1/profile` (full profile: panel and "
        "percentiles) for the whole window; clients and server share the same cores."),
        "",
        "| measure | mean ± sd over seeds |",
        "|---|---|",
        f"| requests per second | {ms('req_per_s')} |",
        f"| molecules per second through the API | {ms('mol_per_s')} |",
        f"| latency p50 / p95 / p99 (s) | {lat('p50')} / {lat('p95')} / {lat('p99')} |",
        (f"| errors (non-200, wrong rows) | {sum(r['errors'] for r in runs)} in "
         f"{sum(r['requests'] for r in runs)} requests |"),
        (f"| `GET /v1/models` during the load, p50 / max (s) | "
         f"{mean_sd([r['light_get_models_s']['p50'] for r in runs])} / "
         f"{mean_sd([r['light_get_models_s']['max'] for r in runs])} |"),
        (f"| sampled API rows that differ from `drugforge profile` | "
         f"{sum(r['check']['rows_differ'] for r in runs)} of "
         f"{sum(r['check']['rows_compared'] for r in runs)} |"),
    ]
    for label, key in (("default `--n-jobs`", "default"), ("`--n-jobs 1`", "n_jobs_1")):
        rates = np.array(cli[key])
        ratio = api / rates[: len(api)] if len(rates) >= len(api) else api / rates.mean()
        lines.append(f"| `drugforge profile` on {a['cli_molecules']:,} molecules, {label} "
                     f"(mol/s, start-up included) | {mean_sd(list(rates))} |")  # fmt: skip
        lines.append(f"| API / CLI, {label} | {mean_sd(list(ratio))} |")
    return "# API load\n\n" + "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--sample", type=float, default=0.25,
                        help="share of responses whose rows are checked against the CLI")
    parser.add_argument("--cli-molecules", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    pool = moses_test_smiles(20_000, seed=12345)
    runs, cli = [], {"default": [], "n_jobs_1": []}
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            proc, url = start_server(work, max(args.batch, 1000))
            try:
                httpx.post(f"{url}/v1/profile", json={"smiles": pool[:10]}, timeout=600)  # warm
                run = asyncio.run(load(url, pool, args, seed))
            finally:
                stop_server(proc)
            run["check"] = compare_with_cli(run.pop("samples"), work)
            print(json.dumps({k: v for k, v in run.items()}), flush=True)
            runs.append(run)
            cli["default"].append(round(cli_rate(pool, args.cli_molecules, None, work), 1))
            cli["n_jobs_1"].append(round(cli_rate(pool, args.cli_molecules, 1, work), 1))
            print(json.dumps(cli), flush=True)
    result = {"args": {**vars(args), "seeds": seeds, "out": str(args.out)}, "machine": machine(),
              "load_average_at_end": os.getloadavg(), "runs": runs, "cli": cli}  # fmt: skip
    store(args.out / "api_load.json", result)
    (args.out / "README.md").write_text(report(result))
    print((args.out / "README.md").read_text())


if __name__ == "__main__":
    main()
