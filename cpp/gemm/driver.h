// What both GEMM drivers share (gemm.cpp's sgemm, bf16_gemm.cpp's sbgemm): the threshold
// for threads, how tasks run, the empty product and each tile's share of the epilogue.
#pragma once
#include <algorithm>
#include <cstdint>

#include "core/parallel.h"
#include "gemm/microkernel.h"

namespace pydl::gemm {

// One thread below this many multiply-adds (~60 us of work): waking a second costs more.
constexpr int64_t kParallelWork = int64_t(1) << 19;

// Runs fn(t) for the tasks [0, tasks), on every thread when `parallel`. A thread done
// with its share takes the last tasks of one that has stalled (parallel_for_each_balanced,
// Note [Steal from the stuck]): with a busy loop on one of the 2 cores, 1024^3 went from
// 66-88 to 108-131 GFLOP/s; unchanged on a quiet machine. Tasks are taken `grain` at a
// time, by default about an eighth of a thread's share, so small ones (3 tiles of a 32-row
// product) do not each pay an atomic operation; large ones (sbgemm's, a B panel against 96
// rows) balance better one at a time.
template <typename Fn>
void run_tasks(int64_t tasks, bool parallel, Fn fn, int64_t grain = 0) {
    if (!parallel) {
        for (int64_t t = 0; t < tasks; ++t) fn(t);
        return;
    }
    if (grain <= 0) grain = std::max<int64_t>(1, tasks / (8 * get_num_threads()));
    parallel_for_each_balanced(0, tasks, fn, grain);
}

// C[0:m, 0:n] = beta * C (not read when beta == 0), then the epilogue: a product with
// k == 0 or alpha == 0.
void scale_c(int64_t m, int64_t n, float beta, float* c, int64_t ldc, const Epilogue* ep);

// The epilogue of the tile at (i, j), or null.
inline const Epilogue* tile_epilogue(const Epilogue* ep, int64_t i, int64_t j, Epilogue& out) {
    if (!ep) return nullptr;
    out = *ep;
    if (out.bias) out.bias += j;
    if (out.pre) out.pre += i * out.ldpre + j;
    return &out;
}

}  // namespace pydl::gemm
