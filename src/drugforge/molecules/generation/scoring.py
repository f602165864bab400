"""Multi-component scores of molecules: the objective of goal-directed generation.

REINVENT 4's scoring, in drugforge's terms. An objective is a list of *components*, each a raw
value per molecule turned into a desirability in [0, 1] by a *transform*, combined with weights:

* ``qed``: RDKit's quantitative estimate of drug-likeness (0..1, used as is);
* ``sa``: the synthetic accessibility score (1 easy .. 10 hard; the profile's ``sa_score``), by
  default turned into ``(10 - SA) / 9`` so that higher is better;
* ``similarity``: the highest Tanimoto similarity (ECFP4, 2048 bits) to one or more reference
  molecules;
* ``substructure``: how many times a SMARTS pattern matches (by default 1 when it matches at
  all, else 0);
* ``model``: the prediction of a saved drugforge model (``drugforge train --out DIR``): the
  predicted value of a regression target (needs a transform, e.g. ``sigmoid(5,9)`` for a pKi)
  or the probability of the positive class.

Transforms (REINVENT's ``sigmoid``/``reverse_sigmoid``/``step`` with ``low``/``high``, plus a
clipped ``linear`` ramp): see :class:`Transform`. The total is the weighted geometric mean of the
transformed components (REINVENT's default; ``aggregate='arithmetic'`` for the weighted mean),
times a 0/1 filter: every ``must`` SMARTS matches, no ``must_not`` SMARTS matches, and every hard
constraint such as ``qed >= 0.5`` holds (on raw values: a component's, or a property of
:data:`~drugforge.molecules.chem.properties.PROPERTIES`, the values ``drugforge profile`` writes,
by name or alias: ``logp``, ``rotb``, ``sa``; ``hbd``/``hba`` are Lipinski's counts). A molecule
failing the filter scores 0 but keeps its component values.

A string that is not a valid molecule, or a component that fails on a molecule (a model that
cannot featurize it), gives a NaN total with an error text: a failed score is NaN, never 0.
Reinforcement learning may treat NaN as no reward; outputs keep it NaN.

An objective is an :class:`ObjectiveConfig` (pydantic, ``extra="forbid"``), read from a JSON or
TOML file (:func:`load_objective_file`) or built from command-line specs
(:func:`parse_score_spec`, :func:`parse_constraint`); :class:`Objective` is the built scorer.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from rdkit import Chem, DataStructs, rdBase
from rdkit.Chem import rdFingerprintGenerator

from drugforge.core.errors import ArtifactError, InputError
from drugforge.molecules.chem.mol import parse_smiles
from drugforge.molecules.chem.properties import property_spellings, property_values

__all__ = [
    "COMPONENT_KINDS",
    "TRANSFORM_KINDS",
    "Component",
    "Constraint",
    "Objective",
    "ObjectiveConfig",
    "Scores",
    "Transform",
    "load_objective_file",
    "parse_constraint",
    "parse_score_spec",
]

COMPONENT_KINDS = ("qed", "sa", "similarity", "substructure", "model")
TRANSFORM_KINDS = ("none", "sigmoid", "reverse_sigmoid", "step", "linear")
ComponentKind = Literal["qed", "sa", "similarity", "substructure", "model"]
TransformKind = Literal["none", "sigmoid", "reverse_sigmoid", "step", "linear"]


# ---------------------------------------------------------------------------- transforms
class Transform(BaseModel):
    """A desirability function: raw value -> [0, 1]; NaN stays NaN.

    * ``none``: the value as is (it must already lie in [0, 1]; it is clipped there);
    * ``sigmoid``: REINVENT's ``1 / (1 + 10^(10 k (x - (low + high) / 2) / (low - high)))``,
      about 0 below ``low`` and 1 above ``high`` (0.003 and 0.997 at the ends for k = 0.5);
    * ``reverse_sigmoid``: ``1 - sigmoid`` (high values are bad);
    * ``step``: 1 when ``low <= x <= high`` (a missing bound is open), else 0;
    * ``linear``: ``(x - low) / (high - low)`` clipped to [0, 1]; ``low > high`` ramps down
      (``linear(10,1)`` is ``(10 - x) / 9``, the default for ``sa``).
    """

    model_config = ConfigDict(extra="forbid")

    kind: TransformKind = "none"
    low: float | None = None
    high: float | None = None
    k: float = Field(default=0.5, gt=0)  # sigmoid steepness

    @model_validator(mode="after")
    def _check_bounds(self) -> Transform:
        if self.kind in ("sigmoid", "reverse_sigmoid"):
            if self.low is None or self.high is None or not self.low < self.high:
                raise ValueError(f"{self.kind} needs low < high, got ({self.low}, {self.high})")
        elif self.kind == "linear":
            if self.low is None or self.high is None or self.low == self.high:
                raise ValueError(f"linear needs two different bounds, got ({self.low}, {self.high})")
        elif self.kind == "step":
            if self.low is None and self.high is None:
                raise ValueError("step needs a low and/or a high bound")
            if self.low is not None and self.high is not None and self.low > self.high:
                raise ValueError(f"step needs low <= high, got ({self.low}, {self.high})")
        elif self.low is not None or self.high is not None:
            raise ValueError("transform 'none' takes no bounds")
        return self

    def __call__(self, values: np.ndarray) -> np.ndarray:
        x = np.asarray(values, dtype=np.float64)
        nan = np.isnan(x)
        if self.kind == "none":
            out = np.clip(x, 0.0, 1.0)
        elif self.kind in ("sigmoid", "reverse_sigmoid"):
            assert self.low is not None and self.high is not None
            mid = 0.5 * (self.low + self.high)
            exponent = 10.0 * self.k * (x - mid) / (self.low - self.high)
            with np.errstate(over="ignore", invalid="ignore"):
                out = 1.0 / (1.0 + np.power(10.0, np.clip(exponent, -300, 300)))
            if self.kind == "reverse_sigmoid":
                out = 1.0 - out
        elif self.kind == "step":
            low = -math.inf if self.low is None else self.low
            high = math.inf if self.high is None else self.high
            with np.errstate(invalid="ignore"):
                out = ((x >= low) & (x <= high)).astype(np.float64)
        else:  # linear
            assert self.low is not None and self.high is not None
            out = np.clip((x - self.low) / (self.high - self.low), 0.0, 1.0)
        return np.where(nan, np.nan, out)

    def describe(self) -> str:
        if self.kind == "none":
            return "none"
        low = "" if self.low is None else f"{self.low:g}"
        high = "" if self.high is None else f"{self.high:g}"
        k = f",{self.k:g}" if self.kind.endswith("sigmoid") and self.k != 0.5 else ""
        return f"{self.kind}({low},{high}{k})"


# ---------------------------------------------------------------------------- the config
class Component(BaseModel):
    """One scored property; see the module docstring for the kinds."""

    model_config = ConfigDict(extra="forbid")

    kind: ComponentKind
    name: str | None = None  # output column; default: the kind (a model's: its target)
    weight: float = Field(default=1.0, gt=0)
    transform: Transform | None = None  # None: the kind's default (see default_transform)
    smiles: list[str] = Field(default_factory=list)  # similarity: reference molecules
    smarts: str | None = None  # substructure: the pattern
    path: str | None = None  # model: a saved drugforge model directory
    target: str | None = None  # model: which target (default: the model's only one)

    @model_validator(mode="after")
    def _check_kind_fields(self) -> Component:
        need = {"similarity": "smiles", "substructure": "smarts", "model": "path"}
        for kind, field_name in need.items():
            given = bool(getattr(self, field_name))
            if self.kind == kind and not given:
                raise ValueError(f"a {kind} score needs '{field_name}'")
            if self.kind != kind and given:
                raise ValueError(f"'{field_name}' is for {kind} scores, not {self.kind}")
        if self.target is not None and self.kind != "model":
            raise ValueError(f"'target' is for model scores, not {self.kind}")
        if self.name is not None and not re.fullmatch(r"[A-Za-z_][\w.-]*", self.name):
            raise ValueError(f"score name '{self.name}' must be a letter or _ then letters, "
                             "digits, _ . -")  # fmt: skip
        return self

    def default_transform(self) -> Transform:
        if self.kind == "sa":
            return Transform(kind="linear", low=10.0, high=1.0)
        if self.kind == "substructure":
            return Transform(kind="step", low=1.0)
        return Transform()


class Constraint(BaseModel):
    """A hard filter on a raw value: ``metric op value`` (e.g. ``qed >= 0.5``)."""

    model_config = ConfigDict(extra="forbid")

    metric: str  # a component name, or a property (or alias) of the property table
    op: Literal[">=", "<=", ">", "<"]
    value: float

    def describe(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"

    def holds(self, values: np.ndarray) -> np.ndarray:
        """True where the constraint holds; NaN never satisfies it."""
        x = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            if self.op == ">=":
                return x >= self.value
            if self.op == "<=":
                return x <= self.value
            if self.op == ">":
                return x > self.value
            return x < self.value


class ObjectiveConfig(BaseModel):
    """What to optimize: components, hard constraints, required and forbidden substructures."""

    model_config = ConfigDict(extra="forbid")

    components: list[Component] = Field(min_length=1)
    constraints: list[Constraint] = Field(default_factory=list)
    must: list[str] = Field(default_factory=list)  # SMARTS every molecule must match
    must_not: list[str] = Field(default_factory=list)  # SMARTS no molecule may match
    aggregate: Literal["geometric", "arithmetic"] = "geometric"

    def describe(self) -> str:
        parts = [f"{c.weight:g}*{c.name or c.kind}" for c in self.components]
        text = f"{self.aggregate} mean of " + ", ".join(parts)
        extra = [c.describe() for c in self.constraints]
        extra += [f"must {s}" for s in self.must] + [f"must-not {s}" for s in self.must_not]
        return text + (f"; {'; '.join(extra)}" if extra else "")


#: the property behind each built-in score kind (the same numbers as the profile's columns)
_SCORE_PROPERTIES = {"qed": "qed", "sa": "sa_score"}


# ----------------------------------------------------------------------- parsing specs
_TRANSFORM_RE = re.compile(r"^([a-z_]+)\((.*)\)$")
_CONSTRAINT_RE = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*(>=|<=|>|<)\s*(\S+)\s*$")


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{what}: '{text}' is not a number") from None


def _parse_transform(text: str, spec: str) -> Transform:
    match = _TRANSFORM_RE.match(text)
    if match is None:
        raise InputError(f"score '{spec}': cannot read '{text}'; expected weight=W, name=NAME "
                         f"or a transform such as sigmoid(5,9)")  # fmt: skip
    kind, inner = match.groups()
    if kind not in TRANSFORM_KINDS:
        raise InputError(f"score '{spec}': unknown transform '{kind}'; "
                         f"choose from: {', '.join(TRANSFORM_KINDS)}")  # fmt: skip
    args = [a.strip() for a in inner.split(",")] if inner.strip() else []
    values = [None if a == "" else _number(a, f"score '{spec}'") for a in args]
    if len(values) > 3:
        raise InputError(f"score '{spec}': {kind} takes at most (low, high, k)")
    fields: dict[str, Any] = {"kind": kind}
    for key, value in zip(("low", "high", "k"), values):
        if value is not None:
            fields[key] = value
    try:
        return Transform(**fields)
    except ValidationError as err:
        raise InputError(f"score '{spec}': {_first_message(err)}") from None


def parse_score_spec(spec: str) -> Component:
    """A component from a command-line spec: ``KIND[:ARG] [weight=W] [name=N] [TRANSFORM]``.

    ``qed``, ``sa``, ``similarity:SMILES[,SMILES...]``, ``substructure:SMARTS``,
    ``model:DIR[:TARGET]``; options after spaces: ``weight=2``, ``name=pKi`` and a transform
    ``sigmoid(low,high[,k])``, ``reverse_sigmoid(low,high[,k])``, ``step(low,high)`` (a bound
    may be empty: ``step(0.5,)``), ``linear(low,high)`` or ``none()``.
    """
    tokens = spec.split()
    if not tokens:
        raise InputError("empty --score")
    head, options = tokens[0], tokens[1:]
    kind, _, arg = head.partition(":")
    if kind not in COMPONENT_KINDS:
        raise InputError(f"unknown score '{kind}'; choose from: {', '.join(COMPONENT_KINDS)}")
    fields: dict[str, Any] = {"kind": kind}
    if kind == "similarity":
        fields["smiles"] = [s for s in arg.split(",") if s]
    elif kind == "substructure":
        fields["smarts"] = arg or None
    elif kind == "model":
        path, target = arg, None
        if arg and not Path(arg).exists() and ":" in arg:
            path, _, target = arg.rpartition(":")
        fields["path"] = path or None
        fields["target"] = target or None
    elif arg:
        raise InputError(f"score '{kind}' takes no argument (got '{arg}')")
    for option in options:
        key, eq, value = option.partition("=")
        if eq and key in ("weight", "name"):
            fields[key] = _number(value, f"score '{spec}' weight") if key == "weight" else value
        elif eq:
            raise InputError(f"score '{spec}': unknown option '{key}'; choose from: weight, name")
        else:
            fields["transform"] = _parse_transform(option, spec)
    try:
        return Component(**fields)
    except ValidationError as err:
        raise InputError(f"score '{spec}': {_first_message(err)}") from None


def parse_constraint(text: str) -> Constraint:
    """``NAME OP VALUE`` with OP one of ``>= <= > <``, e.g. ``qed>=0.5`` or ``mw <= 500``."""
    match = _CONSTRAINT_RE.match(text)
    if match is None:
        raise InputError(f"cannot read constraint '{text}'; expected NAME>=VALUE (e.g. qed>=0.5)")
    metric, op, value = match.groups()
    return Constraint.model_validate(
        {"metric": metric, "op": op, "value": _number(value, f"constraint '{text}'")}
    )


def _first_message(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(x) for x in first.get("loc", ()))
    message = str(first.get("msg", "")).removeprefix("Value error, ")
    return f"{loc}: {message}" if loc else message


def load_objective_file(path: str | Path) -> ObjectiveConfig:
    """An :class:`ObjectiveConfig` from a ``.json`` or ``.toml`` file.

    A model ``path`` that is relative is taken relative to the file's folder.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError("objective file not found", path=file)
    try:
        if file.suffix.lower() == ".toml":
            data = tomllib.loads(file.read_text())
        elif file.suffix.lower() == ".json":
            data = json.loads(file.read_text())
        else:
            raise InputError("objective file must be .json or .toml", path=file)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"cannot parse objective file: {err}", path=file) from None
    try:
        config = ObjectiveConfig.model_validate(data)
    except ValidationError as err:
        raise InputError(f"invalid objective: {_first_message(err)}", path=file) from None
    for component in config.components:
        if component.path is not None and not Path(component.path).is_absolute():
            component.path = str(file.parent / component.path)
    return config


