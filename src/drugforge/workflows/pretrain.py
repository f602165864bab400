"""``drugforge pretrain``: train the chemical language model on a SMILES corpus.

One run writes a generator directory::

    OUT/
      manifest.json model.safetensors model.json config.json metrics.json   (save_generator)
      model_card.md        data, command, seed, tokens seen, wall time, hardware, val loss
      checkpoints/
        run.json           resolved config, corpus files (sha256), vocabulary, validation set
        step-000002000/    resumable training state (see drugforge.core.training.checkpoint)

The corpus is streamed (:class:`~drugforge.molecules.data.corpus.SmilesStream`), never loaded whole. The
vocabulary is every corpus token plus :data:`~drugforge.molecules.data.corpus.EXTRA_TOKENS`. Validation
molecules are a seeded sample of MOSES' test set (``--moses``) or a hash hold-out of the data
files (never trained on). Training runs through :func:`drugforge.core.training.loop.fit_torch` in step
mode: checkpoints every ``checkpoint_every`` steps, on Ctrl-C/SIGTERM and when the time budget
ends; ``--resume`` continues exactly where the last checkpoint left off, with the saved
settings (only the device, the time budget and ``--quiet`` may change between sessions).
"""

from __future__ import annotations

import json
import shlex
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import ConfigDict, Field, model_validator

from drugforge.core.artifacts import library_versions, save_generator, write_json
from drugforge.core.config import RunConfig
from drugforge.core.errors import InputError
from drugforge.core.progress import Progress
from drugforge.core.runtime import Logger, hardware_summary, make_logger, sha256_file
from drugforge.core.training.checkpoint import latest_checkpoint, read_checkpoint
from drugforge.core.training.device import resolve_device
from drugforge.core.training.loop import TrainConfig, TrainResult
from drugforge.molecules.data.corpus import (
    EXTRA_TOKENS,
    CorpusFile,
    CorpusStats,
    SmilesStream,
    TokenBatches,
    build_vocabulary,
    corpus_file,
    iter_records,
    moses_file,
    scan_corpus,
    screen_smiles,
)
from drugforge.molecules.featurize.tokenizer import SmilesTokenizer
from drugforge.molecules.models.chemlm import ChemLM
from drugforge.molecules.models.chemlm_net import ChemLMConfig
from drugforge.molecules.models.shipped import resolve_generator_dir

__all__ = ["PretrainConfig", "PretrainResult", "pretrain_command", "run_pretrain"]

RUN_JSON = "run.json"
#: settings that may change when a run is resumed; every other one must match the saved run
#: (the time budget and --quiet apply to one session only)
SESSION_FIELDS = frozenset(
    {"device", "threads", "time_budget_minutes", "quiet", "resume", "force"}
)


_STEPS: dict[str, Any] = {"cli": {"metavar": "STEPS"}}


