"""pydl.nn.functional calls (convolution, pooling, normalization, embedding, attention,
activations, dropout, resizing, one_hot, pad, ...) given bad arguments, and unusual valid
input (non-contiguous / negative-stride arrays, zero-size, 0-d) checked against NumPy."""

import numpy as np
from corpus import assert_close as _close
from corpus import bad, ints, works
from corpus import randn as t
from corpus import randn_array as np_

import pydl
import pydl.nn.functional as F

CASES: list = []

R = RuntimeError
V = ValueError
T = TypeError
I = IndexError  # noqa: E741


def case(id, fn, raises, match):
    bad(CASES, "F." + id, fn, raises, match)


def check(id, fn):
    works(CASES, "F." + id, fn)


# --- linear / bilinear ------------------------------------------------------------------
case("linear.numpy_weight", lambda: F.linear(t(2, 3), np_(4, 3)), T, r"weight.*ndarray")
case("linear.list_weight", lambda: F.linear(t(2, 3), [[1.0, 2.0, 3.0]]), T, r"weight.*list")
case("linear.numpy_bias", lambda: F.linear(t(2, 3), t(4, 3), np_(4)), T, r"bias.*ndarray")
case("linear.weight_1d", lambda: F.linear(t(2, 3), t(3)), V, r"weight of shape \(3,\)")
case("linear.bias_shape", lambda: F.linear(t(2, 3), t(4, 3), t(3)), V, r"bias of shape \(3,\)")
case("linear.features", lambda: F.linear(t(2, 5), t(4, 3)), V, r"\(2, 5\).*\(4, 3\)")
case(
    "linear.int_input",
    lambda: F.linear(pydl.tensor(np.ones((2, 3), np.int32)), t(4, 3)),
    R,
    r"same dtype.*int32.*float32",
)
case(
    "linear.bool_input",
    lambda: F.linear(pydl.tensor(np.ones((2, 3), bool)), t(4, 3)),
    R,
    r"same dtype.*bool",
)
case(
    "linear.activation_bad",
    lambda: F.linear(t(2, 3), t(4, 3), activation="softmax"),
    V,
    r"activation.*softmax",
)
case("bilinear.weight_2d", lambda: F.bilinear(t(2, 3), t(2, 4), t(3, 4)), V, r"weight")


def _linear_transposed_weight():
    x, w = np_(2, 3), np_(3, 4).T
    _close(F.linear(pydl.tensor(x), pydl.tensor(w)), x @ w.T)


def _linear_zero_size():
    assert F.linear(t(0, 3), t(4, 3)).shape == (0, 4)


check("linear.transposed_weight", _linear_transposed_weight)
check("linear.zero_batch", _linear_zero_size)

