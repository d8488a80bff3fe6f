"""Elementwise math and activations: <op>_forward(x, *p) and <op>_backward(grad, x, y, *p)."""

import math

import numpy as np

_ERF = np.vectorize(math.erf, otypes=[np.float64])
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def _c(x, like):
    # np.asarray, not np.ascontiguousarray: that one makes a 0-d result 1-d.
    return np.asarray(x, dtype=like.dtype, order="C")


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return np.where(
            x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x)))
        )


def _softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _fused_op(name):
    """A fused activation's name (linear_act, conv2d, batch_norm, and conv2d's and
    max_pool2d's backward): C++'s rows of Note [Unary op list] marked fusable; None for
    'none'."""
    if name == "none":
        return None
    if name not in ("relu", "gelu", "tanh", "sigmoid"):
        raise ValueError(
            f"activation must be 'none', 'relu', 'gelu', 'tanh' or 'sigmoid'; got {name!r}"
        )
    return name


def _fused_forward(name, z):
    """act(z), or z itself for 'none'"""
    op = _fused_op(name)
    return z if op is None else globals()[op + "_forward"](z)


def _fused_backward(name, grad, x, y, who):
    """grad * act'(x), from x = the pre-activation and y = act(x), both shaped like grad"""
    op = _fused_op(name)
    if op is None:
        return grad
    if x is None or y is None:
        raise ValueError(f"{who}: activation {name!r} needs act_x and act_y")
    if x.shape != grad.shape or y.shape != grad.shape:
        raise ValueError(
            f"{who}: act_x {x.shape} and act_y {y.shape} must match the input {grad.shape}"
        )
    return globals()[op + "_backward"](grad, x, y)


def neg_forward(x):
    return _c(-x, x)


def neg_backward(grad, x, y):
    return _c(-grad, x)


def exp_forward(x):
    return _c(np.exp(x), x)


def exp_backward(grad, x, y):
    return _c(grad * y, x)


def log_forward(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return _c(np.log(x), x)


def log_backward(grad, x, y):
    """d log x = 1 / x"""
    with np.errstate(divide="ignore"):
        return _c(grad / x, x)


def sqrt_forward(x):
    with np.errstate(invalid="ignore"):
        return _c(np.sqrt(x), x)


def sqrt_backward(grad, x, y):
    """d sqrt x = 1 / (2 sqrt x)"""
    with np.errstate(divide="ignore"):
        return _c(grad * 0.5 / y, x)


def abs_forward(x):
    return _c(np.abs(x), x)


def abs_backward(grad, x, y):
    return _c(grad * np.sign(x), x)


def clamp_forward(x, lo, hi):
    return _c(np.minimum(np.maximum(x, lo), hi), x)


def clamp_backward(grad, x, y, lo, hi):
    return _c(grad * ((x >= lo) & (x <= hi)), x)


def sigmoid_forward(x):
    """1 / (1 + e^-x)"""
    return _c(_sigmoid(x), x)


def sigmoid_backward(grad, x, y):
    """sigma' = sigma (1 - sigma)"""
    return _c(grad * y * (1 - y), x)


def tanh_forward(x):
    return _c(np.tanh(x), x)


def tanh_backward(grad, x, y):
    return _c(grad * (1 - y * y), x)


def relu_forward(x):
    return _c(np.where(x > 0, x, 0), x)


def relu_backward(grad, x, y):
    return _c(grad * (x > 0), x)


def leaky_relu_forward(x, slope):
    """x if x >= 0 else slope x"""
    return _c(np.where(x >= 0, x, slope * x), x)


def leaky_relu_backward(grad, x, y, slope):
    return _c(grad * np.where(x > 0, 1, slope), x)


def elu_forward(x, alpha):
    """x if x > 0 else alpha (e^x - 1)"""
    return _c(np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))), x)


def elu_backward(grad, x, y, alpha):
    return _c(grad * np.where(x > 0, 1, y + alpha), x)


