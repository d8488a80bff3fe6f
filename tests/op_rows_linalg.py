"""Op-table rows of the linalg family (see op_table.py). The decompositions' inputs are made
well conditioned inside each row's fn from the uniform samples: A A^T + n I for cholesky,
A + n I for solve, inv, slogdet and the triangular solves, A + A^T for eigh; the
multi-output ones return their outputs flattened into one tensor."""

import numpy as np
from op_table import _u, row

import pydl
import pydl.linalg as LA


def _eye(x, scale=None):
    """scale * I (n x n, n x's last dim; scale n by default) in x's dtype."""
    n = x.shape[-1]
    return pydl.tensor(np.eye(n) * (n if scale is None else scale), dtype=x.dtype)


def _spd(x):
    return x.matmul(x.mT) + _eye(x)


def _flat(*ts):
    return pydl.cat([t.reshape(-1) for t in ts], 0)


# the products: compositions of matmul's GEMM (no kernels of their own)
COMPOSED = {"threads": "a composition of matmul and layout ops, whose rows check threads"}
for name, fn, inputs in [
    ("mm", pydl.mm, [_u((3, 4)), _u((4, 5))]),
    ("bmm", pydl.bmm, [_u((2, 3, 4)), _u((2, 4, 5))]),
    (
        "addmm",
        lambda i, a, b: pydl.addmm(i, a, b, beta=0.5, alpha=2.0),
        [_u((5,)), _u((3, 4)), _u((4, 5))],
    ),
    ("baddbmm", pydl.baddbmm, [_u((2, 3, 5)), _u((2, 3, 4)), _u((2, 4, 5))]),
    ("addbmm", pydl.addbmm, [_u((3, 5)), _u((2, 3, 4)), _u((2, 4, 5))]),
    ("outer", pydl.outer, [_u((4,)), _u((3,))]),
    ("kron", pydl.kron, [_u((2, 3)), _u((3, 2))]),
    (
        "tensordot",
        lambda a, b: pydl.tensordot(a, b, ([0, 2], [1, 0])),
        [_u((3, 4, 5)), _u((5, 3, 2))],
    ),
    (
        "einsum_batched",
        lambda a, b: pydl.einsum("bij,bjk->bik", a, b),
        [_u((2, 3, 4)), _u((2, 4, 5))],
    ),
    ("einsum_diag_trace", lambda a: pydl.einsum("bii->b", a), [_u((3, 4, 4))]),
    (
        "einsum_three",
        lambda a, b, c: pydl.einsum("...ij,jk,...k->...i", a, b, c),
        [_u((2, 3, 4)), _u((4, 5)), _u((2, 5))],
    ),
]:
    row(name, fn, inputs, skips=COMPOSED)

# the decompositions
row("cholesky", lambda x: LA.cholesky(_spd(x)), [_u((2, 4, 4))])
row("cholesky_upper", lambda x: LA.cholesky(_spd(x), upper=True), [_u((2, 3, 3))])
row("solve", lambda a, b: LA.solve(a + _eye(a), b), [_u((2, 3, 3)), _u((2, 3, 2))])
row("solve_vectors", lambda a, b: LA.solve(a + _eye(a), b), [_u((2, 4, 4)), _u((2, 4))])
row("inv", lambda a: LA.inv(a + _eye(a)), [_u((2, 4, 4))])
row("slogdet", lambda a: LA.slogdet(a + _eye(a)).logabsdet, [_u((3, 3, 3))])
row("slogdet_negative", lambda a: LA.slogdet(a - _eye(a)).logabsdet, [_u((2, 4, 4))])
row("det", lambda a: LA.det(a + _eye(a)), [_u((2, 3, 3))])
for upper in (False, True):
    for unit in (False, True):
        row(
            f"solve_triangular_{'upper' if upper else 'lower'}{'_unit' if unit else ''}",
            lambda a, b, upper=upper, unit=unit: LA.solve_triangular(
                a + _eye(a), b, upper=upper, unitriangular=unit
            ),
            [_u((2, 4, 4)), _u((2, 4, 3))],
        )
row("qr_tall", lambda a: _flat(*LA.qr(a)), [_u((2, 5, 3))])
row("qr_wide", lambda a: _flat(*LA.qr(a)), [_u((2, 3, 5))])
row("svd_tall", lambda a: _flat(*LA.svd(a, full_matrices=False)), [_u((2, 5, 3))])
row("svd_wide", lambda a: _flat(*LA.svd(a, full_matrices=False)), [_u((2, 3, 4))])
row(
    "svdvals",
    LA.svdvals,
    [_u((2, 4, 3))],
    skips={"threads_backward": "S alone: U diag(gS) Vh, a matmul below the threading grain"},
)
row("eigh", lambda a: _flat(*LA.eigh(a + a.mT)), [_u((2, 4, 4))])
row("eigh_upper", lambda a: _flat(*LA.eigh(a + a.mT, UPLO="U")), [_u((2, 3, 3))])
row(
    "cholesky_solve",
    lambda a, b: pydl.cholesky_solve(b, LA.cholesky(_spd(a))),
    [_u((2, 3, 3)), _u((2, 3, 2))],
)
row("matrix_power", lambda a: LA.matrix_power(a, 3), [_u((2, 3, 3))], skips=COMPOSED)
row("matrix_power_neg", lambda a: LA.matrix_power(a + _eye(a), -2), [_u((2, 3, 3))])

# composed ops of other families' kernels (tests/test_composed_ops.py compares with PyTorch)
row("trace", pydl.trace, [_u((4, 4))], skips=COMPOSED)
row("cross", lambda a, b: pydl.cross(a, b, dim=1), [_u((4, 3)), _u((4, 3))], skips=COMPOSED)
row("dist", lambda a, b: pydl.dist(a, b, 3), [_u((4, 5)), _u((4, 5))], skips=COMPOSED)
THREE = [_u((3, 4)), _u((3, 4)), _u((4,), 0.5, 2)]
row("addcmul", lambda a, b, c: pydl.addcmul(a, b, c, value=0.5), THREE, skips=COMPOSED)
row("addcdiv", lambda a, b, c: pydl.addcdiv(a, b, c, value=2), THREE, skips=COMPOSED)
row("diff", lambda a: pydl.diff(a, n=2, dim=1), [_u((3, 6))], skips=COMPOSED)
