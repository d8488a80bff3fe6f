"""Tensor's methods and operators, attached from the op registry (they call ops, and the
ops' module imports tensor.py, so Tensor cannot define them itself)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import _dtypes, _factories, _ops
from ._dtypes import check_memory_format
from ._ops import elementwise as E
from ._ops import inplace
from ._device import device
from .tensor import Tensor, tensor

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


def _new_factory(make: Callable) -> Callable:
    """Tensor.new_zeros/new_ones/new_empty(*size, dtype=None, device=None,
    requires_grad=False): this tensor's dtype unless dtype is given."""

    def new(
        self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
        requires_grad: bool = False
    ) -> Tensor:  # fmt: skip
        shape = _factories._size(size, new.__name__)
        arr = make(shape, dtype=_factories.dtype_arg(dtype, new.__name__) or self.dtype)
        return _factories._finish(arr, device, requires_grad)

    new.__name__ = "new_" + make.__name__
    return new


def _new_full(
    self: Tensor, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
    requires_grad: bool = False
) -> Tensor:  # fmt: skip
    """Tensor.new_full: size filled with fill_value, in this tensor's dtype by default."""
    dt = _factories.dtype_arg(dtype, "new_full") or self.dtype
    return _factories.full(size, fill_value, dtype=dt, device=device, requires_grad=requires_grad)


def _new_tensor(
    self: Tensor, data: Any, *, dtype: Any = None, device: Any = None,
    requires_grad: bool = False
) -> Tensor:  # fmt: skip
    """Tensor.new_tensor: a copy of data, in this tensor's dtype by default."""
    dt = _factories.dtype_arg(dtype, "new_tensor") or self.dtype
    return tensor(data, dtype=dt, device=device, requires_grad=requires_grad)


def _conversion(name: str, dtype: np.dtype | None) -> Callable:
    """Tensor.float() and its kin: `to(dtype)`, taking PyTorch's memory_format. dtype None
    is bfloat16, looked up on the call (Note [bfloat16]: ml_dtypes is imported on first use)."""

    def convert(self: Tensor, memory_format: Any = None) -> Tensor:
        check_memory_format(memory_format, name)
        return _ops.layout.to(self, _dtypes.bfloat16 if dtype is None else dtype)

    convert.__name__ = name
    return convert


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
    for name, dt in (("float", np.float32), ("double", np.float64), ("long", np.int64),
                     ("int", np.int32), ("short", np.int16), ("bool", np.bool_)):  # fmt: skip
        setattr(T, name, _conversion(name, np.dtype(dt)))
    T.bfloat16 = _conversion("bfloat16", None)
    T.cpu = lambda self: self
    T.view_as = lambda self, other: _ops.layout.reshape(self, other.shape)
    T.reshape_as = T.view_as
    T.type_as = lambda self, other: _ops.layout.to(self, other.dtype)
    # new_* make a tensor of this one's dtype, as PyTorch's.
    T.new_zeros = _new_factory(np.zeros)
    T.new_ones = _new_factory(np.ones)
    T.new_empty = _new_factory(np.empty)
    T.new_full = _new_full
    T.new_tensor = _new_tensor
    T.mH = T.mT  # the conjugate transpose: real tensors have no conjugate
    T.H = T.T
    T.multinomial = _factories.multinomial
    T.bernoulli = _factories.bernoulli
    T.device = property(lambda self: _CPU)
    T.is_cuda = property(lambda self: False)
