"""DataLoader worker processes: the loop each worker runs, get_worker_info, and how a
worker's exception reaches the parent (Note [DataLoader workers] in dataloader.py)."""

from __future__ import annotations

import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker knows about itself (get_worker_info() in a worker): its id in
    0..num_workers-1, the worker count, its seed and its own copy of the dataset."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker, its WorkerInfo; None in the main process. An
    IterableDataset's __iter__ uses it to yield only its worker's share."""
    return _worker_info


class ExceptionWrapper:
    """An exception raised in a worker, carried to the parent as its type and its
    traceback text (the exception itself may not pickle)."""

    def __init__(self, exc_info: Any, where: str) -> None:
        self.exc_type = exc_info[0]
        self.msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self) -> None:
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)  # KeyError would print its message's repr()
        try:
            exc = self.exc_type(msg)
        except Exception:  # a type whose constructor needs other arguments
            raise RuntimeError(msg) from None
        raise exc


class KeyErrorMessage(str):
    def __repr__(self) -> str:
        return str(self)


@dataclass(frozen=True)
class IterableStop:
    """A worker's iterable dataset is exhausted (for this epoch)."""

    worker_id: int


@dataclass(frozen=True)
class Resume:
    """Start a new epoch (persistent workers): rebuild the fetcher."""


def make_fetcher(dataset: Any, auto_collation: bool, collate_fn: Callable, drop_last: bool):
    """A function from a task (a list of indices, an index, or None for an iterable
    dataset) to the fetched and collated batch. Shared by the main process and workers."""
    from .dataset import IterableDataset

    if isinstance(dataset, IterableDataset):
        it = iter(dataset)

        def fetch_iterable(task: Any) -> Any:
            if not auto_collation:
                return collate_fn(next(it))
            batch = []
            for _ in range(task):  # task: the batch size
                try:
                    batch.append(next(it))
                except StopIteration:
                    break
            if not batch or (drop_last and len(batch) < task):
                raise StopIteration
            return collate_fn(batch)

        return fetch_iterable

    from . import _collate

    fast = (
        auto_collation
        and collate_fn is _collate.default_collate
        and callable(getattr(dataset, "_batch", None))
    )
    getitems = getattr(dataset, "__getitems__", None)

    def fetch_map(task: Any) -> Any:
        if not auto_collation:
            return collate_fn(dataset[task])
        if fast:
            batch = dataset._batch(task)
            if batch is not None:
                return batch
        data = getitems(task) if callable(getitems) else [dataset[i] for i in task]
        return collate_fn(data)

    return fetch_map


def worker_loop(
    dataset: Any,
    index_queue: Any,
    data_queue: Any,
    done_event: Any,
    auto_collation: bool,
    collate_fn: Callable,
    drop_last: bool,
    base_seed: int,
    init_fn: Callable | None,
    worker_id: int,
    num_workers: int,
) -> None:
    """A worker: fetch each task from index_queue, put (task id, batch or
    ExceptionWrapper) on data_queue, until a None task or done_event."""
    global _worker_info
    import pydl

    # One kernel thread per worker, as PyTorch's: the workers are the parallelism.
    pydl.set_num_threads(1)
    seed = base_seed + worker_id
    random.seed(seed)
    pydl.manual_seed(seed & 0xFFFFFFFFFFFFFFFF)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    where = f"in DataLoader worker process {worker_id}"
    init_error = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetch = make_fetcher(dataset, auto_collation, collate_fn, drop_last)
    except Exception:
        init_error = ExceptionWrapper(sys.exc_info(), where)
    exhausted = False
    while not done_event.is_set():
        try:
            msg = index_queue.get(timeout=0.1)
        except queue.Empty:
            continue
        if msg is None:
            break
        if isinstance(msg, Resume):
            data_queue.put((msg, None))
            exhausted = False
            if init_error is None:
                try:
                    fetch = make_fetcher(dataset, auto_collation, collate_fn, drop_last)
                except Exception:
                    init_error = ExceptionWrapper(sys.exc_info(), where)
            continue
        if exhausted:  # the parent stops sending; a stray task gets the marker again
            data_queue.put((msg[0], pickle.dumps(IterableStop(worker_id))))
            continue
        idx, task = msg
        if init_error is not None:
            data, init_error = init_error, None
            exhausted = True  # a failed init fetches nothing
        else:
            try:
                data = fetch(task)
            except StopIteration:
                data, exhausted = IterableStop(worker_id), True
            except Exception:
                data = ExceptionWrapper(sys.exc_info(), where)
        # Pickled here, not in the queue's feeder thread, so that a batch that does not
        # pickle is an error the parent sees rather than a batch that never arrives.
        try:
            payload = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            payload = pickle.dumps(ExceptionWrapper(sys.exc_info(), where))
        data_queue.put((idx, payload))
    if done_event.is_set():
        data_queue.cancel_join_thread()
