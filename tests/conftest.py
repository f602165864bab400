"""Shared fixtures: real data read in place from ../shared/data and from installed packages."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
MOLECULENET = SHARED_DATA / "moleculenet"
ADMET = SHARED_DATA / "admet"

os.environ.setdefault("DRUGFORGE_OFFLINE", "1")  # tests never touch the network
# pytest-xdist runs one worker per core: torch's own thread pool on top of that oversubscribes the
# cores and made small trainings ~100x slower; one thread per worker is the fast setting
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import torch

torch.set_num_threads(1)


def moleculeace_dir() -> Path | None:
    spec = importlib.util.find_spec("MoleculeACE")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "Data" / "benchmark_data"
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def moleculenet_dir() -> Path:
    if not MOLECULENET.is_dir():
        pytest.skip(f"shared data not found at {MOLECULENET}")
    return MOLECULENET


@pytest.fixture(scope="session")
def admet_dir() -> Path:
    """TDC ADMET group CSVs (``smiles,y``) in ../shared/data/admet."""
    if not ADMET.is_dir():
        pytest.skip(f"shared data not found at {ADMET}")
    return ADMET


@pytest.fixture(scope="session")
def moleculeace_data() -> Path:
    path = moleculeace_dir()
    if path is None:
        pytest.skip("MoleculeACE package data not installed (make install)")
    return path


@pytest.fixture()
def esol_csv(moleculenet_dir: Path, tmp_path: Path) -> Path:
    """200 real ESOL rows (log solubility in column ``logp``, a misnomer kept from the source)."""
    frame = pd.read_csv(moleculenet_dir / "esol.csv").head(200)
    path = tmp_path / "esol200.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture()
def bbbp_csv(moleculenet_dir: Path, tmp_path: Path) -> Path:
    """300 real BBBP rows (binary target ``p_np``), both classes present."""
    frame = pd.read_csv(moleculenet_dir / "bbbp.csv").sample(300, random_state=0)
    path = tmp_path / "bbbp300.csv"
    frame.to_csv(path, index=False)
    return path


def moses_dir() -> Path | None:
    """molsets' bundled MOSES data (train/test/test_scaffolds CSVs and reference statistics).
    Located without importing the package, whose own imports pull in missing dependencies."""
    spec = importlib.util.find_spec("moses")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "dataset" / "data"
    return path if (path / "test.csv.gz").is_file() else None


@pytest.fixture(scope="session")
def moses_data() -> Path:
    path = moses_dir()
    if path is None:
        pytest.skip("MOSES data (molsets package) not installed (make install)")
    return path


@pytest.fixture(scope="session")
def moses_test_sample(moses_data: Path) -> list[str]:
    """2,000 MOSES test SMILES drawn with a fixed seed."""
    frame = pd.read_csv(moses_data / "test.csv.gz")
    return frame["SMILES"].sample(2000, random_state=0).tolist()


#: the 33 tokens of ESM-2's vocabulary, in its order (a tiny random ESM for the protein-LM tests)
ESM_VOCAB = ["<cls>", "<pad>", "<eos>", "<unk>", *"LAGVSERTIDPKQNFYMHWCXBUZO.-", "<null_1>",
             "<mask>"]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_esm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    transformers = pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("tiny_esm")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(ESM_VOCAB) + "\n")
    config = transformers.EsmConfig(
        vocab_size=33,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        pad_token_id=1,
        mask_token_id=32,
        position_embedding_type="absolute",  # fails loudly beyond 64 positions: tests windows
    )
    torch.manual_seed(0)
    transformers.EsmModel(config, add_pooling_layer=False).save_pretrained(folder)
    transformers.EsmTokenizer(vocab_file=str(vocab)).save_pretrained(folder)
    return folder
