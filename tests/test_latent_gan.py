"""LatentGAN: shapes, the critic/generator alternation inside the one training loop, learning a
VAE's latent distribution, sampling, determinism, save/load with its VAE, bad input, workflow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from drugforge.core.artifacts import load_generator, save_generator
from drugforge.core.errors import InputError, InvalidSmilesError
from drugforge.core.training.device import seed_everything
from drugforge.molecules.models.generative import SmilesGenerator, generator_from_state
from drugforge.molecules.models.latent_gan import (
    CriticAlternation,
    LatentGAN,
    LatentGANConfig,
    LatentGANModule,
)
from drugforge.molecules.models.smiles_vae import SmilesVAE
from drugforge.workflows.generative_train import TrainLatentGANConfig, run_train_latent_gan

VAE_PARAMS: dict[str, Any] = {
    "embedding_dim": 8,
    "encoder_hidden": 16,
    "latent_dim": 4,
    "decoder_hidden": 16,
    "decoder_layers": 1,
    "kl_weight": 0.1,
    "lr": 3e-3,
    "batch_size": 50,
    "max_epochs": 2,
    "val_fraction": 0.0,
}
# small networks, enough steps (3,000: 2,500 critic and 500 generator) to match 4-D latents
GAN_PARAMS: dict[str, Any] = {
    "noise_dim": 4,
    "hidden": 32,
    "generator_layers": 2,
    "critic_layers": 2,
    "lr": 5e-4,
    "batch_size": 64,
    "max_epochs": 600,
}


@pytest.fixture(scope="module")
def mols(moses_test_sample: list[str]) -> list[str]:
    return moses_test_sample[:300]


@pytest.fixture(scope="module")
def vae(mols: list[str]) -> SmilesVAE:
    return SmilesVAE(**VAE_PARAMS).fit(mols)


@pytest.fixture(scope="module")
def gan(vae: SmilesVAE, mols: list[str]) -> LatentGAN:
    return LatentGAN(**GAN_PARAMS).fit(vae, mols)


def _standardized(latents: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return (latents - reference.mean(axis=0)) / reference.std(axis=0)


def test_module_shapes() -> None:
    config = LatentGANConfig(latent_dim=6, noise_dim=5, hidden=16, generator_layers=3)
    module = LatentGANModule(config)
    fake = module(torch.randn(7, 5))
    assert fake.shape == (7, 6)
    assert module.critic(fake).shape == (7, 1)
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in module.generator) == 3
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in module.critic)


def test_alternation_rhythm() -> None:
    turns = CriticAlternation(n_critic=3)
    assert [turns.critic_turn(s) for s in range(9)] == [True] * 3 + [False] + [True] * 3 + [
        False,
        True,
    ]
    with pytest.raises(ValueError, match="n_critic"):
        CriticAlternation(0)


def test_each_turn_updates_only_its_network(vae: SmilesVAE, mols: list[str]) -> None:
    """Step 1 is a critic step, step 2 a generator step (n_critic=1): the loop's one optimizer
    leaves the other network untouched each time."""
    latents = vae.encode(mols)
    params = {**GAN_PARAMS, "n_critic": 1, "batchnorm": False}
    seed_everything(0)  # as fit_latents does before it builds the networks
    init = LatentGANModule(
        LatentGANConfig(
            latent_dim=4,
            noise_dim=4,
            hidden=32,
            generator_layers=2,
            critic_layers=2,
            batchnorm=False,
        )
    )
    one = LatentGAN(**params, max_steps=1).fit_latents(vae, latents).module_
    two = LatentGAN(**params, max_steps=2).fit_latents(vae, latents).module_

    def same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
        return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                     b.state_dict().values(), strict=True))  # fmt: skip

    assert same(one.generator, init.generator) and not same(one.critic, init.critic)
    assert same(two.critic, one.critic) and not same(two.generator, one.generator)


def test_learns_the_latent_distribution(gan: LatentGAN, vae: SmilesVAE, mols: list[str]) -> None:
    data = vae.encode(mols)
    untrained = LatentGAN(**{**GAN_PARAMS, "max_epochs": 1, "lr": 1e-12}).fit(vae, mols)

    def distances(model: LatentGAN) -> tuple[float, float]:
        fake = _standardized(model.generate_latents(4000, seed=1), data)
        real = _standardized(data, data)
        return (float(np.linalg.norm(fake.mean(axis=0))),
                float(np.linalg.norm(np.cov(fake.T) - np.cov(real.T))))  # fmt: skip

    _, cov_before = distances(untrained)
    mean_after, cov_after = distances(gan)
    assert cov_after < 0.6 * cov_before
    assert mean_after < 0.5  # in units of the data's standard deviation
    # the critic's Wasserstein estimate rises while it learns, then falls as the generator
    # catches up
    w = [h["wasserstein"] for h in gan.training_["history"]]
    assert max(w) > 0.3
    assert np.mean(w[-30:]) < 0.6 * max(w)
    history = gan.training_["history"]
    assert sum(h["critic_steps"] for h in history) == 5 * sum(h["generator_steps"] for h in history)


def test_samples_are_decoded_strings_and_seeded(gan: LatentGAN) -> None:
    samples = gan.sample(50, seed=0)
    assert len(samples) == 50 and all(isinstance(s, str) for s in samples)
    assert gan.sample(50, seed=0) == samples
    assert gan.sample(50, seed=1) != samples
    assert gan.generate_latents(10, seed=2).shape == (10, VAE_PARAMS["latent_dim"])
    assert isinstance(gan, SmilesGenerator)


def test_state_holds_the_vae_and_round_trips(gan: LatentGAN, tmp_path: Path) -> None:
    state = gan.get_state()
    assert state.meta["generator"] == "latent-gan"
    assert state.meta["vae"]["generator"] == "smiles-vae"
    assert any(k.startswith("vae.module.") for k in state.arrays)
    json.dumps(state.meta, allow_nan=False)
    assert generator_from_state(state).sample(25, seed=3) == gan.sample(25, seed=3)
    loaded = load_generator(save_generator(tmp_path / "gan", gan))
    assert loaded.kind == "latent-gan"
    assert isinstance(loaded.generator, LatentGAN)
    assert loaded.generator.sample(25, seed=3) == gan.sample(25, seed=3)
    np.testing.assert_array_equal(loaded.generator.generate_latents(8), gan.generate_latents(8))


def test_bad_input(vae: SmilesVAE, mols: list[str]) -> None:
    quick = {**GAN_PARAMS, "max_epochs": 1}
    with pytest.raises(InvalidSmilesError, match=r"rows 3\b"):
        LatentGAN(**quick).fit(vae, [*mols[:2], "C1CC", *mols[2:10]])
    model = LatentGAN(**quick).fit(vae, [*mols[:2], "C1CC", *mols[2:10]], skip_invalid=True)
    assert model.invalid_rows_ == [2] and model.training_["n_invalid"] == 1
    assert model.training_["n_latents"] == 10
    with pytest.raises(InputError, match="latent vectors of size 4"):
        LatentGAN(**quick).fit_latents(vae, np.zeros((10, 3)))
    with pytest.raises(InputError, match="NaN"):
        LatentGAN(**quick).fit_latents(vae, np.full((10, 4), np.nan))


def test_train_workflow(vae: SmilesVAE, mols: list[str], tmp_path: Path) -> None:
    vae_dir = save_generator(tmp_path / "vae", vae)
    data = tmp_path / "mols.smi"
    data.write_text("\n".join([*mols[:40], "C1CC"]) + "\n")
    out = tmp_path / "gan"
    config = TrainLatentGANConfig(
        out=str(out), vae=str(vae_dir), data=str(data), epochs=3, batch_size=16,
        n_eval_samples=10, quiet=True,
        model_params={k: v for k, v in GAN_PARAMS.items()
                      if k not in ("lr", "batch_size", "max_epochs")},
    )  # fmt: skip
    result = run_train_latent_gan(config)
    assert result.n_input == 41 and result.n_invalid == 1 and result.n_used == 40
    loaded = load_generator(out)
    assert loaded.kind == "latent-gan" and loaded.metrics["samples"]["n_samples"] == 10
    assert loaded.generator.sample(10, seed=4) == result.generator.sample(10, seed=4)
    # a latent GAN is not a VAE to train another GAN on
    wrong = TrainLatentGANConfig(out=str(tmp_path / "gan2"), vae=str(out), data=str(data),
                                 quiet=True)  # fmt: skip
    with pytest.raises(InputError, match="not a smiles-vae"):
        run_train_latent_gan(wrong)
