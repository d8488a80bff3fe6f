"""Operators and methods of Tensor, attached here because they call pydl.functional
(which imports tensor.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import functional as F
from .nn import functional as NF
from .tensor import Tensor, as_tensor


def _compare(op: Any) -> Any:
    def method(self: Tensor, other: Any) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return as_tensor(op(self.data, other))

    return method


def _reverse(fn: Any) -> Any:
    return lambda self, other: fn(as_tensor(other, like=self), self)


def _install() -> None:
    T = Tensor
    T.__add__ = F.add
    T.__radd__ = _reverse(F.add)
    T.__sub__ = F.sub
    T.__rsub__ = _reverse(F.sub)
    T.__mul__ = F.mul
    T.__rmul__ = _reverse(F.mul)
    T.__truediv__ = F.div
    T.__rtruediv__ = _reverse(F.div)
    T.__pow__ = F.pow
    T.__rpow__ = _reverse(F.pow)
    T.__matmul__ = F.matmul
    T.__rmatmul__ = _reverse(F.matmul)
    T.__neg__ = F.neg
    T.__abs__ = F.abs
    T.__getitem__ = F.getitem
    T.__lt__ = _compare(np.less)
    T.__le__ = _compare(np.less_equal)
    T.__gt__ = _compare(np.greater)
    T.__ge__ = _compare(np.greater_equal)
    T.__eq__ = _compare(np.equal)
    T.__ne__ = _compare(np.not_equal)
    T.__hash__ = object.__hash__
    T.add, T.sub, T.mul, T.div, T.pow, T.matmul = F.add, F.sub, F.mul, F.div, F.pow, F.matmul
    T.neg, T.exp, T.log, T.sqrt, T.abs, T.clamp = F.neg, F.exp, F.log, F.sqrt, F.abs, F.clamp
    T.sum, T.mean, T.max, T.amax = F.sum, F.mean, F.max, F.amax
    T.reshape, T.view, T.flatten = F.reshape, F.view, F.flatten
    T.squeeze, T.unsqueeze = F.squeeze, F.unsqueeze
    T.permute, T.transpose = F.permute, F.transpose
    T.T = property(lambda self: F.permute(self, tuple(reversed(range(self.ndim)))))
    T.relu, T.tanh, T.sigmoid = NF.relu, NF.tanh, NF.sigmoid
    T.softmax, T.log_softmax = NF.softmax, NF.log_softmax
    T.argmax = lambda self, dim=None, keepdim=False: as_tensor(
        np.argmax(self.data, axis=dim, keepdims=keepdim)
    )
    T.argmin = lambda self, dim=None, keepdim=False: as_tensor(
        np.argmin(self.data, axis=dim, keepdims=keepdim)
    )
