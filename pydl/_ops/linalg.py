"""Linear algebra (cpp/kernels/linalg, pydl/reference/linalg): the matrix products (mm, bmm,
addmm, baddbmm, addbmm, mv, addmv, outer, dot, vdot, inner, einsum, tensordot, kron),
compositions of matmul's batched GEMM, and the decompositions behind pydl.linalg (cholesky,
solve, inv, slogdet, solve_triangular, qr, svd, eigh), one kernel each forward and backward,
with the ops composed of them (det, logdet, cholesky_solve, cholesky_inverse, matrix_power).

Shape and argument errors are ValueError (pydl's convention; PyTorch raises RuntimeError),
non-floating inputs to a decomposition TypeError, and a matrix a factorization cannot
handle LinAlgError (Note [Linalg info] in cpp/kernels/linalg.h)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend as _b
from .. import return_types
from ..tensor import Tensor, _constant, as_tensor, record
from ._util import _int_arg, promoted, tensor_pair
from .elementwise import add, mul
from .layout import expand, getitem, permute, reshape, squeeze, unsqueeze
from .linear import matmul
from .reduce import sum
from .registry import op
from .._dtypes import is_floating


class LinAlgError(RuntimeError):
    """A matrix the operation cannot factor (singular for solve and inv, not positive-
    definite for cholesky); as torch.linalg.LinAlgError, a RuntimeError."""


# ---- the matrix products ---------------------------------------------------------------


def _rank(fn: str, name: str, t: Tensor, ndim: int) -> None:
    if t.ndim != ndim:
        raise ValueError(f"{fn}: {name} must be a {ndim}-D tensor, got shape {t.shape}")


def _cannot_multiply(fn: str, a: tuple, b: tuple) -> ValueError:
    return ValueError(
        f"{fn}: shapes {a} and {b} cannot be multiplied ({a[-1]} != {b[0 if len(b) == 1 else -2]})"
    )


@op(kernels=(), method=True, toplevel=True)
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """The matrix product of two 2-D tensors (no broadcasting)."""
    input, mat2 = tensor_pair(input, mat2)
    _rank("mm", "input", input, 2)
    _rank("mm", "mat2", mat2, 2)
    if input.shape[1] != mat2.shape[0]:
        raise _cannot_multiply("mm", input.shape, mat2.shape)
    return matmul(input, mat2)


@op(kernels=(), method=True, toplevel=True)
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix products of (b, n, m) and (b, m, p) tensors (no broadcasting)."""
    input, mat2 = tensor_pair(input, mat2)
    _rank("bmm", "input", input, 3)
    _rank("bmm", "mat2", mat2, 3)
    if input.shape[0] != mat2.shape[0]:
        raise ValueError(f"bmm: batch sizes differ: {input.shape} and {mat2.shape}")
    if input.shape[2] != mat2.shape[1]:
        raise _cannot_multiply("bmm", input.shape, mat2.shape)
    return matmul(input, mat2)


@op(kernels=(), method=True, toplevel=True)
def mv(input: Tensor, vec: Tensor) -> Tensor:
    """The product of a matrix (n, m) and a vector (m,)."""
    input, vec = tensor_pair(input, vec)
    _rank("mv", "input", input, 2)
    _rank("mv", "vec", vec, 1)
    if input.shape[1] != vec.shape[0]:
        raise _cannot_multiply("mv", input.shape, vec.shape)
    return matmul(input, vec)


@op(kernels=(), method=True, toplevel=True)
def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """The inner product of two 1-D tensors of the same size (a 0-d tensor)."""
    input, tensor = tensor_pair(input, tensor)
    _rank("dot", "input", input, 1)
    _rank("dot", "tensor", tensor, 1)
    if input.shape != tensor.shape:
        raise ValueError(
            f"dot: expected both vectors to have the same size, got {input.shape} and "
            f"{tensor.shape}"
        )
    return matmul(input, tensor)


@op(kernels=(), method=True, toplevel=True)
def vdot(input: Tensor, other: Tensor) -> Tensor:
    """dot(conj(input), other): for real tensors, dot."""
    return dot(input, other)


