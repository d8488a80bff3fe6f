"""Elementwise math beyond the activations: rounding, trig and hyperbolic functions and their
inverses, erf family, exp/log variants, predicates, bitwise ops and the binary forms (fmax,
copysign, logaddexp, lerp, fmod, ...).

(cpp/kernels/pointwise and the math rows of the unary list, cpp/kernels/unary_ops.h;
pydl/reference/pointwise)."""

from __future__ import annotations

import builtins
from typing import Any, Callable

import numpy as np

from .. import _capture, _dtypes
from .. import backend as _b
from ..tensor import Tensor, _constant, as_tensor, no_grad, record
from ._util import tensor_pair
from .activation import abs as _abs
from .activation import as_floating, floating_unary
from .compare import _promoted, eq, le, logical_and, logical_or
from .elementwise import add, mul, sub
from .layout import to
from .registry import op, unary_kernel
from .._dtypes import is_floating

# ----- unary math -------------------------------------------------------------------------


def _math(name: str, doc: str, aliases: tuple[str, ...] = (), floating: bool = True) -> Callable:
    """Declare the math op `name(input)`: a method and torch-level function (floating_unary)."""
    return floating_unary(name, doc, floating, aliases=aliases, method=True, toplevel=True)


tan = _math("tan", "tangent; d/dx = 1 + tan^2 x")
asin = _math("asin", "arcsine; d/dx = 1 / sqrt(1 - x^2)", aliases=("arcsin",))
acos = _math("acos", "arccosine; d/dx = -1 / sqrt(1 - x^2)", aliases=("arccos",))
atan = _math("atan", "arctangent; d/dx = 1 / (1 + x^2)", aliases=("arctan",))
sinh = _math("sinh", "hyperbolic sine; d/dx = cosh x")
cosh = _math("cosh", "hyperbolic cosine; d/dx = sinh x")
asinh = _math("asinh", "inverse hyperbolic sine; d/dx = 1 / sqrt(x^2 + 1)", aliases=("arcsinh",))
acosh = _math("acosh", "inverse hyperbolic cosine; d/dx = 1 / sqrt(x^2 - 1)", aliases=("arccosh",))
atanh = _math("atanh", "inverse hyperbolic tangent; d/dx = 1 / (1 - x^2)", aliases=("arctanh",))
floor = _math("floor", "the largest integer <= x (zero gradient)", floating=False)
ceil = _math("ceil", "the smallest integer >= x (zero gradient)", floating=False)
trunc = _math("trunc", "x rounded toward zero (zero gradient)", aliases=("fix",), floating=False)
frac = _math("frac", "x - trunc(x), the fractional part with x's sign; d/dx = 1")
sign = _math("sign", "1, 0 or -1 by x's sign (0 for NaN; zero gradient)", ("sgn",), False)
erf = _math("erf", "the error function; d/dx = 2 / sqrt(pi) e^(-x^2)")
erfc = _math("erfc", "1 - erf(x), accurate for large x; d/dx = -2 / sqrt(pi) e^(-x^2)")
erfinv = _math("erfinv", "the inverse of erf on (-1, 1); d/dx = sqrt(pi) / 2 e^(erfinv(x)^2)")
exp2 = _math("exp2", "2^x; d/dx = 2^x log 2")
expm1 = _math("expm1", "e^x - 1, accurate near 0; d/dx = e^x")
log2 = _math("log2", "base-2 logarithm; d/dx = 1 / (x log 2)")
log10 = _math("log10", "base-10 logarithm; d/dx = 1 / (x log 10)")
log1p = _math("log1p", "log(1 + x), accurate near 0; d/dx = 1 / (1 + x)")
rsqrt = _math("rsqrt", "1 / sqrt(x); d/dx = -x^(-3/2) / 2")
reciprocal = _math("reciprocal", "1 / x; d/dx = -1 / x^2")
square = _math("square", "x * x; d/dx = 2 x", floating=False)
sinc = _math("sinc", "sin(pi x) / (pi x), 1 at 0 (the normalized sinc)")
deg2rad = _math("deg2rad", "x * pi / 180")
rad2deg = _math("rad2deg", "x * 180 / pi")

