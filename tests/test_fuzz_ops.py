"""Property-based fuzzing of every op-table row (issue 18): random shapes (zero-size and 0-d
included), the row's dtypes, and values that mix normal numbers with NaN, +-inf, subnormals,
huge magnitudes and -0.0, run forward and backward on the core and on the reference.

Note [Fuzzing the op table]
The properties, per drawn example:
- no crash (a crash kills the pytest process, which fails CI; faulthandler names the test);
- both backends raise (any Exception, in the same direction: forward or backward) or both
  return, with the same output shape;
- where the reference's output (or gradient) element is finite and inside the core dtype's
  range, the core's is close to it: np.isclose with 10x the row's tolerances, the absolute
  one scaled by the largest finite magnitude in the reference's result (and, for the rows
  that mix elements, the inputs': cancellation of huge terms costs absolute digits);
- for the elementwise rows, where the reference gives NaN or +-inf the core gives the same.
Where the arithmetic itself decides, not the kernel, less is compared (each in check_row):
- rows that mix elements (the "shaped" ones) with an input of 1e38: sums of products of
  1e38 keep no digit below eps * 1e76, and a kink downstream (relu', gelu', max) turns that
  into a different gradient (PyTorch gets a third one): float32 compares shapes only (it
  overflows besides), float64 the forward value with the inputs' magnitude in the atol;
- float32 with subnormal inputs: 1 / 1e-40 overflows float32, so a backward that forms a
  reciprocal or a power gives inf where the float64 reference's g / x is just in range, and
  products that underflow to 0 flip a kink: the forward is compared, not the gradients
  (float64 runs the same kernels on its own subnormals, 1e-310, strictly);
- the decompositions (LINALG) on non-finite, huge, subnormal or zero entries: raising or
  returning NaN, and the gradients of degenerate factorizations, are the implementation's;
- GRAD_SPECIALS_DIFFER: gradients that follow PyTorch's formula on the core and the exact
  one on the reference, which differ at NaN / inf inputs.

Shapes: the rows whose fn is an op declared elementwise (OpDecl.elementwise) get free shapes
(0-d, zero-size and up to 4 dims); the broadcasting binary ops (add, mul, atan2, ...) get
free broadcast-compatible shapes; the other rows keep theirs except for the leading (batch)
dim, which is drawn among the row's, 0, 1 and twice the row's for every input that shares
the first input's leading dim (the rule of the threaded and zero-size samples: labels and
masks are functions of the shapes).

Values: the row's domain (or a wider one, to leave it), with a drawn fraction of the
elements replaced by a drawn subset of the special values. The inputs are rounded to the
core dtype first, so both backends see the same numbers; the upstream gradient is random.

The default run draws FAST examples per row (CI); `-m slow` runs SLOW per row.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from op_table import ROWS

import pydl
import pydl.nn.functional as NF
from pydl._ops.registry import OPS

FAST = 6
SLOW = 60

# The ops elementwise in every input: free shapes.
UNARY = {d.fn for d in OPS.values() if d.elementwise} | {NF.gelu}
BROADCAST = {
    pydl.add, pydl.sub, pydl.mul, pydl.div, pydl.pow, pydl.remainder, pydl.maximum,
    pydl.minimum, pydl.fmax, pydl.fmin, pydl.atan2, pydl.copysign, pydl.logaddexp,
    pydl.logaddexp2, pydl.hypot, pydl.xlogy, pydl.fmod, pydl.floor_divide, pydl.lerp,
}  # fmt: skip

# Rows left out, {id: reason}.
EXCLUDED: dict[str, str] = {}

# The decompositions and solves (LAPACK-style iterations): on non-finite, huge, subnormal or
# zero entries (singular, repeated singular values) whether they raise ("did not converge",
# "not positive-definite") or return NaN, and which NaN/inf pattern or gradient of a
# degenerate factorization they return, is the implementation's (NumPy's LAPACK, the core's
# own, PyTorch's differ from one another). With such entries only crashes are checked.
LINALG = ("cholesky", "solve", "inv", "slogdet", "det", "qr_", "svd", "eigh", "matrix_power_neg")

# Open core bugs the fuzzer found, not fixed yet: {row id: reason}; their values are not
# compared when an input holds NaN (crashes, raising and shapes still are).
OPEN_NAN_BUGS: dict[str, str] = {}

# Gradients that differ by design on non-finite inputs: {row id prefix: reason}.
GRAD_SPECIALS_DIFFER = {
    "scatter_reduce_prod": "the core's product backward is PyTorch's result / input, NaN "
    "where an input is NaN or infinite; the reference's exclusive product is finite there",
    "scatter_multiply": "as scatter_reduce_prod: PyTorch's result / input",
}


def _specials(dtype) -> dict[str, float]:
    tiny = 1e-40 if dtype == np.float32 else 1e-310  # subnormal in the core dtype
    out = {
        "nan": np.nan,
        "inf": np.inf,
        "-inf": -np.inf,
        "subnormal": tiny,
        "-subnormal": -tiny,
        "huge": 1e38,
        "-huge": -1e38,
        "-0": -0.0,
        "0": 0.0,
    }
    if dtype == np.float64:
        out["huger"] = 1e300
    return out


SPECIAL_NAMES = list(_specials(np.float64))


def _kind(row) -> str:
    if row.fn in UNARY and len(row.inputs) == 1:
        return "unary"
    if row.fn in BROADCAST:
        return "broadcast"
    return "shaped"


def _draw_shapes(data, row) -> list[tuple]:
    kind = _kind(row)
    if kind == "unary":
        ndim = data.draw(st.integers(0, 4), label="ndim")
        shape = tuple(data.draw(st.integers(0, 5), label=f"dim{i}") for i in range(ndim))
        return [shape]
    if kind == "broadcast":
        ndim = data.draw(st.integers(0, 4), label="ndim")
        base = [data.draw(st.integers(0, 5), label=f"dim{i}") for i in range(ndim)]
        shapes = []
        for k in range(len(row.inputs)):
            drop = data.draw(st.integers(0, ndim), label=f"drop{k}")
            ones = data.draw(st.lists(st.booleans(), min_size=ndim, max_size=ndim))
            shapes.append(tuple(1 if o else d for d, o in zip(base, ones))[drop:])
        return shapes
    first = row.inputs[0][0]
    if not first:
        return [s for s, _, _ in row.inputs]
    n = data.draw(st.sampled_from([first[0], 0, 1, 2 * first[0]]), label="leading")
    return [(n,) + tuple(s[1:]) if s and s[0] == first[0] else s for s, _, _ in row.inputs]


def _draw_arrays(data, row, dtype) -> list[np.ndarray]:
    shapes = _draw_shapes(data, row)
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rate = data.draw(st.sampled_from([0.0, 0.1, 0.3, 1.0]), label="special rate")
    kinds = data.draw(
        st.lists(st.sampled_from(SPECIAL_NAMES), min_size=1, max_size=4, unique=True),
        label="specials",
    )
    wide = data.draw(st.booleans(), label="wide")
    return make_arrays(row, dtype, shapes, seed, rate, kinds, wide)


def make_arrays(row, dtype, shapes, seed, rate, kinds, wide) -> list[np.ndarray]:
    """The inputs, rounded to dtype (as float64): uniform in the row's domain (or, wide, in
    a symmetric one twice as wide), a fraction `rate` of them replaced by the special values
    named in `kinds`."""
    specials = _specials(dtype)
    pool = np.array([specials[k] for k in kinds if k in specials] or [np.nan])
    rng = np.random.default_rng(seed)
    arrays = []
    for shape, (_, lo, hi) in zip(shapes, row.inputs):
        if wide:
            m = 2.0 * max(abs(lo), abs(hi), 1.0)
            lo, hi = -m, m
        a = rng.uniform(lo, hi, size=shape)
        hit = rng.uniform(size=shape) < rate
        a = np.where(hit, rng.choice(pool, size=shape), a)
        arrays.append(np.asarray(a.astype(dtype), np.float64))
    return arrays


def _run(row, arrays, backend, dtype, seed):
    """("ok", out, grads) or ("raise", where, exception)."""
    pydl.set_backend(backend)
    try:
        ts = [
            pydl.tensor(a.astype(dtype), requires_grad=i not in row.nondiff)
            for i, a in enumerate(arrays)
        ]
        out = row.fn(*ts)
        result = out.numpy().copy()
    except Exception as e:
        return ("raise", "forward", e)
    grads = [None] * len(ts)
    if out.requires_grad:
        w = np.random.default_rng(seed).uniform(-2, 2, size=out.shape).astype(dtype)
        try:
            out.backward(w)
            grads = [t.grad.numpy().copy() if t.grad is not None else None for t in ts]
        except Exception as e:
            return ("raise", "backward", e)
    return ("ok", result, grads)


def _compare(what, c, r, dtype, row, strict, in_scale):
    assert c.shape == r.shape, f"{what}: shape {c.shape} vs reference {r.shape}"
    if c.size == 0:
        return
    c = c.astype(np.float64)
    big = np.finfo(dtype).max
    fin = np.isfinite(r) & (np.abs(r) <= big)
    scale = max([1.0, in_scale] + ([float(np.abs(r[fin]).max())] if fin.any() else []))
    close = np.isclose(c, r, rtol=10 * row.rtol, atol=10 * row.atol * scale)
    bad = fin & ~close
    if strict:
        nan = np.isnan(r) & ~np.isnan(c)
        inf = np.isinf(r) & (c != r)
        bad |= nan | inf
    if bad.any():
        i = tuple(int(k) for k in np.argwhere(bad)[0]) if r.ndim else ()
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {r.size} elements differ, e.g. at {i}: "
            f"core {c[i]!r} vs reference {r[i]!r}"
        )


def _specials_in(arrays) -> bool:
    """Any non-finite, huge (> 1e30), subnormal-sized (< 1e-30) or zero element."""
    return any(
        not np.all(np.isfinite(a)) or np.any((np.abs(a) > 1e30) | (np.abs(a) < 1e-30))
        for a in arrays
    )


def check_row(row, arrays, dtype, seed=5):
    with np.errstate(all="ignore"):
        ref = _run(row, arrays, "reference", np.float64, seed)
        core = _run(row, arrays, "core", dtype, seed)
    if row.id.startswith(LINALG) and _specials_in(arrays):
        return
    if ref[0] == "raise" or core[0] == "raise":
        assert ref[0] == core[0] and ref[1] == core[1], (
            f"reference {ref[0]} {ref[1]} ({ref[2] if ref[0] == 'raise' else ''!r}) vs "
            f"core {core[0]} {core[1]} ({core[2] if core[0] == 'raise' else ''!r})"
        )
        return
    if row.id in OPEN_NAN_BUGS and any(np.isnan(a).any() for a in arrays):
        return
    _, out_c, grads_c = core
    _, out_r, grads_r = ref
    strict = _kind(row) != "shaped"
    huge = any(np.any(np.abs(a[np.isfinite(a)]) > 1e30) for a in arrays)
    in_scale = 0.0
    if not strict and huge:
        # Note [Fuzzing the op table]: sums of products of 1e38 lose every digit below
        # eps * 1e76 in float64 (and overflow in float32), and a kink downstream (relu,
        # gelu', max) turns that into a different gradient: float32 is compared for shapes
        # only, float64 for the forward value with the magnitude in the tolerance.
        if dtype == np.float32:
            assert out_c.shape == out_r.shape
            return
        in_scale = max(float(np.abs(a[np.isfinite(a)]).max(initial=0.0)) for a in arrays)
    _compare("output", out_c, out_r, dtype, row, strict, in_scale)
    if not strict and huge:
        return
    no_grads = any(row.id.startswith(k) for k in GRAD_SPECIALS_DIFFER) and not all(
        np.all(np.isfinite(a)) for a in arrays
    )
    # float32 and subnormal inputs: 1 / 1e-40 overflows float32, so a backward that forms a
    # reciprocal or a power (g * (1 / x), b * x^(b - 1)) gives inf where the reference's g / x
    # is just in range, and products that underflow to 0 flip a kink (relu') downstream: the
    # forward is compared, not the gradients (float64 checks the subnormal path, 1e-310).
    no_grads |= dtype == np.float32 and any(np.any((a != 0) & (np.abs(a) < 1e-30)) for a in arrays)
    for i, (gc, gr) in enumerate(zip(grads_c, grads_r)):
        if i in row.nondiff or gr is None or no_grads:
            continue
        assert gc is not None, f"grad {i}: None on the core"
        _compare(f"grad {i}", gc, gr, dtype, row, False, in_scale)


def _fuzz(row, data):
    dtype = data.draw(st.sampled_from(list(row.dtypes)), label="dtype")
    check_row(row, _draw_arrays(data, row, dtype), dtype)


CASES = [
    pytest.param(row, id=row.id, marks=pytest.mark.skip(reason=EXCLUDED[row.id]))
    if row.id in EXCLUDED
    else pytest.param(row, id=row.id)
    for row in ROWS
]


def _settings(n):
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        # PYDL_FUZZ_NO_SHRINK=1: report failing examples as drawn (a quicker survey)
        phases=[p for p in Phase if p != Phase.shrink or not os.environ.get("PYDL_FUZZ_NO_SHRINK")],
    )


@pytest.mark.parametrize("row", CASES)
@_settings(FAST)
@given(data=st.data())
def test_fuzz_row(row, data):
    _fuzz(row, data)


@pytest.mark.slow
@pytest.mark.parametrize("row", CASES)
@_settings(SLOW)
@given(data=st.data())
def test_fuzz_row_many(row, data):
    _fuzz(row, data)


# ------------------------------------------------------------------------------------------
# Regressions the fuzzer found: deterministic examples.

_BY_ID = {row.id: row for row in ROWS}


def _lead(row_id, n):
    """The row's input shapes with the leading (batch) dim n (the shaped rows' rule)."""
    row = _BY_ID[row_id]
    first = row.inputs[0][0]
    return [(n,) + tuple(s[1:]) if s and s[0] == first[0] else s for s, _, _ in row.inputs]


F32, F64 = np.float32, np.float64
# (row id, dtype, shapes, seed, special rate, specials, wide): the examples the fuzzer found,
# each failing before its fix.
FOUND = [
    # the reference's max-pool backward indexed indices[0, 0] of an empty batch
    ("max_pool1d", F32, _lead("max_pool1d", 0), 972, 0.1, ["nan"], False),
    ("max_pool3d", F32, _lead("max_pool3d", 0), 11054, 0.3, ["nan", "-0"], False),
    # the reference's group/instance norm and packed attention reshaped N = 0 with a -1
    ("instance_norm", F32, _lead("instance_norm", 0), 2182, 0.0, ["nan"], True),
    ("attention_qkv", F32, _lead("attention_qkv", 0), 772573, 1.0, ["inf"], True),
    ("attention_qkv_mask", F32, _lead("attention_qkv_mask", 0), 375, 0.3, ["nan"], True),
    # the reference's attention backward zeroed NaN probabilities (nan_to_num): a finite
    # gradient for NaN inputs where the core and PyTorch give NaN
    ("sdpa_one_key_block", F32, _lead("sdpa_one_key_block", 1), 512, 0.1,
     ["-inf", "-subnormal", "nan", "-0"], True),
    ("sdpa_float_mask", F32, _lead("sdpa_float_mask", 2), 404, 1.0, ["-inf"], False),
    ("attention_qkv_causal", F32, _lead("attention_qkv_causal", 2), 799, 0.3, ["nan"], False),
    # the reference's logit(eps) backward gave 0 at NaN, PyTorch's and the core's NaN
    ("pw_logit_eps", F64, _lead("pw_logit_eps", 12), 100000, 0.3, ["nan", "-0"], False),
    # the core's bilinear taps read a neighbour with weight 0 along an axis that keeps its
    # size (trilinear's second pass): 0 * inf = NaN where the reference copies
    ("upsample_trilinear", F32, _lead("upsample_trilinear", 2), 1798, 0.1,
     ["0", "subnormal", "-inf"], True),
    ("upsample_trilinear_align", F32, _lead("upsample_trilinear_align", 1), 1498752, 1.0,
     ["nan", "-subnormal", "-0"], False),
    # the core's logcumsumexp backward: NaN (0 * (inf - inf)) for a finite x where the
    # running out is +inf already; the reference and PyTorch give 0
    ("logcumsumexp_last", F64, _lead("logcumsumexp_last", 4), 73, 1.0,
     ["-inf", "-subnormal", "inf"], False),
    ("logcumsumexp_dim1", F32, _lead("logcumsumexp_dim1", 6), 6322, 0.3,
     ["-0", "-inf", "inf", "nan"], False),
    # the core's relu RNN step turned a NaN pre-activation into 0 (pre > 0 ? pre : 0);
    # PyTorch's relu and the reference keep the NaN
    ("rnn_relu_reverse", F32, _lead("rnn_relu_reverse", 8), 113904, 0.1, ["nan"], False),
    # the reference accepted a wrong initial hidden state for an empty sequence (T = 0)
    ("rnn_single_step", F32, _lead("rnn_single_step", 0), 316, 0.3, ["-0", "-inf"], True),
]  # fmt: skip


@pytest.mark.parametrize("found", FOUND, ids=[f[0] for f in FOUND])
def test_found_by_the_fuzzer(found):
    row_id, dtype, shapes, seed, rate, kinds, wide = found
    row = _BY_ID[row_id]
    check_row(row, make_arrays(row, dtype, shapes, seed, rate, kinds, wide), dtype)


def test_logit_eps_gradient_at_nan_is_nan():
    """PyTorch: (x < eps or x > 1 - eps) ? 0 : g / (x (1 - x)): NaN is neither."""
    for backend in ("core", "reference"):
        pydl.set_backend(backend)
        x = pydl.tensor([float("nan"), 0.1, 0.5], requires_grad=True)
        pydl.logit(x, eps=0.2).sum().backward()
        g = x.grad.numpy()
        assert np.isnan(g[0]) and g[1] == 0.0 and g[2] == pytest.approx(4.0), backend


def test_trilinear_does_not_spread_an_infinite_value_to_copied_axes():
    """A -inf voxel makes NaN / -inf only where it has a nonzero weight."""
    x = np.zeros((1, 1, 2, 3, 4), np.float32)
    x[0, 0, 0, 1, 2] = -np.inf
    outs = []
    for backend in ("core", "reference"):
        pydl.set_backend(backend)
        y = NF.interpolate(pydl.tensor(x), scale_factor=(1.5, 1, 1), mode="trilinear")
        outs.append(y.numpy())
    np.testing.assert_array_equal(outs[0], outs[1])
    assert np.isfinite(outs[0][0, 0, :, 0]).all()  # row 0 of every plane: no -inf neighbour


def test_reference_svd_of_infinite_input_raises_instead_of_hanging():
    """NumPy's LAPACK (OpenBLAS dbdsqr) loops forever on this matrix: the reference raises
    first, as PyTorch does. In a child process, so that a regression fails, not hangs."""
    import subprocess
    import sys

    code = (
        "import numpy as np, pydl, pydl.linalg as LA\n"
        "pydl.set_backend('reference')\n"
        "inf = np.inf\n"
        "a = np.array([[0.0946, -inf, -2.85], [inf, inf, -0.613], [1e38, -0.726, 0.397],\n"
        "              [-3.78, 2.03, 0.305], [1e38, -inf, -1.57]])\n"
        "try:\n"
        "    LA.svdvals(pydl.tensor(a))\n"
        "except np.linalg.LinAlgError as e:\n"
        "    print('raised', e)\n"
    )
    parent = os.path.dirname(os.path.dirname(pydl.__file__))
    env = dict(os.environ, PYTHONPATH=parent)
    # cwd: `python -c` puts it first on sys.path; the repository root would shadow an
    # installed pydl with its source tree
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env=env, cwd=parent)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "raised svd" in run.stdout and "non-finite" in run.stdout


def test_norm_p0_counts_nan_as_nonzero():
    """Found by the slow fuzz run: the core's p=0 norm gave NaN; PyTorch's vector_norm and
    the reference count a NaN as nonzero."""
    x = np.array([[np.nan, 1.0, 0.0], [0.0, 0.0, 2.0]], np.float32)
    for backend in ("core", "reference"):
        pydl.set_backend(backend)
        assert pydl.norm(pydl.tensor(x), 0, dim=1).numpy().tolist() == [2.0, 1.0]
