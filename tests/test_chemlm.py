"""The chemical language model: shapes, causality, KV cache, overfitting, state round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from drugforge.core.artifacts import load_generator, save_generator
from drugforge.core.errors import ArtifactError, InputError
from drugforge.core.registry import GENERATORS
from drugforge.core.training.loop import TrainConfig
from drugforge.molecules.chem.mol import parse_smiles
from drugforge.molecules.featurize.tokenizer import SmilesTokenizer
from drugforge.molecules.models.chemlm import ChemLM
from drugforge.molecules.models.chemlm_net import (
    ChemLMConfig,
    ChemLMModule,
    KVCache,
    lm_loss,
    pad_batch,
)
from drugforge.molecules.models.generative import SmilesGenerator, generator_from_state

TINY: dict[str, Any] = {"n_layer": 2, "n_head": 2, "d_model": 32, "max_len": 48, "dropout": 0.0}


@pytest.fixture(scope="module")
def tokenizer(moses_test_sample: list[str]) -> SmilesTokenizer:
    return SmilesTokenizer.build(moses_test_sample)


@pytest.fixture(scope="module")
def overfit(moses_test_sample: list[str]) -> tuple[ChemLM, list[str]]:
    """A tiny model trained until it has memorized 30 MOSES molecules."""
    train = moses_test_sample[:30]
    tok = SmilesTokenizer.build(train)
    config = ChemLMConfig(len(tok), n_layer=2, n_head=2, d_model=64, max_len=64, dropout=0.0)
    lm = ChemLM.create(tok, config, seed=0)
    lm.fit(train, TrainConfig(max_steps=200, batch_size=30, lr=1e-2, warmup_steps=10,
                              patience=None, grad_clip=1.0, quiet=True))  # fmt: skip
    return lm, train


def _model(tokenizer: SmilesTokenizer, seed: int = 0) -> ChemLM:
    return ChemLM.create(tokenizer, ChemLMConfig(len(tokenizer), **TINY), seed=seed)


# ------------------------------------------------------------------------ shapes & masks
def test_shapes(tokenizer: SmilesTokenizer) -> None:
    lm = _model(tokenizer)
    ids = torch.from_numpy(pad_batch([tokenizer.encode("CCO"), tokenizer.encode("c1ccccc1")]))
    assert ids.shape == (2, 10)  # <bos> c 1 c c c c c 1 <eos>
    assert lm.module(ids).shape == (2, 10, len(tokenizer))
    assert lm.module.hidden(ids).shape == (2, 10, TINY["d_model"])
    loss = lm_loss(lm.module, ids.numpy())
    assert loss.ndim == 0 and loss.item() == pytest.approx(np.log(len(tokenizer)), rel=0.2)
    emb = lm.embed(["CCO", "c1ccccc1", "CC[Xe]"])
    assert emb.shape == (3, TINY["d_model"]) and emb.dtype == np.float32
    assert np.isfinite(emb[:2]).all() and np.isnan(emb[2]).all()  # [Xe]: not in the vocabulary
    ll = lm.log_likelihood(["CCO", "C" * 60, "CC[Xe]"])
    assert ll.shape == (3,) and ll[0] < 0 and np.isnan(ll[1:]).all()  # too long, unknown


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="divisible"):
        ChemLMConfig(30, n_head=3, d_model=64)
    with pytest.raises(ValueError, match="unknown size 'huge'"):
        ChemLMConfig.preset("huge", 30)
    assert ChemLMConfig.preset("small", 30).d_model == 128


def test_a_later_token_never_changes_earlier_logits(tokenizer: SmilesTokenizer) -> None:
    lm = _model(tokenizer)
    gen = torch.Generator().manual_seed(0)
    a = torch.randint(4, len(tokenizer), (3, 20), generator=gen)
    b = a.clone()
    b[:, 12] = (b[:, 12] + 1 - 4) % (len(tokenizer) - 4) + 4  # another real token
    with torch.no_grad():
        la, lb = lm.module(a), lm.module(b)
    assert torch.allclose(la[:, :12], lb[:, :12], atol=1e-6)  # positions before the change
    assert not torch.allclose(la[:, 12:], lb[:, 12:], atol=1e-3)  # it and the later ones move


def test_kv_cache_gives_the_logits_of_the_full_forward(tokenizer: SmilesTokenizer) -> None:
    lm = _model(tokenizer)
    ids = torch.tensor([tokenizer.encode("CC(=O)Nc1ccc(O)cc1")])  # (1, T)
    cache = KVCache(lm.config, 1, torch.device("cpu"), torch.float32)
    with torch.no_grad():
        full = lm.module(ids)  # (1, T, V)
        steps = [lm.module(ids[:, :5], cache)]  # a 5-token prefix, then one token at a time
        steps += [lm.module(ids[:, t : t + 1], cache) for t in range(5, ids.shape[1])]
        # a multi-token chunk after cached ones needs the offset causal mask
        cache2 = KVCache(lm.config, 1, torch.device("cpu"), torch.float32)
        chunked = torch.cat([lm.module(ids[:, :4], cache2), lm.module(ids[:, 4:], cache2)], dim=1)
    assert torch.allclose(torch.cat(steps, dim=1), full, atol=1e-5)
    assert torch.allclose(chunked, full, atol=1e-5)


def test_cached_sampling_equals_uncached_sampling(tokenizer: SmilesTokenizer) -> None:
    lm = _model(tokenizer)
    cached = lm.sample(24, seed=7, batch_size=10)
    assert cached == lm.sample(24, seed=7, batch_size=10, use_cache=False)
    assert cached == lm.sample(24, seed=7, batch_size=10)  # same seed, same strings
    assert cached != lm.sample(24, seed=8, batch_size=10)
    assert len(cached) == 24 and all(isinstance(s, str) for s in cached)


def test_sampling_arguments(tokenizer: SmilesTokenizer) -> None:
    lm = _model(tokenizer)
    greedy = lm.sample(5, top_k=1, seed=1)
    assert len(set(greedy)) == 1 and greedy == lm.sample(5, top_k=1, seed=2)  # no randomness
    assert all("<unk>" not in s for s in lm.sample(20, temperature=3.0, seed=0))  # never <unk>
    assert lm.sample(0) == []
    for bad in ({"temperature": 0.0}, {"top_k": 0}, {"batch_size": 0}):
        with pytest.raises(ValueError):
            lm.sample(3, **bad)  # type: ignore[arg-type]


def test_fit_names_a_molecule_it_cannot_model(tokenizer: SmilesTokenizer) -> None:
    lm = _model(tokenizer)
    with pytest.raises(InputError, match="training SMILES 2 'CC\\[Xe\\]C'"):
        lm.fit(["CCO", "CC[Xe]C"], TrainConfig(max_epochs=1, quiet=True))


# ------------------------------------------------------------------------------ learning
def test_tiny_model_overfits_30_molecules_and_samples_valid_smiles(
    overfit: tuple[ChemLM, list[str]],
) -> None:
    lm, train = overfit
    assert lm.train_result_.history[-1]["train_loss"] < 0.6  # from ln(vocab) ~ 3
    samples = lm.sample(100, seed=1)
    valid = [s for s in samples if parse_smiles(s) is not None]
    assert len(valid) >= 80
    assert sum(s in set(train) for s in samples) >= 60  # memorized, as it should be here
    # a memorized molecule is far more likely than the same atoms in a random order
    rng = np.random.default_rng(0)
    scrambled = ["".join(rng.permutation(lm.tokenizer.tokenize(s))) for s in train[:10]]
    assert (lm.log_likelihood(train[:10]) > lm.log_likelihood(scrambled) + 5).all()


def test_state_round_trip_gives_identical_samples(
    overfit: tuple[ChemLM, list[str]], tmp_path: Path
) -> None:
    lm, train = overfit
    state = lm.get_state()
    assert state.meta["generator"] == "chem-lm" and state.meta["tokens"] == list(lm.tokenizer.tokens)
    assert all(isinstance(v, np.ndarray) for v in state.arrays.values())
    json.dumps(state.meta)  # JSON only
    again = generator_from_state(state)
    assert isinstance(again, ChemLM) and isinstance(again, SmilesGenerator)
    assert again.sample(40, seed=3) == lm.sample(40, seed=3)
    np.testing.assert_array_equal(again.log_likelihood(train[:5]), lm.log_likelihood(train[:5]))

    lm.training = {"task": "test"}
    saved = save_generator(tmp_path / "gen", lm, config={"size": "tiny"})
    loaded = load_generator(saved)
    assert loaded.kind == "chem-lm" and loaded.training == {"task": "test"}
    assert loaded.generator.sample(40, seed=3) == lm.sample(40, seed=3)
    np.testing.assert_array_equal(
        loaded.generator.embed(train[:3]), lm.embed(train[:3])  # type: ignore[attr-defined]
    )


def test_saved_generator_refuses_tampering_and_newer_formats(
    tokenizer: SmilesTokenizer, tmp_path: Path
) -> None:
    lm = _model(tokenizer)
    path = save_generator(tmp_path / "gen", lm)
    with pytest.raises(InputError, match="already saved"):
        save_generator(path, lm)
    weights = path / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF  # one flipped byte in the last weight
    weights.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="checksum mismatch for model.safetensors"):
        load_generator(path)
    path = save_generator(tmp_path / "gen2", lm)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format_version"] = 99
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="newer than this drugforge") as err:
        load_generator(path)
    assert "\n" not in str(err.value)
    with pytest.raises(ArtifactError, match="manifest.json missing"):
        load_generator(tmp_path)


def test_registry_builds_chem_lm() -> None:
    assert GENERATORS.get("chem-lm") is ChemLM
    assert ChemLM.kind == "chem-lm"
    assert isinstance(ChemLMModule(ChemLMConfig(10, **TINY)), torch.nn.Module)
