"""Image classifiers: architectures, augmentation, threshold, Grad-CAM, artifacts, catalog, CLI.

Real data: BreastMNIST's official train/val images from ../shared/data/imaging (small slices, so
that the suite stays fast on 2 CPU cores).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from cli_helpers import one_line_error, run
from conftest import SHARED_DATA
from drugforge.core.artifacts import load_model
from drugforge.core.errors import InputError
from drugforge.imaging.augment import AugmentConfig, augment_batch, tta_views
from drugforge.imaging.catalog import medmnist_info, resolve_medmnist
from drugforge.imaging.classifier import ImageClassifier, best_threshold
from drugforge.imaging.gradcam import grad_cam, occlusion_check
from drugforge.imaging.models import ARCHS, build_arch

IMAGING = SHARED_DATA / "imaging"
BREAST = IMAGING / "breastmnist_trainval.npz"


@pytest.fixture(scope="module")
def breast() -> dict[str, np.ndarray]:
    if not BREAST.is_file():
        pytest.skip(f"shared data not found at {BREAST}")
    with np.load(BREAST) as npz:
        return {k: npz[k] for k in npz.files}


def _balanced(images: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n/2 images of each class, interleaved (labels (N,))."""
    y = labels.reshape(-1)
    rows = np.stack([np.flatnonzero(y == c)[: n // 2] for c in (0, 1)], axis=1).reshape(-1)
    return images[rows], y[rows]


# ---------------------------------------------------------------------------- architectures
@pytest.mark.parametrize("name", sorted(ARCHS))
def test_every_arch_maps_images_to_logits_and_names_its_cam_layer(name: str) -> None:
    for size, channels in ((28, 1), (64, 3)):
        net = build_arch(name, in_channels=channels, n_classes=3, image_size=size, dropout=0.0)
        net.eval()
        x = torch.rand(2, channels, size, size)
        assert net(x).shape == (2, 3)
        cams = grad_cam([net], x, [0, 2])
        assert cams.shape == (2, size, size)
        assert np.all(cams >= 0) and np.all(cams <= 1 + 1e-6)


def test_unknown_arch_is_named_with_choices() -> None:
    with pytest.raises(ValueError, match="unknown arch 'resnet81'.*did you mean 'resnet18'"):
        build_arch("resnet81", in_channels=1, n_classes=2, image_size=28, dropout=0.0)


def test_augmentation_keeps_shape_and_range_and_follows_the_seed() -> None:
    x = torch.rand(16, 1, 28, 28)
    torch.manual_seed(3)
    a = augment_batch(x, AugmentConfig())
    torch.manual_seed(3)
    b = augment_batch(x, AugmentConfig())
    assert a.shape == x.shape and torch.equal(a, b)
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert not torch.allclose(a, x)
    off = AugmentConfig(hflip=False, rotate_deg=0, scale=0, translate=0, brightness=0,
                        contrast=0, gamma=0)  # fmt: skip
    assert torch.allclose(augment_batch(x, off), x)
    views = tta_views(x)
    assert len(views) == 2 and torch.equal(views[1], x.flip(-1))


def test_threshold_maximizes_balanced_accuracy() -> None:
    y = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.7, 0.6, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99])
    t = best_threshold(y, p)
    # cutting between 0.7 and 0.75 misclassifies one positive (0.6) and no negative... or
    # between 0.2 and 0.6 misclassifies one negative (0.7): balanced accuracies 13/14 and 5/6
    assert t == pytest.approx(0.725)
    assert best_threshold(np.ones(4), np.linspace(0, 1, 4)) == 0.5


# ---------------------------------------------------------------------------- training
@pytest.mark.parametrize("arch", ["resnet10", "vit"])
def test_a_network_overfits_32_images(arch: str, breast: dict[str, np.ndarray]) -> None:
    x, y = _balanced(breast["train_images"], breast["train_labels"], 32)
    model = ImageClassifier(arch=arch, max_epochs=60, patience=60, batch_size=16, lr=3e-3,
                            augment=False, tta=False, dropout=0.0, device="cpu", seed=0)  # fmt: skip
    model.fit(x, y, x, y)
    probs, pred = model.predict_classes(x)
    assert (pred == y).mean() == 1.0, (pred, y)
    assert probs.shape == (32, 2) and np.allclose(probs.sum(axis=1), 1.0)


@pytest.fixture(scope="module")
def small_model(breast: dict[str, np.ndarray]) -> ImageClassifier:
    x, y = _balanced(breast["train_images"], breast["train_labels"], 64)
    xv, yv = breast["val_images"][:32], breast["val_labels"][:32]
    return ImageClassifier(arch="resnet10", max_epochs=2, batch_size=32, n_members=2,
                           device="cpu", seed=1).fit(x, y, xv, yv)  # fmt: skip


def test_ensemble_and_tta_give_a_spread_and_a_saved_threshold(small_model: ImageClassifier,
                                                               breast: dict[str, np.ndarray]) -> None:  # fmt: skip
    mean, std = small_model.predict_dist(list(breast["val_images"][:8]))
    assert mean.shape == (8, 1) and std is not None and std.shape == (8, 1)
    assert np.all(std > 0)  # 2 members x 2 views never agree to the last bit
    assert 0.0 < small_model.threshold_ < 1.0
    assert len(small_model.history_) == 2


def test_saved_model_round_trip_predicts_identically(tmp_path: Path,
                                                     small_model: ImageClassifier,
                                                     breast: dict[str, np.ndarray]) -> None:  # fmt: skip
    from drugforge.core.artifacts import save_model

    save_model(tmp_path / "m", small_model, task="classification", target_names=["prob_1"],
               standardizer={"size": 28, "channels": 1}, data_hash="x")  # fmt: skip
    loaded = load_model(tmp_path / "m")
    images = breast["val_images"][:10]
    before = small_model.predict_dist(images)[0]
    after = loaded.predict(list(images)).mean
    np.testing.assert_array_equal(before, after)
    assert loaded.model.threshold_ == small_model.threshold_


def test_grad_cam_points_where_the_evidence_is() -> None:
    """A network that detects a bright square: its map must peak on the square, and graying
    out the salient pixels must lower the probability more than graying out random ones."""
    rng = np.random.default_rng(0)
    n = 96
    images = (rng.random((n, 28, 28)) * 60).astype(np.uint8)
    labels = np.arange(n) % 2
    corners = rng.integers(2, 20, size=(n, 2))
    for i in np.flatnonzero(labels == 1):
        r, c = corners[i]
        images[i, r : r + 6, c : c + 6] = 255
    model = ImageClassifier(arch="resnet10", max_epochs=15, patience=15, batch_size=32,
                            augment=False, tta=False, device="cpu", seed=0)  # fmt: skip
    model.fit(images, labels, images, labels)
    pos = np.flatnonzero(labels == 1)[:12]
    prepared = images[pos][:, None]
    cams = grad_cam(model.members_, model.normalize(prepared), np.ones(len(pos), dtype=int))
    hits = 0
    for k, i in enumerate(pos):
        r, c = divmod(int(np.argmax(cams[k])), 28)
        r0, c0 = corners[i]
        hits += (r0 - 3 <= r <= r0 + 8) and (c0 - 3 <= c <= c0 + 8)
    assert hits >= 10, hits
    check = occlusion_check(lambda im: model._probs(im), prepared, cams,
                            np.ones(len(pos), dtype=int), fraction=0.06)  # fmt: skip
    assert check["drop_salient"] > check["drop_random"] + 0.1, check


# ---------------------------------------------------------------------------- catalog
def test_catalog_finds_the_shared_file_and_refuses_offline(tmp_path: Path) -> None:
    if not BREAST.is_file():
        pytest.skip("shared data missing")
    assert resolve_medmnist("BreastMNIST", mirror=IMAGING) == BREAST
    assert medmnist_info("medmnist/pneumoniamnist").n_images == (4708, 524, 624)
    with pytest.raises(InputError, match="not found offline.*zenodo.org/records/10519652/files/"
                                         "dermamnist_64.npz"):
        resolve_medmnist("dermamnist", 64, mirror=tmp_path, cache_dir=tmp_path / "c",
                         offline=True)  # fmt: skip
    with pytest.raises(InputError, match="did you mean 'breastmnist'"):
        medmnist_info("breastmnst")


def test_catalog_download_is_cached_and_md5_checked(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    payload = io.BytesIO()
    np.savez(payload, train_images=np.zeros((2, 28, 28), np.uint8), train_labels=np.zeros((2, 1)))
    calls: list[str] = []

    def fake(request: urllib.request.Request, timeout: float) -> Any:
        calls.append(request.full_url)
        return io.BytesIO(payload.getvalue())

    monkeypatch.setattr(urllib.request, "urlopen", fake)
    path = resolve_medmnist("breastmnist", cache_dir=tmp_path, offline=False)  # no md5 on record
    assert path == tmp_path / "medmnist" / "breastmnist.npz" and len(calls) == 1
    assert resolve_medmnist("breastmnist", cache_dir=tmp_path, offline=False) == path
    assert len(calls) == 1  # a cache hit
    assert hashlib.md5(payload.getvalue()).hexdigest() != medmnist_info("pneumoniamnist").md5_28
    with pytest.raises(InputError, match="does not match its published MD5"):
        resolve_medmnist("pneumoniamnist", cache_dir=tmp_path, offline=False)
    assert not (tmp_path / "medmnist" / "pneumoniamnist.npz").exists()


# ---------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def small_npz(tmp_path_factory: pytest.TempPathFactory, breast: dict[str, np.ndarray]) -> Path:
    x, y = _balanced(breast["train_images"], breast["train_labels"], 96)
    path = tmp_path_factory.mktemp("img") / "small.npz"
    np.savez(path, train_images=x, train_labels=y[:, None],
             val_images=breast["val_images"][:40], val_labels=breast["val_labels"][:40],
             test_images=breast["val_images"][40:], test_labels=breast["val_labels"][40:])  # fmt: skip
    return path


@pytest.fixture(scope="module")
def trained_dir(small_npz: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from drugforge.cli import main

    out = tmp_path_factory.mktemp("imgmodel") / "model"
    code = main(["image", "train", str(small_npz), "--arch", "auto", "--auto-pool",
                 "resnet10,vit", "--max-epochs", "2", "--device", "cpu", "--quiet",
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    return out


def test_cli_train_reports_validation_and_test_and_saves(trained_dir: Path) -> None:
    metrics = json.loads((trained_dir / "metrics.json").read_text())
    assert metrics["data"]["train"] == 96 and metrics["data"]["validation"] == 40
    assert metrics["test"]["n_images"] == 38
    assert [c["arch"] for c in metrics["auto"]] == ["resnet10", "vit"]
    best = max(metrics["auto"], key=lambda c: c["val_roc_auc"])["arch"]
    assert json.loads((trained_dir / "config.json").read_text())["resolved_arch"] == best
    manifest = json.loads((trained_dir / "manifest.json").read_text())
    assert manifest["target_names"] == ["prob_1"]
    assert manifest["standardizer"] == {"size": 28, "channels": 1}


def test_cli_predict_keeps_a_corrupt_png_as_an_error_row(tmp_path: Path, trained_dir: Path,
                                                         breast: dict[str, np.ndarray],
                                                         capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(breast["val_images"][i]).resize((56, 56)).save(folder / f"a{i}.png")
    (folder / "a1b_broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    out = tmp_path / "pred.csv"
    code, _, err = run(["image", "predict", str(trained_dir), str(folder), "--out", str(out),
                        "--saliency", str(tmp_path / "sal"), "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [Path(r["path"]).name for r in rows] == ["a0.png", "a1.png", "a1b_broken.png", "a2.png"]
    assert list(rows[0]) == ["path", "prob_0", "prob_1", "prob_std", "label", "saliency", "error"]
    bad = rows[2]
    assert bad["error"] and "a1b_broken.png" in bad["error"] and bad["prob_1"] == ""
    for r in (rows[0], rows[1], rows[3]):
        assert r["error"] == ""
        assert float(r["prob_0"]) + float(r["prob_1"]) == pytest.approx(1.0)
        assert r["label"] in ("0", "1")
        with Image.open(tmp_path / "sal" / r["saliency"]) as overlay:
            assert overlay.size == (112, 112) and overlay.mode == "RGB"  # 28 px x 4
    assert len(list((tmp_path / "sal").iterdir())) == 3


def test_cli_predict_matches_the_python_api(tmp_path: Path, trained_dir: Path, small_npz: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / "pred.csv"
    code, _, err = run(["image", "predict", str(trained_dir), str(small_npz), "--part", "val",
                        "--out", str(out), "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["index"] for r in rows] == [str(i) for i in range(40)]
    assert "label_measured" in rows[0]
    with np.load(small_npz) as npz:
        api = load_model(trained_dir).predict(list(npz["val_images"])).mean[:, 0]
    np.testing.assert_allclose([float(r["prob_1"]) for r in rows], api, rtol=1e-6)


def test_cli_evaluate_scores_the_test_part_and_writes_a_report(tmp_path: Path, trained_dir: Path,
                                                               small_npz: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    code, out, err = run(["image", "evaluate", str(trained_dir), str(small_npz), "--out",
                          str(tmp_path / "rep"), "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    saved = json.loads((trained_dir / "metrics.json").read_text())["test"]
    assert result["n_images"] == 38 and "test part" in result["data"]
    assert result["roc_auc"] == pytest.approx(saved["roc_auc"])
    assert result["accuracy"] == pytest.approx(saved["accuracy"])
    assert {p.name for p in (tmp_path / "rep").iterdir()} == {"metrics.json", "report.md",
                                                              "roc.png"}  # fmt: skip


def test_cli_train_errors_are_one_line(tmp_path: Path, small_npz: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    folder = tmp_path / "classes"
    (folder / "normal").mkdir(parents=True)
    (folder / "tumour").mkdir()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(folder / "normal" / "n1.png")
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(folder / "tumour" / "t1.png")
    (folder / "tumour" / "t2.png").write_bytes(b"garbage")
    code, _, err = run(["image", "train", str(folder), "--out", str(tmp_path / "m"), "--quiet"],
                       capsys)  # fmt: skip
    one_line_error(code, err, "t2.png")
    code, _, err = run(["image", "train", str(small_npz), "--require", "rmse<=1", "--out",
                        str(tmp_path / "m2"), "--quiet"], capsys)  # fmt: skip
    one_line_error(code, err, "rmse")
    code, _, err = run(["image", "train", str(tmp_path / "nothing.npz"), "--out",
                        str(tmp_path / "m3"), "--quiet"], capsys)  # fmt: skip
    one_line_error(code, err, "nothing.npz")


def test_cli_gate_rejects_and_saves_nothing(tmp_path: Path, small_npz: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    code, _, err = run(["image", "train", str(small_npz), "--arch", "resnet10", "--max-epochs",
                        "1", "--device", "cpu", "--require", "roc_auc>=0.999", "--out",
                        str(tmp_path / "m"), "--quiet"], capsys)  # fmt: skip
    assert code == 3, err
    assert "the test images" in err
    assert not (tmp_path / "m").exists() and (tmp_path / "m.rejected" / "metrics.json").is_file()


def test_datasets_lists_medmnist(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["datasets", "list"], capsys)
    assert code == 0
    assert "medmnist/pneumoniamnist" in out and "medmnist/breastmnist" in out


def test_an_interrupted_fit_resumes_to_the_same_weights(tmp_path: Path,
                                                        breast: dict[str, np.ndarray],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import signal

    from drugforge.core.training.loop import TrainingInterrupted
    from drugforge.imaging import classifier as clf

    x, y = _balanced(breast["train_images"], breast["train_labels"], 48)
    xv, yv = breast["val_images"][:16], breast["val_labels"][:16]

    def make(ckpt: Path, resume: bool = False) -> ImageClassifier:
        return ImageClassifier(arch="resnet10", max_epochs=3, patience=5, batch_size=16,
                               device="cpu", seed=2, checkpoint_dir=str(ckpt), resume=resume)  # fmt: skip

    whole = make(tmp_path / "a").fit(x, y, xv, yv)
    calls = {"n": 0}
    batch = clf.ImageBatches.batch

    def interrupt_once(self: Any, idx: np.ndarray) -> Any:
        calls["n"] += 1
        if calls["n"] == 5:  # the second epoch's second batch
            signal.raise_signal(signal.SIGINT)
        return batch(self, idx)

    monkeypatch.setattr(clf.ImageBatches, "batch", interrupt_once)
    with pytest.raises(TrainingInterrupted):
        make(tmp_path / "b").fit(x, y, xv, yv)
    monkeypatch.setattr(clf.ImageBatches, "batch", batch)
    resumed = make(tmp_path / "b", resume=True).fit(x, y, xv, yv)
    np.testing.assert_array_equal(whole.predict_dist(xv)[0], resumed.predict_dist(xv)[0])
    assert resumed.history_[0]["best_epoch"] == whole.history_[0]["best_epoch"]


def test_three_class_folders_train_and_predict_every_class(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    rng = np.random.default_rng(0)
    data = tmp_path / "classes"
    for k, name in enumerate(("cyst", "normal", "tumour")):
        (data / name).mkdir(parents=True)
        for i in range(12):
            img = (rng.random((40, 32, 3)) * 80).astype(np.uint8)
            img[:, :, k] += 120  # the class is the dominant colour channel
            Image.fromarray(img, mode="RGB").save(data / name / f"{name}{i}.png")
    out = tmp_path / "m"
    code, _, err = run(["image", "train", str(data), "--arch", "resnet10", "--max-epochs", "2",
                        "--device", "cpu", "--out", str(out), "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["classes"] == ["cyst", "normal", "tumour"]
    assert metrics["data"]["validation"] == 3  # a stratified 10 %: 1 of each 12-image class
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["target_names"] == ["prob_cyst", "prob_normal", "prob_tumour"]
    assert manifest["standardizer"] == {"size": 28, "channels": 3}
    pred = tmp_path / "p.csv"
    code, _, err = run(["image", "predict", str(out), str(data / "tumour"), "--out", str(pred),
                        "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    with pred.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12
    for r in rows:
        probs = [float(r[f"prob_{c}"]) for c in ("cyst", "normal", "tumour")]
        assert sum(probs) == pytest.approx(1.0) and r["label"] in ("cyst", "normal", "tumour")
        assert r["label"] == ("cyst", "normal", "tumour")[int(np.argmax(probs))]
