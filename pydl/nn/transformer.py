"""Embeddings, positional encodings, multi-head attention and transformer blocks
(seed 000 sections 8, 9 and 11), with PyTorch's names and conventions."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from .. import _capture
from .. import functional as F
from .._ops.attention import causal_mask
from ..tensor import Tensor, as_tensor
from . import functional as NF
from . import _check, init
from .layers import Linear
from .containers import ModuleList
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
        num_embeddings = _check.size("Embedding", "num_embeddings", num_embeddings, minimum=0)
        embedding_dim = _check.size("Embedding", "embedding_dim", embedding_dim, minimum=0)
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

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"


class EmbeddingBag(Module):
    """Sums, means or maxes of embedding rows over bags of indices without building the
    bags' embeddings one by one (F.embedding_bag): forward(input, offsets=None,
    per_sample_weights=None), input 2-D (one bag per row) or 1-D with bag offsets."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Any = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        num_embeddings = _check.size("EmbeddingBag", "num_embeddings", num_embeddings, minimum=0)
        embedding_dim = _check.size("EmbeddingBag", "embedding_dim", embedding_dim, minimum=0)
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"mode has to be one of sum, mean or max, got {mode!r}")
        if max_norm is not None or scale_grad_by_freq:
            raise NotImplementedError("EmbeddingBag: max_norm and scale_grad_by_freq")
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(
                f"padding_idx {padding_idx} must be within num_embeddings {num_embeddings}"
            )
        self.num_embeddings, self.embedding_dim, self.mode = num_embeddings, embedding_dim, mode
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, False
        self.sparse, self.include_last_offset = sparse, include_last_offset
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        if _weight is None:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype))
            init.normal_(self.weight)
            if self.padding_idx is not None:
                self.weight._array[self.padding_idx] = 0
        else:
            self.weight = Parameter(_weight)

    def forward(self, input: Any, offsets: Any = None, per_sample_weights: Any = None) -> Tensor:
        return NF.embedding_bag(
            input,
            self.weight,
            offsets,
            mode=self.mode,
            per_sample_weights=per_sample_weights,
            include_last_offset=self.include_last_offset,
            padding_idx=self.padding_idx,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}, mode={self.mode!r}"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"


def sinusoidal_positional_encoding(length: int, d_model: int, dtype: Any = np.float32) -> Tensor:
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d))."""
    pos = np.arange(length)[:, None]
    i = np.arange(0, d_model, 2)[None, :]
    angle = pos / np.power(10000.0, i / d_model)
    pe = np.zeros((length, d_model))
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, : d_model // 2])
    return as_tensor(pe.astype(dtype))


class NonDynamicallyQuantizableLinear(Linear):
    """Linear under the name PyTorch gives MultiheadAttention's out_proj (its repr)."""


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
        embed_dim = _check.size("MultiheadAttention", "embed_dim", embed_dim)
        num_heads = _check.size("MultiheadAttention", "num_heads", num_heads)
        dropout = _check.probability("MultiheadAttention", "dropout", dropout)
        if embed_dim % num_heads:
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
        self.out_proj = NonDynamicallyQuantizableLinear(
            embed_dim, embed_dim, bias=bias, dtype=dtype
        )
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
                mask = _capture.snapshot(causal_mask(L, S, qh.dtype))
                scores = scores + as_tensor(mask)
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


def _activation(activation: Any) -> tuple[str | None, Any]:
    """(F.linear's epilogue name, None) for "relu"/"gelu" (or F.relu / F.gelu), else
    (None, the callable), as PyTorch's layers take either."""
    if isinstance(activation, str):
        if activation not in ("relu", "gelu"):
            raise RuntimeError(f"activation should be relu/gelu, not {activation}")
        return activation, None
    for name in ("relu", "gelu"):
        if activation is getattr(NF, name):
            return name, None
    if not callable(activation):
        raise TypeError(f"activation must be a string or a callable, got {activation!r}")
    return None, activation


class _Block(Module):
    """The feed-forward part and settings shared by the encoder and decoder layers."""

    def _setup(
        self,
        d_model: int,
        dim_feedforward: int,
        dropout: float,
        activation: Any,
        batch_first: bool,
        bias: bool,
        dtype: Any,
        cross: bool,
    ) -> None:
        self.self_attn = MultiheadAttention(
            d_model, self._nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
        )
        if cross:
            self.multihead_attn = MultiheadAttention(
                d_model,
                self._nhead,
                dropout=dropout,
                bias=bias,
                batch_first=batch_first,
                dtype=dtype,
            )
        # PyTorch's registration order (its repr and state_dict follow it)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self._epilogue, self._act = _activation(activation)
        self.activation = activation

    def _ff(self, x: Tensor) -> Tensor:
        if self._act is None:  # the activation runs in linear1's GEMM epilogue
            h = NF.linear(x, self.linear1.weight, self.linear1.bias, activation=self._epilogue)
        else:
            h = self._act(self.linear1(x))
        return self.dropout_ff(self.linear2(self.dropout(h)))

    @staticmethod
    def _attend(attn: Module, q: Tensor, kv: Tensor, mask: Any, padding: Any, causal: bool):
        out, _ = attn(
            q,
            kv,
            kv,
            key_padding_mask=padding,
            need_weights=False,
            attn_mask=mask,
            is_causal=bool(causal),
        )
        return out


