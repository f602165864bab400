"""data.dataset: label validation, invalid rows, duplicates, task inference, hashing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from drugforge.core.errors import InputError
from drugforge.molecules.chem import StandardizerConfig
from drugforge.molecules.data.dataset import MoleculeDataset, PrepReport, prepare_dataset
from drugforge.molecules.data.io import MolTable, read_molecules

SHARED = Path(__file__).parents[1].parent / "shared" / "data"


def table_from(tmp_path: Path, text: str, name: str = "data.csv", **kwargs: object) -> MolTable:
    path = tmp_path / name
    path.write_text(text)
    return read_molecules(path, **kwargs)  # type: ignore[arg-type]


def test_regression_basic(tmp_path: Path) -> None:
    table = table_from(tmp_path, "smiles,y\nOCC,1.5\nc1ccccc1,2.5\n[Na+].CC(=O)[O-],-1\n")
    dataset, report = prepare_dataset(table)
    assert dataset.smiles == ["CCO", "c1ccccc1", "CC(=O)O"]
    assert dataset.y.shape == (3, 1)
    assert dataset.y[:, 0].tolist() == [1.5, 2.5, -1.0]
    assert dataset.task == "regression"
    assert dataset.target_names == ["y"]
    assert dataset.source_rows.tolist() == [0, 1, 2]
    assert isinstance(report, PrepReport)
    assert (report.n_input, report.n_output, report.n_invalid) == (3, 3, 0)
    assert report.task == "regression" and report.task_inferred


def test_classification_inferred_and_forced(tmp_path: Path) -> None:
    table = table_from(tmp_path, "smiles,active\nCCO,1\nCCC,0\nCCN,1\n")
    assert prepare_dataset(table)[0].task == "classification"
    forced, report = prepare_dataset(table, task="regression")
    assert forced.task == "regression" and not report.task_inferred


def test_classification_needs_binary_labels_and_two_classes(tmp_path: Path) -> None:
    table = table_from(tmp_path, "smiles,active\nCCO,1\nCCC,2\nCCN,1\n")
    with pytest.raises(InputError) as info:
        prepare_dataset(table, task="classification")
    assert str(info.value).startswith(f"{table.path}:3: classification labels must be 0 or 1")
    single = table_from(tmp_path, "smiles,active\nCCO,1\nCCC,1\n", name="b.csv")
    with pytest.raises(InputError, match=r"target 'active' has a single class \(1\)"):
        prepare_dataset(single)


def test_non_numeric_target_names_line_and_column(tmp_path: Path) -> None:
    table = table_from(tmp_path, "smiles,y\nCCO,1\nCCC,abc\nCCN,3\n")
    with pytest.raises(InputError) as info:
        prepare_dataset(table)
    assert str(info.value) == f"{table.path}:3: target column 'y' has a non-numeric value 'abc'"


def test_empty_strings_are_missing_and_all_missing_target_fails(tmp_path: Path) -> None:
    table = table_from(tmp_path, "smiles,a,b\nCCO,1,\nCCC,2,\n", target_columns=["a", "b"])
    with pytest.raises(InputError, match="target column 'b' has no values"):
        prepare_dataset(table)


def test_invalid_smiles_error_lists_lines(tmp_path: Path) -> None:
    rows = ["CCO,1", "C1CC,2", "CCC,3", ",4", "c1cccc1,5", "CCN,6"]
    table = table_from(tmp_path, "smiles,y\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as info:
        prepare_dataset(table)
    assert str(info.value) == (
        f"{table.path}: 3 invalid SMILES at lines 3, 5, 6 (first: 'C1CC': invalid SMILES); "
        "fix them or use --skip-invalid"
    )
    dataset, report = prepare_dataset(table, skip_invalid=True)
    assert dataset.smiles == ["CCO", "CCC", "CCN"]
    assert dataset.source_rows.tolist() == [0, 2, 5]
    assert report.n_invalid == 3
    assert report.invalid == [
        (3, "C1CC", "invalid SMILES"),
        (5, "", "empty SMILES"),
        (6, "c1cccc1", "invalid SMILES"),
    ]


def test_invalid_list_is_capped_at_ten(tmp_path: Path) -> None:
    table = table_from(tmp_path, "smiles,y\n" + "C1CC,1\n" * 12 + "CCO,1\n")
    with pytest.raises(InputError, match=r"12 invalid SMILES at lines 2, 3, .*, 11 and 2 more"):
        prepare_dataset(table)


def test_heavy_atom_limit_makes_rows_invalid(tmp_path: Path) -> None:
    table = table_from(tmp_path, "smiles,y\nCCO,1.5\nCCCCCCCCCCCC,2.5\n")
    config = StandardizerConfig(max_heavy_atoms=10)
    dataset, report = prepare_dataset(table, standardizer=config, skip_invalid=True)
    assert dataset.smiles == ["CCO"]
    assert report.invalid == [(3, "CCCCCCCCCCCC", "molecule has 12 heavy atoms (limit 10)")]


def test_rows_without_labels_are_dropped(tmp_path: Path) -> None:
    table = table_from(
        tmp_path, "smiles,a,b\nCCO,1.5,\nCCC,,\nCCN,,0.5\n", target_columns=["a", "b"]
    )
    dataset, report = prepare_dataset(table)
    assert dataset.smiles == ["CCO", "CCN"]
    assert report.n_missing_labels == 1
    assert np.isnan(dataset.y[0, 1]) and np.isnan(dataset.y[1, 0])


DUPLICATES = "smiles,y\nCCO,1.0\nOCC,2.0\nc1ccccc1,5\nCCO,6.0\n[Na+].[O-]C(C)=O,3\n"


@pytest.mark.parametrize(("dedupe", "ethanol"), [("mean", 3.0), ("median", 2.0), ("first", 1.0)])
def test_duplicates_merged_by_standardized_smiles(
    tmp_path: Path, dedupe: str, ethanol: float
) -> None:
    table = table_from(tmp_path, DUPLICATES)
    dataset, report = prepare_dataset(table, dedupe=dedupe)  # type: ignore[arg-type]
    assert dataset.smiles == ["CCO", "c1ccccc1", "CC(=O)O"]
    assert dataset.y[:, 0].tolist() == [ethanol, 5.0, 3.0]
    assert dataset.source_rows.tolist() == [0, 2, 4]
    assert report.n_duplicates_merged == 2
    assert report.conflicts == [
        {"smiles": "CCO", "target": "y", "lines": [2, 3, 5], "values": [1.0, 2.0, 6.0]}
    ]


def test_dedupe_none_keeps_rows_and_threshold_controls_conflicts(tmp_path: Path) -> None:
    table = table_from(tmp_path, DUPLICATES)
    kept, report = prepare_dataset(table, dedupe="none")
    assert len(kept) == 5 and report.n_duplicates_merged == 0
    assert any("duplicate" in issue for issue in report.label_issues)
    _, lenient = prepare_dataset(table, conflict_threshold=10.0)
    assert lenient.conflicts == []


def test_classification_majority_vote_and_conflicts(tmp_path: Path) -> None:
    text = "smiles,a\nCCO,1\nOCC,1\nCCO,0\nCCC,0\nCCC,1\nCCN,0\n"
    dataset, report = prepare_dataset(table_from(tmp_path, text))
    assert dataset.task == "classification"
    # CCO: 1,1,0 -> 1; CCC: tie 0,1 -> first label (0)
    assert dataset.y[:, 0].tolist() == [1.0, 0.0, 0.0]
    assert [c["smiles"] for c in report.conflicts] == ["CCO", "CCC"]


def test_extra_columns_follow_first_occurrence(tmp_path: Path) -> None:
    text = "smiles,y,cliff_mol,split\nCCO,1,1,train\nCCC,2,0,test\nOCC,3,0,test\n"
    dataset, _ = prepare_dataset(table_from(tmp_path, text))
    assert sorted(dataset.extra) == ["cliff_mol", "split"]
    assert dataset.extra["split"].tolist() == ["train", "test"]
    assert dataset.extra["cliff_mol"].tolist() == [1, 0]


def test_no_targets_is_an_error(tmp_path: Path) -> None:
    table = table_from(tmp_path, "smiles\nCCO\n")
    with pytest.raises(InputError, match="no target columns"):
        prepare_dataset(table)


def test_bad_options(tmp_path: Path) -> None:
    table = table_from(tmp_path, "smiles,y\nCCO,1\nCCC,2\n")
    with pytest.raises(InputError, match="unknown dedupe 'max'"):
        prepare_dataset(table, dedupe="max")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown task"):
        prepare_dataset(table, task="ranking")  # type: ignore[arg-type]


def make_dataset() -> MoleculeDataset:
    return MoleculeDataset(
        smiles=["CCO", "CCC", "CCN"],
        y=np.array([[1.0, np.nan], [2.0, 0.0], [3.0, 1.0]]),
        target_names=["a", "b"],
        task="regression",
        source_rows=np.array([0, 1, 2]),
        extra={"split": np.array(["train", "test", "train"], dtype=object)},
    )


def test_subset_and_validation() -> None:
    dataset = make_dataset()
    sub = dataset.subset([2, 0])
    assert sub.smiles == ["CCN", "CCO"]
    assert sub.y[:, 0].tolist() == [3.0, 1.0]
    assert sub.source_rows.tolist() == [2, 0]
    assert sub.extra["split"].tolist() == ["train", "train"]
    assert len(dataset.subset(np.array([], dtype=int))) == 0
    with pytest.raises(IndexError):
        dataset.subset([3])
    with pytest.raises(ValueError, match="y has shape"):
        MoleculeDataset(["CCO"], np.zeros((2, 1)), ["a"], "regression", np.array([0]))


def test_data_hash_is_stable_and_sensitive() -> None:
    dataset = make_dataset()
    digest = dataset.data_hash()
    assert digest == make_dataset().data_hash()
    assert len(digest) == 64
    changed = make_dataset()
    changed.y[0, 0] = 1.0000001
    assert changed.data_hash() != digest
    renamed = make_dataset()
    renamed.smiles[0] = "OCC"
    assert renamed.data_hash() != digest
    filled = make_dataset()
    filled.y[0, 1] = 0.0  # NaN and 0.0 must hash differently
    assert filled.data_hash() != digest
    assert dataset.subset([0, 1, 2]).data_hash() == digest


def test_report_to_dict_is_json_ready(tmp_path: Path) -> None:
    import json

    table = table_from(tmp_path, "smiles,y\nCCO,1\nC1CC,2\nCCO,5\n")
    _, report = prepare_dataset(table, skip_invalid=True)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["invalid"] == [[3, "C1CC", "invalid SMILES"]]
    assert data["n_duplicates_merged"] == 1
    assert "1 invalid skipped" in report.summary()


@pytest.mark.skipif(not (SHARED / "moleculenet").is_dir(), reason="shared data folder not present")
def test_tox21_multitask_with_missing_labels() -> None:
    table = read_molecules(SHARED / "moleculenet" / "tox21.csv")
    assert len(table.target_columns) == 12
    dataset, report = prepare_dataset(table, skip_invalid=True)
    assert dataset.task == "classification"
    assert dataset.y.shape == (len(dataset), 12)
    assert np.isnan(dataset.y).any()
    assert set(np.unique(dataset.y[~np.isnan(dataset.y)])) == {0.0, 1.0}
    assert report.n_input == 7831
    assert report.n_output + report.n_invalid + report.n_duplicates_merged == 7831
