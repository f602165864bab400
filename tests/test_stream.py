"""Streaming library reader: chunks, every record kept, bad lines marked, truncated gzip."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest
from rdkit import Chem

from drugforge.core.errors import InputError
from drugforge.molecules.data.stream import LibraryReader

CSV_ROWS = [
    "smiles,name,value",
    "CCO,ethanol,1",
    "",
    "c1ccccc1,benzene,2",
    "CC(=O,broken,3",
    "too,many,fields,here",
    "# a comment line",
    'CN,"methyl, amine",4',
]


def records(reader: LibraryReader) -> list[tuple[int, str, str, str]]:
    out = []
    for chunk in reader.chunks():
        out += list(zip(chunk.lines, chunk.texts, chunk.ids, chunk.errors, strict=True))
    return out


def test_csv_rows_keep_lines_ids_and_mark_malformed(tmp_path: Path) -> None:
    path = tmp_path / "lib.csv"
    path.write_text("\n".join(CSV_ROWS) + "\n")
    reader = LibraryReader(path, chunk_size=2)
    assert (reader.smiles_column, reader.id_column) == ("smiles", "name")
    got = records(reader)
    assert [(line, text, ident) for line, text, ident, _ in got] == [
        (2, "CCO", "ethanol"), (4, "c1ccccc1", "benzene"), (5, "CC(=O", "broken"),
        (6, "", ""), (8, "CN", "methyl, amine"),
    ]  # fmt: skip
    assert "3 fields" not in got[3][3] and "4 fields where the header has 3" in got[3][3]
    assert reader.blank_lines == 2  # the empty line and the comment
    assert [len(c) for c in reader.chunks()] == [2, 2, 1]
    assert [c.start for c in reader.chunks()] == [0, 2, 4]


def test_gzip_and_a_wrong_encoding_line(tmp_path: Path) -> None:
    data = ("\n".join(CSV_ROWS) + "\n").encode() + "CCé,latin,5\n".encode("latin-1")
    path = tmp_path / "lib.csv.gz"
    path.write_bytes(gzip.compress(data))
    got = records(LibraryReader(path))
    assert got[-1][0] == 9 and "not valid utf-8" in got[-1][3]
    latin = records(LibraryReader(path, encoding="latin-1"))
    assert latin[-1][1:] == ("CCé", "latin", "")


def test_truncated_gzip_keeps_complete_lines_and_marks_the_cut(tmp_path: Path) -> None:
    lines = [f"{'C' * (1 + i % 7)} m{i}" for i in range(3000)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "cut.smi.gz"
    path.write_bytes(whole[: len(whole) // 2])
    reader = LibraryReader(path, chunk_size=500)
    got = records(reader)
    assert reader.problem is not None and "truncated" in reader.problem
    good = [g for g in got if not g[3]]
    assert [f"{t} {i}" for _, t, i, _ in good] == lines[: len(good)]  # every complete line, in order
    assert "cut off" in got[-1][3] or len(good) == len(got)
    assert 0 < len(got) < 3000


def test_smi_with_header_and_tab_names(tmp_path: Path) -> None:
    path = tmp_path / "lib.smi"
    path.write_text("SMILES\tid\nCCO\tfirst one\n\nc1ccccc1\tsecond\n")
    reader = LibraryReader(path)
    assert reader.id_column == "id"
    assert [(t, i) for _, t, i, _ in records(reader)] == [("CCO", "first one"), ("c1ccccc1", "second")]


def test_sdf_records_stream_as_mol_blocks(tmp_path: Path) -> None:
    blocks = []
    for name, smi in (("asp", "CC(=O)Oc1ccccc1C(=O)O"), ("eth", "CCO")):
        mol = Chem.MolFromSmiles(smi)
        mol.SetProp("_Name", name)
        blocks.append(Chem.MolToMolBlock(mol) + "$$$$\n")
    path = tmp_path / "lib.sdf"
    path.write_text(blocks[0] + "garbage\n$$$$\n" + blocks[1])
    got = records(LibraryReader(path))
    assert [line for line, *_ in got] == [1, 2, 3]
    assert [ident for _, _, ident, _ in got] == ["asp", "garbage", "eth"]
    mol = Chem.MolFromMolBlock(got[0][1])
    assert Chem.MolToSmiles(mol) == Chem.MolToSmiles(Chem.MolFromSmiles("CC(=O)Oc1ccccc1C(=O)O"))


def test_parquet_streams_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "lib.parquet"
    pd.DataFrame({"ID": [f"m{i}" for i in range(25)], "SMILES": ["CCO"] * 24 + [None]}).to_parquet(path)
    reader = LibraryReader(path, chunk_size=10)
    chunks = list(reader.chunks())
    assert [len(c) for c in chunks] == [10, 10, 5]
    assert chunks[2].texts[-1] == "" and chunks[2].ids[-1] == "m24" and chunks[2].lines[-1] == 25


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty"),
        ("lib.xyz", b"CCO\n", "unsupported file type"),
        ("nocol.csv", b"a,b\n1,2\n", "no SMILES column"),
        ("utf16.smi", "CCO\n".encode("utf-16"), "UTF-16"),
        ("bad.parquet", b"not parquet", "Parquet"),
    ],
)
def test_unusable_files_are_one_line_errors(tmp_path: Path, name: str, content: bytes,
                                            message: str) -> None:  # fmt: skip
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        LibraryReader(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
