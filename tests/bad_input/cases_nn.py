"""Layer constructors and forwards of pydl.nn given bad arguments (and unusual valid input).

Each `bad` case names the layer, the argument and the value in its pattern; the exception
types are PyTorch's for the same input, else ValueError / TypeError / IndexError.
"""

import numpy as np
from corpus import assert_close as _close
from corpus import bad, works
from corpus import oracle_torch as _torch
from corpus import randn as t
from corpus import randn_array as np_

import pydl
import pydl.nn as nn

CASES: list = []

R = RuntimeError
V = ValueError
T = TypeError


# --- Linear / Bilinear ------------------------------------------------------------------
bad(CASES, "nn.Linear.in_features_zero", lambda: nn.Linear(0, 3), V, r"in_features=0")
bad(CASES, "nn.Linear.out_features_negative", lambda: nn.Linear(3, -1), V, r"out_features=-1")
bad(CASES, "nn.Linear.in_features_float", lambda: nn.Linear(2.5, 3), T, r"in_features.*2\.5")
bad(CASES, "nn.Linear.in_features_str", lambda: nn.Linear("3", 3), T, r"in_features.*str")
bad(CASES, "nn.Linear.out_features_none", lambda: nn.Linear(3, None), T, r"out_features.*None")
bad(
    CASES, "nn.Linear.huge", lambda: nn.Linear(2**31, 2**31), (MemoryError, V), r"memory|size|alloc"
)
bad(
    CASES,
    "nn.Linear.forward_wrong_features",
    lambda: nn.Linear(3, 2)(t(4, 5)),
    (R, V),
    r"4x5.*2x3|shape|5.*3",
)
bad(CASES, "nn.Linear.forward_str", lambda: nn.Linear(3, 2)("abc"), T, r"str|<U3")
bad(
    CASES,
    "nn.Linear.forward_0d",
    lambda: nn.Linear(3, 2)(t()),
    (R, V),
    r"0-d|dimension|shape|scalar",
)
bad(
    CASES,
    "nn.Linear.forward_int_dtype",
    lambda: nn.Linear(3, 2)(pydl.tensor(np.ones((2, 3), np.int64))),
    (R, T),
    r"int64|dtype|Long",
)


def _linear_noncontig():
    m = nn.Linear(3, 2)
    a = np_(4, 3)[::-1, :]
    y = m(pydl.tensor(a))
    _close(y, a @ m.weight.numpy().T + m.bias.numpy())


def _linear_transposed():
    m = nn.Linear(4, 2)
    a = np_(4, 5).T
    _close(m(pydl.tensor(a)), a @ m.weight.numpy().T + m.bias.numpy())


def _linear_zero_batch():
    y = nn.Linear(3, 2)(t(0, 3))
    assert y.shape == (0, 2)


def _linear_1d():
    m = nn.Linear(3, 2)
    a = np_(3)
    _close(m(pydl.tensor(a)), m.weight.numpy() @ a + m.bias.numpy())


works(CASES, "nn.Linear.forward_negative_stride", _linear_noncontig)
works(CASES, "nn.Linear.forward_transposed", _linear_transposed)
works(CASES, "nn.Linear.forward_zero_batch", _linear_zero_batch)
works(CASES, "nn.Linear.forward_1d", _linear_1d)

bad(CASES, "nn.Bilinear.in1_zero", lambda: nn.Bilinear(0, 2, 2), V, r"in1_features=0")
bad(CASES, "nn.Bilinear.out_negative", lambda: nn.Bilinear(2, 2, -3), V, r"out_features=-3")
bad(
    CASES,
    "nn.Bilinear.forward_mismatch",
    lambda: nn.Bilinear(3, 4, 2)(t(2, 3), t(2, 5)),
    (R, V),
    r"4|5|shape|size",
)
bad(
    CASES,
    "nn.Bilinear.forward_batch_mismatch",
    lambda: nn.Bilinear(3, 4, 2)(t(2, 3), t(3, 4)),
    (R, V),
    r"batch|2.*3|shape|size",
)

# --- Maxout -----------------------------------------------------------------------------
bad(CASES, "nn.Maxout.pool_size_zero", lambda: nn.Maxout(4, 2, 0), V, r"Maxout.*pool_size.*0")
bad(CASES, "nn.Maxout.pool_size_negative", lambda: nn.Maxout(4, 2, -1), V, r"Maxout.*pool_size.*-1")
bad(CASES, "nn.Maxout.out_features_zero", lambda: nn.Maxout(4, 0, 2), V, r"Maxout.*out_features.*0")
bad(CASES, "nn.Maxout.in_features_zero", lambda: nn.Maxout(0, 2, 2), V, r"Maxout.*in_features.*0")
bad(CASES, "nn.Maxout.pool_size_float", lambda: nn.Maxout(4, 2, 1.5), T, r"Maxout.*pool_size.*1\.5")
bad(
    CASES,
    "nn.Maxout.forward_wrong_features",
    lambda: nn.Maxout(4, 2, 2)(t(3, 5)),
    (R, V),
    r"5|4|shape",
)

# --- convolutions -----------------------------------------------------------------------
bad(CASES, "nn.Conv2d.kernel_size_zero", lambda: nn.Conv2d(1, 4, 0), V, r"kernel_size.*0")
bad(CASES, "nn.Conv2d.kernel_size_negative", lambda: nn.Conv2d(1, 4, -3), V, r"kernel_size.*-3")
bad(CASES, "nn.Conv2d.kernel_size_float", lambda: nn.Conv2d(1, 4, 2.5), T, r"kernel_size.*2\.5")
bad(CASES, "nn.Conv2d.kernel_size_wrong_len", lambda: nn.Conv2d(1, 4, (3, 3, 3)), V, r"kernel_size")
bad(CASES, "nn.Conv2d.kernel_size_str", lambda: nn.Conv2d(1, 4, "3"), T, r"kernel_size")
bad(CASES, "nn.Conv2d.stride_zero", lambda: nn.Conv2d(1, 4, 3, stride=0), V, r"stride.*0")
bad(CASES, "nn.Conv2d.dilation_zero", lambda: nn.Conv2d(1, 4, 3, dilation=0), V, r"dilation.*0")
bad(CASES, "nn.Conv2d.padding_negative", lambda: nn.Conv2d(1, 4, 3, padding=-1), V, r"padding.*-1")
bad(
    CASES,
    "nn.Conv2d.padding_bad_str",
    lambda: nn.Conv2d(1, 4, 3, padding="full"),
    V,
    r"padding.*full",
)
bad(
    CASES,
    "nn.Conv2d.padding_same_strided",
    lambda: nn.Conv2d(1, 4, 3, stride=2, padding="same"),
    V,
    r"same.*strided",
)
bad(CASES, "nn.Conv2d.groups_zero", lambda: nn.Conv2d(4, 4, 3, groups=0), V, r"groups.*0")
bad(
    CASES,
    "nn.Conv2d.groups_indivisible",
    lambda: nn.Conv2d(4, 6, 3, groups=4),
    V,
    r"divisible by groups 4",
)
bad(CASES, "nn.Conv2d.in_channels_zero", lambda: nn.Conv2d(0, 4, 3), V, r"in_channels=0")
bad(CASES, "nn.Conv2d.out_channels_negative", lambda: nn.Conv2d(1, -4, 3), V, r"out_channels=-4")
bad(CASES, "nn.Conv2d.in_channels_float", lambda: nn.Conv2d(1.5, 4, 3), T, r"in_channels.*1\.5")
bad(
    CASES,
    "nn.Conv2d.padding_mode_reflect",
    lambda: nn.Conv2d(1, 4, 3, padding_mode="reflect"),
    V,
    r"padding_mode.*reflect",
)
bad(
    CASES,
    "nn.Conv2d.forward_channels",
    lambda: nn.Conv2d(3, 4, 3)(t(1, 2, 8, 8)),
    V,
    r"3 channels.*\(1, 2, 8, 8\)",
)
bad(CASES, "nn.Conv2d.forward_rank", lambda: nn.Conv2d(3, 4, 3)(t(3, 8)), V, r"4 dims.*\(3, 8\)")
bad(
    CASES,
    "nn.Conv2d.forward_kernel_too_big",
    lambda: nn.Conv2d(1, 1, 5)(t(1, 1, 3, 3)),
    (R, V),
    r"kernel|size|input",
)
bad(CASES, "nn.Conv2d.forward_str", lambda: nn.Conv2d(1, 1, 3)("x"), T, r"str|<U1")


