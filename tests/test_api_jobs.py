"""Jobs, uploads, keys and the server's security, against ``drugforge serve`` on localhost."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from drugforge.client import ApiError, Client
from drugforge.workflows.screen import ScreenConfig, run_screen
from serving import ServerProcess, make_key

LEGACY = Path(__file__).parent / "fixtures" / "legacy_models"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory,
           moleculenet_dir: Path) -> Iterator[tuple[ServerProcess, str, str]]:  # fmt: skip
    data = tmp_path_factory.mktemp("jobs")
    shutil.copytree(LEGACY / "gbm_classifier", data / "models" / "gbm-active")
    alice, bob = make_key(data, "alice"), make_key(data, "bob")
    server = ServerProcess(data, "--max-upload-bytes", "400000", "--max-body-bytes", "20000",
                           "--workers", "2").start()  # fmt: skip
    yield server, alice, bob
    server.stop()


@pytest.fixture(scope="module")
def library(moleculenet_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 ESOL molecules and two invalid SMILES, as a user's library file."""
    frame = pd.read_csv(moleculenet_dir / "esol.csv").head(300)
    frame.loc[len(frame)] = ["not_a_smiles", 0.0]
    frame.loc[len(frame)] = ["C1CC", 0.0]
    path = tmp_path_factory.mktemp("lib") / "library.csv"
    frame.to_csv(path, index=False)
    return path


SCREEN = {"properties": ["qed", "logp"], "filters": ["qed >= 0.3"], "rank": "qed", "top": 25,
          "chunk_size": 64}  # fmt: skip


def test_a_screen_job_runs_and_equals_the_cli(served: tuple[ServerProcess, str, str],
                                             library: Path, tmp_path: Path) -> None:  # fmt: skip
    server, alice, _ = served
    with Client(server.url, alice) as api:
        upload = api.upload(library)
        assert upload["name"] == "library.csv" and upload["bytes"] == library.stat().st_size
        job = api.submit("screen", name="esol hits", library=upload["id"], **SCREEN)
        assert job["state"] == "queued" and job["name"] == "esol hits"
        done = api.wait(job["id"], timeout=120, poll=0.3)
        assert done["state"] == "done", done
        assert done["progress"] == 1.0 and done["counts"]["records"] == 302
        assert done["counts"]["invalid"] == 2 and done["counts"]["hit"] == 25
        hits = api.result(job["id"])
        csv = pd.read_csv(api.download(job["id"], tmp_path / "hits.csv"))
        assert api.jobs()[0]["id"] == job["id"]
    expected = tmp_path / "cli.parquet"
    run_screen(ScreenConfig(library=library, out=expected, quiet=True, n_jobs=1, **SCREEN))
    pd.testing.assert_frame_equal(hits, pd.read_parquet(expected))
    assert csv["smiles"].tolist() == hits["smiles"].tolist()
    assert list(hits["rank"]) == list(range(1, 26))


def test_generate_and_train_jobs(served: tuple[ServerProcess, str, str],
                                 moleculenet_dir: Path, tmp_path: Path) -> None:  # fmt: skip
    server, alice, _ = served
    train_csv = tmp_path / "train.csv"
    pd.read_csv(moleculenet_dir / "esol.csv").head(200).to_csv(train_csv, index=False)
    with Client(server.url, alice) as api:
        gen = api.submit("generate", n=30, seed=1)
        data = api.upload(train_csv)["id"]
        train = api.submit("train", name="esol-svm", data=data, targets=["logp"], model="svm",
                           split="random", require=["rmse<=5"])  # fmt: skip
        rejected = api.submit("train", name="esol-strict", data=data, targets=["logp"],
                              model="svm", split="random", require=["rmse<=0.01"],
                              max_attempts=1, budget_minutes=0.1)  # fmt: skip
        gen_done = api.wait(gen["id"], timeout=120, poll=0.3)
        assert gen_done["state"] == "done", gen_done
        molecules = api.result(gen["id"])
        assert len(molecules) == 30 and gen_done["counts"]["sampled"] == 30
        train_done = api.wait(train["id"], timeout=240, poll=0.5)
        assert train_done["state"] == "done", (train_done, api.log(train["id"]))
        assert train_done["counts"]["accepted"] is True
        attempts = api.result(train["id"])
        assert attempts["passed"].tolist()[-1] is True or attempts["passed"].tolist()[-1] == 1
        assert "esol-svm" in [m["name"] for m in api.models()]
        predicted = api.predict("esol-svm", ["CCO", "nope"])
        assert predicted["error"].tolist()[0] == "" and predicted["error"].tolist()[1] != ""
        strict = api.wait(rejected["id"], timeout=240, poll=0.5)
        assert strict["state"] == "failed" and "requirement not met" in strict["error"]
        assert "esol-strict" not in [m["name"] for m in api.models()]
        with pytest.raises(ApiError) as taken:
            api.submit("train", name="esol-svm", data=data, targets=["logp"])
        assert taken.value.status == 400 and "already has a model" in taken.value.message


