// The indexing kernels (declared in indexing.h).
#include "kernels/indexing.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/buffer_pool.h"
#include "core/check.h"
#include "core/parallel.h"

namespace pydl {

void check_dim_indices(const int64_t* index, int64_t count, int64_t size, int64_t dim) {
    const int64_t i = find_out_of_range(index, count, 0, size);
    PYDL_CHECK(i < 0, IndexError, "index ", index[i], " is out of bounds for dimension ", dim,
               " with size ", size);
}

namespace {

// The positions of an index tensor seen as (outer, n, inner) around `dim`, and where each
// lands in a tensor of another shape (x's, src's) that is at least as large in every dim
// but `dim`: offsets of the outer and inner parts, and the stride of `dim`.
struct Placement {
    CheckedVector<int64_t> outer, inner;
    int64_t dim_stride = 0;
};

struct Lines {
    int64_t outer = 1, n = 1, inner = 1;
    Lines(const Shape& index_shape, int64_t dim) {
        for (int64_t d = 0; d < int64_t(index_shape.size()); ++d) {
            if (d < dim) outer *= index_shape[d];
            if (d > dim) inner *= index_shape[d];
        }
        n = index_shape.empty() ? 1 : index_shape[dim];
    }
};

// C-order offsets in `target` of every position of index_shape's dims [from, to).
CheckedVector<int64_t> part_offsets(const Shape& index_shape, const Shape& strides, size_t from,
                                    size_t to) {
    int64_t count = 1;
    for (size_t d = from; d < to; ++d) count *= index_shape[d];
    CheckedVector<int64_t> off(count);
    for (int64_t p = 0; p < count; ++p) {
        int64_t r = p, o = 0;
        for (size_t d = to; d-- > from;) {
            o += (r % index_shape[d]) * strides[d];
            r /= index_shape[d];
        }
        off[p] = o;
    }
    return off;
}

Placement place(const Shape& index_shape, const Shape& target, int64_t dim) {
    Placement p;
    if (index_shape.empty()) {  // 0-d: one position at offset 0
        p.outer = p.inner = {0};
        return p;
    }
    const Shape strides = contiguous_strides(target);
    p.outer = part_offsets(index_shape, strides, 0, size_t(dim));
    p.inner = part_offsets(index_shape, strides, size_t(dim) + 1, index_shape.size());
    p.dim_stride = strides[dim];
    return p;
}

// Tasks of a scatter: (outer position, block of kBlock inner positions), each owning its
// destinations (Note [Scatter determinism]).
constexpr int64_t kBlock = 256;

template <typename Fn>
void for_each_scatter_task(const Lines& l, const Fn& fn) {
    const int64_t blocks = (l.inner + kBlock - 1) / kBlock;
    const int64_t work = std::max<int64_t>(1, l.n * std::min(l.inner, kBlock));
    parallel_for(0, l.outer * blocks, std::max<int64_t>(1, (1 << 14) / work),
                 [&](int64_t lo, int64_t hi) {
                     for (int64_t t = lo; t < hi; ++t) {
                         const int64_t o = t / blocks, i0 = (t % blocks) * kBlock;
                         fn(o, i0, std::min(l.inner, i0 + kBlock));
                     }
                 });
}

template <typename T>
T identity(ScatterReduce r) {
    switch (r) {
        case ScatterReduce::Prod:
            return T(1);
        case ScatterReduce::Amax:
            if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
            return std::numeric_limits<T>::lowest();
        case ScatterReduce::Amin:
            if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
            return std::numeric_limits<T>::max();
        default:
            return T(0);
    }
}

template <typename T>
void combine(T& acc, T v, ScatterReduce r) {
    switch (r) {
        case ScatterReduce::None:
            acc = v;
            break;
        case ScatterReduce::Sum:
        case ScatterReduce::Mean:
            acc += v;
            break;
        case ScatterReduce::Prod:
            acc *= v;
            break;
        case ScatterReduce::Amax:  // a NaN wins, as in PyTorch
            if (v != v || acc < v) acc = v;
            break;
        case ScatterReduce::Amin:
            if (v != v || acc > v) acc = v;
            break;
    }
}

// a / b rounded toward -inf for integers (PyTorch's integer scatter mean), plain for floats.
template <typename T>
T divide(T a, int64_t b) {
    if constexpr (std::is_integral_v<T>) {
        T q = a / T(b);
        if ((a % T(b) != 0) && ((a < 0) != (b < 0))) --q;
        return q;
    } else {
        return a / T(b);
    }
}

}  // namespace

template <typename T>
void gather_forward(const T* x, const Shape& x_shape, int64_t dim, const int64_t* index,
                    const Shape& index_shape, T* out) {
    const int64_t count = numel(index_shape);
    if (count == 0) return;
    check_dim_indices(index, count, x_shape.empty() ? 1 : x_shape[dim], dim);
    const Lines l(index_shape, dim);
    const Placement px = place(index_shape, x_shape, dim);
    // Positions in C order; (o, j, i) counted along, not divided out per element (a gather
    // along the last dim has one element per (o, j)).
    parallel_for(0, count, 1 << 14, [&](int64_t lo, int64_t hi) {
        int64_t i = lo % l.inner, j = (lo / l.inner) % l.n, o = lo / (l.inner * l.n);
        const T* xo = x + px.outer[o];
        for (int64_t p = lo; p < hi; ++p) {
            out[p] = xo[index[p] * px.dim_stride + px.inner[i]];
            if (++i == l.inner) {
                i = 0;
                if (++j == l.n && p + 1 < hi) {
                    j = 0;
                    xo = x + px.outer[++o];
                }
            }
        }
    });
}

template <typename T>
void gather_backward(const T* grad, int64_t dim, const int64_t* index, const Shape& index_shape,
                     const Shape& x_shape, T* grad_x) {
    std::fill(grad_x, grad_x + numel(x_shape), T(0));
    const int64_t count = numel(index_shape);
    if (count == 0) return;
    check_dim_indices(index, count, x_shape.empty() ? 1 : x_shape[dim], dim);
    const Lines l(index_shape, dim);
    const Placement px = place(index_shape, x_shape, dim);
    for_each_scatter_task(l, [&](int64_t o, int64_t i0, int64_t i1) {
        T* gx = grad_x + px.outer[o];
        for (int64_t j = 0; j < l.n; ++j) {
            const int64_t row = (o * l.n + j) * l.inner;
            for (int64_t i = i0; i < i1; ++i)
                gx[index[row + i] * px.dim_stride + px.inner[i]] += grad[row + i];
        }
    });
}

template <typename T>
void scatter_forward(const T* x, const Shape& x_shape, int64_t dim, const int64_t* index,
                     const Shape& index_shape, const T* src, const Shape& src_shape,
                     ScatterReduce reduce, bool include_self, T* out) {
    const int64_t size = numel(x_shape), count = numel(index_shape);
    if (count > 0) check_dim_indices(index, count, x_shape.empty() ? 1 : x_shape[dim], dim);
    std::copy(x, x + size, out);
    if (count == 0) return;
    const Lines l(index_shape, dim);
    const Placement px = place(index_shape, x_shape, dim), ps = place(index_shape, src_shape, dim);
    const bool fresh = !include_self && reduce != ScatterReduce::None;
    CheckedVector<int64_t> counts(reduce == ScatterReduce::Mean ? size : 0, 0);
    for_each_scatter_task(l, [&](int64_t o, int64_t i0, int64_t i1) {
        T* y = out + px.outer[o];
        const T* s = src + ps.outer[o];
        auto walk = [&](auto&& fn) {
            for (int64_t j = 0; j < l.n; ++j) {
                const int64_t* ix = index + (o * l.n + j) * l.inner;
                for (int64_t i = i0; i < i1; ++i)
                    fn(ix[i] * px.dim_stride + px.inner[i], j * ps.dim_stride + ps.inner[i]);
            }
        };
        if (fresh) walk([&](int64_t d, int64_t) { y[d] = identity<T>(reduce); });
        walk([&](int64_t d, int64_t k) { combine(y[d], s[k], reduce); });
        if (reduce == ScatterReduce::Mean) {
            int64_t* c = counts.data() + px.outer[o];
            walk([&](int64_t d, int64_t) { ++c[d]; });
            walk([&](int64_t d, int64_t) {
                if (c[d] > 0) y[d] = divide(y[d], c[d] + (include_self ? 1 : 0));
                c[d] = 0;
            });
        }
    });
}

template <typename T>
void scatter_backward(const T* grad, const T* x, const Shape& x_shape, int64_t dim,
                      const int64_t* index, const Shape& index_shape, const T* src,
                      const Shape& src_shape, const T* out, ScatterReduce reduce, bool include_self,
                      T* grad_x, T* grad_src) {
    const int64_t size = numel(x_shape), count = numel(index_shape);
    if (count > 0) check_dim_indices(index, count, x_shape.empty() ? 1 : x_shape[dim], dim);
    // grad_x scratch when not wanted: the gradient of x is needed to compute nothing else
    CheckedVector<T> scratch(grad_x ? 0 : size);
    T* gx_all = grad_x ? grad_x : scratch.data();
    std::copy(grad, grad + size, gx_all);
    if (grad_src) std::fill(grad_src, grad_src + numel(src_shape), T(0));
    if (count == 0) return;
    const Lines l(index_shape, dim);
    const Placement px = place(index_shape, x_shape, dim), ps = place(index_shape, src_shape, dim);
    const bool ties = reduce == ScatterReduce::Amax || reduce == ScatterReduce::Amin;
    CheckedVector<int64_t> counts(reduce == ScatterReduce::Mean || ties ? size : 0, 0);
    const int64_t self = include_self ? 1 : 0;
    for_each_scatter_task(l, [&](int64_t o, int64_t i0, int64_t i1) {
        const int64_t xo = px.outer[o], so = ps.outer[o];
        const T* g = grad + xo;
        const T* xv = x + xo;
        const T* y = out + xo;
        const T* s = src + so;
        T* gx = gx_all + xo;
        T* gs = grad_src ? grad_src + so : nullptr;
        int64_t* c = counts.empty() ? nullptr : counts.data() + xo;
        auto walk = [&](auto&& fn) {
            for (int64_t j = 0; j < l.n; ++j) {
                const int64_t* ix = index + (o * l.n + j) * l.inner;
                for (int64_t i = i0; i < i1; ++i)
                    fn(ix[i] * px.dim_stride + px.inner[i], j * ps.dim_stride + ps.inner[i], j, i);
            }
        };
        // The product of the sources at destination d but the one at (skip, i), and of x
        // with include_self: for a zero source, where out / src is undefined.
        auto product_but = [&](int64_t d, int64_t skip, int64_t i) {
            T p = include_self && skip >= 0 ? xv[d] : T(1);
            for (int64_t j = 0; j < l.n; ++j) {
                const int64_t k = (o * l.n + j) * l.inner + i;
                if (j != skip && index[k] * px.dim_stride + px.inner[i] == d)
                    p *= s[j * ps.dim_stride + ps.inner[i]];
            }
            return p;
        };
        switch (reduce) {
            case ScatterReduce::None:
            case ScatterReduce::Sum:
                if (gs) walk([&](int64_t d, int64_t k, int64_t, int64_t) { gs[k] = g[d]; });
                if (reduce == ScatterReduce::None || !include_self)
                    walk([&](int64_t d, int64_t, int64_t, int64_t) { gx[d] = T(0); });
                break;
            case ScatterReduce::Mean:
                walk([&](int64_t d, int64_t, int64_t, int64_t) { ++c[d]; });
                if (gs)
                    walk([&](int64_t d, int64_t k, int64_t, int64_t) {
                        gs[k] = g[d] / T(c[d] + self);
                    });
                walk([&](int64_t d, int64_t, int64_t, int64_t) {
                    gx[d] = include_self ? g[d] / T(c[d] + self) : T(0);
                });
                break;
            case ScatterReduce::Prod:
                if (gs)
                    walk([&](int64_t d, int64_t k, int64_t j, int64_t i) {
                        gs[k] = g[d] * (s[k] != T(0) ? y[d] / s[k] : product_but(d, j, i));
                    });
                walk([&](int64_t d, int64_t, int64_t, int64_t i) {
                    gx[d] = !include_self   ? T(0)
                            : xv[d] != T(0) ? g[d] * y[d] / xv[d]
                                            : g[d] * product_but(d, -1, i);
                });
                break;
            case ScatterReduce::Amax:
            case ScatterReduce::Amin:
                // ties: the sources equal to the result, and x if it takes part and is
                walk([&](int64_t d, int64_t k, int64_t, int64_t) {
                    if (c[d] == 0) c[d] = 1 + (include_self && xv[d] == y[d] ? 1 : 0);
                    c[d] += s[k] == y[d] ? 1 : 0;
                });
                if (gs)
                    walk([&](int64_t d, int64_t k, int64_t, int64_t) {
                        gs[k] = s[k] == y[d] ? g[d] / T(c[d] - 1) : T(0);
                    });
                walk([&](int64_t d, int64_t, int64_t, int64_t) {
                    gx[d] = include_self && xv[d] == y[d] ? g[d] / T(c[d] - 1) : T(0);
                });
                break;
        }
    });
}

template <typename T>
void index_select_forward(const T* x, int64_t outer, int64_t n, int64_t inner, const int64_t* index,
                          int64_t count, T* out) {
    check_dim_indices(index, count, n, -1);
    parallel_for(0, outer * count, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, inner)),
                 [&](int64_t lo, int64_t hi) {
                     for (int64_t r = lo; r < hi; ++r) {
                         const int64_t o = r / count, j = r % count;
                         std::copy_n(x + (o * n + index[j]) * inner, inner, out + r * inner);
                     }
                 });
}

