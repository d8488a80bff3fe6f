#include "core/parallel.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/check.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PYDL_PAUSE() _mm_pause()
#else
#define PYDL_PAUSE() ((void)0)
#endif

namespace pydl {

namespace {
std::atomic<int> g_num_threads{0};  // the default (Note [Thread count]); 0: not yet chosen
thread_local int t_override = 0;    // this thread's pydl.threads(n); 0: none
thread_local bool t_in_region = false;
thread_local int t_index = 0;  // 0 on a calling thread, 1.. on the pool's workers
std::atomic<uint64_t> g_regions{0};

// Note [Fork]: fork copies only the calling thread, so the child has none of the pool's
// workers. on_fork_child drops the parent's pool (leaked: its mutex may have been held by
// a thread that is gone) and the child runs kernels on one thread, as PyTorch does (a
// DataLoader worker beside its siblings), until set_num_threads asks for more; a new pool
// then starts on first use.
std::atomic<bool> g_forked{false};

// The default thread count: OMP_NUM_THREADS (its first value, as OpenMP reads it) if set
// and valid, else the CPUs this process may run on.
int default_threads() {
    if (const char* env = std::getenv("OMP_NUM_THREADS")) {
        char* end = nullptr;
        const long n = std::strtol(env, &end, 10);
        if (end != env && n >= 1) return int(std::min<long>(n, kMaxThreads));
    }
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        return std::clamp(CPU_COUNT(&set), 1, kMaxThreads);
    return std::clamp(int(std::thread::hardware_concurrency()), 1, kMaxThreads);
}

// Note [Wait policy]: how long an idle worker spins before it sleeps. Spinning keeps the
// gaps between a step's kernels (microseconds of Python) from paying a wake-up each; but a
// spinning thread on a core that another process needs takes that process's time, and a
// sleeping worker woken by the kernel is scheduled ahead of it. A worker spins
// kDefaultSpinUs after its last item, then sleeps (measured: benchmarks/neighbour.py, in
// the note of issue 18). OMP_WAIT_POLICY=passive never spins, =active never sleeps;
// PYDL_SPIN_US=N sets the spin in microseconds.
constexpr int64_t kDefaultSpinUs = 100;
int64_t spin_ns() {
    if (const char* env = std::getenv("PYDL_SPIN_US")) {
        char* end = nullptr;
        const long long us = std::strtoll(env, &end, 10);
        if (end != env && us >= 0) return us * 1000;
    }
    if (const char* env = std::getenv("OMP_WAIT_POLICY")) {
        if (strcasecmp(env, "passive") == 0) return 0;
        if (strcasecmp(env, "active") == 0) return INT64_MAX;
    }
    return kDefaultSpinUs * 1000;
}

// Note [Thread pool]: pydl's own pool, not OpenMP's. A region's items t in [0, items) are
// claimed one at a time from one atomic word by whoever comes first: the calling thread
// and the woken workers. The caller never waits for a worker to start, only for the items
// a worker has claimed to finish; so a worker the OS has set aside (another process on its
// core, the GIL-holding main thread beside it) costs the region nothing, where a
// fork-join barrier would wait for it. One caller at a time uses the workers; a second
// Python thread's region meanwhile runs its items itself, in order.
// Note [Item 0 on the caller]: the calling thread runs item 0 itself and the workers claim
// from item 1, so a region's first share always runs on the calling thread. Kernels split
// the same way (a weight's first rows in the forward product, its gradient and the
// optimizer step) then keep that share in one core's cache across a training step; when
// a spinning worker could claim item 0 first, a small-batch step's weights moved between
// the cores' caches from kernel to kernel (pydl.compile'd MLP 784-256-256-10 batch-8 SGD
// step, 2 threads, this 2-vCPU Xeon: 212-218 -> 170-173 us).
class Pool {
public:
    // Runs body(t) for every t in [0, items), each once, on the calling thread and up to
    // items - 1 workers. body must not throw (run_region catches).
    void run(int items, const std::function<void(int)>& body) {
        std::unique_lock<std::mutex> caller(caller_, std::try_to_lock);
        if (!caller.owns_lock()) {  // another thread's region has the workers
            for (int t = 0; t < items; ++t) body(t);
            return;
        }
        add_workers(items - 1);
        body_.store(&body, std::memory_order_relaxed);
        done_.store(0, std::memory_order_relaxed);
        ++generation_;
        // publishes body_ and done_ with the work (release), seq_cst for the sleep handshake
        // Item 0 is the caller's own (Note [Item 0 on the caller]); workers claim from 1.
        claim_.store(uint64_t(generation_) << 32 | uint64_t(items) << 16 | 1u,
                     std::memory_order_seq_cst);
        if (sleepers_.load(std::memory_order_seq_cst) > 0) {
            {
                std::lock_guard<std::mutex> lock(sleep_mutex_);
            }
            wake_.notify_all();
        }
        body(0);
        done_.fetch_add(1, std::memory_order_release);
        uint64_t seen;
        drain(seen);
        for (int spins = 0; done_.load(std::memory_order_acquire) < items; ++spins) {
            if (spins < 4096)
                PYDL_PAUSE();
            else
                std::this_thread::yield();  // a claimed item still runs on a set-aside worker
        }
    }

private:
    static constexpr uint64_t kField = 0xffff;

