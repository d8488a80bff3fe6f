"""Tensor's methods and operators, attached from the op registry (they call ops, and the
ops' module imports tensor.py, so Tensor cannot define them itself)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import _ops
from ._ops import elementwise as E
from ._ops import inplace
from ._device import device
from .tensor import Tensor

_CPU = device("cpu")


def _int_divisor_checked(fn: Callable) -> Callable:
    """`%` on integers: PyTorch's RuntimeError for a zero divisor, checked first."""

    def method(a: Any, b: Any) -> Tensor:
        a_arr, b_arr = (x._array if isinstance(x, Tensor) else np.asarray(x) for x in (a, b))
        if a_arr.dtype.kind in "iub" and b_arr.dtype.kind in "iub":
            if a_arr.size and np.any(b_arr == 0):
                raise RuntimeError("ZeroDivisionError (integer division by zero)")
        return fn(a, b)

    return method


def _reverse(fn: Callable) -> Callable:
    return lambda self, other: fn(other, self)


def _new(make: Callable, like: Tensor, size: tuple, dtype: Any) -> Tensor:
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    return Tensor(make(shape, dtype=np.dtype(dtype or like.dtype)))


def install() -> None:
    T = Tensor
    for decl in _ops.OPS.values():
        for name in decl.method_names:
            setattr(T, name, decl.fn)
    P = _ops.pointwise
    for dunder, fn in (("add", E.add), ("sub", E.sub), ("mul", E.mul), ("truediv", E.true_div),
                       ("floordiv", P.floor_divide), ("pow", E.pow),
                       ("mod", _int_divisor_checked(E.remainder)),
                       ("matmul", _ops.linear.matmul), ("and", P.bitwise_and),
                       ("or", P.bitwise_or), ("xor", P.bitwise_xor),
                       ("lshift", P.bitwise_left_shift),
                       ("rshift", P.bitwise_right_shift)):  # fmt: skip
        setattr(T, f"__{dunder}__", fn)
        setattr(T, f"__r{dunder}__", _reverse(fn))
    for decl in _ops.OPS.values():
        if decl.elementwise:
            for name in decl.method_names:
                setattr(T, name + "_", inplace.elementwise_(decl.fn))
    for name, fn in inplace.METHODS.items():
        setattr(T, name, fn)
    for dunder, method in (("add", inplace.add_), ("sub", inplace.sub_),
                           ("mul", inplace.mul_), ("truediv", inplace.div_),
                           ("pow", inplace.pow_)):  # fmt: skip
        setattr(T, f"__i{dunder}__", method)  # x += y is x.add_(y), which returns x
    T.__setitem__ = inplace.setitem
    T.__neg__ = _ops.activation.neg
    T.__abs__ = _ops.activation.abs
    T.__getitem__ = _ops.layout.getitem
    C = _ops.compare
    T.__lt__, T.__le__, T.__gt__, T.__ge__ = C.lt, C.le, C.gt, C.ge
    T.__eq__, T.__ne__ = C.eq, C.ne
    T.__invert__ = P.bitwise_not  # logical not on bool masks, as PyTorch's ~
    T.__hash__ = object.__hash__
    T.T = property(lambda self: _ops.layout.permute(self, tuple(reversed(range(self.ndim)))))
    T.mT = property(lambda self: _ops.layout.transpose(self, -2, -1))
    # The dtype conversions PyTorch spells as methods, all through the `to` op.
    T.float = lambda self: _ops.layout.to(self, np.float32)
    T.double = lambda self: _ops.layout.to(self, np.float64)
    T.long = lambda self: _ops.layout.to(self, np.int64)
    T.int = lambda self: _ops.layout.to(self, np.int32)
    T.bool = lambda self: _ops.layout.to(self, np.bool_)
    T.cpu = lambda self: self
    T.view_as = lambda self, other: _ops.layout.reshape(self, other.shape)
    T.reshape_as = T.view_as
    T.type_as = lambda self, other: _ops.layout.to(self, other.dtype)
    # new_* make a tensor of this one's dtype, as PyTorch's.
    T.new_zeros = lambda self, *size, dtype=None: _new(np.zeros, self, size, dtype)
    T.new_ones = lambda self, *size, dtype=None: _new(np.ones, self, size, dtype)
    T.new_empty = lambda self, *size, dtype=None: _new(np.empty, self, size, dtype)
    T.new_full = lambda self, size, fill_value, dtype=None: _new(
        lambda shape, dtype: np.full(shape, fill_value, dtype), self, (size,), dtype
    )
    T.new_tensor = lambda self, data, dtype=None: Tensor(data, dtype=dtype or self.dtype)
    T.device = property(lambda self: _CPU)
    T.is_cuda = property(lambda self: False)
