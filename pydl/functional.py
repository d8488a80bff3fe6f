"""Differentiable ops. Each calls the active backend's `<op>_forward` kernel and
records a backward that calls `<op>_backward` (see pydl.backend).

reshape, view, flatten, squeeze and unsqueeze only relabel a contiguous array's
shape, so they are metadata operations without kernels.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import backend as _b
from .tensor import Tensor, as_tensor, tensors_of, wrap

# ----- shapes and axes ------------------------------------------------------------


def _axis(axis: int, ndim: int, what: str = "dim") -> int:
    if not -ndim <= axis < builtins.max(ndim, 1):
        raise IndexError(f"{what} {axis} is out of range for a tensor of rank {ndim}")
    return axis % builtins.max(ndim, 1)


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    axes = tuple(sorted({_axis(int(a), ndim) for a in axis}))
    return axes


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    if isinstance(a, Tensor):
        return a, as_tensor(b, like=a)
    b = as_tensor(b)
    return as_tensor(a, like=b), b


# ----- elementwise arithmetic -----------------------------------------------------


def _binary(name: str, passes_grad: bool = False) -> Any:
    """passes_grad: d(out)/d(a) = d(out)/d(b) = 1 (add), so without broadcasting to undo
    both gradients are g itself, handed to both inputs without a kernel call or copies
    (the engine copies where two leaves would share it: Note [Gradient ownership])."""
    fwd_name, bwd_name = name + "_forward", name + "_backward"

    def backward(node: Any, g: np.ndarray) -> Any:
        a, b = node.inputs
        if passes_grad and a.data.shape == b.data.shape == g.shape:
            return (g if a.requires_grad else None, g if b.requires_grad else None)
        return getattr(_b.active, bwd_name)(g, a.data, b.data, a.requires_grad, b.requires_grad)

    def op(a: Any, b: Any) -> Tensor:
        # Hot path (every arithmetic op of every step): Tensor operands skip conversion.
        if type(a) is not Tensor or type(b) is not Tensor:
            a, b = _pair(a, b)
        return wrap(getattr(_b.active, fwd_name)(a.data, b.data), (a, b), backward)

    op.__name__ = name
    op.__doc__ = f"Elementwise {name} with NumPy broadcasting."
    return op


add = _binary("add", passes_grad=True)
sub = _binary("sub")
mul = _binary("mul")
div = _binary("div")
pow = _binary("pow")


def _unary(name: str, doc: str) -> Any:
    fwd_name, bwd_name = name + "_forward", name + "_backward"

    def backward(node: Any, g: np.ndarray) -> Any:
        (x,) = node.inputs
        y, params = node.saved
        return (getattr(_b.active, bwd_name)(g, x.data, y, *params),)

    def op(x: Tensor, *params: float) -> Tensor:
        x = as_tensor(x)
        y = getattr(_b.active, fwd_name)(x.data, *params)
        return wrap(y, (x,), backward, (y, params))

    op.__name__ = name
    op.__doc__ = doc
    return op


neg = _unary("neg", "-x")
exp = _unary("exp", "e^x")
log = _unary("log", "natural logarithm")
sqrt = _unary("sqrt", "square root")
abs = _unary("abs", "|x| (gradient sign(x), 0 at 0)")
_clamp = _unary("clamp", "clamp")


def clamp(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """min(max(x, min), max); the gradient passes where min <= x <= max."""
    if min is None and max is None:
        raise ValueError("clamp needs at least one of min and max")
    lo = -math.inf if min is None else float(min)
    hi = math.inf if max is None else float(max)
    return _clamp(x, lo, hi)


clip = clamp


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise `a if condition else b`, broadcasting all three."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    cond = np.asarray(cond, order="C")
    a, b = _pair(a, b)

    def backward(node: Any, g: np.ndarray) -> Any:
        a, b = node.inputs
        return _b.active.where_backward(
            g, node.saved, a.data, b.data, a.requires_grad, b.requires_grad
        )

    return wrap(_b.active.where_forward(cond, a.data, b.data), (a, b), backward, cond)


# ----- reductions -----------------------------------------------------------------


def _reduce(name: str, x: Tensor, axis: Any, keepdim: bool) -> Tensor:
    x = as_tensor(x)
    axes = _axes(axis, x.ndim)
    y = getattr(_b.active, name + "_forward")(x.data, axes, keepdim)
    return wrap(y, (x,), _REDUCE_BACKWARD[name], (axes, y))


def _sum_backward(node: Any, g: np.ndarray) -> Any:
    (x,) = node.inputs
    return (_b.active.sum_backward(g, x.shape, node.saved[0]),)


def _mean_backward(node: Any, g: np.ndarray) -> Any:
    (x,) = node.inputs
    return (_b.active.mean_backward(g, x.shape, node.saved[0]),)


def _max_backward(node: Any, g: np.ndarray) -> Any:
    (x,) = node.inputs
    axes, y = node.saved
    return (_b.active.max_backward(g, x.data, y, axes),)


_REDUCE_BACKWARD = {"sum": _sum_backward, "mean": _mean_backward, "max": _max_backward}


def sum(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Sum over `dim` (an int, a tuple, or None for all)."""
    return _reduce("sum", x, dim, keepdim)


