"""The op table: rows of samples for every differentiable op (house style 6).

Each row drives the finite-difference check of the reference backward
(test_gradcheck.py), the core-vs-reference check (test_core_vs_reference.py) and the
1-vs-2-thread check (test_threads.py); test_op_registry.py checks that the rows run every
kernel the op declarations name, forward and backward. A row is (id, fn, inputs): fn maps
input tensors to an output tensor; inputs lists (shape, low, high) per input, sampled
uniformly (domains avoid poles; kinks are measure-zero for random inputs). As PyTorch's
OpInfo, a row may carry more samples: `sweep` (further input lists, e.g. sizes around the
SIMD widths, for the core-vs-reference check), `threaded` (inputs big enough to be split
across threads; by default the first dim of each input grown 37 times), the core `dtypes`
compared with the float64 reference, and `skips`: {test name: reason}.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import pydl
import pydl.nn.functional as NF
from pydl.tensor import record


@dataclass
class Row:
    id: str
    fn: Callable
    inputs: list
    rtol: float = 2e-4  # core (float32) vs reference (float64)
    atol: float = 2e-5
    nondiff: tuple = field(default_factory=tuple)  # inputs without a gradient
    sweep: list = field(default_factory=list)  # more input lists for core vs reference
    threaded: list | None = None  # inputs that run multi-threaded; None: grown from inputs
    # the core's dtypes, each compared with the float64 reference (float64 is native where
    # the kernel is templated, else the core's fallback to its twin: Note [Reference fallback])
    dtypes: tuple = (np.float32, np.float64)
    # {test: reason}: "gradcheck", "core", "threads", or "threads_forward"/"threads_backward"
    # for a direction that stays on one thread by design
    skips: dict = field(default_factory=dict)

    def sample(self, rng: np.random.Generator, inputs: list | None = None) -> list[np.ndarray]:
        return [rng.uniform(lo, hi, size=shape) for shape, lo, hi in inputs or self.inputs]

    def samples(self) -> list[list]:
        """The input lists the core is compared on: the row's own, then its sweep."""
        return [self.inputs, *self.sweep]

    def threaded_inputs(self) -> list:
        """The `threaded` sample, or by default the inputs that share the first one's leading
        dim (the batch) grown along it until the first has >= 2^16 elements (4 grains of
        the elementwise kernels)."""
        if self.threaded is not None:
            return self.threaded
        first = self.inputs[0][0]
        k = -(-(1 << 16) // max(1, math.prod(first))) if first else 1
        return [
            ((s[0] * k,) + tuple(s[1:]) if s and s[0] == first[0] else s, lo, hi)
            for s, lo, hi in self.inputs
        ]


def _u(shape, lo=-2.0, hi=2.0):
    return (shape, lo, hi)


# Labels, masks and indices are functions of the input shapes, so that the threaded
# samples (grown inputs) get matching ones.
def labels(n, classes):
    """n class labels with repeats, every class present when n >= classes."""
    return (np.arange(n) * 3 + 1) % classes


def probs(n, classes):
    return np.random.default_rng(7).dirichlet(np.ones(classes), size=n)


def mask(shape):
    return np.random.default_rng(8).uniform(size=shape) > 0.5


def float_mask(*shape):
    return np.random.default_rng(9).uniform(-1, 1, shape)


ROWS: list[Row] = []


def row(*args, **kwargs):
    ROWS.append(Row(*args, **kwargs))


# elementwise binary, with broadcasting and sizes off the SIMD width
for name, fn, lo_b in [
    ("add", pydl.add, -2),
    ("sub", pydl.sub, -2),
    ("mul", pydl.mul, -2),
    ("div", pydl.div, 0.5),
]:
    # add's backward hands g to both inputs without a kernel
    skips = {"threads_backward": "passes the gradient through, no kernel"} if name == "add" else {}
    row(f"{name}_same", fn, [_u((3, 7)), _u((3, 7), lo_b, 2)], skips=skips)
    row(f"{name}_bcast", fn, [_u((4, 1, 5)), _u((3, 1), lo_b, 2)])
    row(f"{name}_scalar", fn, [_u((33,)), _u((), lo_b, 2)])
row("pow", pydl.pow, [_u((3, 5), 0.5, 2), _u((3, 5), -1.5, 2)])
row("pow_bcast", pydl.pow, [_u((2, 3, 4), 0.5, 2), _u((4,), -1.5, 2)])
row("pow_int_exponent", lambda a: pydl.pow(a, 3.0), [_u((17,))])
row("remainder", pydl.remainder, [_u((3, 5), -5, 5), _u((3, 5), 0.7, 2)])
row("remainder_neg_bcast", pydl.remainder, [_u((2, 3, 4), -5, 5), _u((4,), -2, -0.7)])

# unary math
row("neg", pydl.neg, [_u((5, 3))])
row("exp", pydl.exp, [_u((5, 9))])
row("log", pydl.log, [_u((5, 9), 0.2, 3)])
row("sqrt", pydl.sqrt, [_u((5, 9), 0.2, 3)])
row("abs", pydl.abs, [_u((5, 9))])
row("sin", pydl.sin, [_u((5, 9), -4, 4)])
row("cos", pydl.cos, [_u((5, 9), -4, 4)])
row("clamp", lambda x: pydl.clamp(x, -0.5, 0.7), [_u((41,))])
row("clamp_min", lambda x: pydl.clamp(x, min=0.1), [_u((41,))])

# activations (seed 000 section 2, seed 002 table)
for name, fn in [
    ("sigmoid", NF.sigmoid),
    ("tanh", NF.tanh),
    ("relu", NF.relu),
    ("leaky_relu", lambda x: NF.leaky_relu(x, 0.1)),
    ("elu", NF.elu),
    ("selu", NF.selu),
    ("gelu", NF.gelu),
    ("gelu_tanh", lambda x: NF.gelu(x, approximate="tanh")),
    ("silu", NF.silu),
    ("mish", NF.mish),
    ("softplus", NF.softplus),
    ("softplus_beta", lambda x: NF.softplus(x, beta=2.0, threshold=3.0)),
    ("softsign", NF.softsign),
    ("hard_sigmoid", NF.hard_sigmoid),
    ("hardsigmoid", NF.hardsigmoid),
    ("hardtanh", NF.hardtanh),
    ("logsigmoid", NF.logsigmoid),
    ("tanhshrink", NF.tanhshrink),
]:
    # sizes around the 8- and 16-float SIMD widths: vector body, tail, both
    sweep = [[_u((n,), -4, 4)] for n in (1, 7, 8, 9, 16, 17, 33)]
    row(name, fn, [_u((6, 13), -4, 4)], sweep=sweep)
row("sigmoid_large", NF.sigmoid, [_u((20,), -60, 60)], atol=1e-6)
row("prelu_channels", NF.prelu, [_u((3, 4, 5)), _u((4,), 0.05, 0.5)])
row(
    "prelu_shared",
    NF.prelu,
    [_u((7, 3)), _u((1,), 0.05, 0.5)],
    skips={
        "threads": "one shared slope is one row forward and one channel task backward "
        "(its sum stays serial for determinism): a single-threaded path today"
    },
)
row("softmax", lambda x: NF.softmax(x, -1), [_u((4, 7), -3, 3)])
row("softmax_dim0", lambda x: NF.softmax(x, 0), [_u((5, 3, 2), -3, 3)])
row("log_softmax", lambda x: NF.log_softmax(x, -1), [_u((4, 7), -3, 3)])
row("log_softmax_dim1", lambda x: NF.log_softmax(x, 1), [_u((2, 5, 3), -3, 3)])
row("maxout", lambda x: NF.maxout(x, 3), [_u((4, 12))])

# reductions
# A reduction along the outermost axis (to one value, or over dim 0) runs in one fixed order
# on one thread (Note [Determinism]); its backward, a broadcast, is split.
SERIAL_REDUCTION = {"threads_forward": "reduces along the outer axis in one fixed order"}
row("sum_all", lambda x: pydl.sum(x), [_u((5, 7))], skips=SERIAL_REDUCTION)
row("sum_axis0", lambda x: pydl.sum(x, 0), [_u((5, 7))], skips=SERIAL_REDUCTION)
row("sum_axis1_keepdim", lambda x: pydl.sum(x, 1, keepdim=True), [_u((5, 7))])
row("sum_axes_0_2", lambda x: pydl.sum(x, (0, 2)), [_u((3, 4, 5))])
row("mean_axis_neg1", lambda x: pydl.mean(x, -1), [_u((3, 4, 5))])
row("mean_all", lambda x: pydl.mean(x), [_u((3, 4, 5))], skips=SERIAL_REDUCTION)
row("amax_axis1", lambda x: pydl.amax(x, 1), [_u((4, 9))])
row("amax_axes_0_2_keepdim", lambda x: pydl.amax(x, (0, 2), keepdim=True), [_u((3, 4, 5))])
row("max_all", lambda x: pydl.max(x), [_u((6, 5))], skips=SERIAL_REDUCTION)
row("amin_axis0", lambda x: pydl.amin(x, 0), [_u((5, 6))], skips=SERIAL_REDUCTION)
# max/min with a dim: the values are gathered at the indices and the gradient scattered
# back (Note [max with a dim]), with the index kernels: a serial scatter, as for indexing.
GATHER_AT_ARGMAX = {"threads_backward": "scatter-adds in index order on one thread"}
row(
    "max_dim1_values",
    lambda x: pydl.max(x, 1).values,
    [_u((4, 9))],
    threaded=[_u((40000, 9))],
    skips=GATHER_AT_ARGMAX,
)
row(
    "max_dim0_keepdim_values",
    lambda x: pydl.max(x, 0, keepdim=True)[0],
    [_u((3, 4, 5))],
    threaded=[_u((3, 200, 200))],
    skips=GATHER_AT_ARGMAX,
)
row(
    "min_dim_neg1_values",
    lambda x: pydl.min(x, -1).values,
    [_u((3, 4, 5))],
    threaded=[_u((200, 200, 5))],
    skips=GATHER_AT_ARGMAX,
)
# maximum/minimum are NumPy on both backends (no kernels yet): the rows check the gradient.
NUMPY_ONLY = {"threads": "NumPy on both backends: no core kernel to thread"}
row("maximum_broadcast", pydl.maximum, [_u((4, 5)), _u((5,))], skips=NUMPY_ONLY)
row("minimum_broadcast", pydl.minimum, [_u((4, 1)), _u((4, 5))], skips=NUMPY_ONLY)

# layout
row(
    "reshape",
    lambda x: pydl.reshape(x, (5, 6)),
    [_u((3, 10))],
    skips={"threads": "metadata only: a reshape runs no kernel"},
)
row(
    "flatten",
    lambda x: pydl.flatten(x, 1),
    [_u((2, 3, 4))],
    skips={"threads": "metadata only: a reshape runs no kernel"},
)
VIEW = {"threads": "a view (Note [Views]): no kernel runs"}
row("transpose", lambda x: pydl.transpose(x, 0, 1), [_u((3, 5))], skips=VIEW)
row("permute", lambda x: pydl.permute(x, (2, 0, 1)), [_u((2, 3, 4))], skips=VIEW)
row(
    "contiguous_transpose",
    lambda x: pydl.transpose(x, 0, 1).contiguous(),
    [_u((3, 5))],
    threaded=[_u((512, 300))],
)
# Note [Blocked transpose]: tiles of 16 with ragged edges, other axes before and between
row("contiguous_blocked", lambda x: pydl.transpose(x, 0, 1).contiguous(), [_u((37, 21))])
row("contiguous_permute", lambda x: x.permute(2, 0, 1).contiguous(), [_u((3, 20, 18))])
row("contiguous_4d", lambda x: x.permute(0, 3, 1, 2).contiguous(), [_u((2, 5, 17, 19))])
row("contiguous_slice", lambda x: x[:, ::2].contiguous(), [_u((4, 6))], skips=VIEW)
row("cat", lambda a, b: pydl.cat([a, b], 1), [_u((2, 3, 4)), _u((2, 5, 4))])
row("stack", lambda a, b: pydl.stack([a, b], 1), [_u((3, 4)), _u((3, 4))])
# index_backward scatter-adds in index order, so repeated indices sum in a fixed order
SERIAL_SCATTER = {"threads_backward": "scatter-adds in index order on one thread"}
row("slice", lambda x: x[1:, ::2], [_u((4, 7))], skips=VIEW)
row("slice_int", lambda x: x[:, 2], [_u((4, 7))], skips=VIEW)
row(
    "index_array_repeats",
    lambda x: x[labels(x.shape[0] + 1, x.shape[0])],
    [_u((3, 5))],
    skips=SERIAL_SCATTER,
)
row(
    "index_pairs",
    lambda x: x[np.arange(x.shape[0]), labels(*x.shape)],
    [_u((7, 5))],
    threaded=[_u((40000, 5))],
    skips=SERIAL_SCATTER,
)
row("index_mask", lambda x: x[mask(x.shape)], [_u((4, 5))], skips=SERIAL_SCATTER)
row("where", lambda a, b: pydl.where(mask(a.shape), a, b), [_u((4, 5)), _u((5,))])


def flipped_columns(x):
    """x[:, ::-2].T as a strided NumPy view (negative and transposed strides), recorded with
    a backward that scatters into x's shape: an input that contiguous has to copy."""
    view = x._array[:, ::-2].T

    def backward(node, g):
        gx = np.zeros(x.shape, g.dtype)
        gx[:, ::-2] = g.T
        return (gx,)

    return record(view, (x,), backward)


# comparisons and logical ops (bool, not differentiable) choosing between differentiable inputs
row("lt_where", lambda a, b: pydl.where(pydl.lt(a, b), a, b), [_u((4, 5)), _u((5,))])
row("ge_scalar_where", lambda a: pydl.where(a.ge(0.25), a, a * 3.0), [_u((33,))])
row(
    "logical_where",
    lambda a, b: pydl.where(pydl.logical_xor(a.gt(0.0), pydl.le(b, 0.5)), a, b),
    [_u((3, 4)), _u((3, 1))],
)
row(
    "logical_not_where",
    lambda a: pydl.where(pydl.logical_not(pydl.logical_or(a.gt(1.0), a.lt(-1.0))), a, a * 0.5),
    [_u((6, 7))],
)
row(
    "contiguous",
    lambda x: pydl.Tensor.contiguous(flipped_columns(x)),
    [_u((6, 5))],
    skips={"threads_backward": "passes the gradient through, no kernel"},
)

# linear algebra
# GEMM's threaded samples: products large enough that its driver splits them
row("matmul_2d", pydl.matmul, [_u((3, 4)), _u((4, 5))], threaded=[_u((256, 64)), _u((64, 96))])
row("matmul_odd", pydl.matmul, [_u((7, 9)), _u((9, 13))], threaded=[_u((301, 67)), _u((67, 93))])
row(
    "matmul_batched",
    pydl.matmul,
    [_u((2, 3, 4)), _u((2, 4, 5))],
    threaded=[_u((2, 200, 64)), _u((2, 64, 96))],
)
row(
    "matmul_bcast",
    pydl.matmul,
    [_u((2, 1, 3, 4)), _u((3, 4, 2))],
    threaded=[_u((2, 1, 256, 128)), _u((3, 128, 256))],
)
row("matmul_vec", pydl.matmul, [_u((3, 4)), _u((4,))], threaded=[_u((16384, 512)), _u((512,))])
row(
    "linear",
    NF.linear,
    [_u((5, 7)), _u((3, 7)), _u((3,))],
    threaded=[_u((256, 64)), _u((96, 64)), _u((96,))],
)
row(
    "linear_nobias",
    NF.linear,
    [_u((2, 4, 6)), _u((5, 6))],
    threaded=[_u((2, 128, 64)), _u((96, 64))],
)
for act in ("relu", "gelu", "tanh", "sigmoid"):  # the GEMM epilogue's fused activations
    row(
        f"linear_{act}",
        lambda x, w, b, act=act: NF.linear(x, w, b, activation=act),
        [_u((7, 9)), _u((17, 9)), _u((17,))],
    )
row(
    "linear_gelu_nobias",
    lambda x, w: NF.linear(x, w, activation="gelu"),
    [_u((3, 5)), _u((4, 5))],
    threaded=[_u((256, 64)), _u((96, 64))],
)

# convolution (seed 000 section 5): kernel 1/3/5, stride, padding, dilation, groups,
# odd sizes, batch 1, non-square kernels, 1-D
CONV = [  # (id, x shape, w shape, stride, padding, dilation, groups, bias)
    ("conv_3x3_pad1", (2, 3, 7, 6), (4, 3, 3, 3), 1, 1, 1, 1, True),
    ("conv_1x1", (2, 4, 5, 5), (3, 4, 1, 1), 1, 0, 1, 1, True),
    ("conv_5x5_stride2_pad2", (1, 2, 9, 8), (3, 2, 5, 5), 2, 2, 1, 1, True),
    ("conv_3x2_dilation2", (2, 2, 8, 7), (3, 2, 3, 2), 1, (1, 0), 2, 1, False),
    ("conv_groups2", (2, 4, 6, 5), (6, 2, 3, 3), 1, 1, 1, 2, True),
    ("conv_depthwise_stride2", (1, 3, 7, 7), (3, 1, 3, 3), 2, 1, 1, 3, True),
    ("conv_1x1_stride2", (2, 3, 5, 6), (2, 3, 1, 1), 2, 0, 1, 1, False),
    ("conv_same_even_kernel", (1, 2, 5, 6), (2, 2, 2, 4), 1, "same", 1, 1, True),
]
for cid, xs, ws, st, pad, dil, grp, has_b in CONV:
    inputs = [_u(xs), _u(ws)] + ([_u((ws[0],))] if has_b else [])
    row(
        cid,
        lambda x, w, b=None, st=st, pad=pad, dil=dil, grp=grp: NF.conv2d(
            x, w, b, st, pad, dil, grp
        ),
        inputs,
    )
row(
    "conv1d",
    lambda x, w, b: NF.conv1d(x, w, b, stride=2, padding=1),
    [_u((2, 3, 9)), _u((4, 3, 3)), _u((4,))],
)
row(
    "conv1d_same_dilated",
    lambda x, w: NF.conv1d(x, w, padding="same", dilation=2),
    [_u((1, 2, 7)), _u((2, 2, 3))],
)

# transposed convolution (Note [Transposed convolution]): stride 1/2/3, padding,
# output_padding (past the padding: the conv it is the adjoint of crops), dilation,
# groups, 1x1 (the pointwise GEMM), no bias, 1-D
CONV_T = [  # (id, x shape, w shape, stride, padding, output_padding, dilation, groups, bias)
    ("convt_3x3", (2, 3, 4, 5), (3, 4, 3, 3), 1, 0, 0, 1, 1, True),
    ("convt_k4_s2_p1", (2, 4, 3, 4), (4, 3, 4, 4), 2, 1, 0, 1, 1, True),
    ("convt_s2_outpad1", (1, 3, 4, 3), (3, 2, 3, 3), 2, 1, 1, 1, 1, True),
    ("convt_s3_nonsquare", (3, 2, 3, 4), (2, 3, 2, 3), (3, 2), (1, 0), (2, 1), 1, 1, False),
    ("convt_dilation2_outpad_cropped", (1, 2, 4, 4), (2, 3, 3, 3), 1, 0, 1, 2, 1, True),
    ("convt_s2_dilation3_outpad2", (3, 2, 3, 3), (2, 3, 2, 2), 2, 1, 2, 3, 1, False),
    ("convt_groups2", (2, 4, 4, 3), (4, 3, 3, 3), 2, 1, 1, 1, 2, True),
    ("convt_depthwise_s2", (1, 3, 5, 5), (3, 1, 3, 3), 2, 1, 0, 1, 3, False),
    ("convt_1x1", (2, 4, 3, 3), (4, 5, 1, 1), 1, 0, 0, 1, 1, True),
    ("convt_1x1_s2_outpad", (2, 3, 3, 4), (3, 2, 1, 1), 2, 0, 1, 1, 1, False),
]
for cid, xs, ws, st, pad, opad, dil, grp, has_b in CONV_T:
    inputs = [_u(xs), _u(ws)] + ([_u((ws[1] * grp,))] if has_b else [])
    row(
        cid,
        lambda x, w, b=None, st=st, pad=pad, opad=opad, dil=dil, grp=grp: NF.conv_transpose2d(
            x, w, b, st, pad, opad, grp, dil
        ),
        inputs,
        # a wider sample: rows of 16 and 18 floats (whole SIMD vectors, and a tail)
        sweep=[[_u((3,) + xs[1:2] + (7, 16)), _u(ws)] + inputs[2:]] if cid == "convt_3x3" else [],
    )
row(
    "convt1d",
    lambda x, w, b: NF.conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1),
    [_u((2, 3, 7)), _u((3, 4, 3)), _u((4,))],
)
row(
    "convt1d_dilated_groups",
    lambda x, w: NF.conv_transpose1d(x, w, output_padding=1, groups=2, dilation=2),
    [_u((1, 4, 6)), _u((4, 1, 3))],
)

