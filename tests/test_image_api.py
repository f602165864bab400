"""Image classifiers over the REST API (``drugforge serve`` on localhost): inline predict with
Grad-CAM overlays equal to the CLI's, an image-train job whose model then predicts by name, and
bad requests refused with one line."""

from __future__ import annotations

import base64
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from breast_slice import train_tiny, write_breast_slice, write_pngs
from drugforge.client import ApiError, Client
from drugforge.workflows.image_apply import ImagePredictConfig, run_image_predict
from serving import ServerProcess, make_key

LEGACY = Path(__file__).parent / "fixtures" / "legacy_models"
CORRUPT = b"\x89PNG\r\n\x1a\nnot really"  # a PNG signature, then nothing a decoder can use
MAX_IMAGES = 6


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str, Path]]:
    npz = write_breast_slice(tmp_path_factory.mktemp("breast"))
    data = tmp_path_factory.mktemp("serve")
    train_tiny(npz, data / "models" / "breast")
    shutil.copytree(LEGACY / "gbm_classifier", data / "models" / "gbm-active")  # not an image model
    key = make_key(data, "alice")
    server = ServerProcess(data, "--workers", "1", "--max-molecules", str(MAX_IMAGES)).start()
    yield server, key, npz
    server.stop()


def _decoded(text: str) -> np.ndarray:
    with Image.open(io.BytesIO(base64.b64decode(text))) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def test_predict_keeps_every_image_in_order_and_equals_the_cli(
    served: tuple[ServerProcess, str, Path], tmp_path: Path
) -> None:
    server, _, npz = served
    scans = write_pngs(npz, tmp_path / "scans", 2)
    (tmp_path / "scans" / "scan-0b.png").write_bytes(CORRUPT)
    with Client(server.url) as api:  # reads are open on loopback
        rows = api.image_predict("breast", [scans[0], CORRUPT, scans[1]], saliency=True)
        listed = {m["name"]: m for m in api.models()}
    assert list(rows.columns) == ["name", "prob_0", "prob_1", "prob_std", "label", "saliency_png",
                                  "error"]  # fmt: skip
    assert rows["name"].tolist() == ["scan-0.png", "image-2", "scan-1.png"]
    bad = rows.iloc[1]
    assert bad["error"].startswith("image-2: cannot read image")
    assert pd.isna(bad["prob_1"]) and pd.isna(bad["label"]) and pd.isna(bad["saliency_png"])
    good = rows.iloc[[0, 2]]
    assert good["error"].tolist() == ["", ""] and set(good["label"]) <= {"0", "1"}
    np.testing.assert_allclose(good["prob_0"] + good["prob_1"], 1.0, atol=1e-6)
    overlays = [_decoded(text) for text in good["saliency_png"]]
    assert [o.shape for o in overlays] == [(112, 112, 3)] * 2  # 28 px, enlarged 4 times

    cli = run_image_predict(ImagePredictConfig(
        model_dir=str(server.data_dir / "models" / "breast"), input=str(tmp_path / "scans"),
        out=str(tmp_path / "cli.csv"), saliency=str(tmp_path / "sal"), quiet=True)).frame  # fmt: skip
    assert [Path(p).name for p in cli["path"]] == ["scan-0.png", "scan-0b.png", "scan-1.png"]
    assert cli["error"][1] and not cli["error"][0] and not cli["error"][2]
    np.testing.assert_allclose(good["prob_1"], cli["prob_1"][[0, 2]], rtol=1e-6)
    assert good["label"].tolist() == cli["label"][[0, 2]].tolist()
    for overlay, name in zip(overlays, cli["saliency"][[0, 2]], strict=True):
        with Image.open(tmp_path / "sal" / name) as saved:  # the CLI's overlay, to rounding
            assert np.abs(overlay.astype(int) - np.asarray(saved, dtype=int)).max() <= 1

    assert listed["breast"]["model"] == "image-classifier"
    assert listed["breast"]["input_kind"] == "images" and listed["breast"]["task"] == "classification"
    assert listed["breast"]["target_names"] == ["prob_1"]
    assert listed["gbm-active"]["input_kind"] == "molecules"
    # a molecule endpoint never takes an image model (it would open each "SMILES" as a file)
    r = httpx.post(f"{server.url}/v1/predict", json={"model": "breast", "smiles": [str(scans[0])]},
                   timeout=60)  # fmt: skip
    assert r.status_code == 400 and "takes images, not molecules" in r.json()["error"]


