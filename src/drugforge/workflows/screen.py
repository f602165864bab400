"""``drugforge screen``: score a compound library of any size with saved models, filter, rank.

The library is streamed in chunks (:class:`~drugforge.molecules.data.stream.LibraryReader`); each chunk
is parsed, predicted, profiled and filtered in a worker (:mod:`drugforge.core.engine`:
local processes or Ray) and committed **in order** as one Parquet part in the work directory
``OUT.parts/``. Memory is bounded by the chunk size times the chunks in flight, not by the
library. A part is written to a temporary name and renamed, so after a kill at any moment the
committed parts are complete and ``--resume`` goes on after the last one (with nothing begun it
simply starts, so a pipeline can always pass it); since every step is a deterministic function of
the chunk (and, for de-duplication, of the chunks before it), the result is identical to an
uninterrupted run.

This module holds the command: its config, the worker recipe and the driver. The molecule steps of
a chunk are in :mod:`drugforge.molecules.screening` (parsing, filters, de-duplication); the work
folder, the top-K selection and the merge of the parts into the outputs are modality-neutral and
live in :mod:`drugforge.core.resume`, :mod:`drugforge.core.topk` and
:mod:`drugforge.core.part_merge`.

Every library record ends in exactly one status:

* ``hit``: passed every filter and is in the output (the best ``--top K`` by ``--rank``, or all),
* ``scored``: passed every filter but ranked below the top K,
* ``filtered``: failed a filter; ``reason`` names the failed condition and the values,
* ``duplicate``: the same molecule (canonical SMILES or InChIKey) as an earlier row,
* ``invalid``: could not be read or scored; ``reason`` says why (with the file line).

Outputs, by the extension of ``OUT`` (.parquet, .csv, .tsv, optionally .gz):

* ``OUT``: the hits; with ``--top K`` sorted by score (ties by input order), else in input order;
* ``OUT-stem.rejected.EXT``: every filtered, duplicate and invalid row with its reason;
* ``OUT-stem.summary.json``: the counts, the settings and the timing;
* ``--all-rows FILE`` (optional): every record in input order with its status and values.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import ConfigDict, Field
from rdkit import Chem

from drugforge import __version__
from drugforge.core.config import RunConfig
from drugforge.core.engine import make_engine
from drugforge.core.errors import DrugforgeError, InputError
from drugforge.core.expressions import Expression, parse_expression
from drugforge.core.interrupt import Interrupts, Terminated
from drugforge.core.part_merge import STATUSES, merge_parts
from drugforge.core.progress import Progress
from drugforge.core.resume import PartStore, file_digest, write_atomic
from drugforge.core.runtime import OUTPUT_SUFFIXES, make_logger
from drugforge.core.topk import select_top
from drugforge.molecules.chem.properties import property_spellings
from drugforge.molecules.data.stream import LibraryChunk, LibraryReader
from drugforge.molecules.profile import Profiler, default_profiler
from drugforge.molecules.screening.chunk import (
    ChunkFilters,
    canonical_smiles,
    fingerprint,
    parse_chunk,
    reference_molecule,
    similarities,
    substructure_query,
)
from drugforge.molecules.screening.dedup import Deduplicator, dedup_key

__all__ = ["DEFAULT_CHUNK_SIZE", "ScreenConfig", "ScreenSummary", "run_screen"]

Status = Literal["hit", "scored", "filtered", "duplicate", "invalid"]
#: the columns every row has, before the model outputs and properties
BASE_COLUMNS = ("row", "line", "id", "input", "smiles")
#: the text columns of the outputs (typed as text in an empty Parquet output)
_TEXT_COLUMNS = ("id", "input", "smiles", "status", "reason")
#: settings that change how a screen runs, not its result (a resume may change them)
_UNKEYED = ("resume", "force", "quiet", "n_jobs", "engine", "address")
#: records per chunk: a worker holds ~35 kB per molecule of a chunk in flight (parsed molecules,
#: features, results), so 5,000 keeps two workers and the driver under 2 GB; larger chunks were
#: not faster (benchmarks/screen_scale.py)
DEFAULT_CHUNK_SIZE = 5_000
#: molecules per model call: smaller batches kept the kernel's temporaries in cache (~10% faster)
_PREDICT_BATCH = 512
#: the one built-in property that is text, not a number (output only)
_TEXT_PROPERTY = "alerts"


# --------------------------------------------------------------------------------- config
class ScreenConfig(RunConfig):
    """Everything that defines a screen (saved in the work directory and the summary)."""

    model_config = ConfigDict(extra="forbid")

    library: Path = Field(description="the library file", json_schema_extra={"cli": {"positional": True}})
    out: Path = Field(description="hits file (.parquet, .csv, .tsv, opt. .gz)")
    models: list[str] = Field(  # "DIR" or "NAME=DIR"
        default_factory=list, description="a saved model (repeat for several); NAME names its "
        "output column (NAME_<target> for a multi-target model), else the target names are used",
        json_schema_extra={"cli": {"flag": "--model", "metavar": "[NAME=]DIR"}},
    )  # fmt: skip
    rank: str | None = Field(  # higher is better; write "-(...)" to prefer low values
        default=None, description='score to sort by, higher first, e.g. "pKi - 0.5*herg"',
        json_schema_extra={"cli": {"metavar": "EXPR"}},
    )  # fmt: skip
    filters: list[str] = Field(  # all must hold
        default_factory=list, description='condition every hit must meet, e.g. "QED>=0.5 and not PAINS"',
        json_schema_extra={"cli": {"flag": "--filter", "metavar": "EXPR"}},
    )  # fmt: skip
    require: list[str] = Field(
        default_factory=list, description="substructure every hit must contain",
        json_schema_extra={"cli": {"metavar": "SMARTS"}},
    )  # fmt: skip
    exclude: list[str] = Field(
        default_factory=list, description="substructure no hit may contain",
        json_schema_extra={"cli": {"metavar": "SMARTS"}},
    )  # fmt: skip
    similar_to: list[str] = Field(
        default_factory=list,
        description="reference molecule: adds column 'similarity' (max Tanimoto, ECFP4)",
        json_schema_extra={"cli": {"metavar": "SMILES"}},
    )
    min_similarity: float | None = Field(default=None, ge=0.0, le=1.0)
    properties: list[str] = Field(
        default_factory=list, description="comma-separated built-in properties to add to the "
        "output (any column of 'drugforge profile', e.g. qed,sa_score,PAINS,alerts)",
        json_schema_extra={"cli": {"metavar": "NAMES", "parse": "comma_list"}},
    )  # fmt: skip
    profile: bool = Field(
        default=False, description="add every built-in property: the whole drug-likeness and "
        "toxicity profile of 'drugforge profile', streamed",
    )  # fmt: skip
    top: int | None = Field(
        default=None, ge=1, description="keep the best K by --rank (a bounded heap)",
        json_schema_extra={"cli": {"metavar": "K"}},
    )  # fmt: skip
    dedup: Literal["none", "smiles", "inchikey"] = Field(
        default="none", description="drop later copies of the same molecule (memory grows "
        "~100 bytes per unique molecule)",
    )  # fmt: skip
    all_rows: Path | None = Field(
        default=None, description="also write every row in input order with its status and values",
        json_schema_extra={"cli": {"metavar": "FILE"}},
    )  # fmt: skip
    target_sequence: str | None = Field(
        default=None, description="drug-target models (dti train): the protein sequence every "
        "library molecule is paired with", json_schema_extra={"cli": {"metavar": "SEQ"}},
    )  # fmt: skip
    smiles_column: str | None = None
    id_column: str | None = None
    encoding: str | None = None
    chunk_size: int = Field(
        default=DEFAULT_CHUNK_SIZE, ge=1,
        description=f"records per chunk ({DEFAULT_CHUNK_SIZE}): memory grows with it, resume "
        "granularity too",
    )  # fmt: skip
    max_heavy_atoms: int = Field(default=150, ge=1)
    engine: Literal["local", "ray"] = "local"
    address: str | None = Field(
        default=None, description="Ray cluster address (default: start a local Ray instance)"
    )
    n_jobs: int = Field(default=0, ge=0, description="worker processes (0: one per core)")
    resume: bool = Field(default=False, description="finish an interrupted screen with the same command; starts it when nothing was begun")
    force: bool = Field(default=False, description="overwrite outputs and start over")
    quiet: bool = False


@dataclass
class ScreenSummary:
    out: Path
    counts: dict[str, int]
    n_records: int
    blank_lines: int
    seconds: float
    problem: str | None
    files: dict[str, str] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.n_records / self.seconds if self.seconds > 0 else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "records": self.n_records, "counts": self.counts,
                "blank_lines": self.blank_lines, "seconds": round(self.seconds, 3),
                "molecules_per_s": round(self.rate, 1), "problem": self.problem,
                "files": self.files}  # fmt: skip


# ------------------------------------------------------------------------- built-in values
@lru_cache(maxsize=1)
def _profiler() -> Profiler:
    """The profile behind the built-in names (one per process; the panel loads on first use)."""
    return default_profiler(panel=True, percentiles=True)


def builtin_aliases() -> dict[str, str]:
    """Other spellings of built-in names that ``--rank``/``--filter``/``--properties`` accept
    (the property table's: ``logp`` for ``clogp``, as ``optimize --constraint`` takes them)."""
    return {a: name for a, name in property_spellings().items() if a != name}


def builtin_names() -> list[str]:
    """Names ``--properties`` takes: every column of ``drugforge profile``, in its order.

    All but ``alerts`` (the text naming each alert and its atoms) are numbers that ``--rank`` and
    ``--filter`` can use (rules and alert families as 1/0).
    """
    return _profiler().column_names()


# ------------------------------------------------------------------------------ the worker
@dataclass(frozen=True)
class ModelSpec:
    name: str
    path: str
    targets: tuple[str, ...]
    columns: tuple[str, ...]  # output column per target (its std column adds "_std")
    task: str
    target_sequence: str = ""  # a pair model's protein: every molecule is paired with it


@dataclass(frozen=True)
class ScreenTask:
    """The picklable recipe of a screen worker (see :mod:`drugforge.core.engine`)."""

    key: str
    models: tuple[ModelSpec, ...]
    properties: tuple[str, ...]
    rank: str | None
    filters: tuple[str, ...]
    require: tuple[str, ...]
    exclude: tuple[str, ...]
    similar_to: tuple[str, ...]
    min_similarity: float | None
    dedup: str
    max_heavy_atoms: int
    top: int | None
    columns: tuple[str, ...]  # every value column, in output order

    def build(self) -> ScreenWorker:
        return ScreenWorker(self)


class ScreenWorker:
    """Turns a :class:`LibraryChunk` into its result table (statuses before de-duplication)."""

    def __init__(self, task: ScreenTask) -> None:
        from drugforge.core.artifacts import load_model

        self.task = task
        self.models = [(spec, load_model(spec.path)) for spec in task.models]
        names = [c for c in task.columns if c != _TEXT_PROPERTY]
        aliases = builtin_aliases()
        self.rank = (parse_expression(task.rank, names, what="--rank", aliases=aliases)
                     if task.rank else None)  # fmt: skip
        self.filters = ChunkFilters([parse_expression(f, names, what="--filter", aliases=aliases)
                                     for f in task.filters],
                                    task.require, task.exclude, task.min_similarity)  # fmt: skip
        self.references = [fingerprint(reference_molecule(s)) for s in task.similar_to]

    def process(self, chunk: LibraryChunk) -> pd.DataFrame:
        from drugforge.molecules.predict import predict_mols

        n = len(chunk)
        parsed = parse_chunk(chunk, self.task.max_heavy_atoms)
        mols, smiles, reason = parsed.mols, parsed.smiles, parsed.reason
        ok = [i for i in range(n) if mols[i] is not None]
        texts = [smiles[i] or chunk.texts[i] for i in ok]
        good = [cast(Chem.Mol, mols[i]) for i in ok]
        env: dict[str, np.ndarray] = {c: np.full(n, np.nan) for c in self.task.columns}
        for spec, loaded in self.models:
            if spec.target_sequence:  # a drug-target model: (molecule, the one target) pairs
                pred = loaded.predict([(t, spec.target_sequence) for t in texts],
                                      batch_size=_PREDICT_BATCH)  # fmt: skip
                mean, std, errors = pred.mean, pred.std, pred.errors
            else:
                mean, std, errors = predict_mols(loaded, good, texts, batch_size=_PREDICT_BATCH)
            for t, column in enumerate(spec.columns):
                env[column][ok] = mean[:, t]
                env[f"{column}_std"][ok] = std[:, t]
            for j, error in enumerate(errors):
                if error and not reason[ok[j]]:
                    reason[ok[j]] = f"model {spec.name}: {error}"
        output: dict[str, Any] = {}  # property columns as the profile types them
        if self.task.properties:
            profile = _profiler().profile_mols(good, columns=self.task.properties)
            for name in self.task.properties:
                column = profile[name]
                full = pd.Series(column.array, index=ok).reindex(range(n))
                output[name] = full if name != _TEXT_PROPERTY else full.fillna("")
                if name != _TEXT_PROPERTY:
                    env[name] = full.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
            for j, error in enumerate(profile["error"]):
                if error and not reason[ok[j]]:
                    reason[ok[j]] = f"profile: {error}"
        if self.references:
            env["similarity"] = similarities(mols, self.references)
        valid = np.array([mols[i] is not None and not reason[i] for i in range(n)], dtype=bool)
        status = np.where(valid, "hit", "invalid").astype(object)
        why = self.filters.reasons(env, mols, valid)
        for i in map(int, np.flatnonzero(valid)):
            if why[i]:
                status[i] = "filtered"
                reason[i] = why[i]
        score = np.full(n, np.nan)
        if self.rank is not None:
            score = self.rank.evaluate(env, n).astype(float)
            for i in map(int, np.flatnonzero(status == "hit")):
                if not np.isfinite(score[i]):
                    status[i] = "filtered"
                    reason[i] = f"--rank is not a number ({_values(self.rank, env, i)})"
        if self.task.dedup == "none" and self.task.top is not None:
            select_top(status, score, chunk.start, self.task.top)  # only these need SMILES
        canonical_smiles(mols, smiles, status, self.task.dedup)
        keys = [dedup_key(mols[i], smiles[i], self.task.dedup) if valid[i] else ""
                for i in range(n)]  # fmt: skip
        columns: dict[str, Any] = {
            "row": np.arange(chunk.start + 1, chunk.start + n + 1, dtype=np.int64),
            "line": np.asarray(chunk.lines, dtype=np.int64),
            "id": chunk.ids,
            "input": chunk.texts if chunk.kind == "smiles" else [""] * n,
            "smiles": smiles,
            "score": score,
        }  # fmt: skip
        for column in self.task.columns:  # built at once: the full profile has ~200 columns
            columns[column] = output[column] if column in output else env[column]
        columns.update(status=status.astype(str), reason=reason, key=keys)
        return pd.DataFrame(columns)

def _values(expression: Expression, env: dict[str, np.ndarray], i: int) -> str:
    return ", ".join(f"{name}={float(env[name][i]):.4g}" for name in sorted(expression.names))


# --------------------------------------------------------------------------- preparation
def _model_specs(models: Sequence[str], target_sequence: str | None = None) -> tuple[ModelSpec, ...]:
    from drugforge.core.artifacts import load_model

    if target_sequence is not None:
        from drugforge.proteins.sequences import check_sequence, normalize_sequence

        problem = check_sequence(target_sequence)
        if problem:
            raise InputError(f"--target-sequence: {problem}")
        target_sequence = normalize_sequence(target_sequence)
    specs = []
    loaded = []
    for text in models:
        given, _, path = text.rpartition("=") if "=" in text else ("", "", text)
        model = load_model(path)
        loaded.append((given or Path(path).resolve().name, bool(given), path, model))
    names = [n for n, _, _, _ in loaded]
    if len(set(names)) != len(names):
        raise InputError("two --model options have the same name; name them: --model NAME=DIR")
    targets = [t for _, named, _, m in loaded if not named for t in m.target_names]
    clash = len(set(targets)) != len(targets)
    for name, named, path, model in loaded:
        # NAME=DIR names the output: NAME for one target, NAME_<target> for several;
        # an unnamed model's columns are its target names (prefixed with DIR's name on a clash)
        if named and len(model.target_names) == 1:
            columns: tuple[str, ...] = (name,)
        else:
            columns = tuple(f"{name}_{t}" if named or clash else t for t in model.target_names)
        pairs = getattr(model.model, "input_kind", "") == "pairs"
        if not pairs:
            from drugforge.molecules.predict import check_molecule_model

            check_molecule_model(model)  # an image model cannot score a library
        if pairs and not target_sequence:
            raise InputError("a drug-target model needs the target's sequence (--target-sequence; "
                             "'drugforge dti screen' also takes --target-id)", path=path)  # fmt: skip
        specs.append(ModelSpec(name, str(Path(path).resolve()), tuple(model.target_names),
                               columns, model.task,
                               (target_sequence or "") if pairs else ""))  # fmt: skip
    if target_sequence and not any(s.target_sequence for s in specs):
        raise InputError("--target-sequence applies to drug-target models (dti train); "
                         "no --model is one")  # fmt: skip
    return tuple(specs)


def _referenced(texts: Sequence[str | None], names: Sequence[str]) -> set[str]:
    """The names of ``names`` that the expressions mention (to compute only those)."""
    used: set[str] = set()
    for text in texts:
        if text:
            used |= parse_expression(text, names, aliases=builtin_aliases()).names
    return used


def _build_task(config: ScreenConfig, library_digest: str) -> ScreenTask:
    specs = _model_specs(config.models, config.target_sequence)
    model_columns = [c for s in specs for col in s.columns for c in (col, f"{col}_std")]
    builtins = builtin_names()
    extra = ["similarity"] if config.similar_to else []
    aliases = builtin_aliases()
    wanted = [aliases.get(p, p) for p in config.properties]
    unknown = [p for p in wanted if p not in builtins]
    if unknown:
        raise InputError(
            f"unknown property '{unknown[0]}'; choose from: {', '.join(builtins)}"
        )
    clash = set(model_columns) & set(builtins)
    if clash:
        raise InputError(f"model output '{min(clash)}' has the name of a built-in "
                         "property; name the model: --model NAME=DIR")  # fmt: skip
    everything = [*model_columns, *(b for b in builtins if b != _TEXT_PROPERTY), *extra]
    if config.min_similarity is not None and not config.similar_to:
        raise InputError("--min-similarity needs --similar-to")
    used = _referenced([config.rank, *config.filters], everything)  # also validates them
    properties = [p for p in builtins if config.profile or p in used or p in wanted]
    for option, queries in (("--require", config.require), ("--exclude", config.exclude)):
        for q in queries:
            substructure_query(q, option)
    for reference in config.similar_to:
        reference_molecule(reference)
    columns = (*model_columns, *properties, *extra)
    recipe = {
        "library": library_digest, "models": [s.__dict__ for s in specs],
        "properties": properties, "rank": config.rank, "filters": config.filters,
        "require": config.require, "exclude": config.exclude, "similar_to": config.similar_to,
        "min_similarity": config.min_similarity, "dedup": config.dedup,
        "max_heavy_atoms": config.max_heavy_atoms, "top": config.top,
        "chunk_size": config.chunk_size, "smiles_column": config.smiles_column,
        "id_column": config.id_column, "encoding": config.encoding,
    }  # fmt: skip
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True, default=str).encode()).hexdigest()
    return ScreenTask(
        key=key, models=specs, properties=tuple(properties), rank=config.rank,
        filters=tuple(config.filters), require=tuple(config.require),
        exclude=tuple(config.exclude), similar_to=tuple(config.similar_to),
        min_similarity=config.min_similarity, dedup=config.dedup,
        max_heavy_atoms=config.max_heavy_atoms, top=config.top, columns=columns,
    )  # fmt: skip


