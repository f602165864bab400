"""Merge a job's committed parts into its outputs: the hits, the rejected rows, every row.

Each part is a table of rows in input order with a ``status`` (``hit``, ``scored``, ``filtered``,
``duplicate``, ``invalid``), a ``reason``, a ``score`` and a ``row`` number. With ``top`` the
hits are the best ``top`` by score over all parts (ties by input order, :class:`TopK`), the
other hits become ``scored`` and the hits file is sorted by score with a ``rank`` column; else
every hit is written in input order. Memory is bounded by a part (plus the top-K positions):
the parts are read one at a time and streamed into the outputs (:class:`TableWriter`), each
written under a temporary name and renamed only when all are complete.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from drugforge.core.resume import PartStore
from drugforge.core.table_writer import TableWriter
from drugforge.core.topk import TopK

__all__ = ["REJECTED", "STATUSES", "merge_parts"]

STATUSES: tuple[str, ...] = ("hit", "scored", "filtered", "duplicate", "invalid")
#: the statuses written to the rejected-rows output
REJECTED: tuple[str, ...] = ("filtered", "duplicate", "invalid")


def merge_parts(store: PartStore, n_chunks: int, outputs: Mapping[str, Path], *,
                top: int | None, value_columns: list[str], base_columns: Sequence[str],
                text_columns: Collection[str]) -> tuple[dict[str, int], int]:  # fmt: skip
    """Write ``outputs["hits"]``, ``outputs["rejected"]`` and (if given) ``outputs["all_rows"]``
    from parts ``0..n_chunks-1``; returns the counts by status and the number of rows.

    ``value_columns`` are the hits' columns, ``base_columns`` the rejected rows' columns before
    their status and reason; ``text_columns`` are typed as text in an empty Parquet output.
    """

    def writer(path: Path, columns: list[str]) -> TableWriter:
        return TableWriter(path, columns, text_columns=text_columns)

    counts = dict.fromkeys(STATUSES, 0)
    hit_columns = [c for c in value_columns]
    rejected_columns = [*base_columns, "status", "reason"]
    all_columns = [*value_columns, "status", "reason"]
    heap = TopK(top or 0)
    writers: dict[str, TableWriter] = {
        "rejected": writer(outputs["rejected"], rejected_columns),
        **({"all_rows": writer(outputs["all_rows"], all_columns)}
           if "all_rows" in outputs else {}),
        **({"hits": writer(outputs["hits"], hit_columns)} if top is None else {}),
    }  # fmt: skip
    n_records = 0
    try:
        for k in range(n_chunks):
            frame = store.read(k)
            n_records += len(frame)
            status = frame["status"].to_numpy(dtype=object)
            hits = np.flatnonzero(status == "hit")
            if top is not None:
                score, rows = frame["score"].to_numpy(), frame["row"].to_numpy()
                for i in map(int, hits):
                    heap.push(float(score[i]), int(rows[i]), k, i)
                counts["scored"] += int(np.sum(status == "scored")) + len(hits)
            else:
                counts["hit"] += len(hits)
                writers["hits"].write(frame.iloc[hits][hit_columns])
            for s in REJECTED:
                counts[s] += int(np.sum(status == s))
            rejected = np.isin(status, list(REJECTED))
            writers["rejected"].write(frame.loc[rejected, rejected_columns])
            if "all_rows" in writers:
                writers["all_rows"].write(_final_status(frame, k, None)[all_columns])
        if top is not None:
            best = heap.best()
            counts["hit"] = len(best)
            counts["scored"] -= len(best)
            by_chunk: dict[int, list[int]] = {}
            for _, _, chunk_no, position in best:
                by_chunk.setdefault(chunk_no, []).append(position)
            # a second pass reads only the parts that hold a top-K row
            pieces = {k: store.read(k).iloc[sorted(idx)] for k, idx in by_chunk.items()}
            rows = pd.concat([pieces[k] for k in sorted(pieces)]) if pieces else None
            hits_frame = (rows.sort_values(["score", "row"], ascending=[False, True])[hit_columns]
                          if rows is not None else pd.DataFrame(columns=hit_columns))  # fmt: skip
            hits_frame.insert(0, "rank", np.arange(1, len(hits_frame) + 1))
            writers["hits"] = writer(outputs["hits"], ["rank", *hit_columns])
            writers["hits"].write(hits_frame)
            if "all_rows" in writers:  # the rows below the top K are 'scored', not 'hit'
                writers["all_rows"].abort()
                writers["all_rows"] = writer(outputs["all_rows"], all_columns)
                keep = {(k, i) for _, _, k, i in best}
                for k in range(n_chunks):
                    frame = store.read(k)
                    writers["all_rows"].write(_final_status(frame, k, keep)[all_columns])
        for w in writers.values():
            w.close()
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    return counts, n_records


def _final_status(frame: pd.DataFrame, k: int, keep: set[tuple[int, int]] | None) -> pd.DataFrame:
    """Part ``k`` with its hits outside ``keep`` (the top K) turned ``scored``."""
    if keep is None:
        return frame
    status = frame["status"].to_numpy(dtype=object)
    for i in np.flatnonzero(status == "hit"):
        if (k, int(i)) not in keep:
            status[i] = "scored"
    frame = frame.copy()
    frame["status"] = status
    return frame
