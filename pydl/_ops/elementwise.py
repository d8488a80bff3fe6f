"""Elementwise binary arithmetic with broadcasting, and where (cpp/kernels/elementwise,
pydl/reference/elementwise)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import backend as _b
from ..tensor import Tensor, name_argument, record
from ._util import tensor_pair
from .registry import op, renames_frames
from .._dtypes import is_floating


def _binary(
    name: str,
    doc: str,
    reads: Any,
    passes_grad: bool = False,
    floating: bool = False,
    declare: bool = True,
) -> Callable:
    """Declare `name(a, b)` on `<name>_forward(a, b)` / `<name>_backward(g, a, b, need_a,
    need_b)`. passes_grad: d(out)/d(a) = d(out)/d(b) = 1 (add), so without broadcasting to
    undo both gradients are g itself, handed to both inputs without a kernel call or copies
    (the engine copies where two leaves would share it: Note [Gradient ownership]). reads:
    which input values the backward reads, for record() (Note [Version counter]).
    Operands are promoted as PyTorch's (Note [Type promotion]); floating: to a floating
    dtype at least (div). declare: False for a function that a declared op calls (div's
    true division)."""
    fwd_name, bwd_name = name + "_forward", name + "_backward"

    def backward(node: Any, g: np.ndarray) -> Any:
        a, b = node.inputs
        if passes_grad and a._array.shape == b._array.shape == g.shape:
            return (g if a.requires_grad else None, g if b.requires_grad else None)
        return getattr(_b.active, bwd_name)(g, a._array, b._array, a.requires_grad, b.requires_grad)

    backward.__qualname__ = bwd_name

    def fn(a: Any, b: Any) -> Tensor:
        # Hot path (every arithmetic op of every step): Tensor operands of one dtype skip
        # conversion (NumPy's builtin dtypes are singletons; `is` misses only rare equals).
        if (
            type(a) is not Tensor
            or type(b) is not Tensor
            or a._array.dtype is not b._array.dtype
            or (floating and not is_floating(a._array.dtype))
        ):
            try:  # compiled, this module has no frames to name the argument: name_argument does
                a, b = tensor_pair(a, b, floating)
            except (TypeError, ValueError) as e:
                raise name_argument(e, name, a=a, b=b) from None
        try:
            y = getattr(_b.active, fwd_name)(a._array, b._array)
        except ValueError as e:  # shapes that do not broadcast: say which op
            raise ValueError(f"{name}(): {e}") from None
        return record(y, (a, b), backward, None, reads)

    fn.__name__ = fn.__qualname__ = name
    if renames_frames(fn, name):
        fn.__code__ = fn.__code__.replace(co_name=name, co_qualname=name)  # errors name the op
    fn.__doc__ = doc
    fn.__module__ = __name__
    return op(method=True, toplevel=True)(fn) if declare else fn


add = _binary("add", "a + b, broadcasting as NumPy.", False, passes_grad=True)
sub = _binary("sub", "a - b, broadcasting as NumPy.", False)
# d(ab)/da = b and d(ab)/db = a: each input is read only for the other's gradient.
mul = _binary(
    "mul", "a * b, broadcasting as NumPy.", lambda a, b: (b.requires_grad, a.requires_grad)
)
# True division, the `/` operator's (Tensor.__truediv__ calls it without div's dispatch).
true_div = _binary(
    "div",
    "a / b, broadcasting as NumPy.",
    lambda a, b: (b.requires_grad, True),
    floating=True,
    declare=False,
)


@op(
    kernels=("div", "floor_divide", "div_trunc"),
    aliases=("divide", "true_divide"),
    method=True,
    toplevel=True,
)
def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """input / other, broadcasting; integers divide in floating point. rounding_mode 'trunc'
    rounds toward zero and 'floor' down (Python's //), both in the operands' dtype
    (integers stay integers) with zero gradient (pydl/_ops/pointwise.py)."""
    try:
        if rounding_mode is None:
            return true_div(input, other)
        from .pointwise import divide_rounded  # pointwise imports this module

        return divide_rounded(input, other, rounding_mode)
    except (TypeError, ValueError) as e:
        raise name_argument(e, "div", input=input, other=other) from None


pow = _binary("pow", "a ** b, broadcasting as NumPy.", True)
# d/da = 1, d/db = -floor(a / b): the backward reads both when b needs its gradient.
remainder = _binary(
    "remainder",
    "a - floor(a / b) * b (Python's %: the result has the divisor's sign).",
    lambda a, b: (b.requires_grad, b.requires_grad),
)


def _where_backward(node: Any, g: np.ndarray) -> Any:
    a, b = node.inputs
    return _b.active.where_backward(
        g, node.saved, a._array, b._array, a.requires_grad, b.requires_grad
    )


@op(toplevel=True)
def where(condition: Any, a: Any = None, b: Any = None) -> Tensor:
    """Elementwise `a if condition else b`, broadcasting all three (a and b tensors or
    numbers). `where(condition)` alone is `nonzero(condition, as_tuple=True)`."""
    if a is None and b is None:
        from .indexing import nonzero

        return nonzero(condition, as_tuple=True)
    cond = condition._array if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    cond = np.asarray(cond, order="C")
    try:
        a, b = tensor_pair(a, b)
    except (TypeError, ValueError) as e:
        raise name_argument(e, "where", a=a, b=b) from None
    return record(_b.active.where_forward(cond, a._array, b._array), (a, b), _where_backward, cond)
