#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <memory>

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

int current_thread_index() {
#ifdef PYDL_HAVE_OPENMP
    return omp_get_thread_num();
#else
    return 0;
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

namespace {
// One thread's share of the items as [front, back) in one word, so that the owner taking
// the front and a thief taking the back cannot both get the last item.
struct alignas(64) Share {
    std::atomic<uint64_t> bounds;
    static uint64_t pack(uint64_t front, uint64_t back) { return front << 32 | back; }
    // Takes the front item (owner) or the back one (thief) into `item`; false when empty.
    bool take(bool from_front, int64_t& item) {
        uint64_t v = bounds.load(std::memory_order_relaxed);
        for (;;) {
            const uint64_t front = v >> 32, back = v & 0xffffffffu;
            if (front >= back) return false;
            const uint64_t next = from_front ? pack(front + 1, back) : pack(front, back - 1);
            if (bounds.compare_exchange_weak(v, next, std::memory_order_relaxed)) {
                item = int64_t(from_front ? front : back - 1);
                return true;
            }
        }
    }
};
}  // namespace

void parallel_for_each_balanced(int64_t begin, int64_t end,
                                const std::function<void(int64_t)>& fn) {
    const int64_t n = end - begin;
    if (n <= 0) return;
#ifdef PYDL_HAVE_OPENMP
    const int threads = static_cast<int>(std::min<int64_t>(get_num_threads(), n));
    if (threads > 1 && !omp_in_parallel() && n < (int64_t(1) << 32)) {
        std::unique_ptr<Share[]> shares(new Share[threads]);
        for (int t = 0; t < threads; ++t)  // the same split as parallel_for's
            shares[t].bounds.store(
                Share::pack(uint64_t(n * t / threads), uint64_t(n * (t + 1) / threads)));
#pragma omp parallel for num_threads(threads) schedule(static, 1)
        for (int t = 0; t < threads; ++t) {
            int64_t item;
            while (shares[t].take(true, item)) fn(begin + item);
            for (int d = 1; d < threads; ++d)
                while (shares[(t + d) % threads].take(false, item)) fn(begin + item);
        }
        return;
    }
#endif
    for (int64_t i = begin; i < end; ++i) fn(i);
}

}  // namespace pydl