_round = unary_kernel("round")
_logit = unary_kernel("logit")


@op(kernels=("round",), method=True, toplevel=True, elementwise=True)
def round(input: Any, *, decimals: int = 0) -> Tensor:
    """x rounded half to even, at `decimals` decimal places (negative: to tens, hundreds,
    ...); zero gradient. Integers are returned as they are."""
    if not isinstance(decimals, (int, np.integer)) or isinstance(decimals, builtins.bool):
        raise TypeError(f"round: decimals must be an int, got {decimals!r}")
    return _round(as_tensor(input), (float(decimals),))


@op(kernels=("logit",), method=True, toplevel=True, elementwise=True)
def logit(input: Any, eps: float | None = None) -> Tensor:
    """log(z / (1 - z)) with z = clamp(input, eps, 1 - eps) (z = input when eps is None);
    d/dx = 1 / (x (1 - x)), 0 outside [eps, 1 - eps]."""
    if eps is not None and not 0 <= eps <= 0.5:
        raise ValueError(f"logit: eps must be in [0, 0.5] or None, got {eps}")
    return _logit(as_floating(input), (-1.0 if eps is None else float(eps),))


# ----- binary ops ---------------------------------------------------------------------------


def _zero_gradients(node: Any, g: np.ndarray) -> tuple:
    """The gradient of a piecewise constant op (floor division): zero, as PyTorch's."""
    return tuple(np.zeros(t.shape, g.dtype) if t.requires_grad else None for t in node.inputs)


def _no_integer_zero(name: str, a: Tensor, b: Tensor) -> None:
    """PyTorch's RuntimeError for an integer division by zero (which would trap)."""
    if a._array.dtype.kind in "iub" and a._array.size and np.any(b._array == 0):
        raise RuntimeError(f"{name}: ZeroDivisionError (integer division by zero)")


def _binary_fn(
    name: str, doc: str, floating: bool = True, differentiable: bool = True, divides: bool = False
) -> Callable:
    """`name(input, other)` on `<name>_forward(a, b)` / `<name>_backward(g, a, b, need_a,
    need_b)`, broadcasting, the operands promoted as PyTorch's (Note [Type promotion]);
    floating: integer operands are computed in float32. Not differentiable: zero gradients
    (floor division). divides: integer division by zero raises RuntimeError."""
    fwd_name, bwd_name = name + "_forward", name + "_backward"

    def backward(node: Any, g: np.ndarray) -> Any:
        a, b = node.inputs
        return getattr(_b.active, bwd_name)(g, a._array, b._array, a.requires_grad, b.requires_grad)

    backward.__qualname__ = bwd_name

    def fn(input: Any, other: Any) -> Tensor:
        a, b = tensor_pair(input, other, floating)
        if divides:
            _no_integer_zero(name, a, b)
        y = getattr(_b.active, fwd_name)(a._array, b._array)
        if not differentiable:
            return record(y, (a, b), _zero_gradients, None, False)
        return record(y, (a, b), backward)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__module__ = __name__
    return fn


def _binary(name: str, doc: str, aliases: tuple[str, ...] = (), **kwargs: Any) -> Callable:
    """Declare the op _binary_fn(name, doc, **kwargs) (Note [Declaring an op])."""
    return op(aliases=aliases, method=True, toplevel=True)(_binary_fn(name, doc, **kwargs))


fmax = _binary("fmax", "max(input, other), the other where one is NaN.", floating=False)
fmin = _binary("fmin", "min(input, other), the other where one is NaN.", floating=False)
atan2 = _binary("atan2", "The angle of the point (other, input).", aliases=("arctan2",))
copysign = _binary("copysign", "|input| with other's sign; d/dinput = +-1, d/dother = 0.")
logaddexp = _binary("logaddexp", "log(e^input + e^other), stable.")
logaddexp2 = _binary("logaddexp2", "log2(2^input + 2^other), stable.")
hypot = _binary("hypot", "sqrt(input^2 + other^2), without overflow.")
xlogy = _binary("xlogy", "input * log(other), 0 where input == 0 (NaN where other is NaN).")
fmod = _binary(
    "fmod",
    "input - trunc(input / other) * other: C's fmod, with the dividend's sign (remainder has "
    "the divisor's). Integer division by zero raises RuntimeError.",
    floating=False,
    divides=True,
)
floor_divide = _binary(
    "floor_divide",
    "floor(input / other), Python's //; zero gradient. Integer division by zero raises "
    "RuntimeError.",
    floating=False,
    differentiable=False,
    divides=True,
)
# div(rounding_mode="trunc")'s kernel (declared by div, in elementwise.py)
_div_trunc = _binary_fn(
    "div_trunc",
    "trunc(input / other), C's integer division; zero gradient.",
    floating=False,
    differentiable=False,
    divides=True,
)


