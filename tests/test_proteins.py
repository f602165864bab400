"""Protein sequences: validation, target readers, featurizers (exact values), encoders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from drugforge.core.errors import DrugforgeError, InputError
from drugforge.proteins import (
    ALPHABET,
    CTD_GROUPS,
    PROTEIN_FEATURIZERS,
    STANDARD_AMINO_ACIDS,
    InvalidSequenceError,
    check_sequence,
    encode_residues,
    get_protein_featurizer,
    normalize_sequence,
    read_fasta,
    read_targets,
)
from drugforge.proteins.models import ResidueCNN, ResidueCNNConfig

DAVIS_TARGETS = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "dti" / "davis" / "targets.csv"
)
# ESM-2's 33 tokens in id order


def aa(letter: str) -> int:
    return STANDARD_AMINO_ACIDS.index(letter)


# ---------------------------------------------------------------------------------- validation
def test_alphabet_is_fixed() -> None:
    assert ALPHABET == "ACDEFGHIKLMNPQRSTVWYXUBZ"


def test_normalize_strips_whitespace_uppercases_and_drops_stop() -> None:
    assert normalize_sequence(" mk\nvL\t a*\n") == "MKVLA"
    assert normalize_sequence("xubz") == "XUBZ"


@pytest.mark.parametrize(
    ("seq", "message"),
    [
        ("", "empty protein sequence"),
        ("  \n", "empty protein sequence"),
        ("*", "empty protein sequence"),
        ("ACDEFGHIK LMNPQRS\nJT", "invalid residue 'J' at position 17;"),
        ("AC*D", "invalid residue '*' at position 3;"),
        ("ACD**", "invalid residue '*' at position 4;"),
        ("ßA", "invalid residue 'ß' at position 1;"),  # 'ß'.upper() == 'SS' must not pass
    ],
)
def test_invalid_sequences(seq: str, message: str) -> None:
    with pytest.raises(InvalidSequenceError, match=message.replace("*", r"\*")) as info:
        normalize_sequence(seq)
    assert isinstance(info.value, InputError)
    assert "\n" not in str(info.value)
    assert check_sequence(seq) == info.value.message


def test_invalid_sequence_names_residue_and_allowed_letters() -> None:
    with pytest.raises(InvalidSequenceError) as info:
        normalize_sequence("ACDEFGHIKLMNPQRSTJ")
    assert (info.value.residue, info.value.position) == ("J", 18)
    assert str(info.value).endswith("allowed: ACDEFGHIKLMNPQRSTVWY plus X, U, B, Z")


def test_check_sequence() -> None:
    assert check_sequence("mkvl*") is None
    assert check_sequence(float("nan")) == "expected a protein sequence string, got float"


# ---------------------------------------------------------------------------------- readers
def write(tmp_path: Path, text: str, name: str = "targets.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_read_targets(tmp_path: Path) -> None:
    text = 'target_id,target_sequence,note\nP1, mkvl* ,x\n\nP2,"AC\nDE"\nP1,MKVL,again\n'
    assert read_targets(write(tmp_path, text)) == {"P1": "MKVL", "P2": "ACDE"}
    bom = write(tmp_path, "\ufefftarget_id,target_sequence\nP1,MKV\n", encoding="utf-8")
    assert read_targets(bom) == {"P1": "MKV"}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "empty file"),
        ("target_id,sequence\nP1,MKV\n", 1, "missing column target_sequence; found: target_id"),
        ("target_id,target_sequence\n", 1, "no targets below the header"),
        ("target_id,target_sequence\nP1,MKV\nP2,AC\nP1,MKA\n", 4, "different sequence"),
        ("target_id,target_sequence\nP1,MKV\nP2,ACDJ\n", 3, "target 'P2': invalid residue 'J'"),
        ("target_id,target_sequence\nP1,MKV\nP2,\n", 3, "target 'P2': empty protein sequence"),
        ("target_id,target_sequence\n,MKV\n", 2, "empty target_id"),
    ],
)
def test_read_targets_errors_name_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=message) as info:
        read_targets(path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert "\n" not in str(info.value)


def test_read_targets_other_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, "target_id,target_sequence\nPé1,MKV\n", encoding="latin-1")
    with pytest.raises(InputError, match=r"targets.csv:2: not UTF-8 text \(byte 0xe9\)"):
        read_targets(path)


def test_read_fasta(tmp_path: Path) -> None:
    text = ">sp|P1|A protein one\nMKV\nlae*\n; comment\n>P2\nAC DE\n"
    assert read_fasta(write(tmp_path, text, "t.fasta")) == {"sp|P1|A": "MKVLAE", "P2": "ACDE"}
    bad = write(tmp_path, ">P1 x\nMKVLA\nACJDE\n", "bad.fasta")
    with pytest.raises(
        InvalidSequenceError, match=r"bad.fasta:3: record 'P1': invalid residue 'J' at position 8"
    ):
        read_fasta(bad)
    for text, line, message in [
        ("MKV\n>P1\nMKV\n", 1, "sequence before the first '>' header"),
        (">P1\n>P2\nMKV\n", 1, "record 'P1' has no sequence"),
        (">P1\nMKV\n>P1\nMKA\n", 3, "different sequence"),
        ("\n", 1, "empty file"),
    ]:
        with pytest.raises(InputError, match=message) as info:
            read_fasta(write(tmp_path, text, "e.fasta"))
        assert f"e.fasta:{line}: " in str(info.value)


# ---------------------------------------------------------------------------------- featurizers
def feat(name: str, seqs: list[str], **params: int) -> np.ndarray:
    return get_protein_featurizer(name, **params).transform(seqs)


def test_aac_exact() -> None:
    np.testing.assert_allclose(feat("aac", [STANDARD_AMINO_ACIDS])[0], np.full(20, 0.05))
    x = feat("aac", ["AAKL"])[0]
    expected = np.zeros(20)
    expected[[aa("A"), aa("K"), aa("L")]] = [0.5, 0.25, 0.25]
    np.testing.assert_allclose(x, expected)
    # B = half D half N, Z = half E half Q, U = C, X spread over the 20
    x = feat("aac", ["BZUX"])[0]
    expected = np.full(20, 0.25 / 20)
    expected[[aa("D"), aa("N"), aa("E"), aa("Q")]] += 0.125
    expected[aa("C")] += 0.25
    np.testing.assert_allclose(x, expected, rtol=1e-6)
    assert x.sum() == pytest.approx(1.0)


def test_dipeptide_exact() -> None:
    x = feat("dipeptide", ["ACDA"])[0]
    expected = np.zeros(400)
    for a, b in ("AC", "CD", "DA"):
        expected[aa(a) * 20 + aa(b)] = 1 / 3
    np.testing.assert_allclose(x, expected, rtol=1e-6)
    names = get_protein_featurizer("dipeptide").feature_names()
    assert names[aa("C") * 20 + aa("D")] == "dpc_CD"
    assert not feat("dipeptide", ["M"]).any()  # one residue: no pair


def test_ctd_exact_hydrophobicity() -> None:
    # hydrophobicity classes polar RKEDQN / neutral GASTPHY / hydrophobic CLVIMFW:
    # A K L D E -> 2 1 3 1 1
    x = feat("ctd", ["AKLDE"])[0]
    np.testing.assert_allclose(x[0:3], [3 / 5, 1 / 5, 1 / 5], rtol=1e-6)  # C
    np.testing.assert_allclose(x[21:24], [1 / 4, 2 / 4, 0], rtol=1e-6)  # T 12, 13, 23
    # D: class 1 at 2, 4, 5 -> first, 25 % (1st), 50 % (1st), 75 % (2nd), last; /5
    expected_d = [2, 2, 2, 4, 5] + [1] * 5 + [3] * 5
    np.testing.assert_allclose(x[42:57], np.array(expected_d) / 5, rtol=1e-6)
    # charge (5th grouping) classes KR / neutral / DE: 2 1 2 3 3
    np.testing.assert_allclose(x[12:15], [1 / 5, 2 / 5, 2 / 5], rtol=1e-6)
    names = get_protein_featurizer("ctd").feature_names()
    assert (names[0], names[21], names[42]) == (
        "ctd_C_hydrophobicity_1",
        "ctd_T_hydrophobicity_12",
        "ctd_D_hydrophobicity_1_000",
    )


def test_ctd_groupings_partition_the_standard_residues() -> None:
    for name, classes in CTD_GROUPS:
        assert sorted("".join(classes)) == sorted(STANDARD_AMINO_ACIDS), name


def test_kmer_is_deterministic_and_normalised() -> None:
    x = feat("kmer", ["MKVLAACDE", "AC"], size=64)
    assert x.shape == (2, 64)
    assert x[0].sum() == pytest.approx(1.0)
    assert not x[1].any()  # shorter than 3: no 3-mer
    # same 3-mer -> same bucket; blake2b-based, so fixed across processes
    y = feat("kmer", ["AAAA"], size=64)[0]
    assert y.max() == pytest.approx(1.0)
    code = "from drugforge.proteins import get_protein_featurizer as g; "
    code += "print(int(g('kmer', size=64).transform(['AAAA'])[0].argmax()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == int(y.argmax())


def test_registry_errors() -> None:
    with pytest.raises(ValueError, match="did you mean 'dipeptide'"):
        get_protein_featurizer("dipeptid")
    with pytest.raises(ValueError, match="bad parameters for protein featurizer 'aac'"):
        get_protein_featurizer("aac", size=3)
    with pytest.raises(InvalidSequenceError, match="sequence 1: invalid residue 'J'"):
        feat("aac", ["MKV", "MJ"])
    with pytest.raises(TypeError, match="one string"):
        get_protein_featurizer("aac").transform("MKV")


def test_every_featurizer_on_davis_targets() -> None:
    if not DAVIS_TARGETS.is_file():
        pytest.skip(f"shared data not found at {DAVIS_TARGETS}")
    targets = read_targets(DAVIS_TARGETS)
    assert len(targets) == 442
    seqs = list(targets.values())
    assert get_protein_featurizer().name == "composition"
    for name in PROTEIN_FEATURIZERS:  # the registry, never a hand-written list
        featurizer = get_protein_featurizer(name)
        x = featurizer.transform(seqs)
        assert x.shape == (442, featurizer.dim) and x.dtype == np.float32, name
        assert np.isfinite(x).all() and (x >= 0).all() and (x <= 1).all(), name
        assert len(featurizer.feature_names()) == featurizer.dim, name
        # one sequence alone gives the same row as in the batch
        np.testing.assert_allclose(featurizer.transform(seqs[7:8])[0], x[7], err_msg=name)
    x = feat("composition", seqs[:3])
    parts = [feat(name, seqs[:3]) for name in ("aac", "dipeptide", "ctd")]
    np.testing.assert_array_equal(x, np.concatenate(parts, axis=1))


def test_encode_residues_pads_and_flags_truncation() -> None:
    codes, lengths, truncated = encode_residues(["ACD", "mkvla*"])
    np.testing.assert_array_equal(codes, [[1, 2, 3, 0, 0], [11, 9, 18, 10, 1]])
    assert codes.dtype == np.int64
    np.testing.assert_array_equal(lengths, [3, 5])
    assert not truncated.any()
    enc = encode_residues(["ACD", "ACDEFXUBZ"], max_len=4)
    np.testing.assert_array_equal(enc.codes, [[1, 2, 3, 0], [1, 2, 3, 4]])
    np.testing.assert_array_equal(enc.lengths, [3, 4])
    np.testing.assert_array_equal(enc.truncated, [False, True])
    assert encode_residues(["XUBZ"]).codes.tolist() == [[21, 22, 23, 24]]
    with pytest.raises(ValueError, match="max_len"):
        encode_residues(["ACD"], max_len=0)


# ---------------------------------------------------------------------------------- models
def test_residue_cnn_shapes_and_padding_invariance() -> None:
    torch.manual_seed(0)
    model = ResidueCNN(ResidueCNNConfig()).eval()
    short, long = "MKVLAACDEW", "ACDEFGHIKLMNPQRSTVWY" * 3
    batch = torch.from_numpy(encode_residues([short, long, "M"]).codes)
    with torch.no_grad():
        out = model(batch)
        alone = model(torch.from_numpy(encode_residues([short]).codes))
        extra = model(torch.from_numpy(encode_residues([short], max_len=200).codes))
    assert out.shape == (3, 96) and model.out_dim == 96
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0], alone[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(extra[0], alone[0], rtol=1e-5, atol=1e-6)


def test_residue_cnn_trains() -> None:
    torch.manual_seed(0)
    model = ResidueCNN(ResidueCNNConfig(channels=(8, 8, 8), dropout=0.0))
    head = torch.nn.Linear(model.out_dim, 1)
    codes = torch.from_numpy(encode_residues(["MKVL" * 5, "ACDE" * 7, "WWYY", "GGSG" * 3]).codes)
    target = torch.tensor([[1.0], [-1.0], [1.0], [-1.0]])
    opt = torch.optim.Adam([*model.parameters(), *head.parameters()], lr=1e-2)
    for _ in range(100):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(head(model(codes)), target)
        loss.backward()
        opt.step()
    assert loss.item() < 0.05


def test_import_does_not_pull_heavy_or_other_modalities() -> None:
    code = (
        "import sys, drugforge.proteins, drugforge.proteins.models; "
        "bad = [m for m in ('transformers', 'rdkit', 'drugforge.molecules', "
        "'drugforge.workflows', 'drugforge.api', 'drugforge.cli') if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_transformers_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from drugforge.proteins.models import plm

    monkeypatch.setitem(sys.modules, "transformers", None)  # import now raises ImportError
    with pytest.raises(DrugforgeError, match="pip install transformers"):
        plm.load_protein_lm(tmp_path)


def test_protein_lm_embeddings(tiny_esm: Path) -> None:
    from drugforge.proteins.models.plm import load_protein_lm

    encoder = load_protein_lm(tiny_esm, batch_size=2)
    assert encoder.max_residues == 60 and encoder.dim == 16
    rng = np.random.default_rng(0)
    long = "".join(rng.choice(list(STANDARD_AMINO_ACIDS), size=100))
    seqs = ["MKVLA", "acdefghik*", long, "XUBZ"]
    x = encoder.transform(seqs)
    assert x.shape == (4, 16) and x.dtype == np.float32 and np.isfinite(x).all()
    np.testing.assert_array_equal(encoder.transform(seqs), x)  # deterministic
    # batch composition does not matter (padding and special tokens are excluded)
    np.testing.assert_allclose(encoder.transform(["MKVLA"])[0], x[0], rtol=1e-5, atol=1e-6)

    # the long sequence by hand: windows [0, 60) and [40, 100), overlap averaged per residue
    assert encoder.windows(100) == [0, 40]
    states = np.zeros((100, 16))
    seen = np.zeros(100)
    with torch.no_grad():
        for start in (0, 40):
            ids = encoder.tokenizer(long[start : start + 60], return_tensors="pt")
            hidden = encoder.model(**ids).last_hidden_state[0, 1:-1].double().numpy()
            states[start : start + 60] += hidden
            seen[start : start + 60] += 1
    expected = (states / seen[:, None]).mean(axis=0)
    np.testing.assert_allclose(x[2], expected, rtol=1e-4, atol=1e-6)


def test_protein_lm_errors(tiny_esm: Path, tmp_path: Path) -> None:
    from drugforge.proteins.models.plm import load_protein_lm

    with pytest.raises(InputError, match="directory not found"):
        load_protein_lm(tmp_path / "missing")
    with pytest.raises(InputError, match="cannot load protein language model"):
        load_protein_lm(tmp_path)  # an empty directory: nothing is downloaded instead
    with pytest.raises(InvalidSequenceError, match="sequence 1: invalid residue 'J'"):
        load_protein_lm(tiny_esm).transform(["MKV", "MJ"])