def _output_paths(config: ScreenConfig) -> dict[str, Path]:
    out = config.out
    name = out.name
    lowered = name.lower()
    suffix = next((s for s in sorted(OUTPUT_SUFFIXES, key=len, reverse=True)
                   if lowered.endswith(s)), None)  # fmt: skip
    if suffix is None:
        raise InputError("unsupported output type; use .csv, .tsv or .parquet (optionally .gz)",
                         path=out)  # fmt: skip
    stem = name[: -len(suffix)]
    paths = {
        "hits": out,
        "rejected": out.with_name(f"{stem}.rejected{suffix}"),
        "summary": out.with_name(f"{stem}.summary.json"),
    }
    if config.all_rows is not None:
        if not config.all_rows.name.lower().endswith(OUTPUT_SUFFIXES):
            raise InputError("unsupported output type; use .csv, .tsv or .parquet",
                             path=config.all_rows)  # fmt: skip
        paths["all_rows"] = config.all_rows
    return paths


def _schema(task: ScreenTask) -> pa.Schema:
    fields = [pa.field("row", pa.int64()), pa.field("line", pa.int64()),
              pa.field("id", pa.string()), pa.field("input", pa.string()),
              pa.field("smiles", pa.string()), pa.field("score", pa.float64())]  # fmt: skip
    kinds: dict[str, pa.DataType] = {}
    if task.properties:  # a property keeps the profile's type: numbers, 1/0/NA flags, text
        empty = _profiler().profile_mols([], columns=task.properties)
        kinds = {c: _arrow_type(empty[c]) for c in task.properties}
    fields += [pa.field(c, kinds.get(c, pa.float64())) for c in task.columns]
    fields += [pa.field("status", pa.string()), pa.field("reason", pa.string()),
               pa.field("key", pa.string())]  # fmt: skip
    return pa.schema(fields)


