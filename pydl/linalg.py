"""pydl.linalg: torch.linalg's functions, names, arguments and return types.

The decompositions are ops of pydl/_ops/linalg.py (one C++ kernel each forward and
backward, batched over leading dims, float32 and float64); the rest compose them.
Singular or indefinite inputs raise LinAlgError (a RuntimeError) naming the batch element
and the failing pivot or minor; the *_ex forms return the info instead.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import return_types
from ._ops.activation import abs
from ._ops.layout import permute, unsqueeze
from ._ops.linalg import (
    LinAlgError,
    cholesky,
    cholesky_info,
    matrix_power,
    det,
    eigh,
    inv_info,
    qr,
    solve,
    solve_info,
    solve_triangular,
    svd,
)
from ._ops.linalg import cross as _cross
from ._ops.linalg import inverse as inv
from ._ops.linalg import slogdet as _slogdet
from ._ops.linear import matmul
from ._ops.reduce import amax, amin, sum, vector_norm
from .tensor import Tensor, as_tensor
from ._dtypes import is_floating


def _info_tensor(info: np.ndarray) -> Tensor:
    return as_tensor(np.asarray(info, dtype=np.int32))


def _raise_if(check_errors: bool, fn: str, info: np.ndarray, cholesky: bool = False) -> None:
    if check_errors:
        from ._ops.linalg import _raise_for_info

        _raise_for_info(fn, info, cholesky)


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> Any:
    """(L, info) as cholesky without raising: info 0, or the order of the first leading
    minor that is not positive-definite (then L is unspecified)."""
    L, info = cholesky_info(A, upper)
    _raise_if(check_errors, "cholesky", info, cholesky=True)
    return return_types.linalg_cholesky_ex(L, _info_tensor(info))


def inv_ex(A: Tensor, *, check_errors: bool = False) -> Any:
    """(inverse, info) as inv without raising: info 0, or the 1-based index of the first
    zero pivot (then the inverse is NaN)."""
    Y, info = inv_info(A)
    _raise_if(check_errors, "inv", info)
    return return_types.linalg_inv_ex(Y, _info_tensor(info))


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False) -> Any:
    """(result, info) as solve without raising."""
    X, info = solve_info(A, B, left)
    _raise_if(check_errors, "solve", info)
    return return_types.linalg_solve_ex(X, _info_tensor(info))


def slogdet(A: Tensor) -> Any:
    """(sign, logabsdet) with det A = sign * exp(logabsdet); (0, -inf) for a singular A."""
    return return_types.linalg_slogdet(*_slogdet(A))


def svdvals(A: Tensor) -> Tensor:
    """The singular values of A, descending (differentiable where they are distinct)."""
    return svd(A, full_matrices=False).S


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues of the symmetric A (its UPLO triangle), ascending."""
    return eigh(A, UPLO).eigenvalues


def multi_dot(tensors: Any) -> Tensor:
    """The chained product of the matrices (the first may be a vector (n,), the last (n,)),
    left to right."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise ValueError(f"multi_dot: expected at least 2 tensors, got {len(tensors)}")
    out = tensors[0]
    for t in tensors[1:]:
        out = matmul(out, t)
    return out


def _to_last(A: Tensor, dim: tuple) -> tuple[Tensor, tuple[int, int]]:
    """A with its two dims `dim` moved last, and them normalized."""
    if len(dim) != 2:
        raise ValueError(f"linalg.matrix_norm: dim must be a 2-tuple of ints, got {dim}")
    d0, d1 = (d % A.ndim if -A.ndim <= d < A.ndim else None for d in dim)
    if d0 is None or d1 is None or d0 == d1:
        raise ValueError(f"linalg.matrix_norm: dims {dim} are invalid for shape {A.shape}")
    rest = [i for i in range(A.ndim) if i not in (d0, d1)]
    return permute(A, rest + [d0, d1]), (d0, d1)


def matrix_norm(
    A: Tensor, ord: Any = "fro", dim: tuple = (-2, -1), keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """The matrix norm of ord over the two dims `dim`: 'fro' (sqrt of the sum of squares),
    'nuc' (sum of singular values), 2 / -2 (largest / smallest singular value), 1 / -1 (max
    / min column abs sum), inf / -inf (max / min row abs sum)."""
    A = as_tensor(A)
    if dtype is not None:
        A = A.to(dtype)
    if A.ndim < 2:
        raise ValueError(f"linalg.matrix_norm: A must have at least 2 dims, got shape {A.shape}")
    if not is_floating(A.dtype):
        raise TypeError(f"linalg.matrix_norm: expected a floating point tensor, got {A.dtype}")
    X, (d0, d1) = _to_last(A, tuple(dim))
    if ord == "fro":
        y = vector_norm(X, 2, (-2, -1))  # its gradient is 0 at a zero matrix, as PyTorch's
    elif ord == "nuc":
        y = sum(svdvals(X), -1)
    elif ord in (2, -2):
        y = (amax if ord == 2 else amin)(svdvals(X), -1)
    elif ord in (1, -1):
        y = (amax if ord == 1 else amin)(sum(abs(X), -2), -1)
    elif ord in (math.inf, -math.inf):
        y = (amax if ord > 0 else amin)(sum(abs(X), -1), -1)
    else:
        raise ValueError(
            f"linalg.matrix_norm: order {ord!r} not supported (use 'fro', 'nuc', 1, -1, 2, "
            "-2, inf or -inf)"
        )
    if keepdim:
        for d in sorted((d0, d1)):
            y = unsqueeze(y, d)
    return y


def norm(
    A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """A vector norm (dim an int, or dim None with ord None: over all of A flattened, or
    A 1-D) or a matrix norm (dim a 2-tuple, or dim None and A 2-D with an ord), as
    torch.linalg.norm."""
    A = as_tensor(A)
    if isinstance(dim, (int, np.integer)):
        dim = (int(dim),)
    matrix = (dim is not None and len(dim) == 2) or (
        dim is None and ord is not None and A.ndim == 2
    )
    if matrix:
        return matrix_norm(A, "fro" if ord is None else ord, dim or (-2, -1), keepdim, dtype=dtype)
    if dim is None and ord is not None and A.ndim != 1:
        raise ValueError(
            f"linalg.norm: an ord with dim=None needs a 1-D or 2-D input, got shape {A.shape}"
        )
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along dim (default the last), as torch.linalg.cross."""
    return _cross(input, other, dim)


__all__ = [
    "LinAlgError",
    "cross",
    "cholesky",
    "cholesky_ex",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "inv_ex",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "multi_dot",
    "norm",
    "qr",
    "slogdet",
    "solve",
    "solve_ex",
    "solve_triangular",
    "svd",
    "svdvals",
    "vector_norm",
]
