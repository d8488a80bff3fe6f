"""One ONNX lowering per supported Module class, all in the table LOWERINGS at the bottom
(Note [ONNX export] in pydl/onnx/__init__.py).

A lowering takes (builder, module, its dotted path, *the Vals its forward takes) and returns
its outputs as Vals, nested as its forward nests them. It writes the eval-mode forward.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .. import nn
from .._ops._util import int_tuple
from .._ops.conv import _conv_padding
from ..models import GPT, MLP
from ..nn.layers import ACTIVATION_MODULES
from ._builder import GraphBuilder, Lowering, Val, where


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _unsupported(path: str, m: nn.Module, why: str) -> NotImplementedError:
    return NotImplementedError(f"cannot export {where(path, m)}: {why}")


def _op(g: GraphBuilder, path: str, op: str, *inputs: str, **attrs: Any) -> str:
    return g.node(op, list(inputs), path, **attrs)


# ----- containers, models, pass-through layers -----------------------------------------


def _sequential(g: GraphBuilder, m: nn.Sequential, path: str, x: Any) -> Any:
    for name, child in m.named_children():
        x = g.call(child, _join(path, name), x)
    return x


def _mlp(g: GraphBuilder, m: MLP, path: str, x: Val) -> Any:
    return g.call(m.net, _join(path, "net"), x)


def _identity(g: GraphBuilder, m: nn.Module, path: str, x: Any) -> Any:
    """Identity, and Dropout and Dropout2d, which are the identity in eval mode."""
    return x


def _gpt(g: GraphBuilder, m: GPT, path: str, idx: Val) -> Val:
    logits = g.result(m, path, (idx,), "")  # pydl's checks of idx come first
    x = g.call(m.tok, _join(path, "tok"), idx)
    T = idx.shape[1]  # positions 0..T-1 are a constant slice: only the batch is dynamic
    positions = g.const(m.pos.weight._array[:T], _join(path, f"pos.weight[:{T}]"))
    x = x.renamed(_op(g, path, "Add", x.name, positions))
    for i, block in enumerate(m.blocks):
        x = g.call(block, _join(path, f"blocks.{i}"), x, is_causal=True)
    x = g.call(m.ln_f, _join(path, "ln_f"), x)
    if m.tied:
        head = _op(g, _join(path, "head"), "MatMul", x.name, g.transposed(m.tok.weight))
    else:
        head = g.call(m.head, _join(path, "head"), x).name
    return logits.renamed(head)


# ----- linear layers and activations ------------------------------------------------


def _linear(g: GraphBuilder, m: nn.Linear, path: str, x: Val) -> Val:
    return g.result(m, path, (x,), g.linear(path, x.name, m.weight, m.bias))


def _flatten(g: GraphBuilder, m: nn.Flatten, path: str, x: Val) -> Val:
    rank = max(x.rank, 1)
    start, end = m.start_dim % rank, m.end_dim % rank
    if start == end:
        return x
    if any(x.batch_dependent(axis) for axis in range(end + 1, x.rank)):
        raise _unsupported(path, m, "the batch axis is after the flattened axes")
    shape = [0] * start + [-1] + list(x.shape[end + 1 :])  # 0: copy the input's axis
    return g.result(m, path, (x,), g.reshape(x.name, shape, path))


def _prelu(g: GraphBuilder, m: nn.PReLU, path: str, x: Val) -> Val:
    slope = m.weight._array
    if slope.size > 1 and x.rank > 2:  # pydl's slopes are per channel (axis 1)
        slope = slope.reshape((slope.size,) + (1,) * (x.rank - 2))
    y = _op(g, path, "PRelu", x.name, g.const(slope, _join(path, "weight")))
    return g.result(m, path, (x,), y)


def _maxout(g: GraphBuilder, m: nn.Maxout, path: str, x: Val) -> Val:
    y = g.linear(_join(path, "linear"), x.name, m.linear.weight, m.linear.bias)
    y = g.reshape(y, [0] * (x.rank - 1) + [-1, m.pool_size], path)  # consecutive groups
    return g.result(m, path, (x,), g.reduce("ReduceMax", y, [-1], False, path))


def _gelu(g: GraphBuilder, p: str, x: Val, approximate: str = "none") -> str:
    # ONNX's Gelu op is opset 20's; composed here for 17.
    if approximate == "tanh":
        cube = _op(g, p, "Mul", x.name, _op(g, p, "Mul", x.name, x.name))
        inner = _op(g, p, "Add", x.name, _op(g, p, "Mul", cube, g.scalar(0.044715, x)))
        t = _op(g, p, "Tanh", _op(g, p, "Mul", inner, g.scalar(math.sqrt(2 / math.pi), x)))
    else:
        t = _op(g, p, "Erf", _op(g, p, "Mul", x.name, g.scalar(1 / math.sqrt(2), x)))
    half_x = _op(g, p, "Mul", x.name, g.scalar(0.5, x))
    return _op(g, p, "Mul", half_x, _op(g, p, "Add", t, g.scalar(1.0, x)))


def _softplus(g: GraphBuilder, p: str, x: Val, beta: float = 1.0, threshold: float = 20.0) -> str:
    bx = x.name if beta == 1 else _op(g, p, "Mul", x.name, g.scalar(beta, x))
    soft = _op(g, p, "Softplus", bx)
    if beta != 1:
        soft = _op(g, p, "Div", soft, g.scalar(beta, x))
    linear = _op(g, p, "Greater", bx, g.scalar(threshold, x))  # PyTorch's threshold
    return _op(g, p, "Where", linear, x.name, soft)


def _single(op: str, **attrs: Any) -> Callable[..., str]:
    return lambda g, p, x: _op(g, p, op, x.name, **attrs)


def _times(op: str) -> Callable[..., str]:
    """x * op(x)."""
    return lambda g, p, x: _op(g, p, "Mul", x.name, _op(g, p, op, x.name))


#: Activation class name -> (builder, path, x, **the module's arguments) -> output name.
_ACTIVATIONS: dict[str, Callable[..., str]] = {
    "Sigmoid": _single("Sigmoid"),
    "Tanh": _single("Tanh"),
    "ReLU": _single("Relu"),
    # PyTorch's constants, which are ONNX's defaults in float32
    "SELU": _single("Selu", alpha=1.6732632423543772, gamma=1.0507009873554805),
    "SiLU": _times("Sigmoid"),
    "Mish": lambda g, p, x: _op(
        g, p, "Mul", x.name, _op(g, p, "Tanh", _op(g, p, "Softplus", x.name))
    ),
    "Softsign": _single("Softsign"),
    "LogSigmoid": lambda g, p, x: _op(g, p, "Neg", _op(g, p, "Softplus", _op(g, p, "Neg", x.name))),
    "Tanhshrink": lambda g, p, x: _op(g, p, "Sub", x.name, _op(g, p, "Tanh", x.name)),
    "LeakyReLU": lambda g, p, x, negative_slope: _op(
        g, p, "LeakyRelu", x.name, alpha=float(negative_slope)
    ),
    "ELU": lambda g, p, x, alpha: _op(g, p, "Elu", x.name, alpha=float(alpha)),
    "Softplus": _softplus,
    "HardSigmoid": lambda g, p, x, slope, offset: _op(
        g, p, "HardSigmoid", x.name, alpha=float(slope), beta=float(offset)
    ),
    "Hardsigmoid": _single("HardSigmoid", alpha=1 / 6, beta=0.5),
    "Hardtanh": lambda g, p, x, min_val, max_val: _op(
        g, p, "Clip", x.name, g.scalar(min_val, x), g.scalar(max_val, x)
    ),
    "GELU": _gelu,
    "Softmax": lambda g, p, x, dim, dtype=None: _op(g, p, "Softmax", x.name, axis=_dim(x, dim)),
    "LogSoftmax": lambda g, p, x, dim, dtype=None: _op(
        g, p, "LogSoftmax", x.name, axis=_dim(x, dim)
    ),
    "Softmin": lambda g, p, x, dim, dtype=None: _op(
        g, p, "Softmax", _op(g, p, "Neg", x.name), axis=_dim(x, dim)
    ),
    "ReLU6": lambda g, p, x: _op(g, p, "Clip", x.name, g.scalar(0.0, x), g.scalar(6.0, x)),
    "Hardswish": _single("HardSwish"),
    "CELU": lambda g, p, x, alpha: _op(g, p, "Celu", x.name, alpha=float(alpha)),
    "Softshrink": lambda g, p, x, lambd: _op(
        g, p, "Shrink", x.name, bias=float(lambd), lambd=float(lambd)
    ),
    "Hardshrink": lambda g, p, x, lambd: _op(g, p, "Shrink", x.name, lambd=float(lambd)),
    # value where x <= threshold (NaN stays NaN), as PyTorch's
    "Threshold": lambda g, p, x, threshold, value: _op(
        g,
        p,
        "Where",
        _op(g, p, "LessOrEqual", x.name, g.scalar(threshold, x)),
        g.scalar(value, x),
        x.name,
    ),
    # eval mode: the mean slope
    "RReLU": lambda g, p, x, lower, upper: _op(
        g, p, "LeakyRelu", x.name, alpha=float((lower + upper) / 2)
    ),
    "GLU": lambda g, p, x, dim: _glu(g, p, x, dim),
}


def _dim(x: Val, dim: int | None) -> int:
    """softmax's dim, PyTorch's implicit one when None (dim 0 for 0-, 1- and 3-d inputs)."""
    return (0 if x.rank in (0, 1, 3) else 1) if dim is None else int(dim)


def _glu(g: GraphBuilder, p: str, x: Val, dim: int) -> str:
    """a * sigmoid(b), a and b the halves of x along dim (two constant slices)."""
    axis = dim % max(x.rank, 1)
    if x.batch_dependent(axis):
        raise NotImplementedError(f"cannot export GLU at {p!r}: it halves the batch axis")
    half = x.shape[axis] // 2

    def part(lo: int, hi: int) -> str:
        return _op(g, p, "Slice", x.name, g.ints([lo]), g.ints([hi]), g.ints([axis]))

    return _op(g, p, "Mul", part(0, half), _op(g, p, "Sigmoid", part(half, 2 * half)))


def _activation_lowering(emit: Callable[..., str]) -> Lowering:
    def lower(g: GraphBuilder, m: nn.Module, path: str, x: Val) -> Val:
        return g.result(m, path, (x,), emit(g, path, x, **m._args))

    return lower


# ----- convolution and pooling ------------------------------------------------------


def _conv(g: GraphBuilder, m: nn.Module, path: str, x: Val) -> Val:
    kernel = tuple(m.weight.shape[2:])
    dims = len(kernel)
    stride = int_tuple("stride", m.stride, dims)
    dilation = int_tuple("dilation", m.dilation, dims)
    if dims == 2:
        top, bottom, left, right = _conv_padding(m.padding, kernel, dilation, stride)
        pads = [top, left, bottom, right]  # ONNX: all the begins, then all the ends
    elif isinstance(m.padding, str):
        pads = list(_conv_padding(m.padding, (1,) + kernel, (1,) + dilation, (1,) + stride)[2:])
    else:
        pads = list(int_tuple("padding", m.padding, 1)) * 2
    inputs = [x.name, g.param(m.weight)] + ([] if m.bias is None else [g.param(m.bias)])
    y = g.node(
        "Conv",
        inputs,
        path,
        kernel_shape=list(kernel),
        strides=list(stride),
        pads=pads,
        dilations=list(dilation),
        group=m.groups,
    )
    return g.result(m, path, (x,), y)


def _pool_window(m: nn.Module, x: Val, out: Val, dilation: tuple) -> dict[str, list[int]]:
    """kernel_shape, strides and pads of a pooling. pydl's ceil_mode (PyTorch's: the last
    window must start inside the input or its left padding) is not ONNX's, so it is written
    as floor mode with the end padding that gives pydl's output size."""
    dims = x.rank - 2
    a = m._args
    kernel = int_tuple("kernel_size", a["kernel_size"], dims)
    stride = kernel if a["stride"] is None else int_tuple("stride", a["stride"], dims)
    padding = int_tuple("padding", a["padding"], dims)
    end = [
        p + max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p))
        for n, o, k, s, p, d in zip(x.shape[2:], out.shape[2:], kernel, stride, padding, dilation)
    ]
    return dict(kernel_shape=list(kernel), strides=list(stride), pads=list(padding) + end)