def _conv2d_negative_stride():
    m = nn.Conv2d(2, 3, 3, padding=1)
    a = np_(1, 2, 5, 6)[:, :, ::-1, ::-1]
    y = m(pydl.tensor(a))
    y2 = m(pydl.tensor(np.ascontiguousarray(a)))
    _close(y, y2.numpy())


def _conv2d_unbatched():
    m = nn.Conv2d(2, 3, 3)
    a = np_(2, 5, 5)
    _close(m(pydl.tensor(a)), m(pydl.tensor(a[None])).numpy()[0])


def _conv2d_zero_batch():
    assert nn.Conv2d(2, 3, 3)(t(0, 2, 5, 5)).shape == (0, 3, 3, 3)


works(CASES, "nn.Conv2d.forward_negative_stride", _conv2d_negative_stride)
works(CASES, "nn.Conv2d.forward_unbatched", _conv2d_unbatched)
works(CASES, "nn.Conv2d.forward_zero_batch", _conv2d_zero_batch)

bad(CASES, "nn.Conv1d.kernel_size_zero", lambda: nn.Conv1d(1, 4, 0), V, r"kernel_size.*0")
bad(CASES, "nn.Conv1d.stride_negative", lambda: nn.Conv1d(1, 4, 3, stride=-1), V, r"stride.*-1")
bad(CASES, "nn.Conv1d.forward_rank", lambda: nn.Conv1d(2, 4, 3)(t(1, 2, 3, 4)), V, r"3 dims")
bad(CASES, "nn.Conv3d.kernel_size_zero", lambda: nn.Conv3d(1, 4, (3, 0, 3)), V, r"kernel_size.*0")
bad(CASES, "nn.Conv3d.forward_rank", lambda: nn.Conv3d(1, 4, 3)(t(2, 1, 4, 4)), V, r"5 dims")


def _conv1d_transposed():
    m = nn.Conv1d(3, 2, 2)
    a = np_(1, 7, 3).transpose(0, 2, 1)
    _close(m(pydl.tensor(a)), m(pydl.tensor(np.ascontiguousarray(a))).numpy())


works(CASES, "nn.Conv1d.forward_transposed_input", _conv1d_transposed)

bad(
    CASES,
    "nn.ConvTranspose2d.kernel_size_zero",
    lambda: nn.ConvTranspose2d(1, 4, 0),
    V,
    r"kernel_size.*0",
)
bad(
    CASES,
    "nn.ConvTranspose2d.stride_zero",
    lambda: nn.ConvTranspose2d(1, 4, 3, stride=0),
    V,
    r"stride.*0",
)
bad(
    CASES,
    "nn.ConvTranspose2d.padding_str",
    lambda: nn.ConvTranspose2d(1, 4, 3, padding="same"),
    V,
    r"padding.*same",
)
bad(
    CASES,
    "nn.ConvTranspose2d.output_padding_too_big",
    lambda: nn.ConvTranspose2d(1, 4, 3, stride=1, output_padding=2)(t(1, 1, 4, 4)),
    (R, V),
    r"output.padding",
)
bad(
    CASES,
    "nn.ConvTranspose2d.output_padding_negative",
    lambda: nn.ConvTranspose2d(1, 4, 3, stride=2, output_padding=-1),
    V,
    r"output_padding.*-1",
)
bad(
    CASES,
    "nn.ConvTranspose2d.output_size_out_of_range",
    lambda: nn.ConvTranspose2d(1, 1, 3, stride=2)(t(1, 1, 4, 4), output_size=(20, 20)),
    V,
    r"output size.*20",
)
bad(
    CASES,
    "nn.ConvTranspose1d.groups_indivisible",
    lambda: nn.ConvTranspose1d(3, 4, 3, groups=2),
    V,
    r"divisible by groups 2",
)
bad(
    CASES,
    "nn.ConvTranspose1d.forward_channels",
    lambda: nn.ConvTranspose1d(3, 4, 3)(t(1, 2, 5)),
    V,
    r"3 channels",
)

# --- pools ------------------------------------------------------------------------------
bad(
    CASES,
    "nn.MaxPool2d.kernel_size_zero",
    lambda: nn.MaxPool2d(0)(t(1, 1, 4, 4)),
    (V, R),
    r"kernel_size.*0",
)
bad(
    CASES,
    "nn.MaxPool2d.stride_zero",
    lambda: nn.MaxPool2d(2, stride=0)(t(1, 1, 4, 4)),
    (V, R),
    r"stride.*0",
)
bad(
    CASES,
    "nn.MaxPool2d.padding_too_big",
    lambda: nn.MaxPool2d(2, padding=2)(t(1, 1, 4, 4)),
    (V, R),
    r"pad.*half",
)
bad(
    CASES,
    "nn.MaxPool2d.forward_rank",
    lambda: nn.MaxPool2d(2)(t(4, 4)),
    (V, R),
    r"\(N, C, H, W\).*\(4, 4\)",
)
bad(
    CASES,
    "nn.MaxPool1d.kernel_size_negative",
    lambda: nn.MaxPool1d(-2)(t(1, 1, 4)),
    (V, R),
    r"kernel_size.*-2",
)
bad(
    CASES,
    "nn.MaxPool3d.kernel_size_zero",
    lambda: nn.MaxPool3d(0)(t(1, 1, 4, 4, 4)),
    (V, R),
    r"kernel_size.*0",
)
bad(
    CASES,
    "nn.AvgPool2d.kernel_size_zero",
    lambda: nn.AvgPool2d(0)(t(1, 1, 4, 4)),
    (V, R),
    r"kernel_size.*0",
)
bad(
    CASES,
    "nn.AvgPool2d.padding_too_big",
    lambda: nn.AvgPool2d(2, padding=3)(t(1, 1, 8, 8)),
    (V, R),
    r"pad.*half",
)
bad(
    CASES,
    "nn.AvgPool1d.kernel_size_zero",
    lambda: nn.AvgPool1d(0)(t(1, 1, 4)),
    (V, R),
    r"kernel_size.*0",
)
bad(
    CASES,
    "nn.AvgPool3d.stride_negative",
    lambda: nn.AvgPool3d(2, stride=-1)(t(1, 1, 4, 4, 4)),
    (V, R),
    r"stride.*-1",
)
bad(
    CASES,
    "nn.AdaptiveAvgPool2d.output_size_negative",
    lambda: nn.AdaptiveAvgPool2d(-1)(t(1, 1, 4, 4)),
    (V, R),
    r"output_size.*-1",
)
bad(
    CASES,
    "nn.AdaptiveMaxPool1d.output_size_zero_input",
    lambda: nn.AdaptiveMaxPool1d(2)(t(1, 1, 0)),
    (V, R),
    r"empty|0|size",
)
bad(
    CASES,
    "nn.AdaptiveAvgPool1d.output_size_str",
    lambda: nn.AdaptiveAvgPool1d("2")(t(1, 1, 4)),
    T,
    r"output_size",
)
bad(
    CASES,
    "nn.MaxPool2d.kernel_larger_than_input",
    lambda: nn.MaxPool2d(5)(t(1, 1, 3, 3)),
    (V, R),
    r"size|small|kernel",
)


def _maxpool_negative_stride():
    a = np_(1, 2, 6, 6)[..., ::-1]
    y = nn.MaxPool2d(2)(pydl.tensor(a))
    _close(y, a.reshape(1, 2, 3, 2, 3, 2).max(axis=(3, 5)))


def _avgpool_transposed():
    a = np_(1, 1, 4, 6).transpose(0, 1, 3, 2)
    y = nn.AvgPool2d(2)(pydl.tensor(a))
    _close(y, a.reshape(1, 1, 3, 2, 2, 2).mean(axis=(3, 5)))


