"""Reinforcement-learning fine-tuning of a chemical language model toward an objective.

REINVENT's recipe (Olivecrona et al. 2017; REINVENT 4 ``runmodes/RL``), written for drugforge:

* the *agent* starts as a copy of the *prior* (a pretrained :class:`~drugforge.molecules.models.chemlm.ChemLM`);
  the prior stays frozen;
* each step the agent samples a batch of SMILES, the objective scores them (NaN, an invalid or
  failed molecule, is no reward), and the diversity filter zeroes the reward of exact repeats and
  of molecules whose Murcko scaffold already has ``bucket_size`` good molecules
  (:class:`DiversityFilter`, REINVENT's ``IdenticalMurckoScaffold``);
* the loss is the augmented likelihood (DAP) ``(log P_prior(x) + sigma * reward(x) -
  log P_agent(x))^2`` averaged over the batch, plus the same on a few of the best molecules so
  far replayed from memory (:class:`ReplayMemory`, REINVENT's "inception").

There is no separate RL loop: :class:`AgentBatches` is a
:class:`~drugforge.core.training.data.BatchStream` whose batches are sampled from the agent being trained
and scored, and :func:`augmented_likelihood_loss` is the ``loss_fn`` hook, so
:func:`~drugforge.core.training.loop.fit_torch` in step mode runs the updates with its checkpoints, time
budget, exact resume and progress. The stream's state (sampling generator, diversity-filter and
replay memories, every molecule found with its score and first step) travels in the checkpoint.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from drugforge.core.training.hooks import TrainHooks
from drugforge.core.training.loop import TrainConfig, TrainResult, fit_torch
from drugforge.molecules.chem.scaffold import murcko_scaffold
from drugforge.molecules.models.chemlm import ChemLM
from drugforge.molecules.models.chemlm_net import pad_batch, sequence_log_probs

__all__ = [
    "AgentBatches",
    "DiversityFilter",
    "RLConfig",
    "RLResult",
    "ReplayMemory",
    "augmented_likelihood_loss",
    "reinforce",
]


class ScoredBatch(Protocol):
    """What a scorer returns (:class:`drugforge.molecules.generation.scoring.Scores` is one)."""

    smiles: list[str]  # canonical SMILES of valid molecules
    valid: np.ndarray  # bool (n,)
    total: np.ndarray  # float64 (n,); NaN = failed


Scorer = Callable[[Sequence[str]], ScoredBatch]


# ------------------------------------------------------------------------ diversity filter
class DiversityFilter:
    """Identical-Murcko-scaffold buckets (REINVENT's ``IdenticalMurckoScaffold``).

    A molecule scoring at least ``min_score`` joins its scaffold's bucket; once a bucket holds
    ``bucket_size`` molecules, any further molecule with that scaffold gets reward 0. With
    ``penalize_repeats`` a molecule seen before (canonical SMILES, this batch included) also gets
    0. Acyclic molecules share the empty scaffold's bucket.
    """

    def __init__(
        self, bucket_size: int = 25, min_score: float = 0.4, penalize_repeats: bool = True
    ) -> None:
        if bucket_size < 1:
            raise ValueError(f"bucket_size must be >= 1, got {bucket_size}")
        self.bucket_size = bucket_size
        self.min_score = min_score
        self.penalize_repeats = penalize_repeats
        self.buckets: dict[str, int] = {}
        self.seen: set[str] = set()

    def apply(self, smiles: Sequence[str | None], scores: np.ndarray) -> np.ndarray:
        """Filtered copy of ``scores`` (n,); ``smiles[i]`` canonical, None when invalid."""
        out = np.array(scores, dtype=np.float64, copy=True)
        for i, smi in enumerate(smiles):
            if smi is None:
                continue
            if self.penalize_repeats and smi in self.seen:
                out[i] = 0.0
                continue
            self.seen.add(smi)
            scaffold = murcko_scaffold(smi)
            if self.buckets.get(scaffold, 0) >= self.bucket_size:
                out[i] = 0.0
            elif out[i] >= self.min_score:
                self.buckets[scaffold] = self.buckets.get(scaffold, 0) + 1
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"buckets": dict(sorted(self.buckets.items())), "seen": sorted(self.seen)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.buckets = {str(k): int(v) for k, v in state["buckets"].items()}
        self.seen = set(state["seen"])


# ---------------------------------------------------------------------------- replay
class ReplayMemory:
    """The ``size`` best distinct molecules so far (REINVENT's inception), replayed each step.

    Entries are ``(reward, canonical, sampled string)``; the sampled string is what the agent
    generated, so its tokens are in the vocabulary. Only positive rewards are kept.
    """

    def __init__(self, size: int = 100, sample: int = 10) -> None:
        if size < 0 or sample < 0:
            raise ValueError("replay size and sample must be >= 0")
        self.size = size
        self.n_sample = sample
        self.entries: list[tuple[float, str, str]] = []

    def add(self, rewards: np.ndarray, canonical: Sequence[str | None], raw: Sequence[str]) -> None:
        known = {c for _, c, _ in self.entries}
        for reward, smi, text in zip(rewards, canonical, raw):
            if smi is None or not reward > 0 or smi in known:
                continue
            known.add(smi)
            self.entries.append((float(reward), smi, text))
        self.entries.sort(key=lambda e: (-e[0], e[1]))  # best first; ties by SMILES
        del self.entries[self.size :]

    def sample(self, rng: np.random.Generator) -> list[tuple[float, str]]:
        """Up to ``sample`` random entries as ``(reward, sampled string)``."""
        k = min(self.n_sample, len(self.entries))
        if k == 0:
            return []
        picks = rng.choice(len(self.entries), size=k, replace=False)
        return [(self.entries[i][0], self.entries[i][2]) for i in sorted(picks)]

    def state_dict(self) -> dict[str, Any]:
        return {"entries": [list(e) for e in self.entries]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.entries = [(float(r), str(c), str(t)) for r, c, t in state["entries"]]


# ---------------------------------------------------------------------------- stream
def _generator_state(gen: torch.Generator) -> str:
    return base64.b64encode(gen.get_state().numpy().tobytes()).decode("ascii")


def _set_generator_state(gen: torch.Generator, text: str) -> None:
    data = np.frombuffer(base64.b64decode(text), dtype=np.uint8).copy()
    gen.set_state(torch.from_numpy(data))


@dataclass
class Found:
    """A distinct valid molecule sampled during the run."""

    score: float | None  # the objective's total (before the diversity filter); None = failed
    step: int  # the step that first sampled it


class AgentBatches:
    """A :class:`~drugforge.core.training.data.BatchStream` of molecules sampled from the agent, scored.

    ``next_batch()`` samples ``batch_size`` sequences from ``agent`` (whose module
    :func:`fit_torch` is training), scores them, applies the diversity filter, adds replayed
    molecules, and returns ``(n, {"ids", "prior", "reward"})``: padded ids (n, L), the frozen
    prior's log-likelihood (n,) and the reward (n,). Everything random draws from the stream's
    own seeded generators, saved in :meth:`state_dict` with the memories.
    """

    unit = "molecules"

    def __init__(
        self,
        agent: ChemLM,
        prior: ChemLM,
        scorer: Scorer,
        *,
        batch_size: int = 64,
        seed: int = 0,
        temperature: float = 1.0,
        diversity: DiversityFilter | None = None,
        replay: ReplayMemory | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.agent, self.prior, self.scorer = agent, prior, scorer
        self.batch_size = batch_size
        self.temperature = temperature
        self.diversity = diversity
        self.replay = replay
        self.gen = torch.Generator(device=agent.device).manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.step = 0
        self.found: dict[str, Found] = {}
        self.history: list[dict[str, float]] = []  # one entry per step

    def next_batch(self) -> tuple[int, dict[str, Tensor]]:
        self.step += 1
        ids, strings = self.agent.sample_sequences(
            self.batch_size, self.gen, temperature=self.temperature
        )
        scores = self.scorer(strings)
        canonical: list[str | None] = [
            s if v else None for s, v in zip(scores.smiles, scores.valid)
        ]
        total = np.asarray(scores.total, dtype=np.float64)
        reward = np.nan_to_num(total, nan=0.0)  # invalid / failed: no reward
        if self.diversity is not None:
            reward = self.diversity.apply(canonical, reward)
        new = 0
        for smi, value in zip(canonical, total):
            if smi is not None and smi not in self.found:
                self.found[smi] = Found(None if math.isnan(value) else float(value), self.step)
                new += 1
        n_valid = int(np.sum(scores.valid))
        finite = total[np.isfinite(total)]
        self.history.append({
            "step": float(self.step),
            "mean_score": float(np.nan_to_num(total, nan=0.0).mean()),  # invalid counted as 0
            "mean_valid_score": float(finite.mean()) if len(finite) else math.nan,
            "max_score": float(finite.max()) if len(finite) else math.nan,
            "mean_reward": float(reward.mean()),
            "valid": n_valid / len(strings),
            "new": new / len(strings),
        })  # fmt: skip

        rewards = [float(r) for r in reward]
        if self.replay is not None:
            replayed = self.replay.sample(self.rng)
            self.replay.add(reward, canonical, strings)
            if replayed:
                tokenizer = self.agent.tokenizer
                extra = torch.as_tensor(pad_batch([tokenizer.encode(t) for _, t in replayed]),
                                        device=ids.device)  # fmt: skip
                ids = _stack_padded(ids, extra)
                rewards += [r for r, _ in replayed]
        with torch.no_grad():
            prior_logp = sequence_log_probs(self.prior.module, ids.to(self.prior.device))
        batch = {
            "ids": ids,
            "prior": prior_logp.to(ids.device).float(),
            "reward": torch.tensor(rewards, dtype=torch.float32, device=ids.device),
        }
        return len(rewards), batch

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "generator": _generator_state(self.gen),
            "rng": self.rng.bit_generator.state,
            "diversity": None if self.diversity is None else self.diversity.state_dict(),
            "replay": None if self.replay is None else self.replay.state_dict(),
            "found": {k: [v.score, v.step] for k, v in self.found.items()},
            "history": self.history,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.step = int(state["step"])
        _set_generator_state(self.gen, state["generator"])
        self.rng.bit_generator.state = dict(state["rng"])
        if self.diversity is not None and state.get("diversity") is not None:
            self.diversity.load_state_dict(state["diversity"])
        if self.replay is not None and state.get("replay") is not None:
            self.replay.load_state_dict(state["replay"])
        self.found = {k: Found(None if v[0] is None else float(v[0]), int(v[1]))
                      for k, v in state["found"].items()}  # fmt: skip
        self.history = [dict(h) for h in state["history"]]


def _stack_padded(a: Tensor, b: Tensor) -> Tensor:
    """Rows of ``a`` (n, La) then ``b`` (m, Lb), right-padded with ``<pad>`` (0) to one width."""
    width = max(a.shape[1], b.shape[1])
    a = torch.nn.functional.pad(a, (0, width - a.shape[1]))
    b = torch.nn.functional.pad(b, (0, width - b.shape[1]))
    return torch.cat([a, b], dim=0)


def augmented_likelihood_loss(sigma: float) -> Callable[[nn.Module, Mapping[str, Tensor]], Tensor]:
    """The DAP loss hook: mean of ``(prior + sigma * reward - log P_agent)^2`` over the batch."""

    def loss(module: nn.Module, batch: Mapping[str, Tensor]) -> Tensor:
        agent = sequence_log_probs(module, batch["ids"])  # (n,)
        augmented = batch["prior"] + sigma * batch["reward"]  # (n,)
        return (augmented - agent).pow(2).mean()

    return loss


# ------------------------------------------------------------------------------- run
@dataclass
class RLConfig:
    """Settings of :func:`reinforce` (REINVENT 4's defaults where it has them)."""

    steps: int = 300
    batch_size: int = 64
    sigma: float = 128.0
    lr: float = 1e-4
    temperature: float = 1.0
    diversity_filter: bool = True
    bucket_size: int = 25
    min_score: float = 0.4
    penalize_repeats: bool = True
    replay_size: int = 100
    replay_sample: int = 10
    seed: int = 0
    device: str = "cpu"
    log_every: int = 10  # steps per progress period (the loop's eval_every)
    checkpoint_dir: str | None = None
    checkpoint_every: int | None = None
    resume: bool = False
    time_budget_s: float | None = None
    quiet: bool = False

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            max_steps=self.steps, batch_size=self.batch_size, lr=self.lr,
            lr_schedule="constant", warmup_steps=0, weight_decay=0.0, grad_clip=None,
            patience=None, seed=self.seed, device=self.device,  # type: ignore[arg-type]
            eval_every=min(self.log_every, self.steps), checkpoint_dir=self.checkpoint_dir,
            checkpoint_every=self.checkpoint_every, resume=self.resume,
            time_budget_s=self.time_budget_s, quiet=self.quiet,
        )  # fmt: skip


@dataclass
class RLResult:
    agent: ChemLM
    stream: AgentBatches
    train: TrainResult
    history: list[dict[str, float]] = field(default_factory=list)


def _without_dropout(module: nn.Module) -> None:
    """The agent samples and learns one distribution: no dropout in either."""
    for m in module.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
        if isinstance(getattr(m, "dropout", None), float):  # attention's dropout_p
            setattr(m, "dropout", 0.0)  # noqa: B010


class _EachPeriod(TrainHooks):
    def __init__(self, stream: AgentBatches, callback: Callable[[AgentBatches], None]) -> None:
        self.stream, self.callback = stream, callback

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        self.callback(self.stream)
        return None


def reinforce(
    prior: ChemLM,
    scorer: Scorer,
    config: RLConfig,
    hooks: TrainHooks | Sequence[TrainHooks] | None = None,
    on_period: Callable[[AgentBatches], None] | None = None,
) -> RLResult:
    """Fine-tune a copy of ``prior`` toward ``scorer`` through :func:`fit_torch` (step mode).

    The prior is not changed. With ``config.checkpoint_dir`` the run is resumable
    (``config.resume``) and stops resumably at ``config.time_budget_s``. ``on_period(stream)``
    runs every ``config.log_every`` steps (progress lines); ``hooks`` go to the loop.
    """
    agent = ChemLM.from_state(prior.get_state()).to(config.device)
    _without_dropout(agent.module)
    prior.to(config.device)
    prior.module.eval()
    for p in prior.module.parameters():
        p.requires_grad_(False)
    stream = AgentBatches(
        agent, prior, scorer, batch_size=config.batch_size, seed=config.seed,
        temperature=config.temperature,
        diversity=(DiversityFilter(config.bucket_size, config.min_score, config.penalize_repeats)
                   if config.diversity_filter else None),
        replay=(ReplayMemory(config.replay_size, config.replay_sample)
                if config.replay_size > 0 and config.replay_sample > 0 else None),
    )  # fmt: skip
    all_hooks: list[TrainHooks] = (
        [] if hooks is None else [hooks] if isinstance(hooks, TrainHooks) else list(hooks)
    )
    if on_period is not None:
        all_hooks.append(_EachPeriod(stream, on_period))
    agent.module.train()
    result = fit_torch(agent.module, stream, None, augmented_likelihood_loss(config.sigma),
                       config.train_config(), all_hooks)  # fmt: skip
    agent.module.eval()
    return RLResult(agent=agent, stream=stream, train=result, history=list(stream.history))
