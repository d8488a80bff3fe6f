"""pydl.utils.data against torch.utils.data: collation, datasets, samplers, DataLoader
(single process and workers with every start method)."""

from __future__ import annotations

import collections
import multiprocessing
import os

import numpy as np
import pytest

import pydl
from pydl.utils import data
from pydl.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset

METHODS = multiprocessing.get_all_start_methods()
TIMEOUT = 60  # seconds a worker test may wait for one batch before failing (no hangs)


def _plain(x, torch):
    """A collated batch, pydl's or torch's, as nested Python lists/dicts of NumPy arrays
    with their dtype name, to compare structure, values and dtypes."""
    if isinstance(x, pydl.Tensor):
        return ("tensor", str(x.dtype).split(".")[-1], x.numpy().tolist())
    if isinstance(x, torch.Tensor):
        return ("tensor", str(x.dtype).split(".")[-1], x.numpy().tolist())
    if isinstance(x, dict):
        return {k: _plain(v, torch) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [_plain(v, torch) for v in x])
    return x


Point = collections.namedtuple("Point", "x y")

COLLATE_CASES = {
    "floats": [1.0, 2.5],
    "ints": [1, 2],
    "bools": [True, False],
    "np_float32_scalars": [np.float32(1), np.float32(2)],
    "np_int32_arrays": [np.arange(3, dtype=np.int32), np.arange(3, dtype=np.int32)],
    "np_float64_arrays": [np.ones((2, 2)), np.zeros((2, 2))],
    "tuples_with_strings": [(1, "a"), (2, "b")],
    "lists": [[1, 2.0], [3, 4.0]],
    "dicts": [{"a": 1, "b": np.ones(2, np.float32)}, {"a": 2, "b": np.zeros(2, np.float32)}],
    "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
    "nested": [{"p": (np.int64(1), [0.5])}, {"p": (np.int64(2), [1.5])}],
}


@pytest.mark.parametrize("case", sorted(COLLATE_CASES))
def test_default_collate_matches_torch(torch, case):
    batch = COLLATE_CASES[case]
    got = data.default_collate(batch)
    want = torch.utils.data.default_collate(batch)
    assert type(got).__name__ == type(want).__name__
    assert _plain(got, torch) == _plain(want, torch)


def test_default_collate_tensors_and_errors(torch):
    got = data.default_collate([pydl.tensor([1.0, 2.0]), pydl.tensor([3.0, 4.0])])
    assert isinstance(got, pydl.Tensor) and got.shape == (2, 2)
    for bad in ([object()], [np.array(["a"])], [None]):
        with pytest.raises(TypeError) as ours:
            data.default_collate(bad)
        with pytest.raises(TypeError) as theirs:
            torch.utils.data.default_collate(bad)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match="equal size"):
        data.default_collate([[1, 2], [3]])


def test_default_convert_matches_torch(torch):
    for sample in (np.zeros(2), (np.zeros(1), 1), [1, 2], np.float32(3), {"a": np.ones(1)}):
        got = data.default_convert(sample)
        want = torch.utils.data.default_convert(sample)
        assert _plain(got, torch) == _plain(want, torch)


def test_tensor_dataset_and_loader_batches_match_torch(torch):
    x = np.random.default_rng(0).normal(size=(11, 3)).astype(np.float32)
    y = np.arange(11)
    for kw in ({}, {"batch_size": 4}, {"batch_size": 4, "drop_last": True},
               {"batch_size": None}):  # fmt: skip
        ours = list(DataLoader(TensorDataset(pydl.tensor(x), pydl.tensor(y)), **kw))
        theirs = list(
            torch.utils.data.DataLoader(
                torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)), **kw
            )
        )
        assert len(ours) == len(theirs) == len(DataLoader(TensorDataset(x, y), **kw))
        assert _plain(ours, torch) == _plain(theirs, torch)
    # NumPy arrays go through the fast path (one fancy index per array): same batches.
    fast = list(DataLoader(TensorDataset(x, y), batch_size=4))
    slow = list(DataLoader(TensorDataset(x, y), batch_size=4, collate_fn=data.default_collate))
    assert _plain(fast, torch) == _plain(slow, torch)


