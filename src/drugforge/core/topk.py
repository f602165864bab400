"""The best K rows of a stream by score, in bounded memory.

Order: higher score first; equal scores by input order (the earlier row first), so the selection
is deterministic and the same whether the stream is cut into chunks or not.
"""

from __future__ import annotations

import heapq

import numpy as np

__all__ = ["TopK", "select_top"]


class TopK:
    """Keeps the ``k`` best ``(score, row)`` items seen, each with the place it came from."""

    def __init__(self, k: int) -> None:
        self.k = k
        # a min-heap of (score, -row, chunk, position): the root is the worst item kept
        self._heap: list[tuple[float, int, int, int]] = []

    def push(self, score: float, row: int, chunk: int, position: int) -> None:
        item = (score, -row, chunk, position)
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def best(self) -> list[tuple[float, int, int, int]]:
        """The kept items, best first, as ``(score, -row, chunk, position)``."""
        return sorted(self._heap, reverse=True)


def select_top(status: np.ndarray, score: np.ndarray, start: int, top: int) -> None:
    """Within a chunk, only the best ``top`` hits (score desc, then input order) stay ``hit``;
    the others become ``scored``. ``status`` is changed in place; ``start`` is the chunk's first
    row, so ties order as in the whole input."""
    hits = np.flatnonzero(status == "hit")
    if len(hits) <= top:
        return
    order = np.lexsort((hits + start, -score[hits]))
    status[hits[order[top:]]] = "scored"