# upsampling (Note [Upsampling indices]): nearest and bilinear, align_corners both ways,
# scale factors 2 and 1.5, explicit sizes (one axis shrinking), 1-D, recomputed scales
for uid, kwargs, shape in [
    ("nearest_x2", dict(scale_factor=2), (2, 3, 4, 5)),
    ("nearest_x1.5", dict(scale_factor=1.5), (2, 3, 5, 4)),
    ("nearest_size", dict(size=(7, 3)), (2, 2, 5, 4)),
    ("nearest_1d_x3", dict(scale_factor=3), (2, 3, 5)),
    ("bilinear_x2", dict(scale_factor=2, mode="bilinear"), (2, 3, 4, 5)),
    ("bilinear_x2_align", dict(scale_factor=2, mode="bilinear", align_corners=True), (2, 3, 4, 5)),
    ("bilinear_x1.5", dict(scale_factor=1.5, mode="bilinear"), (2, 3, 5, 4)),
    (
        "bilinear_x1.5_align",
        dict(scale_factor=(1.5, 2.5), mode="bilinear", align_corners=True),
        (2, 3, 5, 4),
    ),
    ("bilinear_size", dict(size=(7, 3), mode="bilinear"), (2, 2, 5, 4)),
    ("bilinear_size_align", dict(size=(7, 3), mode="bilinear", align_corners=True), (2, 2, 5, 4)),
    (
        "bilinear_recompute",
        dict(scale_factor=1.7, mode="bilinear", recompute_scale_factor=True),
        (1, 2, 5, 6),
    ),
    ("linear_1d_align", dict(size=9, mode="linear", align_corners=True), (2, 3, 5)),
]:
    row(f"upsample_{uid}", lambda x, kwargs=kwargs: NF.interpolate(x, **kwargs), [_u(shape)])

