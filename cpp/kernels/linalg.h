// Linear algebra: the decompositions of pydl.linalg (cholesky, solve, inv, slogdet,
// solve_triangular, qr, svd, eigh), forward and backward. The matrix products (mm, bmm,
// addmm, baddbmm, outer, dot, einsum, ...) are compositions of matmul's GEMM in the op
// layer and have no kernels here. The formulas are in pydl/reference/linalg.py's docstring.
//
// Every kernel takes a stack of `batch` matrices stored one after another (C-contiguous,
// row-major), computes each matrix as one task of a parallel_for (so the result is the same
// for any thread count: Note [Determinism]) and computes in double internally; T is float
// or double (Note [Kernel dtypes]). Plain loops: the matrices of the models that use these
// (flows, mixtures, Gaussian processes) are small.
//
// Note [Linalg info]: the factorizations that can fail write one int64 per matrix, as
// LAPACK's info: 0, or the 1-based index of the first zero pivot of LU with partial pivoting
// (solve, inv; the solution is then NaN), or the order of the first leading minor that is
// not positive-definite (cholesky; the factor is then unspecified). The op layer raises
// LinAlgError from it (pydl/_ops/linalg.py), or hands it back (linalg.*_ex).
//
// Note [Canonical signs]: singular vectors and eigenvectors are defined up to sign (and,
// for the extra columns of full_matrices=True, up to any orthonormal completion). Both
// backends flip each column of U (eigh: of V), and the matching row of Vh, so that the
// first of its largest-magnitude entries is positive, and complete U (V) with the columns
// of the Householder QR of its own columns (LAPACK's geqrf signs); PyTorch's follow its
// LAPACK driver, so tests compare sign-invariant quantities with PyTorch.
#pragma once
#include <cstdint>

namespace pydl {

// L (lower, A = L L^T, read from A's lower triangle) or, with upper, U (A = U^T U, read from
// the upper triangle); info per matrix (Note [Linalg info]).
template <typename T>
void cholesky_forward(const T* a, int64_t batch, int64_t n, bool upper, T* l, int64_t* info);
// grad_a = L^-T Phi(L^T gL) L^-1 (symmetric), from the factor the forward returned.
template <typename T>
void cholesky_backward(const T* grad, const T* l, int64_t batch, int64_t n, bool upper, T* grad_a);

// X (n x k) with A X = B by LU with partial pivoting; info per matrix.
template <typename T>
void solve_forward(const T* a, const T* b, int64_t batch, int64_t n, int64_t k, T* x,
                   int64_t* info);
// grad_b = A^-T grad, grad_a = -grad_b X^T; either output may be null.
template <typename T>
void solve_backward(const T* grad, const T* a, const T* x, int64_t batch, int64_t n, int64_t k,
                    T* grad_a, T* grad_b);

template <typename T>
void inv_forward(const T* a, int64_t batch, int64_t n, T* y, int64_t* info);
// grad_a = -Y^T grad Y^T for Y = A^-1.
template <typename T>
void inv_backward(const T* grad, const T* y, int64_t batch, int64_t n, T* grad_a);

// sign and log|det A| per matrix from LU; (0, -inf) for a singular A, (1, 0) for n = 0.
template <typename T>
void slogdet_forward(const T* a, int64_t batch, int64_t n, T* sign, T* logabsdet);
// grad_a = grad[i] * A^-T (grad: one value per matrix, the gradient of logabsdet).
template <typename T>
void slogdet_backward(const T* grad, const T* a, int64_t batch, int64_t n, T* grad_a);

// X (n x k) with T X = B, T A's upper or lower triangle (its diagonal taken as 1 when
// unitriangular); a zero diagonal gives inf/NaN.
template <typename T>
void solve_triangular_forward(const T* a, const T* b, int64_t batch, int64_t n, int64_t k,
                              bool upper, bool unitriangular, T* x);
template <typename T>
void solve_triangular_backward(const T* grad, const T* a, const T* x, int64_t batch, int64_t n,
                               int64_t k, bool upper, bool unitriangular, T* grad_a, T* grad_b);

// Householder QR of A (m x n), k = min(m, n): Q (m x k, or m x m when complete) and R (k x n,
// or m x n).
template <typename T>
void qr_forward(const T* a, int64_t batch, int64_t m, int64_t n, bool complete, T* q, T* r);
// grad_a from the reduced factors Q (m x k), R (k x n) and their gradients.
template <typename T>
void qr_backward(const T* grad_q, const T* grad_r, const T* q, const T* r, int64_t batch, int64_t m,
                 int64_t n, T* grad_a);

// A = U diag(S) Vh by one-sided Jacobi rotations, S (k) descending; U m x k (m x m when
// full), Vh k x n (n x n); canonical signs (Note [Canonical signs]).
template <typename T>
void svd_forward(const T* a, int64_t batch, int64_t m, int64_t n, bool full, T* u, T* s, T* vh);
// grad_a from the reduced factors U (m x k), S (k), Vh (k x n) and their gradients.
template <typename T>
void svd_backward(const T* grad_u, const T* grad_s, const T* grad_vh, const T* u, const T* s,
                  const T* vh, int64_t batch, int64_t m, int64_t n, T* grad_a);

// Eigenvalues w (ascending) and eigenvectors V (columns) of the symmetric matrix read from A's
// lower (upper) triangle, by cyclic Jacobi rotations; canonical signs.
template <typename T>
void eigh_forward(const T* a, int64_t batch, int64_t n, bool upper, T* w, T* v);
template <typename T>
void eigh_backward(const T* grad_w, const T* grad_v, const T* w, const T* v, int64_t batch,
                   int64_t n, T* grad_a);

}  // namespace pydl
