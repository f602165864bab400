"""DICOM decoding: one single-frame DICOM file (or its bytes) -> float32 ``(H, W, C)`` in [0, 1].

The grey levels a radiologist sees are what the model should see, so a grayscale file goes
through the same steps as a viewer (DICOM PS3.4 N.2, the grayscale pipeline):

1. the modality LUT: ``RescaleSlope``/``RescaleIntercept`` (or a Modality LUT Sequence) turn
   stored values into physical ones (Hounsfield units for CT);
2. the VOI window: ``WindowCenter``/``WindowWidth`` (the first pair when several are given) with
   the formula of PS3.3 C.11.2.1.2 (``LINEAR``, the default; ``LINEAR_EXACT`` and ``SIGMOID``
   when the file asks for them), output ``[0, 1]``. Without a window the rescaled values are
   min-max scaled (a constant image gives zeros);
3. ``MONOCHROME1`` (white = 0) is inverted after windowing, so that bright means dense for every
   file.

Colour files: RGB as stored, YBR converted to RGB by pydicom, PALETTE COLOR through its palette;
values are divided by the largest value their bit depth can hold. Multi-frame files are refused
(which frame, or all of them, is the user's choice), as is anything pydicom cannot decode; every
failure is one :class:`ImageReadError` line that names the file.

pydicom is imported on first use: it costs a quarter of a second at start-up.
"""

from __future__ import annotations

import io
import math
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from drugforge.core.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydicom.dataset import FileDataset

__all__ = [
    "DICOM_SUFFIXES",
    "ImageReadError",
    "is_dicom_bytes",
    "is_dicom_file",
    "minmax_scale",
    "read_dicom",
    "read_dicom_bytes",
]

DICOM_SUFFIXES = (".dcm", ".dicom")
_MAGIC_OFFSET = 128  # a DICOM file: 128-byte preamble, then b"DICM" (PS3.10 7.1)
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")

FloatImage = npt.NDArray[np.float32]


class ImageReadError(InputError):
    """An image file cannot be read or decoded; ``str()`` is one line naming the file."""


def is_dicom_file(path: str | PathLike[str]) -> bool:
    """True when the file has a DICOM suffix or the ``DICM`` magic at byte 128."""
    if Path(path).suffix.lower() in DICOM_SUFFIXES:
        return True
    try:
        with open(path, "rb") as handle:
            head = handle.read(_MAGIC_OFFSET + 4)
    except OSError:
        return False
    return head[_MAGIC_OFFSET:] == b"DICM"


def is_dicom_bytes(data: bytes, name: str = "") -> bool:
    """:func:`is_dicom_file` for a file's bytes (``name``'s suffix, else the magic)."""
    magic = data[_MAGIC_OFFSET : _MAGIC_OFFSET + 4]
    return Path(name).suffix.lower() in DICOM_SUFFIXES or magic == b"DICM"


def read_dicom(path: str | PathLike[str]) -> FloatImage:
    """Read one single-frame DICOM file as float32 ``(H, W, C)`` in ``[0, 1]``, C = 1 or 3.

    Raises
    ------
    ImageReadError
        Missing or unreadable file, not DICOM, no pixel data, multi-frame, a compressed
        transfer syntax whose decoder plugin is not installed, or pixel data pydicom cannot
        decode (truncated, inconsistent header).
    """
    if Path(path).is_dir():
        raise ImageReadError("is a directory, expected an image file", path=path)
    return _read(path, path)


def read_dicom_bytes(data: bytes, name: str) -> FloatImage:
    """:func:`read_dicom` of a file's bytes (an upload); ``name`` labels the errors."""
    return _read(lambda: io.BytesIO(data), name)


def _read(source: str | PathLike[str] | Callable[[], io.BytesIO],
          path: str | PathLike[str]) -> FloatImage:  # fmt: skip
    try:
        return _image(_dataset(source, path), path)
    except ImageReadError:
        raise
    except Exception as err:  # noqa: BLE001  # pydicom parses elements lazily: a garbled one
        # (a VR, a UID, a window value) fails here, and it is this file's problem, not a bug
        raise ImageReadError(f"cannot read DICOM file: {_reason(err)}", path=path) from None


