"""Normalization: batch, layer, group and instance norm (cpp/kernels/norm,
pydl/reference/norm)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend as _b
from ..tensor import Tensor, as_tensor, record
from .activation import int_arg, no_integers, real_arg, sqrt
from .layout import cat, reshape
from .pool import avg_pool2d
from .reduce import mean
from .registry import op
from .._dtypes import is_floating


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
            g, x._array, *extra, None if weight is None else weight._array, *node.saved[2:], *need
        )
        # The kernels see weight flattened (layer_norm's normalized_shape may span several
        # dims); the gradient takes the parameter's own shape.
        if gw is not None:
            gw = gw.reshape(weight.shape)
        if gb is not None:
            gb = gb.reshape(bias.shape)
        return (gx,) + ((gw,) if weight is not None else ()) + ((gb,) if bias is not None else ())

    return backward


def _norm_inputs(x: Tensor, weight: Tensor | None, bias: Tensor | None) -> tuple:
    return tuple(t for t in (x, weight, bias) if t is not None)


@op()
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
    no_integers("batch_norm", x)
    eps = real_arg("batch_norm", "eps", eps)
    momentum = real_arg("batch_norm", "momentum", momentum)
    if x.ndim == 1 and x.shape[0] == 0:
        return x * 0  # PyTorch passes an empty 1-D input through (it has no channel dim)
    rm = running_mean._array if isinstance(running_mean, Tensor) else running_mean
    rv = running_var._array if isinstance(running_var, Tensor) else running_var
    y, mean, invstd = _b.active.batch_norm_forward(
        x._array,
        None if weight is None else weight._array,
        None if bias is None else bias._array,
        rm,
        rv,
        training,
        momentum,
        eps,
    )
    return record(
        y,
        _norm_inputs(x, weight, bias),
        _norm_backward("batch_norm_backward", (training,)),
        (weight, bias, mean, invstd),
    )


@op()
def layer_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize over the trailing `normalized_shape` dims of each sample."""
    x = as_tensor(input)
    no_integers("layer_norm", x)
    eps = real_arg("layer_norm", "eps", eps)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.shape[x.ndim - len(shape) :] != shape:
        raise ValueError(
            f"layer_norm: input of shape {x.shape} does not end with normalized_shape {shape}"
        )
    d = int(np.prod(shape))
    y, mean, invstd = _b.active.layer_norm_forward(
        x._array,
        d,
        None if weight is None else weight._array,
        None if bias is None else bias._array,
        eps,
    )
    return record(
        y,
        _norm_inputs(x, weight, bias),
        _norm_backward("layer_norm_backward", (d,)),
        (weight, bias, mean, invstd),
    )


@op()
def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each group of channels of each sample of (N, C, *) input."""
    x = as_tensor(input)
    no_integers("group_norm", x)
    eps = real_arg("group_norm", "eps", eps)
    num_groups = int_arg("group_norm", "num_groups", num_groups)
    y, mean, invstd = _b.active.group_norm_forward(
        x._array,
        num_groups,
        None if weight is None else weight._array,
        None if bias is None else bias._array,
        eps,
    )
    return record(
        y,
        _norm_inputs(x, weight, bias),
        _norm_backward("group_norm_backward", (num_groups,)),
        (weight, bias, mean, invstd),
    )


@op(kernels=())
def instance_norm(
    input: Tensor,
    running_mean: Any = None,
    running_var: Any = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel of each sample of (N, C, *) input over its spatial dims
    (group_norm with C groups). With running statistics given, use_input_stats also updates
    them in place, as PyTorch's: running = (1 - momentum) running + momentum * (the mean
    over the batch of each instance's mean / unbiased variance); use_input_stats=False
    normalizes by the running statistics instead (batch_norm in eval)."""
    x = as_tensor(input)
    no_integers("instance_norm", x)
    eps = real_arg("instance_norm", "eps", eps)
    momentum = real_arg("instance_norm", "momentum", momentum)
    if x.ndim < 2:
        raise ValueError(f"instance_norm expects input (N, C, *); got shape {x.shape}")
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    spatial = int(np.prod(x.shape[2:]))
    if spatial <= 1:
        raise ValueError(
            f"instance_norm: expected more than 1 spatial element when training, got input "
            f"size {x.shape}"
        )
    for stat, unbiased in ((running_mean, False), (running_var, True)):
        if stat is None or x.shape[0] == 0:
            continue
        flat = x._array.reshape(x.shape[0], x.shape[1], spatial)
        inst = flat.var(-1, ddof=1) if unbiased else flat.mean(-1)
        arr = stat._array if isinstance(stat, Tensor) else stat
        arr[...] = (1 - momentum) * arr + momentum * inst.mean(0)
    return group_norm(x, x.shape[1], weight, bias, eps)


@op(kernels=())
def rms_norm(
    input: Tensor, normalized_shape: Any, weight: Tensor | None = None, eps: float | None = None
) -> Tensor:
    """y = x / sqrt(mean(x^2 over the trailing normalized_shape dims) + eps) * weight;
    eps None is the dtype's machine epsilon, as PyTorch's."""
    x = as_tensor(input)
    no_integers("rms_norm", x)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.shape[x.ndim - len(shape) :] != shape or len(shape) > x.ndim:
        raise ValueError(
            f"rms_norm: normalized_shape {shape} must match the trailing dims of the input "
            f"{x.shape}"
        )
    if weight is not None and tuple(weight.shape) != shape:
        raise ValueError(f"rms_norm: weight {weight.shape} must have shape {shape}")
    if eps is None:
        eps = float(np.finfo(x.dtype if is_floating(x.dtype) else np.float32).eps)
    eps = real_arg("rms_norm", "eps", eps)
    dims = tuple(range(x.ndim - len(shape), x.ndim))
    y = x / sqrt(mean(x * x, dims, keepdim=True) + eps)
    return y if weight is None else y * weight


@op(kernels=())
def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """y = x / (k + alpha / size * sum of x^2 over the `size` channels around c)^beta, the
    channel window being [c - size // 2, c + (size - 1) // 2] (zeros beyond), as
    PyTorch's: an average pooling of x^2 along the channels."""
    x = as_tensor(input)
    no_integers("local_response_norm", x)
    if x.ndim < 3:
        raise ValueError(
            f"local_response_norm: expected 3D or higher dimensional input, got {x.ndim}D"
        )
    if size < 1:
        raise ValueError(f"local_response_norm: size must be >= 1, got {size}")
    n, c = x.shape[:2]
    rest = int(np.prod(x.shape[2:]))
    sq = reshape(x * x, (n, 1, c, rest))
    before, after = size // 2, (size - 1) // 2
    parts = [as_tensor(np.zeros((n, 1, m, rest), x.dtype)) for m in (before, after)]
    sq = cat([parts[0], sq, parts[1]], 2)
    div = reshape(avg_pool2d(sq, (size, 1), (1, 1)), x.shape)
    return x / (div * alpha + k) ** beta