# pooling (seed 000 section 6)
row("max_pool2d", lambda x: NF.max_pool2d(x, 2), [_u((2, 3, 6, 5))])
row(
    "max_pool2d_overlap_pad", lambda x: NF.max_pool2d(x, 3, stride=2, padding=1), [_u((1, 2, 7, 6))]
)
row(
    "max_pool2d_dilation_ceil",
    lambda x: NF.max_pool2d(x, (2, 3), stride=2, dilation=(2, 1), ceil_mode=True),
    [_u((2, 1, 9, 8))],
)
row("avg_pool2d", lambda x: NF.avg_pool2d(x, 2), [_u((2, 3, 6, 5))])
row(
    "avg_pool2d_pad_exclude",
    lambda x: NF.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
    [_u((1, 2, 7, 6))],
)
row(
    "avg_pool2d_pad_include_ceil",
    lambda x: NF.avg_pool2d(x, (3, 2), stride=2, padding=1, ceil_mode=True),
    [_u((2, 2, 6, 7))],
)
row("adaptive_avg_pool2d_1", lambda x: NF.adaptive_avg_pool2d(x, 1), [_u((2, 3, 5, 4))])
row("adaptive_avg_pool2d_3x2", lambda x: NF.adaptive_avg_pool2d(x, (3, 2)), [_u((1, 2, 7, 5))])
row("max_pool1d", lambda x: NF.max_pool1d(x, 3, stride=2, padding=1), [_u((2, 3, 9))])
row("avg_pool1d", lambda x: NF.avg_pool1d(x, 2), [_u((2, 3, 9))])

