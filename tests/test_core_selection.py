"""core: splits, model selection and fit-and-evaluate on a dataset that is not molecules."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import pytest

from drugforge.core.dataset import Dataset
from drugforge.core.errors import InputError
from drugforge.core.evaluation.fit import evaluate_split
from drugforge.core.registry import Registry
from drugforge.core.selection.auto import ModelFactory, select_model
from drugforge.core.selection.search import search_hyperparameters
from drugforge.core.splits import kfold, make_split
from drugforge.molecules.data.dataset import MoleculeDataset


@dataclass
class VectorDataset:
    """Rows of numbers with one regression target: a dataset of no particular modality."""

    inputs: list[np.ndarray]
    y: np.ndarray
    target_names: list[str] = field(default_factory=lambda: ["y"])
    task: str = "regression"
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.inputs)

    def subset(self, idx: Sequence[int] | np.ndarray) -> Self:
        index = np.asarray(idx, dtype=np.int64)
        return type(self)([self.inputs[i] for i in index], self.y[index], self.target_names,
                          self.task, {k: v[index] for k, v in self.extra.items()})  # fmt: skip


class MeanModel:
    """Predicts the training mean (a weak baseline)."""

    def __init__(self, task: str) -> None:
        self.task = task

    def fit(self, X: Sequence[Any], y: Any, X_val: Any = None, y_val: Any = None) -> Self:
        self.mean_ = np.nanmean(np.asarray(y), axis=0)
        return self

    def predict_dist(self, X: Sequence[Any]) -> tuple[np.ndarray, np.ndarray | None]:
        return np.tile(self.mean_, (len(X), 1)), None

    def predict(self, X: Sequence[Any]) -> np.ndarray:
        return self.predict_dist(X)[0]


class RidgeModel(MeanModel):
    """Ridge regression on the input vectors; ``alpha`` is searchable."""

    def __init__(self, task: str, alpha: float = 1e-3, seed: int = 0) -> None:
        super().__init__(task)
        self.alpha = alpha
        self.seed = seed

    def fit(self, X: Sequence[Any], y: Any, X_val: Any = None, y_val: Any = None) -> Self:
        A = np.column_stack([np.asarray(X), np.ones(len(X))])
        self.w_ = np.linalg.solve(A.T @ A + self.alpha * np.eye(A.shape[1]), A.T @ np.asarray(y))
        return self

    def predict_dist(self, X: Sequence[Any]) -> tuple[np.ndarray, np.ndarray | None]:
        return np.column_stack([np.asarray(X), np.ones(len(X))]) @ self.w_, None


class AverageModel(MeanModel):
    """The registry's ``ensemble``: the average of its members."""

    def __init__(self, task: str, members: Sequence[str] = (),
                 member_params: dict[str, dict[str, Any]] | None = None) -> None:  # fmt: skip
        super().__init__(task)
        self.members = members
        self.member_params = member_params or {}

    def fit(self, X: Sequence[Any], y: Any, X_val: Any = None, y_val: Any = None) -> Self:
        self.models_ = [build(m, self.task, **self.member_params.get(m, {})).fit(X, y)
                        for m in self.members]  # fmt: skip
        return self

    def predict_dist(self, X: Sequence[Any]) -> tuple[np.ndarray, np.ndarray | None]:
        return np.mean([m.predict(X) for m in self.models_], axis=0), None


TOY: dict[str, type[MeanModel]] = {"mean": MeanModel, "ridge": RidgeModel, "ensemble": AverageModel}


def build(name: str, task: Any, **params: Any) -> MeanModel:
    return TOY[name](task, **params)


def param_names(name: str) -> set[str]:
    return {"seed", "alpha"} if name == "ridge" else set()


MODELS = ModelFactory(build=build, param_names=param_names)


def _linear(n: int = 60, seed: int = 0) -> VectorDataset:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.05 * rng.normal(size=n)
    return VectorDataset(list(X), y[:, None])