works(CASES, "nn.MaxPool2d.forward_negative_stride", _maxpool_negative_stride)
works(CASES, "nn.AvgPool2d.forward_transposed", _avgpool_transposed)

# --- normalization ----------------------------------------------------------------------
bad(
    CASES,
    "nn.BatchNorm1d.momentum_negative",
    lambda: nn.BatchNorm1d(3, momentum=-0.1),
    V,
    r"momentum.*-0\.1",
)
bad(
    CASES,
    "nn.BatchNorm1d.momentum_nan",
    lambda: nn.BatchNorm1d(3, momentum=float("nan")),
    V,
    r"momentum.*nan",
)
bad(
    CASES,
    "nn.BatchNorm1d.num_features_negative",
    lambda: nn.BatchNorm1d(-2),
    V,
    r"num_features.*-2",
)
bad(
    CASES,
    "nn.BatchNorm1d.num_features_float",
    lambda: nn.BatchNorm1d(2.5),
    T,
    r"num_features.*2\.5",
)
bad(
    CASES,
    "nn.BatchNorm1d.forward_channels",
    lambda: nn.BatchNorm1d(3)(t(4, 5)),
    V,
    r"3 channels.*\(4, 5\)",
)
bad(
    CASES, "nn.BatchNorm2d.forward_rank", lambda: nn.BatchNorm2d(3)(t(4, 3)), V, r"rank 4.*\(4, 3\)"
)
bad(CASES, "nn.BatchNorm3d.forward_rank", lambda: nn.BatchNorm3d(3)(t(4, 3, 2, 2)), V, r"rank 5")
bad(
    CASES,
    "nn.BatchNorm1d.forward_one_value_per_channel",
    lambda: nn.BatchNorm1d(3)(t(1, 3)),
    V,
    r"more than 1 value per channel",
)
bad(CASES, "nn.BatchNorm1d.forward_str", lambda: nn.BatchNorm1d(3)("x"), T, r"str|<U1")


def _bn_cumulative():
    """momentum=None is a cumulative moving average (PyTorch's): factor 1 / n at the n-th
    batch, so after 3 batches the running statistics are the plain means of the 3 batches'
    means and unbiased variances (the initial 0 and 1 drop out)."""
    m = nn.BatchNorm1d(3, momentum=None)
    batches = [np_(8, 3, seed=seed) * (seed + 1) + seed for seed in range(3)]
    for a in batches:
        m(pydl.tensor(a))
    _close(m.running_mean, np.mean([a.mean(0) for a in batches], 0), 1e-5)
    _close(m.running_var, np.mean([a.var(0, ddof=1) for a in batches], 0), 1e-5)
    assert int(m.num_batches_tracked.item()) == 3
    torch = _torch()
    if torch is None:
        return
    tm = torch.nn.BatchNorm1d(3, momentum=None)
    for a in batches:
        tm(torch.from_numpy(a))
    _close(m.running_mean, tm.running_mean.numpy(), 1e-5)
    _close(m.running_var, tm.running_var.numpy(), 1e-5)


def _bn_eval_noncontig():
    m = nn.BatchNorm2d(2).eval()
    a = np_(2, 3, 3, 2).transpose(0, 3, 1, 2)
    _close(m(pydl.tensor(a)), a / np.sqrt(1 + 1e-5))


works(CASES, "nn.BatchNorm1d.momentum_none_cumulative", _bn_cumulative)
works(CASES, "nn.BatchNorm2d.eval_transposed_input", _bn_eval_noncontig)

bad(CASES, "nn.LayerNorm.shape_negative", lambda: nn.LayerNorm(-3), V, r"normalized_shape.*-3")
bad(CASES, "nn.LayerNorm.shape_str", lambda: nn.LayerNorm("abc"), T, r"normalized_shape")
bad(
    CASES,
    "nn.LayerNorm.forward_shape_mismatch",
    lambda: nn.LayerNorm(4)(t(2, 5)),
    (R, V),
    r"normalized_shape.*4.*5|\[4\]|\(4,\)",
)


def _layernorm_noncontig():
    a = np_(4, 6)[:, ::-2]
    y = nn.LayerNorm(3)(pydl.tensor(a))
    ref = (a - a.mean(-1, keepdims=True)) / np.sqrt(a.var(-1, keepdims=True) + 1e-5)
    _close(y, ref)


works(CASES, "nn.LayerNorm.forward_negative_stride", _layernorm_noncontig)

bad(CASES, "nn.RMSNorm.shape_negative", lambda: nn.RMSNorm((2, -1)), V, r"normalized_shape.*-1")
bad(
    CASES,
    "nn.RMSNorm.forward_mismatch",
    lambda: nn.RMSNorm(4)(t(2, 3)),
    (R, V),
    r"normalized_shape|4.*3|3.*4",
)
bad(
    CASES,
    "nn.GroupNorm.indivisible",
    lambda: nn.GroupNorm(3, 4),
    V,
    r"num_channels 4.*num_groups 3",
)
bad(CASES, "nn.GroupNorm.groups_zero", lambda: nn.GroupNorm(0, 4), V, r"num_groups.*0")
bad(
    CASES,
    "nn.GroupNorm.forward_channels",
    lambda: nn.GroupNorm(2, 4)(t(2, 6, 3)),
    V,
    r"\(N, 4, \*\).*\(2, 6, 3\)",
)
bad(
    CASES,
    "nn.InstanceNorm2d.forward_rank",
    lambda: nn.InstanceNorm2d(3)(t(3, 4)),
    V,
    r"InstanceNorm2d.*\(3, 4\)",
)
bad(
    CASES,
    "nn.InstanceNorm2d.num_features_str",
    lambda: nn.InstanceNorm2d("3"),
    T,
    r"num_features.*'3'",
)
bad(CASES, "nn.LocalResponseNorm.size_zero", lambda: nn.LocalResponseNorm(0), V, r"size.*0")

# --- dropout ----------------------------------------------------------------------------
bad(CASES, "nn.Dropout.p_negative", lambda: nn.Dropout(-0.1), V, r"between 0 and 1.*-0\.1")
bad(CASES, "nn.Dropout.p_above_one", lambda: nn.Dropout(1.5), V, r"between 0 and 1.*1\.5")
bad(CASES, "nn.Dropout.p_nan", lambda: nn.Dropout(float("nan")), V, r"between 0 and 1.*nan")
bad(CASES, "nn.Dropout.p_str", lambda: nn.Dropout("0.5"), T, r"p.*str|0\.5")
bad(CASES, "nn.Dropout2d.p_above_one", lambda: nn.Dropout2d(2.0), V, r"between 0 and 1.*2\.0")
bad(
    CASES, "nn.Dropout1d.forward_rank", lambda: nn.Dropout1d(0.5)(t(2, 3, 4, 5)), R, r"2D or 3D.*4D"
)
bad(CASES, "nn.Dropout3d.forward_rank", lambda: nn.Dropout3d(0.5)(t(2, 3)), R, r"4D or 5D.*2D")
bad(CASES, "nn.AlphaDropout.p_negative", lambda: nn.AlphaDropout(-1), V, r"between 0 and 1.*-1")


def _dropout_eval_identity():
    a = np_(3, 4)[::-1]
    _close(nn.Dropout(0.5).eval()(pydl.tensor(a)), a)


def _dropout_zero_size():
    assert nn.Dropout(0.3)(t(0, 4)).shape == (0, 4)


works(CASES, "nn.Dropout.eval_negative_stride", _dropout_eval_identity)
works(CASES, "nn.Dropout.zero_size", _dropout_zero_size)