# --- convolution ------------------------------------------------------------------------
case("conv2d.numpy_weight", lambda: F.conv2d(t(1, 1, 4, 4), np_(1, 1, 3, 3)), T, r"weight.*ndarray")
case("conv1d.numpy_weight", lambda: F.conv1d(t(1, 1, 4), np_(1, 1, 3)), T, r"weight.*ndarray")
case(
    "conv3d.list_bias",
    lambda: F.conv3d(t(1, 1, 3, 3, 3), t(1, 1, 2, 2, 2), [0.0]),
    T,
    r"bias.*list",
)
case(
    "conv_transpose2d.numpy_weight",
    lambda: F.conv_transpose2d(t(1, 1, 3, 3), np_(1, 1, 2, 2)),
    T,
    r"weight.*ndarray",
)
case("conv2d.input_rank", lambda: F.conv2d(t(4, 4), t(1, 1, 3, 3)), (V, R), r"\(4, 4\)")
case("conv2d.weight_rank", lambda: F.conv2d(t(1, 1, 4, 4), t(3, 3)), (V, R), r"weight.*\(3, 3\)")
case(
    "conv2d.channels",
    lambda: F.conv2d(t(1, 2, 4, 4), t(1, 3, 3, 3)),
    (V, R),
    r"channel|2.*3|3.*2",
)
case(
    "conv2d.stride_zero",
    lambda: F.conv2d(t(1, 1, 4, 4), t(1, 1, 3, 3), stride=0),
    (V, R),
    r"stride.*0",
)
case(
    "conv2d.padding_negative",
    lambda: F.conv2d(t(1, 1, 4, 4), t(1, 1, 3, 3), padding=-1),
    (V, R),
    r"padding.*-1",
)
case(
    "conv2d.dilation_zero",
    lambda: F.conv2d(t(1, 1, 4, 4), t(1, 1, 3, 3), dilation=0),
    (V, R),
    r"dilation.*0",
)
case(
    "conv2d.groups_zero",
    lambda: F.conv2d(t(1, 2, 4, 4), t(2, 1, 3, 3), groups=0),
    (V, R),
    r"groups.*0",
)
case(
    "conv2d.groups_indivisible",
    lambda: F.conv2d(t(1, 3, 4, 4), t(2, 1, 3, 3), groups=2),
    (V, R),
    r"groups",
)
case(
    "conv2d.bias_shape",
    lambda: F.conv2d(t(1, 1, 4, 4), t(2, 1, 3, 3), t(3)),
    (V, R),
    r"bias",
)
case(
    "conv2d.kernel_too_large",
    lambda: F.conv2d(t(1, 1, 2, 2), t(1, 1, 3, 3)),
    (V, R),
    r"kernel.*larger",
)
case(
    "conv2d.stride_str",
    lambda: F.conv2d(t(1, 1, 4, 4), t(1, 1, 3, 3), stride="2"),
    (T, V),
    r"stride",
)
case(
    "conv2d.int_input",
    lambda: F.conv2d(pydl.tensor(np.ones((1, 1, 4, 4), np.int64)), t(1, 1, 3, 3)),
    R,
    r"same dtype.*int64.*float32",
)
case("conv1d.input_rank", lambda: F.conv1d(t(1, 1, 4, 4), t(1, 1, 3)), (V, R), r"\(1, 1, 4, 4\)")
case(
    "conv1d.stride_negative",
    lambda: F.conv1d(t(1, 1, 8), t(1, 1, 3), stride=-2),
    (V, R),
    r"stride.*-2",
)
case("conv3d.weight_rank", lambda: F.conv3d(t(1, 1, 4, 4, 4), t(1, 1, 3, 3)), (V, R), r"weight")
case(
    "conv_transpose2d.channels",
    lambda: F.conv_transpose2d(t(1, 2, 4, 4), t(3, 1, 3, 3)),
    (V, R),
    r"channel|2.*3|3.*2",
)
case(
    "conv_transpose2d.stride_zero",
    lambda: F.conv_transpose2d(t(1, 1, 4, 4), t(1, 1, 3, 3), stride=0),
    (V, R),
    r"stride.*0",
)
case(
    "conv_transpose2d.output_padding_big",
    lambda: F.conv_transpose2d(t(1, 1, 4, 4), t(1, 1, 3, 3), stride=2, output_padding=3),
    (V, R),
    r"output_padding",
)
case(
    "conv_transpose1d.output_padding_negative",
    lambda: F.conv_transpose1d(t(1, 1, 4), t(1, 1, 3), stride=2, output_padding=-1),
    (V, R),
    r"output_padding.*-1",
)


def _conv2d_noncontig():
    x = np_(1, 2, 6, 5)[:, :, ::-1, :]
    w = np_(3, 2, 3, 3)
    y = F.conv2d(pydl.tensor(x), pydl.tensor(w))
    y2 = F.conv2d(pydl.tensor(np.ascontiguousarray(x)), pydl.tensor(w))
    _close(y, y2.numpy())


def _conv1d_against_numpy():
    x = np_(1, 1, 7)[..., ::-1]
    w = np_(1, 1, 3)
    ref = np.array([[[np.dot(x[0, 0, i : i + 3], w[0, 0]) for i in range(5)]]])
    _close(F.conv1d(pydl.tensor(x), pydl.tensor(w)), ref)


check("conv2d.negative_stride_input", _conv2d_noncontig)
check("conv1d.negative_stride_against_numpy", _conv1d_against_numpy)

