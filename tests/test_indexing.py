# ruff: noqa: E501 - the case tables keep one case a line
"""Indexing (gather, scatter and its reductions, index_select/add/copy/fill/put, masked_*,
nonzero, take, take_along_dim, where) and the layout ops built on it (pad, flip, roll,
repeat, diag, tril, split, unfold, ...) against PyTorch: values and gradients on both
backends, integer and bool dtypes, zero-size and 0-d tensors, and the errors (Note [Index
ranges]: an index out of range is an IndexError, never a write out of bounds)."""

import numpy as np
import pytest

import pydl
from pydl import _core, reference


@pytest.fixture(params=["core", "reference"])
def backend(request):
    pydl.set_backend(request.param)
    yield request.param
    pydl.set_backend("core")


def I(*values):  # noqa: E743 - an index array, written as the tests read
    return np.array(values, dtype=np.int64)


def ints(shape, size, seed=0):
    """Indices in [0, size) with repeats."""
    return np.random.default_rng(seed).integers(0, size, shape)


def distinct(shape, dim, size):
    """Indices distinct along dim (a plain scatter's writes never collide)."""
    pos = np.indices(shape)
    other = sum(p * (k + 2) for k, p in enumerate(pos) if k != dim)
    return (pos[dim] + other) % size


def _lib_args(lib, args):
    """NumPy arrays among args as lib's tensors (indices and masks); tuples likewise."""
    if isinstance(args, tuple):
        return tuple(_lib_args(lib, a) for a in args)
    if isinstance(args, np.ndarray):
        return lib.tensor(args)
    return args


def _flat(lib, out):
    if isinstance(out, (tuple, list)):
        return lib.cat([o.reshape(-1) for o in out])
    return out


def run(lib, fn, arrays, dtype=np.float64, grad=True):
    ts = [lib.tensor(np.asarray(a).astype(dtype), requires_grad=grad) for a in arrays]
    out = _flat(lib, fn(lib, *ts))
    if not grad:
        return np.asarray(out.detach().numpy()), []
    w = np.random.default_rng(5).uniform(0.5, 1.5, size=tuple(out.shape))
    out.backward(lib.tensor(w.astype(dtype)))
    grads = [np.zeros(a.shape) if t.grad is None else t.grad.numpy() for a, t in zip(arrays, ts)]
    return np.asarray(out.detach().numpy()), grads


def compare(torch, fn, arrays, grad=True, dtype=np.float64):
    ours, our_grads = run(pydl, fn, arrays, dtype, grad)
    theirs, their_grads = run(torch, fn, arrays, dtype, grad)
    assert ours.shape == theirs.shape
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)
    for k, (a, b) in enumerate(zip(our_grads, their_grads)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9, err_msg=f"gradient {k}")


def rand(*shape, lo=-2.0, hi=2.0, seed=0):
    return np.random.default_rng(seed + len(shape)).uniform(lo, hi, shape)


