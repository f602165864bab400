"""SmilesVAE: shapes, the KL schedule, overfitting 30 MOSES molecules, latent-space operations,
determinism, save/load, the invalid-input policy, resume, and the training workflow."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from drugforge.core.artifacts import load_generator, save_generator
from drugforge.core.errors import InputError, InvalidSmilesError
from drugforge.core.training.hooks import TrainHooks
from drugforge.core.training.loop import TrainConfig, TrainingInterrupted
from drugforge.molecules.chem import parse_smiles
from drugforge.molecules.data.token_data import TokenData
from drugforge.molecules.featurize.tokenizer import SmilesTokenizer
from drugforge.molecules.models.generative import SmilesGenerator, generator_from_state
from drugforge.molecules.models.generator_training import KLAnnealing
from drugforge.molecules.models.smiles_vae import SmilesVAE
from drugforge.molecules.models.smiles_vae_net import (
    SmilesVAEConfig,
    SmilesVAEModule,
    vae_loss_terms,
)
from drugforge.workflows.generate import GenerateConfig, run_generate
from drugforge.workflows.generative_train import TrainVAEConfig, run_train_vae

# a VAE small enough to overfit 30 molecules in seconds on one core
TINY: dict[str, Any] = {
    "embedding_dim": 32,
    "encoder_hidden": 64,
    "latent_dim": 16,
    "decoder_hidden": 128,
    "decoder_layers": 1,
    "kl_weight": 0.1,
    "lr": 1e-2,
    "batch_size": 15,
    "max_epochs": 60,
    "warmup_epochs": 1.0,
    "val_fraction": 0.0,
}
# smaller still, for tests that only need a fitted model
MINI: dict[str, Any] = {
    "embedding_dim": 8,
    "encoder_hidden": 16,
    "latent_dim": 4,
    "decoder_hidden": 16,
    "decoder_layers": 1,
    "batch_size": 10,
    "max_epochs": 1,
    "val_fraction": 0.0,
}


@pytest.fixture(scope="module")
def mols30(moses_test_sample: list[str]) -> list[str]:
    return moses_test_sample[:30]


@pytest.fixture(scope="module")
def vae(mols30: list[str]) -> SmilesVAE:
    return SmilesVAE(**TINY).fit(mols30)


def is_valid(smiles: str) -> bool:
    return parse_smiles(smiles) is not None


# ----------------------------------------------------------------------------- building blocks
def test_token_data_pads_right_with_bos_and_eos() -> None:
    tok = SmilesTokenizer.build(["CCO", "C"])
    c, o = tok.token_id("C"), tok.token_id("O")
    ids, lengths = TokenData(["CCO", "C"], tok).batch(np.array([1, 0]))
    assert ids.tolist() == [[1, c, 2, 0, 0], [1, c, c, o, 2]]
    assert lengths.tolist() == [3, 5]


def test_module_shapes_and_padding_does_not_change_the_encoding() -> None:
    torch.manual_seed(0)
    config = SmilesVAEConfig(vocab_size=12, embedding_dim=8, encoder_hidden=16, encoder_layers=2,
                             latent_dim=6, decoder_hidden=20, decoder_layers=2)  # fmt: skip
    module = SmilesVAEModule(config).eval()
    ids = torch.tensor([[1, 4, 5, 6, 7, 2], [1, 8, 2, 0, 0, 0], [1, 9, 9, 2, 0, 0]])
    lengths = torch.tensor([6, 3, 4])
    logits, mu, logvar = module(ids, lengths)
    assert logits.shape == (3, 5, 12)
    assert mu.shape == logvar.shape == (3, 6)
    assert module.initial_hidden(mu).shape == (2, 3, 20)
    step_logits, h = module.step(torch.tensor([1, 1, 1]), mu, module.initial_hidden(mu))
    assert step_logits.shape == (3, 12) and h.shape == (2, 3, 20)
    # the packed encoder ignores padding: a molecule alone encodes as it does in a padded batch
    alone, _ = module.encode(ids[1:2, :3], lengths[1:2])
    torch.testing.assert_close(alone, mu[1:2])
    # ... and the decoder reads left to right, so padding after a molecule changes none of its
    # logits
    torch.testing.assert_close(module.decode_logits(mu[1:2], ids[1:2, :3]),
                               module.decode_logits(mu, ids)[1:2, :2])  # fmt: skip
    with torch.no_grad():
        recon, kl = vae_loss_terms(module, ids, lengths)
    assert recon.ndim == kl.ndim == 0 and float(recon) > 0 and float(kl) >= 0


def test_kl_weight_rises_linearly_then_stays() -> None:
    annealing = KLAnnealing(start=0.0, end=1.0, fraction=0.5, n_train=100)
    annealing.on_train_begin(torch.nn.Linear(1, 1), TrainConfig(max_epochs=2, batch_size=10))
    # 2 epochs x 10 batches = 20 steps; the ramp is the first 10
    assert [annealing.beta(s) for s in (0, 5, 10, 15)] == [0.0, 0.5, 1.0, 1.0]
    step_mode = KLAnnealing(start=0.2, end=0.4, fraction=1.0, n_train=100)
    step_mode.on_train_begin(torch.nn.Linear(1, 1), TrainConfig(max_steps=4, batch_size=10))
    assert step_mode.beta(2) == pytest.approx(0.3)
    assert KLAnnealing(0.0, 0.7, 0.0, 100).beta(0) == 0.7


# ----------------------------------------------------------------------------- fitted model
def test_overfits_30_molecules_and_reports_both_loss_terms(
    vae: SmilesVAE, mols30: list[str]
) -> None:
    assert vae.reconstruction_accuracy(mols30) >= 0.8
    history = vae.training_["history"]
    assert len(history) == TINY["max_epochs"]
    assert history[-1]["train_recon"] < history[0]["train_recon"] / 5
    assert history[-1]["train_kl"] > 1.0  # the latent space is used, not collapsed
    assert history[0]["beta"] < history[-1]["beta"] == pytest.approx(TINY["kl_weight"])
    assert history[-1]["train_loss"] == pytest.approx(
        history[-1]["train_recon"] + history[-1]["beta"] * history[-1]["train_kl"], rel=0.05
    )


def test_prior_samples_are_strings_and_some_are_valid(vae: SmilesVAE) -> None:
    greedy = vae.sample(100, temperature=0.0, seed=0)
    sampled = vae.sample(100, temperature=1.0, top_k=5, seed=0)
    assert len(greedy) == len(sampled) == 100
    assert all(isinstance(s, str) for s in greedy + sampled)
    assert sum(map(is_valid, greedy)) >= 5
    assert isinstance(vae, SmilesGenerator)


def test_encode_decode_shapes(vae: SmilesVAE, mols30: list[str]) -> None:
    z = vae.encode(mols30[:5])
    assert z.shape == (5, TINY["latent_dim"]) and z.dtype == np.float32
    assert vae.encode([]).shape == (0, TINY["latent_dim"])
    assert len(vae.decode(z)) == 5
    with pytest.raises(ValueError, match="shape"):
        vae.decode(np.zeros((2, 3)))


def test_interpolation_endpoints_reconstruct_the_inputs(vae: SmilesVAE, mols30: list[str]) -> None:
    recon = vae.reconstruct(mols30)
    a, b = [s for s, r in zip(mols30, recon, strict=True) if s == r][:2]
    for method in ("spherical", "linear"):
        path = vae.interpolate(a, b, 7, method=method)  # type: ignore[arg-type]
        assert len(path) == 7
        assert path[0] == a and path[-1] == b
    assert len(vae.interpolate(a, b, 2)) == 2
    with pytest.raises(ValueError, match="steps"):
        vae.interpolate(a, b, 1)
    with pytest.raises(InvalidSmilesError):
        vae.interpolate(a, "C1CC", 3)


def test_sample_near(vae: SmilesVAE, mols30: list[str]) -> None:
    near = vae.sample_near(mols30[0], 9, radius=1.0, seed=1)
    assert len(near) == 9 and all(isinstance(s, str) for s in near)
    # radius 0: every sample is the molecule's own greedy reconstruction
    assert vae.sample_near(mols30[0], 3, radius=0.0) == vae.reconstruct([mols30[0]]) * 3
    assert vae.sample_near(mols30[0], 0) == []


def test_same_seed_same_strings(vae: SmilesVAE, mols30: list[str]) -> None:
    assert vae.sample(40, seed=3) == vae.sample(40, seed=3)
    assert vae.sample(40, seed=3) != vae.sample(40, seed=4)
    assert vae.sample_near(mols30[1], 5, radius=2.0, seed=7, temperature=1.0) == vae.sample_near(
        mols30[1], 5, radius=2.0, seed=7, temperature=1.0
    )
    refit = SmilesVAE(**{**TINY, "max_epochs": 2}).fit(mols30)
    again = SmilesVAE(**{**TINY, "max_epochs": 2}).fit(mols30)
    assert refit.sample(20, seed=0) == again.sample(20, seed=0)


def test_saved_and_loaded_generator_samples_the_same(
    vae: SmilesVAE, mols30: list[str], tmp_path: Path
) -> None:
    state = vae.get_state()
    assert state.meta["generator"] == "smiles-vae"
    assert state.meta["vocabulary"][:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert state.meta["training"]["n_train"] == 30
    json.dumps(state.meta, allow_nan=False)  # strict JSON: no NaN in the provenance
    assert all(isinstance(v, np.ndarray) for v in state.arrays.values())
    again = generator_from_state(state)
    assert again.sample(30, seed=5) == vae.sample(30, seed=5)

    loaded = load_generator(save_generator(tmp_path / "vae", vae)).generator
    assert isinstance(loaded, SmilesVAE)
    assert loaded.sample(30, seed=5) == vae.sample(30, seed=5)
    np.testing.assert_array_equal(loaded.encode(mols30), vae.encode(mols30))
    assert loaded.interpolate(mols30[0], mols30[1], 4) == vae.interpolate(mols30[0], mols30[1], 4)


# ----------------------------------------------------------------------------- bad input
def test_invalid_smiles_raise_one_line_or_are_skipped_and_counted(mols30: list[str]) -> None:
    data = [*mols30[:10], "C1CC", "", *mols30[10:20]]
    with pytest.raises(InvalidSmilesError, match=r"2 invalid SMILES \(rows 11, 12\)") as err:
        SmilesVAE(**MINI).fit(data)
    assert "\n" not in str(err.value)
    model = SmilesVAE(**MINI).fit(data, skip_invalid=True)
    assert model.invalid_rows_ == [10, 11]
    assert model.training_["n_invalid"] == 2 and model.training_["n_train"] == 20

    short = SmilesVAE(**{**MINI, "max_length": 30})
    with pytest.raises(InvalidSmilesError, match="longer than 30 tokens"):
        short.fit(mols30)
    short.fit(mols30, skip_invalid=True)
    assert 0 < len(short.too_long_rows_) < 28
    assert short.training_["n_too_long"] == len(short.too_long_rows_)
    with pytest.raises(TypeError):
        SmilesVAE(**MINI).fit("CCO")


# ----------------------------------------------------------------------------- resume
class _InterruptAt(TrainHooks):
    """Sends this process SIGINT after optimizer step ``at`` (the loop saves and stops)."""

    def __init__(self, at: int) -> None:
        self.at, self.seen = at, 0

    def on_batch_end(self, epoch: int, step: int, loss: float) -> None:
        self.seen += 1
        if self.seen == self.at:
            signal.raise_signal(signal.SIGINT)


def test_resumed_fit_matches_an_uninterrupted_one(mols30: list[str], tmp_path: Path) -> None:
    """The KL schedule's clock is saved in the checkpoint, so the weights come out identical."""
    params = {**MINI, "max_steps": 6, "eval_every": 3, "kl_anneal_fraction": 1.0}
    straight = SmilesVAE(**params).fit(mols30)
    with pytest.raises(TrainingInterrupted):
        SmilesVAE(**params).fit(mols30, checkpoint_dir=str(tmp_path), hooks=[_InterruptAt(2)])
    resumed = SmilesVAE(**params).fit(mols30, checkpoint_dir=str(tmp_path), resume=True)
    for name, value in straight.module_.state_dict().items():
        torch.testing.assert_close(resumed.module_.state_dict()[name], value, rtol=0, atol=0)
    assert resumed.training_["steps"] == 6