@op(kernels=(), aliases=("ger",), method=True, toplevel=True)
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """The outer product input[i] * vec2[j] of two 1-D tensors."""
    input, vec2 = tensor_pair(input, vec2)
    _rank("outer", "input", input, 1)
    _rank("outer", "vec2", vec2, 1)
    return mul(unsqueeze(input, 1), unsqueeze(vec2, 0))


@op(kernels=(), method=True, toplevel=True)
def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum over the last dims of both: out[i..., j...] = sum_k input[i..., k] other[j..., k]
    (a product with a 0-d operand is the elementwise product)."""
    input, other = tensor_pair(input, other)
    if input.ndim == 0 or other.ndim == 0:
        return mul(input, other)
    if input.shape[-1] != other.shape[-1]:
        raise ValueError(
            f"inner: the last dims of {input.shape} and {other.shape} must match "
            f"({input.shape[-1]} != {other.shape[-1]})"
        )
    return tensordot(input, other, ([-1], [-1]))


def _scaled_sum(fn: str, input: Any, product: Tensor, beta: Any, alpha: Any) -> Tensor:
    """beta * input + alpha * product, input broadcast to product's shape; with beta == 0
    input is not read (NaN in it does not leak), as PyTorch's."""
    input = as_tensor(input)
    try:
        fits = np.broadcast_shapes(input.shape, product.shape) == product.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"{fn}: input of shape {input.shape} does not broadcast to the product's shape "
            f"{product.shape}"
        )
    if alpha != 1:
        product = mul(product, alpha)
    if beta == 0:
        return product
    return add(product, input if beta == 1 else mul(input, beta))


@op(kernels=(), method=True, toplevel=True)
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2), mat1 (n, m), mat2 (m, p), input broadcast to
    (n, p)."""
    input, mat1, mat2 = promoted(input, mat1, mat2)
    return _scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha)


@op(kernels=(), method=True, toplevel=True)
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * input + alpha * (mat @ vec), input broadcast to (n,)."""
    input, mat, vec = promoted(input, mat, vec)
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


@op(kernels=(), method=True, toplevel=True)
def baddbmm(
    input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1
) -> Tensor:
    """beta * input + alpha * bmm(batch1, batch2), input broadcast to (b, n, p)."""
    input, batch1, batch2 = promoted(input, batch1, batch2)
    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)


@op(kernels=(), method=True, toplevel=True)
def addbmm(
    input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1
) -> Tensor:
    """beta * input + alpha * sum_b batch1[b] @ batch2[b], input broadcast to (n, p): one
    GEMM of (n, b*m) by (b*m, p), whose depth runs over the batch."""
    input, batch1, batch2 = promoted(input, batch1, batch2)
    _rank("addbmm", "batch1", batch1, 3)
    _rank("addbmm", "batch2", batch2, 3)
    if batch1.shape[0] != batch2.shape[0]:
        raise ValueError(f"addbmm: batch sizes differ: {batch1.shape} and {batch2.shape}")
    if batch1.shape[2] != batch2.shape[1]:
        raise _cannot_multiply("addbmm", batch1.shape, batch2.shape)
    b, n, m = batch1.shape
    a = reshape(permute(batch1, (1, 0, 2)), (n, b * m))
    return _scaled_sum("addbmm", input, matmul(a, reshape(batch2, (b * m, -1))), beta, alpha)


def _dims_list(d: Any, ndim: int, what: str) -> list[int]:
    d = [d] if isinstance(d, (int, np.integer)) else list(d)
    out = []
    for i in d:
        if not -ndim <= i < ndim:
            raise IndexError(f"tensordot: dim {i} is out of range for {what} of rank {ndim}")
        out.append(int(i) % ndim)
    return out


