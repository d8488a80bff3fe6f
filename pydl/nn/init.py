"""Weight initializers (seed 000 section 16), drawing from pydl's seeded generator.

fan_in/fan_out of a (out, in, *kernel) weight are in * prod(kernel) and out * prod(kernel).
"""

from __future__ import annotations

import math

from ..tensor import Tensor, no_grad

_GAINS = {
    "linear": 1.0,
    "sigmoid": 1.0,
    "tanh": 5.0 / 3.0,
    "relu": math.sqrt(2.0),
    "selu": 0.75,
    "conv1d": 1.0,
    "conv2d": 1.0,
}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's recommended gains."""
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity not in _GAINS:
        raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")
    return _GAINS[nonlinearity]


def _fans(t: Tensor) -> tuple[int, int]:
    if t.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor of rank >= 2, got shape {t.shape}")
    receptive = 1
    for s in t.shape[2:]:
        receptive *= s
    return t.shape[1] * receptive, t.shape[0] * receptive


# The fills are the tensor's in-place ops under no_grad (Note [In-place ops]): they count
# the write on the version counter and reach every view of the memory.
@no_grad()
def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with U[a, b)."""
    return t.uniform_(a, b)


@no_grad()
def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with N(mean, std^2)."""
    return t.normal_(mean, std)


@no_grad()
def zeros_(t: Tensor) -> Tensor:
    return t.zero_()


@no_grad()
def ones_(t: Tensor) -> Tensor:
    return t.fill_(1)


@no_grad()
def constant_(t: Tensor, value: float) -> Tensor:
    return t.fill_(value)


def xavier_uniform_(t: Tensor, gain: float = 1.0) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot)."""
    fan_in, fan_out = _fans(t)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a)


def xavier_normal_(t: Tensor, gain: float = 1.0) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)), the same variance."""
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _fan(t: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(t)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(
    t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """U(-b, b) with b = gain * sqrt(3 / fan)."""
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(t, mode))
    return uniform_(t, -bound, bound)


def kaiming_normal_(
    t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan); for ReLU (gain sqrt 2) std = sqrt(2 / n_in),
    the spec's He initialization (its N(0, sqrt(2/n_in)) names the standard deviation)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(t, mode))
    return normal_(t, 0.0, std)


def lecun_normal_(t: Tensor) -> Tensor:
    """N(0, 1 / fan_in) (LeCun). Seed 001 calls W ~ N(0, 1/n_in) "Xavier initialization";
    it is LeCun's: Glorot's variance is 2 / (fan_in + fan_out) (xavier_normal_). Not in
    torch.nn.init (jax.nn.initializers.lecun_normal, untruncated here)."""
    fan_in, _ = _fans(t)
    return normal_(t, 0.0, 1.0 / math.sqrt(fan_in))


def lecun_uniform_(t: Tensor) -> Tensor:
    """U(-a, a) with a = sqrt(3 / fan_in): LeCun's variance 1 / fan_in, uniform."""
    fan_in, _ = _fans(t)
    a = math.sqrt(3.0 / fan_in)
    return uniform_(t, -a, a)