# --- embeddings -------------------------------------------------------------------------
bad(
    CASES,
    "nn.Embedding.padding_idx_out_of_range",
    lambda: nn.Embedding(5, 3, padding_idx=5),
    V,
    r"padding_idx.*5",
)
bad(
    CASES,
    "nn.Embedding.padding_idx_too_negative",
    lambda: nn.Embedding(5, 3, padding_idx=-6),
    V,
    r"padding_idx.*-6",
)
bad(
    CASES,
    "nn.Embedding.num_embeddings_negative",
    lambda: nn.Embedding(-1, 3),
    V,
    r"num_embeddings.*-1",
)
bad(
    CASES,
    "nn.Embedding.embedding_dim_float",
    lambda: nn.Embedding(5, 2.5),
    T,
    r"embedding_dim.*2\.5",
)
bad(
    CASES,
    "nn.Embedding.forward_index_out_of_range",
    lambda: nn.Embedding(5, 3)(pydl.tensor(np.array([1, 5]))),
    IndexError,
    r"index.*5.*out of range|5.*range",
)
bad(
    CASES,
    "nn.Embedding.forward_negative_index",
    lambda: nn.Embedding(5, 3)(pydl.tensor(np.array([-1, 2]))),
    IndexError,
    r"-1.*out of range|out of range.*-1",
)
bad(
    CASES,
    "nn.Embedding.forward_float_index",
    lambda: nn.Embedding(5, 3)(pydl.tensor(np.array([1.0, 2.0], np.float32))),
    (R, T),
    r"Long|Int|integer|float32",
)


def _embedding_list_input():
    m = nn.Embedding(5, 3)
    _close(m([[1, 2], [4, 0]]), m.weight.numpy()[[[1, 2], [4, 0]]])


def _embedding_negative_stride():
    m = nn.Embedding(5, 3)
    idx = np.array([0, 1, 2, 3, 4])[::-2]
    _close(m(pydl.tensor(idx)), m.weight.numpy()[idx])


def _embedding_0d():
    m = nn.Embedding(5, 3)
    y = m(pydl.tensor(np.array(3)))
    assert y.shape == (3,)
    _close(y, m.weight.numpy()[3])


works(CASES, "nn.Embedding.forward_list", _embedding_list_input)
works(CASES, "nn.Embedding.forward_negative_stride", _embedding_negative_stride)
works(CASES, "nn.Embedding.forward_0d_index", _embedding_0d)

bad(
    CASES,
    "nn.EmbeddingBag.mode_bad",
    lambda: nn.EmbeddingBag(5, 3, mode="median"),
    V,
    r"mode.*median",
)
bad(
    CASES,
    "nn.EmbeddingBag.padding_idx_out_of_range",
    lambda: nn.EmbeddingBag(5, 3, padding_idx=7),
    V,
    r"padding_idx.*7",
)
bad(
    CASES,
    "nn.EmbeddingBag.forward_1d_without_offsets",
    lambda: nn.EmbeddingBag(5, 3)(pydl.tensor(np.array([1, 2, 3]))),
    V,
    r"offsets",
)
bad(
    CASES,
    "nn.EmbeddingBag.forward_index_out_of_range",
    lambda: nn.EmbeddingBag(5, 3)(pydl.tensor(np.array([[1, 9]]))),
    IndexError,
    r"9|out of range",
)

# --- recurrent --------------------------------------------------------------------------
bad(CASES, "nn.RNNCell.sizes_zero", lambda: nn.RNNCell(0, 0), V, r"RNNCell.*input_size.*0")
bad(
    CASES, "nn.LSTMCell.hidden_size_zero", lambda: nn.LSTMCell(3, 0), V, r"LSTMCell.*hidden_size.*0"
)
bad(
    CASES,
    "nn.GRUCell.hidden_size_negative",
    lambda: nn.GRUCell(3, -2),
    V,
    r"GRUCell.*hidden_size.*-2",
)
bad(
    CASES,
    "nn.RNNCell.nonlinearity_bad",
    lambda: nn.RNNCell(3, 2, nonlinearity="sigmoid"),
    V,
    r"nonlinearity.*sigmoid",
)
bad(CASES, "nn.RNNCell.hidden_size_float", lambda: nn.RNNCell(3, 2.5), T, r"hidden_size.*2\.5")
bad(CASES, "nn.RNN.hidden_size_zero", lambda: nn.RNN(3, 0), V, r"hidden_size.*0")
bad(CASES, "nn.RNN.num_layers_zero", lambda: nn.RNN(3, 4, num_layers=0), V, r"num_layers.*0")
bad(
    CASES,
    "nn.RNN.nonlinearity_bad",
    lambda: nn.RNN(3, 4, nonlinearity="gelu"),
    V,
    r"nonlinearity.*gelu",
)
bad(CASES, "nn.LSTM.dropout_above_one", lambda: nn.LSTM(3, 4, dropout=1.5), V, r"dropout.*1\.5")
bad(CASES, "nn.GRU.input_size_float", lambda: nn.GRU(3.5, 4), T, r"input_size.*3\.5")
bad(
    CASES,
    "nn.LSTM.hx_tensor",
    lambda: nn.LSTM(3, 4)(t(5, 2, 3), t(1, 2, 4)),
    T,
    r"LSTM.*hx.*tuple.*\(h_0, c_0\)",
)
bad(
    CASES,
    "nn.LSTM.hx_three_tensors",
    lambda: nn.LSTM(3, 4)(t(5, 2, 3), (t(1, 2, 4), t(1, 2, 4), t(1, 2, 4))),
    T,
    r"LSTM.*hx.*tuple.*\(h_0, c_0\)",
)
bad(
    CASES,
    "nn.LSTMCell.hx_tensor",
    lambda: nn.LSTMCell(3, 4)(t(2, 3), t(2, 4)),
    T,
    r"LSTMCell.*hx.*tuple.*\(h_0, c_0\)",
)
bad(
    CASES,
    "nn.LSTM.forward_input_size",
    lambda: nn.LSTM(3, 4)(t(5, 2, 7)),
    V,
    r"input_size=3.*\(5, 2, 7\)",
)
bad(CASES, "nn.GRU.forward_rank", lambda: nn.GRU(3, 4)(t(3)), V, r"input_size=3.*\(3,\)")
bad(
    CASES,
    "nn.RNN.hx_wrong_shape",
    lambda: nn.RNN(3, 4)(t(5, 2, 3), t(1, 2, 5)),
    V,
    r"hidden state of shape \(1, 2, 4\).*\(1, 2, 5\)",
)
bad(
    CASES,
    "nn.LSTM.c0_wrong_shape",
    lambda: nn.LSTM(3, 4)(t(5, 2, 3), (t(1, 2, 4), t(2, 2, 4))),
    V,
    r"cell state of shape \(1, 2, 4\).*\(2, 2, 4\)",
)
bad(
    CASES,
    "nn.GRUCell.hx_wrong_shape",
    lambda: nn.GRUCell(3, 4)(t(2, 3), t(2, 5)),
    V,
    r"hidden state.*\(2, 5\)",
)
bad(
    CASES,
    "nn.RNNCell.forward_input_size",
    lambda: nn.RNNCell(3, 4)(t(2, 5)),
    V,
    r"input_size=3.*\(2, 5\)",
)


def _lstm_batch_first_transposed():
    m = nn.LSTM(3, 4, batch_first=True)
    a = np_(5, 2, 3).transpose(1, 0, 2)  # (B, T, C), not contiguous
    y, _ = m(pydl.tensor(a))
    y2, _ = m(pydl.tensor(np.ascontiguousarray(a)))
    _close(y, y2.numpy())


def _gru_unbatched():
    m = nn.GRU(3, 4)
    a = np_(5, 3)
    y, h = m(pydl.tensor(a))
    y2, h2 = m(pydl.tensor(a[:, None]))
    _close(y, y2.numpy()[:, 0])
    assert h.shape == (1, 4)


def _rnncell_zero_batch():
    assert nn.RNNCell(3, 4)(t(0, 3)).shape == (0, 4)


works(CASES, "nn.LSTM.batch_first_transposed", _lstm_batch_first_transposed)
works(CASES, "nn.GRU.unbatched", _gru_unbatched)
works(CASES, "nn.RNNCell.zero_batch", _rnncell_zero_batch)

