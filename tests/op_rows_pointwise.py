"""Op-table rows of the pointwise family (see op_table.py): the unary math of the unary list,
the binary forms, predicates, nan_to_num, the bitwise ops; and the activations added beside
them (pydl/_ops/activation.py)."""

import numpy as np
from op_table import _u, mask, row

import pydl
import pydl.nn.functional as NF

# sizes around the 8- and 16-float SIMD widths: vector body, tail, both
_SWEEP = (1, 7, 8, 9, 16, 17, 33)

# unary math: (name, fn, low, high), domains away from poles, branch cuts and the jumps of
# the rounding ops' finite differences (those are flat everywhere else)
for name, fn, lo, hi in [
    ("tan", pydl.tan, -1.2, 1.2),
    ("asin", pydl.asin, -0.9, 0.9),
    ("acos", pydl.acos, -0.9, 0.9),
    ("atan", pydl.atan, -3, 3),
    ("sinh", pydl.sinh, -3, 3),
    ("cosh", pydl.cosh, -3, 3),
    ("asinh", pydl.asinh, -3, 3),
    ("acosh", pydl.acosh, 1.2, 4),
    ("atanh", pydl.atanh, -0.9, 0.9),
    ("floor", pydl.floor, -3, 3),
    ("ceil", pydl.ceil, -3, 3),
    ("round", pydl.round, -3, 3),
    ("round_decimals", lambda x: pydl.round(x, decimals=1), -3, 3),
    ("round_decimals_neg", lambda x: pydl.round(x * 100.0, decimals=-1), -3, 3),
    ("trunc", pydl.trunc, -3, 3),
    ("frac", pydl.frac, -3, 3),
    ("sign", pydl.sign, -3, 3),
    ("erf", pydl.erf, -3, 3),
    ("erfc", pydl.erfc, -3, 3),
    ("erfinv", pydl.erfinv, -0.95, 0.95),
    ("exp2", pydl.exp2, -3, 3),
    ("expm1", pydl.expm1, -3, 3),
    ("log2", pydl.log2, 0.2, 4),
    ("log10", pydl.log10, 0.2, 4),
    ("log1p", pydl.log1p, -0.8, 3),
    ("rsqrt", pydl.rsqrt, 0.2, 4),
    ("reciprocal", pydl.reciprocal, 0.3, 3),
    ("square", pydl.square, -3, 3),
    ("sinc", pydl.sinc, -3, 3),
    ("deg2rad", pydl.deg2rad, -180, 180),
    ("rad2deg", pydl.rad2deg, -3, 3),
    ("logit", pydl.logit, 0.05, 0.95),
    ("logit_eps", lambda x: pydl.logit(x, eps=0.2), 0.05, 0.95),
    ("hardswish", NF.hardswish, -5, 5),
    ("relu6", NF.relu6, -3, 8),
    ("celu", lambda x: NF.celu(x, 0.7), -3, 3),
    ("softshrink", NF.softshrink, -3, 3),
    ("hardshrink", lambda x: NF.hardshrink(x, 0.3), -3, 3),
    ("threshold", lambda x: NF.threshold(x, 0.2, -1.5), -3, 3),
]:
    # sinc's derivative cancels (cos(pi x) - sinc(x)) / x: float32 loses digits near its zeros
    atol = 2e-4 if name == "sinc" else 2e-5
    sweep = [[_u((n,), lo, hi)] for n in _SWEEP]
    row(f"pw_{name}", fn, [_u((6, 13), lo, hi)], sweep=sweep, atol=atol)

row("pw_rrelu_eval", lambda x: NF.rrelu(x, 0.1, 0.3), [_u((5, 7))])
row("pw_softmin", lambda x: NF.softmin(x, 1), [_u((4, 7), -3, 3)])
row("pw_glu", lambda x: NF.glu(x, 1), [_u((3, 8))])

