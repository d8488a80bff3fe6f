"""Normalization and dropout layers (PyTorch's arguments, defaults and train/eval behaviour)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import _capture
from .. import distributed as dist
from ..autograd.function import Function
from ..tensor import Tensor, _constant, as_tensor
from .._ops.inplace import apply_
from . import _check
from . import functional as NF
from .module import Module, Parameter


class _BatchNorm(Module):
    _ranks: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        layer = type(self).__name__
        num_features = _check.size(layer, "num_features", num_features, minimum=0)
        if momentum is not None:
            momentum = _check.probability(layer, "momentum", momentum)
        eps = _check.finite(layer, "eps", eps)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(np.ones(num_features, dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype)))
            # PyTorch's counter (its state_dicts carry it): momentum=None averages the
            # batch statistics cumulatively, with factor 1 / num_batches_tracked.
            self.register_buffer("num_batches_tracked", Tensor(np.zeros((), np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def _checked(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if x.ndim not in self._ranks or x.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}({self.num_features}) expects input of rank "
                f"{' or '.join(map(str, self._ranks))} with {self.num_features} "
                f"channels, got shape {x.shape}"
            )
        return x

    def _count_batch(self) -> float | None:
        """Count a training batch; the running statistics' momentum for it (momentum=None:
        the cumulative average's 1 / num_batches_tracked)."""
        self.num_batches_tracked._array += 1
        if self.momentum is None:
            return 1.0 / float(self.num_batches_tracked.item())
        return self.momentum

    def forward(self, x: Tensor) -> Tensor:
        x = self._checked(x)
        use_batch = self.training or not self.track_running_stats
        momentum = self.momentum
        if self.training and self.track_running_stats:
            momentum = _capture.live(self._count_batch)  # a replay counts the batch too
        return NF.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=use_batch,
            momentum=0.0 if momentum is None else momentum,
            eps=self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class SyncBatchNorm(_BatchNorm):
    """Batch normalization whose training statistics are those of the whole batch across
    the ranks of pydl.distributed (torch.nn.SyncBatchNorm): each rank normalizes its share
    with the global per-channel mean and variance, and its backward uses the global sums
    of the gradient terms (Note [Synchronized batch statistics]). Input (N, C, *). Outside
    a process group of several ranks, and in eval mode, it is BatchNorm. Turn a model's
    BatchNorm layers into it with SyncBatchNorm.convert_sync_batchnorm(model)."""

    _ranks = (2, 3, 4, 5)

    def forward(self, x: Tensor) -> Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        x = self._checked(x)
        mean, var, count = _global_moments(x._array)
        if count <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size {x.shape} "
                "on all ranks together"
            )
        if self.track_running_stats:
            m = self._count_batch()
            unbiased = var * (count / max(count - 1.0, 1.0))
            rm, rv = self.running_mean._array, self.running_var._array
            rm[...] = (1 - m) * rm + m * mean
            rv[...] = (1 - m) * rv + m * unbiased
        invstd = 1.0 / np.sqrt(var + self.eps)
        params = (self.weight, self.bias) if self.affine else ()
        return _SyncNormalize.apply(x, mean, invstd, count, *params)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module) -> Module:
        """module with every BatchNorm layer (itself or inside) replaced by a SyncBatchNorm
        holding the same parameters and running statistics."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            sync = cls(
                module.num_features, module.eps, module.momentum, module.affine,
                module.track_running_stats,
            )  # fmt: skip
            for name, p in module._parameters.items():
                sync._parameters[name] = p
            for name, b in module._buffers.items():
                sync._buffers[name] = b
            sync.train(module.training)
            return sync
        for name, child in list(module._modules.items()):
            if child is not None:
                module._modules[name] = cls.convert_sync_batchnorm(child)
        return module


# Note [Synchronized batch statistics]: SyncBatchNorm all-reduces, in float64, each
# channel's sum, sum of squares and count over the ranks, so every rank normalizes with the
# statistics one process would compute on the whole batch. Its backward all-reduces the two
# sums the input gradient needs, sum(dy) and sum(dy * xhat), and divides by the global
# count: a rank's input gradient is then that of the sum of all ranks' losses, which
# DistributedDataParallel's average over the ranks turns into the whole batch's mean.
# The weight and bias gradients stay local sums, averaged by DistributedDataParallel as
# any parameter's. Both collectives are blocking and run in the same order on every rank.
def _channel_axes(a: np.ndarray) -> tuple[int, ...]:
    return (0, *range(2, a.ndim))


def _channel_shape(a: np.ndarray) -> tuple[int, ...]:
    return (1, a.shape[1]) + (1,) * (a.ndim - 2)


def _global_moments(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The per-channel mean and (biased) variance over all ranks' inputs, and the count."""
    c, axes = a.shape[1], _channel_axes(a)
    sums = np.concatenate(
        [a.sum(axis=axes, dtype=np.float64), np.square(a, dtype=np.float64).sum(axis=axes),
         [a.size / max(c, 1)]]
    )  # fmt: skip
    dist.all_reduce(_constant(sums))
    count = float(sums[-1])
    mean = sums[:c] / count
    var = np.maximum(sums[c : 2 * c] / count - mean * mean, 0.0)
    return mean, var, count


