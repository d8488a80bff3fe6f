#include "core/parallel.h"

#include <algorithm>
#include <atomic>

#ifdef PYDL_HAVE_OPENMP
#include <omp.h>
#endif

namespace pydl {

namespace {
std::atomic<int> g_num_threads{0};  // 0: not yet chosen

int default_threads() {
#ifdef PYDL_HAVE_OPENMP
    return std::max(1, omp_get_max_threads());  // honours OMP_NUM_THREADS
#else
    return 1;
#endif
}
}  // namespace

bool have_openmp() {
#ifdef PYDL_HAVE_OPENMP
    return true;
#else
    return false;
#endif
}

void set_num_threads(int n) { g_num_threads.store(std::max(1, n)); }

int get_num_threads() {
    int n = g_num_threads.load();
    if (n == 0) {
        n = default_threads();
        g_num_threads.store(n);
    }
    return n;
}

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn) {
    if (end <= begin) return;
    grain = std::max<int64_t>(grain, 1);
    const int64_t chunks = (end - begin + grain - 1) / grain;
    const int threads = static_cast<int>(std::min<int64_t>(get_num_threads(), chunks));
#ifdef PYDL_HAVE_OPENMP
    if (threads > 1 && !omp_in_parallel()) {
        // Split into `threads` contiguous ranges rounded to the grain; the ranges
        // change with the thread count, which is why kernels must not reduce
        // across items in a range-dependent order (Note [Determinism]).
        const int64_t per = (chunks + threads - 1) / threads * grain;
#pragma omp parallel for num_threads(threads) schedule(static, 1)
        for (int t = 0; t < threads; ++t) {
            const int64_t lo = begin + t * per;
            const int64_t hi = std::min(end, lo + per);
            if (lo < hi) fn(lo, hi);
        }
        return;
    }
#endif
    (void)threads;
    fn(begin, end);
}

}  // namespace pydl
