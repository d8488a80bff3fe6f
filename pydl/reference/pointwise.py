"""Elementwise math beyond the activations: rounding, trig and hyperbolic functions and their
inverses, erf family, exp/log variants, predicates, bitwise ops and the binary forms (fmax,
copysign, logaddexp, lerp, fmod, ...).

NumPy twins of cpp/kernels/pointwise and of the math rows of the unary list
(cpp/kernels/unary_ops.h). Unary ops: <op>_forward(x, *p), <op>_backward(grad, x, y, *p);
binary ops: <op>_forward(a, b), <op>_backward(grad, a, b, need_a, need_b)."""

import functools
import math

import numpy as np

from ._util import sum_to
from .activation import _c
from .elementwise import _check, _out

_ERF = np.vectorize(math.erf, otypes=[np.float64])
_ERFC = np.vectorize(math.erfc, otypes=[np.float64])
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _quiet(fn):
    """fn run with NumPy's floating-point warnings off (poles and domains give inf and NaN,
    as the C++ kernels do)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return run


# ----- unary math ---------------------------------------------------------------------


@_quiet
def tan_forward(x):
    return _c(np.tan(x), x)


@_quiet
def tan_backward(grad, x, y):
    """d tan x = 1 + tan^2 x"""
    return _c(grad * (1 + y * y), x)


@_quiet
def asin_forward(x):
    return _c(np.arcsin(x), x)


@_quiet
def asin_backward(grad, x, y):
    """1 / sqrt(1 - x^2)"""
    return _c(grad / np.sqrt(1 - x * x), x)


@_quiet
def acos_forward(x):
    return _c(np.arccos(x), x)


@_quiet
def acos_backward(grad, x, y):
    """-1 / sqrt(1 - x^2)"""
    return _c(-grad / np.sqrt(1 - x * x), x)


def atan_forward(x):
    return _c(np.arctan(x), x)


def atan_backward(grad, x, y):
    """1 / (1 + x^2)"""
    return _c(grad / (1 + x * x), x)


@_quiet
def sinh_forward(x):
    return _c(np.sinh(x), x)


@_quiet
def sinh_backward(grad, x, y):
    """cosh x"""
    return _c(grad * np.cosh(x), x)


@_quiet
def cosh_forward(x):
    return _c(np.cosh(x), x)


@_quiet
def cosh_backward(grad, x, y):
    """sinh x"""
    return _c(grad * np.sinh(x), x)


def asinh_forward(x):
    return _c(np.arcsinh(x), x)


def asinh_backward(grad, x, y):
    """1 / sqrt(x^2 + 1)"""
    return _c(grad / np.sqrt(x * x + 1), x)


@_quiet
def acosh_forward(x):
    return _c(np.arccosh(x), x)


@_quiet
def acosh_backward(grad, x, y):
    """1 / sqrt(x^2 - 1)"""
    return _c(grad / np.sqrt(x * x - 1), x)


@_quiet
def atanh_forward(x):
    return _c(np.arctanh(x), x)


@_quiet
def atanh_backward(grad, x, y):
    """1 / (1 - x^2)"""
    return _c(grad / (1 - x * x), x)


def _zero_grad(grad, x):
    """The gradient of a piecewise constant op: 0 (PyTorch's)."""
    return _c(np.zeros_like(grad), x)


def floor_forward(x):
    return _c(np.floor(x), x)


def floor_backward(grad, x, y):
    """0"""
    return _zero_grad(grad, x)


def ceil_forward(x):
    return _c(np.ceil(x), x)


def ceil_backward(grad, x, y):
    """0"""
    return _zero_grad(grad, x)


def trunc_forward(x):
    return _c(np.trunc(x), x)


def trunc_backward(grad, x, y):
    """0"""
    return _zero_grad(grad, x)


def round_forward(x, decimals):
    """x rounded half to even at `decimals` decimals (x * 10^d rounded, / 10^d; for
    negative d: x / 10^-d rounded, * 10^-d)"""
    if x.dtype.kind != "f":  # integers are whole already
        return _c(x, x)
    if decimals == 0:
        return _c(np.round(x), x)
    ten = np.asarray(10.0 ** abs(decimals), x.dtype)
    with np.errstate(all="ignore"):
        y = np.round(x * ten) / ten if decimals > 0 else np.round(x / ten) * ten
    return _c(y, x)


def round_backward(grad, x, y, decimals):
    """0"""
    return _zero_grad(grad, x)


@_quiet
def frac_forward(x):
    """x - trunc(x)"""
    return _c(x - np.trunc(x), x)


def frac_backward(grad, x, y):
    """1"""
    return _c(grad, x)


def sign_forward(x):
    """1, 0 or -1 (0 for NaN)"""
    return _c((0 < x).astype(x.dtype) - (x < 0).astype(x.dtype) if x.dtype != bool else x, x)


def sign_backward(grad, x, y):
    """0"""
    return _zero_grad(grad, x)


def erf_forward(x):
    return _c(_ERF(x), x)


@_quiet
def erf_backward(grad, x, y):
    """2 / sqrt(pi) e^(-x^2)"""
    return _c(grad * _TWO_OVER_SQRT_PI * np.exp(-x * x), x)


def erfc_forward(x):
    return _c(_ERFC(x), x)


@_quiet
def erfc_backward(grad, x, y):
    """-2 / sqrt(pi) e^(-x^2)"""
    return _c(-grad * _TWO_OVER_SQRT_PI * np.exp(-x * x), x)


# Giles's polynomials in w = -log(1 - y^2): for w < 5 in w - 2.5, else in sqrt(w) - 3
_GILES_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                  0.00021858087, -0.00125372503, -0.00417768164, 0.246640727,
                  1.50140941)  # fmt: skip