# --- attention and transformers ---------------------------------------------------------
bad(
    CASES,
    "nn.MultiheadAttention.heads_indivisible",
    lambda: nn.MultiheadAttention(10, 3),
    (V, AssertionError),
    r"embed_dim.*divisible by num_heads",
)
bad(
    CASES,
    "nn.MultiheadAttention.heads_zero",
    lambda: nn.MultiheadAttention(8, 0),
    V,
    r"num_heads.*0",
)
bad(
    CASES,
    "nn.MultiheadAttention.embed_dim_zero",
    lambda: nn.MultiheadAttention(0, 1),
    V,
    r"embed_dim.*0",
)
bad(
    CASES,
    "nn.MultiheadAttention.dropout_bad",
    lambda: nn.MultiheadAttention(8, 2, dropout=2.0),
    V,
    r"dropout.*2\.0",
)
bad(
    CASES,
    "nn.MultiheadAttention.forward_embed_mismatch",
    lambda: nn.MultiheadAttention(8, 2)(t(3, 2, 6), t(3, 2, 6), t(3, 2, 6)),
    (R, V, AssertionError),
    r"embed_dim|8.*6|6.*8",
)
bad(
    CASES,
    "nn.MultiheadAttention.forward_key_value_mismatch",
    lambda: nn.MultiheadAttention(8, 2)(t(3, 2, 8), t(4, 2, 8), t(5, 2, 8)),
    (R, V, AssertionError),
    r"key.*value|4.*5",
)
bad(
    CASES,
    "nn.MultiheadAttention.forward_mask_shape",
    lambda: nn.MultiheadAttention(8, 2)(t(3, 2, 8), t(3, 2, 8), t(3, 2, 8), attn_mask=t(4, 4)),
    (R, V),
    r"attn_mask|mask",
)
bad(
    CASES,
    "nn.TransformerEncoderLayer.nhead_indivisible",
    lambda: nn.TransformerEncoderLayer(10, 3),
    (V, AssertionError),
    r"divisible by num_heads|nhead",
)
bad(
    CASES,
    "nn.TransformerEncoderLayer.activation_bad",
    lambda: nn.TransformerEncoderLayer(8, 2, activation="tanhh"),
    (V, R),
    r"activation.*tanhh",
)
bad(
    CASES,
    "nn.TransformerEncoderLayer.forward_dim",
    lambda: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)(t(3, 2, 6)),
    (R, V, AssertionError),
    r"8.*6|6.*8|embed_dim",
)
bad(
    CASES,
    "nn.TransformerEncoder.num_layers_negative",
    lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2), -1),
    V,
    r"num_layers.*-1",
)
bad(
    CASES,
    "nn.TransformerDecoderLayer.dropout_bad",
    lambda: nn.TransformerDecoderLayer(8, 2, dropout=-0.5),
    V,
    r"dropout.*-0\.5",
)
bad(
    CASES,
    "nn.Transformer.d_model_indivisible",
    lambda: nn.Transformer(10, 3),
    (V, AssertionError),
    r"divisible",
)


def _mha_zero_batch():
    m = nn.MultiheadAttention(8, 2)
    y, _ = m(t(3, 0, 8), t(3, 0, 8), t(3, 0, 8))
    assert y.shape == (3, 0, 8)


works(CASES, "nn.MultiheadAttention.zero_batch", _mha_zero_batch)

# --- upsampling, fold, shuffle ----------------------------------------------------------
bad(
    CASES,
    "nn.Upsample.mode_bad",
    lambda: nn.Upsample(scale_factor=2, mode="cubic")(t(1, 1, 2, 2)),
    (V, NotImplementedError),
    r"cubic",
)
bad(CASES, "nn.Upsample.no_size", lambda: nn.Upsample()(t(1, 1, 4, 4)), V, r"size.*scale_factor")
bad(
    CASES,
    "nn.Upsample.both",
    lambda: nn.Upsample(size=4, scale_factor=2)(t(1, 1, 2, 2)),
    V,
    r"size.*scale_factor",
)
bad(
    CASES,
    "nn.Upsample.scale_negative",
    lambda: nn.Upsample(scale_factor=-2)(t(1, 1, 2, 2)),
    (V, R),
    r"scale_factor.*-2|positive",
)
bad(
    CASES,
    "nn.Upsample.size_zero",
    lambda: nn.Upsample(size=0)(t(1, 1, 2, 2)),
    (V, R),
    r"size.*0|positive|output",
)
bad(
    CASES,
    "nn.PixelShuffle.factor_zero",
    lambda: nn.PixelShuffle(0)(t(1, 4, 2, 2)),
    V,
    r"PixelShuffle: upscale_factor must be >= 1, got upscale_factor=0",
)
bad(
    CASES,
    "nn.PixelShuffle.channels",
    lambda: nn.PixelShuffle(2)(t(1, 3, 2, 2)),
    (V, R),
    r"divisible|3",
)
bad(
    CASES,
    "nn.PixelUnshuffle.size",
    lambda: nn.PixelUnshuffle(2)(t(1, 1, 3, 3)),
    (V, R),
    r"divisible|3",
)
bad(CASES, "nn.Unfold.kernel_zero", lambda: nn.Unfold(0)(t(1, 1, 4, 4)), (V, R), r"kernel_size.*0")
bad(
    CASES,
    "nn.Fold.output_size_small",
    lambda: nn.Fold((2, 2), 3)(t(1, 9, 4)),
    (V, R),
    r"output_size|blocks|size",
)


def _upsample_negative_stride():
    a = np_(1, 1, 2, 3)[..., ::-1]
    y = nn.Upsample(scale_factor=2, mode="nearest")(pydl.tensor(a))
    _close(y, a.repeat(2, axis=2).repeat(2, axis=3))


works(CASES, "nn.Upsample.forward_negative_stride", _upsample_negative_stride)

# --- flatten and containers -------------------------------------------------------------
bad(
    CASES, "nn.Flatten.dim_out_of_range", lambda: nn.Flatten(5)(t(2, 3)), IndexError, r"dim|5|range"
)
bad(
    CASES,
    "nn.Flatten.start_after_end",
    lambda: nn.Flatten(2, 1)(t(2, 3, 4)),
    (R, V),
    r"start_dim|end_dim|flatten",
)
bad(
    CASES,
    "nn.Unflatten.bad_size",
    lambda: nn.Unflatten(1, (4, 4))(t(2, 12)),
    (R, V),
    r"12|shape|size",
)
bad(CASES, "nn.Unflatten.size_not_ints", lambda: nn.Unflatten(1, (2.0, 3)), T, r"unflattened_size")
bad(CASES, "nn.Unflatten.dim_str", lambda: nn.Unflatten("1", (2, 3)), T, r"dim")
bad(
    CASES,
    "nn.Sequential.str_member",
    lambda: nn.Sequential(nn.Linear(2, 2), "relu"),
    T,
    r"str is not a Module",
)
bad(
    CASES,
    "nn.Sequential.function_member",
    lambda: nn.Sequential(nn.Linear(2, 2), pydl.relu),
    T,
    r"Module",
)
bad(
    CASES,
    "nn.Sequential.index_out_of_range",
    lambda: nn.Sequential(nn.ReLU())[3],
    IndexError,
    r"3|index.*range",
)
bad(
    CASES,
    "nn.ModuleList.str_member",
    lambda: nn.ModuleList([nn.ReLU(), "x"]),
    T,
    r"Module.*str|str",
)
bad(CASES, "nn.ModuleList.append_int", lambda: nn.ModuleList().append(3), T, r"Module.*int|int")
bad(
    CASES,
    "nn.ModuleList.index_out_of_range",
    lambda: nn.ModuleList([nn.ReLU()])[5],
    IndexError,
    r"5|index",
)
bad(CASES, "nn.ModuleDict.value_not_module", lambda: nn.ModuleDict({"a": 3}), T, r"Module.*int|int")
bad(CASES, "nn.ModuleDict.key_not_str", lambda: nn.ModuleDict({1: nn.ReLU()}), T, r"str|key")
bad(
    CASES, "nn.ModuleDict.missing_key", lambda: nn.ModuleDict({"a": nn.ReLU()})["b"], KeyError, r"b"
)


def _sequential_empty():
    x = t(2, 3)
    assert nn.Sequential()(x) is x


