"""Latent GAN (``kind='latent-gan'``): a Wasserstein GAN in a trained SMILES VAE's latent space.

After Prykhodko et al. 2019 (LatentGAN, J. Cheminform. 11:74): molecules are encoded by an
autoencoder, a WGAN with gradient penalty (Gulrajani et al. 2017) learns the distribution of
their latent vectors, and new molecules are the autoencoder's decodings of generated latents.
Here the autoencoder is a :class:`~drugforge.molecules.models.smiles_vae.SmilesVAE` and the data are the
posterior means ``mu`` of the training molecules, standardized per dimension (a VAE's means can
spread over 0.05 or over 3 units; the gradient penalty's target norm of 1 assumes unit scale), and
generated latents are mapped back before decoding. Shapes (``B`` batch, ``N`` noise, ``Z`` latent)::

    generator: noise (B, N) -> [Linear -> BatchNorm -> LeakyReLU] x layers -> Linear -> (B, Z)
    critic:    latent (B, Z) -> [Linear -> LeakyReLU] x layers -> Linear -> score (B, 1)
    sampling:  noise -> generator -> latents (n, Z) -> VAE decoder -> strings

Losses (``W = mean D(real) - mean D(fake)``, the critic's Wasserstein estimate)::

    critic turn:    -W + gp_weight * mean((||grad_x D(x_mix)|| - 1)^2)   x_mix on real-fake lines
    generator turn: -mean D(G(noise))

How the alternation fits the one training loop
----------------------------------------------
:func:`~drugforge.core.training.loop.fit_torch` owns one AdamW optimizer over ``module.parameters()`` and
makes one ``zero_grad(set_to_none=True) -> backward -> step`` per batch. The GAN is a single
:class:`LatentGANModule` holding both networks, and each loop step is *either* a critic step or a
generator step: ``n_critic`` critic turns, then one generator turn, by the optimizer step number
(:class:`CriticAlternation`; the step is counted in a buffer of the trained module, so
checkpoints carry it and a resumed run keeps the rhythm). The loss function
keeps the other network out of the autograd graph, so its parameters end the step with
``grad is None`` and AdamW skips them entirely (no update, no moment update, no weight decay):

* critic turn: the fakes are made under ``torch.no_grad()``;
* generator turn: the critic is applied with ``torch.func.functional_call`` on *detached* copies
  of its parameters, so the gradient flows through the critic into the generator but never into
  the critic's weights.

This is two optimizers in effect (AdamW keeps per-parameter state, and each network's state only
advances on its own turns) with one loop, one ``backward`` and no second optimizer hidden in a
loss function. What it cannot do is give the two networks different learning rates or Adam betas:
the loop's AdamW has betas 0.9/0.999 where WGAN-GP used 0.5/0.9 or 0/0.9 (on the 4-d test
latents, patching in 0.5/0.9 or 0/0.9 gave no clear gain). An epoch is one pass over the shuffled
real latents, one batch per turn, so a generator turn leaves its real batch unused.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal, Self

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import Tensor, nn
from torch.func import functional_call

from drugforge.core.errors import InputError, InvalidSmilesError
from drugforge.core.training.arrays import arrays_to_module, module_to_arrays
from drugforge.core.training.data import TensorData
from drugforge.core.training.device import resolve_device, seed_everything
from drugforge.core.training.hooks import TrainHooks
from drugforge.core.training.loop import TrainConfig, TrainResult, fit_torch
from drugforge.molecules.data.token_data import prepare_smiles
from drugforge.molecules.models.base import ModelState
from drugforge.molecules.models.generator_training import (
    StepCounter,
    finite_or_none,
    join_history,
    period_key,
)
from drugforge.molecules.models.smiles_vae import SmilesVAE

__all__ = ["CriticAlternation", "LatentGAN", "LatentGANConfig", "LatentGANModule"]

_FORMAT = 1


@dataclass
class LatentGANConfig:
    """Architecture of :class:`LatentGANModule` (LatentGAN: three layers of 256 in each network)."""

    latent_dim: int  # the VAE's latent size
    noise_dim: int = 128
    hidden: int = 256
    generator_layers: int = 3  # hidden layers of the generator
    critic_layers: int = 3  # hidden layers of the critic
    batchnorm: bool = True  # in the generator (never in the critic: it breaks the penalty)
    leaky_slope: float = 0.2

    def __post_init__(self) -> None:
        for name in ("latent_dim", "noise_dim", "hidden", "generator_layers", "critic_layers"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


def _mlp(sizes: list[int], batchnorm: bool, slope: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes[:-1]):
        layers.append(nn.Linear(fan_in, fan_out))
        if batchnorm:
            layers.append(nn.BatchNorm1d(fan_out))
        layers.append(nn.LeakyReLU(slope))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


class LatentGANModule(nn.Module):
    """The generator and the critic, in one module so that one loop trains both."""

    def __init__(self, config: LatentGANConfig) -> None:
        super().__init__()
        c = self.config = config
        self.generator = _mlp(
            [c.noise_dim] + [c.hidden] * c.generator_layers + [c.latent_dim],
            c.batchnorm, c.leaky_slope,
        )  # fmt: skip
        self.critic = _mlp(
            [c.latent_dim] + [c.hidden] * c.critic_layers + [1], False, c.leaky_slope
        )

    def forward(self, noise: Tensor) -> Tensor:
        """noise (B, N) -> generated latents (B, Z)."""
        return self.generator(noise)  # type: ignore[no-any-return]


class CriticAlternation(TrainHooks):
    """Whose turn it is: ``n_critic`` critic steps, then one generator step, over the whole fit.

    The loss function asks :meth:`critic_turn` for its optimizer step (counted by a
    :class:`~drugforge.molecules.models.generator_training.StepCounter`, so a resumed run keeps
    the rhythm) and reports its terms with :meth:`record_critic` / :meth:`record_generator`; the per-period means
    (Wasserstein estimate, gradient penalty, generator loss) go to :attr:`terms`.
    """

    def __init__(self, n_critic: int) -> None:
        if n_critic < 1:
            raise ValueError(f"n_critic must be >= 1, got {n_critic}")
        self.n_critic = n_critic
        self.terms: dict[tuple[str, float], dict[str, float]] = {}
        self._sums = np.zeros(5)  # wasserstein, penalty, critic steps; generator loss, steps

    def critic_turn(self, step: int) -> bool:
        """Whether 0-based optimizer step ``step`` trains the critic."""
        return step % (self.n_critic + 1) < self.n_critic

    def record_critic(self, wasserstein: float, penalty: float) -> None:
        self._sums[0:3] += (wasserstein, penalty, 1.0)

    def record_generator(self, loss: float) -> None:
        self._sums[3:5] += (loss, 1.0)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        s = self._sums
        self.terms[period_key(logs)] = {
            "wasserstein": s[0] / max(s[2], 1.0),
            "gradient_penalty": s[1] / max(s[2], 1.0),
            "generator_loss": s[3] / s[4] if s[4] else float("nan"),
            "critic_steps": float(s[2]),
            "generator_steps": float(s[4]),
        }
        self._sums = np.zeros(5)
        return None


def critic_loss(
    module: LatentGANModule, real: Tensor, gp_weight: float
) -> tuple[Tensor, Tensor, Tensor]:
    """``(loss, W, penalty)`` of a critic turn on real latents (B, Z); the generator is frozen."""
    b = real.shape[0]
    noise = torch.randn(max(b, 2), module.config.noise_dim, device=real.device)  # (B, N)
    with torch.no_grad():  # no generator gradient: AdamW leaves the generator alone this step
        fake = module.generator(noise)[:b]  # (B, Z); >= 2 rows for batch norm's statistics
    w = module.critic(real).mean() - module.critic(fake).mean()
    eps = torch.rand(b, 1, device=real.device)  # (B, 1)
    mix = (eps * real + (1.0 - eps) * fake).requires_grad_(True)  # (B, Z)
    (grad,) = torch.autograd.grad(module.critic(mix).sum(), mix, create_graph=True)  # (B, Z)
    penalty = (grad.norm(2, dim=1) - 1.0).pow(2).mean()
    return -w + gp_weight * penalty, w, penalty


def generator_loss(module: LatentGANModule, batch_size: int, device: torch.device) -> Tensor:
    """Loss of a generator turn; the critic runs on detached weights, so it gets no gradient."""
    noise = torch.randn(max(batch_size, 2), module.config.noise_dim, device=device)  # (B, N)
    fake = module.generator(noise)  # (B, Z)
    frozen = {name: p.detach() for name, p in module.critic.named_parameters()}
    score = functional_call(module.critic, frozen, (fake,))  # (B, 1)
    return -score.mean()


class LatentGAN(BaseEstimator):  # type: ignore[misc]
    """WGAN-GP on a SMILES VAE's latents; samples are the VAE's decodings of generated latents.

    Parameters
    ----------
    noise_dim, hidden, generator_layers, critic_layers, batchnorm
        Architecture, see :class:`LatentGANConfig`.
    n_critic, gp_weight
        Critic steps per generator step, weight of the gradient penalty (WGAN-GP: 5 and 10).
    lr, batch_size, max_epochs
        Training through :func:`~drugforge.core.training.loop.fit_torch` (AdamW, constant learning rate,
        no gradient clipping); an epoch is one pass over the real latents.
    max_steps, time_budget_s
        A budget of optimizer steps (critic and generator steps both count) instead of epochs;
        stop after this many seconds of training.
    seed, device, quiet
        Seeds weights and noise; ``'cpu'``, ``'cuda'`` or ``'auto'``; no progress bar.
    """

    kind: ClassVar[str] = "latent-gan"

    def __init__(
        self,
        noise_dim: int = 128,
        hidden: int = 256,
        generator_layers: int = 3,
        critic_layers: int = 3,
        batchnorm: bool = True,
        n_critic: int = 5,
        gp_weight: float = 10.0,
        lr: float = 2e-4,
        batch_size: int = 64,
        max_epochs: int = 100,
        max_steps: int | None = None,
        time_budget_s: float | None = None,
        seed: int = 0,
        device: Literal["cpu", "cuda", "auto"] = "cpu",
        quiet: bool = True,
    ) -> None:
        self.noise_dim = noise_dim
        self.hidden = hidden
        self.generator_layers = generator_layers
        self.critic_layers = critic_layers
        self.batchnorm = batchnorm
        self.n_critic = n_critic
        self.gp_weight = gp_weight
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.max_steps = max_steps
        self.time_budget_s = time_budget_s
        self.seed = seed
        self.device = device
        self.quiet = quiet

    # ------------------------------------------------------------------------------ fitting
    def fit(
        self,
        vae: SmilesVAE,
        smiles: Sequence[str],
        *,
        skip_invalid: bool = False,
        hooks: Sequence[TrainHooks] = (),
        checkpoint_dir: str | None = None,
        checkpoint_every: int | None = None,
        resume: bool = False,
    ) -> Self:
        """Encode ``smiles`` with the fitted ``vae`` (posterior means) and train on them.

        The SMILES pass the VAE's own checks (valid, at most ``max_length`` tokens, canonical
        when the VAE is): others raise one line naming their rows unless ``skip_invalid``.
        ``hooks`` and the checkpoint arguments are passed on as in :meth:`fit_latents`.
        """
        if isinstance(smiles, str):
            raise TypeError("smiles must be a sequence of SMILES, not a single string")
        prepared = prepare_smiles(
            list(smiles), canonicalize=bool(vae.canonicalize), max_length=vae.config_.max_length
        )
        if prepared.n_skipped and not skip_invalid:
            rows = sorted(prepared.invalid_rows + prepared.too_long_rows)
            shown = ", ".join(str(r + 1) for r in rows[:5]) + (" ..." if len(rows) > 5 else "")
            raise InvalidSmilesError(
                f"{len(rows)} SMILES the VAE cannot encode (invalid or longer than "
                f"{vae.config_.max_length} tokens; rows {shown}); fix them or skip them "
                "(skip_invalid)"
            )
        latents = vae.encode(prepared.smiles)  # (n, Z)
        self.invalid_rows_: list[int] = []
        self.too_long_rows_: list[int] = []
        self.fit_latents(
            vae, latents, hooks=hooks, checkpoint_dir=checkpoint_dir,
            checkpoint_every=checkpoint_every, resume=resume,
        )  # fmt: skip
        self.invalid_rows_ = prepared.invalid_rows
        self.too_long_rows_ = prepared.too_long_rows
        self.training_.update({
            "n_input": len(smiles),
            "n_invalid": len(prepared.invalid_rows),
            "n_too_long": len(prepared.too_long_rows),
        })  # fmt: skip
        return self

    def fit_latents(
        self,
        vae: SmilesVAE,
        latents: np.ndarray,
        *,
        hooks: Sequence[TrainHooks] = (),
        checkpoint_dir: str | None = None,
        checkpoint_every: int | None = None,
        resume: bool = False,
    ) -> Self:
        """Train on latent vectors ``(n, latent_dim)`` of ``vae`` (which decodes the samples).

        ``hooks`` are passed on to ``fit_torch``; with ``checkpoint_dir`` the run is resumable
        (``resume=True`` continues it).
        """
        started = time.perf_counter()
        data = np.asarray(latents, dtype=np.float64)
        latent_dim = vae.config_.latent_dim
        if data.ndim != 2 or data.shape[1] != latent_dim or len(data) < 2:
            raise InputError(
                f"need at least 2 latent vectors of size {latent_dim}, got {data.shape}"
            )
        if not np.isfinite(data).all():
            raise InputError("latent vectors contain NaN or infinite values")
        mean = data.mean(axis=0)  # (Z,)
        std = np.maximum(data.std(axis=0), 1e-6)  # (Z,); a constant dimension stays constant
        real = torch.as_tensor(((data - mean) / std).astype(np.float32))  # (n, Z) standardized
        config = TrainConfig(
            max_epochs=int(self.max_epochs), lr=float(self.lr), batch_size=int(self.batch_size),
            patience=None, grad_clip=None, seed=int(self.seed), lr_schedule="constant",
            warmup_epochs=0.0, device=self.device, quiet=bool(self.quiet),
            max_steps=self.max_steps, time_budget_s=self.time_budget_s,
            checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every, resume=resume,
        )  # fmt: skip
        arch = LatentGANConfig(
            latent_dim=latent_dim,
            noise_dim=int(self.noise_dim),
            hidden=int(self.hidden),
            generator_layers=int(self.generator_layers),
            critic_layers=int(self.critic_layers),
            batchnorm=bool(self.batchnorm),
        )
        seed_everything(int(self.seed))
        module = LatentGANModule(arch)
        turns = CriticAlternation(int(self.n_critic))
        gp_weight = float(self.gp_weight)

        def loss_fn(m: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
            (x,) = batch  # (B, Z) real latents, standardized
            assert isinstance(m, StepCounter) and isinstance(m.inner, LatentGANModule)
            if turns.critic_turn(m.tick()):
                loss, w, penalty = critic_loss(m.inner, x, gp_weight)
                turns.record_critic(float(w.detach()), float(penalty.detach()))
                return loss
            loss = generator_loss(m.inner, len(x), x.device)
            turns.record_generator(float(loss.detach()))
            return loss

        result = fit_torch(
            StepCounter(module), TensorData(real), None, loss_fn, config, [turns, *hooks]
        )
        history = join_history(result.history, turns.terms)
        self.module_ = module
        self.config_ = arch
        self.vae_ = vae
        self.latent_mean_ = mean
        self.latent_std_ = std
        self.invalid_rows_ = []
        self.too_long_rows_ = []
        self.train_result_: TrainResult | None = result
        self.training_: dict[str, Any] = {
            "n_latents": len(real),
            "vae_data_sha256": vae.training_.get("data_sha256"),
            "steps": result.steps,
            "periods_run": len(result.history),
            "stop_reason": result.stop_reason,
            "train_seconds": round(result.seconds, 3),
            "seconds": round(time.perf_counter() - started, 3),
            "torch": torch.__version__,
            "history": history,
        }
        self.training_ = finite_or_none(self.training_)
        return self

    # ----------------------------------------------------------------------------- sampling
    def generate_latents(self, n: int, *, seed: int = 0, batch_size: int = 4096) -> np.ndarray:
        """``n`` generated latent vectors, float32 ``(n, latent_dim)`` (seeded noise)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        device = resolve_device(self.device)
        module = self.module_.to(device)
        module.eval()  # batch norm with its running statistics
        generator = torch.Generator().manual_seed(int(seed))
        noise = torch.randn(n, self.config_.noise_dim, generator=generator)  # (n, N)
        out = np.zeros((n, self.config_.latent_dim), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, n, batch_size):
                chunk = noise[start : start + batch_size].to(device)
                out[start : start + len(chunk)] = module(chunk).float().cpu().numpy()
        return (out * self.latent_std_ + self.latent_mean_).astype(np.float32)

    def sample(
        self,
        n: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        batch_size: int = 512,
        seed: int = 0,
    ) -> list[str]:
        """``n`` strings: generated latents decoded by the VAE (raw: some may be invalid)."""
        z = self.generate_latents(n, seed=seed)
        return self.vae_.decode(
            z, temperature=temperature, top_k=top_k, seed=int(seed) + 1, batch_size=batch_size
        )

    # -------------------------------------------------------------------------------- state
    def get_state(self) -> ModelState:
        vae_state = self.vae_.get_state()
        arrays = {
            **module_to_arrays(self.module_, prefix="gan."),
            "latent_mean": np.asarray(self.latent_mean_, dtype=np.float64),
            "latent_std": np.asarray(self.latent_std_, dtype=np.float64),
            **{f"vae.{k}": v for k, v in vae_state.arrays.items()},
        }
        meta: dict[str, Any] = {
            "generator": self.kind,
            "format": _FORMAT,
            "params": self.get_params(),
            "architecture": asdict(self.config_),
            "training": self.training_,
            "vae": vae_state.meta,
        }
        return ModelState(arrays=arrays, meta=meta)

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        meta = state.meta
        if meta.get("generator") != cls.kind or int(meta.get("format", -1)) != _FORMAT:
            raise ValueError(
                f"state is not a {cls.kind} generator of format {_FORMAT} "
                f"(got generator={meta.get('generator')!r}, format={meta.get('format')!r})"
            )
        vae = SmilesVAE.from_state(ModelState(
            arrays={k[len("vae."):]: v for k, v in state.arrays.items() if k.startswith("vae.")},
            meta=meta["vae"],
        ))  # fmt: skip
        config = LatentGANConfig(**meta["architecture"])
        if config.latent_dim != vae.config_.latent_dim:
            raise ValueError(
                f"the GAN works in {config.latent_dim} dimensions, its VAE in "
                f"{vae.config_.latent_dim}"
            )
        module = LatentGANModule(config)
        arrays_to_module(module, state.arrays, prefix="gan.").eval()
        model = cls(**meta["params"])
        model.module_ = module
        model.config_ = config
        model.vae_ = vae
        model.latent_mean_ = np.asarray(state.arrays["latent_mean"], dtype=np.float64)
        model.latent_std_ = np.asarray(state.arrays["latent_std"], dtype=np.float64)
        model.invalid_rows_ = []
        model.too_long_rows_ = []
        model.train_result_ = None
        model.training_ = dict(meta.get("training") or {})
        return model
