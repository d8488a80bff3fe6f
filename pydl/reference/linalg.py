"""Linear algebra: matrix products (mm, bmm, addmm, baddbmm, outer, dot, einsum) and the
decompositions of pydl.linalg (solve, inv, det, slogdet, cholesky, qr, svd).

NumPy twins of cpp/kernels/linalg."""

import numpy as np  # noqa: F401
