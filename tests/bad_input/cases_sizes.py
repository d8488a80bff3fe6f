"""Absurd sizes and settings for the kernels that compute sizes from them (Note [Checked
sizes] in cpp/core/check.h): strides, paddings, dilations, kernel and output sizes near
2**62 or 2**63 - 1, and negative ones, given to convolution, transposed convolution,
pooling, unfold/fold, upsampling and embedding, through the public API and straight to the
core's bindings (whose own checks must hold below the Python layer's, e.g. a backward's
x_shape). Each must be a ValueError (or a MemoryError naming the bytes, or an IndexError for
an index) and never wrap around: tools/sanitize.sh runs these under UBSan, which halts on a
signed overflow.
"""

import numpy as np
from corpus import bad, works

import pydl
import pydl.nn.functional as F
from pydl import _core

CASES: list = []

BIG = 2**62
MAX = 2**63 - 1
SIZE = (ValueError, MemoryError)  # too big to compute, or to allocate
# the messages: the setting's name, or the core's "overflows int64" / "out of memory"
TOO_BIG = r"int64|out of memory|too large|larger|too big|overflow"


def _t(*shape):
    return pydl.tensor(np.arange(np.prod(shape), dtype=np.float32).reshape(shape) / 7.0)


def _a(*shape, dtype=np.float32):
    return np.ones(shape, dtype)


X4 = (1, 1, 8, 8)
W3 = (1, 1, 3, 3)
ONE = (1, 1)


def conv(**kw):
    return lambda: F.conv2d(_t(*X4), _t(*W3), **kw)


def core_conv(stride=ONE, padding=(0, 0, 0, 0), dilation=ONE, groups=1):
    return lambda: _core.conv2d_forward(_a(*X4), _a(*W3), None, stride, padding, dilation, groups)


def core_conv_backward(stride=ONE, padding=(0, 0, 0, 0), dilation=ONE, groups=1):
    return lambda: _core.conv2d_backward(
        _a(1, 1, 6, 6), _a(*X4), _a(*W3), stride, padding, dilation, groups, True, True, False
    )


# ----- conv2d / conv1d ---------------------------------------------------------------------
bad(CASES, "sizes.conv2d.stride_max", conv(stride=MAX), SIZE, r"stride|" + TOO_BIG)
for name, value in [("big", BIG), ("max", MAX)]:
    bad(CASES, f"sizes.conv2d.padding_{name}", conv(padding=value), SIZE, r"padd|" + TOO_BIG)
    bad(CASES, f"sizes.conv2d.dilation_{name}", conv(dilation=value), SIZE, r"dilation")
    bad(
        CASES,
        f"sizes.conv1d.dilation_{name}",
        lambda v=value: F.conv1d(_t(1, 1, 8), _t(1, 1, 3), dilation=v),
        SIZE,
        r"dilation",
    )
bad(CASES, "sizes.conv2d.stride_negative_big", conv(stride=-BIG), ValueError, r"stride")
bad(CASES, "sizes.conv2d.padding_negative_big", conv(padding=-BIG), ValueError, r"padding")
bad(CASES, "sizes.conv2d.dilation_negative_big", conv(dilation=-BIG), ValueError, r"dilation")
bad(CASES, "sizes.conv2d.stride_2_64", conv(stride=2**64), (ValueError, OverflowError), "stride")
bad(CASES, "sizes.conv2d.groups_big", conv(groups=BIG), ValueError, r"groups|channels")
bad(
    CASES,
    "sizes.conv2d.padding_big_stride_big",
    conv(padding=BIG - 1, stride=BIG),
    SIZE,
    TOO_BIG,
)
works(  # as PyTorch: one window
    CASES,
    "sizes.conv2d.stride_big",
    lambda: np.testing.assert_allclose(
        F.conv2d(_t(*X4), _t(*W3), stride=BIG).numpy(),
        F.conv2d(_t(*X4), _t(*W3)).numpy()[:, :, :1, :1],
        rtol=1e-6,
    ),
)

