"""Embeddings, positional encodings, multi-head attention and transformer blocks
(seed 000 sections 8, 9 and 11), with PyTorch's names and conventions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import functional as F
from ..tensor import Tensor, as_tensor
from . import functional as NF
from . import init
from .layers import Linear
from .module import Module, Parameter
from .norm import Dropout, LayerNorm


class Embedding(Module):
    """A lookup table of num_embeddings vectors (N(0, 1) initialized, as PyTorch); the
    padding_idx row is zero and gets no gradient."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(
                f"padding_idx {padding_idx} must be within num_embeddings {num_embeddings}"
            )
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype))
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._array[self.padding_idx] = 0

    def forward(self, input: Any) -> Tensor:
        return NF.embedding(input, self.weight, self.padding_idx)


def sinusoidal_positional_encoding(length: int, d_model: int, dtype: Any = np.float32) -> Tensor:
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d))."""
    pos = np.arange(length)[:, None]
    i = np.arange(0, d_model, 2)[None, :]
    angle = pos / np.power(10000.0, i / d_model)
    pe = np.zeros((length, d_model))
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, : d_model // 2])
    return as_tensor(pe.astype(dtype))


class MultiheadAttention(Module):
    """Multi-head attention (seed 000 section 8.2) with torch.nn.MultiheadAttention's
    parameters (in_proj_weight or q/k/v_proj_weight, in_proj_bias, out_proj) and call
    (query, key, value, key_padding_mask, need_weights, attn_mask, average_attn_weights,
    is_causal). Masks follow PyTorch: a bool True marks a position that may NOT be attended.
    The heads run through the tiled attention kernel; the returned weights (need_weights)
    are computed separately."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim, self.vdim = kdim or embed_dim, vdim or embed_dim
        self.batch_first, self.head_dim = batch_first, embed_dim // num_heads
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype))
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for name, d in (("q", embed_dim), ("k", self.kdim), ("v", self.vdim)):
                w = Parameter(np.empty((embed_dim, d), dtype))
                init.xavier_uniform_(w)
                setattr(self, f"{name}_proj_weight", w)
        self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if bias:
            init.zeros_(self.out_proj.bias)

    def _project(self, x: Tensor, which: int) -> Tensor:
        E = self.embed_dim
        w = (
            NF.narrow(self.in_proj_weight, 0, which * E, E)
            if self._qkv_same_embed_dim
            else getattr(self, "qkv"[which] + "_proj_weight")
        )
        b = None if self.in_proj_bias is None else NF.narrow(self.in_proj_bias, 0, which * E, E)
        return NF.linear(x, w, b)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple:
        q_in, k_in, v_in = as_tensor(query), as_tensor(key), as_tensor(value)
        if q_in.ndim != 3 or k_in.ndim != 3 or v_in.ndim != 3:
            raise ValueError(
                f"MultiheadAttention expects 3-D query, key, value; got "
                f"{q_in.shape}, {k_in.shape}, {v_in.shape}"
            )
        if not self.batch_first:  # (L, N, E) -> (N, L, E); self-attention transposes once
            q_t = F.transpose(q_in, 0, 1)
            k_t = q_t if k_in is q_in else F.transpose(k_in, 0, 1)
            v_t = k_t if v_in is k_in else F.transpose(v_in, 0, 1)
            q_in, k_in, v_in = q_t, k_t, v_t
        N, L, E = q_in.shape
        S = k_in.shape[1]
        if (
            E != self.embed_dim
            or k_in.shape[2] != self.kdim
            or v_in.shape[2] != self.vdim
            or k_in.shape[:2] != v_in.shape[:2]
            or k_in.shape[0] != N
        ):
            shapes = [
                t.shape if self.batch_first else (t.shape[1], t.shape[0], t.shape[2])
                for t in (q_in, k_in, v_in)
            ]
            raise ValueError(
                f"MultiheadAttention(embed_dim={self.embed_dim}, kdim={self.kdim}, "
                f"vdim={self.vdim}): query {shapes[0]}, key {shapes[1]} and value "
                f"{shapes[2]} do not fit"
            )
        H, Dh = self.num_heads, self.head_dim
        mask = self._mask(attn_mask, key_padding_mask, L, S, N, q_in.dtype, is_causal)
        drop = self.dropout if self.training else 0.0
        scale, causal = 1.0 / math.sqrt(Dh), is_causal and mask is None
        kernel_mask = None if mask is None else np.ascontiguousarray(mask.reshape(-1, L, S))
        if self._qkv_same_embed_dim and q_in is k_in is v_in and drop == 0.0 and not need_weights:
            # Self-attention: one (N, L, 3E) projection, read by the kernel in place.
            qkv = NF.linear(q_in, self.in_proj_weight, self.in_proj_bias)
            out = NF.attention_qkv(qkv, H, kernel_mask, scale, causal)
            return self._output(out, N, L, E), None
        # (N, T, E) projections are (N, T, H, Dh) head slices for the kernel as they are.
        q = F.reshape(self._project(q_in, 0), (N, L, H, Dh))
        k = F.reshape(self._project(k_in, 1), (N, S, H, Dh))
        v = F.reshape(self._project(v_in, 2), (N, S, H, Dh))
        if drop > 0.0 or need_weights:  # (N * H, T, Dh) copies for the composed ops
            qh, kh, vh = (
                F.reshape(F.transpose(t, 1, 2), (N * H, t.shape[1], Dh)) for t in (q, k, v)
            )
        if drop > 0.0:
            out = NF.scaled_dot_product_attention(
                qh, kh, vh, attn_mask=mask, dropout_p=drop, is_causal=causal
            )
            out = F.transpose(F.reshape(out, (N, H, L, Dh)), 1, 2)
        else:
            out = NF.attention_kernel(q, k, v, kernel_mask, scale, causal)
        out = self._output(out, N, L, E)
        weights = None
        if need_weights:
            scores = F.matmul(qh, F.transpose(kh, 1, 2)) * scale
            if mask is not None:
                scores = scores + as_tensor(np.broadcast_to(mask, (N * H, L, S)).copy())
            elif is_causal:
                scores = scores + as_tensor(
                    np.where(np.tril(np.ones((L, S), bool)), 0.0, -np.inf).astype(qh.dtype)
                )
            weights = F.reshape(NF.softmax(scores, -1), (N, H, L, S))
            if average_attn_weights:
                weights = F.mean(weights, 1)
        return out, weights

    def _output(self, out: Tensor, N: int, L: int, E: int) -> Tensor:
        """The heads' (N, L, ...) output through out_proj, in the caller's layout."""
        out = self.out_proj(F.reshape(out, (N, L, E)))
        return out if self.batch_first else F.transpose(out, 0, 1)

    def _mask(
        self,
        attn_mask: Any,
        key_padding_mask: Any,
        L: int,
        S: int,
        N: int,
        dtype: Any,
        is_causal: bool,
    ) -> np.ndarray | None:
        """attn_mask, key_padding_mask and causality as one additive float mask broadcastable
        to (N * H, L, S), or None (then is_causal alone is passed to the kernel)."""

        def additive(m: Any) -> np.ndarray:
            m = np.asarray(m._array if isinstance(m, Tensor) else m)
            return np.where(m, -np.inf, 0.0) if m.dtype == np.bool_ else m.astype(np.float64)

        H = self.num_heads
        total = None
        if attn_mask is not None:
            total = additive(attn_mask)
            if total.shape not in ((L, S), (N * H, L, S)):
                raise ValueError(
                    f"attn_mask of shape {total.shape} must be (L, S) = {(L, S)} "
                    f"or (N * num_heads, L, S) = {(N * H, L, S)}"
                )
        elif is_causal and key_padding_mask is not None:
            total = np.where(np.tril(np.ones((L, S), bool)), 0.0, -np.inf)
        if key_padding_mask is not None:
            kp = additive(key_padding_mask)
            if kp.shape != (N, S):
                raise ValueError(f"key_padding_mask of shape {kp.shape} must be (N, S) = {(N, S)}")
            kp = np.broadcast_to(kp[:, None, None, :], (N, H, L, S)).reshape(N * H, L, S)
            total = kp if total is None else total + kp
        return None if total is None else total.astype(dtype)


