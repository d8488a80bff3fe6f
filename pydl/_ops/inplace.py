"""In-place ops (`x.add_(y)`, `x += y`, `x[mask] = v`, `x.zero_()`, `x.relu_()`, ...).

Note [In-place ops]: an in-place op computes the out-of-place op's result and writes it
into x's memory, so every view of that memory sees it (Note [Views]), and counts the write
on x's version counter (Note [Version counter]). Under autograd (grad mode on and x or an
operand requiring grad) it also rebases x: the op is recorded on a stand-in for x's old
value, and x takes the new node as its history; nodes recorded earlier keep x's old
history through their edges. As in PyTorch:
- a leaf that requires grad cannot be written in place outside `no_grad` (RuntimeError);
- the result must be castable to x's dtype without changing category (an int tensor
  cannot take `add_(0.5)`) and must have x's shape (it may broadcast the operand only);
- writing through a view of memory that other elements share (expand) raises.
Under autograd, a write through a view is replayed on its base (PyTorch's CopySlices): the
base becomes a copy of itself with the view's elements replaced by the op's result, and the
view becomes the view op of that; outside autograd it is a plain write.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import _capture, _dtypes, _random
from ..tensor import Tensor, _constant, as_tensor, bump_version, grad_needed, is_grad_enabled
from ..tensor import no_grad, record
from . import activation, elementwise, indexing, layout


def _check_target(x: Tensor, name: str) -> None:
    if x.requires_grad and x._ctx is None and is_grad_enabled():
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad is being used in an in-place "
            f"operation; write to it inside `with pydl.no_grad():` or through `.data`"
        )


def _write(x: Tensor, values: np.ndarray, name: str) -> None:
    """Store values (x's shape, any dtype of x's category or below) into x's memory."""
    if values.shape != x.shape:
        raise RuntimeError(
            f"{name}: output with shape {x.shape} doesn't match the broadcast shape {values.shape}"
        )
    if _dtypes.category(values.dtype) > _dtypes.category(x.dtype):
        raise RuntimeError(
            f"{name}: result type {values.dtype} can't be cast to the desired output type {x.dtype}"
        )
    if values is not x._array:
        try:
            _capture.live(_copy_into, x._array, values)
        except ValueError as e:  # a read-only array: expand's view or a user's
            raise RuntimeError(
                f"{name}: cannot write into this tensor: {e} (an expanded tensor shares one "
                f"memory location between several elements; clone() it first)"
            ) from None
    bump_version(x)


def _copy_into(target: np.ndarray, values: np.ndarray) -> None:
    np.copyto(target, values, casting="unsafe")


def apply_(x: Tensor, name: str, fn: Callable, *args: Any, reads_self: bool = True) -> Tensor:
    """x <- fn(x, *args) in place (Note [In-place ops]). reads_self: whether fn's backward
    reads x's value (then the stand-in holds a copy of it, since the write destroys it)."""
    _check_target(x, name)
    if grad_needed(x, *[a for a in args if isinstance(a, Tensor)]):
        if x._base is not None:
            return _apply_to_view(x, name, fn, args)
        old = _stand_in(x, np.array(x._array, copy=True) if reads_self else x._array)
        out = fn(old, *args)
        _write(x, out._array, name)
        x._ctx, x._slot, x.requires_grad = out._ctx, out._slot, out.requires_grad
        return x
    with no_grad():
        out = fn(_constant(x._array), *args)
    _write(x, out._array, name)
    return x


def _stand_in(x: Tensor, array: np.ndarray) -> Tensor:
    """A tensor over `array` carrying x's autograd history (x's value before a write)."""
    old = _constant(array)
    old._ctx, old._slot, old.requires_grad = x._ctx, x._slot, x.requires_grad
    return old


def _write_through_backward(node: Any, g: np.ndarray) -> Any:
    view_fn = node.saved
    g_base = np.array(g, copy=True)
    view_fn(_constant(g_base))._array[...] = 0  # the overwritten places get no gradient
    return (g_base, np.array(view_fn(_constant(g))._array, order="C"))


def _write_through(base: Tensor, values: Tensor, view_fn: Callable) -> Tensor:
    """A copy of base with view_fn(base) replaced by values (PyTorch's CopySlices)."""
    out = np.array(base._array, order="C", copy=True)
    view_fn(_constant(out))._array[...] = values._array
    return record(out, (base, values), _write_through_backward, view_fn, reads=False)