# --- pooling ----------------------------------------------------------------------------
case("max_pool2d.kernel_zero", lambda: F.max_pool2d(t(1, 1, 4, 4), 0), (V, R), r"kernel_size.*0")
case(
    "max_pool2d.stride_zero", lambda: F.max_pool2d(t(1, 1, 4, 4), 2, stride=0), (V, R), r"stride.*0"
)
case(
    "max_pool2d.padding_big",
    lambda: F.max_pool2d(t(1, 1, 4, 4), 2, padding=3),
    (V, R),
    r"pad.*half",
)
case(
    "max_pool2d.dilation_zero",
    lambda: F.max_pool2d(t(1, 1, 4, 4), 2, dilation=0),
    (V, R),
    r"dilation.*0",
)
case("max_pool2d.rank", lambda: F.max_pool2d(t(4), 2), (V, R), r"\(4,\)")
case("max_pool1d.kernel_negative", lambda: F.max_pool1d(t(1, 1, 4), -1), (V, R), r"kernel_size.*-1")
case("avg_pool2d.kernel_zero", lambda: F.avg_pool2d(t(1, 1, 4, 4), 0), (V, R), r"kernel_size.*0")
case(
    "avg_pool2d.divisor_zero",
    lambda: F.avg_pool2d(t(1, 1, 4, 4), 2, divisor_override=0),
    (V, R),
    r"divisor.*0|divisor_override",
)
case("avg_pool1d.stride_zero", lambda: F.avg_pool1d(t(1, 1, 4), 2, stride=0), (V, R), r"stride.*0")
case("avg_pool3d.kernel_zero", lambda: F.avg_pool3d(t(1, 1, 4, 4, 4), 0), (V, R), r"kernel_size.*0")
case("max_pool3d.rank", lambda: F.max_pool3d(t(1, 4, 4), 2), (V, R), r"\(1, 4, 4\)")
case(
    "adaptive_avg_pool2d.negative",
    lambda: F.adaptive_avg_pool2d(t(1, 1, 4, 4), (-1, 2)),
    (V, R),
    r"output_size.*-1",
)
case(
    "adaptive_max_pool2d.rank",
    lambda: F.adaptive_max_pool2d(t(4, 4), 2),
    (V, R),
    r"\(4, 4\)",
)
case(
    "adaptive_avg_pool1d.rank",
    lambda: F.adaptive_avg_pool1d(t(4), 2),
    (V, R),
    r"\(4,\)",
)
case(
    "max_unpool2d.indices_out_of_range",
    lambda: F.max_unpool2d(t(1, 1, 2, 2), ints(0, 1, 2, 99).reshape(1, 1, 2, 2), 2),
    (I, R, V),
    r"99|index|range",
)


def _maxpool_indices():
    x = np_(1, 1, 4, 4)[..., ::-1]
    y, idx = F.max_pool2d(pydl.tensor(x), 2, return_indices=True)
    _close(y, x.reshape(1, 1, 2, 2, 2, 2).max(axis=(3, 5)))
    assert idx.shape == (1, 1, 2, 2)


def _adaptive_avg_global():
    x = np_(2, 3, 5, 4).transpose(0, 1, 3, 2)
    _close(F.adaptive_avg_pool2d(pydl.tensor(x), 1), x.mean(axis=(2, 3), keepdims=True))


check("max_pool2d.negative_stride_indices", _maxpool_indices)
check("adaptive_avg_pool2d.transposed_global", _adaptive_avg_global)

# --- normalization ----------------------------------------------------------------------
case(
    "batch_norm.running_mean_shape",
    lambda: F.batch_norm(t(4, 3), t(2), t(3)),
    (V, R),
    r"running_mean|\(2,\)",
)
case(
    "batch_norm.weight_shape",
    lambda: F.batch_norm(t(4, 3), None, None, t(5), training=True),
    (V, R),
    r"weight|\(5,\)",
)
case(
    "batch_norm.one_value_per_channel",
    lambda: F.batch_norm(t(1, 3), None, None, training=True),
    V,
    r"more than 1 value per channel",
)
case(
    "batch_norm.rank1",
    lambda: F.batch_norm(t(3), None, None, training=True),
    (V, R),
    r"\(3,\)|dim",
)
case(
    "layer_norm.shape_mismatch",
    lambda: F.layer_norm(t(2, 5), (4,)),
    (V, R),
    r"normalized_shape.*\(4,\)",
)
case(
    "layer_norm.weight_shape",
    lambda: F.layer_norm(t(2, 4), (4,), t(3)),
    (V, R),
    r"weight|\(3,\)",
)
case("layer_norm.shape_str", lambda: F.layer_norm(t(2, 4), "4"), (T, V), r"normalized_shape")
case(
    "group_norm.indivisible",
    lambda: F.group_norm(t(2, 6, 3), 4),
    (V, R),
    r"6.*4|groups",
)
case(
    "group_norm.groups_zero",
    lambda: F.group_norm(t(2, 6, 3), 0),
    (V, R, ZeroDivisionError),
    r"num_groups.*0|groups",
)
case(
    "instance_norm.rank",
    lambda: F.instance_norm(t(3)),
    (V, R),
    r"\(3,\)|dim",
)
case(
    "rms_norm.shape_mismatch",
    lambda: F.rms_norm(t(2, 3), (4,)),
    (V, R),
    r"normalized_shape.*\(4,\)",
)
case(
    "local_response_norm.size_zero",
    lambda: F.local_response_norm(t(1, 3, 4, 4), 0),
    (V, R),
    r"size.*0",
)
case("normalize.dim_out_of_range", lambda: F.normalize(t(2, 3), dim=4), I, r"dim|4|range")


def _layer_norm_0d_batch():
    x = t(0, 4)
    assert F.layer_norm(x, (4,)).shape == (0, 4)


def _batch_norm_eval_noncontig():
    x = np_(3, 4).T
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    _close(F.batch_norm(pydl.tensor(x), pydl.tensor(rm), pydl.tensor(rv)), x / np.sqrt(1 + 1e-5))


