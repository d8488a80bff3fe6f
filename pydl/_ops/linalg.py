"""Linear algebra: matrix products (mm, bmm, addmm, baddbmm, outer, dot, einsum) and the
decompositions of pydl.linalg (solve, inv, det, slogdet, cholesky, qr, svd).

(cpp/kernels/linalg, pydl/reference/linalg)."""

from __future__ import annotations
