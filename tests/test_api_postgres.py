"""The job store on PostgreSQL (a shared deployment): a real server started for the test.

Runs where PostgreSQL's server programs (``initdb``, ``pg_ctl``) and the psycopg driver are
installed (the project's test set-up installs the driver; the server comes with the machine or
Debian's ``postgresql`` package); skipped elsewhere with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drugforge.client import Client
from serving import ServerProcess, free_port


def _server_programs() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


@pytest.fixture()
def postgres(tmp_path: Path) -> Iterator[str]:
    pytest.importorskip("psycopg", reason="the psycopg driver is not installed")
    bin_dir = _server_programs()
    if bin_dir is None:
        pytest.skip("PostgreSQL's server programs (initdb) are not installed")
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        if shutil.which("runuser") is None or subprocess.run(["id", "postgres"],
                                                              capture_output=True,
                                                              check=False).returncode:
            pytest.skip("running as root without a 'postgres' user to start PostgreSQL")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="drugforge-pg-"))  # pytest's folders are root-only
    if as_user:
        shutil.chown(root, "postgres")
    port = free_port()
    subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(root / "data"), "-A", "trust",
                    "-U", "postgres"], check=True, capture_output=True)  # fmt: skip
    subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-w", "-l",
                    str(root / "log"), "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
                    "start"], check=True, capture_output=True)  # fmt: skip
    try:
        import psycopg

        for _ in range(50):
            try:
                with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres",
                                     autocommit=True) as conn:  # fmt: skip
                    conn.execute("create database drugforge")
                break
            except psycopg.OperationalError:
                time.sleep(0.2)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/drugforge"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m",
                        "fast", "stop"], capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def test_keys_and_jobs_on_postgresql(postgres: str, tmp_path: Path) -> None:
    data = tmp_path / "store"
    data.mkdir()
    key = subprocess.run([sys.executable, "-m", "drugforge", "keys", "create", "--name", "lab",
                          "--data-dir", str(data), "--database", postgres],
                         capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    library = tmp_path / "library.smi"
    library.write_text("CCO\nc1ccccc1O\nnot_a_smiles\nCC(=O)Oc1ccccc1C(=O)O\n")
    server = ServerProcess(data, "--database", postgres).start()
    try:
        with Client(server.url, key) as api:
            job = api.submit("screen", library=api.upload(library)["id"], properties=["qed"],
                             rank="qed", top=2)  # fmt: skip
            done = api.wait(job["id"], timeout=120, poll=0.2)
            assert done["state"] == "done", done
            assert done["counts"]["records"] == 4 and done["counts"]["invalid"] == 1
            assert api.result(job["id"])["smiles"].tolist() == ["CC(=O)Oc1ccccc1C(=O)O",
                                                                 "Oc1ccccc1"]  # fmt: skip
    finally:
        server.stop()
    assert not (data / "drugforge.sqlite").exists()  # the store really was PostgreSQL
