"""Activations and losses (PyTorch's names and arguments), built on pydl.functional."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _random
from .. import backend as _b
from .. import functional as F
from ..functional import _axis, _unary, linear  # noqa: F401  (linear is part of this API)
from ..tensor import Tensor, as_tensor, wrap

# ----- activations ----------------------------------------------------------------

sigmoid = _unary("sigmoid", "1 / (1 + e^-x)")
tanh = _unary("tanh", "hyperbolic tangent")
relu = _unary("relu", "max(0, x)")
selu = _unary("selu", "scale * (x if x > 0 else alpha * (e^x - 1)), alpha=1.6733, scale=1.0507")
silu = _unary("silu", "x * sigmoid(x) (Swish)")
swish = silu
mish = _unary("mish", "x * tanh(softplus(x))")
softsign = _unary("softsign", "x / (1 + |x|)")
_leaky_relu = _unary("leaky_relu", "leaky relu")
_elu = _unary("elu", "elu")
_gelu = _unary("gelu", "x * Phi(x)")
_gelu_tanh = _unary("gelu_tanh", "tanh approximation of gelu")
_softplus = _unary("softplus", "softplus")
_hard_sigmoid = _unary("hard_sigmoid", "hard sigmoid")
_hard_tanh = _unary("hard_tanh", "hard tanh")


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x if x >= 0 else negative_slope * x."""
    return _leaky_relu(x, float(negative_slope))


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else alpha * (e^x - 1)."""
    return _elu(x, float(alpha))


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x); approximate="tanh" uses 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate == "none":
        return _gelu(x)
    if approximate == "tanh":
        return _gelu_tanh(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, linear where beta * x > threshold (as PyTorch)."""
    return _softplus(x, float(beta), float(threshold))


def hard_sigmoid(x: Tensor, slope: float = 0.2, offset: float = 0.5) -> Tensor:
    """The spec's hard sigmoid max(0, min(1, 0.2 x + 0.5)).

    PyTorch's `hardsigmoid` uses slope 1/6; `hardsigmoid` below gives that form.
    """
    return _hard_sigmoid(x, float(slope), float(offset))


def hardsigmoid(x: Tensor) -> Tensor:
    """PyTorch's hardsigmoid: max(0, min(1, x / 6 + 1 / 2))."""
    return _hard_sigmoid(x, 1.0 / 6.0, 0.5)


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """clamp(x, min_val, max_val); zero gradient at and beyond the bounds."""
    if min_val >= max_val:
        raise ValueError(f"hardtanh: min_val {min_val} must be below max_val {max_val}")
    return _hard_tanh(x, float(min_val), float(max_val))


hard_tanh = hardtanh


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """x if x >= 0 else weight[c] * x, c the channel (dim 1); weight has 1 or C values."""
    x = as_tensor(x)
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.data.size not in (1, channels):
        raise ValueError(
            f"prelu: weight has {weight.data.size} values but the input of shape "
            f"{x.shape} has {channels} channels"
        )

    def backward(node: Any, g: np.ndarray) -> Any:
        x, w = node.inputs
        return _b.active.prelu_backward(g, x.data, w.data)

    return wrap(_b.active.prelu_forward(x.data, weight.data), (x, weight), backward)


