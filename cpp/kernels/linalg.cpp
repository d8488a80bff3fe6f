// The linalg kernels (declared in linalg.h): one matrix per task, computed in double.
#include "kernels/linalg.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "core/buffer_pool.h"
#include "core/parallel.h"

namespace pydl {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = std::numeric_limits<double>::epsilon();

// A dense row-major matrix of doubles: the working copy of one matrix of a stack.
struct Mat {
    int64_t rows = 0, cols = 0;
    CheckedVector<double> d;
    Mat() = default;
    Mat(int64_t r, int64_t c, double fill = 0.0) : rows(r), cols(c), d(size_t(r * c), fill) {}
    double& operator()(int64_t i, int64_t j) { return d[size_t(i * cols + j)]; }
    double operator()(int64_t i, int64_t j) const { return d[size_t(i * cols + j)]; }
};

template <typename T>
Mat load(const T* p, int64_t r, int64_t c) {
    Mat m(r, c);
    for (int64_t i = 0; i < r * c; ++i) m.d[size_t(i)] = double(p[i]);
    return m;
}

template <typename T>
void store(const Mat& m, T* p) {
    for (size_t i = 0; i < m.d.size(); ++i) p[i] = T(m.d[i]);
}

Mat identity(int64_t r, int64_t c) {
    Mat m(r, c);
    for (int64_t i = 0; i < std::min(r, c); ++i) m(i, i) = 1.0;
    return m;
}

Mat transpose(const Mat& a) {
    Mat t(a.cols, a.rows);
    for (int64_t i = 0; i < a.rows; ++i)
        for (int64_t j = 0; j < a.cols; ++j) t(j, i) = a(i, j);
    return t;
}

// op(a) @ op(b), op the transpose when the flag is set.
Mat matmul(const Mat& a, bool ta, const Mat& b, bool tb) {
    const int64_t m = ta ? a.cols : a.rows, k = ta ? a.rows : a.cols, n = tb ? b.rows : b.cols;
    Mat c(m, n);
    for (int64_t i = 0; i < m; ++i)
        for (int64_t p = 0; p < k; ++p) {
            const double x = ta ? a(p, i) : a(i, p);
            if (x == 0.0) continue;
            for (int64_t j = 0; j < n; ++j) c(i, j) += x * (tb ? b(j, p) : b(p, j));
        }
    return c;
}

// The columns [c0, c1) of a.
Mat columns(const Mat& a, int64_t c0, int64_t c1) {
    Mat s(a.rows, c1 - c0);
    for (int64_t i = 0; i < a.rows; ++i)
        for (int64_t j = c0; j < c1; ++j) s(i, j - c0) = a(i, j);
    return s;
}

// Runs fn(i) for each matrix i of a stack, one matrix per task.
template <typename Fn>
void each_matrix(int64_t batch, Fn&& fn) {
    parallel_for(0, batch, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) fn(i);
    });
}

// ---- LU with partial pivoting ---------------------------------------------------------------

// P A = L U in place (L unit lower below the diagonal, U on and above it); perm[i] is the row
// of A that row i of P A holds. Returns the 1-based index of the first zero pivot, or 0.
struct LU {
    Mat lu;
    CheckedVector<int64_t> perm;
    int64_t info = 0;
    int swaps = 0;
};

LU lu_factor(Mat a) {
    const int64_t n = a.rows;
    LU f;
    f.perm.resize(size_t(n));
    std::iota(f.perm.begin(), f.perm.end(), int64_t(0));
    for (int64_t k = 0; k < n; ++k) {
        int64_t p = k;
        for (int64_t i = k + 1; i < n; ++i)
            if (std::abs(a(i, k)) > std::abs(a(p, k))) p = i;
        if (p != k) {
            for (int64_t j = 0; j < n; ++j) std::swap(a(k, j), a(p, j));
            std::swap(f.perm[size_t(k)], f.perm[size_t(p)]);
            ++f.swaps;
        }
        const double pivot = a(k, k);
        if (pivot == 0.0) {  // the column below is zero too: nothing to eliminate
            if (!f.info) f.info = k + 1;
            continue;
        }
        for (int64_t i = k + 1; i < n; ++i) {
            const double l = a(i, k) /= pivot;
            if (l == 0.0) continue;
            for (int64_t j = k + 1; j < n; ++j) a(i, j) -= l * a(k, j);
        }
    }
    f.lu = std::move(a);
    return f;
}

