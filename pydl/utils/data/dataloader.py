"""DataLoader, as torch.utils.data.DataLoader: batches from a map-style or iterable
dataset, in the main process or in worker processes.

Note [DataLoader workers]: with num_workers > 0 each iterator (or, with
persistent_workers, the loader) starts num_workers processes. The parent runs the sampler
and sends each batch's indices to the workers in turn, at most prefetch_factor per worker
in flight; a worker fetches and collates its batch and sends it back pickled (an error
while pickling is reported, not lost); the parent yields batches in sampler order. An
exception in a worker comes back as its type and traceback text and is raised in the
parent ("Caught ValueError in DataLoader worker process 1. Original Traceback ...").
While waiting the parent checks every 0.1 s that its workers are alive, so a killed worker
is a RuntimeError, not a hang; `timeout` > 0 bounds the wait for one batch.

Start method: the `multiprocessing_context` argument, else multiprocessing's default
(fork on Linux before Python 3.14, as PyTorch's). Fork is safe with pydl: a forked child
runs its kernels on one thread, never touching the parent's thread pool (Note [Fork] in
cpp/core/parallel.cpp), and each worker sets one kernel thread anyway. 'spawn' and
'forkserver' work too (the dataset, collate_fn and worker_init_fn must then pickle).
Worker w seeds Python's `random` and pydl with base_seed + w and NumPy's legacy global
generator from (w, base_seed); base_seed is drawn from pydl's generator (or `generator`)
when workers start (PyTorch draws it for every iterator; pydl draws nothing without
workers, so a num_workers=0 loop consumes the random stream exactly as before).
"""

from __future__ import annotations

import itertools
import multiprocessing
import pickle
import queue
import time
from collections.abc import Iterator
from typing import Any, Callable

import numpy as np

from . import _rng
from ._collate import default_collate, default_convert
from ._worker import ExceptionWrapper, IterableStop, Resume, make_fetcher, worker_loop
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

_POLL_S = 0.1  # how often a waiting parent checks that its workers are alive


