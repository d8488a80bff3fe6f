"""Elementwise math and activations (cpp/kernels/activation, pydl/reference/activation)."""

from __future__ import annotations

import math
import sys
import warnings
from typing import Any, Callable

import numpy as np

from .. import _random
from .._dtypes import float32
from .. import backend as _b
from ..tensor import Tensor, _constant, as_tensor, record
from ._util import axis_index, int_tuple
from .elementwise import mul, where
from .layout import clone, getitem, reshape, to
from .reduce import amax as _max  # ties split the gradient evenly, as before
from .registry import op, unary, unary_kernel, unary_op
from .._dtypes import is_floating

# ----- elementwise math -----------------------------------------------------------


def real_arg(fn: str, name: str, value: Any) -> float:
    """An op's number argument as a float; TypeError naming it for a string, None, ...
    (float() would raise "could not convert string to float", naming nothing)."""
    if hasattr(value, "__float__") and not isinstance(value, (complex, np.complexfloating)):
        return float(value)
    raise TypeError(f"{fn}(): argument '{name}' must be a number, got {type(value).__name__}")


def int_tuple_arg(name: str, value: Any, n: int = 2) -> tuple[int, ...]:
    """_util.int_tuple (an int, or n ints) after a type check: TypeError naming the
    argument for a float ("'float' object is not iterable" named nothing), a string (whose
    digits were read as the ints), a bool."""
    items = (value,) if isinstance(value, (int, np.integer)) else value
    if (
        isinstance(items, (str, bytes))
        or not hasattr(items, "__iter__")
        or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in items
        )
    ):
        raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    return int_tuple(name, value, n)