def _max_pool(g: GraphBuilder, m: nn.Module, path: str, x: Val) -> Val:
    out = g.result(m, path, (x,), "")  # pydl's checks of x come first
    dilation = int_tuple("dilation", m._args["dilation"], x.rank - 2)
    window = _pool_window(m, x, out, dilation)
    return out.renamed(_op(g, path, "MaxPool", x.name, dilations=list(dilation), **window))


def _avg_pool(g: GraphBuilder, m: nn.Module, path: str, x: Val) -> Val:
    out = g.result(m, path, (x,), "")
    window = _pool_window(m, x, out, (1,) * (x.rank - 2))
    dims, y = x.rank - 2, x.name
    include_pad = m._args["count_include_pad"]
    if include_pad and window["pads"][dims:] != window["pads"][:dims]:
        # pydl's divisor counts the padding but not the windows' overhang past it: pad with
        # zeros first, then let ONNX count only what lies inside.
        begin = window["pads"][:dims]
        y = _op(g, path, "Pad", y, g.ints([0, 0] + begin + [0, 0] + begin))
        window["pads"] = [0] * dims + [e - b for b, e in zip(begin, window["pads"][dims:])]
        include_pad = False
    return out.renamed(_op(g, path, "AveragePool", y, count_include_pad=int(include_pad), **window))


