"""Scaled dot-product attention (seed 000 section 8), materializing the score matrix:
out = softmax(q k^T * scale + mask) v, with causal masking of keys j > i."""

import numpy as np

from ._bf16 import matmul_bf16


def _mm(a, b, bf16):
    """a @ b, with bf16 as the kernel's products under autocast (Note [Autocast])"""
    return matmul_bf16(a, b) if bf16 else a @ b


def _probabilities(q, k, mask, scale, causal, bf16=False):
    s = _mm(q, np.swapaxes(k, 1, 2), bf16) * scale
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


def _slices(x):
    """(N, T, H, D) -> (N * H, T, D): each head a slice, as the kernel's heads layout."""
    n, t, h, d = x.shape
    return x.transpose(0, 2, 1, 3).reshape(n * h, t, d)


def _unslice(x, like):
    """(N * H, T, D) -> (N, T, H, D), the layout of `like`."""
    n, _, h, _ = like.shape
    return np.ascontiguousarray(x.reshape(n, h, x.shape[1], x.shape[2]).transpose(0, 2, 1, 3))


def attention_forward(q, k, v, mask, scale, causal, bf16=False):
    """Returns (out, saved): saved is the probability matrix (the reference keeps it).
    q, k, v are (B, T, D) or, per head, (N, T, H, D) (then out is too)."""
    per_head = (
        q.ndim == k.ndim == v.ndim == 4
        and q.shape[0] == k.shape[0] == v.shape[0]
        and q.shape[2] == k.shape[2] == v.shape[2]
    )
    if per_head:  # the 3-D case below checks the rest
        out, p = attention_forward(_slices(q), _slices(k), _slices(v), mask, scale, causal, bf16)
        return _unslice(out, q), p
    if q.ndim != 3 or k.shape[2] != q.shape[2] or v.shape[1] != k.shape[1]:
        raise ValueError(
            f"scaled_dot_product_attention: q {q.shape}, k {k.shape} and v "
            f"{v.shape} must be (B, Tq, D), (B, Tk, D), (B, Tk, Dv) or (N, Tq, H, "
            f"D), (N, Tk, H, D), (N, Tk, H, Dv)"
        )
    p = _probabilities(q, k, mask, scale, causal, bf16)
    return np.asarray(_mm(p, v, bf16), dtype=q.dtype, order="C"), p


def attention_backward(
    dout, q, k, v, mask, out, saved, scale, causal, need_q, need_k, need_v, bf16=False
):
    """dV = P^T dO; dP = dO V^T; dS = P (dP - rowsum(dO * O)); dQ = dS K s; dK = dS^T Q s"""
    if q.ndim == 4:
        grads = attention_backward(
            _slices(dout),
            _slices(q),
            _slices(k),
            _slices(v),
            mask,
            _slices(out),
            saved,
            scale,
            causal,
            need_q,
            need_k,
            need_v,
            bf16,
        )
        return tuple(None if g is None else _unslice(g, x) for g, x in zip(grads, (q, k, v)))
    p = saved  # NaN (from NaN or infinite inputs) propagates, as PyTorch's
    dp = _mm(dout, np.swapaxes(v, 1, 2), bf16)
    ds = p * (dp - (dout * out).sum(axis=2, keepdims=True))
    dq = _mm(ds, k, bf16) * scale if need_q else None
    dk = _mm(np.swapaxes(ds, 1, 2), q, bf16) * scale if need_k else None
    dv = _mm(np.swapaxes(p, 1, 2), dout, bf16) if need_v else None
    return dq, dk, dv


def _split_qkv(qkv, heads):
    n, t, e3 = qkv.shape
    if heads <= 0 or e3 % (3 * heads):
        raise ValueError(
            f"attention: packed qkv {qkv.shape} must be (N, T, 3 * E) with E "
            f"divisible by {heads} heads"
        )
    return [x.reshape(n, t, heads, e3 // (3 * heads)) for x in np.split(qkv, 3, axis=2)]


def attention_qkv_forward(qkv, heads, mask, scale, causal, bf16=False):
    """Self-attention on a packed projection (N, T, 3 E) = [q | k | v]: out (N, T, E)."""
    q, k, v = _split_qkv(qkv, heads)
    out, p = attention_forward(q, k, v, mask, scale, causal, bf16)
    return out.reshape(out.shape[0], out.shape[1], out.shape[2] * out.shape[3]), p


def attention_qkv_backward(dout, qkv, heads, mask, out, saved, scale, causal, bf16=False):
    """d(qkv) = [dq | dk | dv] in the packed layout."""
    q, k, v = _split_qkv(qkv, heads)
    shape = q.shape[:3] + (out.shape[2] // heads,)  # explicit: no -1 when N or T is 0
    grads = attention_backward(
        dout.reshape(shape),
        q,
        k,
        v,
        mask,
        out.reshape(shape),
        saved,
        scale,
        causal,
        True,
        True,
        True,
        bf16,
    )
    n, t = qkv.shape[:2]
    return np.concatenate([g.reshape(n, t, g.shape[2] * g.shape[3]) for g in grads], axis=2)
