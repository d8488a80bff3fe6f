// Row shapes for the bindings of the row kernels (Note [Row kernels] in kernels/reduce.h):
// reduce's var, prod, logsumexp, norm; the scans; sort.
#pragma once
#include "bindings/common.h"

namespace pydl::bind {

// x seen as rows of its last dim: `rows` rows of `n`, and `kept`, the shape of one value
// per row (x's shape without its last dim).
struct RowShape {
    int64_t rows = 0, n = 0;
    Shape kept;
};

// ValueError for a 0-d x (it has no row).
inline RowShape row_shape(const py::array& x, const char* name) {
    PYDL_CHECK(x.ndim() >= 1, ValueError, name, " must have at least one dim (the row), got 0-d");
    RowShape r;
    r.n = x.shape(x.ndim() - 1);
    r.kept = Shape(x.shape(), x.shape() + x.ndim() - 1);
    r.rows = numel(r.kept);
    return r;
}

// ValueError unless `a` holds one value per row of r (`per_row` values per row).
inline void check_rows(const py::array& a, const RowShape& r, const char* name,
                       int64_t per_row = 1) {
    PYDL_CHECK(int64_t(a.size()) == r.rows * per_row, ValueError, name, " has shape ",
               shape_str(shape_of(a)), "; expected ", per_row, " value(s) per row of ", r.rows);
}

}  // namespace pydl::bind

namespace pydl::bind {

// grad_x of shape grad's with last dim n, from grad scattered along rows to `indices`
// (grad's shape, each in [0, n): checked): sort's and cummax's backward (bind_sort.cpp).
py::object scatter_to_rows(const py::array& grad, const py::array& indices, int64_t n);

}  // namespace pydl::bind