_GILES_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
               0.00573950773, -0.0076224613, 0.00943887047, 1.00167406,
               2.83297682)  # fmt: skip


@_quiet
def erfinv_forward(x):
    """erf^-1(x): Giles's approximation refined by two Newton steps on erf(v) = x;
    +-inf at +-1, NaN beyond"""
    y = np.asarray(x, np.float64)
    w = -np.log((1 - y) * (1 + y))
    central = np.polyval(_GILES_CENTRAL, w - 2.5)
    tail = np.polyval(_GILES_TAIL, np.sqrt(np.maximum(w, 5)) - 3)
    v = np.where(w < 5, central, tail) * y
    for _ in range(2):
        v = v - (_ERF(v) - y) / (_TWO_OVER_SQRT_PI * np.exp(-v * v))
    v = np.where(np.abs(y) == 1, np.copysign(np.inf, y), v)
    v = np.where(np.abs(y) > 1, np.nan, v)
    return _c(v, x)


@_quiet
def erfinv_backward(grad, x, y):
    """sqrt(pi) / 2 e^(y^2)"""
    return _c(grad * math.sqrt(math.pi) / 2 * np.exp(y * y), x)


@_quiet
def exp2_forward(x):
    return _c(np.exp2(x), x)


def exp2_backward(grad, x, y):
    """2^x log 2"""
    return _c(grad * y * math.log(2), x)


@_quiet
def expm1_forward(x):
    return _c(np.expm1(x), x)


def expm1_backward(grad, x, y):
    """e^x = y + 1"""
    return _c(grad * (y + 1), x)


@_quiet
def log2_forward(x):
    return _c(np.log2(x), x)


@_quiet
def log2_backward(grad, x, y):
    """1 / (x log 2)"""
    return _c(grad / (x * math.log(2)), x)


@_quiet
def log10_forward(x):
    return _c(np.log10(x), x)


@_quiet
def log10_backward(grad, x, y):
    """1 / (x log 10)"""
    return _c(grad / (x * math.log(10)), x)