def _image(ds: FileDataset, path: str | PathLike[str]) -> FloatImage:
    """The pixels of a read dataset; ``path`` labels the errors."""
    if not any(keyword in ds for keyword in _PIXEL_KEYWORDS):
        raise ImageReadError("DICOM file has no pixel data (not an image object)", path=path)
    frames = _number_of_frames(ds, path)
    if frames > 1:
        raise ImageReadError(
            f"multi-frame DICOM ({frames} frames) is not supported; "
            "export the frames you want as separate files",
            path=path,
        )
    _check_decoder(ds, path)
    try:
        pixels: np.ndarray[Any, Any] = ds.pixel_array  # YBR is converted to RGB here
    except Exception as err:  # noqa: BLE001  # any decoder failure is this file's problem
        raise ImageReadError(f"cannot decode DICOM pixel data: {_reason(err)}", path=path) from None

    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    if pixels.ndim == 2 and photometric == "PALETTE COLOR":
        return _palette(pixels, ds, path)
    if pixels.ndim == 3 and pixels.shape[-1] == 3:
        return _colour(pixels, ds)
    if pixels.ndim != 2:
        raise ImageReadError(
            f"unsupported DICOM pixel layout {tuple(pixels.shape)} "
            f"(SamplesPerPixel {ds.get('SamplesPerPixel')}, {photometric or 'no photometric'})",
            path=path,
        )
    image = _grayscale(pixels, ds)
    if photometric == "MONOCHROME1":
        image = 1.0 - image
    return image[:, :, None].astype(np.float32)


# ---------------------------------------------------------------------------------- helpers
def _dataset(source: str | PathLike[str] | Callable[[], io.BytesIO],
             path: str | PathLike[str]) -> FileDataset:  # fmt: skip
    """The dataset of a file, or of the bytes ``source()`` opens (fresh for each try);
    ``path`` labels the errors."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    def opened() -> str | PathLike[str] | io.BytesIO:
        return source() if callable(source) else source

    try:
        ds = pydicom.dcmread(opened())
    except FileNotFoundError:
        raise ImageReadError("file not found", path=path) from None
    except InvalidDicomError:
        ds = None  # no preamble/'DICM': some writers omit it; try once more without the check
    except Exception as err:  # noqa: BLE001  # truncated or garbled header
        raise ImageReadError(f"cannot read DICOM file: {_reason(err)}", path=path) from None
    if ds is None:
        try:
            ds = pydicom.dcmread(opened(), force=True)
        except Exception as err:  # noqa: BLE001
            raise ImageReadError(f"not a DICOM file: {_reason(err)}", path=path) from None
        if not any(keyword in ds for keyword in _PIXEL_KEYWORDS):
            raise ImageReadError("not a DICOM image (no 'DICM' header, no pixel data)", path=path)
    _default_syntax(ds)
    return ds


def _default_syntax(ds: FileDataset) -> None:
    """A file without a transfer syntax (no file meta) is read as the dataset was encoded."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return
    implicit, little = getattr(ds, "original_encoding", (None, None))
    if implicit is None or little is None:
        return
    syntax = (
        ImplicitVRLittleEndian
        if implicit
        else ExplicitVRLittleEndian
        if little
        else ExplicitVRBigEndian
    )
    if meta is None:
        ds.file_meta = meta = FileMetaDataset()
    meta.TransferSyntaxUID = syntax


def _number_of_frames(ds: FileDataset, path: str | PathLike[str]) -> int:
    value = ds.get("NumberOfFrames")
    if value is None or str(value).strip() == "":
        return 1
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ImageReadError(f"invalid NumberOfFrames {str(value)!r}", path=path) from None