# ----------------------------------------------------------------------------- workflow
def test_train_workflow_on_a_user_file(mols30: list[str], tmp_path: Path) -> None:
    data = tmp_path / "mols.csv"
    data.write_text("smiles\n" + "\n".join([*mols30[:15], "not-a-smiles", *mols30[15:]]) + "\n")
    out = tmp_path / "vae"
    config = TrainVAEConfig(
        out=str(out), data=str(data), epochs=2, batch_size=10, seed=1, n_eval_samples=20,
        quiet=True, model_params={k: v for k, v in MINI.items()
                                  if k not in ("batch_size", "max_epochs")},
    )  # fmt: skip
    result = run_train_vae(config)
    assert result.n_input == 31 and result.n_invalid == 1 and result.n_used == 30
    assert result.metrics["data"]["invalid_examples"] == [f"{data}:17"]
    assert result.stop_reason == "max_epochs"
    loaded = load_generator(out)
    assert loaded.kind == "smiles-vae"
    # the corpus is recorded as drugforge generate reads it for novelty
    assert loaded.training["corpus"]["files"][0]["path"] == str(data.resolve())
    assert loaded.training["corpus"]["smiles_column"] is None  # detected again when read
    generated = run_generate(GenerateConfig(model=str(out), n=20, out=str(tmp_path / "g.csv"),
                                            seed=3, quiet=True))  # fmt: skip
    assert generated.n_sampled == 20 and generated.n_novel is not None
    assert loaded.config["seed"] == 1 and loaded.metrics["prior_samples"]["n_samples"] == 20
    assert loaded.generator.sample(10, seed=2) == result.generator.sample(10, seed=2)
    with pytest.raises(InputError, match="already saved"):
        run_train_vae(config)
    # resuming a finished run trains no further and saves the same generator again
    resumed = run_train_vae(config.model_copy(update={"resume": True}))
    assert resumed.generator.sample(10, seed=2) == result.generator.sample(10, seed=2)
    assert resumed.metrics["steps"] == result.metrics["steps"]
    # an unfinished run's checkpoints are not silently mixed with a new run
    (out / "manifest.json").unlink()
    with pytest.raises(InputError, match="--resume"):
        run_train_vae(config)


def test_train_workflow_on_a_moses_subset(tmp_path: Path, moses_data: Path) -> None:
    config = TrainVAEConfig(
        out=str(tmp_path / "vae"), max_molecules=40, epochs=1, batch_size=20, n_eval_samples=0,
        quiet=True, model_params={"embedding_dim": 8, "encoder_hidden": 16, "latent_dim": 4,
                                  "decoder_hidden": 16, "decoder_layers": 1},
    )  # fmt: skip
    result = run_train_vae(config)
    assert result.n_input == 40 and result.n_used == 40
    assert result.metrics["data"]["source"].startswith("MOSES train")


def test_train_config_rejects_unknown_fields_and_parameters() -> None:
    with pytest.raises(ValidationError, match="choose from"):
        TrainVAEConfig(out="x", model_params={"latent_size": 3})
    with pytest.raises(ValidationError, match="seed"):
        TrainVAEConfig(out="x", model_params={"seed": 3})
    with pytest.raises(ValidationError):
        TrainVAEConfig(out="x", epoch=3)  # type: ignore[call-arg]