def _arrow_type(column: pd.Series) -> pa.DataType:
    if pd.api.types.is_bool_dtype(column):
        return pa.bool_()
    if pd.api.types.is_integer_dtype(column):
        return pa.int64()
    return pa.float64() if pd.api.types.is_float_dtype(column) else pa.string()


def _to_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    data = {}
    for f in schema:
        values = frame[f.name]
        if pa.types.is_float64(f.type):
            values = values.astype(float)
        if f.type == pa.string():
            data[f.name] = pa.array(values.tolist(), f.type)
        else:
            data[f.name] = pa.array(values, f.type, from_pandas=True)
    return pa.table(data, schema=schema)




def run_screen(config: ScreenConfig) -> ScreenSummary:
    """Run (or resume) a screen as configured; see the module docstring."""
    log = make_logger(config.quiet)
    started = time.perf_counter()
    outputs = _output_paths(config)
    reader = LibraryReader(config.library, smiles_column=config.smiles_column,
                           id_column=config.id_column, chunk_size=config.chunk_size,
                           encoding=config.encoding)  # fmt: skip
    task = _build_task(config, file_digest(config.library))
    work = PartStore(config.out, "screen")
    done = work.prepare(task.key, config.model_dump(mode="json"), resume=config.resume,
                        force=config.force, outputs=outputs, finished=outputs["summary"],
                        unkeyed=_UNKEYED, inputs="the library file or a model")  # fmt: skip
    if done < 0:
        saved = json.loads(outputs["summary"].read_text())
        log(f"screen: already complete -> {config.out}")
        return ScreenSummary(config.out, saved["counts"], saved["records"],
                             saved["blank_lines"], 0.0, saved.get("problem"), saved["files"])  # fmt: skip
    schema = _schema(task)
    dedup = Deduplicator() if config.dedup != "none" else None
    if done and dedup is not None:
        for k in range(done):
            dedup.load(work.read(k, columns=["key", "row", "status"]))
    n_jobs = config.n_jobs or os.cpu_count() or 1
    engine = make_engine(task, config.engine, n_jobs=n_jobs, address=config.address)
    log(f"screen: {config.library} ({reader.format}{', gzip' if reader.gzipped else ''}), "
        f"{len(task.models)} model(s), engine {engine.name}, chunks of {config.chunk_size}"
        + (f"; resuming after {done} committed chunk(s)" if done else ""))  # fmt: skip
    sigterm = Interrupts((signal.SIGTERM,), graceful=False).install()  # raises Terminated
    n_new = 0
    progress = Progress(total=reader.bytes_total, label="screen", quiet=config.quiet,
                        min_total=0, unit="B")  # fmt: skip
    t0 = time.perf_counter()
    try:
        chunks = (c for c in reader.chunks() if c.index >= done)
        last_bytes = 0
        for frame, index in zip(engine.map(chunks), _indices(done), strict=False):
            if dedup is not None:
                dedup.apply(frame)
            _select(frame, config.top)
            work.write(index, _to_table(frame, schema))
            n_new += len(frame)
            now = reader.bytes_read
            rate = n_new / max(time.perf_counter() - t0, 1e-9)
            progress.update(now - last_bytes, rate=f"{rate:,.0f} mol/s")
            last_bytes = now
    except (KeyboardInterrupt, Terminated):
        progress.close()
        engine.close()
        log(f"screen: interrupted; {work.committed()} chunk(s) are saved in {work.path}; rerun "
            "the same command with --resume to finish")  # fmt: skip
        raise KeyboardInterrupt from None
    finally:
        progress.close()
        sigterm.restore()
    engine.close()
    n_chunks = work.committed()
    if n_chunks == 0:
        raise InputError("no records in the library", path=config.library)
    summary = _finalize(config, task, schema, work, n_chunks, outputs, reader, started)
    work.remove()
    counts = ", ".join(f"{summary.counts[s]} {s}" for s in STATUSES)
    log(f"screen: {summary.n_records} records -> {counts}"
        + (f"; {summary.blank_lines} blank/comment lines" if summary.blank_lines else "")
        + f" in {summary.seconds:.1f} s -> {config.out}")  # fmt: skip
    if reader.problem:
        raise DrugforgeError(f"{reader.problem}; the {summary.n_records} records before it were "
                             f"screened (see {outputs['summary'].name})", path=config.library)  # fmt: skip
    return summary