def divide_rounded(input: Any, other: Any, rounding_mode: str) -> Tensor:
    """div's rounding modes: 'trunc' (toward zero) and 'floor' (down, Python's //), both with
    zero gradient, in the operands' promoted dtype (integers stay integers)."""
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        return _div_trunc(input, other)
    raise ValueError(
        "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
        f"'{rounding_mode}'"
    )


@op(kernels=(), method=True, toplevel=True)
def lerp(input: Any, end: Any, weight: Any) -> Tensor:
    """input + weight * (end - input), weight a number or a tensor (broadcasting);
    d/dinput = 1 - weight, d/dend = weight, d/dweight = end - input."""
    return add(input, mul(weight, sub(end, input)))


@op(kernels=(), method=True, toplevel=True)
def addcmul(input: Any, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
    """input + value * tensor1 * tensor2, broadcasting (optimizers' update rules)."""
    return add(input, mul(mul(tensor1, tensor2), value))


@op(kernels=(), method=True, toplevel=True)
def addcdiv(input: Any, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
    """input + value * tensor1 / tensor2, broadcasting."""
    from .elementwise import div

    return add(input, mul(div(tensor1, tensor2), value))


@op(kernels=(), toplevel=True)
def rsub(input: Any, other: Any, *, alpha: float = 1) -> Tensor:
    """other - alpha * input (sub with its operands swapped)."""
    return sub(other, mul(input, alpha) if alpha != 1 else input)


@op(kernels=(), method=True, toplevel=True)
def float_power(input: Any, exponent: Any) -> Tensor:
    """input ** exponent computed in float64, as PyTorch's."""
    from .elementwise import pow

    base = to(as_tensor(input), np.float64)
    exp = to(exponent, np.float64) if isinstance(exponent, Tensor) else float(exponent)
    return pow(base, exp)


@op(kernels=(), method=True, toplevel=True)
def diff(
    input: Tensor, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None
) -> Tensor:
    """The n-th forward difference along dim (after concatenating prepend and append):
    out[i] = x[i + 1] - x[i], applied n times."""
    from .layout import cat, narrow

    x = as_tensor(input)
    if x.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    parts = [as_tensor(v) for v in (prepend,) if v is not None] + [x]
    parts += [as_tensor(v) for v in (append,) if v is not None]
    x = cat(parts, dim) if len(parts) > 1 else x
    for _ in range(n):
        length = x.shape[dim]
        if length == 0:
            break
        x = sub(narrow(x, dim, 1, length - 1), narrow(x, dim, 0, length - 1))
    return x


# ----- predicates and cleanup --------------------------------------------------------------


def _classify(name: str, doc: str) -> Callable:
    def fn(input: Any) -> Tensor:
        return _constant(_b.active.classify_forward(as_tensor(input)._array, name))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__module__ = __name__
    return op(kernels=("classify",), method=True, toplevel=True)(fn)


isnan = _classify("isnan", "True where input is NaN; a bool tensor.")
isinf = _classify("isinf", "True where input is +inf or -inf; a bool tensor.")
isposinf = _classify("isposinf", "True where input is +inf; a bool tensor.")
isneginf = _classify("isneginf", "True where input is -inf; a bool tensor.")
isfinite = _classify("isfinite", "True where input is neither NaN nor infinite; a bool tensor.")
signbit = _classify("signbit", "True where input's sign bit is set (-0.0 too); a bool tensor.")


@op(kernels=(), method=True, toplevel=True)
def isclose(
    input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Tensor:
    """|input - other| <= atol + rtol * |other| elementwise (equal values, infinities too,
    are close; NaN is close to NaN only with equal_nan); a bool tensor."""
    if rtol < 0 or atol < 0:
        raise ValueError(f"isclose: rtol {rtol} and atol {atol} must be non-negative")
    a, b = tensor_pair(input, other)
    with no_grad():
        close = eq(a, b)
        if is_floating(a._array.dtype):
            if equal_nan:
                close = logical_or(close, logical_and(isnan(a), isnan(b)))
            diff = _abs(sub(a, b))
            allowed = add(mul(_abs(b), rtol), atol)
            close = logical_or(close, logical_and(isfinite(diff), le(diff, allowed)))
        elif rtol or atol:  # integers: compared in float64, where they are exact enough
            a64, b64 = to(a, _dtypes.float64), to(b, _dtypes.float64)
            close = le(_abs(sub(a64, b64)), add(mul(_abs(b64), rtol), atol))
    return close


@op(kernels=(), method=True, toplevel=True)
def allclose(
    input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> bool:
    """Whether isclose holds everywhere (a Python bool)."""
    _capture.host_read("allclose")
    return bool(np.all(isclose(input, other, rtol, atol, equal_nan)._array))


@op(kernels=(), method=True, toplevel=True)
def equal(input: Any, other: Any) -> bool:
    """Whether both have the same shape and the same values (a Python bool; NaN != NaN)."""
    _capture.host_read("equal")
    a, b = as_tensor(input), as_tensor(other)
    return a.shape == b.shape and bool(np.all(eq(a, b)._array))


_nan_to_num = unary_kernel("nan_to_num")


@op(kernels=("nan_to_num",), method=True, toplevel=True, elementwise=True)
def nan_to_num(
    input: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """input with NaN, +inf and -inf replaced by nan, posinf and neginf (by default the
    dtype's largest and lowest finite values); the gradient passes where input is finite."""
    x = as_tensor(input)
    if not is_floating(x._array.dtype):  # integers have no NaN or infinity
        params = (0.0, 0.0, 0.0)
    else:
        info = np.finfo(x._array.dtype)
        params = (
            float(nan),
            float(info.max) if posinf is None else float(posinf),
            float(info.min) if neginf is None else float(neginf),
        )
    return _nan_to_num(x, params)


# ----- bitwise ------------------------------------------------------------------------------


def _integral(name: str, *arrays: np.ndarray) -> None:
    for a in arrays:
        if a.dtype.kind not in "iub":
            kind = {"f": "Float", "d": "Double"}.get(a.dtype.char, str(a.dtype))
            raise TypeError(
                f"{name}: \"{name}_cpu\" not implemented for '{kind}' (bitwise ops take "
                f"integer or bool tensors; got {a.dtype})"
            )


def _bitwise(name: str, doc: str) -> Callable:
    kernel_op = name[len("bitwise_") :]

    def fn(input: Any, other: Any) -> Tensor:
        a, b = _promoted(input, other)
        _integral(name, a, b)
        if kernel_op.endswith("shift") and a.dtype == np.bool_:
            raise TypeError(f"{name}: \"{name}_cpu\" not implemented for 'Bool'")
        return _constant(_b.active.bitwise_forward(a, b, kernel_op))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__module__ = __name__
    return op(kernels=("bitwise",), method=True, toplevel=True)(fn)


bitwise_and = _bitwise("bitwise_and", "input & other on integer or bool tensors.")
bitwise_or = _bitwise("bitwise_or", "input | other on integer or bool tensors.")
bitwise_xor = _bitwise("bitwise_xor", "input ^ other on integer or bool tensors.")
bitwise_left_shift = _bitwise(
    "bitwise_left_shift", "input << other on integers (0 past the width, as PyTorch's)."
)
bitwise_right_shift = _bitwise(
    "bitwise_right_shift", "input >> other on integers (arithmetic: the sign past the width)."
)


@op(method=True, toplevel=True)
def bitwise_not(input: Any) -> Tensor:
    """~input on integer tensors; logical not on bool ones."""
    x = as_tensor(input)
    _integral("bitwise_not", x._array)
    return _constant(_b.active.bitwise_not_forward(x._array))