// X with A X = B (transposed: A^T X = B) from A's factors; B is n x k.
Mat lu_solve(const LU& f, const Mat& b, bool transposed) {
    const int64_t n = b.rows, k = b.cols;
    const Mat& lu = f.lu;
    Mat x(n, k);
    if (!transposed) {  // L U x = P b
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < k; ++j) x(i, j) = b(f.perm[size_t(i)], j);
        for (int64_t i = 0; i < n; ++i)  // L (unit lower)
            for (int64_t p = 0; p < i; ++p)
                for (int64_t j = 0; j < k; ++j) x(i, j) -= lu(i, p) * x(p, j);
        for (int64_t i = n - 1; i >= 0; --i) {  // U
            for (int64_t p = i + 1; p < n; ++p)
                for (int64_t j = 0; j < k; ++j) x(i, j) -= lu(i, p) * x(p, j);
            for (int64_t j = 0; j < k; ++j) x(i, j) /= lu(i, i);
        }
        return x;
    }
    // A^T = U^T L^T P: U^T z = b, L^T w = z, x[perm[i]] = w[i]
    Mat w = b;
    for (int64_t i = 0; i < n; ++i) {  // U^T (lower)
        for (int64_t p = 0; p < i; ++p)
            for (int64_t j = 0; j < k; ++j) w(i, j) -= lu(p, i) * w(p, j);
        for (int64_t j = 0; j < k; ++j) w(i, j) /= lu(i, i);
    }
    for (int64_t i = n - 1; i >= 0; --i)  // L^T (unit upper)
        for (int64_t p = i + 1; p < n; ++p)
            for (int64_t j = 0; j < k; ++j) w(i, j) -= lu(p, i) * w(p, j);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < k; ++j) x(f.perm[size_t(i)], j) = w(i, j);
    return x;
}

// ---- triangular solves ----------------------------------------------------------------------

// X with M X = B, M = T or T^T (transposed), T a's upper or lower triangle, unit diagonal
// when `unit`; B is n x k. Forward or back substitution as M is lower or upper.
Mat tri_solve(const Mat& a, Mat b, bool upper, bool unit, bool transposed) {
    const int64_t n = b.rows, k = b.cols;
    auto m = [&](int64_t i, int64_t j) { return transposed ? a(j, i) : a(i, j); };
    const bool m_upper = upper != transposed;
    for (int64_t s = 0; s < n; ++s) {
        const int64_t i = m_upper ? n - 1 - s : s;
        const int64_t p0 = m_upper ? i + 1 : 0, p1 = m_upper ? n : i;
        for (int64_t p = p0; p < p1; ++p) {
            const double mip = m(i, p);
            for (int64_t j = 0; j < k; ++j) b(i, j) -= mip * b(p, j);
        }
        if (!unit)
            for (int64_t j = 0; j < k; ++j) b(i, j) /= m(i, i);
    }
    return b;
}

// ---- Cholesky -------------------------------------------------------------------------------

// L from a's lower triangle, column by column; returns the order of the first leading minor
// that is not positive-definite, or 0.
int64_t cholesky_lower(const Mat& a, Mat& l) {
    const int64_t n = a.rows;
    l = Mat(n, n);
    for (int64_t j = 0; j < n; ++j) {
        double d = a(j, j);
        for (int64_t p = 0; p < j; ++p) d -= l(j, p) * l(j, p);
        if (!(d > 0.0)) return j + 1;
        const double ljj = l(j, j) = std::sqrt(d);
        for (int64_t i = j + 1; i < n; ++i) {
            double s = a(i, j);
            for (int64_t p = 0; p < j; ++p) s -= l(i, p) * l(j, p);
            l(i, j) = s / ljj;
        }
    }
    return 0;
}

// ---- Householder QR -------------------------------------------------------------------------