@_quiet
def log1p_forward(x):
    return _c(np.log1p(x), x)


@_quiet
def log1p_backward(grad, x, y):
    """1 / (1 + x)"""
    return _c(grad / (1 + x), x)


@_quiet
def rsqrt_forward(x):
    """1 / sqrt(x)"""
    return _c(1 / np.sqrt(x), x)


@_quiet
def rsqrt_backward(grad, x, y):
    """-1/2 x^(-3/2) = -y^3 / 2"""
    return _c(-0.5 * grad * y * y * y, x)


@_quiet
def reciprocal_forward(x):
    """1 / x"""
    return _c(1 / x, x)


@_quiet
def reciprocal_backward(grad, x, y):
    """-1 / x^2 = -y^2"""
    return _c(-grad * y * y, x)


def square_forward(x):
    return _c(x * x, x)


def square_backward(grad, x, y):
    """2 x"""
    return _c(2 * grad * x, x)


@_quiet
def sinc_forward(x):
    """sin(pi x) / (pi x), 1 at 0"""
    px = math.pi * x
    return _c(np.where(x == 0, 1, np.sin(px) / np.where(x == 0, 1, px)), x)


@_quiet
def sinc_backward(grad, x, y):
    """(cos(pi x) - sinc(x)) / x, 0 at 0"""
    d = (np.cos(math.pi * x) - y) / np.where(x == 0, 1, x)
    return _c(grad * np.where(x == 0, 0, d), x)


def deg2rad_forward(x):
    return _c(x * (math.pi / 180), x)


def deg2rad_backward(grad, x, y):
    """pi / 180"""
    return _c(grad * (math.pi / 180), x)


def rad2deg_forward(x):
    return _c(x * (180 / math.pi), x)


def rad2deg_backward(grad, x, y):
    """180 / pi"""
    return _c(grad * (180 / math.pi), x)


@_quiet
def logit_forward(x, eps):
    """log(z / (1 - z)), z = clamp(x, eps, 1 - eps) (z = x for eps < 0: PyTorch's None)"""
    z = x if eps < 0 else np.clip(x, eps, 1 - eps)
    return _c(np.log(z / (1 - z)), x)


@_quiet
def logit_backward(grad, x, y, eps):
    """1 / (x (1 - x)) inside [eps, 1 - eps], 0 outside (NaN outside [0, 1] for eps < 0)"""
    lo = 0.0 if eps < 0 else eps
    outside = np.nan if eps < 0 else 0.0
    # NaN is not outside: its gradient is NaN, as PyTorch's
    outside_mask = (x < lo) | (x > 1 - lo)
    return _c(np.where(outside_mask, outside, grad / (x * (1 - x))), x)


# ----- binary ops -----------------------------------------------------------------------


def _grads(grad, a, b, need_a, need_b, da, db):
    """(grad * da summed to a's shape, grad * db to b's), each only when needed; da, db:
    functions of nothing, so an unneeded one is never computed."""
    with np.errstate(all="ignore"):
        ga = sum_to(np.asarray(grad * da(), grad.dtype), a.shape) if need_a else None
        gb = sum_to(np.asarray(grad * db(), grad.dtype), b.shape) if need_b else None
    return ga, gb


def fmax_forward(a, b):
    """max(a, b), the other operand where one is NaN"""
    _check(a, b)
    return _out(a, b, np.fmax(a, b))


def fmax_backward(grad, a, b, need_a=True, need_b=True):
    """d/da = 1 where a >= b or b is NaN, else d/db = 1"""
    to_a = (a >= b) | np.isnan(b)
    return _grads(grad, a, b, need_a, need_b, lambda: to_a, lambda: ~to_a)


def fmin_forward(a, b):
    """min(a, b), the other operand where one is NaN"""
    _check(a, b)
    return _out(a, b, np.fmin(a, b))