def _adaptive_avg_pool(g: GraphBuilder, m: nn.AdaptiveAvgPool2d, path: str, x: Val) -> Val:
    out = g.result(m, path, (x,), "")  # pydl's checks of x come first
    out_h, out_w = out.shape[2:]
    if (out_h, out_w) == (1, 1):
        return out.renamed(_op(g, path, "GlobalAveragePool", x.name))

    def averaging(n: int, out: int) -> np.ndarray:
        """(out, n): row i averages pydl's cells [floor(i n / out), ceil((i + 1) n / out))."""
        a = np.zeros((out, n), x.dtype)
        for i in range(out):
            lo, hi = i * n // out, -(-(i + 1) * n // out)
            a[i, lo:hi] = 1.0 / (hi - lo)
        return a

    # Each cell is a rectangle, so its mean is separable: A_h x A_w^T with fixed H and W.
    h, w = x.shape[2:]
    y = _op(g, path, "MatMul", x.name, g.const(averaging(w, out_w).T, _join(path, "cols")))
    y = _op(g, path, "MatMul", g.const(averaging(h, out_h), _join(path, "rows")), y)
    return out.renamed(y)


# ----- normalization ----------------------------------------------------------------


def _affine(g: GraphBuilder, m: nn.Module, path: str, size: Any, dtype: Any) -> tuple[str, str]:
    """(scale, bias) initializers: the module's weight and bias, or 1 and 0 without them."""
    if m.weight is None:
        scale = g.const(np.ones(size, dtype), _join(path, "ones"))
    else:
        scale = g.param(m.weight)
    if m.bias is None:
        return scale, g.const(np.zeros(size, dtype), _join(path, "zeros"))
    return scale, g.param(m.bias)