// Q (m x qcols) and R (rrows x n) of A = Q R, LAPACK's reflectors (dlarfg): for column j,
// beta = -sign(alpha) |x|, v = x / (alpha - beta) with v_0 = 1, tau = (beta - alpha) / beta
// (tau = 0, no reflection, when x below alpha is zero).
void householder_qr(Mat a, int64_t qcols, int64_t rrows, Mat& q, Mat& r) {
    const int64_t m = a.rows, n = a.cols, k = std::min(m, n);
    CheckedVector<double> tau(size_t(k), 0.0);
    for (int64_t j = 0; j < k; ++j) {
        double xnorm2 = 0.0;
        for (int64_t i = j + 1; i < m; ++i) xnorm2 += a(i, j) * a(i, j);
        if (xnorm2 == 0.0) continue;
        const double alpha = a(j, j);
        const double beta = -std::copysign(std::sqrt(alpha * alpha + xnorm2), alpha);
        tau[size_t(j)] = (beta - alpha) / beta;
        const double scale = 1.0 / (alpha - beta);
        for (int64_t i = j + 1; i < m; ++i) a(i, j) *= scale;
        a(j, j) = beta;
        for (int64_t c = j + 1; c < n; ++c) {  // a[j:, c] -= tau v (v^T a[j:, c])
            double dot = a(j, c);
            for (int64_t i = j + 1; i < m; ++i) dot += a(i, j) * a(i, c);
            dot *= tau[size_t(j)];
            a(j, c) -= dot;
            for (int64_t i = j + 1; i < m; ++i) a(i, c) -= dot * a(i, j);
        }
    }
    r = Mat(rrows, n);
    for (int64_t i = 0; i < std::min(rrows, m); ++i)
        for (int64_t c = i; c < n; ++c) r(i, c) = a(i, c);
    q = identity(m, qcols);  // Q = H_0 ... H_{k-1} I
    for (int64_t j = k - 1; j >= 0; --j) {
        const double t = tau[size_t(j)];
        if (t == 0.0) continue;
        for (int64_t c = 0; c < qcols; ++c) {
            double dot = q(j, c);
            for (int64_t i = j + 1; i < m; ++i) dot += a(i, j) * q(i, c);
            dot *= t;
            q(j, c) -= dot;
            for (int64_t i = j + 1; i < m; ++i) q(i, c) -= dot * a(i, j);
        }
    }
}

// u's k orthonormal columns followed by m - k more: the Householder completion (Note
// [Canonical signs]).
Mat complete_basis(const Mat& u) {
    const int64_t m = u.rows, k = u.cols;
    if (k == m) return u;
    Mat q, r;
    householder_qr(u, m, k, q, r);
    Mat out(m, m);
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < m; ++j) out(i, j) = j < k ? u(i, j) : q(i, j);
    return out;
}

// Flips column j of u (and of v, when given) unless the first largest-magnitude entry of
// u's column is positive (Note [Canonical signs]).
void canonical_signs(Mat& u, Mat* v) {
    for (int64_t j = 0; j < u.cols; ++j) {
        int64_t best = 0;
        for (int64_t i = 1; i < u.rows; ++i)
            if (std::abs(u(i, j)) > std::abs(u(best, j))) best = i;
        if (u.rows == 0 || !(u(best, j) < 0.0)) continue;
        for (int64_t i = 0; i < u.rows; ++i) u(i, j) = -u(i, j);
        if (v)
            for (int64_t i = 0; i < v->rows; ++i) (*v)(i, j) = -(*v)(i, j);
    }
}

// ---- SVD: one-sided Jacobi ------------------------------------------------------------------

constexpr int kMaxSweeps = 100;