def _softmax_op(name: str, x: Tensor, dim: int) -> Tensor:
    x = as_tensor(x)
    axis = _axis(dim, x.ndim)
    y = getattr(_b.active, name + "_forward")(x.data, axis)

    def backward(node: Any, g: np.ndarray) -> Any:
        return (getattr(_b.active, name + "_backward")(g, node.saved, axis),)

    return wrap(y, (x,), backward, y)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """e^x_i / sum_j e^x_j along dim (max-shifted, stable)."""
    return _softmax_op("softmax", x, dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """x_i - log sum_j e^x_j along dim (stable)."""
    return _softmax_op("log_softmax", x, dim)


def maxout(x: Tensor, pool_size: int, dim: int = -1) -> Tensor:
    """Max over consecutive groups of `pool_size` features along dim (the spec's max_k)."""
    x = as_tensor(x)
    d = _axis(dim, x.ndim)
    if x.shape[d] % pool_size:
        raise ValueError(
            f"maxout: size {x.shape[d]} of dim {d} is not divisible by pool_size {pool_size}"
        )
    grouped = F.reshape(x, x.shape[:d] + (x.shape[d] // pool_size, pool_size) + x.shape[d + 1 :])
    return F.max(grouped, d + 1)


# ----- losses ---------------------------------------------------------------------

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    _check_reduction(reduction)
    if reduction == "mean":
        return F.mean(loss)
    if reduction == "sum":
        return F.sum(loss)
    return loss


def _check_same_shape(fn: str, input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        raise ValueError(
            f"{fn}: input of shape {input.shape} and target of shape {target.shape} differ"
        )


def _class_last(fn: str, input: Tensor, target: Any) -> tuple[Tensor, np.ndarray, tuple]:
    """(N, C, d1, ...) logits -> (N * d1 * ..., C); returns the per-sample shape too."""
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    if input.ndim < 1:
        raise ValueError(f"{fn}: input must have a class dimension; got shape {input.shape}")
    if input.ndim == 1:  # one sample of C logits
        return F.reshape(input, (1, input.shape[0])), t.reshape((1,) + t.shape), ()
    if input.ndim == 2:
        return input, t, (input.shape[0],)
    dims = (0,) + tuple(range(2, input.ndim)) + (1,)
    moved = F.permute(input, dims)
    sample_shape = moved.shape[:-1]
    flat = F.reshape(moved, (-1, input.shape[1]))
    if t.dtype.kind == "f":
        t = np.moveaxis(t, 1, -1).reshape(-1, input.shape[1]) if t.ndim == input.ndim else t
    else:
        if t.shape != sample_shape:
            raise ValueError(
                f"{fn}: target of shape {t.shape} does not match input of shape "
                f"{input.shape} (expected {sample_shape})"
            )
        t = t.reshape(-1)
    return flat, np.asarray(t, order="C"), sample_shape


def cross_entropy(
    input: Tensor, target: Any, reduction: str = "mean", ignore_index: int = -100
) -> Tensor:
    """Softmax cross-entropy from logits, fused and stable: lse(z) - z_target.

    target holds class indices (N,) or class probabilities (N, C) (float dtype).
    Labels equal to ignore_index contribute nothing and leave the mean's count.
    """
    _check_reduction(reduction)
    input = as_tensor(input)
    logits, t, sample_shape = _class_last("cross_entropy", input, target)
    if t.dtype.kind == "f":
        t = t.astype(logits.dtype, copy=False)
    elif t.dtype.kind in "iu":
        t = t.astype(np.int64, copy=False)
    else:
        raise TypeError(
            f"cross_entropy: target must hold class indices or probabilities, got dtype {t.dtype}"
        )
    loss, lse = _b.active.cross_entropy_forward(logits.data, t, reduction, ignore_index)

    def backward(node: Any, g: np.ndarray) -> Any:
        (x,) = node.inputs
        return (_b.active.cross_entropy_backward(g, x.data, t, lse, reduction, ignore_index),)

    out = wrap(loss, (logits,), backward)
    return F.reshape(out, sample_shape) if reduction == "none" else out


def nll_loss(
    input: Tensor, target: Any, reduction: str = "mean", ignore_index: int = -100
) -> Tensor:
    """-input[n, target[n]] for log-probabilities `input` of shape (N, C)."""
    _check_reduction(reduction)
    input = as_tensor(input)
    logp, t, sample_shape = _class_last("nll_loss", input, target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold class indices, got dtype {t.dtype}")
    t = t.astype(np.int64, copy=False)
    loss = _b.active.nll_loss_forward(logp.data, t, reduction, ignore_index)

    def backward(node: Any, g: np.ndarray) -> Any:
        (x,) = node.inputs
        return (_b.active.nll_loss_backward(g, x.data, t, reduction, ignore_index),)

    out = wrap(loss, (logp,), backward)
    return F.reshape(out, sample_shape) if reduction == "none" else out


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """(input - target)^2, reduced."""
    input, target = as_tensor(input), as_tensor(target)
    _check_same_shape("mse_loss", input, target)
    d = F.sub(input, target)
    return _reduce(F.mul(d, d), reduction)


def binary_cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """-(y log p + (1 - y) log(1 - p)) for probabilities p; logs clamped at -100 as PyTorch."""
    input, target = as_tensor(input), as_tensor(target, like=None)
    _check_same_shape("binary_cross_entropy", input, target)
    if np.any((input.data < 0) | (input.data > 1)):
        raise ValueError("binary_cross_entropy: input values must lie in [0, 1]")
    log_p = F.clamp(F.log(input), min=-100.0)
    log_1mp = F.clamp(F.log(F.sub(1.0, input)), min=-100.0)
    loss = F.neg(F.add(F.mul(target, log_p), F.mul(F.sub(1.0, target), log_1mp)))
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor, target: Any, reduction: str = "mean", pos_weight: Any = None
) -> Tensor:
    """BCE of sigmoid(input), stable for any logit.

    (1 - y) x + w softplus(-x) with w = 1 + (pw - 1) y.
    """
    input, target = as_tensor(input), as_tensor(target)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    sp = softplus(F.neg(input))
    if pos_weight is not None:
        w = F.add(1.0, F.mul(F.sub(as_tensor(pos_weight, like=input), 1.0), target))
        sp = F.mul(w, sp)
    loss = F.add(F.mul(F.sub(1.0, target), input), sp)
    return _reduce(loss, reduction)


def kl_div(input: Tensor, target: Any, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Pointwise target * (log target - input) for log-probabilities `input` (PyTorch's kl_div).

    reduction "batchmean" divides the sum by the batch size (the true KL divergence);
    "mean" averages over every element, as PyTorch does. Gradients flow to input only.
    """
    input = as_tensor(input)
    t = as_tensor(target).data.astype(input.dtype, copy=False)
    if t.shape != input.shape:
        raise ValueError(
            f"kl_div: input of shape {input.shape} and target of shape {t.shape} differ"
        )
    if log_target:
        p, t_log_t = np.exp(t), np.exp(t) * t
    else:
        p = t
        with np.errstate(divide="ignore", invalid="ignore"):
            t_log_t = np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0).astype(t.dtype)
    loss = F.sub(as_tensor(t_log_t), F.mul(as_tensor(p), input))
    if reduction == "batchmean":
        return F.div(F.sum(loss), float(input.shape[0]) if input.ndim else 1.0)
    return _reduce(loss, reduction)


def gaussian_kl_divergence(mu: Tensor, logvar: Tensor, reduction: str = "mean") -> Tensor:
    """The VAE term KL(N(mu, e^logvar) || N(0, I)) = -1/2 sum(1 + logvar - mu^2 - e^logvar).

    Summed over the last (latent) dim, then reduced over the batch. Its gradients are
    the spec's dKL/dmu = mu and dKL/dsigma = sigma - 1/sigma.
    """
    mu, logvar = as_tensor(mu), as_tensor(logvar)
    _check_same_shape("gaussian_kl_divergence", mu, logvar)
    inner = F.sub(F.sub(F.add(1.0, logvar), F.mul(mu, mu)), F.exp(logvar))
    kl = F.mul(F.sum(inner, -1), -0.5)
    return _reduce(kl, reduction)


# ----- convolution ----------------------------------------------------------------


def _pair_arg(name: str, value: Any, n: int = 2) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value}")
    return value


def _conv_padding(
    padding: Any, kernel: tuple[int, int], dilation: tuple[int, int], stride: tuple[int, int]
) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from an int, a pair, or "valid" / "same"."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f"padding must be 'valid', 'same' or ints, got {padding!r}")
        if stride != (1, 1):
            raise ValueError("padding='same' is not supported for strided convolutions")
        out = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)  # PyTorch puts the odd element on the bottom / right
            out += [total // 2, total - total // 2]
        return tuple(out)
    ph, pw = _pair_arg("padding", padding)
    return (ph, ph, pw, pw)


def _check_conv(
    xs: tuple, ws: tuple, stride: tuple, pad: tuple, dilation: tuple, groups: int
) -> None:
    """The settings against the shapes, with the C++ core's messages (both backends)."""
    if len(ws) != 4:
        raise ValueError(f"conv2d expects weight (C_out, C_in / groups, kH, kW); got {ws}")
    if groups < 1:
        raise ValueError(f"conv2d: groups must be >= 1, got {groups}")
    if min(stride) < 1:
        raise ValueError(f"conv2d: stride must be >= 1, got {stride}")
    if min(dilation) < 1:
        raise ValueError(f"conv2d: dilation must be >= 1, got {dilation}")
    if min(pad) < 0:
        raise ValueError(f"conv2d: padding must be >= 0, got {min(pad)}")
    if xs[1] % groups or ws[0] % groups or ws[1] * groups != xs[1]:
        raise ValueError(
            f"conv2d: weight {ws} expects {ws[1] * groups} input channels "
            f"(groups={groups}) but the input {xs} has {xs[1]}"
        )
    for size, lo, hi, k, d in (
        (xs[2], pad[0], pad[1], ws[2], dilation[0]),
        (xs[3], pad[2], pad[3], ws[3], dilation[1]),
    ):
        if size + lo + hi < d * (k - 1) + 1:
            raise ValueError(
                f"conv2d: kernel {ws[2]}x{ws[3]} (dilation {dilation[0]}, "
                f"{dilation[1]}) is larger than the padded input {xs}"
            )


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation of (N, C, H, W) input with (C_out, C/groups, kH, kW) weight."""
    x = as_tensor(input)
    if x.ndim != 4:
        raise ValueError(f"conv2d expects input (N, C, H, W); got shape {x.shape}")
    stride, dilation = _pair_arg("stride", stride), _pair_arg("dilation", dilation)
    pad = _conv_padding(padding, tuple(weight.shape[2:]), dilation, stride)
    _check_conv(x.shape, weight.shape, stride, pad, dilation, groups)
    b = None if bias is None else bias.data
    y = _b.active.conv2d_forward(x.data, weight.data, b, stride, pad, dilation, groups)
    inputs = (x, weight) if bias is None else (x, weight, bias)

    def backward(node: Any, g: np.ndarray) -> Any:
        x, w = node.inputs[0], node.inputs[1]
        return _b.active.conv2d_backward(
            g,
            x.data,
            w.data,
            stride,
            pad,
            dilation,
            groups,
            x.requires_grad,
            w.requires_grad,
            len(node.inputs) == 3,
        )

    return wrap(y, inputs, backward)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation of (N, C, L) input with (C_out, C/groups, k) weight (the H = 1
    case of conv2d)."""
    x = as_tensor(input)
    if x.ndim != 3 or weight.ndim != 3:
        raise ValueError(
            f"conv1d expects input (N, C, L) and weight (C_out, C/groups, k); got "
            f"{x.shape} and {weight.shape}"
        )
    (s,), (d,) = _pair_arg("stride", stride, 1), _pair_arg("dilation", dilation, 1)
    if isinstance(padding, str):
        pad = padding
    else:
        (p,) = _pair_arg("padding", padding, 1)
        pad = (0, p)
    x4 = F.unsqueeze(x, 2)
    w4 = F.unsqueeze(weight, 2)
    y = conv2d(x4, w4, bias, (1, s), pad, (1, d), groups)
    return F.squeeze(y, 2)


# ----- pooling --------------------------------------------------------------------


def _check_pool(
    fn: str,
    xs: tuple,
    kernel: tuple,
    stride: tuple,
    padding: tuple,
    dilation: tuple,
    ceil_mode: bool,
) -> None:
    """The settings against the input, with the C++ core's messages (both backends)."""
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1:
        raise ValueError(
            f"{fn}: kernel_size, stride and dilation must be >= 1; got kernel "
            f"{kernel}, stride {stride}"
        )
    for k, p, d in zip(kernel, padding, dilation):
        if p < 0 or 2 * p > d * (k - 1) + 1:
            raise ValueError(
                f"{fn}: padding {padding} must be >= 0 and at most half the kernel size {kernel}"
            )
    for n, k, p, d in zip(xs[2:], kernel, padding, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        if span < 0:
            raise ValueError(f"{fn}: kernel {kernel} is larger than the padded input {xs}")


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Tensor:
    """Max over each window of (N, C, H, W) input; stride defaults to the kernel size."""
    x = as_tensor(input)
    if x.ndim != 4:
        raise ValueError(f"max_pool2d expects input (N, C, H, W); got shape {x.shape}")
    k = _pair_arg("kernel_size", kernel_size)
    args = (
        k,
        _pair_arg("stride", k if stride is None else stride),
        _pair_arg("padding", padding),
        _pair_arg("dilation", dilation),
        ceil_mode,
    )
    _check_pool("max_pool2d", x.shape, *args)
    y, idx = _b.active.maxpool2d_forward(x.data, *args)

    def backward(node: Any, g: np.ndarray) -> Any:
        return (_b.active.maxpool2d_backward(g, idx, node.inputs[0].shape, *args),)

    return wrap(y, (x,), backward)


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean over each window of (N, C, H, W) input (padding zeros count when
    count_include_pad); stride defaults to the kernel size."""
    x = as_tensor(input)
    if x.ndim != 4:
        raise ValueError(f"avg_pool2d expects input (N, C, H, W); got shape {x.shape}")
    k = _pair_arg("kernel_size", kernel_size)
    args = (
        k,
        _pair_arg("stride", k if stride is None else stride),
        _pair_arg("padding", padding),
        ceil_mode,
        count_include_pad,
    )
    _check_pool("avg_pool2d", x.shape, args[0], args[1], args[2], (1, 1), ceil_mode)
    y = _b.active.avgpool2d_forward(x.data, *args)

    def backward(node: Any, g: np.ndarray) -> Any:
        return (_b.active.avgpool2d_backward(g, node.inputs[0].shape, *args),)

    return wrap(y, (x,), backward)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling to a fixed (oH, oW); output_size 1 is global average pooling."""
    x = as_tensor(input)
    if x.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d expects input (N, C, H, W); got {x.shape}")
    size = _pair_arg("output_size", output_size)
    y = _b.active.adaptive_avgpool2d_forward(x.data, size)

    def backward(node: Any, g: np.ndarray) -> Any:
        return (_b.active.adaptive_avgpool2d_backward(g, node.inputs[0].shape),)

    return wrap(y, (x,), backward)


def _pool1d(
    pool2d: Any, input: Tensor, kernel_size: Any, stride: Any, padding: Any, **kwargs: Any
) -> Tensor:
    x = as_tensor(input)
    if x.ndim != 3:
        raise ValueError(f"1-D pooling expects input (N, C, L); got shape {x.shape}")
    (k,) = _pair_arg("kernel_size", kernel_size, 1)
    (s,) = _pair_arg("stride", k if stride is None else stride, 1)
    (p,) = _pair_arg("padding", padding, 1)
    return F.squeeze(pool2d(F.unsqueeze(x, 2), (1, k), (1, s), (0, p), **kwargs), 2)


def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Tensor:
    (d,) = _pair_arg("dilation", dilation, 1)
    return _pool1d(
        max_pool2d, input, kernel_size, stride, padding, dilation=(1, d), ceil_mode=ceil_mode
    )


def avg_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    return _pool1d(
        avg_pool2d,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )


# ----- normalization and dropout --------------------------------------------------


def _norm_backward(kernel: str, extra: tuple) -> Any:
    """The backward of a normalization op with inputs (x, weight?, bias?). Every norm kernel
    takes (grad, x, extra, weight, mean, invstd, need_x, need_weight, need_bias)."""

    def backward(node: Any, g: np.ndarray) -> Any:
        x, weight, bias = node.inputs[0], node.saved[0], node.saved[1]
        need = (
            x.requires_grad,
            weight is not None and weight.requires_grad,
            bias is not None and bias.requires_grad,
        )
        gx, gw, gb = getattr(_b.active, kernel)(
            g, x.data, *extra, None if weight is None else weight.data, *node.saved[2:], *need
        )
        return (gx,) + ((gw,) if weight is not None else ()) + ((gb,) if bias is not None else ())

    return backward


def _norm_inputs(x: Tensor, weight: Tensor | None, bias: Tensor | None) -> tuple:
    return tuple(t for t in (x, weight, bias) if t is not None)


def batch_norm(
    input: Tensor,
    running_mean: Any,
    running_var: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel of (N, C, *) input by the batch's statistics (training; the
    running statistics are updated in place with momentum) or by the running ones."""
    x = as_tensor(input)
    rm = running_mean.data if isinstance(running_mean, Tensor) else running_mean
    rv = running_var.data if isinstance(running_var, Tensor) else running_var
    y, mean, invstd = _b.active.batch_norm_forward(
        x.data,
        None if weight is None else weight.data,
        None if bias is None else bias.data,
        rm,
        rv,
        training,
        momentum,
        eps,
    )
    return wrap(
        y,
        _norm_inputs(x, weight, bias),
        _norm_backward("batch_norm_backward", (training,)),
        (weight, bias, mean, invstd),
    )


def layer_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize over the trailing `normalized_shape` dims of each sample."""
    x = as_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.shape[x.ndim - len(shape) :] != shape:
        raise ValueError(
            f"layer_norm: input of shape {x.shape} does not end with normalized_shape {shape}"
        )
    d = int(np.prod(shape))
    y, mean, invstd = _b.active.layer_norm_forward(
        x.data, d, None if weight is None else weight.data, None if bias is None else bias.data, eps
    )
    return wrap(
        y,
        _norm_inputs(x, weight, bias),
        _norm_backward("layer_norm_backward", (d,)),
        (weight, bias, mean, invstd),
    )


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each group of channels of each sample of (N, C, *) input."""
    x = as_tensor(input)
    y, mean, invstd = _b.active.group_norm_forward(
        x.data,
        num_groups,
        None if weight is None else weight.data,
        None if bias is None else bias.data,
        eps,
    )
    return wrap(
        y,
        _norm_inputs(x, weight, bias),
        _norm_backward("group_norm_backward", (num_groups,)),
        (weight, bias, mean, invstd),
    )


def instance_norm(
    input: Tensor, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Normalize each channel of each sample over its spatial dims (group_norm, C groups)."""
    x = as_tensor(input)
    return group_norm(x, x.shape[1], weight, bias, eps)


def _dropout(x: Tensor, p: float, training: bool, block: int) -> Tensor:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = as_tensor(x)
    if not training or p == 0.0:
        return x
    seed, offset = _random._take(max(1, x.data.size // block))
    y = _b.active.dropout_forward(x.data, p, block, seed, offset)

    def backward(node: Any, g: np.ndarray) -> Any:
        return (_b.active.dropout_backward(g, p, block, seed, offset),)

    return wrap(y, (x,), backward)


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability p (PyTorch's meaning; the
    spec's p is the keep probability 1 - p), scale the rest by 1 / (1 - p). The mask comes
    from pydl's seeded generator, so it is the same for any thread count."""
    return _dropout(input, p, training, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Spatial dropout: zero whole channels of (N, C, H, W) input with probability p."""
    x = as_tensor(input)
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d expects (N, C, H, W) or (C, H, W) input; got {x.shape}")
    return _dropout(x, p, training, x.shape[-1] * x.shape[-2])


# ----- recurrent layers -----------------------------------------------------------

RECURRENT_MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru", "gru_reset_before")


def recurrent_layer(
    x: Tensor,
    h0: Tensor,
    c0: Tensor | None,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    mode: str,
    reverse: bool = False,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """One recurrent layer over (T, B, I) input in one kernel call forward and one backward:
    returns (y (T, B, H), h_n, c_n (LSTM) or None). `reverse` runs from the last step."""
    if mode not in RECURRENT_MODES:
        raise ValueError(f"mode must be one of {RECURRENT_MODES}, got {mode!r}")
    x, h0 = as_tensor(x), as_tensor(h0)
    c0 = None if c0 is None else as_tensor(c0)
    data = lambda t: None if t is None else t.data  # noqa: E731
    y, h_n, c_n, saved = _b.active.recurrent_forward(
        x.data, h0.data, data(c0), w_ih.data, w_hh.data, data(b_ih), data(b_hh), mode, reverse
    )
    has_bias = b_ih is not None
    inputs = tuple(t for t in (x, h0, c0, w_ih, w_hh, b_ih, b_hh) if t is not None)
    # One node produces three outputs: y, h_n, c_n. Their gradients meet in `pending`, and
    # the kernel runs when the graph reaches the node owning y (recorded last).
    pending: dict[str, np.ndarray] = {}

    def backward(node: Any, g: np.ndarray) -> Any:
        dx, dh0, dc0, dwi, dwh, dbi, dbh = _b.active.recurrent_backward(
            g,
            pending.get("h"),
            pending.get("c"),
            x.data,
            h0.data,
            data(c0),
            w_ih.data,
            w_hh.data,
            has_bias,
            y,
            saved,
            mode,
            reverse,
            x.requires_grad,
            h0.requires_grad or (c0 is not None and c0.requires_grad),
            w_ih.requires_grad or w_hh.requires_grad,
        )
        pending.clear()  # a retained graph's next backward starts afresh
        grads = [dx, dh0] + ([dc0] if c0 is not None else []) + [dwi, dwh]
        return tuple(grads + ([dbi, dbh] if has_bias else []))

    def stash(key: str) -> Any:
        def bw(node: Any, g: np.ndarray) -> Any:
            pending[key] = g if key not in pending else pending[key] + g
            return (np.zeros_like(y),)

        return bw

    y_t = wrap(y, inputs, backward)
    h_t = wrap(h_n, (y_t,), stash("h"))
    c_t = None if c_n is None else wrap(c_n, (y_t,), stash("c"))
    return y_t, h_t, c_t


# ----- attention --------------------------------------------------------------------


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """softmax(q k^T * scale + mask) v over (..., L, E) queries and (..., S, E) keys, as
    torch.nn.functional.scaled_dot_product_attention: a bool mask marks the pairs that take
    part, a float mask is added to the scores; is_causal hides keys j > i.

    Without dropout it is one tiled kernel (online softmax, memory linear in the sequence
    length) forward and one backward; with dropout_p > 0 (training) the scores are
    materialized and composed from differentiable ops.
    """
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    if (
        q.ndim < 2
        or q.ndim != k.ndim
        or q.ndim != v.ndim
        or q.shape[:-2] != k.shape[:-2]
        or k.shape[:-2] != v.shape[:-2]
        or q.shape[-1] != k.shape[-1]
        or k.shape[-2] != v.shape[-2]
    ):
        raise ValueError(
            f"scaled_dot_product_attention: query {q.shape}, key {k.shape} and value "
            f"{v.shape} must be (..., L, E), (..., S, E), (..., S, Ev) with equal "
            f"leading dims"
        )
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: pass either attn_mask or is_causal")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    lead, (L, E), S, Ev = q.shape[:-2], q.shape[-2:], k.shape[-2], v.shape[-1]
    scale = 1.0 / float(np.sqrt(E)) if scale is None else float(scale)
    batch = int(np.prod(lead)) if lead else 1
    mask = None
    if attn_mask is not None:
        m = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        try:
            m = np.broadcast_to(m, lead + (L, S))
        except ValueError:
            raise ValueError(
                f"scaled_dot_product_attention: attn_mask of shape {m.shape} does "
                f"not broadcast to {lead + (L, S)}"
            ) from None
        if m.dtype == np.bool_:
            m = np.where(m, 0.0, -np.inf)
        mask = np.asarray(m.reshape(batch, L, S), dtype=q.dtype, order="C")
    if dropout_p > 0.0:
        scores = F.mul(F.matmul(q, F.transpose(k, -2, -1)), scale)
        if mask is not None:
            scores = F.add(scores, as_tensor(mask.reshape(lead + (L, S))))
        if is_causal:
            hide = np.where(np.tril(np.ones((L, S), bool)), 0.0, -np.inf).astype(q.dtype)
            scores = F.add(scores, as_tensor(hide))
        return F.matmul(dropout(softmax(scores, -1), dropout_p), v)
    q3, k3, v3 = (F.reshape(t, (batch,) + t.shape[-2:]) for t in (q, k, v))
    return F.reshape(attention_kernel(q3, k3, v3, mask, scale, is_causal), lead + (L, Ev))


def attention_kernel(
    q: Tensor, k: Tensor, v: Tensor, mask: np.ndarray | None, scale: float, is_causal: bool
) -> Tensor:
    """The tiled attention kernel, forward and backward, on (B, T, D) tensors or, per head,
    on (N, T, H, D) ones as a multi-head layer's projections come (no permutes); mask is
    None or an additive float array (1 or B (= N * H), Tq, Tk)."""
    if mask is not None:
        mask = np.asarray(mask, dtype=q.dtype, order="C")
    out, saved = _b.active.attention_forward(q.data, k.data, v.data, mask, scale, is_causal)

    def backward(node: Any, g: np.ndarray) -> Any:
        qq, kk, vv = node.inputs
        return _b.active.attention_backward(
            g,
            qq.data,
            kk.data,
            vv.data,
            mask,
            out,
            saved,
            scale,
            is_causal,
            qq.requires_grad,
            kk.requires_grad,
            vv.requires_grad,
        )

    return wrap(out, (q, k, v), backward)


def attention_qkv(
    qkv: Tensor, heads: int, mask: np.ndarray | None, scale: float, is_causal: bool
) -> Tensor:
    """Self-attention on a packed projection (N, T, 3 E) = [q | k | v] (each E = heads x D,
    as x W_in^T with PyTorch's in_proj_weight): out (N, T, E), one kernel call each way;
    the gradient comes back packed too. mask as attention_kernel's."""
    if mask is not None:
        mask = np.asarray(mask, dtype=qkv.dtype, order="C")
    out, saved = _b.active.attention_qkv_forward(qkv.data, heads, mask, scale, is_causal)

    def backward(node: Any, g: np.ndarray) -> Any:
        return (
            _b.active.attention_qkv_backward(
                g, qkv.data, heads, mask, out, saved, scale, is_causal
            ),
        )

    return wrap(out, (qkv,), backward)


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of `weight` at integer `input` (any shape); indices outside the table raise
    IndexError (checked by the C++ core too). The padding_idx row gets no gradient."""
    idx = np.asarray(input.data if isinstance(input, Tensor) else input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding indices must be integers, got dtype {idx.dtype}")
    idx = np.asarray(idx, dtype=np.int64, order="C")
    rows = weight.shape[0]
    pad = -1 if padding_idx is None else (padding_idx % rows)
    y = _b.active.embedding_forward(weight.data, idx)

    def backward(node: Any, g: np.ndarray) -> Any:
        return (_b.active.embedding_backward(g, idx, rows, pad),)

    return wrap(y, (weight,), backward)


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """x[start:start + length] along dim 0 as a view (no kernel: a contiguous row range)."""
    if dim != 0:
        raise ValueError("narrow is implemented for dim 0 (rows of a contiguous tensor)")
    if not 0 <= start <= start + length <= x.shape[0]:
        raise IndexError(f"narrow: rows [{start}, {start + length}) outside {x.shape[0]}")

    def backward(node: Any, g: np.ndarray) -> Any:
        full = np.zeros(node.inputs[0].shape, g.dtype)
        full[start : start + length] = g
        return (full,)

    return wrap(x.data[start : start + length], (x,), backward)