# ---------------------------------------------------------------------------- scoring
@dataclass
class Scores:
    """Scores of a list of strings, in order.

    ``raw``/``transformed`` map each component name to a float64 (n,) array; ``total`` is NaN
    for an invalid string or a failed component, 0 for a molecule failing the filter.
    """

    smiles: list[str]  # canonical SMILES of valid molecules, the input text otherwise
    valid: np.ndarray  # bool (n,)
    raw: dict[str, np.ndarray]
    transformed: dict[str, np.ndarray]
    passes: np.ndarray  # bool (n,): must / must-not / constraints hold (False when invalid)
    total: np.ndarray  # float64 (n,)
    errors: list[str] = field(default_factory=list)  # '' when the total is a number

    def to_frame(self) -> pd.DataFrame:
        """One row per input: smiles, valid, score, each component raw + ``_score``, passes, error."""
        frame = pd.DataFrame({"smiles": self.smiles, "valid": self.valid, "score": self.total})
        for name, raw in self.raw.items():
            frame[name] = raw
            frame[f"{name}_score"] = self.transformed[name]
        frame["passes_filters"] = self.passes
        frame["error"] = self.errors
        return frame


class _ModelScorer:
    """Predictions of one target of a saved model; NaN + error text where prediction fails."""

    def __init__(self, path: str, target: str | None) -> None:
        from drugforge.core.artifacts import load_model
        from drugforge.molecules.predict import check_molecule_model

        directory = Path(path)
        if not directory.is_dir():
            raise ArtifactError("model directory not found", path=directory)
        self.loaded = check_molecule_model(load_model(directory))
        names = self.loaded.target_names
        if target is None:
            if len(names) != 1:
                raise InputError(f"model has targets {', '.join(names)}: name one as "
                                 "model:DIR:TARGET", path=directory)  # fmt: skip
            target = names[0]
        if target not in names:
            raise InputError(f"model has no target '{target}'; targets: {', '.join(names)}",
                             path=directory)  # fmt: skip
        self.target = target
        self.column = names.index(target)
        self.task = self.loaded.task

    def __call__(self, smiles: list[str]) -> tuple[np.ndarray, list[str]]:
        # the one predict path: standardized with the model's settings, failures isolated;
        # one batch, as the whole population was always predicted at once
        pred = self.loaded.predict(smiles, batch_size=max(1, len(smiles)))
        errors = [f"model: {e}" if e else "" for e in pred.errors]
        return pred.mean[:, self.column], errors


