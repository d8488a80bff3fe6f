#include "core/parallel.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <thread>

#include "core/check.h"

#ifdef PYDL_HAVE_OPENMP
#include <omp.h>
#endif

namespace pydl {

namespace {
std::atomic<int> g_num_threads{0};  // the default (Note [Thread count]); 0: not yet chosen
thread_local int t_override = 0;    // this thread's pydl.threads(n); 0: none
std::atomic<uint64_t> g_regions{0};

// Note [Fork]: fork copies only the calling thread. libgomp keeps, per thread that has
// started a region, a pool of worker threads that it reuses for the next region; in the
// child that pool names threads that do not exist, and the thread's next region waits
// for them forever (a Pool(2) worker hung in GOMP_parallel on its first matmul). So the
// child runs kernels on one thread, as PyTorch does, until set_num_threads asks for more;
// then the forking thread's regions start from a new thread, whose libgomp pool is fresh
// (libgomp cannot repair the copied one).
std::atomic<bool> g_forked{false};
thread_local bool t_stale_pool = false;  // this thread forked: its libgomp pool is a copy

void on_fork_child() {
    g_forked.store(true, std::memory_order_relaxed);
    t_stale_pool = true;  // runs on the child's one thread, the one that called fork
}
const int g_atfork_registered = pthread_atfork(nullptr, nullptr, on_fork_child);

int default_threads() {
#ifdef PYDL_HAVE_OPENMP
    return std::clamp(omp_get_max_threads(), 1, kMaxThreads);  // honours OMP_NUM_THREADS
#else
    return 1;
#endif
}

bool in_region() {
#ifdef PYDL_HAVE_OPENMP
    return omp_in_parallel();
#else
    return false;
#endif
}

void check_thread_count(int n, const char* fn) {
    PYDL_CHECK(n >= 1 && n <= kMaxThreads, ValueError, fn, " expects 1 <= n <= ", kMaxThreads,
               ", got ", n);
}

#ifdef PYDL_HAVE_OPENMP
// Runs body(t, stop) for t in [0, threads) on a team of up to `threads` threads, each t
// once. Note [Errors in regions]: the first exception is kept and rethrown here; `stop`
// turns true once a body has thrown, for bodies that can end early.
template <typename Body>
void run_region(int threads, const Body& body) {
    std::exception_ptr error;
    std::atomic<bool> stop{false};
    const auto team = [&] {
#pragma omp parallel for num_threads(threads) schedule(static, 1)
        for (int t = 0; t < threads; ++t) {
            try {
                body(t, stop);
            } catch (...) {
                if (!stop.exchange(true)) error = std::current_exception();
            }
        }
    };
    g_regions.fetch_add(1, std::memory_order_relaxed);
    if (t_stale_pool) {
        std::thread fresh(team);  // Note [Fork]
        fresh.join();
    } else {
        team();
    }
    if (error) std::rethrow_exception(error);  // the region's end ordered the write before
}
#endif
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

uint64_t parallel_region_count() { return g_regions.load(std::memory_order_relaxed); }

void set_num_threads(int n) {
    check_thread_count(n, "set_num_threads");
    g_num_threads.store(n);
    g_forked.store(false, std::memory_order_relaxed);
}

int set_thread_override(int n) {
    if (n != 0) check_thread_count(n, "threads");
    const int prev = t_override;
    t_override = n;
    return prev;
}

int get_num_threads() {
    if (in_region() || g_forked.load(std::memory_order_relaxed)) return 1;
    if (t_override > 0) return t_override;
    int n = g_num_threads.load();
    if (n == 0) {
        n = default_threads();
        g_num_threads.store(n);
    }
    return n;
}

int parallel_slots(int64_t begin, int64_t end, int64_t grain) {
    if (end <= begin) return 1;
    grain = std::max<int64_t>(grain, 1);
    const int64_t chunks = (end - begin + grain - 1) / grain;
    return static_cast<int>(std::min<int64_t>(get_num_threads(), chunks));
}

void parallel_for_slots(int64_t begin, int64_t end, int64_t grain, int slots,
                        const std::function<void(int, int64_t, int64_t)>& fn) {
    if (end <= begin) return;
    grain = std::max<int64_t>(grain, 1);
    const int64_t chunks = (end - begin + grain - 1) / grain;
    const int threads = static_cast<int>(
        std::min<int64_t>(std::min(get_num_threads(), std::max(slots, 1)), chunks));
#ifdef PYDL_HAVE_OPENMP
    if (threads > 1) {  // get_num_threads() is 1 inside a region: never nested
        // Split into `threads` contiguous ranges rounded to the grain; the ranges
        // change with the thread count, which is why kernels must not reduce
        // across items in a range-dependent order (Note [Determinism]).
        const int64_t per = (chunks + threads - 1) / threads * grain;
        run_region(threads, [&](int t, const std::atomic<bool>&) {
            const int64_t lo = begin + t * per;
            const int64_t hi = std::min(end, lo + per);
            if (lo < hi) fn(t, lo, hi);
        });
        return;
    }
#endif
    (void)threads;
    fn(0, begin, end);
}

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn) {
    parallel_for_slots(begin, end, grain, kMaxThreads,
                       [&](int, int64_t lo, int64_t hi) { fn(lo, hi); });
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
    if (threads > 1 && n < (int64_t(1) << 32)) {
        std::unique_ptr<Share[]> shares(new Share[threads]);
        for (int t = 0; t < threads; ++t)  // the same split as parallel_for's
            shares[t].bounds.store(
                Share::pack(uint64_t(n * t / threads), uint64_t(n * (t + 1) / threads)));
        run_region(threads, [&](int t, const std::atomic<bool>& stop) {
            int64_t item;
            while (!stop.load(std::memory_order_relaxed) && shares[t].take(true, item))
                fn(begin + item);
            for (int d = 1; d < threads; ++d)
                while (!stop.load(std::memory_order_relaxed) &&
                       shares[(t + d) % threads].take(false, item))
                    fn(begin + item);
        });
        return;
    }
#endif
    for (int64_t i = begin; i < end; ++i) fn(i);
}

}  // namespace pydl