def mean(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Mean over `dim` (an int, a tuple, or None for all)."""
    return _reduce("mean", x, dim, keepdim)


def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Maximum over `dim`. The gradient is split evenly among tied maxima (torch.amax)."""
    return _reduce("max", x, dim, keepdim)


amax = max


# ----- shape and layout -----------------------------------------------------------


def _reshape_backward(node: Any, g: np.ndarray) -> Any:
    return (g.reshape(node.inputs[0].shape),)


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """The same data under a new shape (one entry may be -1)."""
    x = as_tensor(x)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        y = x.data.reshape(shape)
    except ValueError:
        raise ValueError(
            f"cannot reshape a tensor of shape {x.shape} "
            f"({x.data.size} elements) into shape {tuple(shape)}"
        ) from None
    return wrap(y, (x,), _reshape_backward)


view = reshape


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one."""
    x = as_tensor(x)
    if x.ndim == 0:
        return reshape(x, (1,))
    s, e = _axis(start_dim, x.ndim), _axis(end_dim, x.ndim)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:s] + (int(np.prod(x.shape[s : e + 1])),) + x.shape[e + 1 :]
    return reshape(x, shape)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    x = as_tensor(x)
    d = _axis(dim, x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    x = as_tensor(x)
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    d = _axis(dim, x.ndim)
    return reshape(x, x.shape[:d] + x.shape[d + 1 :]) if x.shape[d] == 1 else x


def permute(x: Tensor, *dims: Any) -> Tensor:
    """Reorder the axes (a copy into C order)."""
    x = as_tensor(x)
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if len(dims) != x.ndim:
        raise ValueError(f"permute: {len(dims)} dims given for a tensor of shape {x.shape}")
    dims = tuple(_axis(d, x.ndim) for d in dims)
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the axes of shape {x.shape}")

    def backward(node: Any, g: np.ndarray) -> Any:
        return (_b.active.permute_backward(g, node.saved),)

    return wrap(_b.active.permute_forward(x.data, dims), (x,), backward, dims)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    x = as_tensor(x)
    dims = list(range(x.ndim))
    a, b = _axis(dim0, x.ndim), _axis(dim1, x.ndim)
    dims[a], dims[b] = dims[b], dims[a]
    return permute(x, dims)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dim."""
    ts = tensors_of(tensors)
    if not ts:
        raise ValueError("cat needs at least one tensor")
    axis = _axis(dim, ts[0].ndim)
    for t in ts:
        if t.ndim != ts[0].ndim:
            raise ValueError(
                f"cat: tensors have ranks {ts[0].ndim} and {t.ndim} "
                f"(shapes {ts[0].shape} and {t.shape})"
            )
    sizes = [t.shape[axis] for t in ts]

    def backward(node: Any, g: np.ndarray) -> Any:
        return _b.active.concat_backward(g, node.saved, axis)

    return wrap(_b.active.concat_forward([t.data for t in ts], axis), ts, backward, sizes)


concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new dim."""
    ts = tensors_of(tensors)
    if not ts:
        raise ValueError("stack needs at least one tensor")
    for t in ts:
        if t.shape != ts[0].shape:
            raise ValueError(
                f"stack expects tensors of equal shape; got {ts[0].shape} and {t.shape}"
            )
    d = _axis(dim, ts[0].ndim + 1)
    return cat([unsqueeze(t, d) for t in ts], d)


def _flat_index(shape: tuple[int, ...], key: Any) -> np.ndarray:
    """Flat element numbers selected by a NumPy index expression, in result order."""
    size = int(np.prod(shape))
    if size < 2**31:
        base = np.arange(size, dtype=np.int32).reshape(shape)
    else:
        base = np.arange(size, dtype=np.int64).reshape(shape)
    try:
        return np.asarray(base[key], dtype=np.int64, order="C")
    except IndexError as e:
        raise IndexError(f"{e} (indexing a tensor of shape {shape})") from None


def getitem(x: Tensor, key: Any) -> Tensor:
    """x[key] for any NumPy index (ints, slices, None, Ellipsis, bool masks, integer arrays)."""
    x = as_tensor(x)
    if isinstance(key, Tensor):
        key = key.data
    elif isinstance(key, tuple):
        key = tuple(k.data if isinstance(k, Tensor) else k for k in key)
    if x.data.dtype.kind != "f":  # integer/bool tensors: no gradient, plain NumPy
        return as_tensor(np.asarray(x.data[key], order="C"))
    idx = _flat_index(x.shape, key)

    def backward(node: Any, g: np.ndarray) -> Any:
        return (_b.active.index_backward(g, node.saved, node.inputs[0].shape),)

    return wrap(_b.active.index_forward(x.data, idx), (x,), backward, idx)


# ----- linear algebra -------------------------------------------------------------


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with NumPy's rules: 1-D operands are promoted, batch dims broadcast."""
    a, b = _pair(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul needs operands of rank >= 1; got shapes {a.shape} and {b.shape}")
    if a.ndim == 1:
        return squeeze(matmul(unsqueeze(a, 0), b), -2)
    if b.ndim == 1:
        return squeeze(matmul(a, unsqueeze(b, 1)), -1)
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} are not aligned "
            f"({a.shape[-1]} != {b.shape[-2]})"
        )

    def backward(node: Any, g: np.ndarray) -> Any:
        a, b = node.inputs
        return _b.active.matmul_backward(g, a.data, b.data, a.requires_grad, b.requires_grad)

    return wrap(_b.active.matmul_forward(a.data, b.data), (a, b), backward)


