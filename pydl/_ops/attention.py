"""Attention: the tiled online-softmax kernel on (B, T, D), per-head (N, T, H, D) and
packed-projection layouts (cpp/kernels/attention, pydl/reference/attention)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _capture
from .. import backend as _b
from ..amp import bf16_kwargs
from ..tensor import Tensor, as_tensor, grad_needed, record
from .activation import softmax
from .dropout import dropout
from .elementwise import add, mul
from .layout import expand, reshape, transpose, unsqueeze
from .linear import matmul
from .registry import op
from .._dtypes import is_floating


def causal_mask(length: int, source_length: int, dtype: Any) -> np.ndarray:
    """The additive causal mask (L, S): 0 where a query may attend, -inf above the diagonal."""
    return np.where(np.tril(np.ones((length, source_length), bool)), 0.0, -np.inf).astype(dtype)


@op(kernels=())
def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(q k^T * scale + mask) v over (..., L, E) queries and (..., S, E) keys, as
    torch.nn.functional.scaled_dot_product_attention: a bool mask marks the pairs that take
    part, a float mask is added to the scores; is_causal hides keys j > i. enable_gqa:
    grouped-query attention, key and value of (..., Hkv, S, E) with fewer heads than the
    query's (..., Hq, L, E) (Hq a multiple of Hkv), each head serving Hq / Hkv consecutive
    query heads (repeat_interleave along dim -3; their gradients sum back).

    Without dropout it is one tiled kernel (online softmax, memory linear in the sequence
    length) forward and one backward; with dropout_p > 0 (training) the scores are
    materialized and composed from differentiable ops.
    """
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    if not all(is_floating(t._array.dtype) for t in (q, k, v)):
        raise RuntimeError(
            "scaled_dot_product_attention: expected floating point query, key and value, got "
            f"{q._array.dtype}, {k._array.dtype} and {v._array.dtype}"
        )
    if enable_gqa and q.ndim >= 3 and q.ndim == k.ndim == v.ndim:
        k, v = _repeat_heads("key", k, q.shape[-3]), _repeat_heads("value", v, q.shape[-3])
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
        raise ValueError(
            f"dropout probability has to be between 0 and 1, but got dropout_p={dropout_p}"
        )
    lead, (L, E), S, Ev = q.shape[:-2], q.shape[-2:], k.shape[-2], v.shape[-1]
    scale = 1.0 / float(np.sqrt(E)) if scale is None else float(scale)
    batch = int(np.prod(lead)) if lead else 1
    mask = alive = None
    if attn_mask is not None:
        m = attn_mask._array if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
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
        # A query that may attend to no key gets zeros, as PyTorch's (its safe softmax), not
        # the NaN of a softmax over -inf only: its row is unmasked for the kernel and its
        # output row multiplied by 0 (so is its gradient).
        dead = np.isneginf(mask).all(-1)
        if dead.any():
            mask = np.where(dead[..., None], 0, mask).astype(q.dtype)
            alive = as_tensor((~dead).astype(q.dtype).reshape(lead + (L, 1)))
    # A float mask that requires grad (ALiBi, learned relative-position biases) gets its
    # gradient, dL/dscores, from the composed form: the fused kernel does not return it.
    trained_mask = (
        isinstance(attn_mask, Tensor) and is_floating(attn_mask.dtype) and grad_needed(attn_mask)
    )
    if dropout_p > 0.0 or trained_mask:
        scores = mul(matmul(q, transpose(k, -2, -1)), scale)
        if trained_mask:
            scores = add(scores, attn_mask)
        elif mask is not None:
            scores = add(scores, as_tensor(mask.reshape(lead + (L, S))))
        if is_causal:
            scores = add(scores, as_tensor(_capture.snapshot(causal_mask(L, S, q.dtype))))
        out = matmul(dropout(softmax(scores, -1), dropout_p), v)
    else:
        q3, k3, v3 = (reshape(t, (batch,) + t.shape[-2:]) for t in (q, k, v))
        out = reshape(attention_kernel(q3, k3, v3, mask, scale, is_causal), lead + (L, Ev))
    return out if alive is None else mul(out, alive)


def _repeat_heads(name: str, t: Tensor, heads: int) -> Tensor:
    """(..., H, S, E) -> (..., heads, S, E), each of the H heads repeated heads / H times in
    place (repeat_interleave); an expanded view reshaped, so the gradient sums back."""
    h = t.shape[-3]
    if h == heads:
        return t
    if h == 0 or heads % h:
        raise ValueError(
            f"scaled_dot_product_attention: with enable_gqa the query's {heads} heads must be "
            f"a multiple of the {name}'s {h}"
        )
    lead, rest = t.shape[:-3], t.shape[-2:]
    wide = expand(unsqueeze(t, -3), lead + (h, heads // h) + rest)
    return reshape(wide, lead + (heads,) + rest)


@op(kernels=("attention",))
def attention_kernel(
    q: Tensor, k: Tensor, v: Tensor, mask: np.ndarray | None, scale: float, is_causal: bool
) -> Tensor:
    """The tiled attention kernel, forward and backward, on (B, T, D) tensors or, per head,
    on (N, T, H, D) ones as a multi-head layer's projections come (no permutes); mask is
    None or an additive float array (1 or B (= N * H), Tq, Tk)."""
    q, k, v = as_tensor(q), as_tensor(k), as_tensor(v)
    if mask is not None:
        mask = np.asarray(mask, dtype=q.dtype, order="C")
    bf16 = bf16_kwargs(q._array)  # Note [Autocast]
    out, saved = _b.active.attention_forward(
        q._array, k._array, v._array, mask, scale, is_causal, **bf16
    )

    def backward(node: Any, g: np.ndarray) -> Any:
        qq, kk, vv = node.inputs
        return _b.active.attention_backward(
            g,
            qq._array,
            kk._array,
            vv._array,
            mask,
            out,
            saved,
            scale,
            is_causal,
            qq.requires_grad,
            kk.requires_grad,
            vv.requires_grad,
            **bf16,
        )

    return record(out, (q, k, v), backward)


@op()
def attention_qkv(
    qkv: Tensor, heads: int, mask: np.ndarray | None, scale: float, is_causal: bool
) -> Tensor:
    """Self-attention on a packed projection (N, T, 3 E) = [q | k | v] (each E = heads x D,
    as x W_in^T with PyTorch's in_proj_weight): out (N, T, E), one kernel call each way;
    the gradient comes back packed too. mask as attention_kernel's."""
    qkv = as_tensor(qkv)
    if mask is not None:
        mask = np.asarray(mask, dtype=qkv.dtype, order="C")
    bf16 = bf16_kwargs(qkv._array)
    out, saved = _b.active.attention_qkv_forward(qkv._array, heads, mask, scale, is_causal, **bf16)

    def backward(node: Any, g: np.ndarray) -> Any:
        return (
            _b.active.attention_qkv_backward(
                g, qkv._array, heads, mask, out, saved, scale, is_causal, **bf16
            ),
        )

    return record(out, (qkv,), backward)
