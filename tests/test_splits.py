"""data.splits: random, scaffold, cluster, column and k-fold splits."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator
from rdkit.ML.Cluster import Butina

from drugforge.core.errors import InputError
from drugforge.molecules.chem import murcko_scaffold
from drugforge.molecules.data.catalog_load import load_dataset
from drugforge.molecules.data.dataset import MoleculeDataset, prepare_dataset
from drugforge.molecules.data.splits import (
    Split,
    butina_clusters,
    kfold,
    make_split,
    scaffold_groups,
)

SHARED = Path(__file__).parents[1].parent / "shared" / "data"
MIRROR = SHARED / "moleculenet"
needs_mirror = pytest.mark.skipif(
    not MIRROR.is_dir(), reason=f"shared MoleculeNet mirror not present at {MIRROR}"
)
needs_moleculeace = pytest.mark.skipif(
    importlib.util.find_spec("MoleculeACE") is None, reason="MoleculeACE package not installed"
)

# small series: 4 scaffolds x 5 analogues plus 4 acyclic molecules
SERIES = [
    f"{core}{tail}"
    for core in ("c1ccccc1", "c1ccncc1", "C1CCCCC1", "c1ccc2ccccc2c1")
    for tail in ("C", "CC", "CCO", "CCN", "CC(=O)O")
] + ["CCO", "CCCC", "CC(C)O", "NCCN"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRUGFORGE_OFFLINE", "1")


@pytest.fixture(scope="module")
def bbbp() -> MoleculeDataset:
    if not MIRROR.is_dir():
        pytest.skip(f"shared MoleculeNet mirror not present at {MIRROR}")
    dataset, _ = prepare_dataset(load_dataset("moleculenet/bbbp", mirror=MIRROR, offline=True))
    return dataset


def parts(split: Split) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return split.train, split.val, split.test


def covers(split: Split, n: int) -> bool:
    return sorted(np.concatenate(parts(split)).tolist()) == list(range(n))


# ----------------------------------------------------------------------------- random


def test_random_sizes_determinism_and_seed() -> None:
    split = make_split(100, "random", seed=3)
    assert split.sizes == (80, 10, 10)
    assert covers(split, 100)
    split.assert_disjoint(100)
    again = make_split(100, "random", seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(parts(split), parts(again)))
    other = make_split(100, "random", seed=4)
    assert not np.array_equal(split.test, other.test)
    assert make_split(SERIES, "random", sizes=(0.5, 0.5)).sizes == (12, 0, 12)


def test_bad_sizes_and_method() -> None:
    with pytest.raises(InputError, match="sum"):
        make_split(10, "random", sizes=(0.8, 0.3, 0.1))
    with pytest.raises(InputError, match="unknown split method 'stratified'; choose from"):
        make_split(10, "stratified")
    with pytest.raises(InputError, match="empty"):
        make_split([], "random")


# ----------------------------------------------------------------------------- scaffold


def scaffold_sets(smiles: list[str], split: Split) -> list[set[str]]:
    return [{murcko_scaffold(smiles[i]) for i in part} for part in parts(split)]


def test_scaffold_split_never_shares_scaffolds_on_series() -> None:
    split = make_split(SERIES, "scaffold", sizes=(0.6, 0.2, 0.2))
    train, val, test = scaffold_sets(SERIES, split)
    assert not (train & val or train & test or val & test)
    assert covers(split, len(SERIES))
    assert len(scaffold_groups(SERIES)) == 5  # four ring scaffolds and the acyclic ''


@needs_mirror
def test_scaffold_split_on_bbbp(bbbp: MoleculeDataset) -> None:
    n = len(bbbp)
    split = make_split(bbbp, "scaffold", seed=0)
    scaffold_of = [murcko_scaffold(s) for s in bbbp.smiles]
    train, val, test = ({scaffold_of[i] for i in part} for part in parts(split))
    assert not (train & val), "a scaffold is shared by train and val"
    assert not (train & test), "a scaffold is shared by train and test"
    assert not (val & test), "a scaffold is shared by val and test"
    assert covers(split, n)
    assert abs(len(split.train) / n - 0.8) < 0.02
    assert abs(len(split.val) / n - 0.1) < 0.02
    assert abs(len(split.test) / n - 0.1) < 0.02
    again = make_split(bbbp, "scaffold", seed=0)
    assert np.array_equal(split.test, again.test) and np.array_equal(split.val, again.val)
    other = make_split(bbbp, "scaffold", seed=1)
    assert not np.array_equal(split.test, other.test)
    assert split.params["n_groups"] == len(scaffold_groups(bbbp.smiles))


# ----------------------------------------------------------------------------- cluster


def rdkit_butina(smiles: list[str], threshold: float) -> list[list[int]]:
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    dists: list[float] = []
    for i in range(1, len(fps)):
        dists.extend(1.0 - s for s in DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i]))
    return [list(c) for c in Butina.ClusterData(dists, len(fps), threshold, isDistData=True)]


def test_butina_matches_rdkit_exactly() -> None:
    for threshold in (0.4, 0.65):
        ours = butina_clusters(SERIES, threshold)
        ref = rdkit_butina(SERIES, threshold)
        assert [c[0] for c in ours] == [c[0] for c in ref]  # same centroids, same order
        assert sorted(sorted(c) for c in ours) == sorted(sorted(c) for c in ref)


@needs_mirror
def test_butina_matches_rdkit_on_real_data(bbbp: MoleculeDataset) -> None:
    smiles = bbbp.smiles[:300]
    assert sorted(sorted(c) for c in butina_clusters(smiles)) == sorted(
        sorted(c) for c in rdkit_butina(smiles, 0.65)
    )


def test_cluster_split_keeps_clusters_whole() -> None:
    split = make_split(SERIES, "cluster", seed=0, sizes=(0.6, 0.2, 0.2), threshold=0.6)
    label = {}
    for name, part in zip(("train", "val", "test"), parts(split)):
        label.update({int(i): name for i in part})
    for cluster in butina_clusters(SERIES, 0.6):
        assert len({label[i] for i in cluster}) == 1
    assert covers(split, len(SERIES))
    assert split.params["threshold"] == 0.6


# ----------------------------------------------------------------------------- column


def test_column_split_with_and_without_val() -> None:
    values = ["train", "test", "valid", "train", "TEST", "train", "val"]
    split = make_split(["C"] * 7, "column:fold", column_values=values)
    assert split.train.tolist() == [0, 3, 5]
    assert split.val.tolist() == [2, 6]
    assert split.test.tolist() == [1, 4]
    no_val = ["train"] * 18 + ["test"] * 2
    carved = make_split(["C"] * 20, "column:split", column_values=no_val, seed=1)
    assert carved.sizes == (16, 2, 2)  # 0.1 / 0.9 of 18 train rows
    assert carved.params["val_carved_from_train"] is True
    assert set(carved.val.tolist()) <= set(range(18))
    other = make_split(["C"] * 20, "column:split", column_values=no_val, seed=2)
    assert not np.array_equal(carved.val, other.val)
    kept = make_split(["C"] * 20, "column:split", column_values=no_val, sizes=(0.9, 0.0, 0.1))
    assert kept.sizes == (18, 0, 2)


def test_column_split_errors() -> None:
    with pytest.raises(InputError, match="values other than train/val/test: 'train0'"):
        make_split(["C"] * 2, "column:split", column_values=["train0", "test"])
    with pytest.raises(InputError, match="no 'test' rows"):
        make_split(["C"] * 2, "column:split", column_values=["train", "train"])
    with pytest.raises(InputError, match="not in the dataset"):
        make_split(["C"] * 2, "column:split")


@needs_moleculeace
def test_column_split_on_moleculeace() -> None:
    dataset, _ = prepare_dataset(load_dataset("moleculeace/CHEMBL2835_Ki"))
    split = make_split(dataset, "column:split", seed=0)
    labels = dataset.extra["split"]
    assert set(labels[split.test]) == {"test"}
    assert set(labels[np.concatenate([split.train, split.val])]) == {"train"}
    n_train = int((labels == "train").sum())
    assert len(split.val) == round(n_train / 9)
    assert covers(split, len(dataset))


# ----------------------------------------------------------------------------- JSON, k-fold


def test_json_round_trip() -> None:
    split = make_split(SERIES, "scaffold", seed=5)
    text = split.to_json()
    back = Split.from_json(text)
    assert all(np.array_equal(a, b) for a, b in zip(parts(split), parts(back)))
    assert (back.method, back.seed, back.params) == ("scaffold", 5, split.params)
    data = json.loads(text)
    assert data["sizes"] == {
        "train": len(split.train),
        "val": len(split.val),
        "test": len(split.test),
    }
    assert split.to_json_dict()["format"] == 1
    with pytest.raises(InputError, match="not a drugforge split"):
        Split.from_json('{"train": [1]}')
    with pytest.raises(InputError, match="not valid JSON"):
        Split.from_json("{")


def test_assert_disjoint_catches_overlap() -> None:
    def split(train: list[int], val: list[int], test: list[int]) -> Split:
        return Split(np.array(train), np.array(val, dtype=int), np.array(test), "random")

    split([0, 1], [2], [3]).assert_disjoint(4)
    with pytest.raises(ValueError, match="'train' and 'test' share 1"):
        split([0, 1], [2], [1]).assert_disjoint()
    with pytest.raises(ValueError, match="outside"):
        split([0, 9], [], [1]).assert_disjoint(4)
    with pytest.raises(ValueError, match="repeats"):
        split([0, 0], [], [1]).assert_disjoint()


def test_kfold_random_partitions() -> None:
    folds = kfold(23, k=5, seed=0)
    assert len(folds) == 5
    tests = np.concatenate([f.test for f in folds])
    assert sorted(tests.tolist()) == list(range(23))
    for f in folds:
        assert covers(f, 23) and len(f.val) == 0
    with pytest.raises(InputError, match="k >= 2"):
        kfold(10, k=1)


def test_kfold_scaffold_keeps_scaffolds_in_one_fold_and_carves_val() -> None:
    folds = kfold(SERIES, k=3, method="scaffold", seed=0, val_fraction=0.2)
    seen: dict[str, int] = {}
    for f, split in enumerate(folds):
        for i in split.test:
            key = murcko_scaffold(SERIES[int(i)])
            assert seen.setdefault(key, f) == f
        train, val, _ = scaffold_sets(SERIES, split)
        assert not train & val
        assert len(split.val) > 0 and covers(split, len(SERIES))
    assert sorted(np.concatenate([f.test for f in folds]).tolist()) == list(range(len(SERIES)))
    with pytest.raises(InputError, match="cannot make 10 non-empty folds"):
        kfold(SERIES, k=10, method="scaffold")
