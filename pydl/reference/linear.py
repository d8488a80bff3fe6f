"""Linear layer and (batched, broadcast) matmul."""

import numpy as np

from ._util import sum_to


def linear_forward(x, w, b):
    """y = x W^T + b"""
    if w.ndim != 2 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input {x.shape} does not match weight {w.shape}")
    y = x @ w.T
    if b is not None:
        y = y + b
    return np.asarray(y, dtype=x.dtype, order="C")


def linear_backward(grad, x, w, has_bias, need_x=True, need_w=True):
    """dx = g W, dW = g^T x (summed over leading dims), db = sum of g over rows"""
    g2 = grad.reshape(-1, w.shape[0])
    x2 = x.reshape(-1, w.shape[1])
    gx = np.asarray((g2 @ w).reshape(x.shape), dtype=x.dtype, order="C") if need_x else None
    gw = np.asarray(g2.T @ x2, dtype=w.dtype, order="C") if need_w else None
    gb = np.asarray(g2.sum(axis=0), dtype=w.dtype, order="C") if has_bias else None
    return gx, gw, gb


def matmul_forward(a, b):
    """a @ b with broadcast batch dims (both operands at least 2-D)"""
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned")
    return np.asarray(np.matmul(a, b), dtype=np.result_type(a, b), order="C")


def matmul_backward(grad, a, b, need_a=True, need_b=True):
    """da = g b^T, db = a^T g, each summed over the batch dims it was broadcast along"""
    ga = sum_to(grad @ np.swapaxes(b, -1, -2), a.shape) if need_a else None
    gb = sum_to(np.swapaxes(a, -1, -2) @ grad, b.shape) if need_b else None
    return ga, gb


def _act(name, z):
    from . import activation as A

    if name == "none":
        return z
    fwd = {
        "relu": A.relu_forward,
        "gelu": A.gelu_forward,
        "tanh": A.tanh_forward,
        "sigmoid": A.sigmoid_forward,
    }
    if name not in fwd:
        raise ValueError(
            f"activation must be 'none', 'relu', 'gelu', 'tanh' or 'sigmoid'; got {name!r}"
        )
    return fwd[name](z)


def linear_act_forward(x, w, b, activation, save=True):
    """y = act(x W^T + b); returns (y, z) with z = x W^T + b kept only for gelu, and only
    when save (the backward will run)"""
    z = linear_forward(x, w, b)
    y = _act(activation, z)
    return np.asarray(y, order="C"), (z if activation == "gelu" and save else None)


def linear_act_backward(grad, x, w, y, pre, has_bias, activation, need_x=True, need_w=True):
    """dz = grad * act'(z) (from y, or from z for gelu), then linear_backward"""
    from . import activation as A

    if activation == "none":
        gz = grad
    elif activation == "gelu":
        gz = A.gelu_backward(grad, pre, y)
    else:
        gz = getattr(A, activation + "_backward")(grad, y, y)
    return linear_backward(gz, x, w, has_bias, need_x, need_w)