@op(kernels=(), toplevel=True)
def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Contract a's dims dims[0] with b's dims dims[1], pairwise in order (an int n: a's
    last n with b's first n): one GEMM after moving the contracted dims together."""
    a, b = tensor_pair(a, b)
    if isinstance(dims, (int, np.integer)):
        if not 0 <= dims <= min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: dims {dims} must be in [0, min({a.ndim}, {b.ndim})]")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        if len(dims) != 2:
            raise ValueError(f"tensordot: dims must be an int or two lists of dims, got {dims}")
        da, db = _dims_list(dims[0], a.ndim, "a"), _dims_list(dims[1], b.ndim, "b")
    if len(da) != len(db) or any(
        a.shape[i] != b.shape[j] and 1 not in (a.shape[i], b.shape[j]) for i, j in zip(da, db)
    ):
        raise ValueError(
            f"tensordot: contracted dims {da} of {a.shape} and {db} of {b.shape} differ in size"
        )
    # A size-1 dim contracted with a longer one broadcasts, as PyTorch's: the longer side
    # is summed over that dim first (keepdim), leaving a 1-by-1 contraction.
    for i, j in zip(da, db):
        if a.shape[i] == 1 and b.shape[j] != 1:
            b = sum(b, j, keepdim=True)
        elif b.shape[j] == 1 and a.shape[i] != 1:
            a = sum(a, i, keepdim=True)
    fa = [i for i in range(a.ndim) if i not in da]
    fb = [j for j in range(b.ndim) if j not in db]
    c = math.prod(a.shape[i] for i in da)
    am = reshape(permute(a, fa + da), (-1 if c else math.prod(a.shape[i] for i in fa), c))
    bm = reshape(permute(b, db + fb), (c, math.prod(b.shape[j] for j in fb)))
    return reshape(matmul(am, bm), tuple(a.shape[i] for i in fa) + tuple(b.shape[j] for j in fb))


@op(kernels=(), method=True, toplevel=True)
def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: out[i*q + k, ...] = input[i, ...] * other[k, ...] per dim (the
    lower-rank operand padded with leading 1s)."""
    input, other = tensor_pair(input, other)
    nd = max(input.ndim, other.ndim)
    sa = (1,) * (nd - input.ndim) + input.shape
    sb = (1,) * (nd - other.ndim) + other.shape
    # interleave: (a0, 1, a1, 1, ...) * (1, b0, 1, b1, ...) -> (a0 b0, a1 b1, ...)
    a = reshape(input, tuple(x for s in sa for x in (s, 1)))
    b = reshape(other, tuple(x for s in sb for x in (1, s)))
    return reshape(mul(a, b), tuple(x * y for x, y in zip(sa, sb)))


# ---- einsum ------------------------------------------------------------------------------


def _parse_term(eq: str, term: str) -> list:
    """The labels of one term: letters, and "..." as the single label Ellipsis."""
    labels, rest = [], term
    while rest:
        if rest.startswith("..."):
            if Ellipsis in labels:
                raise ValueError(f"einsum: more than one '...' in term {term!r} of {eq!r}")
            labels.append(Ellipsis)
            rest = rest[3:]
        elif rest[0].isalpha() and rest[0].isascii():
            labels.append(rest[0])
            rest = rest[1:]
        else:
            raise ValueError(f"einsum: invalid character {rest[0]!r} in equation {eq!r}")
    return labels


def _einsum_labels(eq: str, operands: tuple) -> tuple[list[list], list]:
    """Each operand's labels, one per dim ('...' replaced by the labels 0, 1, ... of the
    broadcast ellipsis dims, right-aligned), and the output's labels."""
    eq = eq.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = [_parse_term(eq, t) for t in lhs.split(",")]
    if len(terms) != len(operands):
        raise ValueError(
            f"einsum: equation {eq!r} has {len(terms)} operand terms but {len(operands)} "
            "operands were given"
        )
    n_ell = 0
    for labels, x in zip(terms, operands):
        named = len(labels) - (Ellipsis in labels)
        if (x.ndim != named) if Ellipsis not in labels else (x.ndim < named):
            raise ValueError(
                f"einsum: term {''.join('...' if s is Ellipsis else s for s in labels)!r} "
                f"does not fit an operand of shape {x.shape}"
            )
        n_ell = max(n_ell, x.ndim - named if Ellipsis in labels else 0)
    ops_labels = []
    for labels, x in zip(terms, operands):
        if Ellipsis in labels:
            i = labels.index(Ellipsis)
            k = x.ndim - (len(labels) - 1)
            labels = labels[:i] + list(range(n_ell - k, n_ell)) + labels[i + 1 :]
        ops_labels.append(labels)
    letters = [s for labels in terms for s in labels if s is not Ellipsis]
    if arrow:
        out = _parse_term(eq, rhs)
        for s in out:
            if s is not Ellipsis and (s not in letters or out.count(s) > 1):
                raise ValueError(
                    f"einsum: output label {s!r} of {eq!r} "
                    + ("appears more than once" if s in letters else "is in no operand")
                )
        if Ellipsis in out:
            i = out.index(Ellipsis)
            out = out[:i] + list(range(n_ell)) + out[i + 1 :]
    else:  # implicit: the ellipsis dims, then the letters seen once, in alphabetical order
        out = list(range(n_ell)) + sorted(s for s in set(letters) if letters.count(s) == 1)
    return ops_labels, out