namespace {

// out = x (or zeros); then for each j in order, out[o, index[j], i] = write(old, source value).
template <typename T, typename Write>
void index_write(const T* x, int64_t outer, int64_t n, int64_t inner, const int64_t* index,
                 int64_t count, const T* source, T* out, const Write& write) {
    if (x)
        std::copy_n(x, outer * n * inner, out);
    else
        std::fill_n(out, outer * n * inner, T(0));
    const Lines l({outer, count, inner}, 1);
    for_each_scatter_task(l, [&](int64_t o, int64_t i0, int64_t i1) {
        for (int64_t j = 0; j < count; ++j) {
            T* y = out + (o * n + index[j]) * inner;
            const T* s = source ? source + (o * count + j) * inner : nullptr;
            for (int64_t i = i0; i < i1; ++i) y[i] = write(y[i], s ? s[i] : T(0));
        }
    });
}

}  // namespace

template <typename T>
void index_add_forward(const T* x, int64_t outer, int64_t n, int64_t inner, const int64_t* index,
                       int64_t count, const T* source, double alpha, T* out) {
    check_dim_indices(index, count, n, -1);
    const T a = T(alpha);
    if (alpha == 1)
        index_write(x, outer, n, inner, index, count, source, out, [](T y, T s) { return y + s; });
    else
        index_write(x, outer, n, inner, index, count, source, out,
                    [a](T y, T s) { return y + a * s; });
}