# normalization (seed 000 section 3)
row(
    "batch_norm_train",
    lambda x, w, b: NF.batch_norm(x, None, None, w, b, training=True),
    [_u((4, 3, 2, 3)), _u((3,), 0.5, 1.5), _u((3,))],
)
row("batch_norm_1d_train", lambda x: NF.batch_norm(x, None, None, training=True), [_u((5, 4))])
row(
    "batch_norm_eval",
    lambda x, w, b: NF.batch_norm(
        x, np.array([0.1, -0.2, 0.3]), np.array([1.5, 0.5, 2.0]), w, b, training=False
    ),
    [_u((2, 3, 4)), _u((3,), 0.5, 1.5), _u((3,))],
)
row("layer_norm", lambda x, w, b: NF.layer_norm(x, (7,), w, b), [_u((3, 7)), _u((7,)), _u((7,))])
row("layer_norm_2d_shape", lambda x: NF.layer_norm(x, (3, 4)), [_u((2, 3, 4))])
row(
    "group_norm",
    lambda x, w, b: NF.group_norm(x, 2, w, b),
    [_u((2, 4, 3, 2)), _u((4,), 0.5, 1.5), _u((4,))],
)
row("instance_norm", lambda x: NF.instance_norm(x), [_u((2, 3, 4, 3))])