check("layer_norm.zero_batch", _layer_norm_0d_batch)
check("batch_norm.eval_transposed", _batch_norm_eval_noncontig)

# --- embedding --------------------------------------------------------------------------
case(
    "embedding.padding_idx_out_of_range",
    lambda: F.embedding(ints(1, 2), t(5, 3), padding_idx=12),
    V,
    r"padding_idx.*\[-5, 5\).*12",
)
case(
    "embedding.padding_idx_too_negative",
    lambda: F.embedding(ints(1, 2), t(5, 3), padding_idx=-6),
    V,
    r"padding_idx.*-6",
)
case(
    "embedding.padding_idx_float",
    lambda: F.embedding(ints(1, 2), t(5, 3), padding_idx=1.5),
    T,
    r"padding_idx.*1\.5",
)
case("embedding.index_out_of_range", lambda: F.embedding(ints(0, 7), t(5, 3)), I, r"7")
case("embedding.negative_index", lambda: F.embedding(ints(-1), t(5, 3)), I, r"-1")
case("embedding.float_indices", lambda: F.embedding(t(2), t(5, 3)), T, r"integer.*float32")
case(
    "embedding.bool_indices",
    lambda: F.embedding(pydl.tensor(np.array([True])), t(5, 3)),
    T,
    r"integer.*bool",
)
case("embedding.numpy_weight", lambda: F.embedding(ints(1), np_(5, 3)), T, r"weight.*ndarray")
case("embedding.weight_1d", lambda: F.embedding(ints(1), t(5)), V, r"weight.*2-D.*\(5,\)")
case("embedding.str_indices", lambda: F.embedding("ab", t(5, 3)), T, r"integer|<U2|str")
case(
    "embedding_bag.mode_bad",
    lambda: F.embedding_bag(ints(1, 2), t(5, 3), ints(0), mode="prod"),
    V,
    r"mode.*prod",
)
case(
    "embedding_bag.offsets_not_starting_at_zero",
    lambda: F.embedding_bag(ints(1, 2, 3), t(5, 3), ints(1, 2)),
    V,
    r"offsets\[0\].*1",
)
case(
    "embedding_bag.offsets_decreasing",
    lambda: F.embedding_bag(ints(1, 2, 3), t(5, 3), ints(0, 2, 1)),
    V,
    r"non-decreasing",
)
case(
    "embedding_bag.offsets_float",
    lambda: F.embedding_bag(ints(1, 2, 3), t(5, 3), t(2)),
    T,
    r"offsets.*integer",
)
case(
    "embedding_bag.per_sample_weights_mean",
    lambda: F.embedding_bag(ints(1, 2), t(5, 3), ints(0), per_sample_weights=t(2)),
    V,
    r"per_sample_weights.*mode='mean'",
)
case(
    "embedding_bag.padding_idx_out_of_range",
    lambda: F.embedding_bag(ints(1, 2), t(5, 3), ints(0), padding_idx=9),
    V,
    r"padding_idx.*9",
)
case(
    "embedding_bag.input_3d",
    lambda: F.embedding_bag(pydl.tensor(np.zeros((1, 1, 1), np.int64)), t(5, 3)),
    V,
    r"1-D or 2-D.*\(1, 1, 1\)",
)


def _embedding_negative_padding():
    w = t(5, 3)
    y = F.embedding(ints(4, 1), w, padding_idx=-1)  # row 4, as PyTorch
    _close(y, w.numpy()[[4, 1]])


def _embedding_noncontig_2d():
    w = t(6, 2)
    idx = np.arange(6).reshape(2, 3).T
    _close(F.embedding(pydl.tensor(idx), w), w.numpy()[idx])


def _embedding_empty():
    assert F.embedding(pydl.tensor(np.zeros((0,), np.int64)), t(5, 3)).shape == (0, 3)


check("embedding.padding_idx_negative_valid", _embedding_negative_padding)
check("embedding.transposed_indices", _embedding_noncontig_2d)
check("embedding.empty_indices", _embedding_empty)

