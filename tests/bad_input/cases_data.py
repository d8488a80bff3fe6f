"""pydl.utils.data (and pydl.data, the same objects) given bad arguments (Note [Bad-input
corpus]): DataLoader options, datasets that lack __len__/__getitem__, mismatched
TensorDatasets, bad random_split lengths, samplers, collation of mismatched samples, and
a worker that raises (its exception must come back with its message, not hang)."""

import multiprocessing

import numpy as np
from corpus import bad, works

import pydl
import pydl.data
from pydl.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    random_split,
)

CASES: list = []


def _ds(n=10):
    return TensorDataset(pydl.tensor(np.arange(n, dtype=np.float32)))


def _loader(**kwargs):
    return lambda: DataLoader(_ds(), **kwargs)


def _iterate(**kwargs):
    return lambda: list(DataLoader(_ds(), **kwargs))


class _NoLen(Dataset):
    def __getitem__(self, i):
        return np.float32(i)


class _NoGetitem:
    def __len__(self):
        return 4


class _Raises(Dataset):
    """Raises at sample 5, in whichever process fetches it."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise ValueError(f"sample {i} is corrupt")
        return np.float32(i)


class _Stream(IterableDataset):
    def __iter__(self):
        return iter(range(4))


# ----- DataLoader options -------------------------------------------------------------------

bad(CASES, "data.DataLoader.batch_size_zero", _loader(batch_size=0), ValueError, r"batch_size.*0")
bad(
    CASES,
    "data.DataLoader.batch_size_negative",
    _loader(batch_size=-1),
    ValueError,
    r"batch_size.*-1",
)
bad(
    CASES,
    "data.DataLoader.batch_size_float",
    _loader(batch_size=2.5),
    ValueError,
    r"batch_size.*2\.5",
)
bad(CASES, "data.DataLoader.batch_size_str", _loader(batch_size="4"), ValueError, r"batch_size.*4")
bad(
    CASES,
    "data.DataLoader.batch_size_bool",
    _loader(batch_size=True),
    ValueError,
    r"batch_size.*True",
)
bad(
    CASES,
    "data.DataLoader.num_workers_negative",
    _loader(num_workers=-1),
    ValueError,
    r"num_workers.*non-negative",
)
bad(
    CASES,
    "data.DataLoader.num_workers_float",
    _loader(num_workers=1.5),
    ValueError,
    r"num_workers.*1\.5",
)
bad(
    CASES,
    "data.DataLoader.num_workers_str",
    _loader(num_workers="2"),
    ValueError,
    r"num_workers.*'2'",
)
bad(
    CASES,
    "data.DataLoader.shuffle_with_sampler",
    _loader(shuffle=True, sampler=SequentialSampler(range(10))),
    ValueError,
    r"sampler.*mutually exclusive with shuffle",
)
bad(CASES, "data.DataLoader.shuffle_str", _loader(shuffle="no"), TypeError, r"shuffle.*bool.*'no'")
bad(
    CASES,
    "data.DataLoader.batch_sampler_with_batch_size",
    _loader(batch_sampler=BatchSampler(range(10), 2, False), batch_size=4),
    ValueError,
    r"batch_sampler.*mutually exclusive with batch_size",
)
bad(
    CASES,
    "data.DataLoader.batch_sampler_with_shuffle",
    _loader(batch_sampler=BatchSampler(range(10), 2, False), shuffle=True),
    ValueError,
    r"batch_sampler.*mutually exclusive",
)
bad(CASES, "data.DataLoader.drop_last_str", _loader(drop_last="yes"), ValueError, r"drop_last.*yes")
bad(CASES, "data.DataLoader.drop_last_int", _loader(drop_last=1), ValueError, r"drop_last.*1")
bad(
    CASES,
    "data.DataLoader.batch_size_none_drop_last",
    _loader(batch_size=None, drop_last=True),
    ValueError,
    r"batch_size=None.*drop_last",
)
bad(
    CASES,
    "data.DataLoader.timeout_negative",
    _loader(timeout=-1),
    ValueError,
    r"timeout.*non-negative",
)
bad(CASES, "data.DataLoader.timeout_str", _loader(timeout="5"), TypeError, r"timeout.*str")
bad(
    CASES,
    "data.DataLoader.prefetch_without_workers",
    _loader(prefetch_factor=2),
    ValueError,
    r"prefetch_factor.*num_workers",
)
bad(
    CASES,
    "data.DataLoader.prefetch_zero",
    _loader(num_workers=1, prefetch_factor=0),
    ValueError,
    r"prefetch_factor.*0",
)
bad(
    CASES,
    "data.DataLoader.persistent_without_workers",
    _loader(persistent_workers=True),
    ValueError,
    r"persistent_workers.*num_workers",
)
bad(
    CASES,
    "data.DataLoader.context_bogus",
    _loader(num_workers=1, multiprocessing_context="bogus"),
    ValueError,
    r"multiprocessing_context.*bogus",
)
bad(
    CASES,
    "data.DataLoader.context_int",
    _loader(num_workers=1, multiprocessing_context=3),
    TypeError,
    r"multiprocessing_context.*3",
)
bad(
    CASES,
    "data.DataLoader.context_without_workers",
    _loader(multiprocessing_context="spawn"),
    ValueError,
    r"multiprocessing_context.*num_workers",
)
bad(
    CASES,
    "data.DataLoader.generator_int",
    _loader(shuffle=True, generator=0),
    TypeError,
    r"generator.*int",
)
bad(
    CASES,
    "data.DataLoader.collate_fn_not_callable",
    _loader(collate_fn=3),
    TypeError,
    r"collate_fn.*callable.*int",
)
bad(
    CASES,
    "data.DataLoader.worker_init_fn_not_callable",
    _loader(num_workers=1, worker_init_fn="seed"),
    TypeError,
    r"worker_init_fn.*callable.*str",
)
bad(CASES, "data.DataLoader.sampler_int", _iterate(sampler=3), TypeError, r"sampler.*int")
bad(
    CASES,
    "data.DataLoader.iterable_with_shuffle",
    lambda: DataLoader(_Stream(), shuffle=True),
    ValueError,
    r"IterableDataset.*shuffle",
)
bad(
    CASES,
    "data.DataLoader.iterable_with_sampler",
    lambda: DataLoader(_Stream(), sampler=range(4)),
    ValueError,
    r"IterableDataset.*sampler",
)
bad(
    CASES,
    "data.DataLoader.dataset_without_len",
    lambda: list(DataLoader(_NoLen())),
    TypeError,
    r"_NoLen.*len\(\)",
)
bad(
    CASES,
    "data.DataLoader.dataset_without_getitem",
    lambda: list(DataLoader(_NoGetitem())),
    TypeError,
    r"_NoGetitem.*subscriptable",
)
bad(
    CASES,
    "data.DataLoader.dataset_none",
    lambda: list(DataLoader(None)),
    TypeError,
    r"NoneType.*len\(\)",
)
bad(CASES, "data.Dataset.base_getitem", lambda: Dataset()[0], NotImplementedError, r"__getitem__")
bad(
    CASES,
    "data.IterableDataset.base_iter",
    lambda: list(DataLoader(IterableDataset())),
    NotImplementedError,
    r"__iter__",
)
bad(
    CASES,
    "data.pydl_data.batch_size_zero",
    lambda: pydl.data.DataLoader(_ds(), batch_size=0),
    ValueError,
    r"batch_size.*0",
)


def _worker_raises():
    loader = DataLoader(_Raises(), batch_size=2, num_workers=2, timeout=30)
    return list(loader)


bad(
    CASES,
    "data.DataLoader.worker_raises",
    _worker_raises,
    ValueError,
    r"worker process.*sample 5 is corrupt",
)


def _worker_raises_spawn():
    loader = DataLoader(
        _Raises(), batch_size=2, num_workers=2, timeout=60, multiprocessing_context="spawn"
    )
    return list(loader)


bad(
    CASES,
    "data.DataLoader.worker_raises_spawn",
    _worker_raises_spawn,
    ValueError,
    r"worker process.*sample 5 is corrupt",
)
bad(
    CASES,
    "data.DataLoader.main_process_raises",
    lambda: list(DataLoader(_Raises(), batch_size=2)),
    ValueError,
    r"sample 5 is corrupt",
)


class _Unpicklable(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return lambda: i  # a batch that cannot go back to the parent


def _worker_unpicklable():
    return list(DataLoader(_Unpicklable(), batch_size=None, num_workers=2, timeout=30))


bad(
    CASES,
    "data.DataLoader.worker_batch_unpicklable",
    _worker_unpicklable,
    Exception,
    r"worker process.*pickle",
)


def _worker_init_raises():
    def init(worker_id):
        raise RuntimeError(f"init of worker {worker_id} failed")

    return list(DataLoader(_ds(), batch_size=2, num_workers=2, worker_init_fn=init, timeout=30))


bad(
    CASES,
    "data.DataLoader.worker_init_raises",
    _worker_init_raises,
    RuntimeError,
    r"init of worker \d failed",
)


def _same_batches_with_workers():
    ds = TensorDataset(pydl.tensor(np.arange(20, dtype=np.float32).reshape(10, 2)))
    ref = [b[0].numpy() for b in DataLoader(ds, batch_size=3)]
    got = [b[0].numpy() for b in DataLoader(ds, batch_size=3, num_workers=2, timeout=30)]
    assert len(ref) == len(got) == 4
    assert all(np.array_equal(a, b) for a, b in zip(ref, got))


works(CASES, "data.DataLoader.workers_same_batches", _same_batches_with_workers)


def _context_object():
    ctx = multiprocessing.get_context("spawn")
    got = list(
        DataLoader(_ds(4), batch_size=2, num_workers=1, multiprocessing_context=ctx, timeout=60)
    )
    assert [b[0].numpy().tolist() for b in got] == [[0, 1], [2, 3]]


works(CASES, "data.DataLoader.context_object", _context_object)


def _batch_larger_than_dataset():
    got = list(DataLoader(_ds(3), batch_size=8))
    assert len(got) == 1 and got[0][0].shape == (3,)
    assert list(DataLoader(_ds(3), batch_size=8, drop_last=True)) == []


works(CASES, "data.DataLoader.batch_larger_than_dataset", _batch_larger_than_dataset)


def _empty_dataset():
    ds = TensorDataset(np.zeros((0, 2), np.float32))
    assert list(DataLoader(ds, batch_size=2)) == []
    assert len(DataLoader(ds, batch_size=2)) == 0


works(CASES, "data.DataLoader.empty_dataset", _empty_dataset)


def _list_dataset():
    got = list(DataLoader([1.0, 2.0, 3.0], batch_size=2))
    assert got[0].numpy().tolist() == [1.0, 2.0] and got[1].numpy().tolist() == [3.0]


works(CASES, "data.DataLoader.python_list", _list_dataset)


def _negative_stride_tensordataset():
    a = np.arange(12, dtype=np.float32).reshape(4, 3)[:, ::-1]
    got = next(iter(DataLoader(TensorDataset(a, a.T.T), batch_size=4)))
    assert np.array_equal(got[0].numpy(), a) and np.array_equal(got[1].numpy(), a)


works(CASES, "data.TensorDataset.negative_stride", _negative_stride_tensordataset)

# ----- datasets -----------------------------------------------------------------------------

bad(
    CASES,
    "data.TensorDataset.length_mismatch",
    lambda: TensorDataset(np.zeros(4), np.zeros(5)),
    ValueError,
    r"Size mismatch.*\[4, 5\]",
)
bad(
    CASES,
    "data.TensorDataset.empty",
    lambda: TensorDataset(),
    ValueError,
    r"TensorDataset.*at least one",
)
bad(
    CASES,
    "data.TensorDataset.zero_dim",
    lambda: TensorDataset(pydl.tensor(1.0)),
    IndexError,
    r"TensorDataset.*0-d.*dimension 0",
)
bad(
    CASES,
    "data.TensorDataset.scalar",
    lambda: TensorDataset(3),
    IndexError,
    r"TensorDataset.*0-d.*dimension 0",
)
bad(CASES, "data.TensorDataset.index_out_of_range", lambda: _ds(4)[7], IndexError, r"7.*size 4")
bad(CASES, "data.Subset.index_out_of_range", lambda: Subset(_ds(10), [0, 99])[1], IndexError, r"99")
bad(
    CASES,
    "data.Subset.position_out_of_range",
    lambda: Subset(_ds(10), [0, 1])[5],
    IndexError,
    r"out of range",
)
bad(CASES, "data.Subset.indices_int", lambda: Subset(_ds(10), 3), TypeError, r"indices.*int")
bad(CASES, "data.ConcatDataset.empty", lambda: ConcatDataset([]), ValueError, r"empty")
bad(
    CASES,
    "data.ConcatDataset.iterable",
    lambda: ConcatDataset([_Stream()]),
    TypeError,
    r"IterableDataset",
)
bad(
    CASES,
    "data.ConcatDataset.index_out_of_range",
    lambda: ConcatDataset([_ds(2), _ds(3)])[7],
    IndexError,
    r"7.*5",
)
bad(
    CASES,
    "data.random_split.sum_mismatch",
    lambda: random_split(_ds(10), [3, 3]),
    ValueError,
    r"Sum of input lengths",
)
bad(
    CASES,
    "data.random_split.fractions_not_one",
    lambda: random_split(_ds(10), [0.5, 0.4]),
    ValueError,
    r"Sum of input lengths",
)
bad(
    CASES,
    "data.random_split.negative_length",
    lambda: random_split(_ds(10), [-1, 11]),
    ValueError,
    r"lengths.*-1",
)
bad(
    CASES,
    "data.random_split.float_lengths",
    lambda: random_split(_ds(10), [2.5, 7.5]),
    ValueError,
    r"lengths.*2\.5",
)
bad(
    CASES,
    "data.random_split.negative_fraction",
    lambda: random_split(_ds(10), [1.5, -0.5]),
    ValueError,
    r"Fraction at index 0|lengths.*-0\.5",
)
bad(
    CASES,
    "data.random_split.str_lengths",
    lambda: random_split(_ds(10), "55"),
    TypeError,
    r"lengths.*str",
)
bad(
    CASES,
    "data.random_split.generator_int",
    lambda: random_split(_ds(10), [5, 5], generator=1),
    TypeError,
    r"generator.*int",
)


def _split_fractions():
    a, b, c = random_split(_ds(10), [0.5, 0.3, 0.2], generator=np.random.default_rng(0))
    assert (len(a), len(b), len(c)) == (5, 3, 2)
    assert sorted(int(a[i][0]) for i in range(5)) != []


works(CASES, "data.random_split.fractions", _split_fractions)

# ----- samplers -----------------------------------------------------------------------------

bad(
    CASES,
    "data.RandomSampler.num_samples_zero",
    lambda: RandomSampler(range(5), num_samples=0),
    ValueError,
    r"num_samples.*0",
)
bad(
    CASES,
    "data.RandomSampler.num_samples_float",
    lambda: RandomSampler(range(5), num_samples=2.5),
    ValueError,
    r"num_samples.*2\.5",
)
bad(
    CASES,
    "data.RandomSampler.replacement_str",
    lambda: RandomSampler(range(5), replacement="yes"),
    TypeError,
    r"replacement.*yes",
)
bad(
    CASES,
    "data.RandomSampler.generator_seed",
    lambda: RandomSampler(range(5), generator=42),
    TypeError,
    r"generator.*int",
)
bad(
    CASES,
    "data.RandomSampler.empty_source",
    lambda: RandomSampler([]),
    ValueError,
    r"num_samples.*0",
)
bad(
    CASES,
    "data.WeightedRandomSampler.negative_weight",
    lambda: WeightedRandomSampler([1.0, -1.0], 2),
    RuntimeError,
    r"invalid multinomial",
)
bad(
    CASES,
    "data.WeightedRandomSampler.nan_weight",
    lambda: WeightedRandomSampler([1.0, float("nan")], 2),
    RuntimeError,
    r"invalid multinomial",
)
bad(
    CASES,
    "data.WeightedRandomSampler.all_zero",
    lambda: WeightedRandomSampler([0.0, 0.0], 2),
    RuntimeError,
    r"invalid multinomial",
)
bad(
    CASES,
    "data.WeightedRandomSampler.weights_2d",
    lambda: WeightedRandomSampler(np.ones((2, 2)), 2),
    ValueError,
    r"weights.*1d.*\(2, 2\)",
)
bad(
    CASES,
    "data.WeightedRandomSampler.num_samples_zero",
    lambda: WeightedRandomSampler([1.0, 1.0], 0),
    ValueError,
    r"num_samples.*0",
)
bad(
    CASES,
    "data.WeightedRandomSampler.too_many_without_replacement",
    lambda: WeightedRandomSampler([1.0, 1.0], 3, replacement=False),
    RuntimeError,
    r"without replacement",
)
bad(
    CASES,
    "data.WeightedRandomSampler.weights_str",
    lambda: WeightedRandomSampler("ab", 2),
    (TypeError, ValueError),
    r"weights.*'ab'",
)
bad(
    CASES,
    "data.BatchSampler.batch_size_zero",
    lambda: BatchSampler(range(5), 0, False),
    ValueError,
    r"batch_size.*0",
)
bad(
    CASES,
    "data.BatchSampler.drop_last_none",
    lambda: BatchSampler(range(5), 2, None),
    ValueError,
    r"drop_last.*None",
)
bad(
    CASES,
    "data.SubsetRandomSampler.indices_int",
    lambda: SubsetRandomSampler(5),
    TypeError,
    r"indices.*int",
)
bad(
    CASES,
    "data.SequentialSampler.no_len",
    lambda: list(SequentialSampler(_NoLen())),
    TypeError,
    r"_NoLen.*len\(\)",
)

# ----- collation ----------------------------------------------------------------------------

bad(
    CASES,
    "data.default_collate.tensor_shapes",
    lambda: default_collate([pydl.ones(2), pydl.ones(3)]),
    RuntimeError,
    r"stack expects each tensor to be equal size.*\[2\].*\[3\]",
)
bad(
    CASES,
    "data.default_collate.array_shapes",
    lambda: default_collate([np.ones(2), np.ones(3)]),
    RuntimeError,
    r"equal size.*\[2\].*\[3\]",
)
bad(
    CASES,
    "data.default_collate.list_lengths",
    lambda: default_collate([[1, 2], [1, 2, 3]]),
    RuntimeError,
    r"equal size",
)
bad(
    CASES,
    "data.default_collate.object",
    lambda: default_collate([object(), object()]),
    TypeError,
    r"default_collate.*object",
)
bad(
    CASES,
    "data.default_collate.str_array",
    lambda: default_collate([np.array(["a"]), np.array(["b"])]),
    TypeError,
    r"default_collate.*<U1",
)
bad(
    CASES,
    "data.default_collate.empty_batch",
    lambda: default_collate([]),
    (ValueError, IndexError),
    r"batch.*empty",
)
bad(
    CASES,
    "data.DataLoader.collate_mismatched_samples",
    lambda: list(DataLoader([np.ones(2), np.ones(3)], batch_size=2)),
    RuntimeError,
    r"equal size",
)


works(
    CASES,
    "data.default_collate.dict_and_tuple",
    lambda: default_collate([{"a": (1, 2.0)}, {"a": (3, 4.0)}]),
)

# ----- DistributedSampler, StackDataset, ChainDataset ---------------------------------------

from pydl.utils.data import ChainDataset, DistributedSampler, StackDataset  # noqa: E402

bad(
    CASES,
    "data.DistributedSampler.num_replicas_zero",
    lambda: DistributedSampler(_ds(), num_replicas=0),
    ValueError,
    r"num_replicas.*positive.*0",
)
bad(
    CASES,
    "data.DistributedSampler.rank_out_of_range",
    lambda: DistributedSampler(_ds(), num_replicas=2, rank=2),
    ValueError,
    r"Invalid rank 2.*\[0, 1\]",
)
bad(
    CASES,
    "data.DistributedSampler.rank_negative",
    lambda: DistributedSampler(_ds(), num_replicas=2, rank=-1),
    ValueError,
    r"Invalid rank -1",
)
bad(
    CASES,
    "data.DistributedSampler.rank_float",
    lambda: DistributedSampler(_ds(), num_replicas=2, rank=0.5),
    TypeError,
    r"rank.*integer.*0\.5",
)
bad(
    CASES,
    "data.StackDataset.size_mismatch",
    lambda: StackDataset(_ds(3), _ds(4)),
    ValueError,
    r"Size mismatch",
)
bad(
    CASES,
    "data.StackDataset.args_and_kwargs",
    lambda: StackDataset(_ds(3), b=_ds(3)),
    ValueError,
    r"tuple.*dict.*both",
)
bad(CASES, "data.StackDataset.empty", lambda: StackDataset(), ValueError, r"At least one dataset")
bad(
    CASES,
    "data.ChainDataset.map_style",
    lambda: list(ChainDataset([_ds(3)])),
    TypeError,
    r"ChainDataset only supports IterableDataset",
)


def _distributed_covers_all():
    got = sorted(
        i
        for r in range(3)
        for i in DistributedSampler(_ds(10), num_replicas=3, rank=r, shuffle=False)
    )
    assert got == sorted(list(range(10)) + [0, 1])  # padded to 12 by repetition


works(CASES, "data.DistributedSampler.padding", _distributed_covers_all)