    // Claims and runs items until none are left; `seen` gets the generation it last saw.
    void drain(uint64_t& seen) {
        uint64_t word = claim_.load(std::memory_order_acquire);
        for (;;) {
            seen = word >> 32;
            const uint64_t next = word & kField, items = (word >> 16) & kField;
            if (next >= items) return;
            if (claim_.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
                (*body_.load(std::memory_order_relaxed))(int(next));
                done_.fetch_add(1, std::memory_order_release);
                word = claim_.load(std::memory_order_acquire);
            }
        }
    }

    void add_workers(int wanted) {
        while (int(workers_) < wanted) {
            const int index = int(workers_) + 1;
            try {
                // the generation before the region about to start, so the new worker joins it
                std::thread([this, index, before = generation_] { work(index, before); }).detach();
            } catch (const std::system_error&) {
                return;  // no more threads: the caller and the workers there are do it all
            }
            ++workers_;
        }
    }

    void work(int index, uint32_t before) {
        t_in_region = true;  // a worker only runs region items: its kernels never nest
        t_index = index;
        const int64_t spin = spin_ns();
        uint64_t seen = before;
        for (;;) {
            const auto start = std::chrono::steady_clock::now();
            for (int i = 1; claim_.load(std::memory_order_acquire) >> 32 == seen; ++i) {
                PYDL_PAUSE();
                if (i % 64 == 0 &&
                    std::chrono::steady_clock::now() - start >= std::chrono::nanoseconds(spin)) {
                    std::unique_lock<std::mutex> lock(sleep_mutex_);
                    sleepers_.fetch_add(1, std::memory_order_seq_cst);
                    while (claim_.load(std::memory_order_seq_cst) >> 32 == seen) wake_.wait(lock);
                    sleepers_.fetch_sub(1, std::memory_order_relaxed);
                    break;
                }
            }
            drain(seen);
        }
    }