def int_arg(fn: str, name: str, value: Any) -> int:
    """An op's integer argument (groups, num_groups, dim, ...) as an int; TypeError naming
    it for a float, a string, a bool (the binding would dump its signature instead)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    raise TypeError(f"{fn}(): argument '{name}' must be an int, got {value!r}")


def as_floating(x: Any) -> Tensor:
    """x as a tensor, an integer or bool one cast to float32 (PyTorch's default dtype), as
    PyTorch's floating ops (sin, exp, sigmoid, ...) take integers."""
    x = as_tensor(x)
    return x if is_floating(x._array.dtype) else to(x, float32)


def no_integers(fn: str, x: Any) -> None:
    """NotImplementedError (PyTorch's) for an integer or bool input to an op PyTorch defines
    for floating point only (gelu, elu, softplus, ...): its kernels would compute in the
    input's dtype and truncate every result. O(1) for a tensor."""
    dtype = x._array.dtype if isinstance(x, Tensor) else np.asarray(x).dtype
    if dtype.kind in "biu":
        raise NotImplementedError(
            f"{fn}: not implemented for integer or bool input (got dtype {dtype}); cast it "
            "to a floating point dtype first"
        )


def floating_unary(
    name: str, doc: str, floating: bool = True, reject_integers: bool = False, **declared: Any
) -> Callable:
    """Declare the elementwise op `name(input)` on the unary list's kernel of that name (Note
    [Unary op list]), as `unary` does; floating: integer and bool inputs are computed in
    float32 (else they keep their dtype: floor, sign, square, ...); reject_integers: they
    raise (no_integers), as PyTorch's floating-only activations. `declared`: op()'s
    arguments (aliases, method, toplevel, module, epilogue)."""
    run = unary_kernel(name)

    def fn(input: Any) -> Tensor:
        if not (type(input) is Tensor and is_floating(input._array.dtype)):
            if reject_integers:  # (the common float tensor skips both calls)
                no_integers(name, input)
            elif floating:
                input = as_floating(input)
        return run(input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__module__ = sys._getframe(1).f_globals["__name__"]
    return op(elementwise=True, **declared)(fn)


neg = unary("neg", "-x", aliases=("negative",), method=True, toplevel=True)
exp = floating_unary("exp", "e^x", method=True, toplevel=True)
log = floating_unary("log", "natural logarithm", method=True, toplevel=True)
sqrt = floating_unary("sqrt", "square root", method=True, toplevel=True)
abs = unary(
    "abs", "|x| (gradient sign(x), 0 at 0)", aliases=("absolute",), method=True, toplevel=True
)
sin = floating_unary("sin", "sine", method=True, toplevel=True)
cos = floating_unary("cos", "cosine", method=True, toplevel=True)


_clamp_numbers = unary_kernel("clamp")


def _bound(b: Any) -> Any:
    return b._array if isinstance(b, Tensor) else b


@op(kernels=("clamp",), aliases=("clip",), method=True, toplevel=True, elementwise=True)
def clamp(x: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """min(max(x, min), max), the bounds numbers or tensors (broadcast with x, promoted as
    PyTorch's). The gradient passes to x where min <= x <= max, else to the bound taken:
    min where x < min, max where x > max or max < min (then the result is max)."""
    if min is None and max is None:
        raise ValueError("clamp needs at least one of min and max")
    if not isinstance(min, Tensor) and not isinstance(max, Tensor):  # the one kernel
        lo = -math.inf if min is None else float(min)
        return _clamp_numbers(x, (lo, math.inf if max is None else float(max)))
    # Tensor bounds: two selections, their masks PyTorch's clamp_backward's (a NaN bound
    # is taken, so the result is NaN there, as PyTorch's)
    x = as_tensor(x)
    out = x
    if min is not None:
        lo = _bound(min)
        out = where(np.asarray((x._array < lo) | np.isnan(lo)), min, x)
    if max is not None:
        hi = _bound(max)
        high = (x._array > hi) | np.isnan(hi)
        if min is not None:
            high = high | (hi < _bound(min))
        out = where(np.asarray(high), max, out)
    return out


@op(kernels=(), method=True, toplevel=True, elementwise=True)
def clamp_min(x: Tensor, min: Any) -> Tensor:
    """clamp(x, min=min): max(x, min), min a number or a tensor."""
    return clamp(x, min=min)


@op(kernels=(), method=True, toplevel=True, elementwise=True)
def clamp_max(x: Tensor, max: Any) -> Tensor:
    """clamp(x, max=max): min(x, max), max a number or a tensor."""
    return clamp(x, max=max)


# ----- activations (seed 000 section 2, seed 002's table) --------------------------

sigmoid = floating_unary(
    "sigmoid", "1 / (1 + e^-x)", method=True, toplevel=True, module="Sigmoid", epilogue="sigmoid"
)
tanh = floating_unary(
    "tanh", "hyperbolic tangent", method=True, toplevel=True, module="Tanh", epilogue="tanh"
)
relu = unary("relu", "max(0, x)", method=True, toplevel=True, module="ReLU", epilogue="relu")
selu = floating_unary(
    "selu",
    "scale * (x if x > 0 else alpha * (e^x - 1)), alpha=1.6733, scale=1.0507",
    toplevel=True,
    module="SELU",
    reject_integers=True,
)
silu = floating_unary(
    "silu", "x * sigmoid(x) (Swish)", aliases=("swish",), module="SiLU", reject_integers=True
)
mish = floating_unary("mish", "x * tanh(softplus(x))", module="Mish", reject_integers=True)
softsign = floating_unary("softsign", "x / (1 + |x|)", module="Softsign")
logsigmoid = floating_unary(
    "logsigmoid",
    "log(sigmoid(x)) = -softplus(-x), stable for any x",
    module="LogSigmoid",
    reject_integers=True,
)
tanhshrink = floating_unary("tanhshrink", "x - tanh(x)", module="Tanhshrink")
gelu_tanh = floating_unary(
    "gelu_tanh", "0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))", reject_integers=True
)


@unary_op(module="LeakyReLU")
def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x if x >= 0 else negative_slope * x."""
    no_integers("leaky_relu", x)
    return (real_arg("leaky_relu", "negative_slope", negative_slope),)


@unary_op(module="ELU")
def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else alpha * (e^x - 1)."""
    no_integers("elu", x)
    return (real_arg("elu", "alpha", alpha),)


@unary_op(module="Softplus")
def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, linear where beta * x > threshold (as PyTorch)."""
    no_integers("softplus", x)
    return (real_arg("softplus", "beta", beta), real_arg("softplus", "threshold", threshold))


@unary_op(module="HardSigmoid")
def hard_sigmoid(x: Tensor, slope: float = 0.2, offset: float = 0.5) -> Tensor:
    """The spec's hard sigmoid max(0, min(1, 0.2 x + 0.5)).

    PyTorch's `hardsigmoid` uses slope 1/6; `hardsigmoid` gives that form.
    """
    no_integers("hard_sigmoid", x)
    return (real_arg("hard_sigmoid", "slope", slope), real_arg("hard_sigmoid", "offset", offset))


@unary_op(kernel="hard_sigmoid", module="Hardsigmoid")
def hardsigmoid(x: Tensor) -> Tensor:
    """PyTorch's hardsigmoid: max(0, min(1, x / 6 + 1 / 2))."""
    no_integers("hardsigmoid", x)
    return (1.0 / 6.0, 0.5)


@unary_op(kernel="hard_tanh", aliases=("hard_tanh",), module="Hardtanh")
def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """clamp(x, min_val, max_val); zero gradient at and beyond the bounds."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} cannot be greater than max_val {max_val}")
    return (real_arg("hardtanh", "min_val", min_val), real_arg("hardtanh", "max_val", max_val))


_gelu_exact = unary_kernel("gelu")


@op(module="GELU", epilogue="gelu")
def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x); approximate="tanh" uses 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    no_integers("gelu", x)
    if approximate == "none":
        return _gelu_exact(x)
    if approximate == "tanh":
        return gelu_tanh(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


@op(method=True, toplevel=True)
def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """x if x >= 0 else weight[c] * x, c the channel (dim 1); weight has 1 or C values."""
    x = as_tensor(x)
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight._array.size not in (1, channels):
        raise ValueError(
            f"prelu: weight has {weight._array.size} values but the input of shape "
            f"{x.shape} has {channels} channels"
        )
    return record(_b.active.prelu_forward(x._array, weight._array), (x, weight), _prelu_backward)


def _prelu_backward(node: Any, g: Any) -> Any:
    x, w = node.inputs
    return _b.active.prelu_backward(g, x._array, w._array)


def _softmax_backward(node: Any, g: Any) -> Any:
    y, axis, kernel = node.saved
    return (getattr(_b.active, kernel)(g, y, axis),)


def _implicit_dim(name: str, x: Tensor, dim: int | None, dtype: Any) -> tuple[Tensor, int]:
    """x (cast to dtype, if given) and dim; without a dim, PyTorch's deprecated implicit
    choice (dim 0 for 0-, 1- and 3-d inputs, else 1) with its warning."""
    x = as_tensor(x)
    if dim is not None:
        dim = int_arg(name, "dim", dim)
    if dtype is not None:
        x = to(x, dtype)
    elif not is_floating(x.dtype):  # the kernels would compute in the integer dtype
        raise RuntimeError(
            f"{name}: expected a floating point input (or dtype=), got {x.dtype}; an integer "
            "softmax would truncate every probability to 0"
        )
    if dim is None:
        warnings.warn(
            f"Implicit dimension choice for {name} has been deprecated. Change the call to "
            "include dim=X as an argument.",
            UserWarning,
            stacklevel=3,
        )
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return x, dim


@op(method=True, toplevel=True, module="Softmax")
def softmax(x: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """e^x_i / sum_j e^x_j along dim (max-shifted, stable); `dtype`: x is cast to it first."""
    x, dim = _implicit_dim("softmax", x, dim, dtype)
    axis = axis_index(dim, x.ndim)
    if x._array.size == 0:  # nothing to normalize (the kernels would reduce an empty axis)
        return clone(x)
    if x.ndim == 0:  # a 0-d tensor is its own one-element row (PyTorch's dim wrapping)
        return reshape(softmax(reshape(x, (1,)), 0), ())
    y = _b.active.softmax_forward(x._array, axis)
    return record(y, (x,), _softmax_backward, (y, axis, "softmax_backward"))


@op(method=True, toplevel=True, module="LogSoftmax")
def log_softmax(x: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """x_i - log sum_j e^x_j along dim (stable); `dtype`: x is cast to it first."""
    x, dim = _implicit_dim("log_softmax", x, dim, dtype)
    axis = axis_index(dim, x.ndim)
    if x._array.size == 0:  # nothing to normalize (the kernels would reduce an empty axis)
        return clone(x)
    if x.ndim == 0:  # a 0-d tensor is its own one-element row (PyTorch's dim wrapping)
        return reshape(log_softmax(reshape(x, (1,)), 0), ())
    y = _b.active.log_softmax_forward(x._array, axis)
    return record(y, (x,), _softmax_backward, (y, axis, "log_softmax_backward"))


@op(kernels=(), module="Softmin")
def softmin(x: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """softmax(-x) along dim: e^-x_i / sum_j e^-x_j."""
    x, dim = _implicit_dim("softmin", x, dim, dtype)
    return softmax(neg(x), dim)


@op(kernels=(), module="GLU")
def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), a and b the two halves of input along dim."""
    x = as_tensor(input)
    if x.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = axis_index(int_arg("glu", "dim", dim), x.ndim)
    n = x.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    half = (slice(None),) * d
    a, b = getitem(x, half + (slice(0, n // 2),)), getitem(x, half + (slice(n // 2, n),))
    return a * sigmoid(b)


@unary_op(kernel="hard_tanh", module="ReLU6")
def relu6(x: Tensor) -> Tensor:
    """min(max(0, x), 6) (hardtanh(x, 0, 6)); zero gradient at and beyond 0 and 6."""
    return (0.0, 6.0)


hardswish = floating_unary(
    "hardswish", "x * relu6(x + 3) / 6", module="Hardswish", reject_integers=True
)


@unary_op(toplevel=True, module="CELU")
def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1))."""
    no_integers("celu", x)
    if alpha == 0:
        raise ValueError("celu: alpha must be nonzero (it divides x), got 0")
    return (real_arg("celu", "alpha", alpha),)


def _lambd(name: str, lambd: float) -> tuple:
    if lambd < 0:
        raise RuntimeError(f"{name}: lambda must be greater or equal to 0, but found to be {lambd}")
    return (real_arg(name, "lambd", lambd),)


@unary_op(module="Softshrink")
def softshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, else 0."""
    no_integers("softshrink", x)
    return _lambd("softshrink", lambd)


@unary_op(method=True, toplevel=True, module="Hardshrink")
def hardshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0 (so x itself for a negative lambd, as PyTorch's)."""
    no_integers("hardshrink", x)
    return (real_arg("hardshrink", "lambd", lambd),)


@unary_op(toplevel=True, module="Threshold")
def threshold(x: Tensor, threshold: float, value: float) -> Tensor:
    """x where x > threshold, else value."""
    return (real_arg("threshold", "threshold", threshold), real_arg("threshold", "value", value))


@op(kernels=(), toplevel=True, module="RReLU")
def rrelu(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False
) -> Tensor:
    """x if x >= 0 else a * x: in training a drawn uniformly from [lower, upper] per element
    (from pydl's seeded generator), else the mean slope (lower + upper) / 2."""
    no_integers("rrelu", input)
    if not 0 <= lower <= upper:
        raise ValueError(f"rrelu: need 0 <= lower <= upper, got lower={lower}, upper={upper}")
    x = as_tensor(input)
    if not training:
        return leaky_relu(x, (lower + upper) / 2)
    slopes = _random.uniform_(np.empty(x.shape, x.dtype), lower, upper)
    return where(x._array >= 0, x, mul(x, _constant(slopes)))


@op(kernels=())
def maxout(x: Tensor, pool_size: int, dim: int = -1) -> Tensor:
    """Max over consecutive groups of `pool_size` features along dim (the spec's max_k)."""
    x = as_tensor(x)
    d = axis_index(dim, x.ndim)
    if not isinstance(pool_size, int) or pool_size < 1:
        raise ValueError(f"maxout: pool_size must be an int >= 1, got {pool_size!r}")
    if x.shape[d] % pool_size:
        raise ValueError(
            f"maxout: size {x.shape[d]} of dim {d} is not divisible by pool_size {pool_size}"
        )
    grouped = reshape(x, x.shape[:d] + (x.shape[d] // pool_size, pool_size) + x.shape[d + 1 :])
    return _max(grouped, d + 1)
