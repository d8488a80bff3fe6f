"""The matrix products and pydl.linalg against PyTorch: values and gradients for batched
shapes in float32 and float64 on both backends, einsum equations, the errors (non-square,
singular and indefinite inputs: LinAlgError, not a crash) and zero-size batches."""

import numpy as np
import pytest

import pydl
import pydl.linalg as LA

SEED = np.random.default_rng


@pytest.fixture(params=["core", "reference"])
def backend(request):
    pydl.set_backend(request.param)
    yield request.param
    pydl.set_backend("core")


TOL = {np.float32: dict(rtol=2e-4, atol=2e-4), np.float64: dict(rtol=1e-9, atol=1e-9)}


def _spd(x):
    """A A^T + n I from a sampled A: symmetric positive-definite, well conditioned."""
    n = x.shape[-2]
    return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)


def _well(x):
    """x + n I: far from singular for x uniform in [-1, 1]."""
    return x + x.shape[-1] * np.eye(x.shape[-1])


def _compare(torch, fn, tfn, arrays, dtype, grad=True, tol=None):
    """fn(*pydl tensors) against tfn(*torch tensors): every output, then the gradients of
    sum(out_i * g_i) with random g_i (outputs of integer dtype skipped)."""
    tol = tol or TOL[dtype]
    arrays = [np.asarray(a, dtype) for a in arrays]
    ps = [pydl.tensor(a, requires_grad=grad) for a in arrays]
    ts = [torch.tensor(a, requires_grad=grad) for a in arrays]
    out, tout = fn(*ps), tfn(*ts)
    out = out if isinstance(out, tuple) else (out,)
    tout = tout if isinstance(tout, tuple) else (tout,)
    assert len(out) == len(tout)
    rng = SEED(5)
    loss, tloss = None, None
    for o, t in zip(out, tout):
        assert o.shape == tuple(t.shape), (o.shape, tuple(t.shape))
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), **tol)
        assert o.dtype == np.dtype(dtype)
        if grad:
            g = rng.standard_normal(o.shape).astype(dtype)
            term, tterm = (o * pydl.tensor(g)).sum(), (t * torch.tensor(g)).sum()
            loss = term if loss is None else loss + term
            tloss = tterm if tloss is None else tloss + tterm
    if grad:
        loss.backward()
        tloss.backward()
        for p, t in zip(ps, ts):  # no gradient: zeros (beta=0's input)
            pg = np.zeros(p.shape) if p.grad is None else p.grad.numpy()
            tg = np.zeros(p.shape) if t.grad is None else t.grad.numpy()
            np.testing.assert_allclose(pg, tg, **tol)


DTYPES = [np.float32, np.float64]


# ---- products ------------------------------------------------------------------------------

