"""Image input: one image file, and the tables of images that ``DATA``/``INPUT`` may name.

Every image that enters drugforge is float32 ``(H, W, C)`` with C = 1 (grayscale) or 3 (RGB)
and values in ``[0, 1]`` (:func:`read_image`; :func:`read_image_bytes` for a file's bytes, such
as an upload, through the same decoders); :func:`to_model_input` turns it into the uint8
``(channels, size, size)`` a CNN takes. :func:`read_image_table` reads a MedMNIST-style
``.npz``, a folder of class folders, a folder of images, a CSV/TSV of paths (and labels) or one
image file into an :class:`ImageTable` of rows in input order.

Policy per layer (as for SMILES): reading one image raises :class:`ImageReadError` (one line
naming the file); a table's problems (missing column, undecodable text, an empty label where
labels are required) raise :class:`~drugforge.core.errors.InputError` naming the file and line;
:meth:`ImageTable.read_batch` never raises for a bad image: the row is zeros with its error text,
and every row keeps its place.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from drugforge.core.errors import InputError
from drugforge.imaging.dicom import (
    ImageReadError,
    is_dicom_bytes,
    is_dicom_file,
    minmax_scale,
    read_dicom,
    read_dicom_bytes,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageReadError",
    "ImageTable",
    "read_dicom",
    "read_image",
    "read_image_bytes",
    "read_image_table",
    "to_model_input",
]

#: the file suffixes (lower case) taken as images when a folder is scanned
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp",
                                   ".dcm", ".dicom")  # fmt: skip
_TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
_PATH_COLUMNS = ("path", "image", "file", "filename")
_LABEL_COLUMNS = ("label", "class", "y", "target")
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601

PathLikeStr = str | PathLike[str]
FloatImage = npt.NDArray[np.float32]
ByteImages = npt.NDArray[np.uint8]


# ------------------------------------------------------------------------------- one image
def read_image(path: PathLikeStr) -> FloatImage:
    """Read one image file as float32 ``(H, W, C)``, C = 1 or 3, values in ``[0, 1]``.

    DICOM (suffix ``.dcm``/``.dicom`` or the ``DICM`` magic) goes through :func:`read_dicom`;
    anything else through Pillow, with the EXIF orientation applied. 8-bit modes are divided by
    255 and 16-bit ones (``I;16*``) by 65535; palette, CMYK and the like become RGB; the alpha
    channel is dropped (RGBA -> RGB, LA -> L). 32-bit integer images (``I``) are taken as 16-bit
    data when every value fits in 0..65535, else min-max scaled; float images (``F``) are kept
    when already in [0, 1], else min-max scaled.

    Raises
    ------
    ImageReadError
        Missing, empty, truncated or corrupt file, an unknown format, a multi-page image, or a
        DICOM that :func:`read_dicom` refuses.
    """
    if Path(path).is_dir():
        raise ImageReadError("is a directory, expected an image file", path=path)
    if not Path(path).exists():
        raise ImageReadError("file not found", path=path)
    if is_dicom_file(path):
        return read_dicom(path)
    return _read_pillow(path, path)


def read_image_bytes(data: bytes, name: str) -> FloatImage:
    """:func:`read_image` of an image file's bytes (an upload, a request body); ``name`` (the
    file's name, for its suffix and the error messages) is never opened.

    Raises
    ------
    ImageReadError
        Empty, truncated or corrupt data, an unknown format, a multi-page image, or a DICOM that
        :func:`read_dicom` refuses.
    """
    if is_dicom_bytes(data, name):
        return read_dicom_bytes(data, name)
    return _read_pillow(io.BytesIO(data), name)


def _read_pillow(source: PathLikeStr | io.BytesIO, path: PathLikeStr) -> FloatImage:
    """Decode a file (or the bytes of one) with Pillow; ``path`` labels the errors."""
    from PIL import Image, ImageOps

    try:
        with Image.open(source) as opened:
            pages = int(getattr(opened, "n_frames", 1))
            if pages > 1:
                raise ImageReadError(
                    f"multi-page image ({pages} pages) is not supported; "
                    "save the page you want as its own file",
                    path=path,
                )
            opened.load()  # decode now: a truncated file fails here, inside this try
            image = ImageOps.exif_transpose(opened)
            return _pillow_array(image)
    except ImageReadError:
        raise
    except Image.UnidentifiedImageError:
        if isinstance(source, io.BytesIO):
            size = source.getbuffer().nbytes
        else:
            size = Path(source).stat().st_size
        what = "empty file" if size == 0 else "not an image file Pillow can read"
        raise ImageReadError(f"{what} (unknown or corrupt format)", path=path) from None
    except Exception as err:  # noqa: BLE001  # Pillow raises OSError, SyntaxError, ValueError...
        text = " ".join(str(err).split()) or type(err).__name__
        raise ImageReadError(f"cannot read image: {text}", path=path) from None


def _pillow_array(image: Any) -> FloatImage:
    mode = image.mode
    if mode.startswith("I;16"):
        values = np.asarray(image).astype(np.float32) / 65535.0
    elif mode in ("I", "F"):  # 32-bit integers: 16-bit data when it fits; floats: as they are
        raw = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode == "I" else 1.0
        fits = np.isfinite(raw).all() and (raw.size == 0 or 0 <= raw.min() <= raw.max() <= top)
        values = (raw / top if fits else minmax_scale(raw)).astype(np.float32)
    elif mode in ("1", "L", "LA", "La"):
        values = np.asarray(image.convert("L")).astype(np.float32) / 255.0
    else:  # RGB, RGBA, P, PA, CMYK, YCbCr, LAB, HSV...
        values = np.asarray(image.convert("RGB")).astype(np.float32) / 255.0
    if values.ndim == 2:
        values = values[:, :, None]
    return np.ascontiguousarray(values, dtype=np.float32)


def to_model_input(image: npt.NDArray[Any], size: int, channels: int) -> ByteImages:
    """float32 ``(H, W, C)`` in ``[0, 1]`` -> uint8 ``(channels, size, size)``.

    The whole image is resized (no crop, so the aspect ratio is not kept) with Pillow's bilinear
    filter, antialiased when shrinking, on a float image per channel; an image already
    ``size x size`` is not resampled. 1 -> 3 channels repeats the gray; 3 -> 1 is the ITU-R 601
    luma ``0.299 R + 0.587 G + 0.114 B``. Values are scaled by 255 and rounded.
    """
    from PIL import Image

    if size < 1 or channels not in (1, 3):
        raise ValueError(f"size must be >= 1 and channels 1 or 3, got {size}, {channels}")
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3):
        raise ValueError(f"expected an (H, W, 1) or (H, W, 3) image, got {array.shape}")
    if array.shape[2] == 3 and channels == 1:
        array = (array @ _LUMA)[:, :, None]  # fewer planes to resize
    planes = [array[:, :, c] for c in range(array.shape[2])]
    if array.shape[:2] != (size, size):
        planes = [
            np.asarray(
                Image.fromarray(np.ascontiguousarray(plane)).resize(
                    (size, size), resample=Image.Resampling.BILINEAR, reducing_gap=None
                ),
                dtype=np.float32,
            )
            for plane in planes
        ]
    stacked = np.stack(planes)  # (C, size, size)
    if stacked.shape[0] == 1 and channels == 3:
        stacked = np.repeat(stacked, 3, axis=0)
    return np.rint(np.clip(np.nan_to_num(stacked) * 255.0, 0.0, 255.0)).astype(np.uint8)


# ------------------------------------------------------------------------------ image table
@dataclass
class ImageTable:
    """Rows of images from one source, in input order.

    Exactly one of ``arrays`` (an npz part: uint8 or float, ``(N, H, W)`` or ``(N, H, W, C)``)
    or ``paths`` (image files) is set. ``ids`` are the file paths as given (CSV cell text,
    folder-joined path) or the row index for npz parts; ``lines`` are 1-based CSV line numbers
    (header = line 1) or row index + 1; ``labels`` are text, ``None`` when unlabelled.
    """

    source: Path
    ids: list[str]
    labels: list[str] | None
    lines: list[int]
    arrays: npt.NDArray[Any] | None = None
    paths: list[Path] | None = None
    id_column: str = "path"
    # dividing a non-uint8 npz part by one number for the whole part keeps rows comparable
    _scale: float = field(default=1.0, init=False, repr=False)

    def __post_init__(self) -> None:
        if (self.arrays is None) == (self.paths is None):
            raise ValueError("ImageTable needs exactly one of arrays or paths")
        rows = len(self.arrays) if self.arrays is not None else len(self.paths or [])
        lengths = {len(self.ids), len(self.lines), rows}
        if self.labels is not None:
            lengths.add(len(self.labels))
        if len(lengths) != 1:
            raise ValueError(f"ImageTable columns differ in length: {sorted(lengths)}")
        if self.arrays is not None:
            self._scale = _array_scale(self.arrays)

    def __len__(self) -> int:
        return len(self.ids)

    def read(self, i: int) -> FloatImage:
        """Row ``i`` as float32 ``(H, W, C)`` in ``[0, 1]`` (the :func:`read_image` contract)."""
        if self.arrays is not None:
            return _array_image(self.arrays[i], self._scale)
        assert self.paths is not None
        if not self.ids[i].strip():
            raise ImageReadError("empty image path", path=self.source, line=self.lines[i])
        return read_image(self.paths[i])

    def read_batch(
        self, idx: Sequence[int], size: int, channels: int
    ) -> tuple[ByteImages, list[str]]:
        """uint8 ``(len(idx), channels, size, size)`` and one error text per row ("" if fine).

        A row that cannot be read is all zeros with its one-line error; this never raises for
        a bad image.
        """
        batch = np.zeros((len(idx), channels, size, size), dtype=np.uint8)
        errors: list[str] = []
        for row, i in enumerate(idx):
            try:
                batch[row] = to_model_input(self.read(i), size, channels)
            except InputError as err:
                errors.append(str(err))
            else:
                errors.append("")
        return batch, errors

    def subset(self, idx: Sequence[int]) -> ImageTable:
        """The rows ``idx``, in that order (npz scaling unchanged)."""
        rows = [int(i) for i in idx]
        table = ImageTable(
            source=self.source,
            ids=[self.ids[i] for i in rows],
            labels=None if self.labels is None else [self.labels[i] for i in rows],
            lines=[self.lines[i] for i in rows],
            arrays=None if self.arrays is None else self.arrays[np.asarray(rows, dtype=np.intp)],
            paths=None if self.paths is None else [self.paths[i] for i in rows],
            id_column=self.id_column,
        )
        table._scale = self._scale
        return table

    def class_names(self) -> list[str]:
        """Sorted distinct labels ("" excluded); numerically when every label is an integer."""
        names = {label for label in self.labels or [] if label != ""}
        try:
            return sorted(names, key=lambda name: (int(name), name))
        except ValueError:
            return sorted(names)


def _array_scale(arrays: npt.NDArray[Any]) -> float:
    if arrays.dtype == np.uint8 or arrays.dtype == np.bool_ or arrays.size == 0:
        return 255.0 if arrays.dtype == np.uint8 else 1.0
    if arrays.dtype == np.uint16:
        return 65535.0
    top = float(np.nanmax(arrays)) if np.isfinite(arrays).any() else 0.0
    if arrays.dtype.kind in "iu":
        return 255.0 if top <= 255 else top
    return top if top > 1.0 and np.isfinite(top) else 1.0


def _array_image(array: npt.NDArray[Any], scale: float) -> FloatImage:
    values = np.nan_to_num(array.astype(np.float32) / np.float32(scale), posinf=1.0, neginf=0.0)
    values = np.clip(values, 0.0, 1.0)
    if values.ndim == 2:
        values = values[:, :, None]
    return np.ascontiguousarray(values, dtype=np.float32)


# ---------------------------------------------------------------------------------- readers
def read_image_table(
    spec: PathLikeStr,
    *,
    part: str = "train",
    labelled: bool | None = None,
    encoding: str | None = None,
) -> ImageTable:
    """Read what ``DATA``/``INPUT`` names into an :class:`ImageTable`.

    - a MedMNIST-style ``.npz``: ``{part}_images`` and optional ``{part}_labels`` (``(N,)`` or
      ``(N, 1)``; multi-label is refused);
    - a folder of class folders (label = sub-folder name; image files found recursively and
      sorted by relative path; hidden files and folders skipped);
    - a folder of images (no sub-folder holds images): unlabelled rows sorted by name;
    - a CSV/TSV (``,``, tab or ``;``, sniffed from the header) with a ``path`` column (or
      ``image``, ``file``, ``filename``) and an optional ``label`` column (or ``class``, ``y``,
      ``target``); relative paths resolve against the CSV's folder; a row with an empty path is
      kept (its read error comes later). Text is ``encoding`` if given, else UTF-8;
    - one image file: one unlabelled row.

    ``labelled=True`` requires labels (train/evaluate); ``None`` or ``False`` take whatever is
    there. Raises :class:`~drugforge.core.errors.InputError` (one line naming the file, and the
    line for CSV problems) when the input cannot be used.
    """
    path = Path(spec)
    if not path.exists():
        raise InputError("not found", path=spec)
    if path.is_dir():
        table = _read_folder(path)
    elif path.suffix.lower() == ".npz":
        table = _read_npz(path, part, required=labelled is True)
    elif path.suffix.lower() in _TABLE_SUFFIXES:
        table = _read_csv(path, required=labelled is True, encoding=encoding)
    elif path.suffix.lower() in IMAGE_SUFFIXES or is_dicom_file(path):
        table = ImageTable(source=path, ids=[str(spec)], labels=None, lines=[1], paths=[path])
    else:
        raise InputError(
            "unsupported input; expected a .npz, a .csv/.tsv table of image paths, a folder "
            f"of images or class folders, or an image file ({' '.join(IMAGE_SUFFIXES)})",
            path=spec,
        )
    if labelled is True and table.labels is None:
        raise InputError(
            "no labels; use a folder of class folders, a CSV with a label column or an npz with "
            f"{part}_labels",
            path=spec,
        )
    return table


def _read_npz(path: Path, part: str, *, required: bool) -> ImageTable:
    images_key, labels_key = f"{part}_images", f"{part}_labels"
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = list(data.files)
            if images_key not in keys:
                raise InputError(
                    f"no {images_key!r} array; keys: {', '.join(keys) or '(none)'}", path=path
                )
            images = np.asarray(data[images_key])
            labels = np.asarray(data[labels_key]) if labels_key in keys else None
    except InputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        text = " ".join(str(err).split()) or type(err).__name__
        raise InputError(f"cannot read npz (truncated or corrupt?): {text}", path=path) from None
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[3] not in (1, 3)):
        shape = f"{images_key} has shape {images.shape}"
        raise InputError(f"{shape}; expected (N, H, W) or (N, H, W, C), C = 1 or 3", path=path)
    if images.dtype.kind not in "biuf":
        raise InputError(f"{images_key} has dtype {images.dtype}; expected numbers", path=path)
    if images.ndim == 4 and images.shape[3] == 1:
        images = images[..., 0]
    texts = None if labels is None else _npz_labels(labels, labels_key, len(images), path)
    if required and texts is None:
        raise InputError(f"no {labels_key!r} array; keys: {', '.join(keys)}", path=path)
    ids, lines = [str(i) for i in range(len(images))], list(range(1, len(images) + 1))
    return ImageTable(path, ids, texts, lines, arrays=images, id_column="index")


def _npz_labels(labels: npt.NDArray[Any], key: str, rows: int, path: Path) -> list[str]:
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise InputError(
            f"{key} has shape {labels.shape}: multi-label data is not supported; expected (N,) "
            "or (N, 1) class labels",
            path=path,
        )
    if len(labels) != rows:
        raise InputError(f"{key} has {len(labels)} rows but the images {rows}", path=path)
    if labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(labels % 1 == 0):
        labels = labels.astype(np.int64)  # 0.0/1.0 stored as floats are the classes 0/1
    return [str(value) for value in labels.tolist()]


def _read_folder(folder: Path) -> ImageTable:
    loose = _images_in(folder, recursive=False)
    classes = {
        entry.name: files
        for entry in sorted(folder.iterdir(), key=lambda p: p.name)
        if entry.is_dir() and not entry.name.startswith(".")
        if (files := _images_in(entry, recursive=True))
    }
    if classes and loose:
        raise InputError(
            f"holds both images ({loose[0].name}...) and class folders ({', '.join(classes)}); "
            "put every image in a class folder, or the images alone in a folder",
            path=folder,
        )
    if not classes and not loose:
        raise InputError(f"no image files ({' '.join(IMAGE_SUFFIXES)}) in the folder", path=folder)
    paths = loose or [file for files in classes.values() for file in files]
    labels = None if loose else [name for name, files in classes.items() for _ in files]
    lines = list(range(1, len(paths) + 1))
    return ImageTable(folder, [str(p) for p in paths], labels, lines, paths=paths)


def _images_in(folder: Path, *, recursive: bool) -> list[Path]:
    """Non-hidden image files under ``folder``, sorted by relative path."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):  # does not follow symlinked folders: no loops
        dirs[:] = [] if not recursive else [d for d in dirs if not d.startswith(".")]
        found.extend(
            Path(root, name)
            for name in files
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES
        )
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def _read_csv(path: Path, *, required: bool, encoding: str | None) -> ImageTable:
    text = _decode(path, encoding)
    lines = text.splitlines()
    header_text = next((line for line in lines if line.strip()), None)
    if header_text is None:
        raise InputError(
            "empty file; expected a header with a path column and an optional label column",
            path=path,
            line=1,
        )
    delimiter = max(",\t;", key=header_text.count)
    if header_text.count(delimiter) == 0:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = _rows(reader, path)
    header = next(rows)
    while not any(cell.strip() for cell in header):
        header = next(rows)  # leading blank lines (a non-blank one exists)
    header_line = reader.line_num
    names = [cell.strip() for cell in header]
    lowered = [name.lower() for name in names]
    path_col = next((lowered.index(c) for c in _PATH_COLUMNS if c in lowered), None)
    label_col = next((lowered.index(c) for c in _LABEL_COLUMNS if c in lowered), None)
    if path_col is None:
        raise InputError(
            f"no image path column ({', '.join(_PATH_COLUMNS)}); found: "
            f"{', '.join(names) or '(none)'}",
            path=path,
            line=header_line,
        )
    ids: list[str] = []
    labels: list[str] = []
    numbers: list[int] = []
    for row in rows:
        if not any(cell.strip() for cell in row):
            continue
        cells = row + [""] * (len(names) - len(row))
        ids.append(cells[path_col].strip())
        labels.append("" if label_col is None else cells[label_col].strip())
        numbers.append(reader.line_num)  # the record's last line: its line unless quoted newlines
    if not ids:
        raise InputError("no rows below the header", path=path, line=header_line)
    has_labels = label_col is not None and any(labels)
    if required and has_labels and "" in labels:
        raise InputError(
            f"empty {names[label_col or 0]!r}; every row needs a label for training or evaluation",
            path=path,
            line=numbers[labels.index("")],
        )
    folder = path.parent
    return ImageTable(
        source=path,
        ids=ids,
        labels=labels if has_labels else None,
        lines=numbers,
        paths=[folder / cell if cell else folder for cell in ids],
    )


def _rows(reader: Any, path: Path) -> Iterator[list[str]]:
    """The reader's rows, with a malformed CSV record reported as an InputError line."""
    try:
        yield from reader
    except csv.Error as err:
        raise InputError(f"malformed CSV: {err}", path=path, line=reader.line_num) from None


def _decode(path: Path, encoding: str | None) -> str:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read file: {err.strerror or err}", path=path) from None
    try:
        return data.decode(encoding or "utf-8-sig")  # also plain UTF-8: the BOM is optional
    except LookupError:
        raise InputError(f"unknown text encoding {encoding!r}", path=path) from None
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        hint = (
            f"does not decode as {encoding}"
            if encoding
            else "not UTF-8 text; pass --encoding (e.g. --encoding latin-1) or re-save it as UTF-8"
        )
        raise InputError(f"{hint} (byte 0x{data[err.start]:02x})", path=path, line=line) from None
