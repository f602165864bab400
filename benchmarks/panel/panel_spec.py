"""What the shipped endpoint panel is made of: data sets, endpoints, and the one model recipe.

Shared by ``train_panel.py`` (builds and ships the models), ``compare_chemprop.py`` (the same
recipe on more scaffold splits, beside Chemprop) and ``panel_speed.py``.

The recipe was chosen for accuracy *and* speed (measurements in ``benchmarks/results/panel/``):
LightGBM on count ECFP4 (2048 bits) next to 17 cheap RDKit descriptors. The full RDKit
descriptor set costs ~6 ms per molecule; these 17 cost a few microseconds each except
``MolLogP``/``MolMR`` (Crippen atom typing), which RDKit caches on the molecule, so a profile that
has already computed cLogP pays nothing more for them. Without the descriptors the scaffold-split
test RMSE of ESOL rose from 0.87 to 1.10 and of FreeSolv from 2.16 to 3.21 (seed 0).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1]
REPO = BENCH.parent
SHARED_MOLECULENET = REPO.parent / "shared" / "data" / "moleculenet"
SHARED_ADMET = REPO.parent / "shared" / "data" / "admet"
RESOURCES = REPO / "src" / "drugforge" / "resources" / "panel"
RESULTS = BENCH / "results" / "panel"
WORK = BENCH / "work" / "panel"

SEED = 0

#: Cheap RDKit descriptors (names from ``Descriptors._descList``), see the module docstring.
DESCRIPTORS: tuple[str, ...] = (
    "MolLogP", "MolMR", "TPSA", "MolWt", "HeavyAtomCount", "NHOHCount", "NOCount",
    "NumHeteroatoms", "RingCount", "NumAromaticRings", "NumAliphaticRings", "FractionCSP3",
    "LabuteASA", "HallKierAlpha", "Kappa1", "Chi0v", "Chi1v",
)  # fmt: skip

#: drugforge ``gbm`` parameters given on the command line (``--model-param gbm.KEY=JSON``).
GBM_PARAMS: dict[str, Any] = {
    "featurizer": ["ecfp", "rdkit2d"],
    "featurizer_params": [
        {"radius": 2, "size": 2048, "counts": True},
        {"names": list(DESCRIPTORS)},
    ],
    "learning_rate": 0.1,
    "n_jobs": 1,
}


@dataclass(frozen=True)
class Endpoint:
    name: str  # panel column, e.g. "tox21_NR-AR"
    target: str  # column of the catalog data set
    units: str
    description: str


@dataclass(frozen=True)
class Group:
    """One shipped model (one ``drugforge train`` run) and the endpoints it predicts.

    MoleculeNet groups train on a catalog name through the shared mirror; TDC ADMET groups
    (``source="tdc"``) train on their CSV file in ``../shared/data/admet`` with ``--model auto``:
    the model family is chosen by cross-validation on scaffold folds of the training part.
    """

    name: str
    dataset: str  # drugforge catalog name, or the TDC dataset name (file stem)
    file: str  # file in the shared MoleculeNet or ADMET folder
    task: str
    endpoints: tuple[Endpoint, ...]
    source: str = "moleculenet"  # moleculenet | tdc

    @property
    def data_path(self) -> Path:
        return (SHARED_ADMET if self.source == "tdc" else SHARED_MOLECULENET) / self.file

    @property
    def data_arg(self) -> str:
        """What ``drugforge train`` is given: the catalog name or the CSV file."""
        return str(self.data_path) if self.source == "tdc" else self.dataset


_TOX21 = (
    ("NR-AR", "androgen receptor agonism"),
    ("NR-AR-LBD", "androgen receptor ligand-binding domain agonism"),
    ("NR-AhR", "aryl hydrocarbon receptor agonism"),
    ("NR-Aromatase", "aromatase inhibition"),
    ("NR-ER", "estrogen receptor alpha agonism"),
    ("NR-ER-LBD", "estrogen receptor alpha ligand-binding domain agonism"),
    ("NR-PPAR-gamma", "PPAR-gamma agonism"),
    ("SR-ARE", "antioxidant response element (oxidative stress) activation"),
    ("SR-ATAD5", "ATAD5 (genotoxicity) activation"),
    ("SR-HSE", "heat shock response activation"),
    ("SR-MMP", "mitochondrial membrane potential disruption"),
    ("SR-p53", "p53 (DNA damage) response activation"),
)

GROUPS: tuple[Group, ...] = (
    Group(
        "tox21", "moleculenet/tox21", "tox21.csv", "classification",
        tuple(
            Endpoint(f"tox21_{t}", t, "probability", f"Tox21 {t}: P(active), {d}")
            for t, d in _TOX21
        ),
    ),
    Group(
        "bbbp", "moleculenet/bbbp", "bbbp.csv", "classification",
        (Endpoint("bbbp", "p_np", "probability",
                  "blood-brain barrier penetration: P(penetrating), BBBP p_np"),),
    ),
    Group(
        "esol", "moleculenet/esol", "esol.csv", "regression",
        (Endpoint("esol_logS", "measured log solubility in mols per litre", "log10(mol/L)",
                  "aqueous solubility logS (ESOL, Delaney)"),),
    ),
    Group(
        "freesolv", "moleculenet/freesolv", "freesolv.csv", "regression",
        (Endpoint("freesolv_dG", "expt", "kcal/mol",
                  "hydration free energy (FreeSolv, experimental)"),),
    ),
)  # fmt: skip


def train_command(group: Group, out: Path, seed: int = SEED) -> list[str]:
    """The ``drugforge train`` command line that builds ``group``'s model."""
    cmd = ["drugforge", "train", group.data_arg, "--split", "scaffold", "--seed", str(seed)]
    if group.source == "tdc":
        cmd += ["--smiles-column", "smiles", "--target", "y", "--task", group.task,
                "--model", "auto", "--auto-pool", ",".join(TDC_POOL[group.task])]
    else:
        cmd += ["--model", "gbm"]
    cmd += ["--skip-invalid", "--quiet", "--force", "--out", str(out)]
    for key, value in GBM_PARAMS.items():
        cmd += ["--model-param", f"gbm.{key}={json.dumps(value, separators=(',', ':'))}"]
    return cmd