# recurrent layers (seed 000 section 7): the whole sequence, through y, h_n and c_n
def _rec(mode, reverse=False):
    def fn(x, h0, *rest):
        c0 = rest[0] if mode == "lstm" else None
        w_ih, w_hh, *b = rest[1:] if mode == "lstm" else rest
        y, h_n, c_n = NF.recurrent_layer(x, h0, c0, w_ih, w_hh, *(b or [None, None]), mode, reverse)
        out = pydl.mul(pydl.sum(y, 0), 0.5) + pydl.mul(h_n, 2.0)
        return out + c_n if c_n is not None else out

    return fn


def _rec_inputs(mode, gates, bias, T, B, I=5, H=3):
    ins = [_u((T, B, I)), _u((B, H), -0.5, 0.5)]
    if mode == "lstm":
        ins.append(_u((B, H), -0.5, 0.5))
    ins += [_u((gates * H, I), -0.6, 0.6), _u((gates * H, H), -0.6, 0.6)]
    if bias:
        ins += [_u((gates * H,), -0.3, 0.3), _u((gates * H,), -0.3, 0.3)]
    return ins


# The step kernels split the batch in grains of 4096 / H rows: 2048 rows reach 2 threads.
for mode, gates, reverse, bias in [
    ("rnn_tanh", 1, False, True),
    ("rnn_relu", 1, True, True),
    ("lstm", 4, False, True),
    ("lstm", 4, True, False),
    ("gru", 3, False, True),
    ("gru", 3, True, True),
    ("gru_reset_before", 3, False, True),
    ("gru_reset_before", 3, True, False),
]:
    row(
        f"{mode}{'_reverse' if reverse else ''}{'' if bias else '_nobias'}",
        _rec(mode, reverse),
        _rec_inputs(mode, gates, bias, T=4, B=3),
        threaded=_rec_inputs(mode, gates, bias, T=3, B=2048),
    )