def fmin_backward(grad, a, b, need_a=True, need_b=True):
    """d/da = 1 where a <= b or b is NaN, else d/db = 1"""
    to_a = (a <= b) | np.isnan(b)
    return _grads(grad, a, b, need_a, need_b, lambda: to_a, lambda: ~to_a)


def atan2_forward(a, b):
    """the angle of (b, a)"""
    _check(a, b)
    return _out(a, b, np.arctan2(a, b))


def atan2_backward(grad, a, b, need_a=True, need_b=True):
    """d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2)"""
    r = a * a + b * b
    return _grads(grad, a, b, need_a, need_b, lambda: b / r, lambda: -a / r)


def copysign_forward(a, b):
    """|a| with b's sign"""
    _check(a, b)
    return _out(a, b, np.copysign(a, b))


def copysign_backward(grad, a, b, need_a=True, need_b=True):
    """d/da = copysign(a, b) / a (0 where a == 0), d/db = 0"""
    da = np.where(a == 0, 0, np.where(np.signbit(a) == np.signbit(b), 1, -1))
    return _grads(grad, a, b, need_a, need_b, lambda: da, lambda: np.zeros_like(b))


@_quiet
def logaddexp_forward(a, b):
    """log(e^a + e^b)"""
    _check(a, b)
    return _out(a, b, np.logaddexp(a, b))


@_quiet
def logaddexp_backward(grad, a, b, need_a=True, need_b=True):
    """d/da = 1 / (1 + e^(b - a)), d/db = 1 / (1 + e^(a - b))"""
    return _grads(
        grad, a, b, need_a, need_b, lambda: 1 / (1 + np.exp(b - a)), lambda: 1 / (1 + np.exp(a - b))
    )


@_quiet
def logaddexp2_forward(a, b):
    """log2(2^a + 2^b)"""
    _check(a, b)
    return _out(a, b, np.logaddexp2(a, b))


@_quiet
def logaddexp2_backward(grad, a, b, need_a=True, need_b=True):
    """d/da = 1 / (1 + 2^(b - a)), d/db = 1 / (1 + 2^(a - b))"""
    return _grads(
        grad,
        a,
        b,
        need_a,
        need_b,
        lambda: 1 / (1 + np.exp2(b - a)),
        lambda: 1 / (1 + np.exp2(a - b)),
    )


def hypot_forward(a, b):
    """sqrt(a^2 + b^2)"""
    _check(a, b)
    return _out(a, b, np.hypot(a, b))


def hypot_backward(grad, a, b, need_a=True, need_b=True):
    """d/da = a / hypot(a, b), d/db = b / hypot(a, b)"""
    h = np.hypot(a, b)
    return _grads(grad, a, b, need_a, need_b, lambda: a / h, lambda: b / h)


@_quiet
def xlogy_forward(a, b):
    """a log b, 0 where a == 0 (NaN where b is NaN)"""
    _check(a, b)
    y = np.where(a == 0, 0, a * np.log(b))
    return _out(a, b, np.where(np.isnan(b), np.nan, y))


@_quiet
def xlogy_backward(grad, a, b, need_a=True, need_b=True):
    """d/da = log b (0 where a == 0 and b <= 0), d/db = a / b"""
    da = lambda: np.where((a == 0) & (b <= 0), 0, np.log(b))  # noqa: E731
    return _grads(grad, a, b, need_a, need_b, da, lambda: a / b)


def _no_integer_zero(a, b):
    if a.dtype.kind in "iu" and a.size and b.size and np.any(b == 0):
        raise ValueError("integer division by zero (ZeroDivisionError)")


def fmod_forward(a, b):
    """a - trunc(a / b) b: the dividend's sign (C's fmod)"""
    _check(a, b)
    _no_integer_zero(a, b)
    with np.errstate(all="ignore"):
        return _out(a, b, np.fmod(a, b))