// A (m x n, m >= n) = U diag(s) V^T with U m x n, V n x n, s descending (Hestenes: rotate
// pairs of columns of W = A V until all are orthogonal; then s_j = |W_j|, U_j = W_j / s_j).
// W and V are kept transposed, so that their columns are contiguous rows.
void jacobi_svd(const Mat& a, Mat& u, CheckedVector<double>& s, Mat& v) {
    const int64_t m = a.rows, n = a.cols;
    Mat wt = transpose(a), vt = identity(n, n);
    auto rotate = [](double* x, double* y, int64_t len, double c, double sn) {
        for (int64_t i = 0; i < len; ++i) {
            const double xi = x[i], yi = y[i];
            x[i] = c * xi - sn * yi;
            y[i] = sn * xi + c * yi;
        }
    };
    for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
        bool rotated = false;
        for (int64_t p = 0; p < n; ++p)
            for (int64_t q = p + 1; q < n; ++q) {
                double* wp = &wt(p, 0);
                double* wq = &wt(q, 0);
                double alpha = 0.0, beta = 0.0, gamma = 0.0;
                for (int64_t i = 0; i < m; ++i) {
                    alpha += wp[i] * wp[i];
                    beta += wq[i] * wq[i];
                    gamma += wp[i] * wq[i];
                }
                // columns orthogonal to working precision (or zero): no rotation
                if (!(std::abs(gamma) > kEps * std::sqrt(alpha * beta))) continue;
                rotated = true;
                const double zeta = (beta - alpha) / (2.0 * gamma);
                const double t =
                    (zeta >= 0.0 ? 1.0 : -1.0) / (std::abs(zeta) + std::sqrt(1.0 + zeta * zeta));
                const double c = 1.0 / std::sqrt(1.0 + t * t), sn = c * t;
                rotate(wp, wq, m, c, sn);
                rotate(&vt(p, 0), &vt(q, 0), n, c, sn);
            }
        if (!rotated) break;
    }
    CheckedVector<double> norms(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) {
        double ss = 0.0;
        for (int64_t i = 0; i < m; ++i) ss += wt(j, i) * wt(j, i);
        norms[size_t(j)] = std::sqrt(ss);
    }
    CheckedVector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t x, int64_t y) { return norms[size_t(x)] > norms[size_t(y)]; });
    s.assign(size_t(n), 0.0);
    v = Mat(n, n);
    u = Mat(m, n);
    int64_t rank = 0;
    const double tiny = norms.empty() ? 0.0 : norms[size_t(order[0])] * kEps * double(m);
    for (int64_t j = 0; j < n; ++j) {
        const int64_t src = order[size_t(j)];
        s[size_t(j)] = norms[size_t(src)];
        for (int64_t i = 0; i < n; ++i) v(i, j) = vt(src, i);
        if (norms[size_t(src)] > tiny && norms[size_t(src)] > 0.0) {
            for (int64_t i = 0; i < m; ++i) u(i, j) = wt(src, i) / norms[size_t(src)];
            ++rank;
        }
    }
    if (rank < n) {  // zero singular values: any orthonormal completion of U's columns
        Mat full = complete_basis(columns(u, 0, rank));
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = rank; j < n; ++j) u(i, j) = full(i, j);
    }
}

// ---- symmetric eigenproblem: cyclic Jacobi --------------------------------------------------

void jacobi_eigh(Mat a, CheckedVector<double>& w, Mat& v) {
    const int64_t n = a.rows;
    v = identity(n, n);
    double frob = 0.0;
    for (double e : a.d) frob += e * e;
    // below this an off-diagonal entry is zero to working precision of the whole matrix
    const double floor = kEps * kEps * std::sqrt(frob);
    for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
        bool rotated = false;
        for (int64_t p = 0; p < n; ++p)
            for (int64_t q = p + 1; q < n; ++q) {
                const double apq = a(p, q);
                if (!(std::abs(apq) > kEps * std::sqrt(std::abs(a(p, p) * a(q, q))) &&
                      std::abs(apq) > floor))
                    continue;
                rotated = true;
                const double theta = (a(q, q) - a(p, p)) / (2.0 * apq);
                const double t = (theta >= 0.0 ? 1.0 : -1.0) /
                                 (std::abs(theta) + std::sqrt(theta * theta + 1.0));
                const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
                for (int64_t k = 0; k < n; ++k) {  // A J
                    const double akp = a(k, p), akq = a(k, q);
                    a(k, p) = c * akp - s * akq;
                    a(k, q) = s * akp + c * akq;
                }
                for (int64_t k = 0; k < n; ++k) {  // J^T (A J)
                    const double apk = a(p, k), aqk = a(q, k);
                    a(p, k) = c * apk - s * aqk;
                    a(q, k) = s * apk + c * aqk;
                }
                a(p, q) = a(q, p) = 0.0;           // what the rotation annihilates, exactly
                for (int64_t k = 0; k < n; ++k) {  // V J
                    const double vkp = v(k, p), vkq = v(k, q);
                    v(k, p) = c * vkp - s * vkq;
                    v(k, q) = s * vkp + c * vkq;
                }
            }
        if (!rotated) break;
    }
    CheckedVector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t x, int64_t y) { return a(x, x) < a(y, y); });
    w.resize(size_t(n));
    Mat vs(n, n);
    for (int64_t j = 0; j < n; ++j) {
        w[size_t(j)] = a(order[size_t(j)], order[size_t(j)]);
        for (int64_t i = 0; i < n; ++i) vs(i, j) = v(i, order[size_t(j)]);
    }
    v = std::move(vs);
}