# one output of the three-output node: the others' gradients never arrive (None slots)
row(
    "lstm_h_n_only",
    lambda x, h0, c0, w_ih, w_hh: NF.recurrent_layer(x, h0, c0, w_ih, w_hh, None, None, "lstm")[1],
    _rec_inputs("lstm", 4, False, T=3, B=2, I=4),
    threaded=_rec_inputs("lstm", 4, False, T=3, B=2048, I=4),
)
row(
    "rnn_single_step",
    _rec("rnn_tanh"),
    _rec_inputs("rnn_tanh", 1, True, T=1, B=1, I=2),
    threaded=_rec_inputs("rnn_tanh", 1, True, T=1, B=8192, I=2),
)

# attention (seed 000 section 8); 131 keys span three 64-key blocks of the core kernel
row(
    "sdpa",
    lambda q, k, v: NF.scaled_dot_product_attention(q, k, v),
    [_u((2, 5, 3)), _u((2, 131, 3)), _u((2, 131, 2))],
)
# four slices (one task per slice at 2 threads), three key blocks, three query blocks
row(
    "sdpa_per_slice",
    lambda q, k, v: NF.scaled_dot_product_attention(q, k, v),
    [_u((4, 130, 2)), _u((4, 129, 2)), _u((4, 129, 1))],
)
# one key block, two query blocks: dQ comes from the key block's pass
row(
    "sdpa_one_key_block",
    lambda q, k, v: NF.scaled_dot_product_attention(q, k, v),
    [_u((1, 100, 3)), _u((1, 50, 3)), _u((1, 50, 2))],
)
row(
    "sdpa_causal_one_block",
    lambda q, k, v: NF.scaled_dot_product_attention(q, k, v, is_causal=True),
    [_u((2, 1, 50, 3)), _u((2, 1, 50, 3)), _u((2, 1, 50, 2))],
)
row(
    "sdpa_causal",
    lambda q, k, v: NF.scaled_dot_product_attention(q, k, v, is_causal=True),
    [_u((1, 1, 131, 2)), _u((1, 1, 131, 2)), _u((1, 1, 131, 2))],
    atol=5e-5,
)
row(
    "sdpa_float_mask",
    lambda q, k, v: NF.scaled_dot_product_attention(q, k, v, float_mask(5, 131)),
    [_u((1, 5, 3)), _u((1, 131, 3)), _u((1, 131, 2))],
)
row(
    "sdpa_bool_mask_scale",
    lambda q, k, v: NF.scaled_dot_product_attention(q, k, v, float_mask(5, 131) > -0.5, scale=0.3),
    [_u((2, 5, 3)), _u((2, 131, 3)), _u((2, 131, 2))],
)
# the kernel on (N, T, H, D) head slices, as multi-head attention passes its projections
row(
    "attention_heads",
    lambda q, k, v: NF.attention_kernel(q, k, v, None, 0.5, False),
    [_u((2, 70, 3, 4)), _u((2, 131, 3, 4)), _u((2, 131, 3, 5))],
)
row(
    "attention_heads_causal",
    lambda q, k, v: NF.attention_kernel(q, k, v, None, 0.7, True),
    [_u((1, 131, 2, 3)), _u((1, 131, 2, 3)), _u((1, 131, 2, 2))],
    atol=5e-5,
)
row(
    "attention_heads_mask",
    lambda q, k, v: NF.attention_kernel(
        q, k, v, float_mask(q.shape[0] * q.shape[2], q.shape[1], k.shape[1]), 0.6, False
    ),
    [_u((2, 5, 2, 3)), _u((2, 131, 2, 3)), _u((2, 131, 2, 2))],
)
# self-attention on a packed (N, T, 3 E) projection, 2 heads of 3 (4 slices: per-slice backward)
row("attention_qkv", lambda qkv: NF.attention_qkv(qkv, 2, None, 0.5, False), [_u((2, 70, 18))])
row(
    "attention_qkv_causal",
    lambda qkv: NF.attention_qkv(qkv, 1, None, 0.4, True),
    [_u((1, 131, 9))],
    atol=5e-5,
)
row(
    "attention_qkv_mask",
    lambda qkv: NF.attention_qkv(qkv, 2, float_mask(qkv.shape[0] * 2, 131, 131), 0.6, False),
    [_u((1, 131, 12))],
)