def _per_channel(g: GraphBuilder, t: Any, rank: int, hint: str) -> str:
    """A (C,) weight as (C, 1, ...) for broadcasting over axis 1 of a rank-`rank` value."""
    return g.const(t._array.reshape((-1,) + (1,) * (rank - 2)), hint)


def _batch_norm(g: GraphBuilder, m: nn.Module, path: str, x: Val) -> Val:
    if m.track_running_stats:
        scale, bias = _affine(g, m, path, m.num_features, x.dtype)
        stats = [g.param(m.running_mean), g.param(m.running_var)]
        y = _op(g, path, "BatchNormalization", x.name, scale, bias, *stats, epsilon=m.eps)
        return g.result(m, path, (x,), y)
    # Without running statistics pydl's eval mode normalizes by the batch's, as PyTorch.
    axes = [0] + list(range(2, x.rank))
    mean = g.reduce("ReduceMean", x.name, axes, True, path)
    centered = _op(g, path, "Sub", x.name, mean)
    var = g.reduce("ReduceMean", _op(g, path, "Mul", centered, centered), axes, True, path)
    std = _op(g, path, "Sqrt", _op(g, path, "Add", var, g.scalar(m.eps, x)))
    y = _op(g, path, "Div", centered, std)
    if m.weight is not None:
        y = _op(g, path, "Mul", y, _per_channel(g, m.weight, x.rank, _join(path, "weight")))
        y = _op(g, path, "Add", y, _per_channel(g, m.bias, x.rank, _join(path, "bias")))
    return g.result(m, path, (x,), y)


