"""Reductions over axes (cpp/kernels/reduce, pydl/reference/reduce): sum, mean, amax/amin,
max/min (with a dim: values and indices), argmax/argmin, and the elementwise
maximum/minimum that max(a, b)/min(a, b) mean; var, std, var_mean, std_mean, prod,
logsumexp, norm, vector_norm (the row kernels), any, all, count_nonzero, nansum, nanmean,
aminmax.

Note [max with a dim]: PyTorch has two maxima with different gradients. `amax(x, dims)`
(and `max(x)` over all elements) splits the gradient evenly among tied maxima;
`max(x, dim)` returns (values, indices) and gives each value's whole gradient to the
element its index names, the first maximum (or the first NaN). So max(x, dim) gathers its
values at the indices (the `index` kernels, gather and scatter-add) rather than running
the max kernel, and the values always are the elements the indices name.

Note [Reduction dims]: dim=None and an empty dim list both mean every dim, as in PyTorch;
a 0-d tensor takes dim 0 or -1 and reduces nothing.

Note [Rows of the reduced dims]: the row kernels (Note [Row kernels] in
cpp/kernels/reduce.h) reduce the last dim. `_along_rows` moves the reduced dims last and
merges them into one (a permute and a reshape, both differentiable, so their gradients need
no code here: the binding copies the permuted view contiguous, Note [Strided inputs]); the
kernel's result, one value per kept position, is reshaped to the reduction's shape by
`_unrows`. The scans and the sorting ops move their one dim last the same way.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .. import _capture
from .. import backend as _b
from .. import reference as _reference
from .. import return_types
from .._core import CoreTypeError
from .._dtypes import result_type
from .._factories import dtype_arg
from ..reference._util import sum_to
from ..tensor import Tensor, _constant, as_tensor, record
from ._util import axis_index, axis_tuple
from .layout import permute, reshape, to
from .registry import op
from .._dtypes import is_floating

# PyTorch's names of the dtypes, for its error messages.
_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char"}
_TORCH_NAMES.update({"uint8": "Byte", "bool": "Bool", "float32": "Float", "float64": "Double"})


def _kernel(name: str, *args: Any) -> Any:
    """The active backend's kernel on args, or the NumPy reference's where the C++ core
    does not take their dtype (its kernels take float32): sum of an int64 tensor."""
    try:
        return getattr(_b.active, name)(*args)
    except CoreTypeError:
        return getattr(_reference, name)(*args)


def _reduced_axes(dim: Any, ndim: int) -> tuple[int, ...]:
    """The axes `dim` names (Note [Reduction dims])."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    if ndim == 0:
        for d in (dim,) if isinstance(dim, (int, np.integer)) else dim:
            if d not in (0, -1):
                raise IndexError(
                    f"Dimension out of range (expected to be in range of [-1, 0], but got {d})"
                )
        return ()
    return axis_tuple(dim, ndim)


def _sum_backward(node: Any, g: np.ndarray) -> Any:
    (x,) = node.inputs
    return (_kernel("sum_backward", g, x.shape, node.saved),)


def _mean_backward(node: Any, g: np.ndarray) -> Any:
    (x,) = node.inputs
    return (_kernel("mean_backward", g, x.shape, node.saved),)


def _max_backward(node: Any, g: np.ndarray) -> Any:
    (x,) = node.inputs
    axes, y = node.saved
    return (_kernel("max_backward", g, x._array, y, axes),)


@op(method=True, toplevel=True)
def sum(x: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Sum over `dim` (an int, a tuple, or None for all). Integer and bool tensors sum to
    int64, as PyTorch; with `dtype`, x is cast to it first."""
    x = as_tensor(x)
    dt = dtype_arg(dtype, "sum")
    if dt is not None:
        x = to(x, dt)
    elif x.dtype.kind in "biu" and x.dtype != np.int64:
        x = to(x, np.int64)
    axes = _reduced_axes(dim, x.ndim)
    return record(_kernel("sum_forward", x._array, axes, keepdim), (x,), _sum_backward, axes)


@op(method=True, toplevel=True)
def mean(x: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Mean over `dim` (an int, a tuple, or None for all), of a floating tensor (or of x
    cast to the floating `dtype`)."""
    x = as_tensor(x)
    dt = dtype_arg(dtype, "mean")
    if dt is not None and not is_floating(dt):
        raise RuntimeError(
            "mean(): could not infer output dtype. Optional dtype must be either a floating "
            f"point or complex dtype. Got: {_TORCH_NAMES[dt.name]}"
        )
    if dt is not None:
        x = to(x, dt)
    if not is_floating(x.dtype):
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating "
            f"point or complex dtype. Got: {_TORCH_NAMES[x.dtype.name]}"
        )
    axes = _reduced_axes(dim, x.ndim)
    return record(_kernel("mean_forward", x._array, axes, keepdim), (x,), _mean_backward, axes)


