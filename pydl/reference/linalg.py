"""Linear algebra: the decompositions of pydl.linalg (cholesky, solve, inv, slogdet,
solve_triangular, qr, svd, eigh). The matrix products (mm, bmm, addmm, einsum, ...) are
compositions of matmul and have no kernels of their own.

NumPy twins of cpp/kernels/linalg. Every function takes stacks of matrices (..., m, n) and
treats each matrix of the stack independently. Values come from numpy.linalg where it has
them (the reference); what LAPACK leaves open is fixed here as in the kernels:
- info (Note [Linalg info] in cpp/kernels/linalg.h): per matrix, 0 or the 1-based index of
  the first zero pivot of LU with partial pivoting (solve, inv) or of the first leading
  minor that is not positive-definite (cholesky); the op layer raises LinAlgError from it.
- signs (Note [Canonical signs]): each singular vector pair (svd) and eigenvector (eigh) is
  flipped so that the largest-magnitude entry of its column of U (or V) is positive; the
  extra columns of full_matrices=True are the completion of U's (V's) columns by a
  Householder QR (numpy.linalg.qr's convention).

Backward formulas (A the input, gX the gradient reaching output X, X^-T = (X^-1)^T):
  cholesky  A = L L^T:   P = tril(L^T gL), Phi = (P + tril(P, -1)^T) / 2,
                         gA = L^-T Phi L^-1 (symmetric; Murray 2016, PyTorch's)
  solve     A X = B:     gB = A^-T gX, gA = -gB X^T
  inv       Y = A^-1:    gA = -Y^T gY Y^T
  slogdet   (sign, l):   gA = gl A^-T (sign is piecewise constant: no gradient)
  solve_triangular:      as solve, gA kept on A's triangle (strict when unitriangular)
  qr        A = Q R (m >= n, reduced): M = R gR^T - gQ^T Q,
                         gA = (gQ + Q copyltu(M)) R^-T, copyltu(M) = tril(M) + tril(M, -1)^T;
            m < n: A = [X | Y], R = [U | V]: gY = Q gV, gX = the above with gQ + Y gV^T, gU
  svd       A = U S V^T (reduced, k = min(m, n)), F_ij = 1 / (s_j^2 - s_i^2) (i != j, 0 on
            the diagonal), J = F o (U^T gU), K = F o (V^T gV):
                gA = U [(J + J^T) S + S (K + K^T) + diag(gS)] V^T
                     + (I - U U^T) gU S^-1 V^T + U S^-1 gV^T (I - V V^T)
            (PyTorch's svd_backward for real inputs; undefined at repeated or, through
            the last two terms, zero singular values)
  eigh      A = V diag(w) V^T: F_ij = 1 / (w_j - w_i) (i != j, 0 on the diagonal),
                gA = V (diag(gw) + F o (V^T gV)) V^T, then (gA + gA^T) / 2
            (undefined at repeated eigenvalues)
"""

import numpy as np


def _check_square(fn, a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{fn}: A must be a batch of square matrices, got shape {a.shape}")


def _mT(x):
    return np.swapaxes(x, -1, -2)


def _lu_info(a):
    """Per matrix of the stack, 0 or the 1-based index of the first zero pivot of LU with
    partial pivoting (LAPACK's getrf info)."""
    info = np.zeros(a.shape[:-2], np.int64)
    for idx in np.ndindex(*a.shape[:-2]):
        lu = np.array(a[idx], dtype=np.float64)
        for k in range(lu.shape[0]):
            p = k + int(np.argmax(np.abs(lu[k:, k])))
            lu[[k, p]] = lu[[p, k]]
            if lu[k, k] == 0:
                info[idx] = k + 1
                break
            lu[k + 1 :, k] /= lu[k, k]
            lu[k + 1 :, k + 1 :] -= np.outer(lu[k + 1 :, k], lu[k, k + 1 :])
    return info


def _solve(a, b, info):
    """np.linalg.solve on the matrices with info 0; NaN for the singular ones (and for one
    LAPACK finds exactly singular where LU in another order did not)."""
    x = np.full(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:], np.nan, a.dtype)
    for idx in np.ndindex(*info.shape):
        if info[idx]:
            continue
        try:
            x[idx] = np.linalg.solve(a[idx], b[idx])
        except np.linalg.LinAlgError:
            pass
    return x


