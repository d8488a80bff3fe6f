"""Binary arithmetic with broadcasting and where(); backward sums each gradient back
to its operand's shape (sum_to)."""

import numpy as np

from ._util import sum_to


def _fmt(shape):
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _check(*arrays):
    try:
        np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise ValueError(
            "shapes "
            + " and ".join(_fmt(a.shape) for a in arrays)
            + " cannot be broadcast together"
        ) from None


def _out(a, b, value):
    return np.asarray(value, dtype=np.result_type(a, b), order="C")


def add_forward(a, b):
    """a + b"""
    _check(a, b)
    return _out(a, b, a + b)


def add_backward(grad, a, b, need_a=True, need_b=True):
    """d/da = 1, d/db = 1"""
    return (sum_to(grad, a.shape) if need_a else None, sum_to(grad, b.shape) if need_b else None)


def sub_forward(a, b):
    """a - b"""
    _check(a, b)
    return _out(a, b, a - b)


def sub_backward(grad, a, b, need_a=True, need_b=True):
    """d/da = 1, d/db = -1"""
    return (sum_to(grad, a.shape) if need_a else None, sum_to(-grad, b.shape) if need_b else None)


def mul_forward(a, b):
    """a * b"""
    _check(a, b)
    return _out(a, b, a * b)


def mul_backward(grad, a, b, need_a=True, need_b=True):
    """d/da = b, d/db = a"""
    return (
        sum_to(grad * b, a.shape) if need_a else None,
        sum_to(grad * a, b.shape) if need_b else None,
    )


def div_forward(a, b):
    """a / b"""
    _check(a, b)
    return _out(a, b, a / b)


def div_backward(grad, a, b, need_a=True, need_b=True):
    """d/da = 1 / b, d/db = -a / b^2"""
    return (
        sum_to(grad / b, a.shape) if need_a else None,
        sum_to(-grad * a / (b * b), b.shape) if need_b else None,
    )


def pow_forward(a, b):
    """a ** b"""
    _check(a, b)
    return _out(a, b, np.power(a, b))


def pow_backward(grad, a, b, need_a=True, need_b=True):
    """d/da = b a^(b-1) (0 where b = 0), d/db = a^b log a (0 where a = 0)"""
    ga = gb = None
    with np.errstate(divide="ignore", invalid="ignore"):
        if need_a:
            da = np.where(b == 0, 0, b * np.power(a, b - 1))
            ga = sum_to((grad * da).astype(grad.dtype), a.shape)
        if need_b:
            db = np.where(a == 0, 0, np.power(a, b) * np.log(np.where(a == 0, 1, a)))
            gb = sum_to((grad * db).astype(grad.dtype), b.shape)
    return ga, gb


def remainder_forward(a, b):
    """a - floor(a / b) * b: the sign of the divisor, as Python's % and PyTorch's"""
    _check(a, b)
    if a.dtype.kind in "iu" and np.any(b == 0) and a.size and b.size:
        raise ValueError("remainder: integer division by zero (ZeroDivisionError)")
    with np.errstate(divide="ignore", invalid="ignore"):
        return _out(a, b, np.remainder(a, b))


def remainder_backward(grad, a, b, need_a=True, need_b=True):
    """d/da = 1, d/db = -floor(a / b)"""
    return (
        sum_to(grad, a.shape) if need_a else None,
        sum_to(-grad * np.floor(a / b), b.shape) if need_b else None,
    )


def where_forward(cond, a, b):
    """a where cond else b"""
    _check(cond, a, b)
    return _out(a, b, np.where(cond, a, b))


def where_backward(grad, cond, a, b, need_a=True, need_b=True):
    """grad flows to a where cond, to b elsewhere"""
    zero = np.zeros((), grad.dtype)
    return (
        sum_to(np.where(cond, grad, zero), a.shape) if need_a else None,
        sum_to(np.where(cond, zero, grad), b.shape) if need_b else None,
    )
