"""Train the latent-space generators: the SMILES VAE, then a latent GAN on top of it.

``run_train_vae`` reads the molecules (MOSES ``train`` by default, or a user file read with
:func:`~drugforge.molecules.data.io.read_molecules`), optionally a seeded subset of them, fits a
:class:`~drugforge.molecules.models.smiles_vae.SmilesVAE` within an epoch or step budget and a time budget,
and saves it with :func:`~drugforge.core.artifacts.save_generator`. ``run_train_latent_gan`` loads a
saved VAE, encodes the molecules with it and fits a
:class:`~drugforge.molecules.models.latent_gan.LatentGAN`, which is saved self-contained (the VAE inside).

Invalid SMILES (and SMILES longer than the VAE's ``max_length`` tokens) are skipped and counted;
the first few are named by file line in the log and in ``metrics.json``. Training checkpoints go
to ``<out>/checkpoints/``: a run stopped by its time budget, Ctrl-C or SIGTERM continues with
``resume=True`` (the saved generator of a time-budget stop holds the weights reached so far).
The resolved configuration is saved beside the generator (``config.json``).
"""

from __future__ import annotations

import inspect
import shlex
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from rdkit import Chem

from drugforge.core.artifacts import library_versions, load_generator, save_generator
from drugforge.core.config import RunConfig
from drugforge.core.errors import InputError
from drugforge.core.runtime import Logger, hardware_summary, make_logger, sha256_file
from drugforge.molecules.chem import parse_smiles
from drugforge.molecules.data.corpus import moses_file
from drugforge.molecules.data.io import read_molecules
from drugforge.molecules.models.latent_gan import LatentGAN
from drugforge.molecules.models.smiles_vae import SmilesVAE

__all__ = [
    "GeneratorTrainResult",
    "TrainLatentGANConfig",
    "TrainVAEConfig",
    "generator_model_card",
    "generator_train_command",
    "run_train_latent_gan",
    "run_train_vae",
]

# set by the run configuration's own fields, so not accepted in model_params
_RUN_PARAMS = frozenset({"seed", "max_epochs", "max_steps", "time_budget_s", "batch_size", "lr",
                         "device", "quiet"})  # fmt: skip


def _param_names(cls: type) -> set[str]:
    return set(inspect.signature(cls).parameters)


def _check_model_params(params: dict[str, Any], cls: type) -> dict[str, Any]:
    allowed = _param_names(cls) - _RUN_PARAMS - {"eval_every"}
    for name in params:
        if name not in allowed:
            raise ValueError(
                f"unknown {cls.__name__} parameter '{name}'; choose from: "
                f"{', '.join(sorted(allowed))}"
            )
    return params


