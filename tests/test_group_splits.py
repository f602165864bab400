"""Pair splits (random / cold-drug / cold-target / cold-both) on the real DAVIS table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from drugforge.core.group_splits import PAIR_SPLIT_KINDS, PairSplitError, pair_kfold, pair_split
from drugforge.core.splits import Split

DAVIS = Path("/work/shared/data/dti/davis/affinities.csv.gz")


@pytest.fixture(scope="module")
def davis() -> tuple[list[object], list[object]]:
    if not DAVIS.exists():
        pytest.skip(f"{DAVIS} not available")
    table = pd.read_csv(DAVIS)
    assert len(table) == 30_056
    return table["drug_id"].tolist(), table["target_id"].tolist()


def _keys(keys: list[object], idx: np.ndarray) -> set[object]:
    return {keys[i] for i in idx}


@pytest.mark.parametrize("kind", PAIR_SPLIT_KINDS)
def test_pair_split_on_davis(kind: str, davis: tuple[list[object], list[object]]) -> None:
    drugs, targets = davis
    n = len(drugs)
    split = pair_split(drugs, targets, kind, sizes=(0.8, 0.1, 0.1), seed=0)  # type: ignore[arg-type]
    split.assert_disjoint(n)  # no repeats, no overlap, all in range
    train, val, test = split.train, split.val, split.test
    assert min(split.sizes) > 0
    kept = len(train) + len(val) + len(test)
    assert kept + split.params["n_dropped"] == n
    assert split.method == f"pair:{kind}"
    cold_drug = kind in ("cold-drug", "cold-both")
    cold_target = kind in ("cold-target", "cold-both")
    if cold_drug:
        assert _keys(drugs, val).isdisjoint(_keys(drugs, train))
        assert _keys(drugs, test).isdisjoint(_keys(drugs, train) | _keys(drugs, val))
    if cold_target:
        assert _keys(targets, val).isdisjoint(_keys(targets, train))
        assert _keys(targets, test).isdisjoint(_keys(targets, train) | _keys(targets, val))
    if kind == "random":  # the warm split really shares keys
        assert _keys(drugs, test) <= _keys(drugs, train)
    # sizes near the request, as a share of the pairs kept (68 drugs of 442 pairs: a drug is
    # 1.5 % of the table, so a cold split can be off by about one group)
    shares = np.array(split.sizes) / kept
    assert np.allclose(shares, [0.8, 0.1, 0.1], atol=0.03 if kind != "cold-both" else 0.04)
    if kind == "cold-both":
        assert 0 < split.params["n_dropped"] < n
    else:
        assert kept == n


@pytest.mark.parametrize("kind", PAIR_SPLIT_KINDS)
def test_pair_split_is_seeded(kind: str, davis: tuple[list[object], list[object]]) -> None:
    drugs, targets = davis
    a = pair_split(drugs, targets, kind, seed=7)  # type: ignore[arg-type]
    b = pair_split(drugs, targets, kind, seed=7)  # type: ignore[arg-type]
    c = pair_split(drugs, targets, kind, seed=8)  # type: ignore[arg-type]
    for part in ("train", "val", "test"):
        assert np.array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(a.test, c.test)
    again = Split.from_json(a.to_json())  # the ordinary split manifest round trip
    assert np.array_equal(again.test, a.test) and again.params == a.params
    assert again.method == a.method and again.seed == 7


@pytest.mark.parametrize("kind", PAIR_SPLIT_KINDS)
def test_pair_kfold_on_davis(kind: str, davis: tuple[list[object], list[object]]) -> None:
    drugs, targets = davis
    n = len(drugs)
    folds = pair_kfold(drugs, targets, kind, k=5, seed=0)  # type: ignore[arg-type]
    assert len(folds) == 5
    seen = np.zeros(n, dtype=np.int64)
    for train, val in folds:
        assert train.size and val.size
        assert np.intersect1d(train, val).size == 0
        assert train.min() >= 0 and max(train.max(), val.max()) < n
        seen[val] += 1
        if kind in ("cold-drug", "cold-both"):
            assert _keys(drugs, val).isdisjoint(_keys(drugs, train))
        if kind in ("cold-target", "cold-both"):
            assert _keys(targets, val).isdisjoint(_keys(targets, train))
        if kind != "cold-both":
            assert train.size + val.size == n
    if kind == "cold-both":
        assert seen.max() == 1 and 0 < seen.sum() < n  # blocks on the diagonal only
    else:
        assert np.all(seen == 1)  # every pair validated exactly once
    again = pair_kfold(drugs, targets, kind, k=5, seed=0)  # type: ignore[arg-type]
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))


def test_small_table_and_keys_of_any_hashable_type() -> None:
    drugs = ["a", "a", "b", "b", "c", "c", 1, 1, (2, 3), (2, 3)]
    targets = ["x", "y"] * 5
    split = pair_split(drugs, targets, "cold-drug", sizes=(0.6, 0.2, 0.2), seed=1)
    assert split.sizes == (6, 2, 2)
    groups = [{drugs[i] for i in part} for part in (split.train, split.val, split.test)]
    assert [len(g) for g in groups] == [3, 1, 1]
    only_two = pair_split(drugs, targets, "cold-drug", sizes=(0.8, 0.2), seed=0)  # train/test
    assert only_two.val.size == 0 and only_two.test.size > 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: pair_split(["a", "b"], ["x", "x"], "cold-drug"), "at least 3 distinct row keys"),
        (lambda: pair_split(["a"] * 4, ["x", "y", "z", "w"], "cold-both"), "distinct row keys"),
        (lambda: pair_split(["a", "b"], ["x"], "random"), "2 row keys but 1 column keys"),
        (lambda: pair_split([], [], "random"), "empty"),
        (lambda: pair_split(["a"], ["x"], "warm"), "unknown pair split kind 'warm'"),  # type: ignore[arg-type]
        (lambda: pair_split(["a"], ["x"], "random", sizes=(0.5, 0.6)), "sizes"),
        (lambda: pair_kfold(["a", "a", "b"], ["x", "y", "z"], "cold-drug", k=3), "only 2"),
        (lambda: pair_kfold(["a", "b"], ["x", "y"], "random", k=1), "k >= 2"),
    ],
)
def test_errors_are_one_line_value_errors(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        call()  # type: ignore[operator]
    assert isinstance(info.value, PairSplitError)
    assert "\n" not in str(info.value)
