"""Image input: Pillow and DICOM files, the five kinds of image table, model input arrays."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_color_lut, get_decoder

from conftest import SHARED_DATA
from drugforge.core.errors import InputError
from drugforge.imaging.io import (
    IMAGE_SUFFIXES,
    ImageReadError,
    read_dicom,
    read_image,
    read_image_bytes,
    read_image_table,
    to_model_input,
)

BREASTMNIST = SHARED_DATA / "imaging" / "breastmnist_trainval.npz"


def sample(name: str) -> Path:
    """A DICOM file shipped inside pydicom (no download)."""
    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"pydicom sample {name} not shipped")
    return Path(path)


def save(array: np.ndarray, path: Path, **kwargs: Any) -> Path:
    Image.fromarray(array).save(path, **kwargs)
    return path


# -------------------------------------------------------------------------------------- DICOM
def test_ct_rescale_without_window_is_min_max_of_hounsfield_units() -> None:
    ds = pydicom.dcmread(sample("CT_small.dcm"))
    assert "WindowCenter" not in ds and float(ds.RescaleIntercept) == -1024.0
    hu = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    expected = (hu - hu.min()) / (hu.max() - hu.min())
    image = read_dicom(sample("CT_small.dcm"))
    assert image.shape == (128, 128, 1) and image.dtype == np.float32
    np.testing.assert_allclose(image[:, :, 0], expected, atol=1e-6)
    assert image.min() == 0.0 and image.max() == 1.0


def test_mr_window_follows_the_dicom_linear_formula() -> None:
    ds = pydicom.dcmread(sample("MR_small.dcm"))
    c, w = float(ds.WindowCenter), float(ds.WindowWidth)
    x = ds.pixel_array.astype(np.float64)  # no rescale in this file
    assert "RescaleSlope" not in ds
    # PS3.3 C.11.2.1.2.1, written out piecewise
    expected = np.where(
        x <= c - 0.5 - (w - 1) / 2,
        0.0,
        np.where(x > c - 0.5 + (w - 1) / 2, 1.0, (x - (c - 0.5)) / (w - 1) + 0.5),
    )
    image = read_dicom(sample("MR_small.dcm"))
    np.testing.assert_allclose(image[:, :, 0], expected, atol=1e-6)
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert (image == 1.0).any() and image.min() > 0.0  # bright pixels saturate at the window top


def test_window_applies_to_rescaled_values(tmp_path: Path) -> None:
    ds = pydicom.dcmread(sample("CT_small.dcm"))
    ds.WindowCenter, ds.WindowWidth = [40, 80], [400, 2000]  # soft-tissue window first, in HU
    ds.save_as(tmp_path / "ct.dcm")
    hu = ds.pixel_array.astype(np.float64) + float(ds.RescaleIntercept)  # slope 1
    expected = np.clip((hu - 39.5) / 399 + 0.5, 0, 1)
    np.testing.assert_allclose(read_dicom(tmp_path / "ct.dcm")[:, :, 0], expected, atol=1e-6)


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm"])
def test_monochrome1_is_inverted(name: str, tmp_path: Path) -> None:
    ds = pydicom.dcmread(sample(name))
    ds.PhotometricInterpretation = "MONOCHROME1"
    inverted = tmp_path / name
    ds.save_as(inverted)
    original = read_dicom(sample(name))
    np.testing.assert_allclose(read_dicom(inverted), 1.0 - original, atol=1e-6)


def test_dicom_found_by_magic_without_suffix(tmp_path: Path) -> None:
    copy = tmp_path / "scan_0001"
    shutil.copyfile(sample("MR_small.dcm"), copy)
    np.testing.assert_array_equal(read_image(copy), read_dicom(sample("MR_small.dcm")))


def test_multi_frame_dicom_is_refused() -> None:
    path = sample("rtdose.dcm")
    with pytest.raises(ImageReadError, match=r"multi-frame DICOM \(15 frames\)") as info:
        read_image(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_rgb_ybr_and_palette_dicom_become_rgb() -> None:
    rgb = read_image(sample("SC_rgb_small_odd.dcm"))
    raw = pydicom.dcmread(sample("SC_rgb_small_odd.dcm")).pixel_array
    assert rgb.shape == (3, 3, 3)
    np.testing.assert_array_equal(rgb, raw.astype(np.float32) / 255)

    ybr = pydicom.dcmread(sample("SC_ybr_full_422_uncompressed.dcm"))
    assert ybr.PhotometricInterpretation == "YBR_FULL_422"
    stored = pydicom.pixels.pixel_array(ybr, as_rgb=False)
    converted = pydicom.pixels.convert_color_space(stored, "YBR_FULL", "RGB")
    image = read_image(sample("SC_ybr_full_422_uncompressed.dcm"))
    np.testing.assert_array_equal(image, converted.astype(np.float32) / 255)
    assert not np.array_equal(image, stored.astype(np.float32) / 255)

    palette = pydicom.dcmread(sample("examples_palette.dcm"))
    expected = apply_color_lut(palette.pixel_array, palette).astype(np.float32) / 65535
    image = read_image(sample("examples_palette.dcm"))
    assert image.shape == (350, 800, 3)
    np.testing.assert_allclose(image, expected, atol=1e-6)


def test_dicom_without_pixels_truncated_or_without_decoder() -> None:
    with pytest.raises(ImageReadError, match="no pixel data"):
        read_image(sample("rtplan.dcm"))
    with pytest.raises(ImageReadError, match="cannot decode DICOM pixel data"):
        read_image(sample("MR_truncated.dcm"))
    jpeg_ls = sample("MR_small_jpeg_ls_lossless.dcm")
    if get_decoder(pydicom.dcmread(jpeg_ls).file_meta.TransferSyntaxUID).is_available:
        pytest.skip("a JPEG-LS decoder plugin is installed here")
    with pytest.raises(ImageReadError, match=r"JPEG-LS Lossless.*pylibjpeg.*") as info:
        read_image(jpeg_ls)
    assert "gdcm" in str(info.value) and str(info.value).startswith(str(jpeg_ls))


# ------------------------------------------------------------------------------------ Pillow
def test_png_modes_read_exactly(tmp_path: Path) -> None:
    gray = np.array([[0, 1, 128], [200, 254, 255]], dtype=np.uint8)
    image = read_image(save(gray, tmp_path / "gray.png"))
    assert image.shape == (2, 3, 1) and image.dtype == np.float32
    np.testing.assert_array_equal(image[:, :, 0], gray.astype(np.float32) / 255)

    deep = np.array([[0, 1000], [65535, 30000]], dtype=np.uint16)
    image = read_image(save(deep, tmp_path / "deep.png"))
    np.testing.assert_array_equal(image[:, :, 0], deep.astype(np.float32) / 65535)

    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 255, 51, 102, 0  # fully transparent
    image = read_image(save(rgba, tmp_path / "rgba.png"))
    assert image.shape == (2, 2, 3)
    np.testing.assert_array_equal(image[0, 0], np.array([255, 51, 102], np.float32) / 255)

    palette = Image.new("P", (2, 2))
    palette.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    palette.putdata([0, 1, 2, 1])
    palette.save(tmp_path / "palette.png")
    image = read_image(tmp_path / "palette.png")
    expected = np.array([[[1, 0, 0], [0, 1, 0]], [[0, 0, 1], [0, 1, 0]]], dtype=np.float32)
    np.testing.assert_array_equal(image, expected)


def test_jpeg_tiff_and_bmp(tmp_path: Path) -> None:
    flat = np.full((8, 8), 128, dtype=np.uint8)
    image = read_image(save(flat, tmp_path / "flat.jpg", quality=95))
    assert image.shape == (8, 8, 1)
    np.testing.assert_allclose(image, 128 / 255, atol=1 / 255)

    colour = np.zeros((8, 8, 3), dtype=np.uint8)
    colour[...] = (200, 100, 50)
    image = read_image(save(colour, tmp_path / "colour.JPEG", quality=95))
    assert image.shape == (8, 8, 3)
    np.testing.assert_allclose(image[4, 4], np.array([200, 100, 50]) / 255, atol=3 / 255)

    deep = np.array([[0, 4096], [65535, 2]], dtype=np.uint16)
    image = read_image(save(deep, tmp_path / "deep.tif"))
    np.testing.assert_array_equal(image[:, :, 0], deep.astype(np.float32) / 65535)

    wide = np.array([[0, 70000], [35000, 7]], dtype=np.int32)  # mode I beyond 16 bits: min-max
    np.testing.assert_allclose(read_image(save(wide, tmp_path / "i.tif"))[:, :, 0], wide / 70000)
    narrow = np.array([[0, 65535], [1000, 7]], dtype=np.int32)  # 16-bit data in mode I
    np.testing.assert_allclose(
        read_image(save(narrow, tmp_path / "j.tif"))[:, :, 0], narrow / 65535
    )

    floats = np.array([[0.0, 0.25], [0.5, 1.0]], dtype=np.float32)
    np.testing.assert_array_equal(read_image(save(floats, tmp_path / "f.tiff"))[:, :, 0], floats)
    hdr = np.array([[-1.0, 1.0], [3.0, 3.0]], dtype=np.float32)  # outside [0, 1]: min-max
    expected = np.array([[0.0, 0.5], [1.0, 1.0]])
    np.testing.assert_allclose(read_image(save(hdr, tmp_path / "h.tif"))[:, :, 0], expected)

    bmp = np.arange(12, dtype=np.uint8).reshape(2, 2, 3) * 20
    np.testing.assert_array_equal(read_image(save(bmp, tmp_path / "x.bmp")), bmp / np.float32(255))


def test_unreadable_files_raise_one_line_naming_the_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    corrupt = tmp_path / "x.png"
    corrupt.write_bytes(rng.integers(0, 256, 64, dtype=np.uint8).tobytes())
    valid = save(rng.integers(0, 256, (64, 64), dtype=np.uint8), tmp_path / "valid.png")
    truncated = tmp_path / "half.png"
    truncated.write_bytes(valid.read_bytes()[: valid.stat().st_size // 2])
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.tif"
    text.write_text("not an image\n")
    for path in (corrupt, truncated, empty, text, tmp_path / "missing.png", tmp_path):
        with pytest.raises(ImageReadError) as info:
            read_image(path)
        message = str(info.value)
        assert message.startswith(f"{path}: ") and "\n" not in message
        assert isinstance(info.value, InputError)
    with pytest.raises(ImageReadError, match="empty file"):
        read_image(empty)
    with pytest.raises(ImageReadError, match="truncated"):
        read_image(truncated)


def test_bytes_decode_as_the_file_does_and_fail_with_the_name(tmp_path: Path) -> None:
    """read_image_bytes (an upload) takes the file's decoders: same pixels, same one-line errors,
    named by the name given (never opened)."""
    rng = np.random.default_rng(0)
    files = [save(rng.integers(0, 256, (9, 7), dtype=np.uint8), tmp_path / "a.png"),
             save(rng.integers(0, 256, (5, 6, 3), dtype=np.uint8), tmp_path / "b.jpg"),
             save(np.array([[0, 4096], [65535, 2]], dtype=np.uint16), tmp_path / "c.tif"),
             sample("CT_small.dcm"), sample("SC_rgb_small_odd.dcm")]  # fmt: skip
    for path in files:
        from_bytes = read_image_bytes(path.read_bytes(), "upload")  # DICOM found by its magic
        np.testing.assert_array_equal(from_bytes, read_image(path))
        assert from_bytes.dtype == np.float32
    ds = pydicom.dcmread(sample("CT_small.dcm"))
    ds.preamble = None  # no 'DICM' magic: the .dcm name says what it is
    ds.save_as(tmp_path / "bare.dcm", enforce_file_format=False)
    bare = (tmp_path / "bare.dcm").read_bytes()
    assert bare[128:132] != b"DICM"
    np.testing.assert_array_equal(read_image_bytes(bare, "x.dcm"), read_image(files[3]))
    ct = files[3].read_bytes()
    syntax = b"1.2.840.10008.1.2.1"  # explicit VR little endian -> a UID that is no syntax
    garbled = ct.replace(syntax, b"1.2.840.10008.1.9.9", 1)
    png = files[0].read_bytes()
    for data, name, reason in ((b"", "e.png", "empty file"),
                               (garbled, "g.dcm", "cannot read DICOM file: UID is not a transfer"),
                               (png[: len(png) // 2], "half.png", "truncated"),
                               (b"not an image", "t.png", "not an image file Pillow can read"),
                               (sample("rtplan.dcm").read_bytes(), "plan", "no pixel data"),
                               (b"\0" * 200, "z.dcm", "not a DICOM")):  # fmt: skip
        with pytest.raises(ImageReadError, match=reason) as info:
            read_image_bytes(data, name)
        assert str(info.value).startswith(f"{name}: ") and "\n" not in str(info.value)


def test_read_batch_keeps_order_and_zeroes_bad_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    good = [
        save(rng.integers(0, 256, (20, 30), dtype=np.uint8), tmp_path / f"g{i}.png")
        for i in range(2)
    ]
    bad = tmp_path / "bad.png"
    bad.write_bytes(good[0].read_bytes()[:100])
    csv_path = tmp_path / "list.csv"
    csv_path.write_text("path,note\ng0.png,\nbad.png,\n,empty\nmissing.png,\ng1.png,\n")
    table = read_image_table(csv_path)
    assert table.ids == ["g0.png", "bad.png", "", "missing.png", "g1.png"]
    batch, errors = table.read_batch([4, 1, 2, 3, 0], size=16, channels=3)
    assert batch.shape == (5, 3, 16, 16) and batch.dtype == np.uint8
    for row, path in ((0, good[1]), (4, good[0])):
        np.testing.assert_array_equal(batch[row], to_model_input(read_image(path), 16, 3))
        assert errors[row] == "" and batch[row].any()
    assert not batch[1:4].any()
    assert errors[1].startswith(f"{bad}: ")
    assert errors[2] == f"{csv_path}:4: empty image path"
    assert errors[3] == f"{tmp_path / 'missing.png'}: file not found"


# ------------------------------------------------------------------------------------ npz
def test_breastmnist_train_and_val() -> None:
    if not BREASTMNIST.is_file():
        pytest.skip(f"shared data not found at {BREASTMNIST}")
    train = read_image_table(BREASTMNIST, labelled=True)
    val = read_image_table(BREASTMNIST, part="val")
    assert (len(train), len(val)) == (546, 78)
    assert train.class_names() == ["0", "1"] == val.class_names()
    assert train.labels is not None and train.labels.count("0") == 147
    assert train.id_column == "index" and train.ids[:3] == ["0", "1", "2"] and val.lines[-1] == 78
    with np.load(BREASTMNIST) as data:
        first = data["val_images"][5]
    np.testing.assert_array_equal(val.read(5)[:, :, 0], first / np.float32(255))
    batch, errors = val.read_batch(range(4), size=28, channels=1)
    np.testing.assert_array_equal(batch[:, 0], np.asarray(val.arrays)[:4])
    assert errors == ["", "", "", ""]


def test_npz_labels_keys_and_corruption(tmp_path: Path) -> None:
    images = np.arange(3 * 2 * 2, dtype=np.uint8).reshape(3, 2, 2)
    path = tmp_path / "set.npz"
    np.savez(path, train_images=images, train_labels=np.array([[2], [10], [2]]),
             val_images=images[:2].astype(np.float32) * 10, val_labels=np.array([0.0, 1.0]))  # fmt: skip
    train = read_image_table(path)
    assert train.labels == ["2", "10", "2"] and train.class_names() == ["2", "10"]
    val = read_image_table(path, part="val")
    assert val.labels == ["0", "1"] and val.read(0).shape == (2, 2, 1)
    np.testing.assert_allclose(val.read(1)[:, :, 0], images[1] * 10 / 70.0)  # scaled by the max
    assert float(val.subset([1]).read(0).max()) == 1.0  # a subset keeps the part's scale
    with pytest.raises(InputError, match=r"no 'test_images' array; keys: train_images, "):
        read_image_table(path, part="test")

    np.savez(path, train_images=images, train_labels=np.zeros((2, 1)))
    with pytest.raises(InputError, match="train_labels has 2 rows but the images 3"):
        read_image_table(path)
    np.savez(path, train_images=images, train_labels=np.zeros((3, 4)))
    with pytest.raises(InputError, match="multi-label"):
        read_image_table(path)
    np.savez(path, train_images=images)
    assert read_image_table(path).labels is None
    with pytest.raises(InputError, match=f"^{path}: no 'train_labels' array"):
        read_image_table(path, labelled=True)

    truncated = tmp_path / "cut.npz"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputError, match=f"^{truncated}: cannot read npz"):
        read_image_table(truncated)


# ------------------------------------------------------------------------------- folders
def test_class_folders_recursive_sorted_hidden_skipped(tmp_path: Path) -> None:
    pixel = np.zeros((2, 2), dtype=np.uint8)
    for rel in ("normal/b.png", "normal/a.png", "pneumonia/z/1.png", "pneumonia/0.jpg",
                "pneumonia/.hidden.png", "pneumonia/.cache/x.png", "pneumonia/notes.txt",
                "empty/readme.md"):  # fmt: skip
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith((".png", ".jpg")):
            save(pixel, tmp_path / rel)
        else:
            (tmp_path / rel).write_text("x")
    table = read_image_table(tmp_path, labelled=True)
    assert table.ids == [str(tmp_path / r) for r in
                         ("normal/a.png", "normal/b.png", "pneumonia/0.jpg", "pneumonia/z/1.png")]  # fmt: skip
    assert table.labels == ["normal", "normal", "pneumonia", "pneumonia"]
    assert table.class_names() == ["normal", "pneumonia"] and table.lines == [1, 2, 3, 4]
    assert table.subset([3, 0]).ids == [table.ids[3], table.ids[0]]

    save(pixel, tmp_path / "loose.png")
    with pytest.raises(InputError, match="both images"):
        read_image_table(tmp_path)


def test_image_folder_unlabelled_in_name_order(tmp_path: Path) -> None:
    for name in ("b.PNG", "a.dcm", "c.tif", "d.txt"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()  # holds no images: not a class folder
    table = read_image_table(tmp_path)
    assert [Path(i).name for i in table.ids] == ["a.dcm", "b.PNG", "c.tif"]
    assert table.labels is None and table.class_names() == []
    with pytest.raises(InputError, match=f"^{tmp_path}: no labels"):
        read_image_table(tmp_path, labelled=True)
    with pytest.raises(InputError, match="no image files"):
        read_image_table(tmp_path / "sub")
    assert set(IMAGE_SUFFIXES) >= {".png", ".jpeg", ".tiff", ".bmp", ".dicom"}


def test_single_image_and_not_found(tmp_path: Path) -> None:
    path = save(np.zeros((3, 4), dtype=np.uint8), tmp_path / "one.png")
    table = read_image_table(path)
    assert (len(table), table.ids, table.labels) == (1, [str(path)], None)
    assert table.read(0).shape == (3, 4, 1)
    with pytest.raises(InputError, match=f"^{tmp_path / 'nope.csv'}: not found"):
        read_image_table(tmp_path / "nope.csv")


# ------------------------------------------------------------------------------------ CSV
def test_csv_relative_paths_aliases_and_delimiters(tmp_path: Path) -> None:
    (tmp_path / "imgs").mkdir()
    save(np.full((2, 2), 255, dtype=np.uint8), tmp_path / "imgs" / "a.png")
    csv_path = tmp_path / "data.csv"
    csv_path.write_text("id,Image,Class\n7,imgs/a.png,1\n\n8,/abs/b.png,0\n", encoding="utf-8-sig")
    table = read_image_table(csv_path, labelled=True)
    assert table.ids == ["imgs/a.png", "/abs/b.png"] and table.labels == ["1", "0"]
    assert table.paths == [tmp_path / "imgs" / "a.png", Path("/abs/b.png")]
    assert table.lines == [2, 4] and table.read(0).min() == 1.0

    tsv = tmp_path / "data.tsv"
    tsv.write_text("filename\ttarget\nimgs/a.png\tcat\n")
    assert read_image_table(tsv).labels == ["cat"]
    semicolon = tmp_path / "semi.csv"
    semicolon.write_text("y;file\n3;imgs/a.png\n")
    assert read_image_table(semicolon).labels == ["3"]


def test_csv_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("smiles,label\nCCO,1\n")
    with pytest.raises(
        InputError, match=f"^{path}:1: no image path column .*found: smiles, label$"
    ):
        read_image_table(path)
    path.write_text("")
    with pytest.raises(InputError, match=f"^{path}:1: empty file"):
        read_image_table(path)

    path.write_text("path,label\na.png,1\nb.png,\nc.png,0\n")
    with pytest.raises(InputError, match=f"^{path}:3: empty 'label'"):
        read_image_table(path, labelled=True)
    assert read_image_table(path).labels == ["1", "", "0"]
    assert read_image_table(path, labelled=False).class_names() == ["0", "1"]

    path.write_bytes("path,label\na.png,1\nb\xe9.png,0\n".encode("latin-1"))
    with pytest.raises(InputError, match=f"^{path}:3: not UTF-8 .*--encoding"):
        read_image_table(path)
    assert read_image_table(path, encoding="latin-1").ids == ["a.png", "bé.png"]


# ------------------------------------------------------------------------------ model input
def test_to_model_input_channels_and_identity() -> None:
    rgb = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [[0.0, 0.0, 1.0], [1.0, 1.0, 1.0]]],
                   dtype=np.float32)  # fmt: skip
    gray = to_model_input(rgb, size=2, channels=1)
    assert gray.shape == (1, 2, 2) and gray.dtype == np.uint8
    np.testing.assert_array_equal(gray[0], [[76, 150], [29, 255]])  # 255 * (.299, .587, .114)

    levels = np.array([[0, 1], [127, 255]], dtype=np.float32)[:, :, None] / 255
    assert np.array_equal(to_model_input(levels, 2, 1)[0], [[0, 1], [127, 255]])
    three = to_model_input(levels, 2, 3)
    assert three.shape == (3, 2, 2) and all(np.array_equal(p, three[0]) for p in three)
    np.testing.assert_array_equal(to_model_input(rgb, 2, 3), np.rint(rgb * 255).transpose(2, 0, 1))


def test_to_model_input_resizes_whole_image() -> None:
    wide = np.zeros((4, 8, 1), dtype=np.float32)
    wide[:, 4:] = 1.0  # left half black, right half white
    out = to_model_input(wide, size=6, channels=3)
    assert out.shape == (3, 6, 6)
    assert (out[:, :, 0] == 0).all() and (out[:, :, -1] == 255).all()  # no crop: both halves
    assert (np.diff(out[0].astype(int), axis=1) >= 0).all()
    np.testing.assert_array_equal(to_model_input(np.full((5, 3, 3), 0.5, np.float32), 7, 3), 128)
    small = to_model_input(np.eye(8, dtype=np.float32)[:, :, None], 4, 1)
    assert 0 < small.max() < 255  # antialiased: the thin diagonal is averaged, not sampled