class _SyncNormalize(Function):
    """y = xhat * weight + bias with xhat = (x - mean) * invstd (the global statistics)."""

    @staticmethod
    def forward(ctx, x, mean, invstd, count, weight=None, bias=None):  # noqa: ANN001, ANN205
        a = x._array
        shape = _channel_shape(a)
        xhat = ((a - mean.reshape(shape)) * invstd.reshape(shape)).astype(a.dtype)
        ctx.xhat, ctx.invstd, ctx.count, ctx.affine = xhat, invstd, count, weight is not None
        ctx.weight = None if weight is None else weight._array
        y = (
            xhat
            if weight is None
            else xhat * weight._array.reshape(shape) + bias._array.reshape(shape)
        )
        return Tensor(y.astype(a.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001, ANN205
        g, xhat = grad._array, ctx.xhat
        axes, shape, c = _channel_axes(g), _channel_shape(g), g.shape[1]
        local = np.concatenate(
            [g.sum(axis=axes, dtype=np.float64), (g * xhat).sum(axis=axes, dtype=np.float64)]
        )
        sums = local.copy()
        dist.all_reduce(_constant(sums))
        scale = ctx.invstd if ctx.weight is None else ctx.invstd * ctx.weight
        mean_dy = (sums[:c] / ctx.count).reshape(shape)
        mean_dy_xhat = (sums[c:] / ctx.count).reshape(shape)
        dx = (scale.reshape(shape) * (g - mean_dy - xhat * mean_dy_xhat)).astype(g.dtype)
        grads = [Tensor(dx), None, None, None]
        if ctx.affine:
            grads += [Tensor(local[c:].astype(g.dtype)), Tensor(local[:c].astype(g.dtype))]
        return tuple(grads)


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) input, per channel."""

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W) input, per channel; eval mode uses the running
    mean and variance gathered in training."""

    _ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalization over (N, C, D, H, W) input, per channel."""

    _ranks = (5,)


class LayerNorm(Module):
    """Normalization over the trailing normalized_shape dims of each sample."""

    def __init__(
        self,
        normalized_shape: Any,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        shape = _check.shape("LayerNorm", "normalized_shape", normalized_shape, minimum=0)
        eps = _check.finite("LayerNorm", "eps", eps)
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        self.weight = Parameter(np.ones(shape, dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape, dtype)) if elementwise_affine and bias else None

    def forward(self, x: Tensor) -> Tensor:
        return NF.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class RMSNorm(Module):
    """Root-mean-square normalization over the trailing normalized_shape dims:
    x / sqrt(mean(x^2) + eps) * weight (eps None: the dtype's machine epsilon)."""

    def __init__(
        self,
        normalized_shape: Any,
        eps: float | None = None,
        elementwise_affine: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        shape = _check.shape("RMSNorm", "normalized_shape", normalized_shape, minimum=0)
        eps = None if eps is None else _check.finite("RMSNorm", "eps", eps)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        self.weight = Parameter(np.ones(shape, dtype)) if elementwise_affine else None

    def forward(self, x: Tensor) -> Tensor:
        return NF.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class LocalResponseNorm(Module):
    """Normalization across neighbouring channels (AlexNet's): x / (k + alpha / size *
    sum of x^2 over `size` channels around)^beta."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        size = _check.size("LocalResponseNorm", "size", size)
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return NF.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class GroupNorm(Module):
    """Normalization over groups of channels of each sample."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        num_groups = _check.size("GroupNorm", "num_groups", num_groups)
        num_channels = _check.size("GroupNorm", "num_channels", num_channels, minimum=0)
        if num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels {num_channels} must be divisible by "
                f"num_groups {num_groups}"
            )
        eps = _check.finite("GroupNorm", "eps", eps)
        self.num_groups, self.num_channels, self.eps = num_groups, num_channels, eps
        self.affine = affine
        self.weight = Parameter(np.ones(num_channels, dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_channels, dtype)) if affine else None

    def forward(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"GroupNorm({self.num_groups}, {self.num_channels}) expects input "
                f"(N, {self.num_channels}, *), got shape {x.shape}"
            )
        return NF.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class InstanceNorm2d(Module):
    """Per-sample, per-channel normalization over (H, W) (PyTorch's defaults: no affine, no
    running statistics)."""

    def __init__(
        self, num_features: int, eps: float = 1e-5, affine: bool = False, dtype: Any = np.float32
    ) -> None:
        super().__init__()
        num_features = _check.size("InstanceNorm2d", "num_features", num_features, minimum=0)
        eps = _check.finite("InstanceNorm2d", "eps", eps)
        self.num_features, self.eps, self.affine = num_features, eps, affine
        self.momentum, self.track_running_stats = 0.1, False  # as PyTorch's defaults
        self.weight = Parameter(np.ones(num_features, dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype)) if affine else None

    def forward(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(
                f"InstanceNorm2d({self.num_features}) expects input (N, "
                f"{self.num_features}, H, W), got shape {x.shape}"
            )
        return NF.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class Dropout(Module):
    """Inverted dropout. p is the probability of zeroing an element (PyTorch's meaning; the
    spec's p is the keep probability, i.e. 1 - p here). Identity in eval mode."""

    _fn = staticmethod(NF.dropout)

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        p = _check.probability(type(self).__name__, "p", p)
        self.p, self.inplace = p, bool(inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"

    def forward(self, x: Tensor) -> Tensor:
        if self.inplace and self.training:
            return apply_(x, "dropout", lambda t: self._fn(t, self.p, True))
        return self._fn(x, self.p, self.training)


class Dropout2d(Dropout):
    """Spatial dropout: zeroes whole channels of (N, C, H, W) input with probability p.
    As PyTorch 2.13: 3-D input is taken as (N, C, L) (channels of length L, with a
    warning) and 2-D input gets plain elementwise dropout (with a deprecation warning)."""

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 2:
            warnings.warn(
                "dropout2d: Received a 2-D input to dropout2d, which is deprecated and will "
                "result in an error in a future release. To retain the behavior and silence "
                "this warning, please use dropout instead.",
                stacklevel=2,
            )
            return self._drop(x, NF.dropout)
        if x.ndim == 3:
            warnings.warn(
                "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
                "dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
                "is the channel dim. This behavior will change in a future release to interpret "
                "the input as one without a batch dimension, i.e. shape (C, H, W). To maintain "
                "the 1D channel-wise dropout behavior, please switch to using dropout1d instead.",
                stacklevel=2,
            )
            return self._drop(x, _channels(NF.unsqueeze(x, -1).shape, x.shape))
        return self._drop(x, NF.dropout2d)

    def _drop(self, x: Tensor, fn: Any) -> Tensor:
        if self.inplace and self.training:
            return apply_(x, "dropout", lambda t: fn(t, self.p, True))
        return fn(x, self.p, self.training)


def _channels(shape4: tuple, shape: tuple) -> Any:
    """Channel dropout of a tensor of `shape` as dropout2d of it reshaped to `shape4`
    (whose last two dims hold one channel's elements)."""

    def fn(x: Tensor, p: float, training: bool) -> Tensor:
        return NF.reshape(NF.dropout2d(NF.reshape(x, shape4), p, training), shape)

    return fn


class Dropout1d(Dropout2d):
    """Zeroes whole channels of (N, C, L) or (C, L) input with probability p."""

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (2, 3):
            raise RuntimeError(
                f"dropout1d: Expected 2D or 3D input, but received a {x.ndim}D input"
            )
        return self._drop(x, _channels(x.shape + (1,), x.shape))


class Dropout3d(Dropout2d):
    """Zeroes whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability p."""

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (4, 5):
            raise RuntimeError(
                f"dropout3d: Expected 4D or 5D input, but received a {x.ndim}D input"
            )
        return self._drop(x, _channels(x.shape[:-2] + (x.shape[-2] * x.shape[-1],), x.shape))


class AlphaDropout(Dropout):
    """Dropout for SELU networks: dropped elements take SELU's negative saturation value
    and an affine map keeps the mean and variance (PyTorch's alpha_dropout)."""

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return NF.mul(x, 0.0)
        alpha = -1.7580993408473766  # -selu scale * selu alpha
        p = self.p
        a = ((1 - p) * (1 + p * alpha**2)) ** -0.5
        b = -a * alpha * p
        ones = Tensor(np.ones(x.shape, x.dtype))
        keep = NF.dropout(ones, p, True)._array * (1 - p)  # 1 kept, 0 dropped
        scale = Tensor((a * keep).astype(x.dtype))
        shift = Tensor((a * alpha * (1 - keep) + b).astype(x.dtype))
        return NF.add(NF.mul(x, scale), shift)