// F_ij = 1 / (x_j - x_i) off the diagonal, 0 on it (the backward of svd and eigh).
Mat gap_inverse(const CheckedVector<double>& x) {
    const int64_t n = int64_t(x.size());
    Mat f(n, n);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j)
            if (i != j) f(i, j) = 1.0 / (x[size_t(j)] - x[size_t(i)]);
    return f;
}

// gA = (gQ + Q copyltu(R gR^T - gQ^T Q)) R^-T for A = Q R with m >= n.
Mat qr_backward_tall(const Mat& gq, const Mat& gr, const Mat& q, const Mat& r) {
    Mat mm = matmul(r, false, gr, true), qtgq = matmul(gq, true, q, false);
    const int64_t n = mm.rows;
    for (size_t i = 0; i < mm.d.size(); ++i) mm.d[i] -= qtgq.d[i];
    for (int64_t i = 0; i < n; ++i)  // copyltu: the lower triangle mirrored up
        for (int64_t j = i + 1; j < n; ++j) mm(i, j) = mm(j, i);
    Mat b = matmul(q, false, mm, false);
    for (size_t i = 0; i < b.d.size(); ++i) b.d[i] += gq.d[i];
    // gA R^T = B  <=>  R gA^T = B^T
    return transpose(tri_solve(r, transpose(b), /*upper=*/true, /*unit=*/false, false));
}

}  // namespace

template <typename T>
void cholesky_forward(const T* a, int64_t batch, int64_t n, bool upper, T* l, int64_t* info) {
    each_matrix(batch, [&](int64_t b) {
        Mat am = load(a + b * n * n, n, n), lm;
        if (upper) am = transpose(am);  // U^T U from the upper triangle = L L^T of A^T
        info[b] = cholesky_lower(am, lm);
        store(upper ? transpose(lm) : lm, l + b * n * n);
    });
}

template <typename T>
void cholesky_backward(const T* grad, const T* l, int64_t batch, int64_t n, bool upper, T* grad_a) {
    each_matrix(batch, [&](int64_t b) {
        Mat lm = load(l + b * n * n, n, n), g = load(grad + b * n * n, n, n);
        if (upper) lm = transpose(lm), g = transpose(g);
        Mat p = matmul(lm, true, g, false);  // Phi = (tril(P) + tril(P, -1)^T) / 2
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < n; ++j) p(i, j) = (j <= i ? p(i, j) : p(j, i)) * 0.5;
        // L^-T Phi L^-1 = L^-T (L^-T Phi)^T, Phi and the result symmetric
        Mat y = tri_solve(lm, p, /*upper=*/false, false, /*transposed=*/true);
        store(tri_solve(lm, transpose(y), false, false, true), grad_a + b * n * n);
    });
}

template <typename T>
void solve_forward(const T* a, const T* b, int64_t batch, int64_t n, int64_t k, T* x,
                   int64_t* info) {
    each_matrix(batch, [&](int64_t i) {
        const LU f = lu_factor(load(a + i * n * n, n, n));
        info[i] = f.info;
        if (f.info) {
            std::fill(x + i * n * k, x + (i + 1) * n * k, T(kNaN));
            return;
        }
        store(lu_solve(f, load(b + i * n * k, n, k), false), x + i * n * k);
    });
}

template <typename T>
void solve_backward(const T* grad, const T* a, const T* x, int64_t batch, int64_t n, int64_t k,
                    T* grad_a, T* grad_b) {
    each_matrix(batch, [&](int64_t i) {
        const LU f = lu_factor(load(a + i * n * n, n, n));
        Mat gb = f.info ? Mat(n, k, kNaN) : lu_solve(f, load(grad + i * n * k, n, k), true);
        if (grad_b) store(gb, grad_b + i * n * k);
        if (grad_a) {
            Mat ga = matmul(gb, false, load(x + i * n * k, n, k), true);
            for (double& e : ga.d) e = -e;
            store(ga, grad_a + i * n * n);
        }
    });
}

template <typename T>
void inv_forward(const T* a, int64_t batch, int64_t n, T* y, int64_t* info) {
    each_matrix(batch, [&](int64_t i) {
        const LU f = lu_factor(load(a + i * n * n, n, n));
        info[i] = f.info;
        store(f.info ? Mat(n, n, kNaN) : lu_solve(f, identity(n, n), false), y + i * n * n);
    });
}