PRODUCTS = [  # (name, pydl fn, torch fn name, input shapes)
    ("mm", lambda a, b: pydl.mm(a, b), "mm", [(3, 4), (4, 5)]),
    ("mm_method", lambda a, b: a.mm(b), "mm", [(7, 1), (1, 3)]),
    ("bmm", lambda a, b: pydl.bmm(a, b), "bmm", [(2, 3, 4), (2, 4, 5)]),
    ("mv", lambda a, b: pydl.mv(a, b), "mv", [(3, 4), (4,)]),
    ("dot", lambda a, b: pydl.dot(a, b), "dot", [(5,), (5,)]),
    ("vdot", lambda a, b: a.vdot(b), "vdot", [(5,), (5,)]),
    ("outer", lambda a, b: pydl.outer(a, b), "outer", [(3,), (4,)]),
    ("ger", lambda a, b: a.ger(b), "ger", [(3,), (4,)]),
    ("inner", lambda a, b: pydl.inner(a, b), "inner", [(2, 3, 4), (5, 4)]),
    ("inner_vec", lambda a, b: pydl.inner(a, b), "inner", [(4,), (4,)]),
    ("inner_scalar", lambda a, b: pydl.inner(a, b), "inner", [(), (2, 3)]),
    ("kron", lambda a, b: pydl.kron(a, b), "kron", [(2, 3), (4, 2)]),
    ("kron_ranks", lambda a, b: a.kron(b), "kron", [(3,), (2, 2, 3)]),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, fn, tname, shapes", PRODUCTS, ids=[p[0] for p in PRODUCTS])
def test_products_match_pytorch(torch, backend, dtype, name, fn, tname, shapes):
    arrays = [SEED(i).uniform(-1, 1, s) for i, s in enumerate(shapes)]
    _compare(torch, fn, getattr(torch, tname), arrays, dtype)


SCALED = [  # (name, input shape, factor shapes)
    ("addmm", (3, 5), [(3, 4), (4, 5)]),
    ("addmm", (5,), [(3, 4), (4, 5)]),  # input broadcast
    ("addmv", (3,), [(3, 4), (4,)]),
    ("baddbmm", (2, 3, 5), [(2, 3, 4), (2, 4, 5)]),
    ("baddbmm", (1, 5), [(2, 3, 4), (2, 4, 5)]),
    ("addbmm", (3, 5), [(2, 3, 4), (2, 4, 5)]),
]


@pytest.mark.parametrize("beta, alpha", [(1, 1), (0.5, -2.0), (0, 1.5)])
@pytest.mark.parametrize("name, ishape, shapes", SCALED, ids=[f"{s[0]}{s[1]}" for s in SCALED])
def test_scaled_products_match_pytorch(torch, backend, name, ishape, shapes, beta, alpha):
    arrays = [SEED(i).uniform(-1, 1, s) for i, s in enumerate([ishape] + shapes)]
    _compare(
        torch,
        lambda *xs: getattr(pydl, name)(*xs, beta=beta, alpha=alpha),
        lambda *xs: getattr(torch, name)(*xs, beta=beta, alpha=alpha),
        arrays,
        np.float64,
    )
    # the method form, the same function
    x = [pydl.tensor(a) for a in arrays]
    assert np.allclose(getattr(x[0], name)(*x[1:]).numpy(), getattr(pydl, name)(*x).numpy())


def test_beta_zero_ignores_nan_input(backend):
    out = pydl.addmm(pydl.full((2, 2), float("nan")), pydl.ones(2, 3), pydl.ones(3, 2), beta=0)
    assert out.tolist() == [[3.0, 3.0], [3.0, 3.0]]


EINSUM = [  # (equation, operand shapes)
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),  # implicit output
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),  # broadcast ellipsis
    ("...ij,...jk", [(2, 3, 4), (4, 2)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),  # trace
    ("...ii->...i", [(2, 3, 3)]),
    ("i,j->ij", [(3,), (4,)]),  # outer product
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("bi,bi->b", [(5, 3), (5, 3)]),
    ("i,i", [(6,), (6,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),  # three operands
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),  # bilinear
    ("iij,jk->ik", [(3, 3, 4), (4, 2)]),  # a repeated label and a contraction
    ("Ab,bC->CA", [(2, 3), (3, 4)]),  # upper case
    ("ab...,b->a...", [(2, 3, 4, 5), (3,)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),  # Hadamard: a batch of 1 x 1 products
    (" i j , j k -> i k ", [(2, 3), (3, 2)]),  # spaces
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eq, shapes", EINSUM, ids=[e[0].replace(" ", "") for e in EINSUM])
def test_einsum_matches_pytorch(torch, backend, dtype, eq, shapes):
    arrays = [SEED(i).uniform(-1, 1, s) for i, s in enumerate(shapes)]
    _compare(
        torch, lambda *xs: pydl.einsum(eq, *xs), lambda *xs: torch.einsum(eq, *xs), arrays, dtype
    )


def test_einsum_takes_a_list_and_runs_the_gemm(backend, monkeypatch):
    calls = []
    real = pydl.backend.active.matmul_forward
    monkeypatch.setattr(
        pydl.backend.active, "matmul_forward", lambda *a: calls.append(1) or real(*a)
    )
    a, b = pydl.ones(2, 3), pydl.ones(3, 4)
    assert pydl.einsum("ij,jk->ik", [a, b]).tolist() == [[3.0] * 4] * 2
    assert calls


@pytest.mark.parametrize(
    "eq, shapes, match",
    [
        ("ij,jk->ik", [(2, 3), (4, 5)], "sizes"),
        ("ij,jk->ik", [(2, 3)], "operand"),
        ("ij->k", [(2, 3)], "no operand"),
        ("ij->ii", [(2, 3)], "more than once"),
        ("ijk->i", [(2, 3)], "does not fit"),
        ("i$->i", [(2, 3)], "invalid character"),
        ("ii->i", [(2, 3)], "repeated"),
    ],
)
def test_einsum_errors(backend, eq, shapes, match):
    with pytest.raises(ValueError, match=match):
        pydl.einsum(eq, *[pydl.ones(*s) for s in shapes])


TENSORDOT = [((3, 4, 5), (4, 5, 2), 2), ((3, 4), (4, 5), 1), ((2, 3), (4,), 0)]
TENSORDOT += [((3, 4, 5), (5, 3, 2), ([0, 2], [1, 0]))]
# a list of lists pairs positionally (a's 0 with b's 2, a's 1 with b's 0); a size-1 dim
# contracted with a longer one broadcasts, as PyTorch's
TENSORDOT += [((2, 3, 4), (3, 5, 2), [[0, 1], [2, 0]]), ((1, 1, 1), (2, 1, 2), [[0, 1], [2, 0]])]
TENSORDOT += [((3, 1), (2, 3), [[0, 1], [1, 0]])]


@pytest.mark.parametrize("sa, sb, dims", TENSORDOT)
def test_tensordot_matches_pytorch(torch, backend, sa, sb, dims):
    arrays = [SEED(0).uniform(-1, 1, sa), SEED(1).uniform(-1, 1, sb)]
    _compare(
        torch,
        lambda a, b: pydl.tensordot(a, b, dims),
        lambda a, b: torch.tensordot(a, b, dims),
        arrays,
        np.float64,
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda: pydl.mm(pydl.ones(2, 3), pydl.ones(4, 5)),
        lambda: pydl.mm(pydl.ones(2, 3, 4), pydl.ones(4, 5)),
        lambda: pydl.bmm(pydl.ones(2, 3, 4), pydl.ones(3, 4, 5)),
        lambda: pydl.mv(pydl.ones(2, 3), pydl.ones(4)),
        lambda: pydl.dot(pydl.ones(3), pydl.ones(4)),
        lambda: pydl.addmm(pydl.ones(3, 3), pydl.ones(2, 3), pydl.ones(3, 2)),
        lambda: pydl.tensordot(pydl.ones(2, 3), pydl.ones(4, 5), 1),
    ],
)
def test_product_shape_errors_name_the_shapes(backend, call):
    with pytest.raises(ValueError, match=r"\(\d"):
        call()


def test_products_of_zero_size(torch, backend):
    a, b = np.zeros((0, 3)), np.ones((3, 4))
    _compare(torch, pydl.mm, torch.mm, [a, b], np.float64)
    _compare(torch, pydl.mm, torch.mm, [np.ones((2, 0)), np.ones((0, 4))], np.float64)
    _compare(torch, pydl.bmm, torch.bmm, [np.ones((0, 2, 3)), np.ones((0, 3, 4))], np.float64)
    eq = "bij,bjk->bik"
    arrays = [np.ones((0, 2, 3)), np.ones((0, 3, 4))]
    _compare(
        torch, lambda *x: pydl.einsum(eq, *x), lambda *x: torch.einsum(eq, *x), arrays, np.float64
    )


# ---- decompositions ------------------------------------------------------------------------

BATCHES = [(), (3,), (2, 2)]


def _gauge_svd(fn):
    """U S Vh up to the signs of the singular vector pairs: S, U Vh's rank-1 terms and |U|."""

    def g(a):
        U, S, Vh = fn(a)
        k = S.shape[-1]
        return S, U[..., :k] @ Vh[..., :k, :], U[..., :k] * U[..., :k]

    return g


def _gauge_eigh(fn):
    def g(a):
        w, V = fn(a)
        return w, V * V

    return g


DECOMPS = [  # (id, pydl fn, torch fn, prepare (numpy), matrix shape)
    ("cholesky", LA.cholesky, "linalg.cholesky", _spd, (4, 4)),
    (
        "cholesky_upper",
        lambda a: LA.cholesky(a, upper=True),
        lambda t: lambda a: t.linalg.cholesky(a, upper=True),
        _spd,
        (3, 3),
    ),
    ("cholesky_toplevel", pydl.cholesky, "cholesky", _spd, (3, 3)),
    ("inv", LA.inv, "linalg.inv", _well, (4, 4)),
    ("inverse_method", lambda a: a.inverse(), "inverse", _well, (3, 3)),
    ("det", LA.det, "linalg.det", _well, (4, 4)),
    ("det_method", lambda a: a.det(), "det", _well, (3, 3)),
    ("slogdet", lambda a: tuple(LA.slogdet(a)), "linalg.slogdet", _well, (4, 4)),
    ("slogdet_neg", lambda a: tuple(pydl.slogdet(a)), "slogdet", lambda x: -_well(x), (3, 3)),
    ("logdet", pydl.logdet, "logdet", _spd, (3, 3)),
    ("qr_tall", lambda a: tuple(LA.qr(a)), "linalg.qr", None, (5, 3)),
    ("qr_square", lambda a: tuple(LA.qr(a)), "linalg.qr", None, (4, 4)),
    ("qr_wide", lambda a: tuple(LA.qr(a)), "linalg.qr", None, (3, 5)),
    ("qr_complete_wide", lambda a: tuple(LA.qr(a, "complete")), "qr_complete", None, (3, 5)),
    ("svdvals", LA.svdvals, "linalg.svdvals", None, (5, 3)),
    ("svd_tall", _gauge_svd(lambda a: LA.svd(a, full_matrices=False)), "svd", None, (5, 3)),
    ("svd_wide", _gauge_svd(lambda a: LA.svd(a, full_matrices=False)), "svd", None, (3, 4)),
    ("svd_full", _gauge_svd(LA.svd), "svd_full", None, (4, 3)),
    ("eigh", _gauge_eigh(LA.eigh), "eigh", lambda x: x + np.swapaxes(x, -1, -2), (4, 4)),
    ("eigvalsh", LA.eigvalsh, "linalg.eigvalsh", lambda x: x + np.swapaxes(x, -1, -2), (4, 4)),
    ("matrix_norm_fro", LA.matrix_norm, "linalg.matrix_norm", None, (3, 4)),
    ("norm_nuc", lambda a: LA.norm(a, "nuc", (-2, -1)), "norm_nuc", None, (3, 4)),
    ("matrix_power_5", lambda a: LA.matrix_power(a, 5), "matrix_power_5", None, (3, 3)),
    ("matrix_power_-2", lambda a: a.matrix_power(-2), "matrix_power_-2", _well, (3, 3)),
    ("matrix_power_0", lambda a: pydl.matrix_power(a, 0), "matrix_power_0", None, (3, 3)),
    ("cholesky_inverse", lambda a: pydl.cholesky_inverse(LA.cholesky(a)), "chol_inv", _spd, (3, 3)),
    (
        "cholesky_inverse_upper",
        lambda a: LA.cholesky(a, upper=True).cholesky_inverse(True),
        "chol_inv_upper",
        _spd,
        (3, 3),
    ),
]


def _torch_fn(torch, spec):
    if callable(spec):
        return spec(torch)
    special = {
        "qr_complete": lambda a: tuple(torch.linalg.qr(a, "complete")),
        "linalg.qr": lambda a: tuple(torch.linalg.qr(a)),
        "linalg.slogdet": lambda a: tuple(torch.linalg.slogdet(a)),
        "slogdet": lambda a: tuple(torch.slogdet(a)),
        "svd": _gauge_svd(lambda a: torch.linalg.svd(a, full_matrices=False)),
        "svd_full": _gauge_svd(torch.linalg.svd),
        "eigh": _gauge_eigh(torch.linalg.eigh),
        "norm_nuc": lambda a: torch.linalg.norm(a, "nuc", (-2, -1)),
        "matrix_power_5": lambda a: torch.linalg.matrix_power(a, 5),
        "matrix_power_-2": lambda a: a.matrix_power(-2),
        "matrix_power_0": lambda a: torch.matrix_power(a, 0),
        "chol_inv": lambda a: torch.cholesky_inverse(torch.linalg.cholesky(a)),
        "chol_inv_upper": lambda a: torch.linalg.cholesky(a, upper=True).cholesky_inverse(True),
    }
    if spec in special:
        return special[spec]
    fn = torch
    for part in spec.split("."):
        fn = getattr(fn, part)
    return fn


@pytest.mark.filterwarnings("ignore:torch.cholesky is deprecated")
@pytest.mark.parametrize("batch", BATCHES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", DECOMPS, ids=[d[0] for d in DECOMPS])
def test_decompositions_match_pytorch(torch, backend, dtype, batch, case):
    _, fn, spec, prepare, shape = case
    x = SEED(3).uniform(-1, 1, batch + shape)
    x = prepare(x) if prepare else x
    tol = dict(rtol=1e-3, atol=1e-3) if dtype == np.float32 else dict(rtol=1e-7, atol=1e-8)
    _compare(torch, fn, _torch_fn(torch, spec), [x], dtype, tol=tol)


SOLVES = [  # (A batch + shape, B shape)
    ((4, 4), (4, 2)),
    ((3, 4, 4), (3, 4, 1)),
    ((2, 1, 3, 3), (4, 3, 5)),  # batch broadcast
    ((4, 4), (4,)),  # a vector
    ((2, 3, 3), (2, 3)),  # a batch of vectors
]


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa, sb", SOLVES, ids=str)
def test_solve_matches_pytorch(torch, backend, dtype, sa, sb, left):
    if not left:  # X A = B: B (..., k, n); PyTorch takes no vector B here
        if len(sb) < 2 or sb[-1] == sa[-1]:
            pytest.skip("a vector B is for left=True only")
        sb = sb[:-2] + (sb[-1], sb[-2])
    a, b = _well(SEED(0).uniform(-1, 1, sa)), SEED(1).uniform(-1, 1, sb)
    _compare(
        torch,
        lambda a, b: LA.solve(a, b, left=left),
        lambda a, b: torch.linalg.solve(a, b, left=left),
        [a, b],
        dtype,
        tol=dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else None,
    )


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cholesky_solve_matches_pytorch(torch, backend, dtype, upper):
    a = _spd(SEED(0).uniform(-1, 1, (2, 4, 4)))
    b = SEED(1).uniform(-1, 1, (2, 4, 3))
    _compare(
        torch,
        lambda a, b: b.cholesky_solve(LA.cholesky(a, upper=upper), upper),
        lambda a, b: torch.cholesky_solve(b, torch.linalg.cholesky(a, upper=upper), upper),
        [a, b],
        dtype,
        tol=dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else None,
    )


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unitriangular", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_solve_triangular_matches_pytorch(torch, backend, dtype, upper, left, unitriangular):
    a = _well(SEED(0).uniform(-1, 1, (2, 4, 4)))
    b = SEED(1).uniform(-1, 1, (2, 4, 3) if left else (2, 3, 4))
    kw = dict(upper=upper, left=left, unitriangular=unitriangular)
    _compare(
        torch,
        lambda a, b: LA.solve_triangular(a, b, **kw),
        lambda a, b: torch.linalg.solve_triangular(a, b, **kw),
        [a, b],
        dtype,
        tol=dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else None,
    )


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2, 1, -1, float("inf"), -float("inf")])
def test_matrix_norms_match_pytorch(torch, backend, ord):
    x = SEED(0).uniform(-1, 1, (2, 3, 4))
    for dim, keepdim in [((-2, -1), False), ((0, 2), True), ((2, 1), False)]:
        _compare(
            torch,
            lambda a, dim=dim, keepdim=keepdim: LA.matrix_norm(a, ord, dim, keepdim),
            lambda a, dim=dim, keepdim=keepdim: torch.linalg.matrix_norm(a, ord, dim, keepdim),
            [x],
            np.float64,
        )
    _compare(
        torch, lambda a: LA.norm(a[0], ord), lambda a: torch.linalg.norm(a[0], ord), [x], np.float64
    )


def test_vector_norm_of_linalg_norm(torch, backend):
    x = SEED(0).uniform(-1, 1, (3, 4))
    _compare(torch, LA.norm, torch.linalg.norm, [x], np.float64)
    _compare(
        torch, lambda a: LA.norm(a, dim=1), lambda a: torch.linalg.norm(a, dim=1), [x], np.float64
    )


def test_factors_reconstruct(backend):
    """Q R, U S Vh, V w V^T and L L^T give A back, and the factors have their structure."""
    rng = SEED(0)
    a = pydl.tensor(rng.uniform(-1, 1, (3, 5, 4)))
    q, r = LA.qr(a)
    assert np.allclose((q @ r).numpy(), a.numpy())
    assert np.allclose(np.tril(r.numpy(), -1), 0)
    q, r = LA.qr(a, "complete")
    assert q.shape == (3, 5, 5) and r.shape == (3, 5, 4)
    assert np.allclose(q.mT.matmul(q).numpy(), np.eye(5))
    u, s, vh = LA.svd(a)
    assert u.shape == (3, 5, 5) and s.shape == (3, 4) and vh.shape == (3, 4, 4)
    assert np.allclose(u.mT.matmul(u).numpy(), np.eye(5))
    assert np.allclose((u[..., :4] * s.unsqueeze(-2)).matmul(vh).numpy(), a.numpy())
    assert np.all(np.diff(s.numpy(), axis=-1) <= 0)
    sym = a.numpy()[:, :4] + np.swapaxes(a.numpy()[:, :4], -1, -2)
    w, v = LA.eigh(pydl.tensor(sym))
    assert np.allclose((v * w.unsqueeze(-2)).matmul(v.mT).numpy(), sym)
    assert np.all(np.diff(w.numpy(), axis=-1) >= 0)
    spd = pydl.tensor(_spd(a.numpy()))
    L = LA.cholesky(spd)
    assert np.allclose(L.matmul(L.mT).numpy(), spd.numpy())
    _, r = LA.qr(a, mode="r")
    assert r.shape == (3, 4, 4)


def test_qr_r_mode_and_complete_tall_have_no_gradient(backend):
    a = pydl.tensor(SEED(0).uniform(-1, 1, (5, 3)), requires_grad=True)
    q, r = LA.qr(a, mode="r")
    assert q.shape == (0,)
    with pytest.raises(RuntimeError, match="mode='r'"):
        r.sum().backward()
    q, r = LA.qr(a, mode="complete")
    with pytest.raises(RuntimeError, match="complete"):
        r.sum().backward()


def test_upper_triangle_only_is_read(backend):
    """cholesky and eigh read one triangle; the other may hold anything."""
    x = _spd(SEED(0).uniform(-1, 1, (4, 4)))
    junk = x + np.triu(np.full((4, 4), 1e3), 1)
    assert np.allclose(LA.cholesky(pydl.tensor(junk)).numpy(), np.linalg.cholesky(x))
    assert np.allclose(LA.eigvalsh(pydl.tensor(junk)).numpy(), np.linalg.eigvalsh(x))
    junk_low = x + np.tril(np.full((4, 4), 1e3), -1)
    assert np.allclose(
        LA.cholesky(pydl.tensor(junk_low), upper=True).numpy(), np.linalg.cholesky(x).T
    )
    assert np.allclose(LA.eigvalsh(pydl.tensor(junk_low), "U").numpy(), np.linalg.eigvalsh(x))


# ---- errors ----------------------------------------------------------------------------------


def test_singular_and_indefinite_inputs_raise_linalg_error(backend):
    assert issubclass(LA.LinAlgError, RuntimeError)
    sing = np.stack([np.eye(3), [[1.0, 2, 3], [2, 4, 6], [0, 0, 1]]])
    with pytest.raises(LA.LinAlgError, match=r"Batch element 1.*diagonal element 2 is zero"):
        LA.inv(pydl.tensor(sing))
    with pytest.raises(LA.LinAlgError, match="singular"):
        LA.solve(pydl.tensor(sing[1]), pydl.ones(3, 1, dtype=pydl.float64))
    with pytest.raises(LA.LinAlgError, match="singular"):
        pydl.inverse(pydl.zeros(2, 2))
    indef = np.stack([np.eye(3), np.diag([1.0, 1.0, -1.0])])
    with pytest.raises(LA.LinAlgError, match=r"Batch element 1.*minor of order 3"):
        LA.cholesky(pydl.tensor(indef))
    L, info = LA.cholesky_ex(pydl.tensor(indef))
    assert info.tolist() == [0, 3] and info.dtype == np.int32
    inv, info = LA.inv_ex(pydl.tensor(sing))
    assert info.tolist() == [0, 2]
    assert np.allclose(inv.numpy()[0], np.eye(3))
    x, info = LA.solve_ex(pydl.tensor(sing), pydl.ones(2, 3, 1, dtype=pydl.float64))
    assert info.tolist() == [0, 2]
    with pytest.raises(LA.LinAlgError):
        LA.inv_ex(pydl.tensor(sing), check_errors=True)


def test_singular_det_and_slogdet_as_pytorch(torch, backend):
    sing = np.array([[[1.0, 2], [2, 4]], [[0, 0], [0, 0]]])
    assert LA.det(pydl.tensor(sing)).tolist() == [0.0, 0.0]
    sign, logabsdet = LA.slogdet(pydl.tensor(sing))
    assert sign.tolist() == [0.0, 0.0] and logabsdet.tolist() == [-np.inf, -np.inf]
    neg = np.diag([-2.0, 1.0])
    assert np.isnan(pydl.logdet(pydl.tensor(neg)).item())
    assert np.isnan(torch.logdet(torch.tensor(neg)).item())


@pytest.mark.parametrize(
    "call",
    [
        lambda: LA.inv(pydl.ones(2, 3)),
        lambda: LA.det(pydl.ones(3)),
        lambda: LA.cholesky(pydl.ones(2, 3)),
        lambda: LA.solve(pydl.ones(2, 2), pydl.ones(3, 1)),
        lambda: LA.slogdet(pydl.ones(4, 2, 3)),
        lambda: LA.eigh(pydl.ones(2, 3)),
        lambda: LA.qr(pydl.ones(2, 3), mode="full"),
        lambda: LA.matrix_norm(pydl.ones(2, 3), ord=3),
    ],
)
def test_bad_shapes_and_arguments_raise_value_error(backend, call):
    with pytest.raises(ValueError):
        call()


def test_integer_input_is_a_type_error(backend):
    with pytest.raises(TypeError, match="floating"):
        LA.inv(pydl.tensor([[1, 2], [3, 4]]))


@pytest.mark.parametrize(
    "fn",
    [
        LA.inv,
        LA.det,
        LA.cholesky,
        LA.eigvalsh,
        LA.svdvals,
        lambda a: LA.qr(a).R,
        lambda a: LA.slogdet(a).logabsdet,
    ],
)
@pytest.mark.parametrize("shape", [(0, 3, 3), (2, 0, 0)], ids=str)
def test_zero_size_batches(torch, backend, fn, shape):
    a = pydl.tensor(np.broadcast_to(np.eye(shape[-1]), shape).copy(), requires_grad=True)
    out = fn(a)
    out.sum().backward()
    assert a.grad.shape == shape
    if shape[-1] == 0 and fn is LA.det:
        assert out.tolist() == [1.0, 1.0]  # the empty product, as PyTorch's


def test_return_types_are_named(backend):
    a = pydl.tensor(_spd(SEED(0).uniform(-1, 1, (3, 3))))
    assert type(LA.slogdet(a)).__name__ == "linalg_slogdet"
    assert type(pydl.slogdet(a)).__name__ == "slogdet"
    assert LA.qr(a).Q.shape == (3, 3) and LA.svd(a).Vh.shape == (3, 3)
    assert LA.eigh(a).eigenvectors.shape == (3, 3)
    assert "Q=" in repr(LA.qr(a))


KERNELS = ["cholesky", "solve", "inv", "slogdet", "solve_triangular", "qr", "svd", "eigh"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_core_runs_its_own_kernels(monkeypatch, dtype):
    """float32 and float64 run the C++ kernels, forward and backward, not the reference
    fallback (Note [Reference fallback])."""
    calls = []
    for stem in KERNELS:
        for side in ("forward", "backward"):
            name = f"{stem}_{side}"
            real = getattr(pydl.reference, name)
            monkeypatch.setattr(
                pydl.reference, name, lambda *a, n=name, r=real: calls.append(n) or r(*a)
            )
    pydl.set_backend("core")
    x = pydl.tensor(_spd(SEED(0).uniform(-1, 1, (2, 3, 3))).astype(dtype), requires_grad=True)
    b = pydl.ones(2, 3, 2, dtype=x.dtype)
    outs = [
        LA.cholesky(x),
        LA.solve(x, b),
        LA.inv(x),
        LA.slogdet(x).logabsdet,
        LA.solve_triangular(x, b, upper=True),
        *LA.qr(x),
        *LA.svd(x),
        *LA.eigh(x),
    ]
    sum(o.sum() for o in outs).backward()
    assert calls == []
    pydl.set_backend("reference")
    LA.inv(x).sum().backward()
    assert calls == ["inv_forward", "inv_backward"]  # the recorder is live


@pytest.mark.parametrize("n", [17, 40])
def test_larger_matrices_match_pytorch(torch, backend, n):
    rng = SEED(n)
    a = rng.standard_normal((2, n, n))
    low_rank = a[..., :3] @ np.swapaxes(a[..., :3], -1, -2)  # rank 3: zero singular values
    ta, tl = torch.tensor(a), torch.tensor(low_rank)
    tol = dict(rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(LA.inv(pydl.tensor(a)).numpy(), torch.linalg.inv(ta), **tol)
    np.testing.assert_allclose(LA.svdvals(pydl.tensor(a)).numpy(), torch.linalg.svdvals(ta), **tol)
    np.testing.assert_allclose(
        LA.svdvals(pydl.tensor(low_rank)).numpy(), torch.linalg.svdvals(tl), **tol
    )
    u, s, vh = LA.svd(pydl.tensor(low_rank))
    np.testing.assert_allclose(u.mT.matmul(u).numpy(), np.broadcast_to(np.eye(n), (2, n, n)), **tol)
    np.testing.assert_allclose(((u * s.unsqueeze(-2)) @ vh).numpy(), low_rank, **tol)
    np.testing.assert_allclose(
        LA.eigvalsh(pydl.tensor(low_rank)).numpy(), torch.linalg.eigvalsh(tl), **tol
    )
    spd = _spd(a)
    np.testing.assert_allclose(
        LA.cholesky(pydl.tensor(spd)).numpy(), torch.linalg.cholesky(torch.tensor(spd)), **tol
    )


@pytest.mark.parametrize(
    "a",
    [
        [[1.0, 2.0], [2.0, 4.0]],
        [[0.0, 0.0], [0.0, 0.0]],
        [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], np.eye(3) * 2],  # rank 2, and not
        [[0.5, 0, 0], [0, 0, 0], [0, 0, 2.0]],
    ],
    ids=["rank1", "zero", "batch", "diagonal"],
)
def test_det_gradient_of_singular_matrices_is_the_cofactor_matrix(backend, a):
    """d det / dA = adj(A)^T, also where A is singular (central differences of det, exact
    for the affine map t -> det(A + t E_ij)); PyTorch 2.13 returns zeros there (its own
    gradcheck fails), so this compares with the numbers, not with it."""
    a = np.array(a)
    x = pydl.tensor(a, requires_grad=True)
    d = LA.det(x)
    d.sum().backward()
    np.testing.assert_allclose(d.numpy(), np.linalg.det(a), atol=1e-12)
    fd = np.zeros_like(a)
    for idx in np.ndindex(*a.shape):
        e = np.zeros_like(a)
        e[idx] = 0.5
        fd[idx] = (np.linalg.det(a + e) - np.linalg.det(a - e)).sum()
    np.testing.assert_allclose(x.grad.numpy(), fd, atol=1e-9)


@pytest.mark.parametrize("shape", [(3, 5, 3), (2, 3, 5), (4, 4)], ids=str)
def test_core_and_reference_agree_on_what_lapack_leaves_open(shape):
    """Note [Canonical signs]: the signs of the singular vectors and eigenvectors and the
    full_matrices completion are the same in both backends."""
    from pydl import _core, reference

    a = SEED(0).uniform(-1, 1, shape)
    sym = a[..., :2, :2] + np.swapaxes(a[..., :2, :2], -1, -2)
    for name, args in [("svd_forward", (a, True)), ("qr_forward", (a, "complete"))]:
        for c, r in zip(getattr(_core, name)(*args), getattr(reference, name)(*args)):
            np.testing.assert_allclose(c, r, atol=1e-12)
    for c, r in zip(_core.eigh_forward(sym, False), reference.eigh_forward(sym, False)):
        np.testing.assert_allclose(c, r, atol=1e-12)


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2])
def test_matrix_norm_subgradient_at_zero_matrix(torch, backend, ord):
    """At a zero matrix PyTorch's gradient is finite: 0 for 'fro', U Vh (with its SVD's
    U = V = I) for the singular-value norms; pydl's was NaN."""
    _compare(
        torch,
        lambda a: pydl.linalg.norm(a, ord),
        lambda a: torch.linalg.norm(a, ord),
        [np.zeros((4, 4))],
        np.float64,
    )