class Squares(Dataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < self.n:
            raise IndexError(i)
        return {"i": i, "sq": np.array([i * i], np.float32), "name": f"s{i}"}


class Range(IterableDataset):
    """start..end-1, each worker yielding an interleaved share (get_worker_info)."""

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end

    def __iter__(self):
        info = data.get_worker_info()
        step, first = (1, 0) if info is None else (info.num_workers, info.id)
        return iter(range(self.start + first, self.end, step))

    def __len__(self) -> int:
        return self.end - self.start


class Failing(Squares):
    def __getitem__(self, i: int) -> dict:
        if i == 5:
            raise ValueError("sample 5 is broken")
        return super().__getitem__(i)


class Dying(Squares):
    def __getitem__(self, i: int) -> dict:
        if i == 3:
            os._exit(3)
        return super().__getitem__(i)


class RandomSamples(Dataset):
    """Draws in __getitem__: reproducible per worker seed."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int):
        return pydl.rand(2), data.get_worker_info().seed


def test_map_dataset_and_iterable_dataset_single_process(torch):
    batches = list(DataLoader(Squares(5), batch_size=2))
    assert [b["i"].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert batches[0]["name"] == ["s0", "s1"]
    assert [b.tolist() for b in DataLoader(Range(0, 7), batch_size=3)] == [
        [0, 1, 2], [3, 4, 5], [6]]  # fmt: skip
    assert [b.tolist() for b in DataLoader(Range(0, 7), batch_size=3, drop_last=True)] == [
        [0, 1, 2], [3, 4, 5]]  # fmt: skip
    assert len(DataLoader(Range(0, 7), batch_size=3)) == 3
    assert [int(b) for b in DataLoader(Range(0, 3), batch_size=None)] == [0, 1, 2]


@pytest.mark.parametrize("method", METHODS)
def test_workers_map_style_in_order(method):
    loader = DataLoader(Squares(23), batch_size=3, num_workers=2, timeout=TIMEOUT,
                        multiprocessing_context=method)  # fmt: skip
    got = [b["i"].tolist() for b in loader]
    assert got == [list(range(i, min(i + 3, 23))) for i in range(0, 23, 3)]
    shuffled = DataLoader(Squares(23), batch_size=4, shuffle=True, num_workers=2,
                          timeout=TIMEOUT, multiprocessing_context=method)  # fmt: skip
    pydl.manual_seed(7)
    a = [b["i"].tolist() for b in shuffled]
    pydl.manual_seed(7)
    b = [b["i"].tolist() for b in shuffled]
    assert a == b and sorted(sum(a, [])) == list(range(23)) and sum(a, []) != list(range(23))


@pytest.mark.parametrize("method", METHODS)
def test_workers_iterable_sharded_without_duplicates(method):
    loader = DataLoader(Range(0, 20), batch_size=3, num_workers=2, timeout=TIMEOUT,
                        multiprocessing_context=method)  # fmt: skip
    got = [b.tolist() for b in loader]
    # Batches alternate between the workers' shards (evens, odds), as PyTorch's.
    assert got[:2] == [[0, 2, 4], [1, 3, 5]]
    flat = sum(got, [])
    assert sorted(flat) == list(range(20))


@pytest.mark.parametrize("method", METHODS)
def test_worker_exception_reraised_with_traceback(method):
    loader = DataLoader(Failing(10), batch_size=2, num_workers=2, timeout=TIMEOUT,
                        multiprocessing_context=method)  # fmt: skip
    it = iter(loader)
    assert next(it)["i"].tolist() == [0, 1]
    assert next(it)["i"].tolist() == [2, 3]
    with pytest.raises(ValueError) as err:
        next(it)
    text = str(err.value)
    assert "Caught ValueError in DataLoader worker process 0" in text
    assert "sample 5 is broken" in text and "Traceback" in text and "__getitem__" in text


def test_dead_worker_is_an_error_not_a_hang():
    loader = DataLoader(Dying(10), batch_size=2, num_workers=2, timeout=TIMEOUT,
                        multiprocessing_context=METHODS[0])  # fmt: skip
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(loader)


class Slow(Squares):
    def __getitem__(self, i: int) -> dict:
        import time

        time.sleep(5)
        return super().__getitem__(i)


def test_timeout():
    loader = DataLoader(Slow(4), num_workers=1, timeout=0.5, multiprocessing_context=METHODS[0])
    with pytest.raises(RuntimeError, match="timed out after 0.5 seconds"):
        next(iter(loader))


def _init(worker_id: int) -> None:
    os.environ["PYDL_TEST_WORKER"] = str(worker_id)


class WhoAmI(Squares):
    def __getitem__(self, i: int):
        return int(os.environ.get("PYDL_TEST_WORKER", -1))


def test_worker_seeds_init_fn_and_persistent_workers(method=METHODS[0]):
    kw = dict(batch_size=None, num_workers=2, timeout=TIMEOUT, multiprocessing_context=method)
    pydl.manual_seed(3)
    a = [(x.tolist(), s) for x, s in DataLoader(RandomSamples(), **kw)]
    pydl.manual_seed(3)
    b = [(x.tolist(), s) for x, s in DataLoader(RandomSamples(), **kw)]
    assert a == b and a[0][1] + 1 == a[1][1]  # seeds base + worker id
    assert a[0][0] != a[2][0]  # one worker's successive draws differ
    who = DataLoader(WhoAmI(6), worker_init_fn=_init, persistent_workers=True, **kw)
    for _ in range(3):  # three epochs on the same two workers
        assert list(who) == [0, 1, 0, 1, 0, 1]
    workers = who._iterator._workers
    assert all(p.is_alive() for p in workers)
    it = iter(who)  # an epoch abandoned half way: the next one starts clean
    next(it)
    assert list(who) == [0, 1, 0, 1, 0, 1]
    del who, it


def test_loader_argument_errors(torch):
    ds = Squares(4)
    cases = [
        dict(num_workers=-1),
        dict(timeout=-1),
        dict(prefetch_factor=2),
        dict(persistent_workers=True),
        dict(shuffle=True, sampler=[0, 1]),
        dict(batch_sampler=[[0]], batch_size=2),
        dict(batch_size=None, drop_last=True),
    ]
    for kw in cases:
        with pytest.raises(ValueError) as ours:
            DataLoader(ds, **kw)
        with pytest.raises(ValueError) as theirs:
            torch.utils.data.DataLoader(ds, **kw)
        assert str(ours.value) == str(theirs.value), kw
    with pytest.raises(ValueError, match="expected unspecified shuffle"):
        DataLoader(Range(0, 3), shuffle=True)


def test_subset_concat_chain_stack(torch):
    ds = Squares(5)
    sub = data.Subset(ds, [4, 0])
    assert len(sub) == 2 and sub[0]["i"] == 4
    cat = ds + Squares(3)
    assert isinstance(cat, data.ConcatDataset) and len(cat) == 8
    assert cat[6]["i"] == 1 and cat[-1]["i"] == 2 and cat.cumulative_sizes == [5, 8]
    chain = Range(0, 2) + Range(5, 7)
    assert list(chain) == [0, 1, 5, 6] and len(chain) == 4
    st = data.StackDataset(a=ds, b=ds)
    assert st[1]["a"]["i"] == 1
    with pytest.raises(ValueError):
        data.ConcatDataset([])


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.3, 0.4], [0.5, 0.5], [0.33, 0.33, 0.34]])
def test_random_split(torch, lengths):
    ours = data.random_split(range(10), lengths)
    theirs = torch.utils.data.random_split(range(10), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert sorted(i for s in ours for i in s) == list(range(10))
    pydl.manual_seed(1)
    a = [list(s) for s in data.random_split(range(10), lengths)]
    pydl.manual_seed(1)
    assert a == [list(s) for s in data.random_split(range(10), lengths)]
    g = [list(s) for s in data.random_split(range(10), lengths, np.random.default_rng(0))]
    assert g == [list(s) for s in data.random_split(range(10), lengths, np.random.default_rng(0))]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        data.random_split(range(10), [3, 3])


def test_samplers():
    pydl.manual_seed(0)
    perm = list(data.RandomSampler(range(10)))
    assert sorted(perm) == list(range(10))
    more = list(data.RandomSampler(range(4), num_samples=10))
    assert len(more) == 10 and sorted(more[:8]) == [0, 0, 1, 1, 2, 2, 3, 3]
    rep = list(data.RandomSampler(range(3), replacement=True, num_samples=50))
    assert len(rep) == 50 and set(rep) == {0, 1, 2}
    assert sorted(data.SubsetRandomSampler([5, 7, 9])) == [5, 7, 9]
    assert list(data.SequentialSampler(range(3))) == [0, 1, 2]
    assert list(data.BatchSampler(range(7), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(data.BatchSampler(range(7), 3, True)) == 2
    w = data.WeightedRandomSampler([0.0, 1.0, 3.0], 4000)
    counts = np.bincount(list(w), minlength=3)
    assert counts[0] == 0 and 2.5 < counts[2] / counts[1] < 3.5
    no_rep = list(data.WeightedRandomSampler([1.0, 0.0, 2.0, 5.0], 3, replacement=False))
    assert sorted(no_rep) == [0, 2, 3]
    with pytest.raises(RuntimeError):
        data.WeightedRandomSampler([1.0, 0.0], 2, replacement=False)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        data.BatchSampler(range(3), 0, False)
    with pytest.raises(TypeError, match="generator"):
        data.RandomSampler(range(3), generator=42)
    a = list(data.RandomSampler(range(10), generator=np.random.default_rng(5)))
    assert a == list(data.RandomSampler(range(10), generator=np.random.default_rng(5)))


def test_pydl_data_reexports_one_implementation():
    assert pydl.data.DataLoader is DataLoader and pydl.data.TensorDataset is TensorDataset
    assert pydl.utils.data.DataLoader is DataLoader
    # Existing callers' idiom: arrays in, tensors out, the shuffle drawn from pydl's seed.
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    pydl.manual_seed(0)
    keys = np.empty(6, np.float32)
    pydl._random.uniform_(keys)
    pydl.manual_seed(0)
    (xb,) = next(iter(pydl.data.DataLoader(pydl.data.TensorDataset(x), batch_size=6,
                                           shuffle=True)))  # fmt: skip
    np.testing.assert_array_equal(xb.numpy(), x[np.argsort(keys, kind="stable")])
