// The shared driver for elementwise kernels over broadcast operands.
//
// Operand 0 is the output (C-contiguous over `shape`); operands 1..K are read
// through broadcast strides. Axes are coalesced first, so the common cases
// (same shapes, scalar operands, bias rows) become one long inner loop.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "core/parallel.h"
#include "core/shape.h"

namespace pydl {

// Calls row(n, offsets, inner_strides) for every innermost run of the
// iteration space: `offsets[k]` is operand k's element offset at the run's start.
template <size_t K, typename Row>
void for_each_row(const Shape& shape, const std::array<Shape, K>& strides, Row row) {
    const StridedIter it = coalesce(shape, std::vector<Shape>(strides.begin(), strides.end()));
    const size_t rank = it.shape.size();
    std::array<int64_t, K> inner{};
    if (rank == 0) {  // a single element
        std::array<int64_t, K> off{};
        row(int64_t(1), off, inner);
        return;
    }
    for (size_t k = 0; k < K; ++k) inner[k] = it.strides[k][rank - 1];
    const int64_t n_inner = it.shape[rank - 1];
    const int64_t n_rows = numel(it.shape) / n_inner;
    // Split long rows too, so a single contiguous run still uses every thread.
    const int64_t piece = 1 << 14;
    const int64_t pieces_per_row = (n_inner + piece - 1) / piece;
    const int64_t grain = std::max<int64_t>(1, piece / n_inner);
    parallel_for(0, n_rows * pieces_per_row, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t t = lo; t < hi; ++t) {
            int64_t r = t / pieces_per_row;
            const int64_t start = (t % pieces_per_row) * piece;
            std::array<int64_t, K> off{};
            for (size_t d = rank - 1; d-- > 0;) {  // unravel the row index
                const int64_t i = r % it.shape[d];
                r /= it.shape[d];
                for (size_t k = 0; k < K; ++k) off[k] += i * it.strides[k][d];
            }
            for (size_t k = 0; k < K; ++k) off[k] += start * inner[k];
            row(std::min(piece, n_inner - start), off, inner);
        }
    });
}

}  // namespace pydl