class DataLoader:
    """Iterates over `dataset` in batches (Note [DataLoader workers]).

    Map-style datasets are indexed through `sampler` (SequentialSampler, or RandomSampler
    with shuffle=True) grouped by `batch_sampler` (BatchSampler(sampler, batch_size,
    drop_last)); batch_size=None yields samples one by one through default_convert.
    Iterable datasets are iterated (by each worker: shard with get_worker_info()).
    pin_memory and pin_memory_device are accepted and ignored (CPU only); batches always
    come in sampler order (in_order=False is accepted and changes nothing)."""

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable | None = None,
        multiprocessing_context: Any = None,
        generator: Any = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if not isinstance(num_workers, int) or isinstance(num_workers, bool):
            raise ValueError(
                "num_workers option should be a non-negative integer, but got "
                f"num_workers={num_workers!r}; use num_workers=0 to disable multiprocessing."
            )
        if num_workers < 0:  # PyTorch's words
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                "multiprocessing."
            )
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(
                f"timeout option should be a number of seconds, but got {type(timeout).__name__} "
                f"{timeout!r}"
            )
        if not timeout >= 0:
            raise ValueError("timeout option should be non-negative")
        if shuffle is not None and not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(  # a string such as "no" would silently shuffle
                f"shuffle option should be a bool or None, but got {type(shuffle).__name__} "
                f"{shuffle!r}"
            )
        for name, fn in (("collate_fn", collate_fn), ("worker_init_fn", worker_init_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(
                    f"{name} option should be callable or None, but got {type(fn).__name__} {fn!r}"
                )
        for name, value in (("sampler", sampler), ("batch_sampler", batch_sampler)):
            if value is not None and not hasattr(value, "__iter__"):
                raise TypeError(
                    f"{name} option should be an iterable of indices (a Sampler), but got "
                    f"{type(value).__name__} {value!r}"
                )
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing.let "
                "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None."
            )
        if prefetch_factor is not None and prefetch_factor < 1:
            raise ValueError(f"prefetch_factor option should be positive, got {prefetch_factor}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        _rng.check_generator(generator)
        self.dataset, self.num_workers, self.timeout = dataset, num_workers, timeout
        self.prefetch_factor = 2 if num_workers and prefetch_factor is None else prefetch_factor
        self.pin_memory, self.pin_memory_device, self.in_order = (
            pin_memory, pin_memory_device, in_order)  # fmt: skip
        self.worker_init_fn, self.generator = worker_init_fn, generator
        self.persistent_workers = persistent_workers
        self.multiprocessing_context = self._context(multiprocessing_context)

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):  # fmt: skip
                if value not in (None, False):
                    raise ValueError(
                        f"DataLoader with IterableDataset: expected unspecified {name} "
                        f"option, but got {name}={value}"
                    )
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive "
                "with drop_last"
            )
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else (
                SequentialSampler(dataset))  # fmt: skip
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn = collate_fn or (
            default_collate if self._auto_collation else default_convert)  # fmt: skip
        self._iterator: _WorkerIter | None = None

    def _context(self, context: Any) -> Any:
        if context is None:
            return None
        if self.num_workers == 0:
            raise ValueError(
                "multiprocessing_context can only be used with multi-process loading "
                f"(num_workers > 0), but got num_workers={self.num_workers}"
            )
        if isinstance(context, str):
            valid = multiprocessing.get_all_start_methods()
            if context not in valid:
                raise ValueError(
                    f"multiprocessing_context option should specify a valid start method "
                    f"in {valid!r}, but got multiprocessing_context={context!r}"
                )
            return multiprocessing.get_context(context)
        if not isinstance(context, multiprocessing.context.BaseContext):
            raise TypeError(
                "multiprocessing_context option should be a valid context object or a "
                f"string specifying the start method, but got {context!r}"
            )
        return context

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    def _tasks(self) -> Iterator[Any]:
        """What each fetch gets: a batch's indices, one index, or (iterable datasets) the
        batch size or None."""
        if self._iterable:
            return itertools.repeat(self.batch_size)
        return iter(self.batch_sampler if self._auto_collation else self.sampler)

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            return self._single_process()
        if not self.persistent_workers:
            return _WorkerIter(self)
        if self._iterator is None:
            self._iterator = _WorkerIter(self)
        else:
            self._iterator._reset()
        return self._iterator

    def _single_process(self) -> Iterator[Any]:
        fetch = make_fetcher(self.dataset, self._auto_collation, self.collate_fn, self.drop_last)
        for task in self._tasks():
            try:
                batch = fetch(task)
            except StopIteration:
                return
            yield batch

    def __len__(self) -> int:
        if not self._iterable:
            return len(self.batch_sampler if self._auto_collation else self.sampler)
        n = len(self.dataset)
        if self.batch_size is not None:
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return n

    def __del__(self) -> None:
        if getattr(self, "_iterator", None) is not None:
            self._iterator._shutdown()