def _apply_to_view(x: Tensor, name: str, fn: Callable, args: tuple) -> Tensor:
    """An in-place op on a view under autograd, replayed on its base: the base becomes
    write_through(base, fn(view_fn(base))), and x becomes view_fn of the new base."""
    base = x._base
    if x._view_fn is None:  # a detach()ed view: no differentiable way back to the base
        raise RuntimeError(f"{name}: this view was detached from its base; clone() it first")
    _check_target(base, name)
    old_base = _stand_in(base, base._array)  # write_through reads no values of it
    old_view = layout.clone(x._view_fn(old_base))  # fn may read them: its own copy
    out = _write_through(old_base, fn(old_view, *args), x._view_fn)
    _write(base, out._array, name)
    base._ctx, base._slot, base.requires_grad = out._ctx, out._slot, out.requires_grad
    view = x._view_fn(base)
    x._ctx, x._slot, x.requires_grad = view._ctx, view._slot, view.requires_grad
    return x


def _scaled(other: Any, alpha: Any) -> Any:
    return other if alpha == 1 else elementwise.mul(as_tensor(other), alpha)


def add_(x: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """x += alpha * other."""
    return apply_(x, "add_", elementwise.add, _scaled(other, alpha), reads_self=False)


def sub_(x: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """x -= alpha * other."""
    return apply_(x, "sub_", elementwise.sub, _scaled(other, alpha), reads_self=False)


def mul_(x: Tensor, other: Any) -> Tensor:
    return apply_(x, "mul_", elementwise.mul, other)


def div_(x: Tensor, other: Any) -> Tensor:
    return apply_(x, "div_", elementwise.div, other)


def pow_(x: Tensor, exponent: Any) -> Tensor:
    return apply_(x, "pow_", elementwise.pow, exponent)


def clamp_(x: Tensor, min: Any = None, max: Any = None) -> Tensor:
    return apply_(x, "clamp_", activation.clamp, min, max)  # tensor bounds may need grads


def masked_fill_(x: Tensor, mask: Any, value: Any) -> Tensor:
    """x[mask] = value, mask broadcast to x's shape."""
    mask = as_tensor(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_fill_: mask must be a bool tensor, got {mask.dtype}")

    def fill(t: Tensor) -> Tensor:
        v = value if isinstance(value, Tensor) else as_tensor(value, like=t)
        return elementwise.where(mask, layout.to(v, t.dtype), t)

    return apply_(x, "masked_fill_", fill, reads_self=False)


def _zero_grad_backward(node: Any, g: np.ndarray) -> Any:
    return (np.zeros_like(g),)


def _overwrite(x: Tensor, name: str, values: Callable[[], np.ndarray]) -> Tensor:
    """x's every element replaced by values() (same shape): x's old value gets a zero
    gradient, as PyTorch's fill_, zero_ and random fills give it."""
    return apply_(
        x,
        name,
        lambda t: record(values(), (t,), _zero_grad_backward, reads=False),
        reads_self=False,
    )


def fill_(x: Tensor, value: Any) -> Tensor:
    """Every element set to value (a number or a one-element tensor)."""
    if isinstance(value, Tensor):
        value = value.item()
    return _overwrite(x, "fill_", lambda: _capture.snapshot(np.full(x.shape, value, x.dtype)))


def zero_(x: Tensor) -> Tensor:
    return fill_(x, 0)


def uniform_(x: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Draws from U[a, b) of pydl's seeded generator."""

    def draw() -> np.ndarray:
        out = np.empty(x.shape, np.float32)
        _random.uniform_(out, a, b)
        return out

    return _overwrite(x, "uniform_", draw)


def normal_(x: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Draws from N(mean, std^2) of pydl's seeded generator."""

    def draw() -> np.ndarray:
        out = np.empty(x.shape, np.float32)
        _random.normal_(out, mean, std)
        return out

    return _overwrite(x, "normal_", draw)


def bernoulli_(x: Tensor, p: Any = 0.5) -> Tensor:
    """Each element set to 1 with probability p (a number, or a tensor broadcast to x's
    shape), else 0, from pydl's seeded generator."""
    from .._factories import bernoulli

    prob = p._array if isinstance(p, Tensor) else p
    return _overwrite(x, "bernoulli_", lambda: bernoulli(_constant(np.broadcast_to(
        np.asarray(prob, np.float64), x.shape)))._array.astype(x.dtype))  # fmt: skip


def copy_(x: Tensor, src: Any) -> Tensor:
    """x's elements set to src's (broadcast to x's shape, cast to x's dtype); the gradient
    goes to src, as PyTorch's."""
    src = as_tensor(src)
    return apply_(
        x, "copy_", lambda t: layout.expand(layout.to(src, t.dtype), t.shape), reads_self=False
    )


def setitem(x: Tensor, key: Any, value: Any) -> None:
    """x[key] = value: `x[mask] = v`, `pe[:, 0::2] = sin(...)`, `x[i] = row`."""
    _check_target(x, "__setitem__")
    value = value if isinstance(value, Tensor) else as_tensor(value, like=x)
    if grad_needed(x, value):
        apply_(x, "__setitem__", lambda t: layout.index_put(t, key, layout.to(value, t.dtype)),
               reads_self=False)  # fmt: skip
        return
    key = layout._unwrap_key(key)
    parts = layout.split_ints(key)
    target = x._array if parts is None else x._array[parts[0]]  # a view: writes reach x
    try:
        target[key if parts is None else parts[1]] = value._array
    except ValueError as e:
        raise (RuntimeError if "read-only" in str(e) else ValueError)(
            f"cannot assign a tensor of shape {value.shape} to x[{key!r}] of a tensor of "
            f"shape {x.shape}: {e}"
        ) from None
    bump_version(x)


# The in-place forms of the indexing ops (Note [In-place ops]): x <- op(x, ...). Only the
# reductions that read x's values (prod, amax, amin, and scatter's multiply) need its old
# value kept for the backward.
def index_put_(x: Tensor, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
    """x[indices] = values (or += with accumulate), in place."""
    return apply_(x, "index_put_", lambda t: indexing.index_put(t, indices, values, accumulate),
                  reads_self=False)  # fmt: skip


def index_add_(x: Tensor, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
    return apply_(x, "index_add_", lambda t: indexing.index_add(t, dim, index, source, alpha=alpha),
                  reads_self=False)  # fmt: skip


def index_copy_(x: Tensor, dim: int, index: Any, source: Any) -> Tensor:
    return apply_(x, "index_copy_", lambda t: indexing.index_copy(t, dim, index, source),
                  reads_self=False)  # fmt: skip


def index_fill_(x: Tensor, dim: int, index: Any, value: Any) -> Tensor:
    return apply_(x, "index_fill_", lambda t: indexing.index_fill(t, dim, index, value),
                  reads_self=False)  # fmt: skip


def scatter_(
    x: Tensor, dim: int, index: Any, src: Any = None, value: Any = None, *, reduce: Any = None
) -> Tensor:
    return apply_(
        x, "scatter_", lambda t: indexing.scatter(t, dim, index, src, value, reduce=reduce),
        reads_self=reduce is not None,
    )  # fmt: skip


def scatter_add_(x: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    return apply_(x, "scatter_add_", lambda t: indexing.scatter_add(t, dim, index, src),
                  reads_self=False)  # fmt: skip


def scatter_reduce_(
    x: Tensor, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True
) -> Tensor:
    return apply_(
        x, "scatter_reduce_",
        lambda t: indexing.scatter_reduce(t, dim, index, src, reduce, include_self=include_self),
    )  # fmt: skip


def masked_scatter_(x: Tensor, mask: Any, source: Any) -> Tensor:
    return apply_(x, "masked_scatter_", lambda t: indexing.masked_scatter(t, mask, source),
                  reads_self=False)  # fmt: skip


def elementwise_(fn: Callable) -> Callable:
    """The in-place form `x.<name>_(*args)` of an elementwise op `fn(x, *args)`."""

    def method(x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        # the arguments go through apply_, which records them when a tensor one needs grad
        n, keys = len(args), tuple(kwargs)

        def call(t: Tensor, *a: Any) -> Tensor:
            return fn(t, *a[:n], **dict(zip(keys, a[n:])))

        return apply_(x, fn.__name__ + "_", call, *args, *kwargs.values())

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place {fn.__name__} (Note [In-place ops])."
    return method


#: The in-place methods defined above, installed on Tensor by name.
METHODS = {
    f.__name__: f
    for f in (
        add_,
        sub_,
        mul_,
        div_,
        pow_,
        clamp_,
        masked_fill_,
        fill_,
        zero_,
        uniform_,
        normal_,
        copy_,
        bernoulli_,
        index_put_,
        index_add_,
        index_copy_,
        index_fill_,
        scatter_,
        scatter_add_,
        scatter_reduce_,
        masked_scatter_,
    )  # fmt: skip
}