def _diagonal(x: Tensor, labels: list) -> tuple[Tensor, list]:
    """x with each label repeated within it reduced to one dim (its diagonal), moved last."""
    while len(set(labels)) < len(labels):
        s = next(s for s in labels if labels.count(s) > 1)
        i, j = (k for k, t in enumerate(labels) if t == s)
        if x.shape[i] != x.shape[j]:
            raise ValueError(
                f"einsum: label {s!r} is repeated over dims of sizes {x.shape[i]} and {x.shape[j]}"
            )
        rest = [k for k in range(x.ndim) if k not in (i, j)]
        idx = np.arange(x.shape[i])
        x = getitem(permute(x, rest + [i, j]), (Ellipsis, idx, idx))
        labels = [labels[k] for k in rest] + [s]
    return x, labels


def _sum_out(x: Tensor, labels: list, keep: set) -> tuple[Tensor, list]:
    axes = tuple(k for k, s in enumerate(labels) if s not in keep)
    if not axes:
        return x, labels
    return sum(x, axes), [s for s in labels if s in keep]


def _contract(a: Tensor, la: list, b: Tensor, lb: list, keep: set) -> tuple[Tensor, list]:
    """The product of a and b over their shared labels: shared labels in `keep` are the
    batch of one batched GEMM, the others its depth (labels neither a nor b shares and
    nothing later needs are summed first)."""
    a, la = _sum_out(a, la, keep | set(lb))
    b, lb = _sum_out(b, lb, keep | set(la))
    size = {}
    for x, labels in ((a, la), (b, lb)):
        for s, n in zip(labels, x.shape):
            if size.get(s, 1) != 1 and n not in (1, size[s]):
                raise ValueError(f"einsum: label {s!r} has sizes {size[s]} and {n}")
            size[s] = n if size.get(s, 1) == 1 else size[s]
    batch = [s for s in la if s in lb and s in keep]
    depth = [s for s in la if s in lb and s not in keep]
    left = [s for s in la if s not in lb]
    right = [s for s in lb if s not in la]

    def arrange(x: Tensor, labels: list, order: list, groups: list) -> Tensor:
        x = permute(x, [labels.index(s) for s in order])
        full = tuple(size[s] for s in order)
        if x.shape != full:  # size-1 dims broadcast against the other operand
            x = expand(x, full)
        return reshape(x, tuple(math.prod(size[s] for s in g) for g in groups))

    am = arrange(a, la, batch + left + depth, [batch, left, depth])
    bm = arrange(b, lb, batch + depth + right, [batch, depth, right])
    # nothing to sum over (an outer or elementwise product): a broadcast multiply, not a
    # GEMM of depth 1
    out = matmul(am, bm) if depth else mul(am, bm)
    labels = batch + left + right
    return reshape(out, tuple(size[s] for s in labels)), labels


@op(kernels=(), toplevel=True)
def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation as numpy/torch.einsum: "ij,jk->ik", "...ij,...jk", "ii->i",
    implicit output (the labels seen once, alphabetically). Repeated labels within an
    operand take its diagonal; the operands are contracted left to right, each pair by one
    batched GEMM (matmul) after permuting and reshaping; labels no later term needs are
    summed as early as possible."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum: at least one operand is needed")
    operands = tuple(promoted(*operands))
    ops_labels, out = _einsum_labels(equation, operands)
    xs = [_diagonal(x, labels) for x, labels in zip(operands, ops_labels)]
    x, labels = xs[0]
    for i in range(1, len(xs)):
        later = set(out).union(*(set(lab) for _, lab in xs[i + 1 :]))
        x, labels = _contract(x, labels, xs[i][0], xs[i][1], later)
    x, labels = _sum_out(x, labels, set(out))
    return permute(x, [labels.index(s) for s in out]) if labels != out else x


# ---- the decompositions ------------------------------------------------------------------


