"""Elementwise math and activations (cpp/kernels/activation, pydl/reference/activation)."""

from __future__ import annotations

import math
from typing import Any

from .. import backend as _b
from ..tensor import Tensor, as_tensor, record
from ._util import axis_index
from .layout import reshape
from .reduce import amax as _max  # ties split the gradient evenly, as before
from .registry import op, unary, unary_kernel, unary_op

# ----- elementwise math -----------------------------------------------------------

neg = unary("neg", "-x", method=True, toplevel=True)
exp = unary("exp", "e^x", method=True, toplevel=True)
log = unary("log", "natural logarithm", method=True, toplevel=True)
sqrt = unary("sqrt", "square root", method=True, toplevel=True)
abs = unary("abs", "|x| (gradient sign(x), 0 at 0)", method=True, toplevel=True)
sin = unary("sin", "sine", method=True, toplevel=True)
cos = unary("cos", "cosine", method=True, toplevel=True)


@unary_op(aliases=("clip",), method=True, toplevel=True)
def clamp(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """min(max(x, min), max); the gradient passes where min <= x <= max."""
    if min is None and max is None:
        raise ValueError("clamp needs at least one of min and max")
    return (-math.inf if min is None else float(min), math.inf if max is None else float(max))


# ----- activations (seed 000 section 2, seed 002's table) --------------------------

sigmoid = unary(
    "sigmoid", "1 / (1 + e^-x)", method=True, toplevel=True, module="Sigmoid", epilogue="sigmoid"
)
tanh = unary(
    "tanh", "hyperbolic tangent", method=True, toplevel=True, module="Tanh", epilogue="tanh"
)
relu = unary("relu", "max(0, x)", method=True, toplevel=True, module="ReLU", epilogue="relu")
selu = unary(
    "selu",
    "scale * (x if x > 0 else alpha * (e^x - 1)), alpha=1.6733, scale=1.0507",
    toplevel=True,
    module="SELU",
)
silu = unary("silu", "x * sigmoid(x) (Swish)", aliases=("swish",), module="SiLU")
mish = unary("mish", "x * tanh(softplus(x))", module="Mish")
softsign = unary("softsign", "x / (1 + |x|)", module="Softsign")
logsigmoid = unary(
    "logsigmoid", "log(sigmoid(x)) = -softplus(-x), stable for any x", module="LogSigmoid"
)
tanhshrink = unary("tanhshrink", "x - tanh(x)", module="Tanhshrink")
gelu_tanh = unary("gelu_tanh", "0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))")


@unary_op(module="LeakyReLU")
def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x if x >= 0 else negative_slope * x."""
    return (float(negative_slope),)


@unary_op(module="ELU")
def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else alpha * (e^x - 1)."""
    return (float(alpha),)


@unary_op(module="Softplus")
def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, linear where beta * x > threshold (as PyTorch)."""
    return (float(beta), float(threshold))


@unary_op(module="HardSigmoid")
def hard_sigmoid(x: Tensor, slope: float = 0.2, offset: float = 0.5) -> Tensor:
    """The spec's hard sigmoid max(0, min(1, 0.2 x + 0.5)).

    PyTorch's `hardsigmoid` uses slope 1/6; `hardsigmoid` gives that form.
    """
    return (float(slope), float(offset))


@unary_op(kernel="hard_sigmoid", module="Hardsigmoid")
def hardsigmoid(x: Tensor) -> Tensor:
    """PyTorch's hardsigmoid: max(0, min(1, x / 6 + 1 / 2))."""
    return (1.0 / 6.0, 0.5)


@unary_op(kernel="hard_tanh", aliases=("hard_tanh",), module="Hardtanh")
def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """clamp(x, min_val, max_val); zero gradient at and beyond the bounds."""
    if min_val >= max_val:
        raise ValueError(f"hardtanh: min_val {min_val} must be below max_val {max_val}")
    return (float(min_val), float(max_val))


_gelu_exact = unary_kernel("gelu")


@op(module="GELU", epilogue="gelu")
def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x); approximate="tanh" uses 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate == "none":
        return _gelu_exact(x)
    if approximate == "tanh":
        return gelu_tanh(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


@op()
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


@op(method=True, toplevel=True, module="Softmax")
def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """e^x_i / sum_j e^x_j along dim (max-shifted, stable)."""
    x = as_tensor(x)
    axis = axis_index(dim, x.ndim)
    if x.ndim == 0:  # a 0-d tensor is its own one-element row (PyTorch's dim wrapping)
        return reshape(softmax(reshape(x, (1,)), 0), ())
    y = _b.active.softmax_forward(x._array, axis)
    return record(y, (x,), _softmax_backward, (y, axis, "softmax_backward"))


@op(method=True, toplevel=True, module="LogSoftmax")
def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """x_i - log sum_j e^x_j along dim (stable)."""
    x = as_tensor(x)
    axis = axis_index(dim, x.ndim)
    if x.ndim == 0:  # a 0-d tensor is its own one-element row (PyTorch's dim wrapping)
        return reshape(log_softmax(reshape(x, (1,)), 0), ())
    y = _b.active.log_softmax_forward(x._array, axis)
    return record(y, (x,), _softmax_backward, (y, axis, "log_softmax_backward"))


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