template <typename T>
void inv_backward(const T* grad, const T* y, int64_t batch, int64_t n, T* grad_a) {
    each_matrix(batch, [&](int64_t i) {
        const Mat ym = load(y + i * n * n, n, n);
        Mat ga = matmul(matmul(ym, true, load(grad + i * n * n, n, n), false), false, ym, true);
        for (double& e : ga.d) e = -e;
        store(ga, grad_a + i * n * n);
    });
}

template <typename T>
void slogdet_forward(const T* a, int64_t batch, int64_t n, T* sign, T* logabsdet) {
    each_matrix(batch, [&](int64_t i) {
        const LU f = lu_factor(load(a + i * n * n, n, n));
        if (f.info) {
            sign[i] = T(0);
            logabsdet[i] = -std::numeric_limits<T>::infinity();
            return;
        }
        double sg = f.swaps % 2 ? -1.0 : 1.0, logabs = 0.0;
        for (int64_t k = 0; k < n; ++k) {
            const double u = f.lu(k, k);
            if (u < 0) sg = -sg;
            logabs += std::log(std::abs(u));
        }
        sign[i] = T(sg);
        logabsdet[i] = T(logabs);
    });
}

template <typename T>
void slogdet_backward(const T* grad, const T* a, int64_t batch, int64_t n, T* grad_a) {
    each_matrix(batch, [&](int64_t i) {
        const LU f = lu_factor(load(a + i * n * n, n, n));
        Mat ga = f.info ? Mat(n, n, kNaN) : lu_solve(f, identity(n, n), true);  // A^-T
        const double g = double(grad[i]);
        for (double& e : ga.d) e *= g;
        store(ga, grad_a + i * n * n);
    });
}

template <typename T>
void solve_triangular_forward(const T* a, const T* b, int64_t batch, int64_t n, int64_t k,
                              bool upper, bool unitriangular, T* x) {
    each_matrix(batch, [&](int64_t i) {
        store(tri_solve(load(a + i * n * n, n, n), load(b + i * n * k, n, k), upper, unitriangular,
                        false),
              x + i * n * k);
    });
}

template <typename T>
void solve_triangular_backward(const T* grad, const T* a, const T* x, int64_t batch, int64_t n,
                               int64_t k, bool upper, bool unitriangular, T* grad_a, T* grad_b) {
    each_matrix(batch, [&](int64_t i) {
        const Mat gb = tri_solve(load(a + i * n * n, n, n), load(grad + i * n * k, n, k), upper,
                                 unitriangular, /*transposed=*/true);
        if (grad_b) store(gb, grad_b + i * n * k);
        if (grad_a) {
            Mat ga = matmul(gb, false, load(x + i * n * k, n, k), true);
            for (int64_t r = 0; r < n; ++r)  // only T's triangle was read
                for (int64_t c = 0; c < n; ++c) {
                    const bool in = upper ? c > r || (c == r && !unitriangular)
                                          : c < r || (c == r && !unitriangular);
                    ga(r, c) = in ? -ga(r, c) : 0.0;
                }
            store(ga, grad_a + i * n * n);
        }
    });
}

template <typename T>
void qr_forward(const T* a, int64_t batch, int64_t m, int64_t n, bool complete, T* q, T* r) {
    const int64_t k = std::min(m, n), qcols = complete ? m : k, rrows = complete ? m : k;
    each_matrix(batch, [&](int64_t i) {
        Mat qm, rm;
        householder_qr(load(a + i * m * n, m, n), qcols, rrows, qm, rm);
        store(qm, q + i * m * qcols);
        store(rm, r + i * rrows * n);
    });
}