# --- attention --------------------------------------------------------------------------
case(
    "scaled_dot_product_attention.head_dim_mismatch",
    lambda: F.scaled_dot_product_attention(t(1, 2, 3, 4), t(1, 2, 3, 5), t(1, 2, 3, 4)),
    (V, R),
    r"4.*5|5.*4|shape",
)
case(
    "scaled_dot_product_attention.key_value_length",
    lambda: F.scaled_dot_product_attention(t(1, 2, 3, 4), t(1, 2, 3, 4), t(1, 2, 5, 4)),
    (V, R),
    r"3.*5|5.*3|shape",
)
case(
    "scaled_dot_product_attention.rank1",
    lambda: F.scaled_dot_product_attention(t(4), t(4), t(4)),
    (V, R),
    r"\(4,\)|dim|rank",
)
case(
    "scaled_dot_product_attention.mask_shape",
    lambda: F.scaled_dot_product_attention(
        t(1, 2, 3, 4), t(1, 2, 3, 4), t(1, 2, 3, 4), attn_mask=t(5, 5)
    ),
    (V, R),
    r"mask|\(5, 5\)",
)
case(
    "scaled_dot_product_attention.dropout_bad",
    lambda: F.scaled_dot_product_attention(
        t(1, 2, 3, 4), t(1, 2, 3, 4), t(1, 2, 3, 4), dropout_p=1.5
    ),
    V,
    r"dropout_p.*1\.5",
)
case(
    "scaled_dot_product_attention.causal_and_mask",
    lambda: F.scaled_dot_product_attention(
        t(1, 2, 3, 4), t(1, 2, 3, 4), t(1, 2, 3, 4), attn_mask=t(3, 3), is_causal=True
    ),
    (V, R),
    r"is_causal|mask",
)