works(CASES, "nn.Sequential.empty_is_identity", _sequential_empty)

# --- activations with parameters --------------------------------------------------------
bad(CASES, "nn.PReLU.num_parameters_negative", lambda: nn.PReLU(-1), V, r"num_parameters.*-1")
bad(
    CASES,
    "nn.PReLU.forward_channels",
    lambda: nn.PReLU(3)(t(2, 4)),
    (R, V),
    r"3|4|channel|parameters",
)
bad(CASES, "nn.Softmax.too_many_args", lambda: nn.Softmax(1, 2, 3, 4), T, r"Softmax.*positional")
bad(CASES, "nn.ReLU.unknown_kwarg", lambda: nn.ReLU(alpha=2), T, r"ReLU.*alpha")
bad(CASES, "nn.Threshold.missing", lambda: nn.Threshold(), T, r"Threshold.*missing")
bad(
    CASES,
    "nn.Softmax.dim_out_of_range",
    lambda: nn.Softmax(dim=3)(t(2, 3)),
    IndexError,
    r"dim|3|range",
)
bad(CASES, "nn.GLU.odd_dim", lambda: nn.GLU()(t(2, 3)), R, r"even|3|halve")
bad(
    CASES,
    "nn.Hardtanh.min_above_max",
    lambda: nn.Hardtanh(2.0, 1.0)(t(3)),
    V,
    r"min_val.*max_val|max_val.*min_val",
)
bad(
    CASES,
    "nn.RReLU.lower_above_upper",
    lambda: nn.RReLU(0.5, 0.1)(t(3)),
    V,
    r"lower.*upper|upper.*lower",
)
bad(CASES, "nn.Softplus.beta_str", lambda: nn.Softplus(beta="a")(t(3)), T, r"beta|str")
bad(CASES, "nn.ReLU.forward_str", lambda: nn.ReLU()("abc"), T, r"str|<U3")
bad(CASES, "nn.ReLU.forward_complex", lambda: nn.ReLU()(np.ones(3, np.complex64)), T, r"complex")


def _relu_list():
    _close(nn.ReLU()(pydl.tensor([-1.0, 2.0])), [0.0, 2.0])


def _gelu_0d():
    y = nn.GELU()(pydl.tensor(np.float32(1.0)))
    assert y.shape == ()
    _close(y, 0.8413447)


def _softmax_negative_stride():
    a = np_(3, 4)[:, ::-1]
    e = np.exp(a - a.max(1, keepdims=True))
    _close(nn.Softmax(dim=1)(pydl.tensor(a)), e / e.sum(1, keepdims=True))


works(CASES, "nn.ReLU.forward_list_tensor", _relu_list)
works(CASES, "nn.GELU.forward_0d", _gelu_0d)
works(CASES, "nn.Softmax.forward_negative_stride", _softmax_negative_stride)

# --- every wrong dtype into the forwards ------------------------------------------------
# Integer and bool inputs meet float weights (or float-only math): PyTorch raises (a dtype
# mismatch, or NotImplementedError "... not implemented for 'Long'"); the kernels would
# compute in the input's dtype and truncate. Complex, object and string arrays have no
# pydl dtype.
_FORWARDS = {
    "Linear": (lambda: nn.Linear(3, 2), (2, 3), R, r"same dtype.*{dt}.*float32"),
    "Bilinear": (
        lambda: (lambda m: lambda x: m(x, x))(nn.Bilinear(3, 3, 2)),
        (2, 3),
        R,
        r"same dtype.*{dt}",
    ),
    "Conv1d": (lambda: nn.Conv1d(1, 1, 2), (1, 1, 3), R, r"same dtype.*{dt}"),
    "Conv2d": (lambda: nn.Conv2d(1, 1, 2), (1, 1, 3, 3), R, r"same dtype.*{dt}"),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(1, 1, 2), (1, 1, 3, 3), R, r"same dtype.*{dt}"),
    "RNN": (
        lambda: (lambda m: lambda x: m(x)[0])(nn.RNN(3, 2)),
        (2, 1, 3),
        V,
        r"RNN: input dtype \({dt}\)",
    ),
    "LSTM": (
        lambda: (lambda m: lambda x: m(x)[0])(nn.LSTM(3, 2)),
        (2, 1, 3),
        V,
        r"LSTM: input dtype \({dt}\)",
    ),
    "GRUCell": (lambda: nn.GRUCell(3, 2), (1, 3), V, r"GRUCell: input dtype \({dt}\)"),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3), (2, 3), NotImplementedError, r"batch_norm.*{dt}"),
    "LayerNorm": (lambda: nn.LayerNorm(3), (2, 3), NotImplementedError, r"layer_norm.*{dt}"),
    "GroupNorm": (lambda: nn.GroupNorm(1, 3), (2, 3), NotImplementedError, r"group_norm.*{dt}"),
    "RMSNorm": (lambda: nn.RMSNorm(3), (2, 3), NotImplementedError, r"rms_norm.*{dt}"),
    "GELU": (lambda: nn.GELU(), (2, 3), NotImplementedError, r"gelu.*{dt}"),
    "SiLU": (lambda: nn.SiLU(), (2, 3), NotImplementedError, r"silu.*{dt}"),
    "ELU": (lambda: nn.ELU(), (2, 3), NotImplementedError, r"elu.*{dt}"),
    "Softmax": (lambda: nn.Softmax(1), (2, 3), R, r"softmax.*floating point.*{dt}"),
    "Dropout": (lambda: nn.Dropout(0.5), (2, 3), R, r"dropout.*{dt}"),
    "MultiheadAttention": (
        lambda: (lambda m: lambda x: m(x, x, x)[0])(nn.MultiheadAttention(4, 2)),
        (2, 1, 4),
        R,
        r"same dtype.*{dt}",
    ),
}


def _forward_with(make, shape, array):
    def call():
        return make()(array if isinstance(array, np.ndarray) else pydl.tensor(array(shape)))

    return call


for _name, (_make, _shape, _raises, _match) in _FORWARDS.items():
    for _dt in ("int64", "bool"):
        _a = (lambda dt: lambda shape: np.ones(shape, dt))(_dt)
        bad(
            CASES,
            f"nn.{_name}.forward_{_dt}",
            _forward_with(_make, _shape, _a),
            _raises,
            _match.format(dt=_dt),
        )
    for _dt, _array in (
        ("complex64", np.ones(_shape, np.complex64)),
        ("object", np.full(_shape, None, object)),
    ):
        bad(CASES, f"nn.{_name}.forward_{_dt}", _forward_with(_make, _shape, _array), T, _dt)


def _forward_float64_layer_norm():
    a = np.random.default_rng(0).standard_normal((2, 3))
    y = nn.LayerNorm(3)(pydl.tensor(a))
    ref = (a - a.mean(-1, keepdims=True)) / np.sqrt(a.var(-1, keepdims=True) + 1e-5)
    _close(y, ref)


def _maxpool_int_exact():
    a = np.arange(16, dtype=np.int64).reshape(1, 1, 4, 4)[..., ::-1]
    y = nn.MaxPool2d(2)(pydl.tensor(a))
    np.testing.assert_array_equal(y.numpy(), a.reshape(1, 1, 2, 2, 2, 2).max(axis=(3, 5)))


def _relu_int_keeps_dtype():
    y = nn.ReLU()(pydl.tensor(np.array([-2, 3], np.int64)))
    assert y.dtype == np.int64 and y.numpy().tolist() == [0, 3]


def _sigmoid_int_promotes():
    _close(nn.Sigmoid()(pydl.tensor(np.array([0, 1], np.int32))), [0.5, 0.7310586])


works(CASES, "nn.LayerNorm.forward_float64", _forward_float64_layer_norm)
works(CASES, "nn.MaxPool2d.forward_int64_exact", _maxpool_int_exact)
works(CASES, "nn.ReLU.forward_int64_keeps_dtype", _relu_int_keeps_dtype)
works(CASES, "nn.Sigmoid.forward_int32_promotes", _sigmoid_int_promotes)