def test_both_datasets_satisfy_the_protocol() -> None:
    molecules = MoleculeDataset(smiles=["CCO", "CC"], y=[1.0, 2.0], target_names=["y"],
                                task="regression", source_rows=[0, 1])  # fmt: skip
    assert isinstance(molecules, Dataset) and molecules.inputs == ["CCO", "CC"]
    assert isinstance(_linear(), Dataset)


def test_grouped_splits_keep_groups_whole() -> None:
    data = _linear(40)
    groups = [list(range(i, i + 4)) for i in range(0, 40, 4)]
    by_block = {"block": lambda d: (groups, {"width": 4})}
    split = make_split(data, "block", seed=1, groupings=by_block)
    assert split.params["n_groups"] == 10 and split.params["width"] == 4
    parts = (split.train, split.val, split.test)
    for group in groups:  # every member of a group lies in the same part
        assert [sum(g in idx for g in group) for idx in parts] in ([4, 0, 0], [0, 4, 0], [0, 0, 4])
    folds = kfold(data, k=5, method="block", seed=0, groupings=by_block)
    assert sorted(np.concatenate([f.test for f in folds]).tolist()) == list(range(40))
    assert all(set(g) <= set(f.test.tolist()) or not set(g) & set(f.test.tolist())
               for f in folds for g in groups)  # fmt: skip
    with pytest.raises(InputError, match="choose from: random, block, column:NAME"):
        make_split(data, "scaffold", groupings=by_block)
    with pytest.raises(InputError, match="cannot make 5 folds from 3 rows"):
        kfold(3, k=5)


def test_selection_prefers_the_model_that_fits() -> None:
    data = _linear()
    result = select_model(data, ("mean", "ridge"), lambda d: kfold(d, k=3, seed=0), MODELS,
                          seed=4)  # fmt: skip
    assert [row.spec.describe() for row in result.rows] == ["mean", "ridge", "ensemble(ridge+mean)"]
    assert result.best.name == "ridge" and result.best.params == {"seed": 4}
    assert result.rows[1].score < 0.2 < result.rows[0].score


def test_a_registry_of_classes_is_a_model_factory() -> None:
    registry: Registry[Any] = Registry("toy model")
    registry.add(MeanModel, name="mean")
    registry.add(RidgeModel, name="ridge")
    models = ModelFactory.from_registry(registry)
    assert models.with_seed("ridge", {"alpha": 2.0}, 3) == {"alpha": 2.0, "seed": 3}
    assert models.with_seed("mean", {}, 3) == {}
    ridge = models.build("ridge", "regression", alpha=2.0)
    assert isinstance(ridge, RidgeModel) and ridge.alpha == 2.0
    with pytest.raises(ValueError, match="unknown toy model 'lasso'"):
        models.build("lasso", "regression")


def test_search_and_fit_evaluate_on_vectors() -> None:
    data = _linear()
    found = search_hyperparameters(data, "ridge", {"ridge": {"alpha": [1e-3, 10.0, 1e3]}},
                                   lambda d: kfold(d, k=3, seed=0), MODELS, n_trials=4)  # fmt: skip
    assert len(found.trials) == 4 and found.trials[0]["params"] == {"seed": 0}
    assert found.best.params.get("alpha", 1e-3) < 1e3
    split = make_split(data, "random", seed=0)
    evaluation = evaluate_split(RidgeModel("regression"), data, split)
    assert evaluation.test_metrics["rmse"] < 0.2 and evaluation.test_std.shape == (6, 1)


def test_core_imports_no_chemistry() -> None:
    code = (
        "import sys; import drugforge.core.selection.search, drugforge.core.splits, "
        "drugforge.core.evaluation.fit, drugforge.core.dataset; "
        "print([m for m in sys.modules if m.split('.')[0] == 'rdkit' "
        "or m.startswith(('drugforge.molecules', 'drugforge.workflows', 'drugforge.cli'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
