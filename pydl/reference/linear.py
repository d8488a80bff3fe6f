"""Linear layer and (batched, broadcast) matmul."""

import numpy as np

from ._bf16 import matmul_bf16
from ._util import sum_to
from .activation import _fused_forward


def _product(a, b, bf16):
    return matmul_bf16(a, b) if bf16 else a @ b


def linear_forward(x, w, b, bf16=False):
    """y = x W^T + b (with bf16, the product as sbgemm's: matmul_bf16)"""
    if w.ndim != 2 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input {x.shape} does not match weight {w.shape}")
    _check_bf16(bf16, x, "linear_forward")
    y = _product(x, w.T, bf16)
    if b is not None:
        y = y + b
    return np.asarray(y, dtype=x.dtype, order="C")


def _check_bf16(bf16, x, fn):
    if bf16 and x.dtype != np.float32:
        raise ValueError(f"{fn}: bf16 products take float32 operands, got {x.dtype}")


def linear_backward(grad, x, w, has_bias, need_x=True, need_w=True, bf16=False):
    """dx = g W, dW = g^T x (summed over leading dims), db = sum of g over rows"""
    _check_bf16(bf16, grad, "linear_backward")
    g2 = grad.reshape(-1, w.shape[0])
    x2 = x.reshape(-1, w.shape[1])
    gx = (
        np.asarray(_product(g2, w, bf16).reshape(x.shape), dtype=x.dtype, order="C")
        if need_x
        else None
    )
    gw = np.asarray(_product(g2.T, x2, bf16), dtype=w.dtype, order="C") if need_w else None
    gb = np.asarray(g2.sum(axis=0), dtype=w.dtype, order="C") if has_bias else None
    return gx, gw, gb


def matmul_forward(a, b, bf16=False):
    """a @ b with broadcast batch dims (both operands at least 2-D)"""
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned")
    _check_bf16(bf16, a, "matmul_forward")
    return np.asarray(_product(a, b, bf16), dtype=np.result_type(a, b), order="C")


def matmul_backward(grad, a, b, need_a=True, need_b=True, bf16=False):
    """da = g b^T, db = a^T g, each summed over the batch dims it was broadcast along"""
    _check_bf16(bf16, grad, "matmul_backward")
    ga = sum_to(_product(grad, np.swapaxes(b, -1, -2), bf16), a.shape) if need_a else None
    gb = sum_to(_product(np.swapaxes(a, -1, -2), grad, bf16), b.shape) if need_b else None
    return ga, gb


def linear_act_forward(x, w, b, activation, save=True, bf16=False):
    """y = act(x W^T + b); returns (y, z) with z = x W^T + b kept only for gelu, and only
    when save (the backward will run)"""
    z = linear_forward(x, w, b, bf16)
    y = _fused_forward(activation, z)
    return np.asarray(y, order="C"), (z if activation == "gelu" and save else None)


def linear_act_backward(
    grad, x, w, y, pre, has_bias, activation, need_x=True, need_w=True, bf16=False
):
    """dz = grad * act'(z) (from y, or from z for gelu), then linear_backward"""
    from . import activation as A

    if activation == "none":
        gz = grad
    elif activation == "gelu":
        gz = A.gelu_backward(grad, pre, y)
    else:
        gz = getattr(A, activation + "_backward")(grad, y, y)
    return linear_backward(gz, x, w, has_bias, need_x, need_w, bf16)