_FUSED_ACTIVATIONS = ("relu", "gelu", "tanh", "sigmoid")


def linear(
    x: Tensor, weight: Tensor, bias: Tensor | None = None, activation: str | None = None
) -> Tensor:
    """act(x @ weight.T + bias) as one kernel call forward and one backward.

    The bias and the optional activation ("relu", "gelu", "tanh", "sigmoid"; a pydl
    extension of torch's signature) are applied by the GEMM's epilogue.
    """
    x = as_tensor(x)
    if weight.ndim != 2 or x.ndim < 1 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} does not match weight of shape "
            f"{weight.shape} (expected input (..., {weight.shape[-1]}))"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(
            f"linear: bias of shape {bias.shape} does not match weight of shape {weight.shape}"
        )
    inputs = (x, weight) if bias is None else (x, weight, bias)
    b = None if bias is None else bias.data
    if activation is None:
        return wrap(_b.active.linear_forward(x.data, weight.data, b), inputs, _linear_backward)
    if activation not in _FUSED_ACTIVATIONS:
        raise ValueError(
            f"linear: activation must be one of {_FUSED_ACTIVATIONS} or None, got {activation!r}"
        )
    y, pre = _b.active.linear_act_forward(x.data, weight.data, b, activation)

    def backward(node: Any, g: np.ndarray) -> Any:
        x, w = node.inputs[0], node.inputs[1]
        return _b.active.linear_act_backward(
            g,
            x.data,
            w.data,
            y,
            pre,
            len(node.inputs) == 3,
            activation,
            x.requires_grad,
            w.requires_grad,
        )

    return wrap(y, inputs, backward)


def _linear_backward(node: Any, g: np.ndarray) -> Any:
    x, w = node.inputs[0], node.inputs[1]
    return _b.active.linear_backward(
        g, x.data, w.data, len(node.inputs) == 3, x.requires_grad, w.requires_grad
    )