# --- more constructors and forwards -----------------------------------------------------
bad(
    CASES,
    "nn.Embedding.huge",
    lambda: nn.Embedding(2**40, 2**30),
    (MemoryError, V),
    r"too big|allocate",
)
bad(
    CASES,
    "nn.Conv2d.huge",
    lambda: nn.Conv2d(2**20, 2**20, 2**10),
    (MemoryError, V),
    r"too big|allocate",
)
bad(CASES, "nn.LSTM.huge", lambda: nn.LSTM(2**31, 2**31), (MemoryError, V), r"too big|allocate")
bad(
    CASES,
    "nn.BatchNorm1d.huge",
    lambda: nn.BatchNorm1d(2**62),
    (MemoryError, V),
    r"too big|allocate",
)
bad(
    CASES,
    "nn.MaxUnpool2d.kernel_size_zero",
    lambda: nn.MaxUnpool2d(0),
    V,
    r"MaxUnpool2d.*kernel_size.*0",
)
bad(
    CASES,
    "nn.MaxUnpool2d.stride_str",
    lambda: nn.MaxUnpool2d(2, "a"),
    T,
    r"MaxUnpool2d.*stride.*'a'",
)
bad(CASES, "nn.MaxUnpool2d.padding_negative", lambda: nn.MaxUnpool2d(2, 2, -1), V, r"padding.*-1")
bad(
    CASES,
    "nn.MaxUnpool2d.forward_index_out_of_range",
    lambda: nn.MaxUnpool2d(2)(t(1, 1, 2, 2), pydl.tensor(np.array([[[[0, 1], [2, 99]]]]))),
    IndexError,
    r"index lies outside the output plane of 16",
)
bad(
    CASES,
    "nn.UpsamplingBilinear2d.size_zero",
    lambda: nn.UpsamplingBilinear2d(size=0)(t(1, 1, 2, 2)),
    V,
    r"output size \(0, 0\)",
)
bad(
    CASES,
    "nn.ParameterDict.key_int",
    lambda: nn.ParameterDict({1: pydl.tensor([1.0])}),
    T,
    r"keys must be strings.*int",
)
bad(
    CASES,
    "nn.Softmin.dim_out_of_range",
    lambda: nn.Softmin(dim=5)(t(2, 3)),
    IndexError,
    r"dim 5 is out of range.*rank 2",
)
bad(
    CASES,
    "nn.LogSoftmax.dim_out_of_range",
    lambda: nn.LogSoftmax(dim=-3)(t(2, 3)),
    IndexError,
    r"dim -3 is out of range",
)
bad(
    CASES,
    "nn.TransformerDecoderLayer.memory_dim",
    lambda: nn.TransformerDecoderLayer(8, 2, 16)(t(3, 2, 8), t(4, 2, 6)),
    (V, R),
    r"key \(4, 2, 6\)",
)
bad(
    CASES,
    "nn.Transformer.batch_mismatch",
    lambda: nn.Transformer(8, 2, 1, 1, 16)(t(3, 2, 8), t(4, 3, 8)),
    R,
    r"batch number of src and tgt must be equal",
)
bad(
    CASES,
    "nn.AdaptiveMaxPool2d.output_size_str",
    lambda: nn.AdaptiveMaxPool2d((2, "a")),
    T,
    r"output_size.*'a'",
)
bad(
    CASES,
    "nn.LocalResponseNorm.forward_1d",
    lambda: nn.LocalResponseNorm(2)(t(3)),
    V,
    r"3D or higher.*1D",
)
bad(
    CASES,
    "nn.MultiheadAttention.key_padding_mask_shape",
    lambda: nn.MultiheadAttention(8, 2)(
        t(3, 2, 8), t(3, 2, 8), t(3, 2, 8), key_padding_mask=pydl.tensor(np.zeros((2, 4), bool))
    ),
    V,
    r"key_padding_mask of shape \(2, 4\).*\(2, 3\)",
)
bad(
    CASES,
    "nn.MultiheadAttention.batch_first_value_length",
    lambda: nn.MultiheadAttention(8, 2, batch_first=True)(t(2, 3, 8), t(2, 3, 8), t(2, 4, 8)),
    V,
    r"value \(2, 4, 8\)",
)
bad(CASES, "nn.Softshrink.lambd_negative", lambda: nn.Softshrink(-1.0)(t(3)), R, r"lambda.*-1\.0")
bad(CASES, "nn.CELU.alpha_zero", lambda: nn.CELU(0.0)(t(3)), V, r"alpha.*0")
bad(CASES, "nn.PReLU.init_str", lambda: nn.PReLU(1, "a"), T, r"PReLU.*init.*'a'")
bad(CASES, "nn.PReLU.init_nan", lambda: nn.PReLU(1, float("nan")), V, r"PReLU.*init.*nan")
bad(
    CASES,
    "nn.Fold.kernel_size_zero",
    lambda: nn.Fold((4, 4), 0)(t(1, 4, 9)),
    V,
    r"kernel_size=\(0, 0\)",
)
bad(CASES, "nn.Unfold.forward_rank", lambda: nn.Unfold(2)(t(4)), V, r"unfold.*\(4,\)")
bad(CASES, "nn.PixelShuffle.factor_str", lambda: nn.PixelShuffle("2"), T, r"upscale_factor.*'2'")
bad(CASES, "nn.PixelUnshuffle.factor_zero", lambda: nn.PixelUnshuffle(0), V, r"downscale_factor.*0")
bad(CASES, "nn.Flatten.start_dim_str", lambda: nn.Flatten("a"), T, r"Flatten.*start_dim.*'a'")
bad(
    CASES,
    "nn.EmbeddingBag.per_sample_weights_shape",
    lambda: nn.EmbeddingBag(5, 3, mode="sum")(
        pydl.tensor(np.array([[1, 2]])), per_sample_weights=t(3)
    ),
    V,
    r"per_sample_weights \(3,\).*\(1, 2\)",
)
bad(
    CASES,
    "nn.Sequential.append_str",
    lambda: nn.Sequential().append("x"),
    T,
    r"str is not a Module",
)
bad(
    CASES,
    "nn.Sequential.insert_int",
    lambda: nn.Sequential(nn.ReLU()).insert(0, 5),
    (AssertionError, T),
    r"Module",
)
bad(
    CASES,
    "nn.ModuleList.extend_int",
    lambda: nn.ModuleList().extend([1]),
    T,
    r"int is not a Module",
)
bad(
    CASES,
    "nn.ModuleList.setitem_int",
    lambda: nn.ModuleList([nn.ReLU()]).__setitem__(0, 3),
    T,
    r"int is not a Module",
)
bad(
    CASES,
    "nn.ModuleDict.update_int",
    lambda: nn.ModuleDict().update({"a": 1}),
    T,
    r"int is not a Module",
)
bad(CASES, "nn.Conv2d.groups_float", lambda: nn.Conv2d(4, 4, 3, groups=2.0), T, r"groups.*2\.0")
bad(
    CASES,
    "nn.GRU.hx_tuple",
    lambda: nn.GRU(3, 4)(t(5, 2, 3), (t(1, 2, 4),)),
    V,
    r"hidden state of shape \(1, 2, 4\)",
)
bad(
    CASES,
    "nn.LSTM.bidirectional_h0_layers",
    lambda: nn.LSTM(3, 4, bidirectional=True)(t(5, 2, 3), (t(1, 2, 4), t(1, 2, 4))),
    V,
    r"hidden state of shape \(2, 2, 4\), got \(1, 2, 4\)",
)
bad(
    CASES,
    "nn.RNN.unbatched_h0_batched",
    lambda: nn.RNN(3, 4)(t(5, 3), t(1, 2, 4)),
    V,
    r"hidden state of shape \(1, 4\)",
)
bad(
    CASES,
    "nn.LSTMCell.c_wrong_shape",
    lambda: nn.LSTMCell(3, 4)(t(2, 3), (t(2, 4), t(2, 5))),
    V,
    r"cell state \(2, 5\) must be \(2, 4\)",
)
bad(
    CASES,
    "nn.InstanceNorm2d.forward_channels",
    lambda: nn.InstanceNorm2d(3)(t(1, 4, 2, 2)),
    V,
    r"\(N, 3, H, W\).*\(1, 4, 2, 2\)",
)
bad(
    CASES,
    "nn.BatchNorm1d.no_stats_eval_one_value",
    lambda: nn.BatchNorm1d(3, track_running_stats=False).eval()(t(1, 3)),
    V,
    r"more than 1 value per channel",
)
bad(
    CASES,
    "nn.GroupNorm.forward_rank1",
    lambda: nn.GroupNorm(1, 3)(t(3)),
    V,
    r"\(N, 3, \*\).*\(3,\)",
)
bad(
    CASES,
    "nn.LayerNorm.shape_float_entry",
    lambda: nn.LayerNorm((3, 2.0)),
    T,
    r"normalized_shape.*2\.0",
)
bad(CASES, "nn.RMSNorm.eps_str", lambda: nn.RMSNorm(3, eps="a"), T, r"RMSNorm.*eps.*'a'")
bad(CASES, "nn.BatchNorm2d.eps_nan", lambda: nn.BatchNorm2d(3, eps=float("nan")), V, r"eps.*nan")
bad(CASES, "nn.GroupNorm.eps_str", lambda: nn.GroupNorm(1, 3, eps="x"), T, r"GroupNorm.*eps")