# embedding: rows of the table at fixed indices, repeats accumulating; the padding row
def indices(rows):
    return labels(2 * rows, rows).reshape(2, rows)


# 512 lookups and 256 columns: the forward splits the lookups, the backward the columns
row(
    "embedding",
    lambda w: NF.embedding(indices(w.shape[0]), w),
    [_u((6, 4))],
    threaded=[_u((256, 256))],
)
row(
    "embedding_padding",
    lambda w: NF.embedding(indices(w.shape[0]), w, padding_idx=3),
    [_u((6, 4))],
    threaded=[_u((256, 256))],
    skips={"gradcheck": "the padding row gets no gradient by definition (as PyTorch's)"},
)


# dropout: the mask comes from the seeded generator, reset inside fn so that every
# evaluation of the finite differences sees the same mask
def _dropout(fn, p):
    def run(x):
        pydl.manual_seed(5)
        return fn(x, p)

    return run


row("dropout", _dropout(NF.dropout, 0.3), [_u((5, 40))])
row("dropout2d", _dropout(NF.dropout2d, 0.5), [_u((3, 4, 5, 6))])

# losses
row("cross_entropy", lambda x: NF.cross_entropy(x, labels(*x.shape)), [_u((7, 5), -5, 5)])
row(
    "cross_entropy_sum",
    lambda x: NF.cross_entropy(x, labels(*x.shape), reduction="sum"),
    [_u((7, 5), -5, 5)],
)
row(
    "cross_entropy_none",
    lambda x: NF.cross_entropy(x, labels(*x.shape), reduction="none"),
    [_u((7, 5), -5, 5)],
)
row(
    "cross_entropy_ignore",
    lambda x: NF.cross_entropy(x, np.where(labels(*x.shape) == 1, -100, labels(*x.shape))),
    [_u((7, 5), -5, 5)],
)
row("cross_entropy_probs", lambda x: NF.cross_entropy(x, probs(*x.shape)), [_u((7, 5), -5, 5)])
row(
    "cross_entropy_4d",
    lambda x: NF.cross_entropy(x, labels(x.shape[0] * 3, 4).reshape(-1, 3)),
    [_u((2, 4, 3), -5, 5)],
)
row("nll_loss", lambda x: NF.nll_loss(NF.log_softmax(x, 1), labels(*x.shape)), [_u((7, 5))])
row("mse_loss", NF.mse_loss, [_u((4, 6)), _u((4, 6))])
row("bce", lambda p, y: NF.binary_cross_entropy(p, y), [_u((9,), 0.05, 0.95), _u((9,), 0, 1)])
row("bce_with_logits", NF.binary_cross_entropy_with_logits, [_u((3, 5), -6, 6), _u((3, 5), 0, 1)])
row(
    "bce_with_logits_posw",
    lambda x, y: NF.binary_cross_entropy_with_logits(x, y, pos_weight=2.0),
    [_u((3, 5), -6, 6), _u((3, 5), 0, 1)],
)
row(
    "kl_div",
    lambda x: NF.kl_div(x, probs(*x.shape), reduction="batchmean"),
    [_u((7, 5), -3, -0.1)],
)
row("gaussian_kl", NF.gaussian_kl_divergence, [_u((4, 3)), _u((4, 3), -1, 1)])

# a composite graph: a tensor used twice, and the spec's MLP block
row("reuse", lambda x: pydl.mul(x, x) + NF.tanh(x) * x, [_u((3, 4))])
row("residual", lambda x, w: x + NF.linear(NF.tanh(x), w), [_u((3, 4)), _u((4, 4))])
row(
    "pre_ln_residual",
    lambda x, w: x + NF.linear(NF.layer_norm(x, (4,)), w, activation="gelu"),
    [_u((3, 4)), _u((4, 4))],
)
row(
    "mlp_block",
    lambda x, w, b: NF.tanh(NF.linear(x, w, b)).sum(1),
    [_u((4, 6)), _u((5, 6)), _u((5,))],
)

# The rows of the newer op families live beside this file, one module per family; they
# append to ROWS when imported (last, so that they can use this module's helpers).
import op_rows_indexing  # noqa: E402, F401
import op_rows_linalg  # noqa: E402, F401
import op_rows_loss  # noqa: E402, F401
import op_rows_pointwise  # noqa: E402, F401
import op_rows_reduce  # noqa: E402, F401
import op_rows_scan  # noqa: E402, F401
import op_rows_sort  # noqa: E402, F401
import op_rows_nn  # noqa: E402, F401