def _nonempty(x: Tensor, fn: str) -> None:
    if x._array.size == 0:
        raise RuntimeError(
            f"{fn}(): Expected reduction dim to be specified for input.numel() == 0. Specify "
            "the reduction dim with the 'dim' argument."
        )


def _nonempty_dims(x: Tensor, axes: tuple[int, ...], fn: str) -> None:
    for a in axes:
        if x.shape[a] == 0:
            raise IndexError(f"{fn}(): Expected reduction dim {a} to have non-zero size.")


@op(kernels=("max",), method=True, toplevel=True)
def amax(x: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Maximum over `dim` (an int or a tuple; all dims when empty or None). The gradient is
    split evenly among tied maxima (Note [max with a dim]); NaN propagates."""
    x = as_tensor(x)
    axes = _reduced_axes(dim, x.ndim)
    if x._array.size == 0:  # an empty result, or no maximum at all
        _nonempty_dims(x, axes, "amax")
        y = np.asarray(np.max(x._array, axis=axes, keepdims=keepdim))
    else:
        y = _kernel("max_forward", x._array, axes, keepdim)
    return record(y, (x,), _max_backward, (axes, y))


def _amin_backward(node: Any, g: np.ndarray) -> Any:
    (x,) = node.inputs
    axes, y = node.saved
    # min(x) is -max(-x): the max kernel's gradient masks the same tied elements.
    neg_x, neg_y = _capture.live(_negated, x._array, y)
    return (_kernel("max_backward", g, neg_x, neg_y, axes),)


def _negated(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(np.negative(x)), np.asarray(np.negative(y))  # 0-d stays an array


@op(kernels=("max",), method=True, toplevel=True)
def amin(x: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Minimum over `dim` (an int or a tuple; all dims when empty or None). The gradient is
    split evenly among tied minima; NaN propagates."""
    x = as_tensor(x)
    axes = _reduced_axes(dim, x.ndim)
    if x._array.size == 0:
        _nonempty_dims(x, axes, "amin")
    y = _capture.live(_minimum, x._array, axes, keepdim)
    return record(y, (x,), _amin_backward, (axes, y))


def _minimum(x: np.ndarray, axes: tuple[int, ...], keepdim: bool) -> np.ndarray:
    return np.asarray(np.min(x, axis=axes, keepdims=keepdim), order="C")


def _arg_extreme(x: np.ndarray, d: int, largest: bool) -> np.ndarray:
    """Indices of the first maximum (minimum) along d, kept as a size-1 dim; the first NaN
    wins, as in PyTorch (NumPy's argmax/argmin agree)."""
    return (np.argmax if largest else np.argmin)(x, axis=d, keepdims=True)


def _flat_positions(shape: tuple[int, ...], d: int, idx: np.ndarray) -> np.ndarray:
    """Flat element numbers of x (of `shape`) at the indices idx (kept dim d) along d."""
    outer = int(np.prod(shape[:d], dtype=np.int64))
    n, inner = shape[d], int(np.prod(shape[d + 1 :], dtype=np.int64))
    i = idx.reshape(outer, inner).astype(np.int64)
    flat = (np.arange(outer, dtype=np.int64)[:, None] * n + i) * inner
    return flat + np.arange(inner, dtype=np.int64)[None, :]


def _extreme_positions(x: np.ndarray, d: int, keepdim: bool, largest: bool) -> tuple:
    """(indices along d, flat element numbers) of the maxima (minima) of x along d."""
    idx = _arg_extreme(x, d, largest)
    shape = idx.shape if keepdim else idx.shape[:d] + idx.shape[d + 1 :]
    indices = np.asarray(idx.reshape(shape), dtype=np.int64, order="C")
    return indices, _flat_positions(x.shape, d, idx).reshape(shape)


def _gather_backward(node: Any, g: np.ndarray) -> Any:
    (x,) = node.inputs
    return (_kernel("index_backward", g, node.saved, x.shape),)


def _values_indices(x: Tensor, dim: Any, keepdim: bool, largest: bool) -> Any:
    """(values, indices) of max(x, dim) or min(x, dim): Note [max with a dim]."""
    name = "max" if largest else "min"
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, builtins.bool):
        raise TypeError(
            f"{name}(): dim must be an int, not {type(dim).__name__} ({dim!r}); "
            f"a{name}(input, dims) reduces over several dims"
        )
    if x.ndim == 0:
        _reduced_axes(dim, 0)
        indices = flat = np.zeros((), np.int64)
    else:
        d = axis_index(int(dim), x.ndim)
        _nonempty_dims(x, (d,), name)
        indices, flat = _capture.live(_extreme_positions, x._array, d, keepdim, largest)
    values = _kernel("index_forward", x._array, flat)
    values = record(values, (x,), _gather_backward, flat)
    return getattr(return_types, name)(values, _constant(indices))