def _indices(start: int) -> Iterator[int]:
    k = start
    while True:
        yield k
        k += 1


def _select(frame: pd.DataFrame, top: int | None) -> None:
    """:func:`~drugforge.core.topk.select_top` on a chunk's table (after de-duplication)."""
    if top is None:
        return
    status = frame["status"].to_numpy(dtype=object)
    select_top(status, frame["score"].to_numpy(), 0, top)
    frame["status"] = status


# ------------------------------------------------------------------------------ finalize
def _finalize(config: ScreenConfig, task: ScreenTask, schema: pa.Schema, work: PartStore,
              n_chunks: int, outputs: dict[str, Path], reader: LibraryReader,
              started: float) -> ScreenSummary:  # fmt: skip
    """Merge the parts into the outputs (each written to a temporary name, then renamed)."""
    value_columns = [f.name for f in schema if f.name not in ("status", "reason", "key")]
    counts, n_records = merge_parts(work, n_chunks, outputs, top=config.top,
                                    value_columns=value_columns, base_columns=BASE_COLUMNS,
                                    text_columns=_TEXT_COLUMNS)  # fmt: skip
    seconds = time.perf_counter() - started
    summary = ScreenSummary(
        out=config.out, counts=counts, n_records=n_records, blank_lines=reader.blank_lines,
        seconds=seconds, problem=reader.problem,
        files={k: str(p) for k, p in outputs.items()},
    )  # fmt: skip
    record = {**summary.as_dict(), "library": str(config.library), "drugforge": __version__,
              "settings": config.model_dump(mode="json", exclude={"resume", "force", "quiet"})}  # fmt: skip
    write_atomic(outputs["summary"], (json.dumps(record, indent=1) + "\n").encode())
    return summary