def _identity_anything():
    assert nn.Identity(1, 2, a=3)(5) == 5


def _maxunpool_roundtrip():
    a = np_(1, 1, 4, 4)[..., ::-1]
    y, idx = pydl.nn.functional.max_pool2d(pydl.tensor(a), 2, return_indices=True)
    out = nn.MaxUnpool2d(2)(y, idx).numpy()
    assert out.shape == (1, 1, 4, 4)
    np.testing.assert_allclose(out.max(), a.max())
    assert (out != 0).sum() == 4


def _conv_transpose1d_unbatched():
    m = nn.ConvTranspose1d(2, 3, 3, stride=2)
    a = np_(2, 4)
    _close(m(pydl.tensor(a)), m(pydl.tensor(a[None])).numpy()[0])


def _conv3d_negative_stride():
    m = nn.Conv3d(1, 2, 2)
    a = np_(1, 1, 3, 3, 3)[:, :, ::-1]
    _close(m(pydl.tensor(a)), m(pydl.tensor(np.ascontiguousarray(a))).numpy())


def _transformer_encoder_zero_layers():
    x = t(3, 2, 8)
    y = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 0)(x)
    _close(y, x.numpy())


def _upsample_bilinear_torch():
    torch = _torch()

    a = np_(1, 2, 3, 4)[..., ::-1]
    got = nn.UpsamplingBilinear2d(scale_factor=2)(pydl.tensor(a))
    if torch is None:
        return
    ref = torch.nn.UpsamplingBilinear2d(scale_factor=2)(torch.from_numpy(a.copy()))
    _close(got, ref.numpy())


def _flatten_0d():
    assert nn.Flatten(0)(pydl.tensor(np.float32(2.0))).shape == (1,)


works(CASES, "nn.Identity.anything", _identity_anything)
works(CASES, "nn.MaxUnpool2d.roundtrip_negative_stride", _maxunpool_roundtrip)
works(CASES, "nn.ConvTranspose1d.unbatched", _conv_transpose1d_unbatched)
works(CASES, "nn.Conv3d.forward_negative_stride", _conv3d_negative_stride)
works(CASES, "nn.TransformerEncoder.zero_layers_identity", _transformer_encoder_zero_layers)
works(CASES, "nn.UpsamplingBilinear2d.against_torch", _upsample_bilinear_torch)
works(CASES, "nn.Flatten.0d", _flatten_0d)

# --- the remaining layer classes --------------------------------------------------------
bad(
    CASES,
    "nn.NonDynamicallyQuantizableLinear.out_features_zero",
    lambda: nn.NonDynamicallyQuantizableLinear(4, 0),
    V,
    r"NonDynamicallyQuantizableLinear: out_features must be >= 1",
)
bad(
    CASES,
    "nn.TransformerDecoder.num_layers_str",
    lambda: nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), "2"),
    T,
    r"TransformerDecoder: num_layers.*'2'",
)
bad(
    CASES,
    "nn.TransformerDecoder.layer_not_module",
    lambda: nn.TransformerDecoder("layer", 2),
    T,
    r"TransformerDecoder.*str",
)
bad(
    CASES,
    "nn.TransformerDecoder.memory_batch",
    lambda: nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 1)(t(3, 2, 8), t(4, 3, 8)),
    V,
    r"\(4, 3, 8\)",
)
bad(
    CASES,
    "nn.ParameterDict.missing_key",
    lambda: nn.ParameterDict({"a": pydl.tensor([1.0])})["b"],
    KeyError,
    r"b",
)
bad(
    CASES,
    "nn.ParameterList.index_out_of_range",
    lambda: nn.ParameterList([pydl.tensor([1.0])])[3],
    IndexError,
    r"3|index",
)
bad(
    CASES,
    "nn.UpsamplingNearest2d.size_zero",
    lambda: nn.UpsamplingNearest2d(size=0)(t(1, 1, 2, 2)),
    V,
    r"output size \(0, 0\)",
)
bad(
    CASES,
    "nn.Module.register_buffer_bad_name",
    lambda: nn.Module().register_buffer("a.b", None),
    KeyError,
    r"\.",
)
bad(CASES, "nn.Parameter.str_data", lambda: nn.Parameter("abc"), T, r"str|<U3")
for _name, _cls in (
    ("HardSigmoid", "HardSigmoid"),
    ("HardTanh", "HardTanh"),
    ("Hardshrink", "Hardshrink"),
    ("Hardsigmoid", "Hardsigmoid"),
    ("Hardswish", "Hardswish"),
    ("LeakyReLU", "LeakyReLU"),
    ("LogSigmoid", "LogSigmoid"),
    ("Mish", "Mish"),
    ("SELU", "SELU"),
    ("Swish", "Swish"),
):
    bad(
        CASES,
        f"nn.{_name}.forward_str",
        (lambda c: lambda: getattr(nn, c)()("abc"))(_cls),
        T,
        r"<U3|str",
    )
bad(CASES, "nn.ReLU6.forward_complex", lambda: nn.ReLU6()(np.ones(2, np.complex64)), T, r"complex")
bad(CASES, "nn.Tanh.forward_object", lambda: nn.Tanh()(np.array([None], object)), T, r"object")
bad(CASES, "nn.Softsign.too_many_args", lambda: nn.Softsign(1), T, r"Softsign takes at most 0")
bad(
    CASES,
    "nn.Tanhshrink.unknown_kwarg",
    lambda: nn.Tanhshrink(inplace=True),
    T,
    r"Tanhshrink.*inplace",
)
bad(CASES, "nn.LeakyReLU.slope_str", lambda: nn.LeakyReLU("a")(t(3)), T, r"negative_slope.*str")
bad(CASES, "nn.HardTanh.min_str", lambda: nn.HardTanh("a", 1.0)(t(3)), T, r"min_val|str")


def _hardswish_torchless():
    a = np_(5)[::-1]
    _close(nn.Hardswish()(pydl.tensor(a)), a * np.clip(a + 3, 0, 6) / 6)


def _softsign_int_promotes():
    _close(nn.Softsign()(pydl.tensor(np.array([1, -3]))), [0.5, -0.75])


def _leaky_relu_inplace_noncontig():
    a = np_(3, 4)
    x = pydl.tensor(a)[:, ::2] if False else pydl.tensor(a[:, ::2])
    y = nn.LeakyReLU(0.1, inplace=True)(x)
    _close(y, np.where(a[:, ::2] > 0, a[:, ::2], 0.1 * a[:, ::2]))


works(CASES, "nn.Hardswish.negative_stride", _hardswish_torchless)
works(CASES, "nn.Softsign.int_promotes", _softsign_int_promotes)
works(CASES, "nn.LeakyReLU.inplace_from_strided_numpy", _leaky_relu_inplace_noncontig)