def _layer_norm(g: GraphBuilder, m: nn.LayerNorm, path: str, x: Val) -> Val:
    shape = m.normalized_shape
    scale, bias = _affine(g, m, path, shape, x.dtype)
    y = _op(g, path, "LayerNormalization", x.name, scale, bias, axis=-len(shape), epsilon=m.eps)
    return g.result(m, path, (x,), y)


def _group_norm(g: GraphBuilder, m: nn.GroupNorm, path: str, x: Val) -> Val:
    # Not GroupNormalization: opset 21 changed the shape of its scale. Instance-normalizing
    # (N, G, rest) normalizes each group; the per-channel affine follows.
    groups = m.num_groups
    y = g.reshape(x.name, [0, groups, -1], path)
    ones = g.const(np.ones(groups, x.dtype), _join(path, "ones"))
    zeros = g.const(np.zeros(groups, x.dtype), _join(path, "zeros"))
    y = _op(g, path, "InstanceNormalization", y, ones, zeros, epsilon=m.eps)
    y = _op(g, path, "Reshape", y, _op(g, path, "Shape", x.name))
    if m.weight is not None:
        y = _op(g, path, "Mul", y, _per_channel(g, m.weight, x.rank, _join(path, "weight")))
        y = _op(g, path, "Add", y, _per_channel(g, m.bias, x.rank, _join(path, "bias")))
    return g.result(m, path, (x,), y)


def _instance_norm(g: GraphBuilder, m: nn.InstanceNorm2d, path: str, x: Val) -> Val:
    scale, bias = _affine(g, m, path, m.num_features, x.dtype)
    y = _op(g, path, "InstanceNormalization", x.name, scale, bias, epsilon=m.eps)
    return g.result(m, path, (x,), y)


# ----- embeddings, recurrent layers, attention --------------------------------------


def _embedding(g: GraphBuilder, m: nn.Embedding, path: str, idx: Val) -> Val:
    return g.result(m, path, (idx,), _op(g, path, "Gather", g.param(m.weight), idx.name))


# PyTorch's gate blocks in ONNX's order: LSTM (i, f, g, o) -> (i, o, f, c), GRU (r, z, n)
# -> (z, r, h).
_GATE_ORDER = {"lstm": [0, 3, 1, 2], "gru": [1, 0, 2], "gru_reset_before": [1, 0, 2]}


def _recurrent(g: GraphBuilder, m: nn.Module, path: str, x: Val, hx: Any = None) -> Any:
    if x.rank != 3:
        raise _unsupported(path, m, f"input of shape {x.shape}: export needs a batch axis")
    lstm, D, H = m.mode == "lstm", 2 if m.bidirectional else 1, m.hidden_size
    h0, c0 = hx if lstm and hx is not None else (hx, None)
    order = _GATE_ORDER.get(m.mode, [0])
    op, attrs = {
        "lstm": ("LSTM", {}),
        "gru": ("GRU", {"linear_before_reset": 1}),  # PyTorch's: r * (W_hn h + b_hn)
        "gru_reset_before": ("GRU", {"linear_before_reset": 0}),  # W_hn (r * h) + b_hn
        "rnn_tanh": ("RNN", {"activations": ["Tanh"] * D}),
        "rnn_relu": ("RNN", {"activations": ["Relu"] * D}),
    }[m.mode]

    def gates(t: Any) -> np.ndarray:
        a = t._array
        return a.reshape((len(order), H) + a.shape[1:])[order].reshape(a.shape)

    def layer_state(state: Val | None, layer: int) -> str:
        if state is None:
            return ""  # ONNX's default initial state is zeros, for any batch size
        if m.num_layers == 1:
            return state.name
        bounds = [g.ints([b]) for b in (layer * D, layer * D + D)]
        return _op(g, path, "Slice", state.name, *bounds, g.ints([0]))

    seq = x.name if not m.batch_first else _op(g, path, "Transpose", x.name, perm=[1, 0, 2])
    h_n, c_n = [], []
    for layer in range(m.num_layers):
        params = [m._params(layer, d) for d in range(D)]  # (w_ih, w_hh, b_ih, b_hh) each
        hint = _join(path, f"l{layer}")
        inputs = [
            seq,
            g.const(np.stack([gates(p[0]) for p in params]), f"{hint}.W"),
            g.const(np.stack([gates(p[1]) for p in params]), f"{hint}.R"),
            g.const(
                np.stack([np.concatenate([gates(p[2]), gates(p[3])]) for p in params]),
                f"{hint}.B",
            )
            if m.bias
            else "",
            "",  # sequence_lens: every sequence has the full length
            layer_state(h0, layer),
        ] + ([layer_state(c0, layer)] if lstm else [])
        while inputs[-1] == "":
            inputs.pop()
        outs = g.node(
            op,
            inputs,
            path,
            outputs=3 if lstm else 2,
            direction="bidirectional" if D == 2 else "forward",
            hidden_size=H,
            **attrs,
        )
        # Y is (T, D, B, H); the next layer and the output take (T, B, D * H).
        y = _op(g, path, "Transpose", outs[0], perm=[0, 2, 1, 3])
        seq = g.reshape(y, [0, 0, -1], path)
        h_n.append(outs[1])
        c_n += outs[2:]

    out = seq if not m.batch_first else _op(g, path, "Transpose", seq, perm=[1, 0, 2])

    def stacked(states: list[str]) -> str:
        return states[0] if len(states) == 1 else _op(g, path, "Concat", *states, axis=0)

    names = (out, (stacked(h_n), stacked(c_n))) if lstm else (out, stacked(h_n))
    return g.result(m, path, (x,) if hx is None else (x, hx), names)