class _WorkerIter:
    """One pass (or, with persistent workers, successive passes) over a DataLoader with
    worker processes (Note [DataLoader workers])."""

    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        n = loader.num_workers
        ctx = loader.multiprocessing_context or multiprocessing.get_context()
        self._data_queue = ctx.Queue()
        self._done = ctx.Event()
        self._index_queues, self._workers = [], []
        self._shut = False
        base_seed = _rng.seed(loader.generator)
        try:
            for w in range(n):
                iq = ctx.Queue()
                iq.cancel_join_thread()
                p = ctx.Process(
                    target=worker_loop,
                    args=(
                        loader.dataset,
                        iq,
                        self._data_queue,
                        self._done,
                        loader._auto_collation,
                        loader.collate_fn,
                        loader.drop_last,
                        base_seed,
                        loader.worker_init_fn,
                        w,
                        n,
                    ),  # fmt: skip
                    daemon=True,
                )
                p.start()
                self._index_queues.append(iq)
                self._workers.append(p)
        except BaseException:
            self._shutdown()
            raise
        self._reset(first=True)

    def _reset(self, first: bool = False) -> None:
        loader = self._loader
        n = loader.num_workers
        self._tasks = loader._tasks()
        self._send_idx = self._rcvd_idx = 0
        self._task_info: dict[int, tuple] = {}  # task id -> (worker,) or (worker, data)
        self._outstanding = 0
        self._active = [True] * n
        self._cycle = itertools.cycle(range(n))
        if not first:  # persistent workers: a new epoch; old results are dropped
            for iq in self._index_queues:
                iq.put(Resume())
            acks = 0
            while acks < n:
                idx, _ = self._get()
                acks += isinstance(idx, Resume)
        for _ in range(loader.prefetch_factor * n):
            self._put_task()

    def _put_task(self) -> None:
        if self._outstanding >= self._loader.prefetch_factor * len(self._workers):
            return
        for _ in range(len(self._workers)):
            w = next(self._cycle)
            if self._active[w]:
                break
        else:
            return
        try:
            task = next(self._tasks)
        except StopIteration:
            return
        self._index_queues[w].put((self._send_idx, task))
        self._task_info[self._send_idx] = (w,)
        self._outstanding += 1
        self._send_idx += 1

    def _get(self) -> tuple[Any, Any]:
        """The next (task id, payload) from any worker, checking liveness and timeout."""
        timeout = self._loader.timeout
        start = time.monotonic()
        while True:
            wait = _POLL_S if not timeout else min(_POLL_S, timeout)
            try:
                return self._data_queue.get(timeout=wait)
            except queue.Empty:
                pass
            dead = [p.pid for p in self._workers if not p.is_alive()]
            if dead:
                self._shutdown()
                raise RuntimeError(
                    f"DataLoader worker (pid(s) {', '.join(map(str, dead))}) exited unexpectedly"
                )
            if timeout and time.monotonic() - start >= timeout:
                self._shutdown()
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds")

    def __iter__(self) -> _WorkerIter:
        return self

    def __next__(self) -> Any:
        while True:
            # Skip the tasks of exhausted workers that will bring nothing.
            while self._rcvd_idx < self._send_idx:
                info = self._task_info[self._rcvd_idx]
                if len(info) == 2 or self._active[info[0]]:
                    break
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._loader.persistent_workers:
                    self._shutdown()
                raise StopIteration
            info = self._task_info[self._rcvd_idx]
            if len(info) == 2:
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
                return self._process(info[1])
            idx, payload = self._get()
            if isinstance(idx, Resume):
                continue
            self._outstanding -= 1
            data = pickle.loads(payload)
            if isinstance(data, IterableStop):
                self._active[data.worker_id] = False
                self._put_task()
                continue
            if idx != self._rcvd_idx:
                self._task_info[idx] += (data,)
                continue
            del self._task_info[idx]
            self._rcvd_idx += 1
            return self._process(data)

    def _process(self, data: Any) -> Any:
        self._put_task()
        if isinstance(data, ExceptionWrapper):
            if not self._loader.persistent_workers:
                self._shutdown()
            data.reraise()
        return data

    def __len__(self) -> int:
        return len(self._loader)

    def _shutdown(self) -> None:
        if self._shut:
            return
        self._shut = True
        self._done.set()
        for iq in self._index_queues:
            try:
                iq.put(None)
            except Exception:  # already closed
                pass
        for p in self._workers:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join()
        for q in (*self._index_queues, self._data_queue):
            q.cancel_join_thread()
            q.close()

    def __del__(self) -> None:
        if hasattr(self, "_shut"):  # not when __init__ failed before starting anything
            self._shutdown()