def _sdpa_against_numpy():
    q, k, v = np_(2, 3, 4, seed=1), np_(2, 5, 4, seed=2), np_(2, 5, 4, seed=3)[:, ::-1]
    s = q @ k.transpose(0, 2, 1) / 2.0
    w = np.exp(s - s.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    y = F.scaled_dot_product_attention(pydl.tensor(q), pydl.tensor(k), pydl.tensor(v))
    _close(y, w @ v)


check("scaled_dot_product_attention.negative_stride_value", _sdpa_against_numpy)

# --- activations ------------------------------------------------------------------------
case("softmax.dim_out_of_range", lambda: F.softmax(t(2, 3), dim=2), I, r"dim|2|range")
case("log_softmax.dim_str", lambda: F.log_softmax(t(2, 3), dim="1"), T, r"dim|str")
case("gelu.approximate_bad", lambda: F.gelu(t(3), approximate="fast"), V, r"approximate.*fast")
case("leaky_relu.slope_str", lambda: F.leaky_relu(t(3), "a"), T, r"negative_slope.*str")
case("elu.alpha_none", lambda: F.elu(t(3), None), T, r"alpha.*NoneType")
case("celu.alpha_zero", lambda: F.celu(t(3), 0.0), V, r"alpha.*0")
case("hardtanh.min_above_max", lambda: F.hardtanh(t(3), 2.0, 1.0), V, r"min_val 2\.0.*max_val 1\.0")
case("softshrink.negative", lambda: F.softshrink(t(3), -0.5), R, r"lambda.*-0\.5")
case("threshold.value_str", lambda: F.threshold(t(3), 0.0, "x"), T, r"value.*str")
case("softplus.beta_str", lambda: F.softplus(t(3), beta="a"), T, r"beta.*str")
case("rrelu.lower_above_upper", lambda: F.rrelu(t(3), 0.5, 0.1), V, r"lower=0\.5.*upper=0\.1")
case("glu.odd", lambda: F.glu(t(2, 5)), R, r"even.*5")
case("glu.scalar", lambda: F.glu(t()), R, r"scalar")
case("prelu.weight_size", lambda: F.prelu(t(2, 3), t(2)), (V, R), r"weight|2|3")
case("maxout.pool_size_zero", lambda: F.maxout(t(2, 4), 0), V, r"pool_size.*0")
case("maxout.pool_size_indivisible", lambda: F.maxout(t(2, 5), 2), V, r"5.*2|divisible")
case("maxout.pool_size_float", lambda: F.maxout(t(2, 4), 2.0), (V, T), r"pool_size.*2\.0")
case("relu.complex", lambda: F.relu(np.ones(3, np.complex64)), T, r"complex")
case("sigmoid.str", lambda: F.sigmoid("x"), T, r"str|<U1")
case(
    "softmax.int_input",
    lambda: F.softmax(pydl.tensor(np.array([1, 2], np.int64)), dim=0),
    (R, T),
    r"int64|Long|float",
)


def _softmax_0d():
    y = F.softmax(pydl.tensor(np.float32(3.0)), dim=0)
    assert y.shape == ()
    _close(y, 1.0)


def _relu_negative_stride():
    a = np_(4, 5)[::-1, ::-2]
    _close(F.relu(pydl.tensor(a)), np.maximum(a, 0))


def _gelu_zero_size():
    assert F.gelu(t(0, 3)).shape == (0, 3)


def _log_softmax_transposed():
    a = np_(3, 4).T
    m = a.max(0, keepdims=True)
    _close(
        F.log_softmax(pydl.tensor(a), dim=0), a - m - np.log(np.exp(a - m).sum(0, keepdims=True))
    )


check("softmax.0d", _softmax_0d)
check("relu.negative_stride", _relu_negative_stride)
check("gelu.zero_size", _gelu_zero_size)
check("log_softmax.transposed", _log_softmax_transposed)

# --- dropout ----------------------------------------------------------------------------
case("dropout.p_above_one", lambda: F.dropout(t(3), 1.5), V, r"1\.5")
case("dropout.p_negative", lambda: F.dropout(t(3), -0.2), V, r"-0\.2")
case("dropout.p_nan", lambda: F.dropout(t(3), float("nan")), V, r"nan")
case("dropout.p_str", lambda: F.dropout(t(3), "0.5"), T, r"\bp\b|str")
case("dropout2d.p_above_one", lambda: F.dropout2d(t(1, 2, 3, 3), 2.0), V, r"2\.0")


def _dropout_p_one():
    y = F.dropout(t(3, 4), 1.0)
    assert not y.numpy().any()


def _dropout_not_training():
    a = np_(3, 4)[:, ::-1]
    _close(F.dropout(pydl.tensor(a), 0.5, training=False), a)


check("dropout.p_one_zeroes", _dropout_p_one)
check("dropout.not_training_negative_stride", _dropout_not_training)

# --- interpolate, shuffles, fold --------------------------------------------------------
case(
    "interpolate.mode_bad",
    lambda: F.interpolate(t(1, 1, 2, 2), scale_factor=2, mode="cubic"),
    (V, NotImplementedError),
    r"cubic",
)
case("interpolate.no_size", lambda: F.interpolate(t(1, 1, 2, 2)), V, r"size.*scale_factor")
case(
    "interpolate.both",
    lambda: F.interpolate(t(1, 1, 2, 2), size=4, scale_factor=2),
    V,
    r"size.*scale_factor",
)
case(
    "interpolate.scale_negative",
    lambda: F.interpolate(t(1, 1, 2, 2), scale_factor=-1.0),
    (V, R),
    r"scale_factor.*-1|positive|greater than 0",
)
case(
    "interpolate.size_wrong_len",
    lambda: F.interpolate(t(1, 1, 2, 2), size=(2, 2, 2)),
    V,
    r"size",
)
case(
    "interpolate.rank2",
    lambda: F.interpolate(t(2, 2), scale_factor=2),
    (V, R, NotImplementedError),
    r"3D, 4D|\(2, 2\)|dims",
)
case(
    "interpolate.bilinear_on_3d",
    lambda: F.interpolate(t(1, 1, 4), scale_factor=2, mode="bilinear"),
    (V, R, NotImplementedError),
    r"bilinear",
)
case(
    "interpolate.align_corners_nearest",
    lambda: F.interpolate(t(1, 1, 2, 2), scale_factor=2, align_corners=True),
    V,
    r"align_corners",
)
case("pixel_shuffle.channels", lambda: F.pixel_shuffle(t(1, 3, 2, 2), 2), (V, R), r"\(1, 3, 2, 2\)")
case(
    "pixel_shuffle.factor_negative",
    lambda: F.pixel_shuffle(t(1, 4, 2, 2), -2),
    (V, R),
    r"upscale_factor",
)
case(
    "pixel_unshuffle.size",
    lambda: F.pixel_unshuffle(t(1, 1, 3, 3), 2),
    (V, R),
    r"\(1, 1, 3, 3\)|divisible",
)
case("unfold.kernel_zero", lambda: F.unfold(t(1, 1, 4, 4), 0), (V, R), r"kernel_size.*0")
case("unfold.rank", lambda: F.unfold(t(4, 4), 2), (V, R), r"\(4, 4\)|4-D|dims")
case("fold.blocks_mismatch", lambda: F.fold(t(1, 4, 5), (3, 3), 2), (V, R), r"blocks|5|4")


def _interpolate_nearest_transposed():
    a = np_(1, 1, 3, 2).transpose(0, 1, 3, 2)
    _close(F.interpolate(pydl.tensor(a), scale_factor=2), a.repeat(2, 2).repeat(2, 3))


check("interpolate.nearest_transposed", _interpolate_nearest_transposed)

# --- one_hot ----------------------------------------------------------------------------
case("one_hot.out_of_range", lambda: F.one_hot(ints(0, 3), 3), (R, I), r"3|class")
case("one_hot.negative", lambda: F.one_hot(ints(-1, 0), 3), (R, I), r"-1|negative|class")
case("one_hot.float", lambda: F.one_hot(t(2), 3), (R, T), r"int|Long|float32")
case(
    "one_hot.num_classes_zero_nonempty",
    lambda: F.one_hot(ints(0), 0),
    (R, V, I),
    r"num_classes|0|class",
)


def _one_hot_infer():
    y = F.one_hot(pydl.tensor(np.array([2, 0, 1])[::-1]), -1)
    np.testing.assert_array_equal(y.numpy(), np.eye(3, dtype=np.int64)[[1, 0, 2]])


def _one_hot_empty():
    assert F.one_hot(pydl.tensor(np.zeros((0,), np.int64)), 4).shape == (0, 4)


check("one_hot.infer_classes_negative_stride", _one_hot_infer)
check("one_hot.empty", _one_hot_empty)

# --- pad --------------------------------------------------------------------------------
case("pad.odd_length", lambda: F.pad(t(2, 3), (1, 1, 1)), (V, R), r"pad|even|length")
case("pad.too_long", lambda: F.pad(t(3), (1, 1, 1, 1)), (V, R), r"pad|length|dims")
case(
    "pad.mode_bad",
    lambda: F.pad(t(1, 2, 3), (1, 1), mode="wrap"),
    (V, NotImplementedError),
    r"mode.*wrap|wrap",
)
case(
    "pad.reflect_too_big",
    lambda: F.pad(t(1, 1, 3), (3, 3), mode="reflect"),
    (V, R),
    r"pad|size|3",
)


def _pad_negative_crops():
    a = np_(3, 5)[:, ::-1]
    _close(F.pad(pydl.tensor(a), (-1, -1)), a[:, 1:-1])


def _pad_constant_value():
    a = np_(2, 2).T
    _close(F.pad(pydl.tensor(a), (1, 0), value=7.0), np.pad(a, ((0, 0), (1, 0)), constant_values=7))


check("pad.negative_crops", _pad_negative_crops)
check("pad.constant_value_transposed", _pad_constant_value)

# --- recurrent_layer and similarity -----------------------------------------------------
case(
    "recurrent_layer.mode_bad",
    lambda: F.recurrent_layer(t(2, 1, 3), t(1, 4), None, t(4, 3), t(4, 4), None, None, "elman"),
    (V, R),
    r"mode.*elman|elman",
)
case(
    "recurrent_layer.weight_shape",
    lambda: F.recurrent_layer(t(2, 1, 3), t(1, 4), None, t(4, 5), t(4, 4), None, None, "rnn_tanh"),
    (V, R),
    r"w_ih|weight|\(4, 5\)",
)
case(
    "cosine_similarity.shape",
    lambda: F.cosine_similarity(t(2, 3), t(2, 4)),
    (V, R),
    r"3.*4|4.*3|broadcast|shape",
)
case(
    "pairwise_distance.shape",
    lambda: F.pairwise_distance(t(2, 3), t(3, 3)),
    (V, R),
    r"2.*3|broadcast|shape",
)

# --- wrong argument types (floats, strings where ints are meant) -------------------------
case("max_pool2d.kernel_float", lambda: F.max_pool2d(t(1, 1, 4, 4), 2.5), T, r"kernel_size.*2\.5")
case("max_pool2d.kernel_str", lambda: F.max_pool2d(t(1, 1, 4, 4), "22"), T, r"kernel_size.*'22'")
case("avg_pool1d.kernel_float", lambda: F.avg_pool1d(t(1, 1, 4), 2.0), T, r"kernel_size.*2\.0")
case(
    "conv2d.stride_float",
    lambda: F.conv2d(t(1, 1, 4, 4), t(1, 1, 3, 3), stride=1.5),
    T,
    r"stride.*1\.5",
)
case(
    "conv2d.groups_float",
    lambda: F.conv2d(t(1, 2, 4, 4), t(2, 1, 3, 3), groups=2.0),
    T,
    r"groups.*2\.0",
)
case(
    "conv3d.groups_str",
    lambda: F.conv3d(t(1, 2, 3, 3, 3), t(2, 1, 2, 2, 2), groups="2"),
    T,
    r"groups.*'2'",
)
case(
    "conv_transpose2d.groups_float",
    lambda: F.conv_transpose2d(t(1, 2, 3, 3), t(2, 1, 2, 2), groups=1.0),
    T,
    r"groups.*1\.0",
)
case(
    "conv_transpose1d.stride_str",
    lambda: F.conv_transpose1d(t(1, 1, 3), t(1, 1, 2), stride="2"),
    T,
    r"stride.*'2'",
)
case("interpolate.size_float", lambda: F.interpolate(t(1, 1, 2, 2), size=3.5), T, r"size.*3\.5")
case("group_norm.num_groups_float", lambda: F.group_norm(t(2, 4, 3), 2.0), T, r"num_groups.*2\.0")
case("layer_norm.eps_str", lambda: F.layer_norm(t(2, 4), (4,), eps="a"), T, r"eps.*str")
case(
    "batch_norm.momentum_str",
    lambda: F.batch_norm(t(4, 3), t(3), t(3), training=True, momentum="a"),
    T,
    r"momentum.*str",
)
case("instance_norm.eps_none", lambda: F.instance_norm(t(2, 3, 4), eps=None), T, r"eps.*NoneType")
case("rms_norm.eps_str", lambda: F.rms_norm(t(2, 3), (3,), eps="x"), T, r"eps.*str")
case("softmax.dim_float", lambda: F.softmax(t(2, 3), dim=1.0), T, r"dim.*1\.0")
case("log_softmax.dim_float", lambda: F.log_softmax(t(2, 3), dim=0.0), T, r"dim.*0\.0")
case("glu.dim_float", lambda: F.glu(t(2, 4), dim=1.0), T, r"dim.*1\.0")
case("normalize.p_str", lambda: F.normalize(t(2, 3), p="a"), T, r"\bp\b.*str")
case("normalize.dim_float", lambda: F.normalize(t(2, 3), dim=1.5), T, r"dim.*1\.5")
case(
    "pixel_shuffle.factor_float",
    lambda: F.pixel_shuffle(t(1, 4, 2, 2), 2.0),
    T,
    r"upscale_factor.*2\.0",
)
case(
    "pixel_unshuffle.factor_str",
    lambda: F.pixel_unshuffle(t(1, 1, 4, 4), "2"),
    T,
    r"downscale_factor.*'2'",
)
case("unfold.kernel_float", lambda: F.unfold(t(1, 1, 4, 4), 2.5), T, r"kernel_size.*2\.5")
case(
    "adaptive_avg_pool2d.size_float",
    lambda: F.adaptive_avg_pool2d(t(1, 1, 4, 4), 2.0),
    T,
    r"output_size.*2\.0",
)
case(
    "max_unpool2d.kernel_float",
    lambda: F.max_unpool2d(t(1, 1, 2, 2), ints(0, 1, 2, 3).reshape(1, 1, 2, 2), 2.0),
    T,
    r"kernel_size.*2\.0",
)


def _pool_numpy_int_kernel():
    a = np_(1, 1, 4, 4)
    y = F.max_pool2d(pydl.tensor(a), np.int64(2), stride=(np.int32(2), 2))
    _close(y, a.reshape(1, 1, 2, 2, 2, 2).max(axis=(3, 5)))


check("max_pool2d.numpy_int_arguments", _pool_numpy_int_kernel)

# --- huge sizes: MemoryError or ValueError naming the size, never a crash or a hang -------
HUGE = (MemoryError, V, R)
case(
    "interpolate.size_huge",
    lambda: F.interpolate(t(1, 1, 2, 2), size=(2**31, 2**31)),
    HUGE,
    r"out of memory allocating 4611686018427387904|int64",
)
case(
    "interpolate.scale_huge",
    lambda: F.interpolate(t(1, 1, 2, 2), scale_factor=1e12),
    HUGE,
    r"more elements than int64",
)
case(
    "conv_transpose2d.stride_huge",
    lambda: F.conv_transpose2d(t(1, 1, 2, 2), t(1, 1, 2, 2), stride=2**40),
    HUGE,
    r"more elements than int64",
)
case(
    "conv2d.padding_huge",
    lambda: F.conv2d(t(1, 1, 2, 2), t(1, 1, 2, 2), padding=2**40),
    HUGE,
    r"more elements than int64",
)
case(
    "adaptive_avg_pool2d.size_huge",
    lambda: F.adaptive_avg_pool2d(t(1, 1, 2, 2), 2**40),
    HUGE,
    r"more elements than int64",
)
case(
    "fold.output_size_huge",
    lambda: F.fold(t(1, 4, 1), (2**31, 2**31), 2),
    HUGE,
    r"output_size=\(2147483648, 2147483648\)",
)
case(
    "max_pool2d.kernel_huge",
    lambda: F.max_pool2d(t(1, 1, 2, 2), 2**40, padding=2**38),
    HUGE,
    r"kernel \(1099511627776",
)
case(
    "pixel_shuffle.factor_huge",
    lambda: F.pixel_shuffle(t(1, 4, 2, 2), 2**40),
    HUGE,
    r"1099511627776",
)
case(
    "embedding_bag.offset_huge",
    lambda: F.embedding_bag(ints(1, 2), t(5, 3), ints(0, 2**40)),
    V,
    r"offsets.*1099511627776",
)
case(
    "conv2d.stride_beyond_int64",
    lambda: F.conv2d(t(1, 1, 2, 2), t(1, 1, 2, 2), stride=2**64),
    V,
    r"stride.*64-bit",
)