@op(kernels=("max", "index"), method=True, toplevel=True)
def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """As torch.max: `max(x)` is the largest element, a 0-d tensor whose gradient is split
    among ties (amax); `max(x, dim, keepdim=False)` is the named tuple
    `return_types.max(values, indices)` (int64 indices of the first maximum; the gradient
    goes to that element: Note [max with a dim]); `max(x, other)` with a tensor is the
    elementwise `maximum(x, other)`."""
    return _max_or_min(x, dim, keepdim, largest=True)


@op(kernels=("max", "index"), method=True, toplevel=True)
def min(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """As torch.min: `min(x)` (gradient split among ties, as amin), `min(x, dim,
    keepdim=False)` -> `return_types.min(values, indices)` (the gradient goes to the
    element each index names), or `min(x, other)`, the elementwise `minimum`."""
    return _max_or_min(x, dim, keepdim, largest=False)


def _max_or_min(x: Any, dim: Any, keepdim: bool, largest: bool) -> Any:
    """max's and min's three forms (their docstrings)."""
    name = "max" if largest else "min"
    x = as_tensor(x)
    if isinstance(dim, Tensor):
        if keepdim:
            raise TypeError(
                f"{name}(input, other): keepdim is not an argument of the elementwise {name}"
            )
        return (maximum if largest else minimum)(x, dim)
    if dim is None:
        if keepdim:
            raise TypeError(f"{name}(): keepdim needs a dim ({name}(input) reduces every element)")
        _nonempty(x, name)
        return (amax if largest else amin)(x, None)
    return _values_indices(x, dim, keepdim, largest=largest)


def _arg(x: Tensor, dim: Any, keepdim: bool, largest: bool) -> Tensor:
    name = "argmax" if largest else "argmin"
    x = as_tensor(x)
    if x.dtype == np.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        if x._array.size == 0:
            raise IndexError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
            )
        i = (np.argmax if largest else np.argmin)(x._array)
        shape = (1,) * x.ndim if keepdim else ()
        return _constant(np.full(shape, i, np.int64))
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}(): argument 'dim' must be int, not {type(dim).__name__}")
    if x.ndim == 0:
        _reduced_axes(dim, 0)
        return _constant(np.zeros((), np.int64))
    d = axis_index(int(dim), x.ndim)
    _nonempty_dims(x, (d,), name)
    idx = _arg_extreme(x._array, d, largest)
    if not keepdim:
        idx = idx.reshape(idx.shape[:d] + idx.shape[d + 1 :])
    return _constant(np.asarray(idx, dtype=np.int64, order="C"))


