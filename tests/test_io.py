"""data.io: every input format, column detection, error messages and atomic writes."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem

from drugforge.core.errors import InputError
from drugforge.molecules.data.io import MolTable, detect_format, read_molecules, write_table


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# ----------------------------------------------------------------------------- CSV and friends


def test_csv_columns_types_and_line_numbers(tmp_path: Path) -> None:
    # blank line 3 and a quoted value spanning lines 5-6 must not shift later line numbers
    text = 'id,smiles,pIC50,split\n1,CCO,5.1,train\n\n2,"c1ccccc1",6,test\n3,"C\nC",,train\n4,CCN,7,test\n'
    table = read_molecules(write(tmp_path / "data.csv", text))
    assert isinstance(table, MolTable)
    assert list(table.frame.columns) == ["id", "smiles", "pIC50", "split"]
    assert table.smiles_column == "smiles"
    assert table.target_columns == ["pIC50"]
    assert table.id_column == "id"
    assert table.line_numbers.tolist() == [2, 4, 5, 7]
    assert table.line_kind == "line"
    assert table.smiles == ["CCO", "c1ccccc1", "C\nC", "CCN"]
    assert np.isnan(table.frame["pIC50"].iloc[2])
    assert table.frame["pIC50"].dtype == np.float64
    assert table.location(3) == f"{tmp_path / 'data.csv'}:7"
    assert len(table) == 4


def test_one_column_csv_keeps_blank_and_empty_rows(tmp_path: Path) -> None:
    # in a SMILES-only CSV a blank line or "" between rows is an (empty) input row: it is kept
    # with its line number so a row-wise job marks it; blank lines around the data are layout
    text = '\nsmiles\nCCO\n\n""\nc1ccccc1\n\n\n'
    table = read_molecules(write(tmp_path / "one.csv", text))
    assert table.smiles == ["CCO", "", "", "c1ccccc1"]
    assert table.line_numbers.tolist() == [3, 4, 5, 6]


@pytest.mark.parametrize("name", ["SMILES", "Smiles", "canonical_smiles", "mol", "Molecule"])
def test_smiles_column_found_by_name(tmp_path: Path, name: str) -> None:
    table = read_molecules(write(tmp_path / "a.csv", f"value,{name}\n1.5,CCO\n2.5,CCC\n"))
    assert table.smiles_column == name
    assert table.target_columns == ["value"]


def test_smiles_column_found_by_content(tmp_path: Path) -> None:
    text = "compound,structure_text,y\nfoo,CCO,1\nbar,c1ccccc1,2\nbaz,CC(=O)O,3\n"
    table = read_molecules(write(tmp_path / "a.csv", text))
    assert table.smiles_column == "structure_text"


def test_target_detection_skips_ids_and_markers(tmp_path: Path) -> None:
    text = (
        "Unnamed: 0,smiles,exp_mean [nM],y,cliff_mol,split,mol_id,Compound ID,num,logS,n\n"
        "0,CCO,100,-2,1,train,7,5,1,0.5,1\n"
        "1,CCC,10,-1,0,test,9,6,2,0.7,2\n"
        "2,CCN,1,0,0,train,3,8,3,0.1,3\n"
    )
    table = read_molecules(write(tmp_path / "a.csv", text))
    assert table.target_columns == ["y", "logS", "n"]


def test_mostly_numeric_text_column_is_still_a_target(tmp_path: Path) -> None:
    table = read_molecules(write(tmp_path / "a.csv", "smiles,y\nCCO,1\nCCC,x\nCCN,3\n"))
    assert table.target_columns == ["y"]  # prepare_dataset then names line 3


def test_explicit_columns_case_insensitive_and_empty_targets(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "Smiles,Act,Other\nCCO,1,2\nCCC,3,4\n")
    table = read_molecules(path, smiles_column="smiles", target_columns=["act"])
    assert table.smiles_column == "Smiles"
    assert table.target_columns == ["Act"]
    assert read_molecules(path, target_columns=[]).target_columns == []
    assert read_molecules(path, target_columns="Other").target_columns == ["Other"]


def test_missing_value_tokens(tmp_path: Path) -> None:
    table = read_molecules(write(tmp_path / "a.csv", "smiles,y\nNA,1\nCCO,NaN\nCCC,null\nCCN,2\n"))
    assert table.smiles == ["", "CCO", "CCC", "CCN"]
    assert np.isnan(table.frame["y"].to_numpy()[1:3]).all()


def test_bom_crlf_and_uppercase_extension(tmp_path: Path) -> None:
    table = read_molecules(write(tmp_path / "A.CSV", "\ufeffsmiles,y\r\nCCO,1\r\nCCC,2\r\n"))
    assert table.smiles_column == "smiles"
    assert table.line_numbers.tolist() == [2, 3]


def test_tsv_and_semicolon_txt(tmp_path: Path) -> None:
    tsv = read_molecules(write(tmp_path / "a.tsv", "smiles\tactivity\nCCO\t1.5\nCCC\t2.5\n"))
    assert tsv.target_columns == ["activity"]
    tab = read_molecules(write(tmp_path / "a.tab", "smiles\tactivity\nCCO\t1.5\n"))
    assert tab.frame["activity"].tolist() == [1.5]
    txt = read_molecules(write(tmp_path / "a.txt", "smiles;val\nCCO;1\nCCC;2\n"))
    assert txt.smiles_column == "smiles" and txt.target_columns == ["val"]


def test_txt_smiles_list(tmp_path: Path) -> None:
    table = read_molecules(write(tmp_path / "a.txt", "CCO\nc1ccccc1\n\nCCN\n"))
    assert table.smiles == ["CCO", "c1ccccc1", "CCN"]
    assert table.line_numbers.tolist() == [1, 2, 4]


def test_smi_with_names_comments_and_no_header(tmp_path: Path) -> None:
    text = "CCO ethanol\nc1ccccc1 benzene ring\n\n# a comment\nCCN\n"
    table = read_molecules(write(tmp_path / "a.smi", text))
    assert list(table.frame.columns) == ["smiles", "name"]
    assert table.smiles == ["CCO", "c1ccccc1", "CCN"]
    assert table.frame["name"].tolist()[:2] == ["ethanol", "benzene ring"]
    assert table.line_numbers.tolist() == [1, 2, 5]
    assert table.id_column == "name"
    assert table.target_columns == []


def test_smi_with_header_and_tab_separated_columns(tmp_path: Path) -> None:
    text = "SMILES\tName\tpIC50\nCCO\tethyl alcohol\t5\nCCN\tx\t6.5\n"
    table = read_molecules(write(tmp_path / "a.smi", text))
    assert table.smiles_column == "SMILES"
    assert table.frame["Name"].tolist() == ["ethyl alcohol", "x"]
    assert table.target_columns == ["pIC50"]
    assert table.line_numbers.tolist() == [2, 3]


def test_gzipped_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv.gz", gzip.compress(b"smiles,y\nCCO,1\nCCC,2\n"))
    assert read_molecules(path).smiles == ["CCO", "CCC"]


def _sdf_text() -> str:
    blocks = []
    for smiles, name, value in [("CCO", "ethanol", "1.5"), ("[Na+].CC(=O)[O-]", "acetate", "3")]:
        mol = Chem.MolFromSmiles(smiles)
        mol.SetProp("_Name", name)
        blocks.append(Chem.MolToMolBlock(mol) + f">  <pIC50>\n{value}\n\n>  <smiles>\nX\n\n$$$$\n")
    # a record with a pentavalent carbon: RDKit reads the block but cannot sanitize it
    bad = Chem.RWMol()
    for _ in range(6):
        bad.AddAtom(Chem.Atom(6))
    for j in range(1, 6):
        bad.AddBond(0, j, Chem.BondType.SINGLE)
    bad_block = Chem.MolToMolBlock(bad, kekulize=False) + ">  <pIC50>\n4\n\n$$$$\n"
    broken = "broken\n  nothing\n\n  x  y  z\nM  END\n$$$$\n"
    return blocks[0] + bad_block + broken + blocks[1]


@pytest.mark.parametrize("name", ["a.sdf", "a.sd", "a.sdf.gz"])
def test_sdf_records_keep_failed_rows(tmp_path: Path, name: str) -> None:
    data = _sdf_text().encode()
    if name.endswith(".gz"):
        data = gzip.compress(data)
    table = read_molecules(write(tmp_path / name, data))
    assert table.line_kind == "record"
    assert table.line_numbers.tolist() == [1, 2, 3, 4]
    assert table.smiles == ["CCO", "", "", "CC(=O)[O-].[Na+]"]
    assert table.frame["pIC50"].tolist()[0] == 1.5
    assert table.frame["pIC50"].tolist()[1] == 4.0
    assert table.frame["name"].tolist()[0] == "ethanol"
    assert "sdf_smiles" in table.frame.columns  # the SD property 'smiles' does not clash
    assert table.target_columns == ["pIC50"]


def test_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame({"molecule": ["CCO", "c1ccccc1", "CCN"], "v": [1.0, 2.0, None]})
    path = tmp_path / "a.parquet"
    frame.to_parquet(path)
    table = read_molecules(path)
    assert table.smiles_column == "molecule"
    assert table.target_columns == ["v"]
    assert table.line_kind == "row"
    assert table.line_numbers.tolist() == [1, 2, 3]
    unnamed = pd.DataFrame({"a": ["CCO", "c1ccccc1"], "b": [1, 2]})
    unnamed.to_parquet(tmp_path / "b.pq")
    assert read_molecules(tmp_path / "b.pq").smiles_column == "a"


# ----------------------------------------------------------------------------- errors


def error_of(path: Path, **kwargs: object) -> str:
    with pytest.raises(InputError) as info:
        read_molecules(path, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    return message


def test_file_not_found(tmp_path: Path) -> None:
    assert error_of(tmp_path / "nope.csv") == f"{tmp_path / 'nope.csv'}: file not found"


def test_empty_and_header_only(tmp_path: Path) -> None:
    assert "no data rows" in error_of(write(tmp_path / "a.csv", ""))
    assert "no data rows" in error_of(write(tmp_path / "b.csv", "smiles,y\n"))
    assert "no data rows" in error_of(write(tmp_path / "c.smi", "SMILES\n"))
    assert "no data rows" in error_of(write(tmp_path / "d.csv.gz", gzip.compress(b"")))


def test_unsupported_extension(tmp_path: Path) -> None:
    message = error_of(write(tmp_path / "data.xlsx", "x"))
    assert message.endswith(
        "unsupported file type '.xlsx'; use CSV, TSV, SMI, SDF or Parquet (optionally .gz)"
    )
    with pytest.raises(InputError, match=r"'\(none\)'"):
        detect_format("datafile")


def test_missing_column_lists_available(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "smiles,y\nCCO,1\n")
    assert "target column 'pic50' not found; available columns: smiles, y" in error_of(
        path, target_columns=["pic50"]
    )
    assert "SMILES column 'smi' not found" in error_of(path, smiles_column="smi")
    no_smiles = write(tmp_path / "b.csv", "a,b\nfoo,1\nbar,2\n")
    assert "no SMILES column found (columns: a, b)" in error_of(no_smiles)


def test_corrupt_gzip(tmp_path: Path) -> None:
    data = gzip.compress(b"smiles,y\n" + b"CCO,1\n" * 200)
    assert "truncated or corrupt gzip" in error_of(write(tmp_path / "a.csv.gz", data[:-12]))
    assert "not a gzip file" in error_of(write(tmp_path / "b.csv.gz", "smiles\nCCO\n"))


def test_invalid_utf8_names_the_line_and_latin1_reads(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "smiles,name\nCCO,ok\nCCC,caf\xe9\n".encode("latin-1"))
    message = error_of(path)
    assert message.startswith(f"{path}:3: not valid UTF-8 text (byte 0xe9)")
    assert "encoding='latin-1'" in message
    table = read_molecules(path, encoding="latin-1")
    assert table.frame["name"].tolist() == ["ok", "café"]


def test_ragged_row_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "smiles,y\nCCO,1\n\nCCN,2,3\n")
    assert error_of(path).startswith(f"{path}:4: expected 2 fields like the header, found 3")


def test_binary_file_with_text_extension(tmp_path: Path) -> None:
    assert "binary" in error_of(write(tmp_path / "a.csv", b"smiles\x00\x00\x01,y\n"))


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "d.csv"
    folder.mkdir()
    assert "is a directory" in error_of(folder)


# ----------------------------------------------------------------------------- writing


@pytest.mark.parametrize("name", ["out.csv", "out.tsv", "out.csv.gz", "out.parquet", "out.tsv.gz"])
def test_write_table_round_trip(tmp_path: Path, name: str) -> None:
    frame = pd.DataFrame({"smiles": ["CCO", "CCC"], "y": [1.25, np.nan], "note": ["a,b", "c"]})
    path = write_table(frame, tmp_path / "sub" / name)
    assert path == tmp_path / "sub" / name
    table = read_molecules(path)
    assert table.smiles == ["CCO", "CCC"]
    assert table.frame["y"].iloc[0] == 1.25 and np.isnan(table.frame["y"].iloc[1])
    assert table.frame["note"].tolist() == ["a,b", "c"]
    assert sorted(p.name for p in path.parent.iterdir()) == [name]  # no temporary left behind


def test_write_table_refuses_existing_without_force(tmp_path: Path) -> None:
    path = write(tmp_path / "out.csv", "old\n")
    frame = pd.DataFrame({"smiles": ["CCO"]})
    with pytest.raises(InputError, match="exists; use --force to overwrite"):
        write_table(frame, path)
    assert path.read_text() == "old\n"
    write_table(frame, path, force=True)
    assert path.read_text() == "smiles\nCCO\n"


def test_write_table_unsupported_type(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unsupported output type '.xlsx'"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "out.xlsx")
