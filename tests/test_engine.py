"""The one parallel engine's ordered map (drugforge.core.engine.parallel_map) and n_jobs rule."""

from __future__ import annotations

import os
from functools import partial

import pytest

from drugforge.core.engine import parallel_map, resolve_jobs


def _scaled_sum(chunk: list[int], factor: int) -> int:
    if any(x < 0 for x in chunk):
        raise ValueError(f"negative value in chunk starting {chunk[0]}")
    return factor * sum(chunk)


def test_parallel_map_keeps_input_order_and_matches_one_process() -> None:
    chunks = [list(range(k, k + 7)) for k in range(0, 140, 7)]
    fn = partial(_scaled_sum, factor=3)
    one = list(parallel_map(fn, chunks, 1))
    assert one == [3 * sum(c) for c in chunks]
    assert list(parallel_map(fn, chunks, 2)) == one
    assert list(parallel_map(fn, chunks, 2, max_in_flight=3)) == one


def test_parallel_map_raises_the_workers_error() -> None:
    chunks = [[1, 2], [3, -4], [5, 6]]
    with pytest.raises(ValueError, match="chunk starting 3"):
        list(parallel_map(partial(_scaled_sum, factor=1), chunks, 2))


def test_resolve_jobs() -> None:
    cores = os.cpu_count() or 1
    assert [resolve_jobs(n) for n in (None, 0, 1, 3)] == [1, 1, 1, 3]
    assert resolve_jobs(-1) == cores
    assert resolve_jobs(-cores - 5) == 1
