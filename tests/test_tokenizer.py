"""SMILES tokenizer: exact tokens, round trips on real MOSES molecules, vocabulary persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from drugforge.core.errors import ArtifactError
from drugforge.molecules.featurize.tokenizer import (
    SPECIAL_TOKENS,
    UNK,
    SmilesTokenizer,
    randomize_smiles,
    tokenize_smiles,
)


def test_tokens_of_a_hand_checked_smiles() -> None:
    assert tokenize_smiles("C[C@@H](Cl)c1ccc(Br)cc1%12.[Na+]") == [
        "C", "[C@@H]", "(", "Cl", ")", "c", "1", "c", "c", "c", "(", "Br", ")", "c", "c", "1",
        "%12", ".", "[Na+]",
    ]  # fmt: skip
    assert tokenize_smiles("C=C/C=C\\C#N") == ["C", "=", "C", "/", "C", "=", "C", "\\", "C", "#", "N"]


def test_uncovered_text_becomes_one_unk_per_run() -> None:
    assert tokenize_smiles("CC!!xO") == ["C", "C", UNK, "O"]
    assert tokenize_smiles("Cq") == ["C", UNK]


def test_round_trip_on_moses_test_sample(moses_test_sample: list[str]) -> None:
    tok = SmilesTokenizer.build(moses_test_sample)
    assert tok.tokens[: len(SPECIAL_TOKENS)] == SPECIAL_TOKENS
    for smiles in moses_test_sample:
        assert "".join(tokenize_smiles(smiles)) == smiles
        ids = tok.encode(smiles)
        assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id
        assert tok.unk_id not in ids
        assert tok.decode(ids) == smiles


def test_unknown_tokens_never_decode_to_a_molecule() -> None:
    tok = SmilesTokenizer.build(["CCO"])
    ids = tok.encode("CC[Se]O")
    assert tok.unk_id in ids and tok.has_unknown("CC[Se]O")
    text = tok.decode(ids)
    assert text == "CC<unk>O"
    assert Chem.MolFromSmiles(text) is None


def test_build_is_deterministic_and_ordered_by_count() -> None:
    a = SmilesTokenizer.build(["CCO", "c1ccccc1", "CCN"])
    b = SmilesTokenizer.build(["CCN", "c1ccccc1", "CCO"])
    assert a == b
    assert a.tokens[4:] == ("c", "C", "1", "N", "O")  # counts 6, 4, 2, then ties by text
    assert SmilesTokenizer.build(["CCO", "CCN"], min_count=2).tokens[4:] == ("C",)


def test_encode_batch_pads_and_cuts() -> None:
    tok = SmilesTokenizer.build(["CCO", "C"])
    ids, lengths = tok.encode_batch(["CCO", "C"])
    assert ids.shape == (2, 5) and lengths.tolist() == [5, 3]
    assert ids[1].tolist() == [tok.bos_id, tok.token_id("C"), tok.eos_id, 0, 0]
    cut, cut_len = tok.encode_batch(["CCO"], max_length=3)
    assert cut.shape == (1, 3) and cut_len.tolist() == [3]


def test_vocabulary_save_load_and_refusals(tmp_path: Path) -> None:
    tok = SmilesTokenizer.build(["CC(=O)Oc1ccccc1C(=O)O"])
    path = tmp_path / "vocab.json"
    tok.save(path)
    assert SmilesTokenizer.load(path) == tok
    path.write_text('{"format": "drugforge-smiles-vocab", "version": 99, "tokens": []}')
    with pytest.raises(ArtifactError, match="newer"):
        SmilesTokenizer.load(path)
    path.write_text("not json")
    with pytest.raises(ArtifactError, match="vocab.json"):
        SmilesTokenizer.load(path)
    with pytest.raises(ValueError, match="must start with"):
        SmilesTokenizer(("C", "<pad>"))


def test_randomized_smiles_is_the_same_molecule_and_seeded(moses_test_sample: list[str]) -> None:
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    changed = 0
    for smiles in moses_test_sample[:200]:
        r = randomize_smiles(smiles, rng_a)
        assert r == randomize_smiles(smiles, rng_b)
        assert Chem.CanonSmiles(r) == Chem.CanonSmiles(smiles)
        changed += r != smiles
    assert changed > 150  # enumeration really changes the text
    assert randomize_smiles("not a smiles", rng_a) == "not a smiles"