def fmod_backward(grad, a, b, need_a=True, need_b=True):
    """d/da = 1, d/db = -trunc(a / b)"""
    return _grads(grad, a, b, need_a, need_b, lambda: 1, lambda: -np.trunc(a / b))


def floor_divide_forward(a, b):
    """floor(a / b) (Python's //), computed as (a - fmod(a, b)) / b rounded, as PyTorch's"""
    _check(a, b)
    _no_integer_zero(a, b)
    if a.dtype.kind in "iub":
        return _out(a, b, np.floor_divide(a, b))
    with np.errstate(all="ignore"):
        mod = np.fmod(a, b)
        div = (a - mod) / b
        div = np.where((mod != 0) & ((b < 0) != (mod < 0)), div - 1, div)
        q = np.floor(div)
        q = np.where(div - q > 0.5, q + 1, q)
        q = np.where(div == 0, np.copysign(0, a / b), q)
        return _out(a, b, np.where(b == 0, a / b, q))


def div_trunc_forward(a, b):
    """trunc(a / b) (C's integer division)"""
    _check(a, b)
    _no_integer_zero(a, b)
    if a.dtype.kind in "iub":
        q = np.floor_divide(a, b)
        # floor rounds down where the signs differ and it is inexact: one back toward zero
        return _out(a, b, np.where((q < 0) & (q * b != a), q + 1, q))
    with np.errstate(all="ignore"):
        return _out(a, b, np.trunc(a / b))


# ----- predicates and cleanup -------------------------------------------------------------

_CLASSIFY = {
    "isnan": np.isnan,
    "isinf": np.isinf,
    "isposinf": np.isposinf,
    "isneginf": np.isneginf,
    "isfinite": np.isfinite,
    "signbit": np.signbit,
}


def classify_forward(x, what):
    """isnan, isinf, isposinf, isneginf, isfinite or signbit of each element (bool)"""
    fn = _CLASSIFY.get(what)
    if fn is None:
        raise ValueError(
            "classify: what must be 'isnan', 'isinf', 'isposinf', 'isneginf', 'isfinite' or "
            f"'signbit'; got '{what}'"
        )
    return np.asarray(fn(x), order="C")


def nan_to_num_forward(x, nan, posinf, neginf):
    """x with NaN, +inf, -inf replaced by nan, posinf, neginf"""
    return _c(np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf), x)


def nan_to_num_backward(grad, x, y, nan, posinf, neginf):
    """1 where x is finite, else 0"""
    return _c(np.where(np.isfinite(x), grad, 0), x)


# ----- bitwise -------------------------------------------------------------------------------


def _shift(a, b, left):
    """PyTorch's shifts: by a negative amount or at least the width, 0 (left) or the sign
    (right)"""
    width = a.dtype.itemsize * 8
    out_of_range = (b < 0) | (b >= width)
    safe = np.where(out_of_range, 0, b).astype(a.dtype)
    if left:
        shifted = np.left_shift(a, safe)
        return np.where(out_of_range, 0, shifted)
    return np.where(out_of_range, np.right_shift(a, width - 1), np.right_shift(a, safe))


def bitwise_forward(a, b, op):
    """a <op> b for op in and, or, xor, left_shift, right_shift (integers and bool)"""
    _check(a, b)
    if op == "and":
        y = np.bitwise_and(a, b)
    elif op == "or":
        y = np.bitwise_or(a, b)
    elif op == "xor":
        y = np.bitwise_xor(a, b)
    elif op in ("left_shift", "right_shift"):
        if a.dtype == bool:
            raise ValueError("bitwise shifts take integer tensors, not bool")
        y = _shift(a, b, op == "left_shift")
    else:
        raise ValueError(
            f"bitwise: op must be 'and', 'or', 'xor', 'left_shift' or 'right_shift'; got '{op}'"
        )
    return _out(a, b, y)


def bitwise_not_forward(x):
    """~x (logical not for bool)"""
    return np.asarray(np.invert(x), order="C")