def test_cancel_stops_a_running_job(served: tuple[ServerProcess, str, str]) -> None:
    server, alice, _ = served
    with Client(server.url, alice) as api:
        job = api.submit("generate", n=200_000, batch_size=64)
        for _ in range(100):
            if api.job(job["id"])["state"] == "running":
                break
            time.sleep(0.1)
        api.cancel(job["id"])
        ended = api.wait(job["id"], timeout=60, poll=0.2)
        assert ended["state"] == "cancelled"
        with pytest.raises(ApiError) as early:
            api.result(job["id"])
        assert early.value.status == 409


@pytest.mark.parametrize(("body", "words"), [
    ({"kind": "dock"}, "unknown job kind 'dock'"),
    ({"n": 5}, "kind: give one of"),
    ({"kind": "generate", "n": 0}, "n: Input should be greater than or equal to 1"),
    ({"kind": "generate", "n": 5, "out": "/etc/passwd"}, "out: set by the server"),
    ({"kind": "screen", "library": "../../etc/passwd"}, "no upload"),
    ({"kind": "screen", "library": "u_0000000000000000"}, "no upload"),
    ({"kind": "screen", "library": "u_x", "models": ["../models/x"]}, ""),
    ({"kind": "generate", "n": 5, "model": "/tmp/evil"}, "not a generator of this server"),
    ({"kind": "train", "data": "u_x"}, "needs the name"),
    ({"kind": "train", "name": "../up", "data": "u_x"}, "invalid model name"),
])  # fmt: skip
def test_bad_job_requests_are_one_line_errors(served: tuple[ServerProcess, str, str],
                                              body: dict[str, object], words: str) -> None:  # fmt: skip
    server, alice, _ = served
    r = httpx.post(f"{server.url}/v1/jobs", json=body, headers=_bearer(alice), timeout=30)
    assert r.status_code in (400, 404), r.text
    assert words in r.json()["error"] and "\n" not in r.json()["error"]


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_keys_are_needed_checked_and_scoped(served: tuple[ServerProcess, str, str],
                                            library: Path) -> None:  # fmt: skip
    server, alice, bob = served
    url = server.url
    for method, path in (("GET", "/v1/jobs"), ("POST", "/v1/jobs"), ("GET", "/v1/jobs/j_0"),
                         ("DELETE", "/v1/jobs/j_0"), ("POST", "/v1/uploads")):  # fmt: skip
        r = httpx.request(method, f"{url}{path}", timeout=30)
        assert r.status_code == 401, (method, path, r.text)
        r = httpx.request(method, f"{url}{path}", headers=_bearer("df_kforged_secret"), timeout=30)
        assert r.status_code == 401, (method, path, r.text)
    with Client(url, alice) as a, Client(url, bob) as b:
        upload = a.upload(library)["id"]
        job = a.submit("screen", library=upload, properties=["qed"], rank="qed", top=3)
        with pytest.raises(ApiError) as foreign:  # bob may not use alice's upload
            b.submit("screen", library=upload, rank="qed")
        assert foreign.value.status == 404
        for call in (lambda: b.job(job["id"]), lambda: b.cancel(job["id"]),
                     lambda: b.result(job["id"]), lambda: b.log(job["id"])):  # fmt: skip
            with pytest.raises(ApiError) as hidden:
                call()
            assert hidden.value.status == 404
        assert job["id"] not in [j["id"] for j in b.jobs()]
        assert a.wait(job["id"], timeout=120, poll=0.3)["state"] == "done"
    # a revoked key fails at once, also where no key is needed (a key sent is always checked)
    out = subprocess.run([sys.executable, "-m", "drugforge", "keys", "list", "--data-dir",
                          str(server.data_dir)], capture_output=True, text=True, check=True)  # fmt: skip
    bob_id = next(line.split()[0] for line in out.stdout.splitlines() if " bob " in line)
    subprocess.run([sys.executable, "-m", "drugforge", "keys", "revoke", bob_id, "--data-dir",
                    str(server.data_dir)], check=True, capture_output=True)  # fmt: skip
    for path in ("/v1/jobs", "/v1/models"):
        r = httpx.get(f"{url}{path}", headers=_bearer(bob), timeout=30)
        assert r.status_code == 401 and "revoked" in r.json()["error"]
    assert httpx.get(f"{url}/v1/models", timeout=30).status_code == 200  # open read, loopback