class TransformerEncoderLayer(Module):
    """Self-attention and feed-forward with residuals: post-LN (norm_first=False, seed 002
    section 6: x = LN(x + SA(x)); x = LN(x + FF(x))) or pre-LN (norm_first=True, seed 000
    section 9: x = x + SA(LN(x)); x = x + FF(LN(x))). dim_feedforward defaults to 4 d_model
    (the spec's choice; PyTorch's default is 2048); activation "relu" or "gelu"."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int | None = None,
        dropout: float = 0.1,
        activation: str = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        if activation not in ("relu", "gelu"):
            raise ValueError(f"activation must be 'relu' or 'gelu', got {activation!r}")
        ff = 4 * d_model if dim_feedforward is None else dim_feedforward
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
        )
        self.linear1 = Linear(d_model, ff, bias=bias, dtype=dtype)
        self.linear2 = Linear(ff, d_model, bias=bias, dtype=dtype)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
        self.dropout, self.dropout1, self.dropout2 = (
            Dropout(dropout),
            Dropout(dropout),
            Dropout(dropout),
        )
        self.activation, self.norm_first = activation, norm_first

    def _sa(self, x: Tensor, mask: Any, padding: Any, is_causal: bool) -> Tensor:
        out, _ = self.self_attn(
            x,
            x,
            x,
            key_padding_mask=padding,
            need_weights=False,
            attn_mask=mask,
            is_causal=is_causal,
        )
        return self.dropout1(out)

    def _ff(self, x: Tensor) -> Tensor:
        # The activation runs in linear1's GEMM epilogue (one kernel).
        h = NF.linear(x, self.linear1.weight, self.linear1.bias, activation=self.activation)
        return self.dropout2(self.linear2(self.dropout(h)))

    def forward(
        self,
        src: Tensor,
        src_mask: Any = None,
        src_key_padding_mask: Any = None,
        is_causal: bool = False,
    ) -> Tensor:
        x = as_tensor(src)
        if self.norm_first:
            x = x + self._sa(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff(self.norm2(x))
        x = self.norm1(x + self._sa(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff(x))