class _RunConfig(RunConfig):
    """Fields shared by both runs.

    They are ``drugforge pretrain --arch smiles-vae|latent-gan``; the pretrain command's input
    (several data files, ``moses``, options of ``--arch chem-lm``) is checked here.
    """

    model_config = ConfigDict(extra="forbid")

    ARCH: ClassVar[str] = ""

    out: str  # the generator directory
    data: str | None = None  # a SMILES file (csv/tsv/smi/sdf/parquet...); None = MOSES train
    smiles_column: str | None = None
    max_molecules: int | None = Field(  # a seeded random subset of the data
        default=None, ge=2, description="smiles-vae/latent-gan: a seeded random subset of the data"
    )
    seed: int = 0
    epochs: int = Field(default=10, ge=1, description="smiles-vae/latent-gan: epochs")
    max_steps: int | None = Field(default=None, ge=1)  # a step budget instead of epochs
    time_budget_minutes: float | None = Field(default=None, gt=0)
    checkpoint_every: int | None = Field(default=None, ge=1)  # steps; None = when stopping
    resume: bool = False  # continue the run whose checkpoints are in <out>/checkpoints
    n_eval_samples: int = Field(default=1000, ge=0)  # prior samples scored after training
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    # torch CPU threads for this session (not saved: it does not change the model)
    threads: int | None = Field(default=None, ge=1, exclude=True)
    force: bool = False  # replace a generator saved in ``out``
    quiet: bool = False

    @model_validator(mode="before")
    @classmethod
    def _pretrain_input(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name in ("size", "max_len", "augment", "init"):
            if data.get(name) is not None:
                raise InputError(f"--{name.replace('_', '-')} is for --arch chem-lm")
        files = data.get("data")
        if isinstance(files, list):  # the pretrain command's corpus files
            if len(files) > 1:
                raise InputError(f"--arch {cls.ARCH} reads one data file, got {len(files)}")
            data["data"] = files[0] if files else None
        if data.pop("moses", None) and data.get("data"):
            raise InputError("give a data file or --moses, not both")
        return cls._arch_input(data)

    @classmethod
    def _arch_input(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Refuse (or drop) the options of the other architecture."""
        return data

    def set_threads(self) -> None:
        if self.threads is not None:
            import torch

            torch.set_num_threads(self.threads)


class TrainVAEConfig(_RunConfig):
    """The resolved, validated configuration of one SMILES VAE training run."""

    ARCH: ClassVar[str] = "smiles-vae"

    batch_size: int = Field(default=128, ge=1)
    lr: float = Field(default=1e-3, gt=0)
    eval_every: int | None = Field(default=None, ge=1)  # step mode: validate every N steps
    model_params: dict[str, Any] = Field(default_factory=dict)  # other SmilesVAE parameters

    @field_validator("model_params")
    @classmethod
    def _known_params(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_model_params(value, SmilesVAE)

    @classmethod
    def _arch_input(cls, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("vae") is not None:
            raise PydanticCustomError("arch", "--vae is for --arch latent-gan")
        return data


class TrainLatentGANConfig(_RunConfig):
    """The resolved, validated configuration of one latent GAN training run."""

    ARCH: ClassVar[str] = "latent-gan"

    vae: str = Field(  # directory of a saved smiles-vae generator
        description="latent-gan: the trained smiles-vae directory it decodes with",
        json_schema_extra={"cli": {"metavar": "DIR", "required": False}},  # checked below
    )
    epochs: int = Field(default=100, ge=1)
    batch_size: int = Field(default=64, ge=1)
    lr: float = Field(default=2e-4, gt=0)
    model_params: dict[str, Any] = Field(default_factory=dict)  # other LatentGAN parameters

    @field_validator("model_params")
    @classmethod
    def _known_params(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_model_params(value, LatentGAN)

    @classmethod
    def _arch_input(cls, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("vae") is None:
            raise PydanticCustomError("arch", "--arch latent-gan needs --vae DIR (a trained smiles-vae)")
        data.pop("eval_every", None)  # a VAE option; the GAN run has none (ignored, as always)
        return data


@dataclass
class GeneratorTrainResult:
    """What a generator training run produced."""

    out: Path
    generator: SmilesVAE | LatentGAN
    n_input: int  # molecules read (after the subset)
    n_used: int  # molecules trained on
    n_invalid: int
    n_too_long: int
    stop_reason: str  # max_epochs | max_steps | time_budget | ...
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Molecules:
    smiles: list[str]
    lines: np.ndarray  # the file line (record, row) of each SMILES, for messages
    path: str
    source: str
    corpus: dict[str, Any]  # the file read, as ``drugforge generate`` reads it for novelty

    def location(self, i: int) -> str:
        return f"{self.path}:{int(self.lines[i])}"


def _read_molecules(config: _RunConfig, log: Logger) -> _Molecules:
    """The run's SMILES (MOSES train or the user's file), a seeded subset when asked."""
    if config.data is None:
        path = moses_file("train")
        smiles = pd.read_csv(path, usecols=["SMILES"])["SMILES"].astype(str).tolist()
        lines = np.arange(2, len(smiles) + 2)  # the CSV header is line 1
        where, source = path.name, f"MOSES train ({path})"
        column = None
    else:
        table = read_molecules(config.data, smiles_column=config.smiles_column, target_columns=[])
        smiles, lines = table.smiles, table.line_numbers
        where = source = str(config.data)
        # the column as given: detection is redone the same way when reading for novelty, and a
        # .smi file has no header to name (read_molecules calls its column 'smiles')
        path, column = Path(config.data), config.smiles_column
    n_read = len(smiles)
    # the same record as the pretraining workflow's, so ``drugforge generate`` can mark novelty
    # (against the whole file, also when a subset was trained on)
    corpus = {
        "files": [{"path": str(path.resolve()), "sha256": sha256_file(path), "records": n_read,
                   "moses": "train" if config.data is None else None}],
        "smiles_column": column,
        "subset": config.max_molecules if config.max_molecules is not None
        and config.max_molecules < n_read else None,
    }  # fmt: skip
    if config.max_molecules is not None and config.max_molecules < n_read:
        rng = np.random.default_rng(config.seed)
        keep = np.sort(rng.choice(n_read, size=config.max_molecules, replace=False))
        smiles, lines = [smiles[i] for i in keep], lines[keep]
        log(f"data: {source}: {n_read} molecules, a seeded subset of {len(smiles)} used")
    else:
        log(f"data: {source}: {n_read} molecules")
    return _Molecules(smiles, lines, where, source, corpus)


def _report_skipped(model: SmilesVAE | LatentGAN, molecules: _Molecules, log: Logger,
                    max_length: int) -> dict[str, Any]:  # fmt: skip
    """Log and return the skipped rows (counts and the first few file:line places)."""
    invalid = [molecules.location(i) for i in model.invalid_rows_]
    too_long = [molecules.location(i) for i in model.too_long_rows_]
    if invalid:
        log(f"data: {len(invalid)} invalid SMILES skipped (e.g. {', '.join(invalid[:3])})")
    if too_long:
        log(f"data: {len(too_long)} SMILES longer than {max_length} tokens skipped "
            f"(e.g. {', '.join(too_long[:3])})")  # fmt: skip
    return {
        "n_input": len(molecules.smiles),
        "n_invalid": len(invalid),
        "n_too_long": len(too_long),
        "invalid_examples": invalid[:10],  # file:line
        "too_long_examples": too_long[:10],
        "source": molecules.source,
    }


def _prepare_out(config: _RunConfig) -> tuple[Path, Path]:
    """The output directory and its checkpoints/; refuses to mix a new run with an old one."""
    out = Path(config.out)
    checkpoints = out / "checkpoints"
    if config.resume:
        if not checkpoints.is_dir():
            raise InputError("nothing to resume: no checkpoints/ in the output directory", path=out)
        return out, checkpoints
    if (out / "manifest.json").exists() and not config.force:
        raise InputError("a generator is already saved here; use --force to overwrite", path=out)
    if checkpoints.is_dir():
        if not config.force:
            raise InputError(
                "an earlier run's checkpoints are here; continue it with --resume or start over "
                "with --force",
                path=out,
            )
        shutil.rmtree(checkpoints)  # a fresh run must not resume from them by mistake
    return out, checkpoints


def _cost(result: Any, training: dict[str, Any]) -> dict[str, Any]:
    """Training cost for the model card and benchmark tables: seconds, molecules, hardware."""
    return {
        "train_seconds": training.get("train_seconds"),  # the optimizer loop, all sessions
        "fit_seconds": training.get("seconds"),  # this session, data preparation included
        "molecules_seen": getattr(result, "units_seen", None),
        "hardware": hardware_summary(),
    }


def _sample_metrics(model: SmilesVAE | LatentGAN, n: int, seed: int) -> dict[str, Any]:
    """Validity and uniqueness (among the valid) of ``n`` samples at temperature 1."""
    if n == 0:
        return {}
    t0 = time.perf_counter()
    samples = model.sample(n, temperature=1.0, seed=seed)
    seconds = time.perf_counter() - t0
    canonical = []
    for s in samples:
        mol = parse_smiles(s)
        if mol is not None:
            canonical.append(Chem.MolToSmiles(mol))
    return {
        "n_samples": n,
        "validity": len(canonical) / n,
        "uniqueness": len(set(canonical)) / len(canonical) if canonical else 0.0,
        "sample_molecules_per_s": n / max(seconds, 1e-9),
    }


def _last(history: list[dict[str, Any]], key: str) -> Any:
    """The last period's ``key`` (None when unknown, e.g. after resuming a finished run)."""
    return history[-1].get(key) if history else None


def _num(value: Any) -> str:
    return "?" if value is None else f"{value:.3g}"


def _estimator_params(config: TrainVAEConfig | TrainLatentGANConfig) -> dict[str, Any]:
    """The estimator arguments both generator runs take from their config."""
    budget = config.time_budget_minutes
    return {
        **config.model_params,
        "seed": config.seed,
        "max_epochs": config.epochs,
        "max_steps": config.max_steps,
        "time_budget_s": None if budget is None else 60.0 * budget,
        "batch_size": config.batch_size,
        "lr": config.lr,
        "device": config.device,
        "quiet": config.quiet,
    }


def run_train_vae(config: TrainVAEConfig) -> GeneratorTrainResult:
    """Fit a SMILES VAE as configured and save it to ``config.out``."""
    config.set_threads()
    log = make_logger(config.quiet)
    started = time.perf_counter()
    out, checkpoints = _prepare_out(config)
    molecules = _read_molecules(config, log)
    vae = SmilesVAE(**_estimator_params(config), eval_every=config.eval_every)
    budget = f"{config.max_steps} steps" if config.max_steps else f"{config.epochs} epochs"
    log(f"train: smiles-vae, {budget}, batch {config.batch_size}, seed {config.seed}"
        + (f", time budget {config.time_budget_minutes:g} min" if config.time_budget_minutes
           else ""))  # fmt: skip
    vae.fit(
        molecules.smiles, skip_invalid=True, checkpoint_dir=str(checkpoints),
        checkpoint_every=config.checkpoint_every, resume=config.resume,
    )  # fmt: skip
    data = _report_skipped(vae, molecules, log, vae.config_.max_length)
    vae.training_["corpus"] = molecules.corpus  # saved with the model's provenance
    training = vae.training_
    history = training["history"]
    log(f"train: {training['steps']} steps ({training['stop_reason']}), "
        f"recon {_num(_last(history, 'train_recon'))}, KL {_num(_last(history, 'train_kl'))} "
        "nats per molecule")  # fmt: skip
    holdout = vae.holdout_smiles_[:500]
    metrics: dict[str, Any] = {
        "data": {**data, "n_train": training["n_train"], "n_val": training["n_val"]},
        "stop_reason": training["stop_reason"],
        "steps": training["steps"],
        **_cost(vae.train_result_, training),
        "train_recon": _last(history, "train_recon"),
        "train_kl": _last(history, "train_kl"),
        "val_loss": training["best_val_loss"],
        "val_recon": _last(history, "val_recon"),
        "val_kl": _last(history, "val_kl"),
        # greedy decoding of mu gives back the molecule: how much the latent space keeps
        "holdout_reconstruction_accuracy": (
            vae.reconstruction_accuracy(holdout) if holdout else None
        ),
        "n_holdout_reconstructed": len(holdout),
        "prior_samples": _sample_metrics(vae, config.n_eval_samples, config.seed),
    }
    saved = _save_with_card(out, vae, config, metrics)
    log(f"saved: {saved}")
    return GeneratorTrainResult(
        out=saved, generator=vae, n_input=data["n_input"], n_used=training["n_train"]
        + training["n_val"], n_invalid=data["n_invalid"], n_too_long=data["n_too_long"],
        stop_reason=training["stop_reason"], seconds=time.perf_counter() - started,
        metrics=metrics,
    )  # fmt: skip


def run_train_latent_gan(config: TrainLatentGANConfig) -> GeneratorTrainResult:
    """Fit a latent GAN on a saved VAE's latents as configured and save it to ``config.out``."""
    config.set_threads()
    log = make_logger(config.quiet)
    started = time.perf_counter()
    out, checkpoints = _prepare_out(config)
    loaded = load_generator(config.vae)
    vae = loaded.generator
    if not isinstance(vae, SmilesVAE):
        raise InputError(f"not a smiles-vae generator (it is '{loaded.kind}')", path=config.vae)
    vae.device = config.device
    molecules = _read_molecules(config, log)
    gan = LatentGAN(**_estimator_params(config))
    log(f"train: latent-gan on the latents of {config.vae}, seed {config.seed}")
    gan.fit(
        vae, molecules.smiles, skip_invalid=True, checkpoint_dir=str(checkpoints),
        checkpoint_every=config.checkpoint_every, resume=config.resume,
    )  # fmt: skip
    data = _report_skipped(gan, molecules, log, vae.config_.max_length)
    gan.training_["corpus"] = molecules.corpus
    training = gan.training_
    history = training["history"]
    log(f"train: {training['steps']} steps ({training['stop_reason']}), Wasserstein estimate "
        f"{_num(_last(history, 'wasserstein'))}")  # fmt: skip
    metrics: dict[str, Any] = {
        "data": {**data, "n_latents": training["n_latents"]},
        "vae": str(config.vae),
        "stop_reason": training["stop_reason"],
        "steps": training["steps"],
        **_cost(gan.train_result_, training),
        "wasserstein": _last(history, "wasserstein"),
        "gradient_penalty": _last(history, "gradient_penalty"),
        "samples": _sample_metrics(gan, config.n_eval_samples, config.seed),
    }
    saved = _save_with_card(out, gan, config, metrics)
    log(f"saved: {saved}")
    return GeneratorTrainResult(
        out=saved, generator=gan, n_input=data["n_input"], n_used=training["n_latents"],
        n_invalid=data["n_invalid"], n_too_long=data["n_too_long"],
        stop_reason=training["stop_reason"], seconds=time.perf_counter() - started,
        metrics=metrics,
    )  # fmt: skip


# ------------------------------------------------------------------------------ model card
_COMMAND_FLAGS = ("smiles_column", "max_molecules", "epochs", "max_steps", "batch_size", "lr",
                  "eval_every", "checkpoint_every", "time_budget_minutes", "device")  # fmt: skip


def generator_train_command(kind: str, config: dict[str, Any]) -> str:
    """The ``drugforge pretrain --arch KIND`` command line of a saved run configuration."""
    args = ["drugforge", "pretrain"]
    args += [str(config["data"])] if config.get("data") else ["--moses"]
    args += ["--arch", kind]
    if config.get("vae"):
        args += ["--vae", str(config["vae"])]
    args += ["--out", str(config["out"]), "--seed", str(config.get("seed", 0))]
    defaults = (TrainVAEConfig(out=".") if kind == "smiles-vae"
                else TrainLatentGANConfig(out=".", vae=".")).model_dump(mode="json")  # fmt: skip
    for name in _COMMAND_FLAGS:
        value = config.get(name)
        if value is not None and value != defaults.get(name):
            args += [f"--{name.replace('_', '-')}", f"{value:g}" if isinstance(value, float)
                     else str(value)]  # fmt: skip
    if config.get("resume"):
        args.append("--resume")
    return shlex.join(args)


def _n_parameters(module: Any) -> int:
    return sum(int(p.numel()) for p in module.parameters())


def _corpus_lines(corpus: dict[str, Any] | None) -> str:
    files = (corpus or {}).get("files") or []
    lines = [f"- `{Path(f['path']).name}`{' (MOSES train)' if f.get('moses') else ''}: "
             f"{f['records']:,} records, sha256 `{str(f['sha256'])[:16]}...`" for f in files]  # fmt: skip
    if (corpus or {}).get("subset"):
        lines.append(f"- a seeded random subset of {corpus['subset']:,} molecules was trained on")  # type: ignore[index]
    return "\n".join(lines) or "- (not recorded)"


def _value(metrics: dict[str, Any], *keys: str, fmt: str = ".3f") -> str:
    value: Any = metrics
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return "?" if value is None else format(value, fmt)


def generator_model_card(kind: str, config: dict[str, Any], metrics: dict[str, Any],
                         generator: SmilesVAE | LatentGAN) -> str:  # fmt: skip
    """The model card of a trained smiles-vae or latent-gan, from what its run saved.

    Everything on it is read from the run's configuration, metrics and the model's own
    training record, so a card can be (re)written for any saved generator.
    """
    training = generator.training_ or {}
    data = metrics.get("data") or {}
    hours = (metrics.get("train_seconds") or 0.0) / 3600
    versions = library_versions()
    out = str(config.get("out", "DIR"))
    sessions = ("\n- the run was resumed from its checkpoints: the command is the last "
                "session's; the steps, molecules and hours count all sessions"
                if config.get("resume") else "")  # fmt: skip
    if isinstance(generator, SmilesVAE):
        arch = generator.config_
        what = (
            "A variational autoencoder over SMILES (GRU encoder, Gaussian latent space, GRU "
            "decoder). Sample from its prior with "
            f"`drugforge generate --model {shlex.quote(out)} -n 1000 --out samples.csv`; "
            "`--interpolate A B` decodes `-n` points on the latent path between two molecules "
            "and `--near SMILES --radius R` decodes around one (Python: `interpolate`, "
            "`sample_near`)."
        )
        model = (
            f"- encoder: {arch.encoder_layers} {'bidirectional ' if arch.bidirectional else ''}"
            f"GRU layer(s) of {arch.encoder_hidden}; latent {arch.latent_dim}; decoder: "
            f"{arch.decoder_layers} GRU layers of {arch.decoder_hidden}; embeddings "
            f"{arch.embedding_dim}; up to {arch.max_length} tokens; vocabulary {arch.vocab_size}\n"
            f"- {_n_parameters(generator.module_):,} parameters"
        )
        results = (
            f"- validation loss {_value(metrics, 'val_loss')} nats per molecule "
            f"(reconstruction {_value(metrics, 'val_recon')}, KL {_value(metrics, 'val_kl')}; "
            f"KL weight {generator.kl_weight:g})\n"
            f"- held-out molecules whose greedy decoding of the latent mean gives them back: "
            f"{_value(metrics, 'holdout_reconstruction_accuracy')} of "
            f"{metrics.get('n_holdout_reconstructed', '?')}\n"
        )
        samples = metrics.get("prior_samples") or {}
        split = (f"- {data.get('n_train', training.get('n_train', 0)):,} training and "
                 f"{data.get('n_val', training.get('n_val', 0)):,} validation molecules")  # fmt: skip
    else:
        gan_arch = generator.config_
        what = (
            "A Wasserstein GAN (gradient penalty) trained in the latent space of a SMILES VAE; "
            "its samples are decoded by that VAE, which is saved inside this model. Sample with "
            f"`drugforge generate --model {shlex.quote(out)} -n 1000 --out samples.csv`."
        )
        vae_params = _n_parameters(generator.vae_.module_)
        model = (
            f"- generator: noise {gan_arch.noise_dim} -> {gan_arch.generator_layers} x {gan_arch.hidden} -> "
            f"latent {gan_arch.latent_dim}; critic: {gan_arch.critic_layers} x {gan_arch.hidden}\n"
            f"- {_n_parameters(generator.module_):,} parameters (+ {vae_params:,} in the VAE)\n"
            f"- the VAE: `{config.get('vae')}` (its training data sha256 "
            f"`{str(training.get('vae_data_sha256', '?'))[:16]}...`)"
        )
        results = (f"- last Wasserstein estimate {_value(metrics, 'wasserstein')}, gradient "
                   f"penalty {_value(metrics, 'gradient_penalty', fmt='.4f')}\n")  # fmt: skip
        samples = metrics.get("samples") or {}
        split = f"- {training.get('n_latents', 0):,} molecules encoded to latents"
    skipped = (f"- skipped: {data.get('n_invalid', 0):,} invalid, {data.get('n_too_long', 0):,} "
               "too long")  # fmt: skip
    sampled = (
        f"- {samples.get('n_samples', 0):,} samples at temperature 1: validity "
        f"{_value(samples, 'validity')}, uniqueness among the valid {_value(samples, 'uniqueness')}"
        if samples
        else "- no samples were scored after training"
    )
    molecules_seen = metrics.get("molecules_seen")
    return f"""# drugforge {kind}: `{Path(out).name}`

{what}

## Model
{model}

## Data
{_corpus_lines(training.get("corpus"))}
{split}
{skipped}

## Training
- command: `{generator_train_command(kind, config)}`{sessions}
- seed {config.get("seed", 0)}; {metrics.get("steps", 0):,} optimizer steps (stopped: {metrics.get("stop_reason", "?")});
  batch {config.get("batch_size")}; lr {config.get("lr")}
- molecules seen: {"?" if molecules_seen is None else f"{molecules_seen:,}"}
- training time (optimizer loop, all sessions): {hours:.2f} h
- hardware (last session): {metrics.get("hardware", "?")}
- software: drugforge {versions["drugforge"]}, torch {versions["torch"]}, rdkit {versions["rdkit"]}

## Results
{results}{sampled}

## Limitations
- Samples are raw strings: `drugforge generate` checks each with RDKit and marks invalid ones.
- The model learns the chemistry of its corpus only; it has no notion of properties or
  synthesizability.
"""


def _save_with_card(out: Path, model: SmilesVAE | LatentGAN,
                    config: TrainVAEConfig | TrainLatentGANConfig,
                    metrics: dict[str, Any]) -> Path:  # fmt: skip
    """Save the generator with its configuration, metrics and model card."""
    kind = "smiles-vae" if isinstance(model, SmilesVAE) else "latent-gan"
    dumped = config.resolved()
    with tempfile.TemporaryDirectory() as tmp:
        card = Path(tmp) / "model_card.md"
        card.write_text(generator_model_card(kind, dumped, metrics, model))
        return save_generator(out, model, config=dumped, metrics=metrics,
                              extra_files={"model_card.md": card},
                              overwrite=config.force or config.resume)  # fmt: skip