def test_uploads_are_limited_and_names_never_paths(served: tuple[ServerProcess, str, str],
                                                   tmp_path: Path) -> None:  # fmt: skip
    server, alice, _ = served
    url, headers = server.url, _bearer(alice)
    big = b"C" * 400_001
    r = httpx.post(f"{url}/v1/uploads", files={"file": ("big.smi", big)}, headers=headers,
                   timeout=30)  # fmt: skip
    assert r.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams
        for _ in range(30):
            yield b"x" * 1000

    r = httpx.post(f"{url}/v1/jobs", content=chunks(), headers={**headers,
                   "Content-Type": "application/json"}, timeout=30)  # fmt: skip
    assert r.status_code == 413, r.text
    for evil in ("../../escape.csv", "..", ".hidden", "a/b.csv", "x\\..\\y.csv"):
        r = httpx.post(f"{url}/v1/uploads", files={"file": (evil, b"CCO\n")}, headers=headers,
                       timeout=30)  # fmt: skip
        if r.status_code == 201:  # the base name only, checked, inside the upload's folder
            stored = list((server.data_dir / "uploads" / r.json()["id"]).iterdir())
            assert [p.name for p in stored] == [r.json()["name"]] and ".." not in r.json()["name"]
        else:
            assert r.status_code == 400 and "invalid file name" in r.json()["error"]
    assert not (server.data_dir.parent / "escape.csv").exists()
    r = httpx.post(f"{url}/v1/uploads", files={"file": ("empty.csv", b"")}, headers=headers,
                   timeout=30)  # fmt: skip
    assert r.status_code == 400 and "empty" in r.json()["error"]


def test_rate_limit_and_closed_reads(tmp_path: Path) -> None:
    key = make_key(tmp_path, "burst")
    server = ServerProcess(tmp_path, "--rate-limit", "5", "--no-open-reads").start()
    try:
        assert httpx.get(f"{server.url}/v1/models", timeout=30).status_code == 401
        codes = [httpx.get(f"{server.url}/v1/models", headers=_bearer(key), timeout=30)
                 for _ in range(8)]  # fmt: skip
        assert [c.status_code for c in codes[:5]] == [200] * 5
        assert codes[-1].status_code == 429 and int(codes[-1].headers["Retry-After"]) >= 1
    finally:
        server.stop()


def test_optimize_job_writes_its_top_molecules(served: tuple[ServerProcess, str, str]) -> None:
    server, alice, _ = served
    with Client(server.url, alice) as api:
        job = api.submit("optimize", objective={"components": [{"kind": "qed"}]}, steps=3,
                         batch_size=16, top=10, seed=0)  # fmt: skip
        done = api.wait(job["id"], timeout=180, poll=0.3)
        assert done["state"] == "done", (done, api.log(job["id"]))
        top = api.result(job["id"])
        assert 0 < len(top) <= 10 and top["smiles"].notna().all()


def test_job_configs_are_the_workflows_own_with_server_paths(tmp_path: Path) -> None:
    from drugforge.api.jobspecs import build_config
    from drugforge.api.settings import ServerSettings

    settings = ServerSettings(data_dir=str(tmp_path), ray_address="ray://head:10001")
    upload = tmp_path / "uploads" / "u_1" / "lib.csv"

    def resolve(upload_id: str) -> Path:
        assert upload_id == "u_1"
        return upload

    config = build_config("screen", {"library": "u_1", "rank": "qed"}, tmp_path / "jobs" / "j",
                          settings, resolve)  # fmt: skip
    assert isinstance(config, ScreenConfig)
    assert config.library == upload and config.out == tmp_path / "jobs" / "j" / "hits.parquet"
    assert config.engine == "ray" and config.address == "ray://head:10001" and config.resume
    with pytest.raises(Exception, match="no model named 'x'"):
        build_config("screen", {"library": "u_1", "models": ["col=x"]}, tmp_path, settings,
                     resolve)  # fmt: skip


def test_a_models_report_with_its_plots(served: tuple[ServerProcess, str, str]) -> None:
    server, _, _ = served
    detail = httpx.get(f"{server.url}/v1/models/gbm-active", timeout=30).json()
    assert detail["report_html"] == "/v1/models/gbm-active/report"
    r = httpx.get(f"{server.url}{detail['report_html']}", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "data:image/png;base64," in r.text and "sandbox" in r.headers["content-security-policy"]
    assert httpx.get(f"{server.url}/v1/models/..%2Fgbm-active/report", timeout=30).status_code in (400, 404)


def test_depictions_are_key_checked_but_not_rate_limited(tmp_path: Path) -> None:
    key = make_key(tmp_path, "viewer")
    server = ServerProcess(tmp_path, "--rate-limit", "2", "--no-open-reads").start()
    try:
        url = f"{server.url}/v1/depict"
        assert httpx.get(url, params={"smiles": "CCO"}, timeout=30).status_code == 401
        codes = {httpx.get(url, params={"smiles": "CCO"}, headers=_bearer(key),
                           timeout=30).status_code for _ in range(6)}  # fmt: skip
        assert codes == {200}
        assert httpx.get(f"{server.url}/v1/models", headers=_bearer(key), timeout=30).status_code == 200
    finally:
        server.stop()