def cholesky_forward(a, upper):
    """(L, info): A = L L^T from A's lower triangle (upper: U^T U from its upper triangle,
    returning U = L^T of A^T). Column by column: L_jj = sqrt(A_jj - sum_k<j L_jk^2),
    L_ij = (A_ij - sum_k<j L_ik L_jk) / L_jj; info = j + 1 where the first radicand is not
    positive (the rest of L is then unspecified)."""
    _check_square("cholesky", a)
    if upper:
        a = _mT(a)
    n = a.shape[-1]
    l = np.zeros_like(a)
    info = np.zeros(a.shape[:-2], np.int64)
    for j in range(n):
        d = a[..., j, j] - np.sum(l[..., j, :j] ** 2, axis=-1)
        info[(info == 0) & ~(d > 0)] = j + 1
        ljj = np.sqrt(np.where(d > 0, d, 1.0))
        l[..., j, j] = ljj
        below = a[..., j + 1 :, j] - np.sum(l[..., j + 1 :, :j] * l[..., j : j + 1, :j], axis=-1)
        l[..., j + 1 :, j] = below / ljj[..., None]
    return (np.ascontiguousarray(_mT(l)) if upper else l), info


def cholesky_backward(grad, l, upper):
    """gA = L^-T Phi(L^T gL) L^-1, Phi(P) = (tril(P) + tril(P, -1)^T) / 2 (module doc)."""
    if upper:
        l, grad = _mT(l), _mT(grad)
    p = np.tril(_mT(l) @ grad)
    phi = (p + _mT(np.tril(p, -1))) / 2
    linv = np.linalg.inv(l)
    return np.ascontiguousarray(_mT(linv) @ phi @ linv)


def solve_forward(a, b):
    """(X, info): A X = B for A (..., n, n), B (..., n, k) of the same batch shape."""
    _check_square("solve", a)
    info = _lu_info(a)
    return _solve(a, b, info), info


def solve_backward(grad, a, x, need_a=True, need_b=True):
    """gB = A^-T gX, gA = -gB X^T."""
    gb = np.linalg.solve(_mT(a), grad)
    ga = -gb @ _mT(x) if need_a else None
    return ga, (gb if need_b else None)


def inv_forward(a):
    """(A^-1, info)."""
    _check_square("inv", a)
    info = _lu_info(a)
    return _solve(a, np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape), info), info


def inv_backward(grad, ainv):
    """gA = -Y^T gY Y^T for Y = A^-1."""
    return np.ascontiguousarray(-_mT(ainv) @ grad @ _mT(ainv))


def slogdet_forward(a):
    """(sign, log|det A|): the product of LU's pivots, its sign times the permutation's;
    a singular matrix gives (0, -inf)."""
    _check_square("slogdet", a)
    sign, logabsdet = np.linalg.slogdet(a)
    return sign.astype(a.dtype), logabsdet.astype(a.dtype)


def slogdet_backward(grad, a):
    """gA = g A^-T, g the gradient of log|det A| (NaN for a singular A)."""
    eye = np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape)
    ainv_t = _solve(_mT(a), eye, _lu_info(_mT(a)))
    return np.ascontiguousarray(np.asarray(grad)[..., None, None] * ainv_t)


def _triangle(a, upper, unitriangular):
    t = np.triu(a) if upper else np.tril(a)
    if unitriangular:
        t = t.copy()
        idx = np.arange(a.shape[-1])
        t[..., idx, idx] = 1
    return t


def _substitute(a, b, upper):
    """X with T X = B for the triangular T = a, row by row (forward or back substitution;
    a zero diagonal gives inf/NaN, as LAPACK's trtrs without its check)."""
    n = a.shape[-1]
    x = np.zeros(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:], a.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(n - 1, -1, -1) if upper else range(n):
            s = b[..., i, :] - np.sum(a[..., i, :, None] * x, axis=-2)
            x[..., i, :] = s / a[..., i, i, None]
    return x


def solve_triangular_forward(a, b, upper, unitriangular):
    """X with T X = B, T = A's upper or lower triangle (unit diagonal when unitriangular)."""
    _check_square("solve_triangular", a)
    return _substitute(_triangle(a, upper, unitriangular), b, upper)


def solve_triangular_backward(grad, a, x, upper, unitriangular, need_a=True, need_b=True):
    """gB = T^-T gX, gA = -gB X^T on T's triangle (strict when unitriangular)."""
    t = _triangle(a, upper, unitriangular)
    gb = _substitute(_mT(t), grad, not upper)
    ga = None
    if need_a:
        ga = -gb @ _mT(x)
        ga = np.triu(ga, int(unitriangular)) if upper else np.tril(ga, -int(unitriangular))
    return ga, (gb if need_b else None)


def qr_forward(a, mode):
    """(Q, R) of A = Q R by Householder reflections (LAPACK's geqrf signs: R's diagonal
    is -sign(pivot) * norm); mode 'reduced' (Q m x k, R k x n) or 'complete' (Q m x m)."""
    if a.ndim < 2 or mode not in ("reduced", "complete"):
        raise ValueError(f"qr: need A (..., m, n) and mode 'reduced' or 'complete', got {mode!r}")
    q, r = np.linalg.qr(a, mode=mode)
    return q.astype(a.dtype), r.astype(a.dtype)


