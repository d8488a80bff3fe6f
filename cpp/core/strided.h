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

// Whether `strides` walk `shape` in C order without gaps (size-1 axes are ignored).
inline bool walks_contiguously(const Shape& shape, const Shape& strides) {
    int64_t expected = 1;
    for (size_t d = shape.size(); d-- > 0;) {
        if (shape[d] == 1) continue;
        if (strides[d] != expected) return false;
        expected *= shape[d];
    }
    return true;
}

// The elements one task of for_each_row takes; at most this many, a walk runs on the caller's
// thread.
constexpr int64_t kRowPiece = 1 << 14;

// Calls row(n, offsets, inner_strides) for every innermost run of the
// iteration space: `offsets[k]` is operand k's element offset at the run's start.
template <size_t K, typename Row>
void for_each_row(const Shape& shape, const std::array<Shape, K>& strides, Row row) {
    const int64_t n = numel(shape);
    if (n == 0) return;  // no rows (and a zero extent must not divide below)
    // One task's worth of operands that all walk contiguously (same shapes, no broadcast):
    // one run over all n elements, as the general path below makes (bit-identical), without
    // its coalescing and thread pool bookkeeping, which cost more than the work at a few
    // elements (_core.mul_forward on 16 floats, timeit: 466 -> 216 ns a call). Its inner
    // strides are 1 where the general path passes 0 for a single element: one i = 0 step.
    constexpr int64_t piece = kRowPiece;
    bool contiguous = n <= piece;
    for (size_t k = 0; k < K && contiguous; ++k) contiguous = walks_contiguously(shape, strides[k]);
    if (contiguous) {
        std::array<int64_t, K> off{}, inner{};
        inner.fill(1);
        row(n, off, inner);
        return;
    }
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
    const int64_t pieces_per_row = (n_inner + piece - 1) / piece;
    const int64_t grain = std::max<int64_t>(1, piece / n_inner);
    // The offsets of row r (rows in C order over the outer axes), and its position.
    const auto unravel = [&](int64_t r, std::array<int64_t, K>& off, Shape& idx) {
        off = {};
        for (size_t d = rank - 1; d-- > 0;) {
            idx[d] = r % it.shape[d];
            r /= it.shape[d];
            for (size_t k = 0; k < K; ++k) off[k] += idx[d] * it.strides[k][d];
        }
    };
    parallel_for(0, n_rows * pieces_per_row, grain, [&](int64_t lo, int64_t hi) {
        Shape idx(rank, 0);
        std::array<int64_t, K> off{};
        if (pieces_per_row == 1) {
            // Short rows: unravel once, then step an odometer (a division per axis per
            // row cost more than copying a 64-float row).
            unravel(lo, off, idx);
            for (int64_t t = lo; t < hi; ++t) {
                row(n_inner, off, inner);
                for (size_t d = rank - 1; d-- > 0;) {
                    for (size_t k = 0; k < K; ++k) off[k] += it.strides[k][d];
                    if (++idx[d] < it.shape[d]) break;
                    for (size_t k = 0; k < K; ++k) off[k] -= it.shape[d] * it.strides[k][d];
                    idx[d] = 0;
                }
            }
            return;
        }
        for (int64_t t = lo; t < hi; ++t) {
            const int64_t start = (t % pieces_per_row) * piece;
            unravel(t / pieces_per_row, off, idx);
            for (size_t k = 0; k < K; ++k) off[k] += start * inner[k];
            row(std::min(piece, n_inner - start), off, inner);
        }
    });
}

}  // namespace pydl