template <typename T>
void index_copy_forward(const T* x, int64_t outer, int64_t n, int64_t inner, const int64_t* index,
                        int64_t count, const T* source, T* out) {
    check_dim_indices(index, count, n, -1);
    index_write(x, outer, n, inner, index, count, source, out, [](T, T s) { return s; });
}

#define PYDL_MOVE(T)                                                                               \
    template void gather_forward<T>(const T*, const Shape&, int64_t, const int64_t*, const Shape&, \
                                    T*);                                                           \
    template void index_select_forward<T>(const T*, int64_t, int64_t, int64_t, const int64_t*,     \
                                          int64_t, T*);                                            \
    template void index_copy_forward<T>(const T*, int64_t, int64_t, int64_t, const int64_t*,       \
                                        int64_t, const T*, T*);
#define PYDL_COMBINE(T)                                                                         \
    template void scatter_forward<T>(const T*, const Shape&, int64_t, const int64_t*,           \
                                     const Shape&, const T*, const Shape&, ScatterReduce, bool, \
                                     T*);                                                       \
    template void index_add_forward<T>(const T*, int64_t, int64_t, int64_t, const int64_t*,     \
                                       int64_t, const T*, double, T*);
#define PYDL_GRAD(T)                                                                             \
    template void gather_backward<T>(const T*, int64_t, const int64_t*, const Shape&,            \
                                     const Shape&, T*);                                          \
    template void scatter_backward<T>(const T*, const T*, const Shape&, int64_t, const int64_t*, \
                                      const Shape&, const T*, const Shape&, const T*,            \
                                      ScatterReduce, bool, T*, T*);
PYDL_MOVE(float)
PYDL_MOVE(double)
PYDL_MOVE(int64_t)
PYDL_MOVE(int32_t)
PYDL_MOVE(uint8_t)
PYDL_MOVE(bool)
PYDL_COMBINE(float)
PYDL_COMBINE(double)
PYDL_COMBINE(int64_t)
PYDL_COMBINE(int32_t)
PYDL_GRAD(float)
PYDL_GRAD(double)
#undef PYDL_MOVE
#undef PYDL_COMBINE
#undef PYDL_GRAD

}  // namespace pydl