def test_image_train_job_saves_a_model_that_predicts(
    served: tuple[ServerProcess, str, Path], tmp_path: Path
) -> None:
    server, key, npz = served
    small = write_breast_slice(tmp_path, n_train=32, n_val=16)
    with Client(server.url, key) as api:
        data = api.upload(small)["id"]
        job = api.submit("image-train", name="breast-job", data=data, arch="resnet10",
                         max_epochs=1, device="cpu", no_tta=True)  # fmt: skip
        done = api.wait(job["id"], timeout=240, poll=0.5)
        assert done["state"] == "done", (done, api.log(job["id"]))
        assert done["counts"]["model"] == "breast-job"
        metrics = api.result(job["id"])
        assert metrics["arch"].tolist() == ["resnet10"]
        assert metrics["validation_n_images"].tolist() == [16]
        assert 0.0 <= metrics["validation_accuracy"].iloc[0] <= 1.0
        detail = api.model("breast-job")
        assert detail["input_kind"] == "images" and detail["config"]["max_epochs"] == 1
        rows = api.image_predict("breast-job", write_pngs(npz, tmp_path / "scans", 2))
    assert rows["error"].tolist() == ["", ""] and set(rows["label"]) <= {"0", "1"}
    assert "saliency_png" not in rows.columns


def test_bad_requests_are_one_line_4xx(served: tuple[ServerProcess, str, Path],
                                       tmp_path: Path) -> None:  # fmt: skip
    server, key, npz = served
    png = base64.b64encode(write_pngs(npz, tmp_path, 1)[0].read_bytes()).decode()

    def predict(body: dict[str, object]) -> httpx.Response:
        return httpx.post(f"{server.url}/v1/image/predict", json=body, timeout=60)

    refused = [(predict({"model": "nope", "images": [png]}), 404, "no model named 'nope'"),
               (predict({"model": "gbm-active", "images": [png]}), 400, "not an image model"),
               (predict({"model": "breast", "images": [png] * (MAX_IMAGES + 1)}), 413,
                f"{MAX_IMAGES + 1} images in one request; the limit is {MAX_IMAGES}"),
               (predict({"model": "../models/breast", "images": [png]}), 400, "invalid model name")]  # fmt: skip
    for r, status, message in refused:
        assert r.status_code == status and message in r.json()["error"], r.text
        assert "\n" not in r.json()["error"]
    r = predict({"model": "breast", "images": [png], "names": ["a.png", "b.png"]})
    assert r.status_code == 422 and "2 names for 1 images" in r.text
    assert predict({"model": "breast", "images": [png], "colour": "red"}).status_code == 422

    table = tmp_path / "images.csv"
    table.write_text("path,label\n/etc/hostname,0\n")  # a CSV would name the server's files
    with Client(server.url, key) as api:
        upload = api.upload(table)["id"]
        for settings, message in (
            ({"name": "x", "data": upload}, "data: an image-train job takes a MedMNIST-style .npz"),
            ({"data": upload}, "name: a train job needs the name"),
            ({"name": "x", "data": "u_0123456789abcdef"}, "u_0123456789abcdef"),
            ({"name": "x", "data": api.upload(npz)["id"], "arch": "resnet11"},
             "unknown arch 'resnet11'"),
            ({"name": "x", "data": api.upload(npz)["id"], "out": "/tmp/x"}, "set by the server"),
        ):  # fmt: skip
            with pytest.raises(ApiError) as err:
                api.submit("image-train", **settings)
            assert 400 <= err.value.status < 500 and message in err.value.message, err.value
            assert "\n" not in err.value.message
