"""Where chunked work is computed: in this process, in local worker processes, or on Ray.

The one place drugforge starts worker processes. Two ways in:

* :func:`parallel_map`: a plain function over a list of chunks (molecules to featurize or
  describe), results in input order; ``n_jobs <= 1`` runs in this process.
* :func:`make_engine`: a screen's engines, below.

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
from typing import Any, Protocol, TypeVar

from drugforge.core.errors import DrugforgeError

__all__ = ["Engine", "WorkTask", "make_engine", "parallel_map", "resolve_jobs", "spawn_pool"]

T = TypeVar("T")
R = TypeVar("R")


def resolve_jobs(n_jobs: int | None) -> int:
    """Worker processes for ``n_jobs``: ``None`` or 0 -> 1, ``-1`` -> all cores, ``-2`` -> all
    but one..."""
    if n_jobs is None or n_jobs == 0:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)  # -1 -> all cores
    return int(n_jobs)


def spawn_pool(
    n_jobs: int,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
) -> ProcessPoolExecutor:
    """A pool of ``n_jobs`` worker processes started by ``spawn``: a fresh interpreter per worker
    (no forked torch threads or RDKit state; the same on every OS); what a worker gets travels
    by pickle."""
    return ProcessPoolExecutor(
        max_workers=n_jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=initializer,
        initargs=initargs,
    )


def _in_order(
    submit: Callable[[Any], Any],
    result: Callable[[Any], Any],
    items: Iterable[Any],
    max_in_flight: int | None,
) -> Iterator[Any]:
    """``result(submit(item))`` for each item in input order, with at most ``max_in_flight``
    submitted and not yet yielded (``None``: no bound)."""
    pending: collections.deque[Any] = collections.deque()
    for item in items:
        pending.append(submit(item))
        while max_in_flight is not None and len(pending) >= max_in_flight:
            yield result(pending.popleft())
    while pending:
        yield result(pending.popleft())


def parallel_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    n_jobs: int,
    *,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
    max_in_flight: int | None = None,
) -> Iterator[R]:
    """``fn(item)`` for each item, in input order: in this process when ``n_jobs <= 1``, else in a
    :func:`spawn_pool` of ``n_jobs`` workers (``fn`` must then be picklable: a module-level
    function or a ``functools.partial`` of one).

    ``initializer(*initargs)`` runs once in each worker process (not in this one). All items are
    submitted at once unless ``max_in_flight`` bounds them. A worker's exception is raised here,
    for the first failing item in order; the pool is shut down when the iterator is exhausted or
    closed, and work not yet started is dropped.
    """
    if n_jobs <= 1:
        for item in items:
            yield fn(item)
        return
    pool = spawn_pool(n_jobs, initializer, initargs)
    try:
        yield from _in_order(
            lambda item: pool.submit(fn, item), Future.result, items, max_in_flight
        )
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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
        self.pool = spawn_pool(n_jobs, _init_pool, (task, 1))

    def map(self, items: Iterable[Any]) -> Iterator[Any]:
        submit = lambda item: self.pool.submit(_pool_process, self.task, item)
        return _in_order(submit, Future.result, items, self.max_in_flight)

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
        submit = lambda item: self.remote(self.task_ref, item)
        return _in_order(submit, self.ray.get, items, self.max_in_flight)

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
