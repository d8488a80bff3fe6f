"""Cases generated from the op table (tests/op_table.py): every row's op given a wrong kind
of argument where it takes its first tensor: a string, a complex array (pydl has no complex
dtype), an object array and None. The message must name the argument (Note [Conversion
errors] in pydl/tensor.py) and what it got.

A row whose own code uses its first input as a Tensor (`x.topk(2)`, `x[1:]`, `x * 3`,
`labels(*x.shape)`) cannot hand a string to the op by itself: Python stops in the row. Such a
row is run again with `_AsSelf`, which makes each of those uses call Tensor's function with
the bad value itself (`Tensor.topk("abc", 2)`, which is `pydl.topk("abc", 2)`), so the op
still receives it. The row's helpers (labels, masks) get the shape of its own sample.

And one `works` case per row: its op on a strided first input (see below).
"""

import functools
import inspect
import os
import traceback
import warnings

import numpy as np
from corpus import bad, works
from op_table import ROWS

import pydl

CASES: list = []

_PYDL_DIR = os.path.dirname(pydl.__file__) + os.sep


class _AsSelf:
    """The bad value in the place of a Tensor the row's code uses directly (see above)."""

    def __init__(self, value, shape):
        self._value, self._shape = value, tuple(shape)

    def __array__(self, dtype=None, copy=None):  # what the value converts to
        return np.asarray(self._value)

    def __getattr__(self, name):
        if name == "shape":
            return self._shape
        if name == "ndim":
            return len(self._shape)
        if name == "dtype":
            return np.dtype(np.float32)
        if name in ("size", "dim", "numel"):  # metadata the row's helpers read
            meta = pydl.zeros(self._shape)
            return getattr(meta, name)
        attr = inspect.getattr_static(pydl.Tensor, name, None)
        if isinstance(attr, property):
            return attr.fget(self._value)
        if inspect.isroutine(attr):  # a Python function, or a compiled one (a cyfunction)
            return functools.partial(attr, self._value)
        return getattr(self._value, name)  # no Tensor method: what the value itself has

    def _dunder(name, reverse=False):
        def call(self, *args):
            fn = getattr(pydl.Tensor, name)
            return fn(args[0], self._value) if reverse else fn(self._value, *args)

        return call

    __getitem__ = _dunder("__getitem__")
    for _op in ("add", "sub", "mul", "truediv", "pow", "matmul", "and", "or"):
        locals()[f"__{_op}__"] = _dunder(f"__{_op}__")
        locals()[f"__r{_op}__"] = _dunder(f"__{_op}__", reverse=True)
    for _op in ("neg", "invert", "abs", "lt", "le", "gt", "ge"):
        locals()[f"__{_op}__"] = _dunder(f"__{_op}__")
    del _op, _dunder


def _through_pydl(e: BaseException) -> bool:
    return any(f.filename.startswith(_PYDL_DIR) for f in traceback.extract_tb(e.__traceback__))


def _holds_tensor(result) -> bool:
    if isinstance(result, (tuple, list)):
        return any(_holds_tensor(r) for r in result)
    return isinstance(result, pydl.Tensor)


def _call_with(row, first):
    """The row's op on its own float32 sample, the first input replaced by `first`."""

    def call():
        arrays = row.sample(np.random.default_rng(0))
        rest = [pydl.tensor(a.astype(np.float32)) for a in arrays[1:]]
        try:
            result = row.fn(first, *rest)
        except (AttributeError, TypeError, IndexError, ValueError) as e:
            if _through_pydl(e):
                raise
        else:
            if _holds_tensor(result):  # pydl took the bad value
                return result
        # the row's own code stopped at the value, or NumPy's ran on it (x[1:] of an array)
        return row.fn(_AsSelf(first, arrays[0].shape), *rest)

    return call


_KINDS = [
    ("str", lambda: "abc", TypeError, r"argument '\w+'.*\bstr\b"),
    ("complex", lambda: np.ones((2, 3), np.complex64), TypeError, r"argument '\w+'.*complex"),
    ("object", lambda: np.array([object(), None]), TypeError, r"argument '\w+'.*object"),
    # a row that hands the _AsSelf stand-in itself to an op: it converts to an object array
    ("none", lambda: None, TypeError, r"argument '\w+'.*(NoneType|object)"),
]

# rows whose own code reads the first input's internals (`x._array`): no op sees the value
_NO_OP_SEES_IT = {"contiguous"}

# an op that takes only Tensors for an argument (a layer's weight, as PyTorch's) names the
# type it got: under _AsSelf, the stand-in's
_STAND_IN = r"|argument '\w+' must be a Tensor, got _AsSelf"

for _row in ROWS:
    if _row.id in _NO_OP_SEES_IT:
        continue
    for _kind, _make, _raises, _match in _KINDS:
        bad(CASES, f"op.{_row.id}.{_kind}", _call_with(_row, _make()), _raises, _match + _STAND_IN)


# ----- works: every row's op on a strided first input ---------------------------------------
# The first input as pydl.from_numpy of a negative-stride, Fortran-ordered NumPy view (no
# copy: the tensor itself is strided) must give what the contiguous copy gives, forward and
# backward: the kernels read strided memory right or copy it first.


def _strided_view(a: np.ndarray) -> np.ndarray:
    """The values of `a` in memory laid out backwards along the last axis and column-major."""
    if a.ndim == 0:
        return a
    view = np.flip(np.asfortranarray(np.flip(a, -1)), -1)
    assert np.array_equal(view, a)
    return view


def _outputs(result) -> list:
    if isinstance(result, (tuple, list)):
        return [o for r in result for o in _outputs(r)]
    return [result] if isinstance(result, pydl.Tensor) else []


def _run(row, first, rest):
    """Outputs (arrays) and the first input's gradient of the sum of the float outputs."""
    pydl.manual_seed(0)  # rows that draw (dropout) draw the same
    with warnings.catch_warnings():  # what rows warn about on purpose (broadcast targets)
        warnings.simplefilter("ignore")
        out = _outputs(row.fn(first, *rest))
    grads = [o.sum() for o in out if o.requires_grad]
    if grads:
        sum(grads[1:], grads[0]).backward()
    grad = None if first.grad is None else first.grad.numpy().copy()
    return [o.detach().numpy().copy() for o in out], grad


def _strided_matches(row):
    def call():
        arrays = row.sample(np.random.default_rng(0))
        x = arrays[0].astype(np.float32)
        rest = [pydl.tensor(a.astype(np.float32)) for a in arrays[1:]]
        dense = pydl.tensor(x.copy(), requires_grad=True)
        strided = pydl.from_numpy(_strided_view(x)).requires_grad_()
        want, want_grad = _run(row, dense, rest)
        got, got_grad = _run(row, strided, rest)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        if want_grad is not None:
            np.testing.assert_allclose(got_grad, want_grad, rtol=1e-5, atol=1e-6)

    return call


for _row in ROWS:
    works(CASES, f"op.{_row.id}.strided_input", _strided_matches(_row))
