"""The REST API against a real server on localhost (uvicorn in a thread), over HTTP."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pandas as pd
import pytest
import uvicorn

from drugforge.api.app import create_app
from drugforge.api.settings import ServerSettings
from drugforge.workflows.predict import PredictConfig, run_predict

LEGACY = Path(__file__).parent / "fixtures" / "legacy_models"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("serve")
    shutil.copytree(LEGACY / "gbm_classifier", data / "models" / "gbm-active")
    settings = ServerSettings(port=_free_port(), data_dir=str(data), max_molecules=50,
                              max_body_bytes=20_000)  # fmt: skip
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.port,
                            log_level="warning")  # fmt: skip
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{settings.port}"
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    yield url, data
    srv.should_exit = True
    thread.join(timeout=10)


def test_profile_keeps_every_row_in_order_with_errors_in_place(server: tuple[str, Path]) -> None:
    url, _ = server
    smiles = ["CCO", "not a smiles", "c1ccccc1O", ""]
    r = httpx.post(f"{url}/v1/profile", json={"smiles": smiles, "panel": False}, timeout=60)
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert [row["smiles"] for row in rows] == smiles
    assert rows[0]["error"] == "" and rows[0]["mw"] == pytest.approx(46.069, abs=1e-3)
    assert rows[1]["error"] and rows[1]["mw"] is None  # flagged in place, never a failed request
    assert rows[3]["error"]


def test_predict_equals_the_cli_for_the_same_model(server: tuple[str, Path],
                                                   tmp_path: Path) -> None:  # fmt: skip
    url, data = server
    smiles = ["CCO", "c1ccccc1C(=O)O", "C1CC", "CC(=O)Nc1ccc(O)cc1"]
    r = httpx.post(f"{url}/v1/predict", json={"model": "gbm-active", "smiles": smiles}, timeout=60)
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    query = tmp_path / "q.csv"
    pd.DataFrame({"smiles": smiles}).to_csv(query, index=False)
    cli = run_predict(PredictConfig(model_dir=str(data / "models" / "gbm-active"),
                                    input=str(query), out=str(tmp_path / "p.csv"), quiet=True))
    expected = cli.frame
    assert [row["error"] for row in rows] == expected["error"].tolist()
    for row, (_, want) in zip(rows, expected.iterrows(), strict=True):
        if want["error"]:
            assert row["active"] is None
        else:
            assert row["active"] == pytest.approx(want["active"], rel=1e-12)
            assert row["active_std"] == pytest.approx(want["active_std"], rel=1e-12)


def test_models_are_listed_and_described(server: tuple[str, Path]) -> None:
    url, _ = server
    listed = httpx.get(f"{url}/v1/models", timeout=30).json()["models"]
    assert [m["name"] for m in listed] == ["gbm-active"]
    assert listed[0]["model"] == "gbm" and listed[0]["target_names"] == ["active"]
    detail = httpx.get(f"{url}/v1/models/gbm-active", timeout=30).json()
    assert "roc_auc" in detail["test_metrics"] and detail["report_md"]


@pytest.mark.parametrize("name", ["../models/gbm-active", "..", ".hidden", "gbm-active/..",
                                  "%2e%2e", "no-such-model"])
def test_model_names_never_reach_the_file_system_unchecked(server: tuple[str, Path],
                                                          name: str) -> None:  # fmt: skip
    url, _ = server
    r = httpx.post(f"{url}/v1/predict", json={"model": name, "smiles": ["CCO"]}, timeout=30)
    assert r.status_code in (400, 404), r.text
    assert "error" in r.json()
    # the name as one path segment ('/' encoded), so the client cannot normalize it away
    r = httpx.get(f"{url}/v1/models/{quote(name, safe='')}", timeout=30)
    assert r.status_code in (400, 404), r.text


def test_limits_and_bad_bodies(server: tuple[str, Path]) -> None:
    url, _ = server
    r = httpx.post(f"{url}/v1/profile", json={"smiles": ["C"] * 51}, timeout=30)
    assert r.status_code == 413 and "limit is 50" in r.json()["error"]
    r = httpx.post(f"{url}/v1/profile", json={"smiles": ["C" * 100] * 300}, timeout=30)
    assert r.status_code == 413  # body over 20,000 bytes
    r = httpx.post(f"{url}/v1/profile", json={"smiles": ["CCO"], "colour": "red"}, timeout=30)
    assert r.status_code == 422 and "colour" in r.text  # extra="forbid", as in the CLI configs
    r = httpx.post(f"{url}/v1/profile", content=b"{not json", timeout=30,
                   headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 422


def test_openapi_schema_lists_the_endpoints(server: tuple[str, Path]) -> None:
    url, _ = server
    schema = httpx.get(f"{url}/openapi.json", timeout=30).json()
    assert {"/v1/profile", "/v1/predict", "/v1/models", "/v1/models/{name}"} <= set(schema["paths"])


def test_drugforge_serve_command_starts_the_server(tmp_path: Path) -> None:
    """``drugforge serve`` as a user runs it: a process on localhost answering the API."""
    import subprocess
    import sys

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "drugforge", "serve", "--port", str(port),
                             "--data-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{url}/v1/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(f"{url}/v1/models", timeout=5).json() == {"models": []}
        r = httpx.post(f"{url}/v1/profile", json={"smiles": ["CCO"], "panel": False}, timeout=60)
        assert r.status_code == 200 and r.json()["rows"][0]["error"] == ""
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_python_client_reaches_every_endpoint(server: tuple[str, Path]) -> None:
    from drugforge.client import ApiError, Client

    url, _ = server
    with Client(url) as api:
        frame = api.profile(["CCO", "C1CC"], panel=False)
        assert frame["smiles"].tolist() == ["CCO", "C1CC"]
        assert frame["error"].tolist()[0] == "" and frame["error"].tolist()[1]
        pred = api.predict("gbm-active", ["CCO", "xx"])
        assert list(pred.columns) == ["smiles", "active", "active_std", "error"]
        assert pred["error"].tolist() == ["", "invalid SMILES"]
        assert [m["name"] for m in api.models()] == ["gbm-active"]
        assert api.model("gbm-active")["task"] == "classification"
        with pytest.raises(ApiError) as err:
            api.predict("../etc", ["CCO"])
        assert err.value.status == 400 and "invalid model name" in err.value.message
        with pytest.raises(ApiError) as err:
            api.profile(["C"] * 51)
        assert err.value.status == 413


def test_a_model_changed_on_disk_is_verified_again(server: tuple[str, Path]) -> None:
    """The server reuses a loaded model only while its files are unchanged."""
    url, data = server
    shutil.copytree(LEGACY / "gbm_classifier", data / "models" / "tampered")
    body = {"model": "tampered", "smiles": ["CCO"]}
    assert httpx.post(f"{url}/v1/predict", json=body, timeout=60).status_code == 200
    with (data / "models" / "tampered" / "model.json").open("a") as fh:
        fh.write(" ")
    r = httpx.post(f"{url}/v1/predict", json=body, timeout=60)
    assert r.status_code == 400 and "checksum mismatch for model.json" in r.json()["error"]
    shutil.rmtree(data / "models" / "tampered")