# (id, fn(lib, *tensors), input arrays): each run on pydl (both backends) and on PyTorch.
FLOAT_CASES = [
    ("gather_dim1", lambda L, x: L.gather(x, 1, L.tensor(ints((4, 7), 5))), [rand(4, 5)]),
    ("gather_dim_neg1_3d", lambda L, x: x.gather(-1, L.tensor(ints((2, 3, 6), 4))), [rand(2, 3, 4)]),
    ("gather_dim0_smaller", lambda L, x: L.gather(x, 0, L.tensor(ints((2, 2, 1), 5))), [rand(5, 3, 2)]),
    ("gather_0d", lambda L, x: L.gather(x, 0, L.tensor(0)), [rand()]),
    ("gather_empty_index", lambda L, x: L.gather(x, 1, L.tensor(np.zeros((3, 0), np.int64))), [rand(3, 4)]),
    ("scatter_src", lambda L, x, s: L.scatter(x, 1, L.tensor(distinct((3, 4), 1, 6)), s), [rand(3, 6), rand(3, 4)]),
    ("scatter_src_dim0", lambda L, x, s: x.scatter(0, L.tensor(distinct((3, 2), 0, 4)), s), [rand(4, 2), rand(3, 2)]),
    ("scatter_value", lambda L, x: x.scatter(1, L.tensor(distinct((2, 2), 1, 3)), 1.5), [rand(2, 3)]),
    ("scatter_add_repeats", lambda L, x, s: L.scatter_add(x, 1, L.tensor(ints((3, 9), 4)), s), [rand(3, 4), rand(3, 9)]),
    ("scatter_add_dim0", lambda L, x, s: x.scatter_add(0, L.tensor(ints((6, 3), 2)), s), [rand(2, 3), rand(6, 3)]),
    ("scatter_add_3d_neg", lambda L, x, s: x.scatter_add(-2, L.tensor(ints((2, 5, 3), 4)), s), [rand(2, 4, 3), rand(2, 5, 3)]),
    ("take_along_dim", lambda L, x: L.take_along_dim(x, L.tensor(ints((3, 2), 5)), 1), [rand(3, 5)]),
    ("take_along_dim_bcast", lambda L, x: L.take_along_dim(x, L.tensor(ints((1, 2, 4), 3)), 1), [rand(2, 3, 4)]),
    ("take_along_dim_none", lambda L, x: L.take_along_dim(x, L.tensor(ints((5,), 12))), [rand(3, 4)]),
    ("index_select", lambda L, x: L.index_select(x, 1, L.tensor(I(2, 0, 2, 3))), [rand(3, 4, 2)]),
    ("index_select_neg_dim", lambda L, x: x.index_select(-1, L.tensor(I(1, 1))), [rand(3, 4)]),
    ("index_select_empty", lambda L, x: x.index_select(0, L.tensor(I())), [rand(3, 4)]),
    ("index_add", lambda L, x, s: L.index_add(x, 0, L.tensor(I(1, 1, 0)), s, alpha=0.5), [rand(3, 4), rand(3, 4)]),
    ("index_add_dim1", lambda L, x, s: x.index_add(1, L.tensor(I(3, 0)), s), [rand(2, 4, 3), rand(2, 2, 3)]),
    ("index_copy", lambda L, x, s: L.index_copy(x, 1, L.tensor(I(3, 0)), s), [rand(2, 4, 3), rand(2, 2, 3)]),
    ("index_fill", lambda L, x: x.index_fill(-1, L.tensor(I(0, 2, 0)), -3.0), [rand(2, 4)]),
    ("index_put_accumulate", lambda L, x, v: x.index_put((L.tensor(I(0, 2, 0, -1)),), v, accumulate=True), [rand(4, 3), rand(3)]),
    ("index_put_pairs", lambda L, x, v: L.index_put(x, (L.tensor(I(0, 2)), L.tensor(I(1, -1))), v), [rand(4, 3), rand(2)]),
    ("index_put_mask", lambda L, x: x.index_put((L.tensor(rand(4, 3) > 0),), L.tensor(2.0, dtype=L.float64)), [rand(4, 3)]),
    ("masked_fill", lambda L, x: L.masked_fill(x, L.tensor(rand(3) > 0), 0.5), [rand(2, 3)]),
    ("masked_fill_tensor", lambda L, x, v: x.masked_fill(L.tensor(rand(2, 3) > 0), v), [rand(2, 3), rand()]),
    ("masked_select", lambda L, x: L.masked_select(x, L.tensor(rand(4, 1) > 0)), [rand(4, 3)]),
    ("masked_scatter", lambda L, x, s: x.masked_scatter(L.tensor(rand(3, 4) > 0), s), [rand(3, 4), rand(14)]),
    # mask and input broadcast together, either way round (the input widens here)
    ("masked_scatter_wide_mask", lambda L, x, s: L.masked_scatter(x, L.tensor(rand(5, 5) > 0), s), [rand(5), rand(30)]),
    ("masked_scatter_both_widen", lambda L, x, s: x.masked_scatter(L.tensor(rand(4, 1) > 0), s), [rand(1, 3), rand(12)]),
    ("take", lambda L, x: L.take(x, L.tensor(I(0, -1, 5, 5, -12))), [rand(3, 4)]),
    ("take_2d_index", lambda L, x: x.take(L.tensor(ints((2, 3), 6))), [rand(2, 3)]),
    ("where_scalars", lambda L, x: L.where(x > 0, x, 0.0), [rand(3, 4)]),
    ("where_scalar_first", lambda L, x: L.where(x > 0, 1.0, x), [rand(3, 4)]),
    # layout
    ("pad_constant", lambda L, x: L.nn.functional.pad(x, (1, 2, 0, 3), value=1.5), [rand(2, 3, 4)]),
    ("pad_crop", lambda L, x: L.nn.functional.pad(x, (-1, 2, 1, -2)), [rand(2, 3, 4)]),
    ("pad_reflect_1d", lambda L, x: L.nn.functional.pad(x, (3, 1), mode="reflect"), [rand(2, 3, 5)]),
    ("pad_reflect_2d", lambda L, x: L.nn.functional.pad(x, (1, 2, 2, 1), mode="reflect"), [rand(1, 2, 4, 5)]),
    ("pad_replicate_3d", lambda L, x: L.nn.functional.pad(x, (1, 2, 2, 1, 0, 2), mode="replicate"), [rand(1, 2, 3, 4, 2)]),
    ("pad_circular", lambda L, x: L.nn.functional.pad(x, (2, 1, 1, 3), mode="circular"), [rand(1, 2, 3, 4)]),
    ("pad_circular_crop", lambda L, x: L.nn.functional.pad(x, (-1, 2), mode="circular"), [rand(1, 2, 5)]),
    ("pad_replicate_crop", lambda L, x: L.nn.functional.pad(x, (2, -1), mode="replicate"), [rand(1, 2, 5)]),
    ("expand", lambda L, x: x.expand(2, -1, 3), [rand(4, 1)]),
    ("expand_as", lambda L, x, y: x.expand_as(y), [rand(1, 3), rand(2, 3)]),
    ("broadcast_to", lambda L, x: L.broadcast_to(x, (2, 3, 4)), [rand(3, 1)]),
    ("broadcast_tensors", lambda L, x, y: L.broadcast_tensors(x, y), [rand(3, 1), rand(4)]),
    ("repeat", lambda L, x: x.repeat(2, 3), [rand(2, 3)]),
    ("repeat_more_dims", lambda L, x: x.repeat(2, 1, 3), [rand(3)]),
    ("tile", lambda L, x: L.tile(x, (2,)), [rand(2, 3)]),
    ("repeat_interleave", lambda L, x: L.repeat_interleave(x, 2), [rand(2, 3)]),
    ("repeat_interleave_dim", lambda L, x: x.repeat_interleave(L.tensor(I(1, 0, 3)), dim=0), [rand(3, 2)]),
    ("flip", lambda L, x: L.flip(x, (0, 2)), [rand(2, 3, 4)]),
    ("fliplr", lambda L, x: L.fliplr(x), [rand(2, 3)]),
    ("flipud", lambda L, x: x.flipud(), [rand(2, 3)]),
    ("roll", lambda L, x: L.roll(x, (1, -7), (0, -1)), [rand(3, 4)]),
    ("roll_flat", lambda L, x: x.roll(5), [rand(3, 4)]),
    ("rot90", lambda L, x: L.rot90(x, 1, (0, 1)), [rand(2, 3)]),
    ("rot90_neg", lambda L, x: x.rot90(-1, (2, 0)), [rand(2, 3, 4)]),
    ("diag_vector", lambda L, x: L.diag(x, 1), [rand(3)]),
    ("diag_matrix", lambda L, x: x.diag(-1), [rand(3, 4)]),
    ("diagonal", lambda L, x: L.diagonal(x, 1, -1, 0), [rand(3, 2, 4)]),
    ("diagonal_far", lambda L, x: x.diagonal(5), [rand(3, 4)]),
    ("diag_embed", lambda L, x: L.diag_embed(x, -1, 0, 2), [rand(2, 3)]),
    ("tril", lambda L, x: L.tril(x, -1), [rand(2, 3, 4)]),
    ("triu", lambda L, x: x.triu(2), [rand(3, 5)]),
    ("split_size", lambda L, x: L.split(x, 2, 1), [rand(2, 5)]),
    ("split_sections", lambda L, x: x.split([3, 0, 2], -1), [rand(2, 5)]),
    ("chunk", lambda L, x: L.chunk(x, 3, 0), [rand(7, 2)]),
    ("tensor_split", lambda L, x: L.tensor_split(x, 3, 0), [rand(7, 2)]),
    ("tensor_split_indices", lambda L, x: x.tensor_split((1, 5, 3), 1), [rand(2, 6)]),
    ("unbind", lambda L, x: L.unbind(x, 1), [rand(2, 3)]),
    ("narrow_tensor_start", lambda L, x: L.narrow(x, -1, L.tensor(1), 2), [rand(2, 4)]),
    ("select", lambda L, x: x.select(1, -1), [rand(2, 4)]),
    ("unflatten", lambda L, x: L.unflatten(x, 1, (2, -1)), [rand(3, 6)]),
    ("unfold", lambda L, x: x.unfold(0, 3, 2), [rand(8, 2)]),
    ("unfold_last", lambda L, x: x.unfold(-1, 2, 1), [rand(2, 5)]),
    ("movedim", lambda L, x: L.movedim(x, (0, 2), (1, 0)), [rand(2, 3, 4)]),
    ("moveaxis", lambda L, x: L.moveaxis(x, -1, 0), [rand(2, 3, 4)]),
    ("swapaxes", lambda L, x: L.swapaxes(x, 0, -1), [rand(2, 3, 4)]),
    ("swapdims", lambda L, x: x.swapdims(1, 2), [rand(2, 3, 4)]),
    ("t", lambda L, x: L.t(x), [rand(2, 3)]),
    ("mT", lambda L, x: x.mT, [rand(4, 2, 3)]),
    ("view_as", lambda L, x, y: x.view_as(y), [rand(2, 6), rand(3, 4)]),
    ("reshape_as", lambda L, x, y: x.reshape_as(y), [rand(2, 6), rand(4, 3)]),
    ("squeeze_tuple", lambda L, x: x.squeeze((0, 2, 3)), [rand(1, 3, 1, 2)]),
    ("squeeze_neg", lambda L, x: L.squeeze(x, -1), [rand(3, 1)]),
    ("atleast_2d", lambda L, x: L.atleast_2d(x), [rand(3)]),
    ("atleast_3d", lambda L, x: L.atleast_3d(x), [rand(3, 2)]),
    ("atleast_1d_0d", lambda L, x: L.atleast_1d(x), [rand()]),
    ("hstack", lambda L, x, y: L.hstack([x, y]), [rand(2, 3), rand(2, 1)]),
    ("vstack", lambda L, x, y: L.vstack([x, y]), [rand(3), rand(2, 3)]),
    ("dstack", lambda L, x, y: L.dstack([x, y]), [rand(2, 3), rand(2, 3)]),
    ("column_stack", lambda L, x, y: L.column_stack([x, y]), [rand(3), rand(3, 2)]),
    ("meshgrid_ij", lambda L, x, y: L.meshgrid(x, y, indexing="ij"), [rand(3), rand(4)]),
    ("cartesian_prod", lambda L, x, y: L.cartesian_prod(x, y), [rand(3), rand(2)]),
    ("meshgrid_xy", lambda L, x, y, z: L.meshgrid(x, y, z, indexing="xy"), [rand(3), rand(4), rand(2)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fn", "arrays"), [c[1:] for c in FLOAT_CASES], ids=[c[0] for c in FLOAT_CASES]
)
def test_values_and_gradients_match_torch(torch, backend, fn, arrays):  # fmt: skip
    compare(torch, fn, arrays)


REDUCE_CASES = [
    (reduce, include_self, dim)
    for reduce in ("sum", "prod", "mean", "amax", "amin")
    for include_self in (True, False)
    for dim in (0, -1)
]


@pytest.mark.parametrize(("reduce", "include_self", "dim"), REDUCE_CASES)
def test_scatter_reduce_matches_torch(torch, backend, reduce, include_self, dim):
    # every place hit several times or not at all; a zero for prod's gradient
    if dim == 0:
        x, s, idx = rand(3, 6, lo=0.5), rand(5, 6, lo=0.5, seed=7), ints((5, 6), 3, seed=1)
    else:
        x, s, idx = rand(3, 5, lo=0.5), rand(3, 8, lo=0.5, seed=7), ints((3, 8), 5, seed=1)
    x[0, 0] = s[0, 0] = 0.0

    def fn(L, x, s):
        return L.scatter_reduce(x, dim, L.tensor(idx), s, reduce, include_self=include_self)

    compare(torch, fn, [x, s])


def test_scatter_amax_ties_share_the_gradient(torch, backend):
    x = np.array([[1.0, 5.0, 2.0]])
    s = np.array([[5.0, 5.0, 0.0]])
    fn = lambda L, x, s: x.scatter_reduce(1, L.tensor(I(1, 1, 0)[None]), s, "amax")  # noqa: E731
    compare(torch, fn, [x, s])


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_reduce_argument(torch, backend, reduce):
    fn = lambda L, x, s: x.scatter(1, L.tensor(ints((3, 5), 4)), s, reduce=reduce)  # noqa: E731
    compare(torch, fn, [rand(3, 4), rand(3, 5)], grad=False)


INT_CASES = [
    ("gather", lambda L, x: L.gather(x, 1, L.tensor(ints((3, 5), 4)))),
    ("scatter", lambda L, x: x.scatter(1, L.tensor(distinct((3, 2), 1, 4)), 7)),
    ("scatter_add", lambda L, x: x.scatter_add(0, L.tensor(ints((5, 4), 3)), x[:1].expand(5, 4).contiguous())),
    ("scatter_reduce_mean", lambda L, x: x.scatter_reduce(1, L.tensor(ints((3, 6), 4)), x.repeat(1, 2)[:, :6], "mean")),
    ("scatter_reduce_amax", lambda L, x: x.scatter_reduce(1, L.tensor(ints((3, 6), 4)), x.repeat(1, 2)[:, :6], "amax", include_self=False)),
    ("index_select", lambda L, x: L.index_select(x, 0, L.tensor(I(2, 0, 2)))),
    ("index_add", lambda L, x: x.index_add(1, L.tensor(I(0, 0)), x[:, :2], alpha=3)),
    ("index_copy", lambda L, x: x.index_copy(1, L.tensor(I(3, 1)), x[:, :2])),
    ("index_fill", lambda L, x: x.index_fill(1, L.tensor(I(3, 1)), -1)),
    ("index_put", lambda L, x: x.index_put((L.tensor(I(0, 0)), L.tensor(I(1, 1))), L.tensor(I(4)).to(x.dtype), accumulate=True)),
    ("masked_fill", lambda L, x: x.masked_fill(x > 0, 9)),
    ("masked_select", lambda L, x: x.masked_select(x > 0)),
    ("masked_scatter", lambda L, x: x.masked_scatter(x > 0, L.arange(12).reshape(3, 4).to(x.dtype))),
    ("take", lambda L, x: x.take(L.tensor(I(-1, 3)))),
    ("flip", lambda L, x: x.flip(1)),
    ("roll", lambda L, x: x.roll(1, 0)),
    ("pad", lambda L, x: L.nn.functional.pad(x, (1, 1), value=4)),
    ("pad_replicate", lambda L, x: L.nn.functional.pad(x[None], (1, 2), mode="replicate")),
    ("repeat_interleave", lambda L, x: x.repeat_interleave(2, 0)),
    ("tril", lambda L, x: x.tril()),
    ("diag", lambda L, x: x.diag(1)),
    ("diag_embed", lambda L, x: x.diag_embed()),
    ("where_scalars", lambda L, x: L.where(x > 0, 1, 0)),
]  # fmt: skip


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
@pytest.mark.parametrize("fn", [c[1] for c in INT_CASES], ids=[c[0] for c in INT_CASES])
def test_integer_tensors_match_torch(torch, backend, fn, dtype):
    x = np.random.default_rng(2).integers(-5, 6, (3, 4))
    compare(torch, fn, [x], grad=False, dtype=dtype)


BOOL_CASES = [
    ("gather", lambda L, x: L.gather(x, 1, L.tensor(ints((3, 5), 4)))),
    ("index_select", lambda L, x: x.index_select(1, L.tensor(I(3, 3, 0)))),
    ("index_copy", lambda L, x: x.index_copy(1, L.tensor(I(3, 1)), x[:, :2])),
    ("masked_select", lambda L, x: x.masked_select(x)),
    ("flip", lambda L, x: x.flip(0)),
    ("roll", lambda L, x: x.roll(2)),
    ("nonzero", lambda L, x: L.nonzero(x)),
    ("argwhere", lambda L, x: L.argwhere(x)),
    ("nonzero_tuple", lambda L, x: L.nonzero(x, as_tuple=True)),
    ("where_one_argument", lambda L, x: L.where(x)),
]  # fmt: skip


@pytest.mark.parametrize("fn", [c[1] for c in BOOL_CASES], ids=[c[0] for c in BOOL_CASES])
def test_bool_tensors_match_torch(torch, backend, fn):
    x = np.random.default_rng(3).uniform(size=(3, 4)) > 0.5
    compare(torch, fn, [x], grad=False, dtype=np.bool_)


@pytest.mark.parametrize("shape", [(), (0,), (2, 0), (3,), (2, 3, 4)])
def test_nonzero_shapes_match_torch(torch, shape):
    x = (np.arange(int(np.prod(shape))).reshape(shape) % 3).astype(np.int64)
    for as_tuple in (False, True):
        ours = _flat(pydl, pydl.nonzero(pydl.tensor(x), as_tuple=as_tuple))
        theirs = _flat(torch, torch.nonzero(torch.tensor(x), as_tuple=as_tuple))
        assert ours.tolist() == theirs.tolist() and ours.dtype == pydl.int64


def test_one_hot_matches_torch(torch):
    labels = I(0, 3, 1, 1)
    for n in (-1, 5):
        ours = pydl.nn.functional.one_hot(pydl.tensor(labels), n)
        theirs = torch.nn.functional.one_hot(torch.tensor(labels), n)
        assert ours.tolist() == theirs.tolist() and ours.dtype == pydl.int64
    with pytest.raises(IndexError):
        pydl.nn.functional.one_hot(pydl.tensor(labels), 3)


def test_repeat_interleave_of_counts_alone(torch):
    counts = I(2, 0, 3)
    ours = pydl.repeat_interleave(pydl.tensor(counts))
    assert ours.tolist() == torch.repeat_interleave(torch.tensor(counts)).tolist()


ZERO_SIZE = [
    ("gather", lambda L, x: L.gather(x, 0, L.tensor(np.zeros((0, 3), np.int64))), [rand(2, 3)]),
    ("gather_empty_input", lambda L, x: L.gather(x, 1, L.tensor(np.zeros((0, 2), np.int64))), [rand(0, 3)]),
    ("scatter_add", lambda L, x, s: x.scatter_add(1, L.tensor(np.zeros((2, 0), np.int64)), s), [rand(2, 3), rand(2, 0)]),
    ("index_select", lambda L, x: x.index_select(1, L.tensor(I(1))), [rand(0, 3)]),
    ("index_add", lambda L, x, s: x.index_add(0, L.tensor(I()), s), [rand(2, 3), rand(0, 3)]),
    ("masked_select", lambda L, x: x.masked_select(L.tensor(np.zeros((0, 3), bool))), [rand(0, 3)]),
    ("flip", lambda L, x: x.flip(0), [rand(0, 3)]),
    ("roll", lambda L, x: x.roll(1, 1), [rand(0, 3)]),
    ("pad", lambda L, x: L.nn.functional.pad(x, (1, 1)), [rand(0, 3)]),
    ("repeat", lambda L, x: x.repeat(0, 2), [rand(2, 3)]),
    ("tril", lambda L, x: x.tril(), [rand(0, 3)]),
    ("split", lambda L, x: L.split(x, 2, 0), [rand(0, 3)]),
    ("gather_0d", lambda L, x: x.gather(0, L.tensor(0)), [rand()]),
    ("take_0d", lambda L, x: x.take(L.tensor(I(0, 0))), [rand()]),
    ("index_select_0d", lambda L, x: x.index_select(0, L.tensor(0)), [rand()]),
    ("flip_0d", lambda L, x: x.flip(0), [rand()]),
    ("masked_fill_0d", lambda L, x: x.masked_fill(L.tensor(True), 1.0), [rand()]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fn", "arrays"), [c[1:] for c in ZERO_SIZE], ids=[c[0] for c in ZERO_SIZE]
)
def test_zero_size_and_0d_match_torch(torch, backend, fn, arrays):  # fmt: skip
    compare(torch, fn, arrays)


OUT_OF_RANGE = [
    ("gather", lambda x: pydl.gather(x, 1, pydl.tensor([[0, 4]]))),
    ("gather_negative", lambda x: pydl.gather(x, 0, pydl.tensor([[-1, 0, 0, 0]]))),
    ("scatter", lambda x: x.scatter(0, pydl.tensor([[3]]), 1.0)),
    ("scatter_add", lambda x: x.scatter_add(1, pydl.tensor([[0, 9]]), x[:1, :2])),
    ("scatter_reduce", lambda x: x.scatter_reduce(1, pydl.tensor([[-2]]), x[:1, :1], "amax")),
    ("index_select", lambda x: x.index_select(1, pydl.tensor([4]))),
    ("index_select_negative", lambda x: x.index_select(0, pydl.tensor([-1]))),
    ("index_add", lambda x: x.index_add(0, pydl.tensor([3]), x[:1])),
    ("index_copy", lambda x: x.index_copy(1, pydl.tensor([2**40]), x[:, :1])),
    ("index_fill", lambda x: x.index_fill(1, pydl.tensor([4]), 0.0)),
    ("index_put", lambda x: x.index_put((pydl.tensor([3]),), pydl.tensor(1.0))),
    ("take", lambda x: x.take(pydl.tensor([12]))),
    ("take_negative", lambda x: x.take(pydl.tensor([-13]))),
    ("take_along_dim", lambda x: pydl.take_along_dim(x, pydl.tensor([[5]]), 1)),
    ("getitem", lambda x: x[pydl.tensor([3])]),
]  # fmt: skip


@pytest.mark.parametrize("fn", [c[1] for c in OUT_OF_RANGE], ids=[c[0] for c in OUT_OF_RANGE])
def test_out_of_range_indices_raise_index_error(backend, fn):
    x = pydl.tensor(rand(3, 4))
    before = x.numpy().copy()
    with pytest.raises(IndexError, match="out of"):
        fn(x)
    np.testing.assert_array_equal(x.numpy(), before)


@pytest.mark.parametrize("module", [_core, reference], ids=["core", "reference"])
def test_kernels_check_index_ranges_themselves(module):
    """Note [Index ranges]: the kernels raise IndexError for a bad index even when the op
    layer is bypassed, naming the dim, the index and the size; nothing is written."""
    x = rand(3, 4)
    bad = I(0, 7)[None]
    with pytest.raises(IndexError, match="index 7 is out of bounds for dimension 1 with size 4"):
        module.gather_forward(x, 1, bad)
    with pytest.raises(IndexError, match="index 7"):
        module.gather_backward(rand(1, 2), 1, bad, [3, 4])
    with pytest.raises(IndexError, match="index -3"):
        module.scatter_forward(x, 1, I(-3)[None], rand(1, 1), "sum", True)
    with pytest.raises(IndexError, match="index 9"):
        module.scatter_backward(x, x, 0, I(9)[None], rand(1, 1), x, "sum", True)
    with pytest.raises(IndexError, match="index 3"):
        module.index_select_forward(x, 0, I(3))
    with pytest.raises(IndexError, match="index 4"):
        module.index_select_backward(rand(3, 1), 1, I(4), [3, 4])
    with pytest.raises(IndexError, match="index 5"):
        module.index_add_forward(x, 1, I(5), rand(3, 1), 1.0)
    with pytest.raises(IndexError, match="index -1"):
        module.index_add_backward(x, 0, I(-1), 1.0)
    with pytest.raises(IndexError, match="index 4"):
        module.index_copy_forward(x, 1, I(0, 4), rand(3, 2))
    with pytest.raises(IndexError, match="index 3"):
        module.index_copy_backward(x, 0, I(3))


def test_core_rejects_shapes_the_kernels_rely_on():
    x = rand(3, 4)
    with pytest.raises(ValueError, match="larger"):
        _core.gather_forward(x, 0, np.zeros((3, 5), np.int64))
    with pytest.raises(ValueError, match="same number of dims"):
        _core.scatter_forward(x, 0, np.zeros((3,), np.int64), rand(3), "sum", True)
    with pytest.raises(ValueError, match="larger"):
        _core.scatter_forward(x, 0, np.zeros((2, 4), np.int64), rand(1, 4), "sum", True)
    with pytest.raises(ValueError, match="reduce"):
        _core.scatter_forward(x, 0, np.zeros((1, 4), np.int64), rand(1, 4), "max", True)
    with pytest.raises(ValueError, match="source"):
        _core.index_add_forward(x, 0, I(0, 1), rand(1, 4), 1.0)


ERRORS = [
    (TypeError, lambda x: pydl.gather(x, 0, pydl.tensor([[0.5]]))),
    (TypeError, lambda x: x.masked_fill(pydl.tensor([1, 0, 1, 0]), 0.0)),
    (RuntimeError, lambda x: pydl.gather(x, 0, pydl.tensor([0]))),
    (RuntimeError, lambda x: pydl.gather(x, 1, pydl.tensor([[0]] * 4))),
    (RuntimeError, lambda x: x.scatter(0, pydl.tensor([[0, 1]]), pydl.ones(1, 1))),
    (RuntimeError, lambda x: x.scatter_add(0, pydl.tensor([[0]]), pydl.ones(1, 1))),
    (ValueError, lambda x: x.scatter_reduce(0, pydl.tensor([[0]]), pydl.ones(1, 1), "max")),
    (ValueError, lambda x: x.scatter(0, pydl.tensor([[0]]), pydl.ones(1, 1), reduce="mean")),
    (TypeError, lambda x: x.scatter(0, pydl.tensor([[0]]))),
    (IndexError, lambda x: x.index_select(0, pydl.tensor([[0]]))),
    (IndexError, lambda x: x.gather(2, pydl.tensor([[0]]))),
    (RuntimeError, lambda x: x.index_add(0, pydl.tensor([0]), pydl.ones(2, 4))),
    (RuntimeError, lambda x: x.masked_scatter(x > -10, pydl.ones(5))),
    (RuntimeError, lambda x: x.masked_scatter(pydl.ones(7, dtype=pydl.bool), pydl.ones(99))),
    (RuntimeError, lambda x: x.masked_scatter_(pydl.ones(2, *x.shape, dtype=pydl.bool), pydl.ones(99))),
    (RuntimeError, lambda x: x.index_put((pydl.tensor([0, 1]),), pydl.ones(3))),
    (RuntimeError, lambda x: pydl.nn.functional.pad(x, (1,))),
    (RuntimeError, lambda x: pydl.nn.functional.pad(x[None], (4, 0), mode="reflect")),
    (NotImplementedError, lambda x: pydl.nn.functional.pad(x, (1, 1), mode="mirror")),
    (RuntimeError, lambda x: x.repeat(2)),
    (RuntimeError, lambda x: pydl.split(x, [1, 1], 0)),
    (RuntimeError, lambda x: pydl.flip(x, (0, -2))),
    (RuntimeError, lambda x: pydl.diagonal(x, 0, 1, -1)),
    (RuntimeError, lambda x: x.unfold(1, 5, 1)),
    (RuntimeError, lambda x: x.repeat_interleave(pydl.tensor([1, 2]), dim=0)),
    (RuntimeError, lambda x: pydl.roll(x, (1, 2))),
    (RuntimeError, lambda x: pydl.take_along_dim(x, pydl.tensor([0]), 0)),
]  # fmt: skip


@pytest.mark.parametrize(("error", "fn"), ERRORS, ids=[f"e{i}" for i in range(len(ERRORS))])
def test_bad_arguments_raise(backend, error, fn):
    with pytest.raises(error):
        fn(pydl.tensor(rand(3, 4)))


def test_scatter_add_accumulates_repeats_in_index_order():
    """Note [Scatter determinism]: repeated indices sum in index order on any thread count,
    so a big scatter_add is bit-identical on 1 and 2 threads."""
    pydl.set_backend("core")
    src = pydl.tensor(rand(64, 4096).astype(np.float32))
    index = pydl.tensor(ints((64, 4096), 8))
    results = []
    for n in (1, 2):
        with pydl.threads(n):
            results.append(pydl.zeros(8, 4096).scatter_add(0, index, src).numpy().copy())
    np.testing.assert_array_equal(results[0], results[1])
    expected = np.zeros((8, 4096))
    np.add.at(expected, (index.numpy(), np.arange(4096)), src.numpy().astype(np.float64))
    np.testing.assert_allclose(results[0], expected, rtol=1e-5, atol=1e-4)


def test_in_place_forms_match_torch(torch):
    pydl.set_backend("core")
    steps = [
        ("index_put_", ((I(0, 0, 2),), np.array(1.5)), dict(accumulate=True)),
        ("index_add_", (0, I(1, 1), rand(2, 4)), dict(alpha=2)),
        ("index_copy_", (1, I(3, 0), rand(3, 2)), {}),
        ("index_fill_", (1, I(2), -1.0), {}),
        ("scatter_", (1, distinct((3, 2), 1, 4), rand(3, 2)), {}),
        ("scatter_add_", (0, ints((5, 4), 3), rand(5, 4)), {}),
        ("scatter_reduce_", (1, ints((3, 5), 4), rand(3, 5), "amin"), dict(include_self=False)),
        ("masked_scatter_", (rand(3, 4) > 0, rand(12)), {}),
    ]
    for name, args, kwargs in steps:
        x0, w = rand(3, 4), rand(3, 4, seed=9)
        outs = []
        for L in (pydl, torch):
            leaf = L.tensor(x0, requires_grad=True)
            y = leaf * 1
            getattr(y, name)(*_lib_args(L, args), **kwargs)
            (y * L.tensor(w)).sum().backward()
            outs.append((y.detach().numpy().copy(), leaf.grad.numpy().copy()))
        np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-6, err_msg=name)
        np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-6, err_msg=name)
