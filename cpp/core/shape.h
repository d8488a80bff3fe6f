// Shapes and strides (in elements) of C-contiguous tensors, and the broadcasting
// and axis-coalescing helpers the kernels share.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace pydl {

using Shape = std::vector<int64_t>;

// Both throw ValueError naming the shape when a product overflows int64 (Note [Checked
// sizes] in check.h).
int64_t numel(const Shape& shape);
Shape contiguous_strides(const Shape& shape);
std::string shape_str(const Shape& shape);

// NumPy broadcasting of two shapes; throws ValueError naming both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// Strides that read `in` (C-contiguous, shape `in_shape`) at the index of an
// element of `out_shape`: 0 along broadcast axes. in_shape is right-aligned.
Shape broadcast_strides(const Shape& in_shape, const Shape& out_shape);

// Iteration space of up to three operands over one shape, with adjacent axes
// merged where every operand allows it (fewer, longer inner loops).
struct StridedIter {
    Shape shape;                 // coalesced shape
    std::vector<Shape> strides;  // one per operand, same rank as shape
};
StridedIter coalesce(const Shape& shape, const std::vector<Shape>& strides);

// Reduction of `shape` over the axes flagged in `reduced`, described as
// (outer, reduce, inner) when the reduced axes are contiguous after merging;
// otherwise `general` is true and the caller uses the strided fallback.
struct ReducePlan {
    bool general = false;
    int64_t outer = 1, reduce = 1, inner = 1;
};
ReducePlan plan_reduce(const Shape& shape, const std::vector<bool>& reduced);

}  // namespace pydl