# binary: broadcasting, sizes off the SIMD width
for name, fn, lo_a, hi_a, lo_b, hi_b in [
    ("fmax", pydl.fmax, -2, 2, -2, 2),
    ("fmin", pydl.fmin, -2, 2, -2, 2),
    ("atan2", pydl.atan2, -2, 2, 0.3, 2),
    ("copysign", pydl.copysign, 0.2, 2, -2, 2),
    ("logaddexp", pydl.logaddexp, -3, 3, -3, 3),
    ("logaddexp2", pydl.logaddexp2, -3, 3, -3, 3),
    ("hypot", pydl.hypot, -2, 2, 0.3, 2),
    ("xlogy", pydl.xlogy, -2, 2, 0.2, 3),
    ("fmod", pydl.fmod, -5, 5, 0.7, 2),
    ("fmod_neg", pydl.fmod, -5, 5, -2, -0.7),
]:
    row(f"pw_{name}", fn, [_u((3, 7), lo_a, hi_a), _u((3, 7), lo_b, hi_b)])
    row(f"pw_{name}_bcast", fn, [_u((4, 1, 5), lo_a, hi_a), _u((3, 1), lo_b, hi_b)])

# floor division has no gradient (zero, without a kernel)
NO_BACKWARD = {"threads_backward": "zero gradient: no backward kernel"}
row("pw_floor_divide", pydl.floor_divide, [_u((3, 7), -5, 5), _u((7,), 0.7, 2)], skips=NO_BACKWARD)
row(
    "pw_div_floor",
    lambda a, b: pydl.div(a, b, rounding_mode="floor"),
    [_u((3, 7), -5, 5), _u((3, 7), -2, -0.7)],
    skips=NO_BACKWARD,
)
row(
    "pw_div_trunc",
    lambda a, b: pydl.div(a, b, rounding_mode="trunc"),
    [_u((3, 7), -5, 5), _u((3, 1), 0.7, 2)],
    skips=NO_BACKWARD,
)
row("pw_lerp", lambda a, b: pydl.lerp(a, b, 0.3), [_u((3, 7)), _u((7,))])
row("pw_lerp_tensor_weight", pydl.lerp, [_u((3, 7)), _u((3, 7)), _u((3, 1), 0, 1)])


# nan_to_num passes the gradient where the input is finite
def _specials(x):
    """NaN, +inf and -inf at fixed places (a function of the shape, as op_table's masks)."""
    return pydl.tensor(np.resize([np.nan, np.inf, -np.inf, 0.0, 0.0], x.shape), dtype=x.dtype)


row(
    "pw_nan_to_num",
    lambda x: pydl.nan_to_num(pydl.where(mask(x.shape), _specials(x), x), 0.5, 3.0, -2.0),
    [_u((4, 9), 0.1, 2)],
)

# the bool-valued ops (not differentiable) choosing between differentiable inputs
row(
    "pw_isfinite_where",
    lambda a: pydl.where(pydl.isfinite(pydl.log(a)), a, a * 2.0),
    [_u((5, 7), -1, 2)],
)
row(
    "pw_signbit_where",
    lambda a: pydl.where(pydl.signbit(a - 0.5), a, a * 3.0),
    [_u((5, 7), -1, 2)],
)
# NaN's sign bit is not portable: signbit has its own row above
for name in ("isnan", "isinf", "isposinf", "isneginf"):
    row(
        f"pw_{name}_where",
        lambda a, name=name: pydl.where(getattr(pydl, name)(pydl.log(a) * a), a, a * 3.0),
        [_u((5, 7), -1, 2)],
    )
row(
    "pw_bitwise_where",
    lambda a: pydl.where(~(a.gt(0.5) & a.lt(1.5)) | (a.lt(-1.0) ^ a.gt(-1.5)), a, a * 0.5),
    [_u((6, 7))],
)
row(
    "pw_bitwise_shift_where",
    lambda a: pydl.where(
        pydl.bitwise_right_shift(pydl.bitwise_left_shift(a.gt(0.0).long(), 3), 2).eq(2), a, -a
    ),
    [_u((6, 7))],
)

# clamp with tensor bounds (broadcast; min > max in some places) and its one-sided forms
row("clamp_tensor_bounds", lambda x, a, b: pydl.clamp(x, a, b), [_u((5, 6)), _u((6,)), _u((5, 1))])
row("clamp_min_tensor", lambda x, lo: pydl.clamp_min(x, lo), [_u((4, 7)), _u((4, 1))])
row("clamp_max_method", lambda x, hi: x.clamp_max(hi), [_u((3, 5)), _u((5,))])
