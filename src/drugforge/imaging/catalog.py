"""MedMNIST v2/v3 (Yang et al. 2023) in the dataset catalog: the 2-D image sets, found in a local
mirror or the cache, or downloaded from their canonical Zenodo record when online.

Files are the official ``.npz`` (``train_images``, ``train_labels``, ``val_*``, ``test_*``):
``<flag>.npz`` at 28 pixels and ``<flag>_<size>.npz`` at 64, 128 and 224 (MedMNIST+). A mirror
folder may hold them directly or under ``medmnist/`` or ``imaging/``; a file named
``<flag>_trainval.npz`` (the train and validation parts only) is accepted as the 28-pixel file.
``drugforge image train pneumoniamnist`` resolves the name this way.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from drugforge.core.datafiles import cache_root, download, env_flag, find_in, mirror_dirs
from drugforge.core.errors import InputError

__all__ = ["MEDMNIST", "MedMNISTInfo", "medmnist_info", "resolve_medmnist"]

#: the MedMNIST v3 record (medmnist 3.0): every 2-D set at 28, 64, 128 and 224 pixels
ZENODO = "https://zenodo.org/records/10519652/files/"
CITATION = ("Yang J. et al. MedMNIST v2: a large-scale lightweight benchmark for 2D and 3D "
            "biomedical image classification. Sci. Data 2023, 10, 41.")  # fmt: skip
SIZES = (28, 64, 128, 224)


@dataclass(frozen=True)
class MedMNISTInfo:
    flag: str  # the official file stem, e.g. "pneumoniamnist"
    description: str
    task: str  # "binary-class", "multi-class", "ordinal-regression", "multi-label"
    labels: tuple[str, ...]  # class names, index order
    channels: int
    n_images: tuple[int, int, int]  # train, val, test
    md5_28: str = ""  # of the official 28-pixel file, where known

    @property
    def name(self) -> str:
        return f"medmnist/{self.flag}"

    def url(self, size: int = 28) -> str:
        return f"{ZENODO}{self._stem(size)}.npz?download=1"

    def _stem(self, size: int) -> str:
        return self.flag if size == 28 else f"{self.flag}_{size}"

    def file_names(self, size: int = 28) -> tuple[str, ...]:
        names = [f"{self._stem(size)}.npz"]
        if size == 28:
            names.append(f"{self.flag}_trainval.npz")
        return tuple(names)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "task": self.task,
                "classes": {str(i): c for i, c in enumerate(self.labels)},
                "channels": self.channels, "n_images": dict(zip(("train", "val", "test"),
                                                                self.n_images, strict=True)),
                "sizes": list(SIZES), "url": self.url(28), "license": "CC BY 4.0",
                "citation": CITATION}  # fmt: skip


def _info(flag: str, description: str, task: str, labels: tuple[str, ...], channels: int,
          n: tuple[int, int, int], md5: str = "") -> MedMNISTInfo:  # fmt: skip
    return MedMNISTInfo(flag, description, task, labels, channels, n, md5)


MEDMNIST: dict[str, MedMNISTInfo] = {i.flag: i for i in (
    _info("pneumoniamnist", "paediatric chest X-rays: pneumonia vs normal", "binary-class",
          ("normal", "pneumonia"), 1, (4708, 524, 624), "28209eda62fecd6e6a2d98b1501bb15f"),
    _info("breastmnist", "breast ultrasound: malignant vs normal or benign", "binary-class",
          ("malignant", "normal, benign"), 1, (546, 78, 156)),
    _info("pathmnist", "colon pathology (H&E patches), 9 tissue types", "multi-class",
          ("adipose", "background", "debris", "lymphocytes", "mucus", "smooth muscle",
           "normal colon mucosa", "cancer-associated stroma",
           "colorectal adenocarcinoma epithelium"), 3, (89996, 10004, 7180),
          "a8b06965200029087d5bd730944a56c1"),
    _info("dermamnist", "dermatoscopy, 7 skin lesion types", "multi-class",
          ("actinic keratoses and intraepithelial carcinoma", "basal cell carcinoma",
           "benign keratosis-like lesions", "dermatofibroma", "melanoma", "melanocytic nevi",
           "vascular lesions"), 3, (7007, 1003, 2005)),
    _info("octmnist", "retinal OCT, 4 classes", "multi-class",
          ("choroidal neovascularization", "diabetic macular edema", "drusen", "normal"), 1,
          (97477, 10832, 1000)),
    _info("retinamnist", "fundus photographs, diabetic retinopathy grade 0-4", "ordinal-regression",
          ("0", "1", "2", "3", "4"), 3, (1080, 120, 400)),
    _info("bloodmnist", "blood cell microscopy, 8 cell types", "multi-class",
          ("basophil", "eosinophil", "erythroblast", "immature granulocytes", "lymphocyte",
           "monocyte", "neutrophil", "platelet"), 3, (11959, 1712, 3421)),
    _info("tissuemnist", "kidney cortex microscopy, 8 cell types", "multi-class",
          tuple(str(i) for i in range(8)), 1, (165466, 23640, 47280)),
    _info("organamnist", "abdominal CT, axial view, 11 organs", "multi-class",
          tuple(str(i) for i in range(11)), 1, (34561, 6491, 17778)),
    _info("organcmnist", "abdominal CT, coronal view, 11 organs", "multi-class",
          tuple(str(i) for i in range(11)), 1, (12975, 2392, 8216)),
    _info("organsmnist", "abdominal CT, sagittal view, 11 organs", "multi-class",
          tuple(str(i) for i in range(11)), 1, (13932, 2452, 8827)),
    _info("chestmnist", "chest X-rays, 14 findings (multi-label: not trainable by `image "
          "train`, which is single-label)", "multi-label",
          tuple(str(i) for i in range(14)), 1, (78468, 11219, 22433)),
)}


def medmnist_info(name: str) -> MedMNISTInfo:
    """The entry for ``pneumoniamnist``, ``PneumoniaMNIST`` or ``medmnist/pneumoniamnist``."""
    key = name.lower().removeprefix("medmnist/")
    if key in MEDMNIST:
        return MEDMNIST[key]
    close = difflib.get_close_matches(key, MEDMNIST, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise InputError(f"unknown MedMNIST dataset '{name}'{hint}; choose from: "
                     f"{', '.join(sorted(MEDMNIST))}")  # fmt: skip


def _md5(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


def resolve_medmnist(
    name: str, size: int = 28, *, mirror: str | PathLike[str] | None = None,
    cache_dir: str | PathLike[str] | None = None, offline: bool | None = None,
) -> Path:  # fmt: skip
    """The ``.npz`` of a MedMNIST set at ``size`` pixels: mirror, cache, then download."""
    info = medmnist_info(name)
    if size not in SIZES:
        raise InputError(f"MedMNIST comes in sizes {', '.join(map(str, SIZES))}, not {size}")
    names = info.file_names(size)
    looked: list[str] = []
    for folder in mirror_dirs(mirror):
        for place in (folder, folder / "medmnist", folder / "imaging"):
            hit = find_in(place, names)
            if hit is not None:
                return hit
        looked.append(f"mirror {folder}")
    cache = cache_root(cache_dir) / "medmnist"
    hit = find_in(cache, names)
    if hit is not None:
        return hit
    looked.append(f"cache {cache}")
    if offline is None:
        offline = env_flag("DRUGFORGE_OFFLINE")
    if offline:
        raise InputError(f"MedMNIST '{info.flag}' ({size} px) not found offline; looked in: "
                         f"{'; '.join(looked)}. Put {names[0]} in a folder and set "
                         f"DRUGFORGE_DATA_MIRROR, or allow downloads from {info.url(size)}")  # fmt: skip
    dest = cache / names[0]
    download(info.url(size), dest)
    if size == 28 and info.md5_28 and _md5(dest) != info.md5_28:
        dest.unlink(missing_ok=True)
        raise InputError(f"downloaded {names[0]} does not match its published MD5 "
                         f"{info.md5_28}; removed it", path=dest)  # fmt: skip
    return dest