    std::mutex caller_;               // held by the thread whose region runs
    uint32_t generation_ = 0;         // the caller's count of regions (under caller_)
    size_t workers_ = 0;              // started so far (under caller_)
    std::atomic<uint64_t> claim_{0};  // generation << 32 | items << 16 | next item
    std::atomic<const std::function<void(int)>*> body_{nullptr};
    std::atomic<int> done_{0};  // items of this generation finished
    std::atomic<int> sleepers_{0};
    std::mutex sleep_mutex_;
    std::condition_variable wake_;
};

std::atomic<Pool*> g_pool{nullptr};

Pool& pool() {
    Pool* p = g_pool.load(std::memory_order_acquire);
    if (p) return *p;
    auto fresh = std::make_unique<Pool>();
    if (g_pool.compare_exchange_strong(p, fresh.get(), std::memory_order_acq_rel))
        return *fresh.release();  // never freed: workers may outlive static destructors
    return *p;
}

void on_fork_child() {
    g_forked.store(true, std::memory_order_relaxed);
    g_pool.store(nullptr, std::memory_order_relaxed);  // Note [Fork]
}
const int g_atfork_registered = pthread_atfork(nullptr, nullptr, on_fork_child);

void check_thread_count(int n, const char* fn) {
    PYDL_CHECK(n >= 1 && n <= kMaxThreads, ValueError, fn, " expects 1 <= n <= ", kMaxThreads,
               ", got ", n);
}

// Runs body(t, stop) for t in [0, threads), each once, on up to `threads` threads.
// Note [Errors in regions]: the first exception is kept and rethrown here; `stop` turns
// true once a body has thrown, for bodies that can end early.
template <typename Body>
void run_region(int threads, const Body& body) {
    struct Shared {
        const Body& body;
        std::exception_ptr error;
        std::atomic<bool> stop{false};
    } shared{body, nullptr};
    // one captured pointer: fits std::function's own storage, no allocation per region
    const std::function<void(int)> item = [s = &shared](int t) {
        const bool outer = t_in_region;
        t_in_region = true;
        try {
            s->body(t, s->stop);
        } catch (...) {
            if (!s->stop.exchange(true)) s->error = std::current_exception();
        }
        t_in_region = outer;
    };
    g_regions.fetch_add(1, std::memory_order_relaxed);
    pool().run(threads, item);
    if (shared.error) std::rethrow_exception(shared.error);  // ordered by done_'s acquire
}
}  // namespace

std::string wait_policy() {
    const int64_t ns = spin_ns();
    if (ns == 0) return "passive (idle workers sleep at once)";
    if (ns == INT64_MAX) return "active (idle workers never sleep)";
    return "idle workers spin " + std::to_string(ns / 1000) + " us, then sleep";
}

int current_thread_index() { return t_in_region ? t_index : 0; }

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

int get_default_num_threads() {
    int n = g_num_threads.load();
    if (n == 0) {
        n = default_threads();
        g_num_threads.store(n);
    }
    return n;
}

int get_num_threads() {
    if (t_in_region || g_forked.load(std::memory_order_relaxed)) return 1;
    if (t_override > 0) return t_override;
    return get_default_num_threads();
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
    // When the owner last started an item (steady_clock ticks), 0 until it enters the region.
    std::atomic<int64_t> started{0};
    static uint64_t pack(uint64_t front, uint64_t back) { return front << 32 | back; }
    static uint64_t front(uint64_t v) { return v >> 32; }
    static uint64_t back(uint64_t v) { return v & 0xffffffffu; }
    bool empty() const {
        const uint64_t v = bounds.load(std::memory_order_relaxed);
        return front(v) >= back(v);
    }
    // Takes up to `count` items off the front (owner) or the back (thief) into [lo, hi);
    // false when empty.
    bool take(bool from_front, uint64_t count, int64_t& lo, int64_t& hi) {
        uint64_t v = bounds.load(std::memory_order_relaxed);
        for (;;) {
            if (front(v) >= back(v)) return false;
            const uint64_t n = std::min(count, back(v) - front(v));
            const uint64_t next =
                from_front ? pack(front(v) + n, back(v)) : pack(front(v), back(v) - n);
            if (bounds.compare_exchange_weak(v, next, std::memory_order_relaxed)) {
                lo = int64_t(from_front ? front(v) : back(v) - n);
                hi = lo + int64_t(n);
                return true;
            }
        }
    }
};

int64_t ticks() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

// Note [Steal from the stuck]: a thread done with its share takes another's items only
// from a thread that has not entered the region (asleep, not started, or the region running
// serially) or has started no item for kStealGrace (set aside by the OS). Stealing from a
// thread that was merely a little behind moved its items' memory (a weight gradient's rows,
// which the optimizer step then reads on the owner's core) to the thief's cache; the owner,
// slower the next time on the rows it had lost, was robbed again, and the regions of a
// training step kept trading rows between the cores (batch-8 weight gradient 256x784x8 at
// 2 threads: 28.6-29.7 us, 21.6 without stealing; one thread 40).
constexpr int64_t kStealGrace =
    std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::microseconds(20))
        .count();
}  // namespace

void parallel_for_each_balanced(int64_t begin, int64_t end, const std::function<void(int64_t)>& fn,
                                int64_t grain) {
    const int64_t n = end - begin;
    if (n <= 0) return;
    const int threads = static_cast<int>(std::min<int64_t>(get_num_threads(), n));
    if (threads > 1 && n < (int64_t(1) << 32)) {
        std::unique_ptr<Share[]> shares(new Share[threads]);
        for (int t = 0; t < threads; ++t)  // the same split as parallel_for's
            shares[t].bounds.store(
                Share::pack(uint64_t(n * t / threads), uint64_t(n * (t + 1) / threads)));
        const uint64_t count = uint64_t(std::max<int64_t>(grain, 1));
        run_region(threads, [&](int t, const std::atomic<bool>& stop) {
            Share& mine = shares[t];
            const auto run = [&](int64_t from, int64_t to) {  // items of any share, on mine
                for (int64_t i = from; i < to && !stop.load(std::memory_order_relaxed); ++i) {
                    mine.started.store(ticks(), std::memory_order_relaxed);
                    fn(begin + i);
                }
            };
            int64_t lo, hi;
            mine.started.store(ticks(), std::memory_order_relaxed);
            while (!stop.load(std::memory_order_relaxed) && mine.take(true, count, lo, hi))
                run(lo, hi);
            // Note [Steal from the stuck]: until every share is empty, take from the stuck ones.
            for (bool left = true; left && !stop.load(std::memory_order_relaxed);) {
                left = false;
                for (int d = 1; d < threads; ++d) {
                    Share& other = shares[(t + d) % threads];
                    if (other.empty()) continue;
                    left = true;
                    const int64_t since = other.started.load(std::memory_order_relaxed);
                    if ((since == 0 || ticks() - since >= kStealGrace) &&
                        other.take(false, count, lo, hi))
                        run(lo, hi);
                }
                PYDL_PAUSE();
            }
        });
        return;
    }
    for (int64_t i = begin; i < end; ++i) fn(i);
}

}  // namespace pydl