def _copyltu(m):
    return np.tril(m) + _mT(np.tril(m, -1))


def _qr_backward_tall(gq, gr, q, r):
    m = r @ _mT(gr) - _mT(gq) @ q
    b = gq + q @ _copyltu(m)
    # gA = B R^-T, i.e. solve R gA^T = B^T
    return _mT(_substitute(r, _mT(b), True))


def qr_backward(grad_q, grad_r, q, r):
    """gA of A = Q R from the reduced factors (module doc)."""
    m, n = q.shape[-2], r.shape[-1]
    if m >= n:
        return np.ascontiguousarray(_qr_backward_tall(grad_q, grad_r, q, r))
    y_grad = q @ grad_r[..., m:]
    y = q @ r[..., m:]
    gx = _qr_backward_tall(grad_q + y @ _mT(grad_r[..., m:]), grad_r[..., :m], q, r[..., :m])
    return np.ascontiguousarray(np.concatenate([gx, y_grad], axis=-1))


def _canonical_signs(u, *others):
    """Flip each column of u (and the same column of the others) so that its first
    largest-magnitude entry is positive (Note [Canonical signs])."""
    k = u.shape[-1]
    if u.shape[-2] == 0 or k == 0:
        return (u,) + others
    rows = np.argmax(np.abs(u), axis=-2)[..., None, :]
    s = np.where(np.take_along_axis(u, rows, axis=-2) < 0, -1, 1).astype(u.dtype)
    return (u * s,) + tuple(o * s for o in others)


def _complete(u):
    """u's k orthonormal columns and m - k more: the Householder completion (Q of u's
    complete QR), u's own columns kept."""
    k = u.shape[-1]
    if u.shape[-2] == k:
        return u
    q = np.linalg.qr(u, mode="complete")[0]
    return np.concatenate([u, q[..., k:]], axis=-1)


def svd_forward(a, full_matrices):
    """(U, S, Vh): A = U diag(S) Vh, S descending, canonical signs (Note [Canonical signs])."""
    if a.ndim < 2:
        raise ValueError(f"svd: A must be a batch of matrices, got shape {a.shape}")
    if not np.isfinite(a).all():
        # NumPy's LAPACK (OpenBLAS dbdsqr) can loop forever on inf: raise, as PyTorch does
        raise np.linalg.LinAlgError(
            "svd: the algorithm failed to converge because the input matrix contained "
            "non-finite values"
        )
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    u, v = _canonical_signs(u, _mT(vh))
    if full_matrices:
        u, v = _complete(u), _complete(v)
    d = a.dtype
    return u.astype(d), s.astype(d), np.ascontiguousarray(_mT(v)).astype(d)


def svd_backward(grad_u, grad_s, grad_vh, u, s, vh):
    """gA of A = U diag(S) Vh from the reduced factors (module doc)."""
    v, gv = _mT(vh), _mT(grad_vh)
    k = s.shape[-1]
    s2 = s**2
    with np.errstate(divide="ignore"):
        f = 1 / (s2[..., None, :] - s2[..., :, None])
    f[..., np.arange(k), np.arange(k)] = 0
    j = f * (_mT(u) @ grad_u)
    kk = f * (_mT(v) @ gv)
    inner = (j + _mT(j)) * s[..., None, :] + s[..., :, None] * (kk + _mT(kk))
    inner[..., np.arange(k), np.arange(k)] += grad_s
    ga = u @ inner @ vh
    sinv = 1 / s
    m, n = u.shape[-2], v.shape[-2]
    if m > k:
        gu_perp = grad_u - u @ (_mT(u) @ grad_u)
        ga = ga + (gu_perp * sinv[..., None, :]) @ vh
    if n > k:
        gv_perp = gv - v @ (_mT(v) @ gv)
        ga = ga + (u * sinv[..., None, :]) @ _mT(gv_perp)
    return np.ascontiguousarray(ga)


def eigh_forward(a, upper):
    """(w, V): A = V diag(w) V^T from A's lower (upper) triangle, w ascending, canonical
    signs (Note [Canonical signs])."""
    _check_square("eigh", a)
    w, v = np.linalg.eigh(a, UPLO="U" if upper else "L")
    (v,) = _canonical_signs(v)
    return w.astype(a.dtype), v.astype(a.dtype)


def eigh_backward(grad_w, grad_v, w, v):
    """gA = sym(V (diag(gw) + F o (V^T gV)) V^T) (module doc)."""
    n = w.shape[-1]
    with np.errstate(divide="ignore"):
        f = 1 / (w[..., None, :] - w[..., :, None])
    f[..., np.arange(n), np.arange(n)] = 0
    inner = f * (_mT(v) @ grad_v)
    inner[..., np.arange(n), np.arange(n)] += grad_w
    ga = v @ inner @ _mT(v)
    return np.ascontiguousarray((ga + _mT(ga)) / 2)