class TransformerEncoderLayer(_Block):
    """Self-attention and feed-forward with residuals: post-LN (norm_first=False, seed 002
    section 6: x = LN(x + SA(x)); x = LN(x + FF(x))) or pre-LN (norm_first=True, seed 000
    section 9: x = x + SA(LN(x)); x = x + FF(LN(x))). PyTorch's arguments and defaults
    (dim_feedforward=2048); activation "relu", "gelu" or a callable."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Any = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self._nhead = nhead
        self._setup(d_model, dim_feedforward, dropout, activation, batch_first, bias, dtype, False)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)

    @property
    def dropout_ff(self) -> Module:
        return self.dropout2

    def _sa(self, x: Tensor, mask: Any, padding: Any, is_causal: bool) -> Tensor:
        return self.dropout1(self._attend(self.self_attn, x, x, mask, padding, is_causal))

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


class TransformerDecoderLayer(_Block):
    """Self-attention, attention over the encoder's output (memory) and feed-forward, each
    with a residual and a LayerNorm (after, or before with norm_first), as PyTorch's."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Any = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self._nhead = nhead
        self._setup(d_model, dim_feedforward, dropout, activation, batch_first, bias, dtype, True)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)
        self.dropout3 = Dropout(dropout)

    @property
    def dropout_ff(self) -> Module:
        return self.dropout3

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Any = None,
        memory_mask: Any = None,
        tgt_key_padding_mask: Any = None,
        memory_key_padding_mask: Any = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        x, mem = as_tensor(tgt), as_tensor(memory)

        def sa(h: Tensor) -> Tensor:
            out = self._attend(self.self_attn, h, h, tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            return self.dropout1(out)

        def mha(h: Tensor) -> Tensor:
            out = self._attend(
                self.multihead_attn,
                h,
                mem,
                memory_mask,
                memory_key_padding_mask,
                memory_is_causal,
            )
            return self.dropout2(out)

        if self.norm_first:
            x = x + sa(self.norm1(x))
            x = x + mha(self.norm2(x))
            return x + self._ff(self.norm3(x))
        x = self.norm1(x + sa(x))
        x = self.norm2(x + mha(x))
        return self.norm3(x + self._ff(x))


def _clones(layer: Module, n: int, owner: str) -> ModuleList:
    if not isinstance(layer, Module):
        raise TypeError(f"{owner}: expected a layer Module to clone, got {type(layer).__name__}")
    n = _check.size(owner, "num_layers", n, minimum=0)
    return ModuleList([copy.deepcopy(layer) for _ in range(n)])


class TransformerEncoder(Module):
    """num_layers copies of encoder_layer applied in turn, then `norm` (if given)."""

    def __init__(
        self,
        encoder_layer: Module,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers, "TransformerEncoder")
        self.num_layers, self.norm = num_layers, norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check

    def forward(
        self,
        src: Tensor,
        mask: Any = None,
        src_key_padding_mask: Any = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        x = as_tensor(src)
        for layer in self.layers:
            x = layer(
                x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                is_causal=bool(is_causal),
            )  # fmt: skip
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(Module):
    """num_layers copies of decoder_layer applied in turn over the same memory, then `norm`
    (if given)."""

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers, self.norm = num_layers, norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Any = None,
        memory_mask: Any = None,
        tgt_key_padding_mask: Any = None,
        memory_key_padding_mask: Any = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        x = as_tensor(tgt)
        for layer in self.layers:
            x = layer(
                x,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=bool(tgt_is_causal),
                memory_is_causal=memory_is_causal,
            )
        return x if self.norm is None else self.norm(x)


class Transformer(Module):
    """The encoder-decoder transformer of "Attention Is All You Need" with PyTorch's
    arguments, defaults, parameter names and initialization (xavier_uniform_ on every
    matrix)."""

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Any = "relu",
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        kw = dict(
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation=activation,
            layer_norm_eps=layer_norm_eps,
            batch_first=batch_first,
            norm_first=norm_first,
            bias=bias,
            dtype=dtype,
        )
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, **kw)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            self.encoder = TransformerEncoder(layer, num_encoder_layers, norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, **kw)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            self.decoder = TransformerDecoder(layer, num_decoder_layers, norm)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Any = None,
        tgt_mask: Any = None,
        memory_mask: Any = None,
        src_key_padding_mask: Any = None,
        tgt_key_padding_mask: Any = None,
        memory_key_padding_mask: Any = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        src, tgt = as_tensor(src), as_tensor(tgt)
        batch = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch] != tgt.shape[batch]:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """(sz, sz) float mask: -inf above the diagonal (a position may not attend to later
        ones), 0 elsewhere."""
        dt = np.float32 if dtype is None else np.dtype(getattr(dtype, "type", dtype))
        return as_tensor(np.triu(np.full((sz, sz), -np.inf), 1).astype(dt))