def _smarts(pattern: str, role: str) -> Chem.Mol:
    with rdBase.BlockLogs():
        query = Chem.MolFromSmarts(pattern)
    if query is None:
        raise InputError(f"invalid SMARTS '{pattern}' ({role})")
    return query


class Objective:
    """A built :class:`ObjectiveConfig`: patterns compiled, models loaded, references encoded.

    Bad input raises at construction, as one line: an invalid SMARTS or reference SMILES, a
    missing model directory, an unknown constraint name, a regression model without transform.
    """

    def __init__(self, config: ObjectiveConfig) -> None:
        self.config = config
        self._fpgen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
        self.names: list[str] = []
        self.weights: list[float] = []
        self.transforms: list[Transform] = []
        self._scorers: list[Callable[[list[Chem.Mol], list[str]], tuple[np.ndarray, list[str]]]]
        self._scorers = []
        for component in config.components:
            self._add(component)
        self.must = [_smarts(p, "must") for p in config.must]
        self.must_not = [_smarts(p, "must-not") for p in config.must_not]
        spellings = property_spellings()  # name or alias -> name
        for constraint in config.constraints:
            if constraint.metric not in self.names and constraint.metric not in spellings:
                names = (a for a, n in spellings.items() if a == n)
                choices = list(dict.fromkeys([*self.names, *_SCORE_PROPERTIES, *names]))
                aliases = ", ".join(f"{a} ({n})" for a, n in spellings.items() if a not in choices)
                raise InputError(f"constraint '{constraint.describe()}': unknown name "
                                 f"'{constraint.metric}'; choose from: {', '.join(choices)}; "
                                 f"aliases: {aliases}")  # fmt: skip

    def _add(self, component: Component) -> None:
        kind = component.kind
        transform = component.transform or component.default_transform()
        name = component.name or kind
        scorer: Callable[[list[Chem.Mol], list[str]], tuple[np.ndarray, list[str]]]
        if kind in _SCORE_PROPERTIES:
            prop = _SCORE_PROPERTIES[kind]

            def from_table(mols: list[Chem.Mol], smiles: list[str]) -> tuple[np.ndarray, list[str]]:
                return property_values(mols, prop)

            scorer = from_table
        elif kind == "similarity":
            refs = []
            for text in component.smiles:
                mol = parse_smiles(text)
                if mol is None:
                    raise InputError(f"similarity reference '{text}' is not a valid SMILES")
                refs.append(self._fpgen.GetFingerprint(mol))

            def similarity(mols: list[Chem.Mol], smiles: list[str]) -> tuple[np.ndarray, list[str]]:
                fps = [self._fpgen.GetFingerprint(m) for m in mols]
                sims = np.array([DataStructs.BulkTanimotoSimilarity(r, fps) for r in refs])
                return sims.max(axis=0) if len(fps) else np.zeros(0), [""] * len(mols)

            scorer = similarity
        elif kind == "substructure":
            assert component.smarts is not None
            query = _smarts(component.smarts, f"score {name}")
            scorer = self._per_mol(lambda m: float(len(m.GetSubstructMatches(query))))
        else:
            assert component.path is not None
            model = _ModelScorer(component.path, component.target)
            name = component.name or model.target
            if model.task == "regression" and transform.kind == "none":
                raise InputError(f"score '{name}': model {component.path} predicts values, not "
                                 "probabilities; give a transform such as sigmoid(5,9)")  # fmt: skip

            def predict(mols: list[Chem.Mol], smiles: list[str]) -> tuple[np.ndarray, list[str]]:
                return model(smiles)

            scorer = predict
        base, n = name, 2
        while name in self.names:  # two similarity scores: similarity, similarity_2
            name, n = f"{base}_{n}", n + 1
        self.names.append(name)
        self.weights.append(component.weight)
        self.transforms.append(transform)
        self._scorers.append(scorer)

    @staticmethod
    def _per_mol(
        fn: Callable[[Chem.Mol], float],
    ) -> Callable[[list[Chem.Mol], list[str]], tuple[np.ndarray, list[str]]]:
        def score(mols: list[Chem.Mol], smiles: list[str]) -> tuple[np.ndarray, list[str]]:
            values = np.full(len(mols), np.nan)
            errors = [""] * len(mols)
            for i, mol in enumerate(mols):
                try:
                    values[i] = fn(mol)
                except (ValueError, RuntimeError) as err:
                    errors[i] = " ".join(str(err).split())
            return values, errors

        return score

    def score(self, smiles: Sequence[str]) -> Scores:
        """Score every string; see :class:`Scores`."""
        n = len(smiles)
        mols = [parse_smiles(s) for s in smiles]
        valid = np.array([m is not None for m in mols], dtype=bool)
        index = np.flatnonzero(valid)
        good = [m for m in mols if m is not None]
        canonical = [Chem.MolToSmiles(m) if m is not None else str(s) for m, s in zip(mols, smiles)]
        good_smiles = [canonical[i] for i in index]
        errors = ["" if v else "invalid SMILES" for v in valid]
        raw: dict[str, np.ndarray] = {}
        transformed: dict[str, np.ndarray] = {}
        for name, transform, scorer in zip(self.names, self.transforms, self._scorers):
            values = np.full(n, np.nan)
            if len(index):
                got, problems = scorer(good, good_smiles)
                values[index] = got
                for i, problem in zip(index, problems):
                    if problem and not errors[i]:
                        errors[i] = f"{name}: {problem}" if not problem.startswith(name) else problem
            raw[name] = values
            transformed[name] = transform(values)
        passes = valid.copy()
        for i in index:
            mol = mols[i]
            assert mol is not None
            if any(not mol.HasSubstructMatch(q) for q in self.must) or any(
                mol.HasSubstructMatch(q) for q in self.must_not
            ):
                passes[i] = False
        for constraint in self.config.constraints:
            if constraint.metric in raw:
                values = raw[constraint.metric]
            else:  # molecules already filtered out need no more work: None gives NaN
                values, _ = property_values(
                    [m if passes[i] else None for i, m in enumerate(mols)], constraint.metric
                )
            passes &= constraint.holds(values)  # NaN never holds
        total = self._aggregate(transformed, n)
        total = np.where(valid & ~passes & ~np.isnan(total), 0.0, total)
        for i in np.flatnonzero(np.isnan(total) & valid):
            if not errors[i]:
                errors[i] = "a component failed"
        return Scores(smiles=canonical, valid=valid, raw=raw, transformed=transformed,
                      passes=passes, total=total, errors=errors)  # fmt: skip

    def _aggregate(self, transformed: dict[str, np.ndarray], n: int) -> np.ndarray:
        stack = np.stack([transformed[name] for name in self.names]) if self.names else np.ones((0, n))
        w = np.asarray(self.weights, dtype=np.float64)[:, None]  # (C, 1)
        if self.config.aggregate == "arithmetic":
            return np.asarray((stack * w).sum(axis=0) / w.sum())
        with np.errstate(divide="ignore"):
            logs = np.log(stack)  # -inf where a component is 0, NaN stays NaN
        return np.asarray(np.exp((logs * w).sum(axis=0) / w.sum()))