def _multihead_attention(
    g: GraphBuilder,
    m: nn.MultiheadAttention,
    path: str,
    query: Val,
    key: Val,
    value: Val,
    key_padding_mask: Any = None,
    need_weights: bool = True,
    attn_mask: Any = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple:
    if key_padding_mask is not None or attn_mask is not None:
        raise _unsupported(path, m, "attention masks are not exported (is_causal is)")
    E, heads, head_dim = m.embed_dim, m.num_heads, m.head_dim

    def batch_major(v: Val) -> str:  # (N, T, E)
        return v.name if m.batch_first else _op(g, path, "Transpose", v.name, perm=[1, 0, 2])

    def project(v: str, which: int, perm: list[int]) -> str:
        """The heads of the which-th projection, (N, T, E) -> (N, H, T, Dh) permuted."""
        name = "qkv"[which]
        if m._qkv_same_embed_dim:
            w = m.in_proj_weight._array[which * E : (which + 1) * E]
        else:
            w = getattr(m, f"{name}_proj_weight")._array
        y = _op(g, path, "MatMul", v, g.const(w.T, _join(path, f"{name}_proj_weight_t")))
        if m.in_proj_bias is not None:
            b = m.in_proj_bias._array[which * E : (which + 1) * E]
            y = _op(g, path, "Add", y, g.const(b, _join(path, f"{name}_proj_bias")))
        return _op(g, path, "Transpose", g.reshape(y, [0, 0, heads, head_dim], path), perm=perm)

    q_in = batch_major(query)
    k_in = q_in if key is query else batch_major(key)
    v_in = k_in if value is key else batch_major(value)
    q = project(q_in, 0, [0, 2, 1, 3])
    k_t = project(k_in, 1, [0, 2, 3, 1])  # (N, H, Dh, S)
    v = project(v_in, 2, [0, 2, 1, 3])
    scores = _op(g, path, "MatMul", q, k_t)
    scores = _op(g, path, "Mul", scores, g.scalar(1.0 / math.sqrt(head_dim), query))
    if is_causal:
        L, S = (query.shape[1], key.shape[1]) if m.batch_first else (query.shape[0], key.shape[0])
        mask = np.triu(np.full((L, S), -np.inf, query.dtype), k=1)  # j > i may not be seen
        scores = _op(g, path, "Add", scores, g.const(mask, _join(path, "causal_mask")))
    probs = _op(g, path, "Softmax", scores, axis=-1)
    out = _op(g, path, "Transpose", _op(g, path, "MatMul", probs, v), perm=[0, 2, 1, 3])
    out = g.reshape(out, [0, 0, E], path)
    out = g.linear(_join(path, "out_proj"), out, m.out_proj.weight, m.out_proj.bias)
    if not m.batch_first:
        out = _op(g, path, "Transpose", out, perm=[1, 0, 2])
    weights = None
    if need_weights:  # (N, H, L, S), or averaged over the heads
        weights = g.reduce("ReduceMean", probs, [1], False, path) if average_attn_weights else probs
    return g.result(
        m,
        path,
        (query, key, value),
        (out, weights),
        need_weights=need_weights,
        average_attn_weights=average_attn_weights,
        is_causal=is_causal,
    )


def _transformer_encoder_layer(
    g: GraphBuilder,
    m: nn.TransformerEncoderLayer,
    path: str,
    src: Val,
    src_mask: Any = None,
    src_key_padding_mask: Any = None,
    is_causal: bool = False,
) -> Val:
    if src_mask is not None or src_key_padding_mask is not None:
        raise _unsupported(path, m, "attention masks are not exported (is_causal is)")

    def add(a: Val, b: Val) -> Val:
        return a.renamed(_op(g, path, "Add", a.name, b.name))

    def self_attention(x: Val) -> Val:
        attn = _join(path, "self_attn")
        out, _ = g.call(m.self_attn, attn, x, x, x, need_weights=False, is_causal=is_causal)
        return out

    def feed_forward(x: Val) -> Val:
        h = g.call(m.linear1, _join(path, "linear1"), x)
        act = _ACTIVATIONS["ReLU" if m.activation == "relu" else "GELU"]
        return g.call(m.linear2, _join(path, "linear2"), h.renamed(act(g, path, h)))

    def norm(which: str, x: Val) -> Val:
        return g.call(getattr(m, which), _join(path, which), x)

    x = src
    if m.norm_first:
        x = add(x, self_attention(norm("norm1", x)))
        return add(x, feed_forward(norm("norm2", x)))
    x = norm("norm1", add(x, self_attention(x)))
    return norm("norm2", add(x, feed_forward(x)))


# ----- the table --------------------------------------------------------------------

#: Module class -> its lowering. A subclass that keeps its base's forward uses the base's.
LOWERINGS: dict[type, Lowering] = {
    nn.Sequential: _sequential,
    MLP: _mlp,
    GPT: _gpt,
    nn.Identity: _identity,
    nn.Dropout: _identity,
    nn.Dropout2d: _identity,
    nn.Linear: _linear,
    nn.Flatten: _flatten,
    nn.PReLU: _prelu,
    nn.Maxout: _maxout,
    nn.Conv1d: _conv,
    nn.Conv2d: _conv,
    nn.MaxPool1d: _max_pool,
    nn.MaxPool2d: _max_pool,
    nn.AvgPool1d: _avg_pool,
    nn.AvgPool2d: _avg_pool,
    nn.AdaptiveAvgPool2d: _adaptive_avg_pool,
    nn.BatchNorm1d: _batch_norm,
    nn.BatchNorm2d: _batch_norm,
    nn.LayerNorm: _layer_norm,
    nn.GroupNorm: _group_norm,
    nn.InstanceNorm2d: _instance_norm,
    nn.Embedding: _embedding,
    nn.RNN: _recurrent,
    nn.LSTM: _recurrent,
    nn.GRU: _recurrent,
    nn.MultiheadAttention: _multihead_attention,
    nn.TransformerEncoderLayer: _transformer_encoder_layer,
    **{
        cls: _activation_lowering(_ACTIVATIONS[cls.__name__])
        for cls in ACTIVATION_MODULES.values()
        if cls.__name__ in _ACTIVATIONS
    },
}

#: Lowerings that pass a tuple input on as pydl's forward does (an RNN's (output, state)).
TAKES_TUPLES = (_sequential, _identity)

#: Lowerings whose inputs go to their first child unchanged (the child's layout decides
#: which axis of the inputs is the batch).
CONTAINERS = (_sequential, _mlp)

#: Modules that read (T, B, ...) unless batch_first; the recurrent ones take a state
#: (L * D, B, H) second.
SEQUENCE_FIRST = (nn.RNN, nn.LSTM, nn.GRU, nn.MultiheadAttention, nn.TransformerEncoderLayer)
RECURRENT = (nn.RNN, nn.LSTM, nn.GRU)