#: ``--auto-pool`` of the TDC groups: LightGBM on the shared features (count ECFP4 + 17 cheap
#: descriptors). ``auto`` still cross-validates on scaffold folds of the training part: on
#: imbalanced classification data it tries the class-weighted variant beside the plain one and
#: keeps the better, and it fits the probability calibration on the out-of-fold predictions.
#: The kernel models and networks are left out of the panel for its budget: the whole shipped
#: panel stays under the 25 MB file limit (a Tanimoto SVM or GP stores its training
#: fingerprints: 4-20 MB per endpoint here) and runs on every profiled molecule from features
#: computed once. ``benchmarks/admet_bench.py`` scores the full ``auto`` pool on the same
#: splits, so what the budget costs in accuracy is measured.
TDC_POOL: dict[str, tuple[str, ...]] = {
    "regression": ("gbm",),
    "classification": ("gbm",),
}


def _tdc_groups() -> tuple[Group, ...]:
    sys.path.insert(0, str(BENCH))
    from admet_sets import SETS

    return tuple(Group(s.column, s.file, f"{s.file}.csv", s.task,
                       (Endpoint(s.column, "y", s.units, f"{s.description} (TDC {s.file})"),),
                       source="tdc") for s in SETS)


GROUPS = GROUPS + _tdc_groups()


def data_env() -> dict[str, str]:
    """Environment for the training runs: the shared mirror, never the network, one thread."""
    env = dict(os.environ)
    env.update(DRUGFORGE_DATA_MIRROR=str(SHARED_MOLECULENET), DRUGFORGE_OFFLINE="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env
