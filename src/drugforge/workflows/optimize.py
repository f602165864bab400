"""``drugforge optimize``: steer a chemical language model toward an objective.

The objective (:mod:`drugforge.molecules.generation.scoring`) combines saved drugforge models and built-in
scores (QED, synthetic accessibility, similarity, substructures) with hard constraints; the
prior (a pretrained ``chem-lm`` generator) is fine-tuned toward it by reinforcement learning with
a scaffold diversity filter and experience replay (:mod:`drugforge.molecules.generation.rl`), through the one
training loop, so the run has checkpoints, a time budget and exact resume.

Output (CSV or Parquet, by extension): the ``top`` best distinct valid molecules sampled during
the run, ranked by the objective's total (before the diversity filter), with columns

``rank``, ``smiles`` (canonical), ``score`` (the total), per component ``NAME`` (raw value) and
``NAME_score`` (transformed), ``passes_filters`` (constraints, must, must-not), ``scaffold``
(Murcko), ``novel`` (not in the prior's training corpus or ``--novelty-reference``; empty when
neither is available) and ``step`` (the step that first sampled it).

Invalid strings never appear as molecules: they are counted (``valid_fraction`` of the summary)
and got no reward. A molecule whose score failed (NaN) is not ranked.

Checkpoints go to ``--checkpoint-dir`` (default ``OUT.checkpoints/``) with the run's resolved
configuration (``run.json``); ``--resume`` continues a run stopped by its time budget, Ctrl-C or
SIGTERM and ends with what an uninterrupted run gives.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field

from drugforge.core.artifacts import save_generator, write_json
from drugforge.core.config import RunConfig
from drugforge.core.errors import InputError
from drugforge.core.runtime import Logger, check_output_path, make_logger
from drugforge.molecules.chem.mol import parse_smiles
from drugforge.molecules.chem.moses_features import moses_fingerprint
from drugforge.molecules.chem.scaffold import murcko_scaffold
from drugforge.molecules.data.corpus import corpus_file, read_smiles_set
from drugforge.molecules.data.io import write_table
from drugforge.molecules.generation.moses_similarity import internal_diversities
from drugforge.molecules.generation.rl import AgentBatches, RLConfig, reinforce
from drugforge.molecules.generation.sampling import load_named_generator, novelty_reference
from drugforge.molecules.generation.scoring import (
    Objective,
    ObjectiveConfig,
    load_objective_file,
    parse_constraint,
    parse_score_spec,
)
from drugforge.molecules.models.chemlm import ChemLM

__all__ = [
    "OptimizeConfig",
    "OptimizeResult",
    "intdiv",
    "objective_from_options",
    "run_optimize",
    "top_molecules",
]

RUN_JSON = "run.json"
# settings that may change when a run is resumed (the rest must match the checkpointed run)
_RUNTIME = ("out", "top", "save_agent", "novelty_reference", "checkpoint_dir", "resume", "force",
            "time_budget_minutes", "threads", "quiet", "device")  # fmt: skip


class OptimizeConfig(RunConfig):
    """The validated configuration of one ``drugforge optimize`` run."""

    model_config = ConfigDict(extra="forbid")

    prior: str = Field(
        default="chem-lm", description="pretrained chem-lm generator directory or shipped name "
        "(chem-lm)", json_schema_extra={"cli": {"metavar": "NAME|DIR"}},
    )  # fmt: skip
    objective: ObjectiveConfig
    out: str = Field(description="output .csv/.tsv/.parquet (optionally .gz): the top molecules")
    steps: int = Field(default=300, ge=1, description="reinforcement-learning steps (300)")
    batch_size: int = Field(default=64, ge=1, description="molecules sampled per step (64)")
    sigma: float = Field(default=128.0, gt=0,
                         description="score weight in the augmented likelihood (128)")
    lr: float = Field(default=1e-4, gt=0, description="learning rate (1e-4)")
    temperature: float = Field(default=1.0, gt=0, description="sampling temperature (1)")
    diversity_filter: bool = Field(
        default=True, json_schema_extra={"cli": {"flag": "--no-diversity-filter",
                                                 "action": "store_false"}},
    )  # fmt: skip
    bucket_size: int = Field(default=25, ge=1,
                             description="diversity filter: good molecules per Murcko scaffold (25)")
    min_score: float = Field(default=0.4, ge=0, le=1,
                             description="diversity filter: the score that counts as good (0.4)")
    replay_size: int = Field(default=100, ge=0,
                             description="best molecules kept for experience replay (100; 0: off)")
    replay_sample: int = Field(default=10, ge=0, description="molecules replayed per step (10)")
    top: int = Field(default=100, ge=1, description="molecules written (100)",
                     json_schema_extra={"cli": {"metavar": "K"}})
    seed: int = 0
    save_agent: str | None = Field(default=None, description="also save the fine-tuned generator "
                                   "here", json_schema_extra={"cli": {"metavar": "DIR"}})
    novelty_reference: str | None = Field(  # a molecule file to count novelty against
        default=None, description="molecules to count novelty against (besides the prior's "
        "corpus)", json_schema_extra={"cli": {"metavar": "FILE"}},
    )  # fmt: skip
    checkpoint_dir: str | None = Field(  # default: OUT.checkpoints
        default=None, description="checkpoints and run.json (default: OUT.checkpoints)",
        json_schema_extra={"cli": {"metavar": "DIR"}},
    )  # fmt: skip
    checkpoint_every: int | None = Field(default=None, ge=1,
                                         json_schema_extra={"cli": {"metavar": "STEPS"}})
    resume: bool = Field(default=False, description="continue the run from its last checkpoint "
                         "(same settings)")
    force: bool = Field(default=False, description="overwrite --out and start over")
    time_budget_minutes: float | None = Field(
        default=None, gt=0, description="stop after M minutes with a resumable checkpoint and "
        "the top so far", json_schema_extra={"cli": {"metavar": "M"}},
    )  # fmt: skip
    threads: int | None = Field(default=None, ge=1, description="torch CPU threads")
    device: Literal["auto", "cpu", "cuda"] = "cpu"
    quiet: bool = False

    def checkpoints(self) -> Path:
        return Path(self.checkpoint_dir or f"{self.out}.checkpoints")

    def identity(self) -> dict[str, Any]:
        """The settings a resumed run must share with the run it continues."""
        return {k: v for k, v in self.model_dump(mode="json").items() if k not in _RUNTIME}


@dataclass
class OptimizeResult:
    out: Path
    frame: pd.DataFrame  # the top molecules as written
    summary: dict[str, Any]
    agent: ChemLM


def _progress_line(total: int, log: Logger) -> Callable[[AgentBatches], None]:
    """One line per period: score, validity, molecules found (the loop's bar shows rate/ETA)."""

    def line(stream: AgentBatches) -> None:
        recent = stream.history[-10:]
        score = float(np.mean([h["mean_score"] for h in recent]))
        valid = float(np.mean([h["valid"] for h in recent]))
        best = max((f.score for f in stream.found.values() if f.score is not None), default=0.0)
        log(f"step {stream.step}/{total}: mean score {score:.3f} (invalid = 0), valid "
            f"{valid:.0%}, best {best:.3f}, distinct molecules {len(stream.found):,}")  # fmt: skip

    return line


def _prepare_checkpoints(config: OptimizeConfig) -> Path:
    directory = config.checkpoints()
    saved = directory / RUN_JSON
    if config.resume:
        if not saved.is_file():
            raise InputError("nothing to resume (no run.json)", path=directory)
        before = json.loads(saved.read_text())
        now = config.identity()
        for key in sorted(set(before) | set(now)):
            if before.get(key) != now.get(key):
                raise InputError(f"setting '{key}' differs from the run being resumed; resume "
                                 "with the same objective and settings", path=directory)  # fmt: skip
        return directory
    if directory.exists():
        if not config.force:
            raise InputError("checkpoints of an earlier run exist; use --resume to continue it "
                             "or --force to start over", path=directory)  # fmt: skip
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    write_json(saved, config.identity())
    return directory


def _novelty_set(config: OptimizeConfig, prior_path: str, log: Logger) -> set[str] | None:
    loaded = load_named_generator(prior_path)
    reference = novelty_reference(loaded, log)
    if config.novelty_reference:
        extra = read_smiles_set([corpus_file(config.novelty_reference)], canonical=True)
        reference = extra if reference is None else reference | extra
    return reference


def top_molecules(
    stream: AgentBatches, objective: Objective, k: int, reference: set[str] | None
) -> pd.DataFrame:
    """The ``k`` best distinct molecules the stream found, re-scored with every component."""
    ranked = sorted(
        ((f.score, f.step, smi) for smi, f in stream.found.items() if f.score is not None),
        key=lambda t: (-t[0], t[1], t[2]),
    )[:k]
    smiles = [smi for _, _, smi in ranked]
    scored = objective.score(smiles).to_frame().drop(columns=["valid", "error"])
    scored.insert(0, "rank", np.arange(1, len(smiles) + 1))
    scored["scaffold"] = [murcko_scaffold(s) for s in smiles]
    scored["novel"] = pd.Series([pd.NA if reference is None else s not in reference
                                 for s in smiles], dtype="boolean")  # fmt: skip
    scored["step"] = [step for _, step, _ in ranked]
    return scored


def intdiv(smiles: list[str]) -> tuple[float, float]:
    """MOSES IntDiv1 and IntDiv2 (Morgan r=2, 1024 bits) of a set of SMILES; NaN when empty."""
    mols = [parse_smiles(s) for s in smiles]
    fps = [moses_fingerprint(m) for m in mols if m is not None]
    if not fps:
        return math.nan, math.nan
    d1, d2 = internal_diversities(np.stack(fps), (1, 2))
    return d1, d2


def _trajectory(history: list[dict[str, float]], every: int) -> list[dict[str, float]]:
    out = []
    for start in range(0, len(history), every):
        part = history[start : start + every]
        out.append({
            "step": part[-1]["step"],
            "mean_score": round(float(np.mean([h["mean_score"] for h in part])), 4),
            "valid": round(float(np.mean([h["valid"] for h in part])), 4),
        })  # fmt: skip
    return out


def run_optimize(config: OptimizeConfig) -> OptimizeResult:
    """Run the reinforcement learning as configured, write the top molecules, return a summary.

    Bad input (missing model or prior, invalid SMARTS, output exists) raises a
    :class:`~drugforge.core.errors.DrugforgeError` before any training.
    """
    log = make_logger(config.quiet)
    out = check_output_path(config.out, config.force or config.resume)
    overwrite = config.force or config.resume
    if config.save_agent and Path(config.save_agent, "manifest.json").exists() and not overwrite:
        raise InputError("a generator is already saved here; use --force to overwrite",
                         path=config.save_agent)  # fmt: skip
    if config.novelty_reference and not Path(config.novelty_reference).is_file():
        raise InputError("novelty reference file not found", path=config.novelty_reference)
    started = time.perf_counter()
    if config.threads:
        import torch

        torch.set_num_threads(config.threads)
    objective = Objective(config.objective)
    loaded = load_named_generator(config.prior)
    if not isinstance(loaded.generator, ChemLM):
        raise InputError(f"optimize fine-tunes a chem-lm generator; {config.prior} is a "
                         f"{loaded.kind}")  # fmt: skip
    prior = loaded.generator
    checkpoints = _prepare_checkpoints(config)
    log(f"prior: {loaded.kind} from {loaded.path}; objective: {config.objective.describe()}")
    rl = RLConfig(
        steps=config.steps, batch_size=config.batch_size, sigma=config.sigma, lr=config.lr,
        temperature=config.temperature, diversity_filter=config.diversity_filter,
        bucket_size=config.bucket_size, min_score=config.min_score,
        replay_size=config.replay_size, replay_sample=config.replay_sample, seed=config.seed,
        device=config.device, log_every=max(1, min(10, config.steps)),
        checkpoint_dir=str(checkpoints), checkpoint_every=config.checkpoint_every,
        resume=config.resume,
        time_budget_s=None if config.time_budget_minutes is None
        else config.time_budget_minutes * 60.0,
        quiet=config.quiet,
    )  # fmt: skip
    result = reinforce(prior, objective.score, rl,
                       on_period=None if config.quiet else _progress_line(config.steps, log))
    stream = result.stream
    reference = _novelty_set(config, str(loaded.path), log)
    frame = top_molecules(stream, objective, config.top, reference)
    write_table(frame, out, force=True)
    agent = result.agent
    agent.training = {**prior.training, "optimize": {
        "prior": str(loaded.path), "objective": config.objective.model_dump(mode="json"),
        "steps": result.train.steps, "seed": config.seed, "sigma": config.sigma}}  # fmt: skip
    if config.save_agent:
        save_generator(config.save_agent, agent, config=config.resolved(),
                       metrics={"steps": result.train.steps}, overwrite=True)  # fmt: skip
    history = stream.history
    n_valid_total = sum(h["valid"] for h in history) * config.batch_size
    d1, d2 = intdiv(frame["smiles"].tolist())
    novel = frame["novel"].dropna()
    summary: dict[str, Any] = {
        "out": str(out),
        "steps": result.train.steps,
        "max_steps": config.steps,
        "stop_reason": result.train.stop_reason,
        "sampled": len(history) * config.batch_size,
        "valid_fraction": n_valid_total / max(1, len(history) * config.batch_size),
        "distinct_valid": len(stream.found),
        "mean_score_first_steps": _mean(history[:10], "mean_score"),
        "mean_score_last_steps": _mean(history[-10:], "mean_score"),
        "trajectory": _trajectory(history, max(1, min(10, config.steps))),
        "top": {
            "k": len(frame),
            "mean_score": float(frame["score"].mean()) if len(frame) else math.nan,
            "min_score": float(frame["score"].min()) if len(frame) else math.nan,
            "intdiv1": d1,
            "intdiv2": d2,
            "scaffolds": int(frame["scaffold"].nunique()),
            "novel_fraction": float(novel.mean()) if len(novel) else None,
        },
        "seconds": time.perf_counter() - started,
        "checkpoints": str(checkpoints),
    }
    if result.train.stop_reason == "time_budget":
        log(f"time budget reached at step {result.train.steps}/{config.steps}; the top molecules "
            "so far are written; run again with --resume to continue")  # fmt: skip
    log(f"wrote the top {len(frame)} molecules to {out} (mean score {summary['top']['mean_score']:.3f}, "
        f"IntDiv1 {d1:.3f}) in {summary['seconds']:.0f} s")  # fmt: skip
    return OptimizeResult(out=out, frame=frame, summary=summary, agent=agent)


def _mean(history: list[dict[str, float]], key: str) -> float:
    return float(np.mean([h[key] for h in history])) if history else math.nan



def objective_from_options(
    *,
    file: str | None = None,
    scores: list[str] | None = None,
    constraints: list[str] | None = None,
    must: list[str] | None = None,
    must_not: list[str] | None = None,
    similar_to: list[str] | None = None,
    aggregate: Literal["geometric", "arithmetic"] | None = None,
) -> ObjectiveConfig:
    """The objective of a command line: ``--objective FILE`` plus the components, constraints
    and patterns given as flags (see :func:`~drugforge.molecules.generation.scoring.parse_score_spec`)."""
    base = load_objective_file(file) if file else None
    components = list(base.components) if base else []
    components += [parse_score_spec(s) for s in scores or []]
    if similar_to:
        components.append(parse_score_spec("similarity:" + ",".join(similar_to)))
    if not components:
        raise InputError("no objective: give --score SPEC, --similar-to SMILES or --objective FILE")
    return ObjectiveConfig(
        components=components,
        constraints=[*(base.constraints if base else []),
                     *(parse_constraint(c) for c in constraints or [])],
        must=[*(base.must if base else []), *(must or [])],
        must_not=[*(base.must_not if base else []), *(must_not or [])],
        aggregate=aggregate or (base.aggregate if base else "geometric"),
    )  # fmt: skip
