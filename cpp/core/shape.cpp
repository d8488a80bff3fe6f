#include "core/shape.h"

#include <algorithm>

#include "core/check.h"

namespace pydl {

// Note [Checked sizes] in check.h. As NumPy, the product of the nonzero dimensions must
// fit even when another is 0, so the strides of any shape that passes fit too.
int64_t numel(const Shape& shape) {
    int64_t n = 1;
    bool empty = false;
    for (int64_t d : shape) {
        if (d == 0) {
            empty = true;
            continue;
        }
        PYDL_CHECK(d > 0 && !__builtin_mul_overflow(n, d, &n), ValueError, "shape ",
                   shape_str(shape),
                   d < 0 ? " has a negative dimension" : " has more elements than int64 counts");
    }
    return empty ? 0 : n;
}

Shape contiguous_strides(const Shape& shape) {
    Shape strides(shape.size());
    int64_t s = 1;
    bool overflow = false;
    for (size_t i = shape.size(); i-- > 0;) {
        strides[i] = s;
        if (i > 0) overflow |= __builtin_mul_overflow(s, shape[i], &s);
    }
    PYDL_CHECK(!overflow, ValueError, "the strides of shape ", shape_str(shape), " overflow int64");
    return strides;
}

std::string shape_str(const Shape& shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    if (shape.size() == 1) s += ",";
    return s + ")";
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
    const size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (size_t i = 0; i < rank; ++i) {
        const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        PYDL_CHECK(da == db || da == 1 || db == 1, ValueError, "shapes ", shape_str(a), " and ",
                   shape_str(b), " cannot be broadcast together");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

Shape broadcast_strides(const Shape& in_shape, const Shape& out_shape) {
    const Shape in_strides = contiguous_strides(in_shape);
    const size_t off = out_shape.size() - in_shape.size();
    Shape strides(out_shape.size(), 0);
    for (size_t i = 0; i < in_shape.size(); ++i)
        strides[off + i] = in_shape[i] == 1 ? 0 : in_strides[i];
    return strides;
}

StridedIter coalesce(const Shape& shape, const std::vector<Shape>& strides) {
    StridedIter it;
    it.strides.resize(strides.size());
    for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == 1) continue;  // size-1 axes carry no iteration
        bool merge = !it.shape.empty();
        for (size_t k = 0; merge && k < strides.size(); ++k)
            merge = it.strides[k].back() == strides[k][d] * shape[d];
        if (merge) {
            it.shape.back() *= shape[d];
            for (size_t k = 0; k < strides.size(); ++k) it.strides[k].back() = strides[k][d];
        } else {
            it.shape.push_back(shape[d]);
            for (size_t k = 0; k < strides.size(); ++k) it.strides[k].push_back(strides[k][d]);
        }
    }
    return it;
}

ReducePlan plan_reduce(const Shape& shape, const std::vector<bool>& reduced) {
    // Walk the axes (ignoring size-1 ones) and count runs kept/reduced.
    ReducePlan p;
    int phase = 0;  // 0: outer kept axes, 1: reduced axes, 2: inner kept axes
    for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == 1) continue;
        if (reduced[d]) {
            if (phase == 2) {
                p.general = true;
                return p;
            }
            phase = 1;
            p.reduce *= shape[d];
        } else if (phase == 0) {
            p.outer *= shape[d];
        } else {
            phase = 2;
            p.inner *= shape[d];
        }
    }
    return p;
}

}  // namespace pydl