template <typename T>
void qr_backward(const T* grad_q, const T* grad_r, const T* q, const T* r, int64_t batch, int64_t m,
                 int64_t n, T* grad_a) {
    const int64_t k = std::min(m, n);
    each_matrix(batch, [&](int64_t i) {
        const Mat gq = load(grad_q + i * m * k, m, k), gr = load(grad_r + i * k * n, k, n),
                  qm = load(q + i * m * k, m, k), rm = load(r + i * k * n, k, n);
        if (m >= n) {
            store(qr_backward_tall(gq, gr, qm, rm), grad_a + i * m * n);
            return;
        }
        // A = [X | Y], R = [U | V]: gY = Q gV, gX = the tall case with gQ + Y gV^T and gU
        const Mat gv = columns(gr, m, n), y = matmul(qm, false, columns(rm, m, n), false);
        Mat gq_x = matmul(y, false, gv, true);
        for (size_t e = 0; e < gq_x.d.size(); ++e) gq_x.d[e] += gq.d[e];
        const Mat gx = qr_backward_tall(gq_x, columns(gr, 0, m), qm, columns(rm, 0, m));
        const Mat gy = matmul(qm, false, gv, false);
        T* out = grad_a + i * m * n;
        for (int64_t row = 0; row < m; ++row)
            for (int64_t c = 0; c < n; ++c)
                out[row * n + c] = T(c < m ? gx(row, c) : gy(row, c - m));
    });
}

template <typename T>
void svd_forward(const T* a, int64_t batch, int64_t m, int64_t n, bool full, T* u, T* s, T* vh) {
    const int64_t k = std::min(m, n), ucols = full ? m : k, vrows = full ? n : k;
    each_matrix(batch, [&](int64_t i) {
        Mat am = load(a + i * m * n, m, n), um, vm;
        CheckedVector<double> sv;
        if (m >= n) {
            jacobi_svd(am, um, sv, vm);
        } else {  // A^T = V S U^T
            jacobi_svd(transpose(am), vm, sv, um);
        }
        canonical_signs(um, &vm);
        if (full) um = complete_basis(um), vm = complete_basis(vm);
        store(um, u + i * m * ucols);
        for (int64_t j = 0; j < k; ++j) s[i * k + j] = T(sv[size_t(j)]);
        store(transpose(vm), vh + i * vrows * n);
    });
}

template <typename T>
void svd_backward(const T* grad_u, const T* grad_s, const T* grad_vh, const T* u, const T* s,
                  const T* vh, int64_t batch, int64_t m, int64_t n, T* grad_a) {
    const int64_t k = std::min(m, n);
    each_matrix(batch, [&](int64_t i) {
        const Mat um = load(u + i * m * k, m, k), gu = load(grad_u + i * m * k, m, k);
        const Mat v = transpose(load(vh + i * k * n, k, n));
        const Mat gv = transpose(load(grad_vh + i * k * n, k, n));
        CheckedVector<double> sv(static_cast<size_t>(k)), s2(static_cast<size_t>(k));
        for (int64_t j = 0; j < k; ++j) {
            sv[size_t(j)] = double(s[i * k + j]);
            s2[size_t(j)] = sv[size_t(j)] * sv[size_t(j)];
        }
        const Mat f = gap_inverse(s2), utgu = matmul(um, true, gu, false),
                  vtgv = matmul(v, true, gv, false);
        // inner = (J + J^T) S + S (K + K^T) + diag(gS), J = F o U^T gU, K = F o V^T gV
        Mat inner(k, k);
        for (int64_t r = 0; r < k; ++r)
            for (int64_t c = 0; c < k; ++c) {
                const double j = f(r, c) * utgu(r, c) + f(c, r) * utgu(c, r);
                const double kk = f(r, c) * vtgv(r, c) + f(c, r) * vtgv(c, r);
                inner(r, c) = j * sv[size_t(c)] + sv[size_t(r)] * kk;
            }
        for (int64_t j = 0; j < k; ++j) inner(j, j) += double(grad_s[i * k + j]);
        // gA = U inner V^T (+ the parts of gU, gV outside U's and V's spans)
        Mat left = matmul(um, false, inner, false);
        if (m > k) {  // + (I - U U^T) gU S^-1
            Mat perp = matmul(um, false, utgu, false);
            for (int64_t r = 0; r < m; ++r)
                for (int64_t c = 0; c < k; ++c)
                    left(r, c) += (gu(r, c) - perp(r, c)) / sv[size_t(c)];
        }
        Mat ga = matmul(left, false, v, true);
        if (n > k) {                                   // + U S^-1 gV^T (I - V V^T)
            Mat perp = matmul(v, false, vtgv, false);  // V V^T gV
            Mat us = um;
            for (int64_t r = 0; r < m; ++r)
                for (int64_t c = 0; c < k; ++c) us(r, c) /= sv[size_t(c)];
            for (size_t e = 0; e < perp.d.size(); ++e) perp.d[e] = gv.d[e] - perp.d[e];
            Mat extra = matmul(us, false, perp, true);
            for (size_t e = 0; e < ga.d.size(); ++e) ga.d[e] += extra.d[e];
        }
        store(ga, grad_a + i * m * n);
    });
}

