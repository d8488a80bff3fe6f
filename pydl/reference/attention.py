"""Scaled dot-product attention (seed 000 section 8), materializing the score matrix:
out = softmax(q k^T * scale + mask) v, with causal masking of keys j > i."""

import numpy as np

__all__ = ["attention_forward", "attention_backward"]


def _probabilities(q, k, mask, scale, causal):
    s = q @ np.swapaxes(k, 1, 2) * scale
    if mask is not None:
        s = s + mask
    if causal:
        tq, tk = s.shape[1:]
        s = np.where(np.tril(np.ones((tq, tk), bool)), s, -np.inf)
    m = s.max(axis=2, keepdims=True)
    with np.errstate(invalid="ignore"):
        e = np.exp(s - m)
        p = e / e.sum(axis=2, keepdims=True)  # a fully masked row gives NaN, as PyTorch
    return p


def attention_forward(q, k, v, mask, scale, causal):
    """Returns (out, saved): saved is the probability matrix (the reference keeps it)."""
    if q.ndim != 3 or k.shape[2] != q.shape[2] or v.shape[1] != k.shape[1]:
        raise ValueError(f"scaled_dot_product_attention: q {q.shape}, k {k.shape} and v "
                         f"{v.shape} must be (B, Tq, D), (B, Tk, D), (B, Tk, Dv)")
    p = _probabilities(q, k, mask, scale, causal)
    return np.asarray(p @ v, dtype=q.dtype, order="C"), p


def attention_backward(dout, q, k, v, mask, out, saved, scale, causal, need_q, need_k, need_v):
    """dV = P^T dO; dP = dO V^T; dS = P (dP - rowsum(dO * O)); dQ = dS K s; dK = dS^T Q s"""
    p = np.nan_to_num(saved)
    dp = dout @ np.swapaxes(v, 1, 2)
    ds = p * (dp - (dout * out).sum(axis=2, keepdims=True))
    dq = ds @ k * scale if need_q else None
    dk = np.swapaxes(ds, 1, 2) @ q * scale if need_k else None
    dv = np.swapaxes(p, 1, 2) @ dout if need_v else None
    return dq, dk, dv
