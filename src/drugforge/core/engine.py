"""Where a screen's chunks are computed: in this process, in local worker processes, or on Ray.

An engine takes an iterator of work items and yields their results **in input order**, with at
most ``max_in_flight`` items submitted and not yet yielded, so memory is bounded by a few chunks
whatever the library size. Each worker builds the expensive state (loaded models, compiled
expressions) once, from a small picklable *task*, and then applies ``task.process`` to items.

* ``local``: ``n_jobs == 1`` runs in this process; otherwise a ``spawn`` process pool (a fresh
  interpreter per worker: no forked torch or RDKit state).
* ``ray``: Ray tasks on a cluster (``address``: ``"auto"``, ``"ray://host:10001"``...) or, with no
  address, a Ray instance started on this machine. Workers cache the built state by the task's
  key, so each Ray worker process loads the models once.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol

from drugforge.core.errors import DrugforgeError

__all__ = ["Engine", "WorkTask", "make_engine"]

class Worker(Protocol):
    def process(self, item: Any) -> Any: ...


class WorkTask(Protocol):
    """Picklable recipe of a worker: ``key`` identifies it, ``build()`` makes the worker."""

    @property
    def key(self) -> str: ...

    def build(self) -> Worker: ...


# one built worker per process and task key (a pool process or a Ray worker serves one job, but a
# long-lived Ray worker may see several jobs)
_BUILT: dict[str, Any] = {}


def _worker_for(task: WorkTask) -> Any:
    worker = _BUILT.get(task.key)
    if worker is None:
        _BUILT.clear()
        worker = _BUILT[task.key] = task.build()
    return worker


def _init_pool(task: WorkTask, threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    _worker_for(task)


def _pool_process(task: WorkTask, item: Any) -> Any:
    return _worker_for(task).process(item)


class Engine:
    """Ordered, bounded mapping of ``task.process`` over items."""

    name = "engine"

    def map(self, items: Iterable[Any]) -> Iterator[Any]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop workers (also after an interruption: pending work is dropped)."""


class InProcessEngine(Engine):
    name = "local (1 process)"

    def __init__(self, task: WorkTask) -> None:
        self.worker = _worker_for(task)

    def map(self, items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            yield self.worker.process(item)


class PoolEngine(Engine):
    def __init__(self, task: WorkTask, n_jobs: int, max_in_flight: int) -> None:
        self.name = f"local ({n_jobs} worker processes)"
        self.task = task
        self.max_in_flight = max_in_flight
        self.pool = ProcessPoolExecutor(
            max_workers=n_jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_pool,
            initargs=(task, 1),
        )

    def map(self, items: Iterable[Any]) -> Iterator[Any]:
        pending: collections.deque[Future[Any]] = collections.deque()
        for item in items:
            pending.append(self.pool.submit(_pool_process, self.task, item))
            while len(pending) >= self.max_in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class RayEngine(Engine):
    def __init__(self, task: WorkTask, address: str | None, max_in_flight: int,
                 num_cpus: int | None) -> None:  # fmt: skip
        try:
            import ray
        except ImportError:
            raise DrugforgeError(
                "--engine ray needs the 'ray' package: pip install 'drugforge[ray]'"
            ) from None
        self.ray = ray
        self.started_here = not ray.is_initialized()
        if self.started_here:
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address:
                kwargs["address"] = address
            elif num_cpus is not None:
                kwargs["num_cpus"] = num_cpus
            try:
                ray.init(**kwargs)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise DrugforgeError(f"cannot connect to Ray at {address or 'a local instance'}: "
                                     f"{' '.join(str(err).split())}") from None  # fmt: skip
        self.name = f"ray ({address or 'local instance'}, {int(ray.cluster_resources().get('CPU', 0))} CPUs)"
        self.task_ref = ray.put(task)
        self.remote: Callable[..., Any] = ray.remote(num_cpus=1)(_pool_process).remote
        self.max_in_flight = max_in_flight

    def map(self, items: Iterable[Any]) -> Iterator[Any]:
        pending: collections.deque[Any] = collections.deque()
        for item in items:
            pending.append(self.remote(self.task_ref, item))
            while len(pending) >= self.max_in_flight:
                yield self.ray.get(pending.popleft())
        while pending:
            yield self.ray.get(pending.popleft())

    def close(self) -> None:
        if self.started_here:
            self.ray.shutdown()


def make_engine(task: WorkTask, engine: str = "local", *, n_jobs: int = 1,
                address: str | None = None, max_in_flight: int | None = None) -> Engine:  # fmt: skip
    """The engine called ``engine`` (``local`` or ``ray``) running ``task``."""
    if engine == "local":
        if n_jobs <= 1:
            return InProcessEngine(task)
        return PoolEngine(task, n_jobs, max_in_flight or 2 * n_jobs)
    if engine == "ray":
        return RayEngine(task, address, max_in_flight or max(4, 2 * n_jobs),
                         None if address else n_jobs)  # fmt: skip
    raise ValueError(f"unknown engine '{engine}'; choose from: local, ray")