template <typename T>
void eigh_forward(const T* a, int64_t batch, int64_t n, bool upper, T* w, T* v) {
    each_matrix(batch, [&](int64_t i) {
        Mat am = load(a + i * n * n, n, n);
        for (int64_t r = 0; r < n; ++r)  // the chosen triangle, mirrored
            for (int64_t c = r + 1; c < n; ++c) {
                if (upper)
                    am(c, r) = am(r, c);
                else
                    am(r, c) = am(c, r);
            }
        CheckedVector<double> wv;
        Mat vm;
        jacobi_eigh(std::move(am), wv, vm);
        canonical_signs(vm, nullptr);
        for (int64_t j = 0; j < n; ++j) w[i * n + j] = T(wv[size_t(j)]);
        store(vm, v + i * n * n);
    });
}

template <typename T>
void eigh_backward(const T* grad_w, const T* grad_v, const T* w, const T* v, int64_t batch,
                   int64_t n, T* grad_a) {
    each_matrix(batch, [&](int64_t i) {
        const Mat vm = load(v + i * n * n, n, n);
        CheckedVector<double> wv(static_cast<size_t>(n));
        for (int64_t j = 0; j < n; ++j) wv[size_t(j)] = double(w[i * n + j]);
        Mat inner = matmul(vm, true, load(grad_v + i * n * n, n, n), false);
        const Mat f = gap_inverse(wv);
        for (size_t e = 0; e < inner.d.size(); ++e) inner.d[e] *= f.d[e];
        for (int64_t j = 0; j < n; ++j) inner(j, j) += double(grad_w[i * n + j]);
        Mat ga = matmul(matmul(vm, false, inner, false), false, vm, true);
        for (int64_t r = 0; r < n; ++r)  // symmetric part
            for (int64_t c = r; c < n; ++c) ga(r, c) = ga(c, r) = 0.5 * (ga(r, c) + ga(c, r));
        store(ga, grad_a + i * n * n);
    });
}

// Note [Kernel dtypes] in kernels/elementwise.h
#define PYDL_LINALG(T)                                                                             \
    template void cholesky_forward<T>(const T*, int64_t, int64_t, bool, T*, int64_t*);             \
    template void cholesky_backward<T>(const T*, const T*, int64_t, int64_t, bool, T*);            \
    template void solve_forward<T>(const T*, const T*, int64_t, int64_t, int64_t, T*, int64_t*);   \
    template void solve_backward<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t, T*,   \
                                    T*);                                                           \
    template void inv_forward<T>(const T*, int64_t, int64_t, T*, int64_t*);                        \
    template void inv_backward<T>(const T*, const T*, int64_t, int64_t, T*);                       \
    template void slogdet_forward<T>(const T*, int64_t, int64_t, T*, T*);                          \
    template void slogdet_backward<T>(const T*, const T*, int64_t, int64_t, T*);                   \
    template void solve_triangular_forward<T>(const T*, const T*, int64_t, int64_t, int64_t, bool, \
                                              bool, T*);                                           \
    template void solve_triangular_backward<T>(const T*, const T*, const T*, int64_t, int64_t,     \
                                               int64_t, bool, bool, T*, T*);                       \
    template void qr_forward<T>(const T*, int64_t, int64_t, int64_t, bool, T*, T*);                \
    template void qr_backward<T>(const T*, const T*, const T*, const T*, int64_t, int64_t,         \
                                 int64_t, T*);                                                     \
    template void svd_forward<T>(const T*, int64_t, int64_t, int64_t, bool, T*, T*, T*);           \
    template void svd_backward<T>(const T*, const T*, const T*, const T*, const T*, const T*,      \
                                  int64_t, int64_t, int64_t, T*);                                  \
    template void eigh_forward<T>(const T*, int64_t, int64_t, bool, T*, T*);                       \
    template void eigh_backward<T>(const T*, const T*, const T*, const T*, int64_t, int64_t, T*);
PYDL_LINALG(float)
PYDL_LINALG(double)
#undef PYDL_LINALG

}  // namespace pydl
