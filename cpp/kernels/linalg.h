// Linear algebra: matrix products (mm, bmm, addmm, baddbmm, outer, dot, einsum) and the
// decompositions of pydl.linalg (solve, inv, det, slogdet, cholesky, qr, svd).
#pragma once
#include <cstdint>

namespace pydl {}  // namespace pydl