class PretrainConfig(RunConfig):
    """The resolved, validated configuration of one pretraining run (saved with the model)."""

    model_config = ConfigDict(extra="forbid")

    data: list[str] = Field(  # corpus files (.smi/.csv/.tsv, .gz)
        default_factory=list,
        description="corpus files: .smi/.txt/.csv/.tsv (optionally .gz), streamed",
        json_schema_extra={"cli": {"positional": True, "nargs": "*", "metavar": "DATA"}},
    )
    moses: bool = Field(default=False, description="train on MOSES train (1.58 M molecules); "
                        "validate on MOSES test")  # fmt: skip
    smiles_column: str | None = None
    out: str = Field(description="generator directory to create")
    size: Literal["tiny", "small", "base"] = Field(
        default="small", description="default: small",
        json_schema_extra={"cli": {"metavar": "tiny|small|base", "choices": None}},
    )  # fmt: skip
    max_len: int = Field(default=128, ge=8, description="max tokens incl. <bos>/<eos> (128); "
                         "longer molecules are skipped")  # fmt: skip
    dropout: float | None = Field(default=None, ge=0.0, lt=1.0)  # None: the size's default
    max_steps: int = Field(default=20_000, ge=1, description="optimizer steps (20000)")
    batch_size: int = Field(default=64, ge=1, description="molecules per step (64)")
    lr: float = Field(default=1e-3, gt=0, description="peak learning rate (1e-3)")
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_steps: int | None = Field(default=None, ge=0)  # None: 5 % of max_steps, <= 1000
    # None: max_steps / 20, <= 1000; checkpoints: None = every evaluation
    eval_every: int | None = Field(default=None, ge=1, json_schema_extra=_STEPS)
    checkpoint_every: int | None = Field(default=None, ge=1, json_schema_extra=_STEPS)
    val_fraction: float = Field(default=0.01, ge=0, lt=0.5)  # hash hold-out of the data files
    max_val: int = Field(default=2000, ge=0)  # validation molecules at most
    augment: float = Field(
        default=0.0, ge=0, le=1, description="use a randomized SMILES with probability P (0)",
        json_schema_extra={"cli": {"metavar": "P"}},
    )  # fmt: skip
    buffer_size: int = Field(default=10_000, ge=1)  # shuffle buffer (molecules)
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | None = Field(default=None, ge=1, description="torch CPU threads (default: "
                                "one per core; 1 is faster on a busy machine)")  # fmt: skip
    time_budget_minutes: float | None = Field(
        default=None, gt=0,
        description="stop after M minutes with a resumable checkpoint and a saved model",
        json_schema_extra={"cli": {"metavar": "M"}},
    )  # fmt: skip
    init: str | None = Field(  # continue from a saved chem-lm (shipped name or directory)
        default=None, description="chem-lm: continue pretraining a saved model (shipped name "
        "such as chem-lm, or a directory) with a fresh optimizer and schedule; it keeps that "
        "model's size and vocabulary",
        json_schema_extra={"cli": {"metavar": "NAME|DIR"}},
    )  # fmt: skip
    resume: bool = Field(default=False, description="continue the run in --out from its last "
                         "checkpoint")  # fmt: skip
    force: bool = Field(default=False, description="start --out over")
    quiet: bool = False

    @model_validator(mode="before")
    @classmethod
    def _chem_lm_options(cls, data: Any) -> Any:  # refuse the pretrain options of other archs
        if isinstance(data, dict):
            for name in ("vae", "epochs", "max_molecules"):
                if data.get(name) is not None:
                    raise InputError(f"--{name.replace('_', '-')} is for --arch smiles-vae/latent-gan")
        return data

    @model_validator(mode="after")
    def _has_data(self) -> PretrainConfig:
        if not self.data and not self.moses and not self.resume:
            raise ValueError("no training data: give corpus files and/or --moses")
        if self.resume and self.force:
            raise ValueError("--resume continues a run and --force starts over; choose one")
        return self

    @property
    def resolved_eval_every(self) -> int:
        return self.eval_every or max(1, min(1000, self.max_steps // 20))

    @property
    def resolved_warmup(self) -> int:
        return self.warmup_steps if self.warmup_steps is not None else min(1000, self.max_steps // 20)


@dataclass
class PretrainResult:
    out: Path
    steps: int
    max_steps: int
    tokens_seen: int
    seconds: float
    val_loss: float
    stop_reason: str
    stats: CorpusStats


def pretrain_command(config: PretrainConfig) -> str:
    """The ``drugforge pretrain`` command line that reproduces ``config``."""
    args = ["drugforge", "pretrain", *config.data]
    if config.moses:
        args.append("--moses")
    if config.init is not None:
        args += ["--init", config.init]
    args += ["--out", config.out, *(["--size", config.size] if config.init is None else []),
             "--max-steps", str(config.max_steps),
             "--batch-size", str(config.batch_size), "--lr", f"{config.lr:g}",
             "--seed", str(config.seed)]  # fmt: skip
    defaults = PretrainConfig(out=".", moses=True)
    for name in ("smiles_column", "max_len", "dropout", "weight_decay", "warmup_steps",
                 "eval_every", "checkpoint_every", "val_fraction", "max_val", "augment",
                 "buffer_size", "device", "threads", "time_budget_minutes"):  # fmt: skip
        value = getattr(config, name)
        if value != getattr(defaults, name):
            args += [f"--{name.replace('_', '-')}", str(value)]
    return shlex.join(args)


# ---------------------------------------------------------------------------- the corpus
def _corpus_files(config: PretrainConfig) -> list[CorpusFile]:
    files = [corpus_file(p, config.smiles_column) for p in config.data]
    if config.moses:
        files.append(corpus_file(moses_file("train")))
    return files


def _prepare_run(config: PretrainConfig, files: list[CorpusFile], log: Logger,
                 init: tuple[ChemLM, dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    """Scan the corpus once: vocabulary, record counts, validation molecules; -> run.json.

    With ``init`` (continued pretraining) the vocabulary is that model's: corpus molecules with a
    token it does not know are skipped and counted, as are too long ones.
    """
    total = sum(f.path.stat().st_size for f in files)
    progress = Progress(total=max(1, total // 1024), label="reading corpus", quiet=config.quiet,
                        min_total=1, unit="kB")  # fmt: skip
    seen = [0]

    def on_bytes(done: int, _total: int) -> None:
        progress.update(done // 1024 - seen[0])
        seen[0] = done // 1024

    t0 = time.perf_counter()
    with progress:  # MOSES brings its own validation set; files get a hash hold-out
        scan = scan_corpus(
            files,
            holdout_fraction=0.0 if config.moses else config.val_fraction,
            max_holdout=config.max_val,
            on_bytes=on_bytes,
        )
    counts, records = scan.token_counts, scan.records
    for path, n in records.items():
        if n == 0:
            raise InputError("file is empty (no SMILES)", path=path)
    if config.moses:  # MOSES' own split: a seeded sample of its test set validates
        test = corpus_file(moses_file("test"))
        test_smiles = [s for _, s in iter_records(test)]
        take = min(config.max_val, len(test_smiles))
        pick = np.random.default_rng(config.seed).choice(len(test_smiles), take, replace=False)
        candidates = [test_smiles[i] for i in sorted(pick)]
        val_source = f"{take} molecules sampled (seed {config.seed}) from MOSES test"
    else:
        candidates = scan.holdout
        val_source = (f"hash hold-out of {config.val_fraction:.1%} of the data files "
                      f"(first {config.max_val})")  # fmt: skip
    tokenizer = build_vocabulary(counts) if init is None else init[0].tokenizer
    validation = [s for s in candidates if not screen_smiles(s, tokenizer, config.max_len)]
    log(f"corpus: {sum(records.values()):,} records in {len(files)} file(s), "
        f"{len(counts)} distinct tokens (+{len(tokenizer) - 4 - len(counts)} extra) "
        f"({time.perf_counter() - t0:.1f} s); validation: {len(validation)} molecules")
    return {
        "format": "drugforge-pretrain-run",
        "version": 1,
        "config": config.model_dump(mode="json"),
        "files": [
            {
                "path": str(f.path.resolve()),
                "sha256": sha256_file(f.path),
                "records": records[str(f.path)],
                "moses": "train" if _is_moses_train(f) else None,
            }
            for f in files
        ],
        "corpus_tokens": sorted(counts),
        "vocabulary": list(tokenizer.tokens),
        "validation": validation,
        "validation_source": val_source,
        "validation_skipped": len(candidates) - len(validation),
        "init": None if init is None else init[1],
    }


def _init_model(config: PretrainConfig) -> tuple[ChemLM, dict[str, Any]]:
    """The saved chem-lm that ``--init`` names (verified like any generator), and its record:
    name, weights checksum, architecture and the training it already had."""
    assert config.init is not None
    from drugforge.core.artifacts import load_generator

    path = resolve_generator_dir(config.init, option="--init")
    loaded = load_generator(path)
    model = loaded.generator
    if not isinstance(model, ChemLM):
        raise InputError(f"--init needs a chem-lm generator, not {loaded.kind}", path=path)
    weights = path / "model.safetensors"
    record = {
        "model": config.init,
        "path": str(path.resolve()),
        "weights_sha256": sha256_file(weights) if weights.is_file() else None,
        "architecture": asdict(model.config),
        "steps": loaded.metrics.get("steps", model.training.get("steps")),
        "tokens_seen": loaded.metrics.get("tokens_seen", model.training.get("tokens_seen")),
        "train_seconds": loaded.metrics.get("train_seconds"),
        "val_loss": loaded.metrics.get("val_loss", model.training.get("val_loss")),
    }
    return model, record


def _is_moses_train(file: CorpusFile) -> bool:
    try:
        return file.path.resolve() == moses_file("train").resolve()
    except InputError:
        return False


def _prepare_out(config: PretrainConfig) -> None:
    out = Path(config.out)
    if config.resume or not out.exists():
        return
    if out.is_dir() and not any(out.iterdir()):
        return
    if not config.force:
        raise InputError(
            "output directory exists; use --resume to continue its training or --force to "
            "start over",
            path=out,
        )
    if not out.is_dir() or not ((out / "manifest.json").is_file() or (out / "checkpoints").is_dir()):
        raise InputError("not a drugforge generator directory; refusing to overwrite it", path=out)
    shutil.rmtree(out)


def _resume_config(config: PretrainConfig, run: dict[str, Any]) -> PretrainConfig:
    """The saved run's settings, with this session's device, time budget and quiet flag."""
    saved = PretrainConfig(**run["config"])
    for name in sorted(config.model_fields_set - SESSION_FIELDS):
        mine, theirs = getattr(config, name), getattr(saved, name)
        if name == "out" or mine == theirs:
            continue
        if name == "max_steps":  # a new end of the schedule; warmup and evaluation stay put
            saved = saved.model_copy(update={
                "max_steps": mine, "warmup_steps": saved.resolved_warmup,
                "eval_every": saved.resolved_eval_every,
                "checkpoint_every": saved.checkpoint_every or saved.resolved_eval_every,
            })  # fmt: skip
            continue
        raise InputError(
            f"--{name.replace('_', '-')} {mine} differs from the run being resumed ({theirs}); "
            "resume with the saved settings (omit the option) or start over with --force"
        )
    # the time budget and quiet belong to one session; device and threads stay unless given
    session: dict[str, Any] = {"time_budget_minutes": config.time_budget_minutes,
                               "quiet": config.quiet}  # fmt: skip
    for name in ("device", "threads"):
        if name in config.model_fields_set:
            session[name] = getattr(config, name)
    return saved.model_copy(update={**session, "resume": True, "force": False, "out": config.out})


def _reschedule(config: PretrainConfig, run: dict[str, Any], checkpoints: Path, log: Logger) -> bool:
    """Record a changed ``--max-steps`` in run.json; True when the newest checkpoint's differs.

    The learning-rate schedule (warmup, then cosine to ``lr/10`` at ``max_steps``) is then
    recomputed for the new total from the checkpoint's step; the run stays resumable.
    """
    path = latest_checkpoint(checkpoints)
    assert path is not None  # _load_run checked
    meta = read_checkpoint(path).meta
    written, step = meta.get("config", {}).get("max_steps"), int(meta["loop"]["step"])
    if config.max_steps != run["config"]["max_steps"]:
        if config.max_steps <= step:
            raise InputError(f"--max-steps {config.max_steps} is not beyond the last checkpoint's "
                             f"step {step}", path=path)  # fmt: skip
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        change = {"at_step": step, "from_max_steps": run["config"]["max_steps"],
                  "to_max_steps": config.max_steps, "when": when}  # fmt: skip
        run.setdefault("reschedules", []).append(change)
        keys = ("max_steps", "warmup_steps", "eval_every", "checkpoint_every")
        run["config"].update({k: getattr(config, k) for k in keys})
        write_json(checkpoints / RUN_JSON, run)
        log(f"schedule: --max-steps {config.max_steps} (was {change['from_max_steps']}); "
            f"the learning-rate schedule is recomputed from step {step}")
    return written is not None and written != config.max_steps


def _load_run(config: PretrainConfig) -> dict[str, Any]:
    checkpoints = Path(config.out) / "checkpoints"
    path = checkpoints / RUN_JSON
    if not path.is_file() or latest_checkpoint(checkpoints) is None:
        raise InputError("nothing to resume: no checkpoint in this directory", path=config.out)
    run: dict[str, Any] = json.loads(path.read_text())
    for entry in run["files"]:
        file = Path(entry["path"])
        if not file.is_file() or sha256_file(file) != entry["sha256"]:
            raise InputError("corpus file changed or missing since the run started; cannot "
                             "resume exactly", path=file)  # fmt: skip
    return run


# ------------------------------------------------------------------------------ the run
def run_pretrain(config: PretrainConfig) -> PretrainResult:
    """Pretrain (or resume pretraining) as configured; raises DrugforgeError on bad input.

    Ctrl-C/SIGTERM raise :class:`~drugforge.core.training.loop.TrainingInterrupted` after writing a
    checkpoint; a time budget that runs out saves the model trained so far (resumable).
    """
    log = make_logger(config.quiet)
    out = Path(config.out)
    init: tuple[ChemLM, dict[str, Any]] | None = None
    if config.resume:
        run = _load_run(config)
        config = _resume_config(config, run)
        files = [corpus_file(f["path"], config.smiles_column if not f["moses"] else None)
                 for f in run["files"]]  # fmt: skip
        log(f"resume: from {latest_checkpoint(out / 'checkpoints')}")
        reschedule = _reschedule(config, run, out / "checkpoints", log)
    else:
        fixed = {"size", "max_len", "dropout"} & config.model_fields_set
        if config.init is not None and fixed:
            option = "--" + min(fixed).replace("_", "-")
            raise InputError(f"--init keeps the architecture of the model it starts from; "
                             f"omit {option}")  # fmt: skip
        _prepare_out(config)
        files = _corpus_files(config)
        init = _init_model(config) if config.init is not None else None
        if init is not None:  # the architecture (size, context length) is the saved model's
            config = config.model_copy(update={"max_len": init[0].max_len})
        run = _prepare_run(config, files, log, init)
        (out / "checkpoints").mkdir(parents=True, exist_ok=True)
        write_json(out / "checkpoints" / RUN_JSON, run)
        reschedule = False

    device = resolve_device(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    tokenizer = SmilesTokenizer(tuple(run["vocabulary"]))
    if init is not None:  # continued pretraining: the saved weights, a fresh optimizer/schedule
        model = init[0].to(str(device))
        log(f"init: {config.init} ({init[1]['steps']} steps, "
            f"{init[1]['tokens_seen'] or 0:,} tokens seen before)")
    else:  # on --resume fit_torch loads the checkpoint's weights into this network
        model = ChemLM.create(tokenizer, run_architecture(config, run, len(tokenizer)),
                              seed=config.seed, device=str(device))  # fmt: skip
    log(f"model: chem-lm ({model.n_parameters():,} parameters), {len(tokenizer)} tokens, "
        f"max_len {model.max_len}, on {device}")
    stream = SmilesStream(
        files, tokenizer, config.max_len, seed=config.seed, buffer_size=config.buffer_size,
        augment=config.augment, holdout_fraction=0.0 if config.moses else config.val_fraction,
    )  # fmt: skip
    eval_every = config.resolved_eval_every
    train_config = TrainConfig(
        max_steps=config.max_steps,
        batch_size=config.batch_size,
        lr=config.lr,
        weight_decay=config.weight_decay,
        warmup_steps=config.resolved_warmup,
        min_lr_ratio=0.1,
        grad_clip=1.0,
        patience=None,  # a step budget; validation picks the best weights, it does not stop
        eval_every=eval_every,
        checkpoint_dir=str(out / "checkpoints"),
        checkpoint_every=config.checkpoint_every or eval_every,
        resume=config.resume,
        reschedule=reschedule,
        time_budget_s=None if config.time_budget_minutes is None else 60 * config.time_budget_minutes,
        seed=config.seed,
        device=config.device,
        precision="auto",
        deterministic=device.type == "cpu",  # exact resume on CPU; speed on a GPU
        quiet=config.quiet,
    )
    model.fit(TokenBatches(stream, config.batch_size), train_config,
              val_smiles=run["validation"] or None)  # fmt: skip
    result = model.train_result_
    log(f"data: {stream.stats.summary()}")
    for example in stream.stats.examples[:5]:
        log(f"  skipped {example}")
    if result.stop_reason == "time_budget":
        log(f"time budget used up after step {result.steps} of {config.max_steps}; "
            "saving the model trained so far (continue with --resume)")  # fmt: skip

    model.training = _provenance(config, run, result, stream.stats)
    metrics = {
        "val_loss": result.best_val_loss,
        "val_perplexity": float(np.exp(result.best_val_loss)),
        "steps": result.steps,
        "tokens_seen": result.units_seen,
        "train_seconds": result.seconds,
        "stop_reason": result.stop_reason,
        "history": result.history,
        "corpus": stream.stats.to_dict(),
    }
    with tempfile.TemporaryDirectory(prefix="drugforge-card-") as tmp:
        card = Path(tmp) / "model_card.md"
        card.write_text(_model_card(config, run, model, result, stream.stats, device))
        save_generator(out, model, config=config.resolved(), metrics=metrics,
                       extra_files={"model_card.md": card}, overwrite=True)  # fmt: skip
    log(f"saved: {out} (val loss {result.best_val_loss:.4f} after {result.steps} steps)")
    return PretrainResult(out, result.steps, config.max_steps, result.units_seen, result.seconds,
                          result.best_val_loss, result.stop_reason, stream.stats)  # fmt: skip


def run_architecture(config: PretrainConfig, run: dict[str, Any], vocab_size: int) -> ChemLMConfig:
    """The network of a run: the ``--init`` model's (recorded in run.json) or the size preset."""
    if run.get("init"):
        return ChemLMConfig(**run["init"]["architecture"])
    arch = ChemLMConfig.preset(config.size, vocab_size, config.max_len)
    return arch if config.dropout is None else replace(arch, dropout=config.dropout)


def _provenance(
    config: PretrainConfig, run: dict[str, Any], result: TrainResult, stats: CorpusStats
) -> dict[str, Any]:
    """What the model was trained on, saved in its state (generate uses it for novelty)."""
    return {
        "task": "pretrain",
        "corpus": {
            "files": [
                {k: f[k] for k in ("path", "sha256", "records", "moses")} for f in run["files"]
            ],
            "smiles_column": config.smiles_column,
            "holdout_fraction": 0.0 if config.moses else config.val_fraction,
        },
        "validation": run["validation_source"],
        "seed": config.seed,
        "steps": result.steps,
        "tokens_seen": result.units_seen,
        "val_loss": result.best_val_loss,
        "stop_reason": result.stop_reason,
        "molecules": stats.to_dict(),
        "extra_tokens": [t for t in EXTRA_TOKENS if t not in set(run["corpus_tokens"])],
        "init": run.get("init"),
    }


def _model_card(
    config: PretrainConfig,
    run: dict[str, Any],
    model: ChemLM,
    result: TrainResult,
    stats: CorpusStats,
    device: torch.device,
) -> str:
    arch = model.config
    extra = [t for t in run["vocabulary"][4:] if t not in set(run["corpus_tokens"])]
    files = "\n".join(
        f"- `{f['path']}`{' (MOSES train)' if f['moses'] else ''}: {f['records']:,} records, "
        f"sha256 `{f['sha256'][:16]}...`"
        for f in run["files"]
    )
    skipped = "\n".join(f"  - {e}" for e in stats.examples) or "  - none"
    done = (f"{result.steps:,} of {config.max_steps:,} steps"
            + ("" if result.steps >= config.max_steps else f" (stopped: {result.stop_reason})"))
    hours = result.seconds / 3600
    versions = library_versions()
    changes = run.get("reschedules", [])
    schedule = "".join(
        f"\n- at step {c['at_step']:,} (resumed {c['when']}) `--max-steps` went from "
        f"{c['from_max_steps']:,} to {c['to_max_steps']:,}: the cosine was recomputed from there"
        for c in changes
    )
    if changes:
        schedule += ("\n- to reproduce the weights exactly, start with the first `--max-steps` and "
                     "resume with each later value at the same step (the run is deterministic on "
                     "CPU; the steps at which sessions ended were set by time budgets)")  # fmt: skip
    start = run.get("init")
    if start:
        before_h = (start["train_seconds"] or 0) / 3600
        total_tokens = (start["tokens_seen"] or 0) + result.units_seen
        origin = (
            f"\n- continued from `{start['model']}` (weights sha256 "
            f"`{str(start['weights_sha256'])[:16]}...`): {start['steps'] or 0:,} steps, "
            f"{start['tokens_seen'] or 0:,} tokens, {before_h:.2f} h of training before this "
            f"run, validation loss {start['val_loss']}; with this run: {total_tokens:,} tokens, "
            f"{before_h + hours:.2f} h in all (fresh optimizer and learning-rate schedule)"
        )
    else:
        origin = ""
    title = start["model"] + " (continued)" if start else config.size
    return f"""# drugforge chem-lm: `{title}`

A decoder-only Transformer language model over SMILES tokens (drugforge `chem-lm`), pretrained
by next-token prediction. Sample from it with
`drugforge generate --model {shlex.quote(config.out)} -n 1000 --out samples.csv`.

## Model
- {arch.n_layer} layers, {arch.n_head} heads, d_model {arch.d_model}, dropout {arch.dropout},
  learned positions up to {arch.max_len} tokens (`<bos>` and `<eos>` included), tied embeddings
- {model.n_parameters():,} parameters
- vocabulary: {len(run['vocabulary'])} tokens = 4 special + {len(run['corpus_tokens'])} seen in
  the corpus + {len(extra)} extra tokens added for later fine-tuning (stereo, charges, rarer
  elements...). The extra tokens never occur in the pretraining data: their embeddings are
  untrained until fine-tuning teaches them.

## Data
{files}
- molecules: {stats.summary()}
- skipped examples:
{skipped}
- validation: {run['validation_source']}; {len(run['validation'])} molecules
  ({run['validation_skipped']} unusable candidates dropped)
- augmentation: randomized SMILES with probability {config.augment}

## Training
- command: `{pretrain_command(config)}`{origin}
- seed {config.seed}; {done}; batch {config.batch_size} molecules; AdamW lr {config.lr:g}
  (warmup {config.resolved_warmup} steps, cosine to {config.lr * 0.1:g}), weight decay
  {config.weight_decay}, gradient clip 1.0{schedule}
- tokens seen: {result.units_seen:,}
- wall time (training, all sessions): {result.seconds:,.0f} s ({hours:.2f} h)
- hardware (last session): {hardware_summary(device)}
- final validation loss: {result.best_val_loss:.4f} per token (perplexity
  {float(np.exp(result.best_val_loss)):.3f}), at step {result.best_step:,}
- software: drugforge {versions['drugforge']}, torch {versions['torch']}, rdkit {versions['rdkit']}

## Limitations
- Samples are raw strings: `drugforge generate` checks each with RDKit and marks invalid ones.
- The model learns the chemistry of its corpus only (MOSES: drug-like, neutral, no
  stereochemistry, no charges); it has no notion of properties or synthesizability.
"""