# the core's own checks (below the Python layer's): every int64 setting near the limits
for name, kw in [
    ("dilation_big", dict(dilation=(BIG, BIG))),
    ("dilation_max", dict(dilation=(MAX, MAX))),
    ("padding_big", dict(padding=(BIG,) * 4)),
    ("padding_max", dict(padding=(MAX, 0, MAX, 0))),
    ("padding_bottom_max", dict(padding=(0, MAX, 0, MAX))),
    ("stride_max", dict(stride=(MAX, MAX))),
    ("stride_max_padding_big", dict(stride=(MAX, MAX), padding=(BIG,) * 4)),
    ("output_elements", dict(padding=(2**61, 2**61, 0, 0))),
    ("output_bytes", dict(padding=(2**59, 2**59, 0, 0))),
    ("dilation_big_padding_big", dict(padding=(BIG,) * 4, dilation=(BIG // 2, BIG // 2))),
]:
    bad(CASES, f"sizes.core.conv2d_forward.{name}", core_conv(**kw), SIZE, TOO_BIG)
    # the same checks, or grad's shape against the output's
    bad(
        CASES,
        f"sizes.core.conv2d_backward.{name}",
        core_conv_backward(**kw),
        SIZE,
        TOO_BIG + r"|grad \(1, 1, 6, 6\) does not match",
    )
for name, kw, match in [
    ("stride_negative", dict(stride=(-BIG, 1)), r"stride"),
    ("stride_zero", dict(stride=(0, 1)), r"stride"),
    ("padding_negative", dict(padding=(-BIG, 0, 0, 0)), r"padding"),
    ("dilation_negative", dict(dilation=(1, -BIG)), r"dilation"),
    ("groups_negative", dict(groups=-BIG), r"groups"),
    ("groups_max", dict(groups=MAX), r"groups|channels"),
]:
    bad(CASES, f"sizes.core.conv2d_forward.{name}", core_conv(**kw), ValueError, match)
    bad(CASES, f"sizes.core.conv2d_backward.{name}", core_conv_backward(**kw), ValueError, match)


# ----- conv_transpose2d ---------------------------------------------------------------------
def convt(**kw):
    return lambda: F.conv_transpose2d(_t(1, 1, 4, 4), _t(1, 1, 3, 3), **kw)


def core_convt(stride=ONE, padding=(0, 0), output_padding=(0, 0), dilation=ONE, groups=1):
    return lambda: _core.conv_transpose2d_forward(
        _a(1, 1, 4, 4), _a(1, 1, 3, 3), None, stride, padding, output_padding, dilation, groups
    )


bad(CASES, "sizes.conv_transpose2d.stride_big", convt(stride=BIG), SIZE, r"stride|" + TOO_BIG)
bad(CASES, "sizes.conv_transpose2d.stride_max", convt(stride=MAX), SIZE, r"stride|" + TOO_BIG)
bad(CASES, "sizes.conv_transpose2d.padding_big", convt(padding=BIG), ValueError, r"padding")
bad(CASES, "sizes.conv_transpose2d.dilation_big", convt(dilation=BIG), SIZE, TOO_BIG)
bad(
    CASES,
    "sizes.conv_transpose2d.output_padding_big",
    convt(output_padding=BIG, stride=BIG + 1),
    SIZE,
    r"output_padding|" + TOO_BIG,
)
bad(CASES, "sizes.conv_transpose2d.stride_negative", convt(stride=-BIG), ValueError, r"stride")
for name, kw, errors, match in [
    ("stride_max", dict(stride=(MAX, MAX)), SIZE, TOO_BIG),
    ("dilation_max", dict(dilation=(MAX, MAX)), SIZE, TOO_BIG),
    ("padding_max", dict(padding=(MAX, MAX)), ValueError, r"padding|" + TOO_BIG),
    ("output_padding_max", dict(output_padding=(MAX - 1, 0), stride=(MAX, 1)), SIZE, TOO_BIG),
    ("output_padding_negative", dict(output_padding=(-BIG, 0)), ValueError, r"output_padding"),
    ("stride_big_padding_big", dict(stride=(BIG, BIG), padding=(BIG, BIG)), SIZE, TOO_BIG),
    ("output_bytes", dict(stride=(2**30, 2**30)), SIZE, TOO_BIG),
]:
    bad(CASES, f"sizes.core.conv_transpose2d_forward.{name}", core_convt(**kw), errors, match)


# ----- pooling --------------------------------------------------------------------------------
def pool(fn, *args, **kw):
    return lambda: fn(_t(1, 1, 5, 5), *args, **kw)


for name, value in [("big", BIG), ("max", MAX)]:
    bad(CASES, f"sizes.max_pool2d.kernel_{name}", pool(F.max_pool2d, value), SIZE, r"kernel")
    bad(CASES, f"sizes.avg_pool2d.kernel_{name}", pool(F.avg_pool2d, value), SIZE, r"kernel")
    bad(
        CASES,
        f"sizes.max_pool2d.dilation_{name}",
        pool(F.max_pool2d, 3, dilation=value),
        SIZE,
        r"dilation|kernel|" + TOO_BIG,
    )
    bad(
        CASES,
        f"sizes.max_pool2d.padding_{name}",
        pool(F.max_pool2d, 3, padding=value),
        ValueError,
        r"padding",
    )
    bad(
        CASES,
        f"sizes.max_pool1d.kernel_{name}",
        lambda v=value: F.max_pool1d(_t(1, 1, 5), v),
        SIZE,
        r"kernel",
    )
for ceil in (False, True):
    tag = "_ceil" if ceil else ""
    for fn in (F.max_pool2d, F.avg_pool2d):  # past int64 with the padded input: ValueError
        bad(
            CASES,
            f"sizes.{fn.__name__}.stride_max{tag}",
            lambda f=fn, c=ceil: f(_t(1, 1, 5, 5), 2, stride=MAX, ceil_mode=c),
            ValueError,
            r"stride.*overflows int64",
        )
    for name, value in [("big", BIG), ("2_40", 2**40)]:
        works(
            CASES,
            f"sizes.max_pool2d.stride_{name}{tag}",
            lambda v=value, c=ceil: np.testing.assert_array_equal(
                F.max_pool2d(_t(1, 1, 5, 5), 2, stride=v, ceil_mode=c).numpy(),
                F.max_pool2d(_t(1, 1, 5, 5), 2, stride=5).numpy(),
            ),
        )
        works(
            CASES,
            f"sizes.avg_pool2d.stride_{name}{tag}",
            lambda v=value, c=ceil: np.testing.assert_allclose(
                F.avg_pool2d(_t(1, 1, 5, 5), 2, stride=v, ceil_mode=c).numpy(),
                F.avg_pool2d(_t(1, 1, 5, 5), 2, stride=5).numpy(),
            ),
        )
bad(CASES, "sizes.max_pool2d.kernel_negative", pool(F.max_pool2d, -BIG), ValueError, r"kernel")
bad(CASES, "sizes.max_pool2d.stride_negative", pool(F.max_pool2d, 2, -BIG), ValueError, "stride")
bad(
    CASES,
    "sizes.avg_pool2d.padding_negative",
    pool(F.avg_pool2d, 3, 1, -BIG),
    ValueError,
    r"padding",
)
bad(
    CASES,
    "sizes.adaptive_avg_pool2d.output_big",
    pool(F.adaptive_avg_pool2d, (BIG, BIG)),
    SIZE,
    r"output_size|" + TOO_BIG,
)
bad(
    CASES,
    "sizes.adaptive_avg_pool2d.output_2_40",
    pool(F.adaptive_avg_pool2d, (2**40, 2**40)),
    SIZE,
    r"output_size|" + TOO_BIG,
)
bad(
    CASES,
    "sizes.adaptive_avg_pool2d.output_negative",
    pool(F.adaptive_avg_pool2d, (-BIG, 2)),
    ValueError,
    r"output_size|-4611686018427387904",
)
bad(
    CASES,
    "sizes.adaptive_max_pool2d.output_big",
    pool(F.adaptive_max_pool2d, (BIG, BIG)),
    SIZE,
    r"output_size|" + TOO_BIG,
)

X5 = (1, 1, 5, 5)
for name, args in [
    ("kernel_max", ((MAX, MAX), ONE, (0, 0), ONE, False)),
    ("dilation_big", ((3, 3), ONE, (0, 0), (BIG, BIG), False)),
    ("dilation_max", ((3, 3), ONE, (1, 1), (MAX, MAX), True)),
    ("kernel_max_padding_big", ((MAX, MAX), ONE, (BIG - 1, BIG - 1), ONE, True)),
    ("stride_max_padding_big", ((MAX, MAX), (MAX, MAX), (BIG - 1, BIG - 1), ONE, True)),
    ("stride_zero", ((2, 2), (0, 0), (0, 0), ONE, False)),
    ("kernel_negative", ((-BIG, 2), ONE, (0, 0), ONE, False)),
    ("padding_negative", ((2, 2), ONE, (-BIG, 0), ONE, False)),
]:
    bad(
        CASES,
        f"sizes.core.maxpool2d_forward.{name}",
        lambda a=args: _core.maxpool2d_forward(_a(*X5), *a),
        SIZE,
        TOO_BIG + r"|kernel|padding|stride",
    )
    bad(
        CASES,
        f"sizes.core.maxpool2d_backward.{name}",
        lambda a=args: _core.maxpool2d_backward(
            _a(1, 1, 1, 1), _a(1, 1, 1, 1, dtype=np.int64), list(X5), *a
        ),  # fmt: skip
        SIZE,
        TOO_BIG + r"|kernel|padding|stride|grad",
    )
for name, args in [
    ("kernel_max", ((MAX, MAX), ONE, (0, 0), False, True)),
    ("stride_max_ceil", ((2, 2), (MAX, MAX), (1, 1), True, True)),
    ("kernel_max_padding_big", ((MAX, MAX), ONE, (BIG - 1, BIG - 1), True, False)),
]:
    bad(
        CASES,
        f"sizes.core.avgpool2d_forward.{name}",
        lambda a=args: _core.avgpool2d_forward(_a(*X5), *a),
        SIZE,
        TOO_BIG + r"|kernel|padding",
    )
    bad(
        CASES,
        f"sizes.core.avgpool2d_backward.{name}",
        lambda a=args: _core.avgpool2d_backward(_a(1, 1, 1, 1), list(X5), *a),
        SIZE,
        TOO_BIG + r"|kernel|padding|grad",
    )
# a backward's x_shape comes from the caller: the core checks it too
for name, shape in [
    ("planes_overflow", [2**40, 2**40, 5, 5]),
    ("negative", [-1, 1, 5, 5]),
    ("huge_plane", [1, 1, BIG, BIG]),
    ("max", [MAX, MAX, MAX, MAX]),
]:
    bad(
        CASES,
        f"sizes.core.maxpool2d_backward.x_shape_{name}",
        lambda s=shape: _core.maxpool2d_backward(
            _a(1, 1, 2, 2), _a(1, 1, 2, 2, dtype=np.int64), s, (2, 2), (2, 2), (0, 0), ONE, False
        ),
        SIZE,
        TOO_BIG + r"|shape|negative|grad",
    )
    bad(
        CASES,
        f"sizes.core.avgpool2d_backward.x_shape_{name}",
        lambda s=shape: _core.avgpool2d_backward(
            _a(1, 1, 2, 2), s, (2, 2), (2, 2), (0, 0), False, True
        ),
        SIZE,
        TOO_BIG + r"|shape|negative|grad",
    )
    bad(
        CASES,
        f"sizes.core.adaptive_avgpool2d_backward.x_shape_{name}",
        lambda s=shape: _core.adaptive_avgpool2d_backward(_a(1, 1, 2, 2), s),
        SIZE,
        TOO_BIG + r"|shape|negative|grad|match",
    )
    bad(
        CASES,
        f"sizes.core.upsample_nearest2d_backward.x_shape_{name}",
        lambda s=shape: _core.upsample_nearest2d_backward(_a(1, 1, 4, 4), s, (0.0, 0.0), False),
        SIZE,
        TOO_BIG + r"|shape|negative|grad|match",
    )
    bad(
        CASES,
        f"sizes.core.upsample_bilinear2d_backward.x_shape_{name}",
        lambda s=shape: _core.upsample_bilinear2d_backward(_a(1, 1, 4, 4), s, (0.0, 0.0), False),
        SIZE,
        TOO_BIG + r"|shape|negative|grad|match",
    )
    bad(
        CASES,
        f"sizes.core.index_backward.x_shape_{name}",
        lambda s=shape: _core.index_backward(_a(3), np.zeros(3, np.int64), s),
        SIZE,
        TOO_BIG + r"|shape|negative",
    )
for name, size in [("big", (BIG, BIG)), ("max", (MAX, 1)), ("negative", (-BIG, 2))]:
    bad(
        CASES,
        f"sizes.core.adaptive_avgpool2d_forward.{name}",
        lambda s=size: _core.adaptive_avgpool2d_forward(_a(*X5), s),
        SIZE,
        TOO_BIG + r"|output_size|shape|negative",
    )


# ----- unfold / fold / Tensor.unfold ------------------------------------------------------
def unfold(**kw):
    return lambda: F.unfold(_t(1, 2, 6, 6), **kw)


# Left out, for pydl/_ops (not the core): F.unfold(x, kernel_size=2**62) raises NumPy's
# "Maximum allowed dimension exceeded" (making the one-hot patch weight), and
# F.interpolate(x, scale_factor=1e30) a pybind11 signature dump (an output size past int64).
for name, value in [("big", BIG), ("max", MAX)]:
    bad(
        CASES,
        f"sizes.unfold.dilation_{name}",
        unfold(kernel_size=2, dilation=value),
        SIZE,
        r"dilation|kernel|" + TOO_BIG,
    )
    bad(
        CASES,
        f"sizes.unfold.padding_{name}",
        unfold(kernel_size=2, padding=value),
        SIZE,
        r"padd|" + TOO_BIG,
    )
    bad(
        CASES,
        f"sizes.fold.output_size_{name}",
        lambda v=value: F.fold(_t(1, 4, 9), (v, v), 2),
        (ValueError, RuntimeError, MemoryError),
        r"output_size|input.size\(2\)|" + TOO_BIG,
    )
    bad(
        CASES,
        f"sizes.fold.kernel_{name}",
        lambda v=value: F.fold(_t(1, 4, 9), (4, 4), v),
        (ValueError, RuntimeError, MemoryError),
        r"kernel_size|" + TOO_BIG,
    )
    bad(
        CASES,
        f"sizes.fold.padding_{name}",
        lambda v=value: F.fold(_t(1, 4, 9), (4, 4), 2, padding=v),
        (ValueError, RuntimeError, MemoryError),
        r"padding|input.size\(2\)|" + TOO_BIG,
    )
works(
    CASES,
    "sizes.unfold.stride_big",
    lambda: np.testing.assert_array_equal(
        F.unfold(_t(1, 2, 6, 6), 2, stride=BIG).numpy(),
        F.unfold(_t(1, 2, 6, 6), 2, stride=6).numpy(),
    ),
)
bad(CASES, "sizes.unfold.kernel_negative", unfold(kernel_size=-BIG), ValueError, r"kernel_size")
bad(
    CASES,
    "sizes.fold.stride_negative",
    lambda: F.fold(_t(1, 4, 9), (4, 4), 2, stride=-BIG),
    ValueError,
    r"stride",
)
bad(
    CASES,
    "sizes.Tensor.unfold.size_big",
    lambda: _t(2, 8).unfold(1, BIG, 1),
    (ValueError, RuntimeError),
    r"size",
)
bad(
    CASES,
    "sizes.Tensor.unfold.step_negative",
    lambda: _t(2, 8).unfold(1, 2, -BIG),
    (ValueError, RuntimeError),
    r"step",
)


# ----- upsampling -------------------------------------------------------------------------------
def interp(**kw):
    return lambda: F.interpolate(_t(1, 1, 4, 4), **kw)


for mode in ("nearest", "bilinear"):
    bad(
        CASES,
        f"sizes.interpolate.{mode}.size_big",
        interp(size=(BIG, BIG), mode=mode),
        SIZE,
        TOO_BIG + r"|size",
    )
    bad(
        CASES,
        f"sizes.interpolate.{mode}.size_max",
        interp(size=MAX, mode=mode),
        SIZE,
        TOO_BIG + r"|size",
    )
    bad(
        CASES,
        f"sizes.interpolate.{mode}.size_negative",
        interp(size=-BIG, mode=mode),
        ValueError,
        r"size",
    )
    bad(
        CASES,
        f"sizes.interpolate.{mode}.scale_2_40",
        interp(scale_factor=2.0**40, mode=mode),
        SIZE,
        TOO_BIG + r"|scale|size",
    )
for name, size, scales in [
    ("size_big", (BIG, BIG), (0.0, 0.0)),
    ("size_max", (MAX, 1), (0.0, 0.0)),
    ("size_negative", (-BIG, 4), (0.0, 0.0)),
]:
    bad(
        CASES,
        f"sizes.core.upsample_nearest2d_forward.{name}",
        lambda s=size, c=scales: _core.upsample_nearest2d_forward(_a(1, 1, 4, 4), s, c, False),
        SIZE,
        TOO_BIG + r"|size",
    )
    bad(
        CASES,
        f"sizes.core.upsample_bilinear2d_forward.{name}",
        lambda s=size, c=scales: _core.upsample_bilinear2d_forward(_a(1, 1, 4, 4), s, c, True),
        SIZE,
        TOO_BIG + r"|size",
    )
# scales that are not finite or tiny: a size is given, the scale only maps the coordinates
for name, scale in [("inf", float("inf")), ("nan", float("nan")), ("tiny", 1e-300), ("neg", -2.0)]:
    works(
        CASES,
        f"sizes.core.upsample_nearest2d_forward.scale_{name}",
        lambda s=scale: (
            np.isfinite(
                _core.upsample_nearest2d_forward(_a(1, 1, 4, 4), (8, 8), (s, s), False)
            ).all()
            or (_ for _ in ()).throw(AssertionError("not finite"))
        ),
    )
    works(
        CASES,
        f"sizes.core.upsample_bilinear2d_forward.scale_{name}",
        lambda s=scale: (
            np.isfinite(
                _core.upsample_bilinear2d_forward(_a(1, 1, 4, 4), (8, 8), (s, s), False)
            ).all()
            or (_ for _ in ()).throw(AssertionError("not finite"))
        ),
    )


# ----- embedding --------------------------------------------------------------------------------
W = (5, 3)
for name, index in [("big", BIG), ("max", MAX), ("negative_big", -BIG), ("min", -(2**63))]:
    bad(
        CASES,
        f"sizes.embedding.index_{name}",
        lambda i=index: F.embedding(pydl.tensor(np.array([0, i])), _t(*W)),
        IndexError,
        r"index.*" + str(index).replace("-", r"-?"),
    )
    bad(
        CASES,
        f"sizes.core.embedding_forward.index_{name}",
        lambda i=index: _core.embedding_forward(_a(*W), np.array([1, i], np.int64)),
        IndexError,
        r"index.*" + str(index).replace("-", r"-?"),
    )
    bad(
        CASES,
        f"sizes.core.embedding_backward.index_{name}",
        lambda i=index: _core.embedding_backward(_a(2, 3), np.array([1, i], np.int64), 5, -1),
        IndexError,
        r"index.*" + str(index).replace("-", r"-?"),
    )
for name, rows in [("big", BIG), ("max", MAX), ("negative", -BIG)]:
    bad(
        CASES,
        f"sizes.core.embedding_backward.rows_{name}",
        lambda r=rows: _core.embedding_backward(_a(2, 3), np.array([1, 0], np.int64), r, -1),
        SIZE,
        TOO_BIG + r"|rows|shape|negative",
    )
works(
    CASES,
    "sizes.core.embedding_backward.padding_idx_huge",
    lambda: np.testing.assert_array_equal(
        _core.embedding_backward(_a(2, 3), np.array([1, 1], np.int64), 5, MAX),
        np.array([[0, 0, 0], [2, 2, 2], [0, 0, 0], [0, 0, 0], [0, 0, 0]], np.float32),
    ),
)
bad(
    CASES,
    "sizes.core.embedding_backward.grad_zero_size_wide",
    lambda: _core.embedding_backward(
        np.empty((0, 2**60), np.float32), np.zeros(8, np.int64), 5, -1
    ),
    ValueError,
    r"grad",
)


# ----- other settings that multiply a size: attention heads, GEMM leading dimensions -------
for name, heads in [("big", BIG), ("max", MAX), ("third_of_max", MAX // 3 + 1)]:
    bad(
        CASES,
        f"sizes.core.attention_qkv_forward.heads_{name}",
        lambda h=heads: _core.attention_qkv_forward(_a(2, 3, 12), h, None, 0.5, False),
        ValueError,
        r"heads",
    )
    bad(
        CASES,
        f"sizes.core.attention_qkv_forward.heads_{name}_zero_width",
        lambda h=heads: _core.attention_qkv_forward(_a(2, 3, 0), h, None, 0.5, False),
        (ValueError, MemoryError),
        r"heads|" + TOO_BIG,
    )
for name, args in [
    ("rows_max", (MAX, 2, 2, 2, 2)),
    ("lda_max", (2, 2, 2, MAX, 2)),
    ("ldb_big", (2, 2, 2, 2, BIG)),
]:
    m, n, k, lda, ldb = args
    bad(
        CASES,
        f"sizes.core.sgemm.{name}",
        lambda m=m, n=n, k=k, lda=lda, ldb=ldb: _core.sgemm(
            False, False, m, n, k, 1.0, _a(4), lda, _a(4), ldb, 0.0, _a(4), 2
        ),
        ValueError,
        r"sgemm: (a|b|c)\b.*" + TOO_BIG + r"|sgemm: .* needs",
    )
bad(
    CASES,
    "sizes.core.conv2d_forward.groups_max_zero_channels",
    lambda: _core.conv2d_forward(_a(1, 0, 8, 8), _a(0, 5, 3, 3), None, ONE, (0, 0, 0, 0), ONE, MAX),
    ValueError,
    r"groups|channels",
)
for fn in ("sum_backward", "mean_backward"):
    bad(  # 16 * 2**60 wraps to 0, the size of x: was accepted
        CASES,
        f"sizes.core.{fn}.grad_times_reduced_overflows",
        lambda fn=fn: getattr(_core, fn)(_a(16), [2**60, 0], [0]),
        ValueError,
        r"grad \(16,\) does not match the reduction of \(1152921504606846976, 0\)",
    )