def selu_forward(x):
    """scale * elu(x, alpha) with the SELU constants"""
    return _c(SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))), x)


def selu_backward(grad, x, y):
    return _c(grad * SELU_SCALE * np.where(x > 0, 1, SELU_ALPHA * np.exp(np.minimum(x, 0))), x)


def gelu_forward(x):
    """x Phi(x) = x/2 (1 + erf(x / sqrt 2))"""
    return _c(0.5 * x * (1 + _ERF(x / math.sqrt(2))), x)


def gelu_backward(grad, x, y):
    """Phi(x) + x phi(x)"""
    d = 0.5 * (1 + _ERF(x / math.sqrt(2))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return _c(grad * d, x)


_K = math.sqrt(2 / math.pi)


def gelu_tanh_forward(x):
    """x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))"""
    return _c(0.5 * x * (1 + np.tanh(_K * (x + 0.044715 * x**3))), x)


def gelu_tanh_backward(grad, x, y):
    t = np.tanh(_K * (x + 0.044715 * x**3))
    d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _K * (1 + 3 * 0.044715 * x * x)
    return _c(grad * d, x)


def silu_forward(x):
    """x sigma(x)"""
    return _c(x * _sigmoid(x), x)


def silu_backward(grad, x, y):
    """sigma(x) + x sigma(x) (1 - sigma(x))"""
    s = _sigmoid(x)
    return _c(grad * (s + x * s * (1 - s)), x)


def mish_forward(x):
    """x tanh(softplus(x))"""
    return _c(x * np.tanh(_softplus(x)), x)


def mish_backward(grad, x, y):
    """tanh(sp) + x sech^2(sp) sigma(x)"""
    t = np.tanh(_softplus(x))
    return _c(grad * (t + x * (1 - t * t) * _sigmoid(x)), x)


def softplus_forward(x, beta, threshold):
    """log(1 + e^(beta x)) / beta; x where beta x > threshold"""
    return _c(np.where(beta * x > threshold, x, _softplus(beta * x) / beta), x)


def softplus_backward(grad, x, y, beta, threshold):
    """sigma(beta x); 1 where beta x > threshold"""
    return _c(grad * np.where(beta * x > threshold, 1, _sigmoid(beta * x)), x)


def logsigmoid_forward(x):
    """log sigmoid(x) = min(x, 0) - log(1 + e^-|x|) (no overflow for any x)"""
    return _c(np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))), x)


def logsigmoid_backward(grad, x, y):
    """d log sigmoid(x) = 1 - sigmoid(x) = sigmoid(-x)"""
    return _c(grad * _sigmoid(-x), x)


def tanhshrink_forward(x):
    """x - tanh(x)"""
    return _c(x - np.tanh(x), x)


def tanhshrink_backward(grad, x, y):
    """d (x - tanh x) = tanh(x)^2"""
    return _c(grad * np.tanh(x) ** 2, x)


def sin_forward(x):
    return _c(np.sin(x), x)


def sin_backward(grad, x, y):
    return _c(grad * np.cos(x), x)


def cos_forward(x):
    return _c(np.cos(x), x)


def cos_backward(grad, x, y):
    return _c(-grad * np.sin(x), x)


def softsign_forward(x):
    """x / (1 + |x|)"""
    return _c(x / (1 + np.abs(x)), x)


def softsign_backward(grad, x, y):
    """1 / (1 + |x|)^2"""
    return _c(grad / (1 + np.abs(x)) ** 2, x)


def hard_sigmoid_forward(x, slope, offset):
    """max(0, min(1, slope x + offset))"""
    return _c(np.clip(slope * x + offset, 0, 1), x)


def hard_sigmoid_backward(grad, x, y, slope, offset):
    z = slope * x + offset
    return _c(grad * np.where((z > 0) & (z < 1), slope, 0), x)


def hard_tanh_forward(x, lo, hi):
    """clamp(x, lo, hi)"""
    return _c(np.clip(x, lo, hi), x)