def _matrices(fn: str, A: Any, square: bool = True) -> Tensor:
    """A as a floating tensor of (..., n, n) (or any (..., m, n)); TypeError / ValueError."""
    A = as_tensor(A)
    if not is_floating(A.dtype):
        raise TypeError(f"linalg.{fn}: expected a floating point tensor, got dtype {A.dtype}")
    if A.ndim < 2:
        raise ValueError(f"linalg.{fn}: A must have at least 2 dimensions, got shape {A.shape}")
    if square and A.shape[-1] != A.shape[-2]:
        raise ValueError(
            f"linalg.{fn}: A must be batches of square matrices, but they are "
            f"{A.shape[-2]} by {A.shape[-1]} matrices"
        )
    return A


def _raise_for_info(fn: str, info: np.ndarray, cholesky: bool = False) -> None:
    """LinAlgError naming the first failing matrix of the batch and its pivot or minor
    (Note [Linalg info] in cpp/kernels/linalg.h), in PyTorch's words."""
    bad = np.argwhere(info != 0)
    if not len(bad):
        return
    at = tuple(int(i) for i in bad[0])
    k = int(info[at])
    where = f"(Batch element {at[0] if len(at) == 1 else at}): " if info.ndim else ""
    if cholesky:
        msg = (
            "The factorization could not be completed because the input is not "
            f"positive-definite (the leading minor of order {k} is not positive-definite)."
        )
    else:
        msg = (
            f"The diagonal element {k} is zero, the {'inversion' if fn == 'inv' else 'solve'} "
            "could not be completed because the input matrix is singular."
        )
    raise LinAlgError(f"linalg.{fn}: {where}{msg}")


def _batch_broadcast(A: Tensor, B: Tensor) -> tuple[Tensor, Tensor]:
    """A (..., n, n) and B (..., n, k) expanded to one batch shape."""
    batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    if A.shape[:-2] != batch:
        A = expand(A, batch + A.shape[-2:])
    if B.shape[:-2] != batch:
        B = expand(B, batch + B.shape[-2:])
    return A, B


def _cholesky_backward(node: Any, g: np.ndarray) -> Any:
    L, upper = node.saved
    return (_b.active.cholesky_backward(g, L, upper),)


def cholesky_info(A: Any, upper: bool = False) -> tuple[Tensor, np.ndarray]:
    """(L, info) without raising (linalg.cholesky_ex)."""
    A = _matrices("cholesky", A)
    L, info = _b.active.cholesky_forward(A._array, bool(upper))
    return record(L, (A,), _cholesky_backward, (L, bool(upper)), reads=False), info


@op(method=True, toplevel=True)
def cholesky(A: Tensor, upper: bool = False) -> Tensor:
    """L (lower) with A = L L^T, from A's lower triangle, for symmetric positive-definite A
    (upper: U with A = U^T U, from its upper triangle); LinAlgError otherwise. The gradient
    is symmetric (Murray 2016, as PyTorch's)."""
    L, info = cholesky_info(A, upper)
    _raise_for_info("cholesky", info, cholesky=True)
    return L


def _solve_backward(node: Any, g: np.ndarray) -> Any:
    A, B = node.inputs
    return _b.active.solve_backward(g, A._array, node.saved, A.requires_grad, B.requires_grad)


def solve_info(A: Any, B: Any, left: bool = True) -> tuple[Tensor, np.ndarray]:
    """(X, info) without raising (linalg.solve_ex)."""
    A, B = promoted(A, B)
    A = _matrices("solve", A)
    if not is_floating(B.dtype):
        raise TypeError(f"linalg.solve: expected a floating point B, got dtype {B.dtype}")
    n = A.shape[-1]
    if not left:  # X A = B  <=>  A^T X^T = B^T (B a matrix: PyTorch's vector case is left's)
        if B.ndim < 2 or B.shape[-1] != n:
            raise ValueError(
                f"linalg.solve: A of shape {A.shape} and B of shape {B.shape} do not match "
                f"for X A = B (B must be (..., k, {n}))"
            )
        X, info = solve_info(A.mT, B.mT)
        return X.mT, info
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if vector:
        X, info = solve_info(A, unsqueeze(B, -1))
        return squeeze(X, -1), info
    if B.ndim < 2 or B.shape[-2] != n:
        raise ValueError(
            f"linalg.solve: A of shape {A.shape} and B of shape {B.shape} do not match "
            f"(B must be (..., {n}, k) or (..., {n}))"
        )
    try:
        A, B = _batch_broadcast(A, B)
    except ValueError:
        raise ValueError(
            f"linalg.solve: the batch dims of A {A.shape} and B {B.shape} do not broadcast"
        ) from None
    X, info = _b.active.solve_forward(A._array, B._array)
    return record(X, (A, B), _solve_backward, X, reads=(True, False)), info