def _check_decoder(ds: FileDataset, path: str | PathLike[str]) -> None:
    """Name the transfer syntax and the missing plugin instead of pydicom's multi-line error."""
    from pydicom.pixels import get_decoder

    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is None or not syntax.is_compressed:
        return
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise ImageReadError(
            f"compressed DICOM ({syntax.name}, {syntax}): pydicom has no decoder for it",
            path=path,
        ) from None
    if decoder.is_available:
        return
    needs = [text.split(" - requires ", 1)[-1] for text in decoder.missing_dependencies]
    raise ImageReadError(
        f"compressed DICOM ({syntax.name}, {syntax}) cannot be decoded: no decoder plugin is "
        f"installed; install one of: {' | '.join(needs) or 'pylibjpeg, gdcm'}",
        path=path,
    )


def _grayscale(pixels: np.ndarray[Any, Any], ds: FileDataset) -> npt.NDArray[np.float64]:
    """Modality LUT, then the VOI window (or min-max), to float64 in [0, 1]."""
    from pydicom.pixels import apply_modality_lut

    if "PixelData" in ds:  # float pixel data has no modality LUT
        pixels = apply_modality_lut(pixels, ds)
    values = np.asarray(pixels, dtype=np.float64)
    window = _window(ds)
    if window is None:
        return minmax_scale(values)
    center, width = window
    function = str(ds.get("VOILUTFunction", "LINEAR")).strip().upper() or "LINEAR"
    if function == "SIGMOID":
        return 1.0 / (1.0 + np.exp(-4.0 * (values - center) / width))
    if function == "LINEAR_EXACT":
        return np.clip((values - center) / width + 0.5, 0.0, 1.0)
    if width == 1.0:  # LINEAR with width 1 is a threshold (the general formula divides by 0)
        return (values > center - 0.5).astype(np.float64)
    # PS3.3 C.11.2.1.2.1: y = ((x - (c - 0.5)) / (w - 1) + 0.5) clipped to [y_min, y_max]
    return np.clip((values - (center - 0.5)) / (width - 1.0) + 0.5, 0.0, 1.0)


def _window(ds: FileDataset) -> tuple[float, float] | None:
    """The first (center, width) pair, or None when absent or invalid (width < 1)."""
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if center is None or width is None:
        return None
    function = str(ds.get("VOILUTFunction", "LINEAR")).strip().upper()
    smallest = 1.0 if function in ("", "LINEAR") else 0.0  # PS3.3 C.11.2.1.2: w >= 1, or w > 0
    if not (math.isfinite(center) and math.isfinite(width)) or width < smallest or width <= 0:
        return None
    return center, width


def _first(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        items = list(value)  # type: ignore[call-overload]
        if not items:
            return None
        value = items[0]
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def minmax_scale(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Scale to [0, 1] by the finite minimum and maximum; a constant image gives zeros."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros_like(values)
    low, high = float(finite.min()), float(finite.max())
    if high <= low:
        return np.zeros_like(values)
    return np.clip(np.nan_to_num((values - low) / (high - low)), 0.0, 1.0)


def _colour(pixels: np.ndarray[Any, Any], ds: FileDataset) -> FloatImage:
    if pixels.dtype.kind == "f":
        return minmax_scale(pixels.astype(np.float64)).astype(np.float32)
    bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 8)
    top = float(2**bits - 1)
    return np.clip(pixels.astype(np.float64) / top, 0.0, 1.0).astype(np.float32)


def _palette(
    pixels: np.ndarray[Any, Any], ds: FileDataset, path: str | PathLike[str]
) -> FloatImage:
    from pydicom.pixels import apply_color_lut

    try:
        rgb = apply_color_lut(pixels, ds)
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    except Exception as err:  # noqa: BLE001  # missing or inconsistent palette tables
        raise ImageReadError(
            f"cannot apply the DICOM color palette: {_reason(err)}", path=path
        ) from None
    top = float(2 ** (16 if bits not in (8, 16) else bits) - 1)
    return np.clip(rgb.astype(np.float64) / top, 0.0, 1.0).astype(np.float32)


def _reason(err: BaseException) -> str:
    """An exception as one short line (pydicom's messages can span several)."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 300 else text[:297] + "..."