@op(kernels=(), method=True, toplevel=True)
def argmax(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """int64 indices of the first maximum along `dim` (of the flattened tensor when dim is
    None); the first NaN counts as the maximum. Not differentiable."""
    return _arg(x, dim, keepdim, largest=True)


@op(kernels=(), method=True, toplevel=True)
def argmin(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """int64 indices of the first minimum along `dim` (of the flattened tensor when dim is
    None); the first NaN counts as the minimum. Not differentiable."""
    return _arg(x, dim, keepdim, largest=False)


def _extremum_backward(node: Any, g: np.ndarray) -> Any:
    a, b = node.inputs
    a_arr, b_arr, largest = node.saved
    wanted = [(t.shape, t.dtype) if t.requires_grad else None for t in (a, b)]
    return _capture.live(_extremum_grads, g, a_arr, b_arr, largest, *wanted)  # NumPy


def _extremum_grads(g: np.ndarray, a_arr: np.ndarray, b_arr: np.ndarray, largest: bool,
                    a: tuple | None, b: tuple | None) -> tuple:  # fmt: skip
    """(grad of a, grad of b) for the wanted ones, each given as (shape, dtype)."""
    # PyTorch's derivative: a tie gives each input half; where they differ, the larger
    # (smaller) one takes it all; a NaN operand makes neither comparison true, so both
    # take it all.
    half = np.where(a_arr == b_arr, g / 2, g)
    a_loses = a_arr < b_arr if largest else a_arr > b_arr
    b_loses = a_arr > b_arr if largest else a_arr < b_arr
    ga = None if a is None else sum_to(np.where(a_loses, 0, half), a[0]).astype(a[1])
    gb = None if b is None else sum_to(np.where(b_loses, 0, half), b[0]).astype(b[1])
    return (ga, gb)


def _extremum(a: Any, b: Any, largest: bool) -> Tensor:
    name = "maximum" if largest else "minimum"
    for arg, value in (("input", a), ("other", b)):
        if not isinstance(value, Tensor):
            of = f" of dtype {value.dtype}" if isinstance(value, np.ndarray) else ""
            raise TypeError(
                f"{name}(): argument '{arg}' must be Tensor, not {type(value).__name__}{of}"
            )
    dt = result_type(a, b)
    a_arr, b_arr = a._array.astype(dt, copy=False), b._array.astype(dt, copy=False)
    try:
        y = _capture.live(_extremum_values, a_arr, b_arr, largest)  # NumPy: replayed whole
    except ValueError:
        raise ValueError(
            f"{name}(): shapes {a.shape} and {b.shape} do not broadcast together"
        ) from None
    return record(y, (a, b), _extremum_backward, (a_arr, b_arr, largest))


def _extremum_values(a: np.ndarray, b: np.ndarray, largest: bool) -> np.ndarray:
    return np.asarray((np.maximum if largest else np.minimum)(a, b), order="C")


@op(kernels=(), method=True, toplevel=True)
def maximum(x: Tensor, other: Tensor) -> Tensor:
    """Elementwise max of two tensors, broadcasting, in their promoted dtype; NaN
    propagates. A tie gives each input half the gradient (as PyTorch)."""
    return _extremum(x, other, largest=True)


@op(kernels=(), method=True, toplevel=True)
def minimum(x: Tensor, other: Tensor) -> Tensor:
    """Elementwise min of two tensors, broadcasting, in their promoted dtype; NaN
    propagates. A tie gives each input half the gradient (as PyTorch)."""
    return _extremum(x, other, largest=False)


# ----- the row kernels' reductions: Note [Rows of the reduced dims] -------------------------


def _along_rows(x: Tensor, axes: tuple[int, ...]) -> Tensor:
    """x with the dims `axes` moved last and merged into one (a 0-d x: one row of one)."""
    if x.ndim == 0:
        return reshape(x, (1,))
    kept = [d for d in range(x.ndim) if d not in axes]
    order = kept + list(axes)
    if order != list(range(x.ndim)):
        x = permute(x, order)
    n = int(np.prod([x.shape[len(kept) + i] for i in range(len(axes))], dtype=np.int64))
    return reshape(x, tuple(x.shape[: len(kept)]) + (n,))


def _unrows(y: Tensor, shape: tuple[int, ...], axes: tuple[int, ...], keepdim: bool) -> Tensor:
    """The kernel's one value per kept position `y` as the reduction of `shape` over `axes`."""
    if keepdim:
        return reshape(y, tuple(1 if d in axes else s for d, s in enumerate(shape)))
    return reshape(y, tuple(s for d, s in enumerate(shape) if d not in axes))


def _floating(x: Tensor, fn: str, dtype: Any = None) -> Tensor:
    """x cast to `dtype` (a floating one) when given; RuntimeError unless x then floats."""
    dt = dtype_arg(dtype, fn)
    if dt is not None:
        if not is_floating(dt):
            raise RuntimeError(f"{fn}(): the dtype must be a floating point dtype, got {dt}")
        x = to(x, dt)
    if not is_floating(x.dtype):
        raise RuntimeError(
            f"{fn}(): input dtype should be floating point, got {_TORCH_NAMES[x.dtype.name]}"
        )
    return x


def _var_backward(node: Any, grads: tuple) -> Any:
    (rows,) = node.inputs
    mean, correction = node.saved
    gv, gm = grads
    return (_kernel("var_backward", gv, gm, rows._array, mean, correction),)


def _correction(fn: str, unbiased: Any, correction: Any) -> float:
    """The correction from var's and std's `unbiased` (legacy) or `correction` arguments."""
    if unbiased is not None and correction is not None:
        raise TypeError(f"{fn}(): pass either unbiased or correction, not both")
    if unbiased is not None:
        if not isinstance(unbiased, (bool, np.bool_)):
            raise TypeError(f"{fn}(): unbiased must be a bool, not {type(unbiased).__name__}")
        return 1.0 if unbiased else 0.0
    if correction is None:
        return 1.0
    if isinstance(correction, builtins.bool) or not isinstance(correction, (int, float)):
        raise TypeError(f"{fn}(): correction must be a number, not {correction!r}")
    return float(correction)


def _var_mean(
    fn: str, x: Any, dim: Any, unbiased: Any, keepdim: bool, correction: Any
) -> tuple[Tensor, Tensor]:
    x = _floating(as_tensor(x), fn)
    if isinstance(dim, (builtins.bool, np.bool_)):  # var(x, unbiased): the legacy form
        dim, unbiased = None, dim
    c = _correction(fn, unbiased, correction)
    axes = _reduced_axes(dim, x.ndim)
    rows = _along_rows(x, axes)
    var, mean = _kernel("var_forward", rows._array, c)
    v, m = record((var, mean), (rows,), _var_backward, (mean, c))
    return _unrows(v, x.shape, axes, keepdim), _unrows(m, x.shape, axes, keepdim)


@op(kernels=("var",), method=True, toplevel=True)
def var(
    x: Tensor,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> Tensor:
    """Variance over `dim` (an int, a tuple, or None for all): sum (x - mean)^2 /
    max(0, N - correction), correction=1 by default (Bessel's); the legacy `unbiased` bool
    means correction 1 or 0 (`var(x, False)` too). N <= correction gives nan or inf, as
    PyTorch."""
    return _var_mean("var", x, dim, unbiased, keepdim, correction)[0]


@op(kernels=("var",), method=True, toplevel=True)
def std(
    x: Tensor,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> Tensor:
    """Standard deviation, sqrt(var(...)) with var's arguments."""
    return _sqrt(_var_mean("std", x, dim, unbiased, keepdim, correction)[0])


@op(kernels=("var",), toplevel=True)
def var_mean(
    x: Tensor,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> tuple[Tensor, Tensor]:
    """(var(x, ...), mean(x, dim, keepdim)) from one pass of the kernel, both
    differentiable."""
    return _var_mean("var_mean", x, dim, unbiased, keepdim, correction)


@op(kernels=("var",), toplevel=True)
def std_mean(
    x: Tensor,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> tuple[Tensor, Tensor]:
    """(std(x, ...), mean(x, dim, keepdim)), both differentiable."""
    v, m = _var_mean("std_mean", x, dim, unbiased, keepdim, correction)
    return _sqrt(v), m


def _sqrt(x: Tensor) -> Tensor:
    from .activation import sqrt  # activation imports this module

    return sqrt(x)


def _int_to_int64(x: Tensor, dtype: Any, fn: str) -> Tensor:
    """x cast to `dtype`, or integer and bool x to int64 (as sum, prod, cumsum, cumprod)."""
    dt = dtype_arg(dtype, fn)
    if dt is not None:
        return to(x, dt)
    if x.dtype.kind in "biu" and x.dtype != np.int64:
        return to(x, np.int64)
    return x


def _prod_backward(node: Any, g: np.ndarray) -> Any:
    (rows,) = node.inputs
    return (_kernel("prod_backward", g, rows._array),)


@op(method=True, toplevel=True)
def prod(x: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Product over `dim` (one int, or None for all elements); integer and bool tensors give
    int64, as PyTorch. The gradient is the product of the other elements (right where x has
    zeros)."""
    x = _int_to_int64(as_tensor(x), dtype, "prod")
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    axes = _reduced_axes(dim, x.ndim)
    rows = _along_rows(x, axes)
    y = record(_kernel("prod_forward", rows._array), (rows,), _prod_backward)
    return _unrows(y, x.shape, axes, keepdim and dim is not None)


def _logsumexp_backward(node: Any, g: np.ndarray) -> Any:
    (rows,) = node.inputs
    return (_kernel("logsumexp_backward", g, rows._array, node.saved),)


@op(method=True, toplevel=True)
def logsumexp(x: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over `dim` (an int or a tuple), computed stably (max-shifted); a row
    of -inf gives -inf. Integer tensors give float32."""
    x = as_tensor(x)
    if not is_floating(x.dtype):
        x = to(x, np.float32)
    axes = _reduced_axes(dim, x.ndim)
    rows = _along_rows(x, axes)
    y = _kernel("logsumexp_forward", rows._array)
    return _unrows(record(y, (rows,), _logsumexp_backward, y), x.shape, axes, keepdim)


def _norm_backward(node: Any, g: np.ndarray) -> Any:
    (rows,) = node.inputs
    y, p = node.saved
    gx = _kernel("norm_backward", g, rows._array, y, p)
    if p < 1 and p != 0 and not np.isinf(p):
        # Below 1 the formula's |x|^(p-1) is infinite at x == 0 (and a zero anywhere makes
        # a negative order's norm 0): PyTorch's subgradient there is 0, as ours where the
        # norm is 0 for p > 1 (the kernels' own case).
        gx = np.where((rows._array == 0) | (y == 0)[..., None], 0, gx).astype(gx.dtype)
    return (gx,)


def _vector_norm(fn: str, x: Any, p: float, dim: Any, keepdim: bool, dtype: Any) -> Tensor:
    x = _floating(as_tensor(x), fn, dtype)
    if isinstance(p, builtins.bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fn}(): the order must be a number, not {p!r}")
    p = float(p)
    axes = _reduced_axes(dim, x.ndim)
    if (p < 0 or p == np.inf) and builtins.any(x.shape[a] == 0 for a in axes):
        raise RuntimeError(
            f"{fn}(): cannot compute the {p} norm on an empty tensor because the operation "
            "does not have an identity"
        )
    rows = _along_rows(x, axes)
    y = _kernel("norm_forward", rows._array, p)
    return _unrows(record(y, (rows,), _norm_backward, (y, p)), x.shape, axes, keepdim)


@op(kernels=("norm",))
def vector_norm(
    x: Tensor, ord: float = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """As torch.linalg.vector_norm: the `ord`-norm of x over `dim` (all elements when None)
    as a vector: max |x| (inf), min |x| (-inf), the count of nonzeros (0), else
    (sum |x|^ord)^(1/ord). Gradient 0 where the norm is 0 (ord > 1)."""
    return _vector_norm("linalg.vector_norm", x, ord, dim, keepdim, dtype)


@op(kernels=("norm",), method=True, toplevel=True)
def norm(
    x: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None
) -> Tensor:
    """As torch.norm: the vector p-norm over `dim` (all elements when None); p='fro' is the
    2-norm of the elements (also over two dims); p='nuc' is the nuclear norm (the sum of
    the singular values) of a 2-D x, or over the two dims `dim`."""
    if p is None or p == "fro":
        p = 2.0
    elif p == "nuc":
        from .. import linalg  # the matrix norms (pydl.linalg imports this module)

        x = as_tensor(x)
        if dim is None and x.ndim != 2:
            raise RuntimeError(f"norm(): p='nuc' needs a 2-D input or two dims, got {x.shape}")
        if dtype is not None:
            x = to(x, dtype)
        return linalg.matrix_norm(x, "nuc", (-2, -1) if dim is None else dim, keepdim)
    elif isinstance(p, str):
        raise ValueError(f"norm(): p={p!r} is not supported (use a number, 'fro' or 'nuc')")
    return _vector_norm("norm", x, p, dim, keepdim, dtype)


def _any_of(x: Tensor, dim: Any, keepdim: bool) -> np.ndarray:
    """Whether any element over `dim` is nonzero (the sum kernel of bools: Note [Dtypes in
    the core]), as a bool array."""
    axes = _reduced_axes(dim, x.ndim)
    nonzero = x._array if x.dtype == np.bool_ else np.asarray(x._array != 0)
    return np.asarray(_kernel("sum_forward", nonzero, axes, keepdim), dtype=np.bool_)


def _bool_result(x: Tensor, y: np.ndarray) -> Tensor:
    # PyTorch keeps uint8 for uint8 input (a legacy), bool for every other dtype.
    return _constant(y.astype(np.uint8) if x.dtype == np.uint8 else y)


@op(kernels=(), method=True, toplevel=True)
def any(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Whether any element over `dim` (an int, a tuple, or None for all) is nonzero: bool
    (uint8 for uint8 input, as PyTorch); False over nothing. Not differentiable."""
    x = as_tensor(x)
    return _bool_result(x, _any_of(x, dim, keepdim))


@op(kernels=(), method=True, toplevel=True)
def all(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Whether every element over `dim` (an int, a tuple, or None for all) is nonzero: bool
    (uint8 for uint8 input); True over nothing. Not differentiable."""
    x = as_tensor(x)
    zero = _constant(np.asarray(x._array == 0, order="C"))
    return _bool_result(x, ~_any_of(zero, dim, keepdim))


@op(kernels=(), method=True, toplevel=True)
def count_nonzero(x: Tensor, dim: Any = None) -> Tensor:
    """The number of nonzero elements over `dim` (an int, a tuple, or None for all), int64."""
    x = as_tensor(x)
    axes = _reduced_axes(dim, x.ndim)
    nonzero = np.asarray(x._array != 0, dtype=np.int64)
    return _constant(np.asarray(_kernel("sum_forward", nonzero, axes, False)))


@op(kernels=(), method=True, toplevel=True)
def nansum(x: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """sum over `dim` treating NaN as zero (its gradient there is 0)."""
    x = as_tensor(x)
    if is_floating(x.dtype):
        x = _where_nan(x, 0.0)
    return sum(x, dim, keepdim, dtype=dtype)


def _where_nan(x: Tensor, value: float) -> Tensor:
    from .elementwise import where  # elementwise imports this module

    return where(np.isnan(x._array), _constant(np.asarray(value, x.dtype)), x)


@op(kernels=(), method=True, toplevel=True)
def nanmean(x: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """mean over `dim` of the elements that are not NaN (NaN where all are)."""
    x = _floating(as_tensor(x), "nanmean", dtype)
    count = np.sum(~np.isnan(x._array), axis=_reduced_axes(dim, x.ndim), keepdims=keepdim)
    total = nansum(x, dim, keepdim)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / _constant(np.asarray(count, x.dtype))


@op(kernels=(), method=True, toplevel=True)
def aminmax(x: Tensor, *, dim: int | None = None, keepdim: bool = False) -> Any:
    """`return_types.aminmax(min, max)`: amin and amax over `dim` (one int, or None for
    all elements)."""
    x = as_tensor(x)
    if x._array.size == 0 and dim is None:
        raise RuntimeError(
            "aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
            "identity"
        )
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TypeError(f"aminmax(): argument 'dim' must be int, not {type(dim).__name__}")
    d = () if dim is None else dim
    return return_types.aminmax(amin(x, d, keepdim), amax(x, d, keepdim))