def hard_tanh_backward(grad, x, y, lo, hi):
    return _c(grad * ((x > lo) & (x < hi)), x)


def _prelu_w(x, w):
    """The slope broadcast against x (channel axis 1)."""
    if w.size == 1 or x.ndim < 2:
        return w.reshape(())
    return w.reshape((1, -1) + (1,) * (x.ndim - 2))


def prelu_forward(x, weight):
    """x if x >= 0 else w_c x"""
    if weight.size not in (1, x.shape[1] if x.ndim >= 2 else 1):
        raise ValueError(
            f"prelu weight has {weight.size} values but the input {x.shape} has "
            f"{x.shape[1] if x.ndim >= 2 else 1} channels"
        )
    return _c(np.where(x >= 0, x, _prelu_w(x, weight) * x), x)


def prelu_backward(grad, x, weight):
    """dx = 1 or w_c; dw_c = sum of grad * x over x < 0 in channel c"""
    w = _prelu_w(x, weight)
    gx = np.where(x >= 0, grad, w * grad)
    gw_full = np.where(x < 0, grad * x, 0)
    if weight.size == 1 or x.ndim < 2:
        gw = np.array([gw_full.sum()])
    else:
        gw = gw_full.sum(axis=tuple(i for i in range(x.ndim) if i != 1))
    return _c(gx, x), _c(gw.reshape(weight.shape), weight)


def softmax_forward(x, axis):
    """e^(x_i - max) / sum_j e^(x_j - max)"""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return _c(e / e.sum(axis=axis, keepdims=True), x)


def softmax_backward(grad, y, axis):
    """dx = y (g - sum(g y))"""
    return _c(y * (grad - (grad * y).sum(axis=axis, keepdims=True)), y)


def log_softmax_forward(x, axis):
    """x - max - log sum e^(x - max)"""
    s = x - x.max(axis=axis, keepdims=True)
    return _c(s - np.log(np.exp(s).sum(axis=axis, keepdims=True)), x)


def log_softmax_backward(grad, y, axis):
    """dx = g - softmax(x) sum(g)"""
    return _c(grad - np.exp(y) * grad.sum(axis=axis, keepdims=True), y)


def hardswish_forward(x):
    """x relu6(x + 3) / 6"""
    return _c(x * np.clip(x + 3, 0, 6) / 6, x)


def hardswish_backward(grad, x, y):
    """0 below -3, x / 3 + 1/2 up to 3, 1 above"""
    return _c(grad * np.where(x < -3, 0, np.where(x <= 3, x / 3 + 0.5, 1)), x)


def celu_forward(x, alpha):
    """x if x > 0 else alpha (e^(x / alpha) - 1)"""
    return _c(np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0) / alpha)), x)


def celu_backward(grad, x, y, alpha):
    """1 if x > 0 else e^(x / alpha)"""
    return _c(grad * np.where(x > 0, 1, np.exp(np.minimum(x, 0) / alpha)), x)


def softshrink_forward(x, lambd):
    """x - lambd above lambd, x + lambd below -lambd, else 0"""
    return _c(np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0)), x)


def softshrink_backward(grad, x, y, lambd):
    """1 where |x| > lambd, else 0"""
    return _c(grad * ((x > lambd) | (x < -lambd)), x)


def hardshrink_forward(x, lambd):
    """x where |x| > lambd, else 0"""
    return _c(np.where((x > lambd) | (x < -lambd), x, 0), x)


def hardshrink_backward(grad, x, y, lambd):
    """1 where |x| > lambd, else 0"""
    return _c(grad * ((x > lambd) | (x < -lambd)), x)


def threshold_forward(x, threshold, value):
    """value where x <= threshold, else x"""
    return _c(np.where(x <= threshold, value, x), x)


def threshold_backward(grad, x, y, threshold, value):
    """0 where x <= threshold, else 1"""
    return _c(np.where(x <= threshold, 0, grad), x)