@op()
def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (left=False: X A = B) by LU with partial pivoting; B (..., n, k) or a
    vector (..., n); batch dims broadcast. LinAlgError for a singular A."""
    X, info = solve_info(A, B, left)
    _raise_for_info("solve", info)
    return X


def _inv_backward(node: Any, g: np.ndarray) -> Any:
    return (_b.active.inv_backward(g, node.saved),)


def inv_info(A: Any) -> tuple[Tensor, np.ndarray]:
    """(A^-1, info) without raising (linalg.inv_ex)."""
    A = _matrices("inv", A)
    Y, info = _b.active.inv_forward(A._array)
    return record(Y, (A,), _inv_backward, Y, reads=False), info


@op(kernels=("inv",), method=True, toplevel=True)
def inverse(A: Tensor) -> Tensor:
    """A^-1 by LU with partial pivoting (linalg.inv); LinAlgError for a singular A."""
    Y, info = inv_info(A)
    _raise_for_info("inv", info)
    return Y


def _slogdet_backward(node: Any, g: tuple) -> Any:
    g_logabsdet = g[1]
    if g_logabsdet is None:  # the sign has no gradient
        return (None,)
    return (_b.active.slogdet_backward(g_logabsdet, node.inputs[0]._array),)


@op(method=True, toplevel=True)
def slogdet(A: Tensor) -> Any:
    """(sign, logabsdet) with det A = sign * exp(logabsdet), from LU; (0, -inf) for a
    singular A. The gradient of logabsdet is A^-T (NaN for a singular A)."""
    A = _matrices("slogdet", A)
    sign, logabsdet = _b.active.slogdet_forward(A._array)
    return return_types.slogdet(*record((sign, logabsdet), (A,), _slogdet_backward))


def _cofactor(A: np.ndarray) -> np.ndarray:
    """adj(A)^T = det(U) det(V) U diag(prod_{j != i} s_j) V^T from A = U S V^T: the
    gradient of det, defined for singular A too (PyTorch's)."""
    U, S, Vh = _b.active.svd_forward(A, False)
    sign = _b.active.slogdet_forward(U)[0] * _b.active.slogdet_forward(Vh)[0]
    others = [np.prod(np.delete(S, i, axis=-1), axis=-1) for i in range(S.shape[-1])]
    prods = np.stack(others, -1) if others else S
    return (sign[..., None, None] * U * prods[..., None, :]) @ Vh


def _det_backward(node: Any, g: np.ndarray) -> Any:
    A, d = node.inputs[0]._array, node.saved
    ga = _b.active.slogdet_backward(np.asarray(g * d), A)  # g det(A) A^-T
    singular = d == 0
    if singular.any():  # A^-T is NaN there: the cofactors instead
        ga[singular] = np.asarray(g)[singular][..., None, None] * _cofactor(A[singular])
    return (ga,)


@op(kernels=("slogdet", "svd"), method=True, toplevel=True)
def det(A: Tensor) -> Tensor:
    """det A = sign * exp(logabsdet) from LU (slogdet's kernel). Its gradient is
    det(A) A^-T, or for a singular A the cofactor matrix (from the SVD), as PyTorch's."""
    A = _matrices("det", A)
    sign, logabsdet = _b.active.slogdet_forward(A._array)
    d = np.asarray(sign * np.exp(logabsdet))
    return record(d, (A,), _det_backward, d)


@op(kernels=(), method=True, toplevel=True)
def logdet(A: Tensor) -> Tensor:
    """log det A: NaN where det A < 0, -inf where it is 0, as PyTorch's."""
    sign, logabsdet = slogdet(A)
    with np.errstate(divide="ignore", invalid="ignore"):
        return add(logabsdet, _constant(np.asarray(np.log(sign._array))))


def _solve_triangular_backward(node: Any, g: np.ndarray) -> Any:
    A, B = node.inputs
    X, upper, unitriangular = node.saved
    return _b.active.solve_triangular_backward(
        g, A._array, X, upper, unitriangular, A.requires_grad, B.requires_grad
    )


@op()
def solve_triangular(
    A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False
) -> Tensor:
    """X with T X = B (left=False: X T = B), T = A's upper or lower triangle (unit diagonal
    when unitriangular; the other entries are not read). A zero on T's diagonal gives
    inf/NaN, not an error, as PyTorch's."""
    A, B = promoted(A, B)
    A = _matrices("solve_triangular", A)
    if not left:  # X T = B  <=>  T^T X^T = B^T, T^T of the other triangle
        return solve_triangular(
            A.mT, B.mT, upper=not upper, left=True, unitriangular=unitriangular
        ).mT
    if B.ndim < 2 or B.shape[-2] != A.shape[-1]:
        raise ValueError(
            f"linalg.solve_triangular: A of shape {A.shape} and B of shape {B.shape} do not "
            f"match (B must be (..., {A.shape[-1]}, k))"
        )
    A, B = _batch_broadcast(A, B)
    X = _b.active.solve_triangular_forward(A._array, B._array, bool(upper), bool(unitriangular))
    saved = (X, bool(upper), bool(unitriangular))
    return record(X, (A, B), _solve_triangular_backward, saved, reads=(True, False))


def _zeros_for(g: Any, like: np.ndarray) -> np.ndarray:
    return np.zeros_like(like) if g is None else g


def _qr_backward(node: Any, g: tuple) -> Any:
    Q, R, mode = node.saved
    m, n = Q.shape[-2], R.shape[-1]
    if mode == "r":
        raise RuntimeError(
            "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
            "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
            "through linalg.qr."
        )
    if mode == "complete" and m > n:
        raise RuntimeError(
            "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."
        )
    return (_b.active.qr_backward(_zeros_for(g[0], Q), _zeros_for(g[1], R), Q, R),)


@op()
def qr(A: Tensor, mode: str = "reduced") -> Any:
    """(Q, R) with A = Q R, Q orthonormal columns, R upper triangular, by Householder
    reflections (LAPACK's signs). mode: 'reduced' (Q m x k, R k x n, k = min(m, n)),
    'complete' (Q m x m, R m x n) or 'r' (R only; Q empty, no gradient)."""
    A = _matrices("qr", A, square=False)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    Q, R = _b.active.qr_forward(A._array, "complete" if mode == "complete" else "reduced")
    Qt, Rt = record((Q, R), (A,), _qr_backward, (Q, R, mode), reads=False)
    if mode == "r":
        Qt = as_tensor(np.empty((0,), A.dtype))
    return return_types.linalg_qr(Qt, Rt)


def _svd_backward(node: Any, g: tuple) -> Any:
    U, S, Vh = node.saved
    k = S.shape[-1]
    if g[0] is None and g[2] is None:
        # Only S used (svdvals, nuclear and spectral norms): U diag(gS) Vh, PyTorch's
        # formula, finite also at repeated or zero singular values (the U/V terms' 1 /
        # (s_i^2 - s_j^2) would meet zero gradients there and give NaN).
        US = np.ascontiguousarray(U[..., :k] * g[1][..., None, :])
        return (_b.active.matmul_forward(US, np.ascontiguousarray(Vh[..., :k, :])),)
    # full_matrices: the columns past k are not unique (any orthonormal completion): their
    # gradient is dropped, as PyTorch's
    gU, gVh = _zeros_for(g[0], U)[..., :k], _zeros_for(g[2], Vh)[..., :k, :]
    U, Vh = U[..., :k], Vh[..., :k, :]
    return (_b.active.svd_backward(gU, _zeros_for(g[1], S), gVh, U, S, Vh),)


@op()
def svd(A: Tensor, full_matrices: bool = True) -> Any:
    """(U, S, Vh) with A = U diag(S) Vh, S descending, by one-sided Jacobi rotations; the
    signs are canonical (Note [Canonical signs] in cpp/kernels/linalg.h), PyTorch's are
    LAPACK's (both arbitrary). The gradient of U and Vh is undefined at repeated singular
    values (and, for the non-square case, at zero ones): there it is inf/NaN."""
    A = _matrices("svd", A, square=False)
    U, S, Vh = _b.active.svd_forward(A._array, bool(full_matrices))
    return return_types.linalg_svd(
        *record((U, S, Vh), (A,), _svd_backward, (U, S, Vh), reads=False)
    )


def _eigh_backward(node: Any, g: tuple) -> Any:
    w, V = node.saved
    return (_b.active.eigh_backward(_zeros_for(g[0], w), _zeros_for(g[1], V), w, V),)


@op()
def eigh(A: Tensor, UPLO: str = "L") -> Any:
    """(eigenvalues ascending, eigenvectors as columns) of the symmetric matrix read from
    A's lower (UPLO='L') or upper ('U') triangle, by cyclic Jacobi rotations; canonical
    signs (Note [Canonical signs]). The gradient (symmetric) is undefined at repeated
    eigenvalues."""
    A = _matrices("eigh", A)
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    w, V = _b.active.eigh_forward(A._array, UPLO == "U")
    return return_types.linalg_eigh(*record((w, V), (A,), _eigh_backward, (w, V), reads=False))


@op(kernels=(), method=True, toplevel=True)
def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:
    """X with A X = B for A = L L^T (upper: A = U^T U) given its Cholesky factor: two
    triangular solves."""
    B, L = promoted(B, L)
    L = _matrices("cholesky_solve", L)
    if upper:  # U^T Y = B, U X = Y
        return solve_triangular(L, solve_triangular(L.mT, B, upper=False), upper=True)
    return solve_triangular(L.mT, solve_triangular(L, B, upper=False), upper=True)


@op(kernels=(), method=True, toplevel=True)
def cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:
    """A^-1 for A = L L^T (upper: U^T U) from its Cholesky factor."""
    L = _matrices("cholesky_inverse", L)
    eye = _constant(np.eye(L.shape[-1], dtype=L.dtype))
    return cholesky_solve(expand(eye, L.shape), L, upper)


def _zero_backward(node: Any, g: np.ndarray) -> Any:
    return (np.zeros_like(g),)


@op(kernels=(), method=True, toplevel=True)
def matrix_power(A: Tensor, n: int) -> Tensor:
    """A^n by repeated squaring (matmul); n = 0 gives the identity, n < 0 powers of A^-1."""
    A = as_tensor(A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(
            f"linalg.matrix_power: A must be batches of square matrices, got shape {A.shape}"
        )
    n = _int_arg(n, "linalg.matrix_power(): argument 'n'")
    if n == 0:  # the identity, with a zero gradient as PyTorch's
        eye = np.ascontiguousarray(np.broadcast_to(np.eye(A.shape[-1], dtype=A.dtype), A.shape))
        return record(eye, (A,), _zero_backward, reads=False)
    if n < 0:
        A, n = inverse(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


@op(kernels=(), method=True, toplevel=True)
def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a 2-D tensor."""
    from .layout import diagonal

    x = as_tensor(input)
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x.ndim}")
    return sum(diagonal(x))


@op(kernels=(), method=True, toplevel=True)
def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along dim (the first dim of size 3 when None, as
    torch.cross; torch.linalg.cross defaults to -1), broadcasting the other dims."""
    from .elementwise import sub
    from .layout import narrow, cat

    a, b = promoted(input, other)
    shape = np.broadcast_shapes(a.shape, b.shape)
    a, b = expand(a, shape), expand(b, shape)
    if dim is None:
        dims = [i for i, n in enumerate(shape) if n == 3]
        if not dims:
            raise RuntimeError(f"no dimension of size 3 in input of shape {tuple(shape)}")
        dim = dims[0]
    d = dim % len(shape) if len(shape) else 0
    if not shape or shape[d] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {tuple(shape)}"
        )

    def c(t: Tensor, i: int) -> Tensor:
        return narrow(t, d, i % 3, 1)

    # component i: a[i+1] b[i+2] - a[i+2] b[i+1]
    parts = [sub(mul(c(a, i + 1), c(b, i + 2)), mul(c(a, i + 2), c(b, i + 1))) for i in range(3)]
    return cat(parts, d)


@op(kernels=(), method=True, toplevel=True)
def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The p-norm of input - other (broadcasting), over all elements."""
    from .elementwise import sub
    from .reduce import vector_norm

    return vector_norm(sub(input, other), p)
