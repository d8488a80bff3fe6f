// The one place pydl creates threads. Note [Determinism]: every kernel splits its
// work into chunks whose boundaries depend only on the problem size (never on the
// thread count) and never reduces across chunks in a thread-dependent order, so
// results are bit-identical for any number of threads.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace pydl {

// Note [Thread count]: set_num_threads sets the process-wide default (OMP_NUM_THREADS or
// the core count until called); set_thread_override sets the calling thread's own count
// (pydl.threads(n)), which takes precedence for kernels that thread launches, so one
// Python thread's `with pydl.threads(1):` leaves another's kernels alone. Both take
// 1..kMaxThreads and throw ValueError otherwise: libgomp starts every thread a region asks
// for, putting each one's start data on the calling thread's stack, and 100000 threads
// overflowed it: a segfault in GOMP_parallel on the next 4096^2 matmul, not an error.
// 1024 is above the hardware threads of any machine pydl targets and runs (a 4096^2
// matmul at 1024 threads on 2 cores: correct, 3.4 s); its stacks are 8 GiB of address
// space at 8 MiB each.
constexpr int kMaxThreads = 1024;
void set_num_threads(int n);
// The calling thread's override, 0 for none (back to the default); returns the previous.
int set_thread_override(int n);
// The threads a kernel launched from the calling thread uses now: 1 inside a parallel
// region (regions do not nest) and in a child process after fork (Note [Fork] in
// parallel.cpp) until set_num_threads; else the override, else the default.
int get_num_threads();
// The process-wide default alone (what set_num_threads set), for threadpoolctl.
int get_default_num_threads();
// How idle workers wait (Note [Wait policy] in parallel.cpp), for build_info.
std::string wait_policy();
// The calling thread's index within the running parallel_for (0 outside one).
int current_thread_index();
// How many regions have run on more than one thread since the process started (for tests:
// proof that a kernel really ran multi-threaded).
uint64_t parallel_region_count();

// Note [Errors in regions]: an exception thrown by fn on any thread (an OutOfMemory, a
// check) is caught there; the region finishes (parallel_for_each_balanced hands out no
// more items) and the first exception is rethrown on the calling thread. An exception
// may not leave an OpenMP region: that would be std::terminate, the process gone.

// Calls fn(lo, hi) over [begin, end) in chunks of at least `grain` items,
// in parallel when there is more than one chunk. Never nested: a parallel_for
// inside another runs serially.
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn);

// Note [Scratch before regions]: a kernel takes the scratch memory its threads need
// before a region starts, one piece per slot, so an allocation that fails fails on the
// calling thread, before any work. Where a region's body still allocates (a GEMM inside
// conv's per-sample tasks, sgemm_batched's products), a failure is rethrown on the caller
// like any other error (Note [Errors in regions]).
// parallel_slots is how many threads parallel_for would use for this range on the calling
// thread now; parallel_for_slots runs on at most `slots` threads and passes each call of
// fn(slot, lo, hi) a slot in [0, slots) that no call running at the same time shares.
int parallel_slots(int64_t begin, int64_t end, int64_t grain);
void parallel_for_slots(int64_t begin, int64_t end, int64_t grain, int slots,
                        const std::function<void(int, int64_t, int64_t)>& fn);

// Calls fn(i) once for each item of [begin, end), the items independent and each worth
// microseconds (a GEMM's tiles). Each thread starts on its own contiguous share of the
// items, in order, taking up to `grain` at a time; a thread done with its share takes the
// last items, `grain` at a time, of a thread that has not entered the region or has started
// no item for 20 us, so a thread the OS set aside does not hold the rest at the barrier
// (Note [Steal from the stuck] in parallel.cpp). Which thread runs an item varies from run
// to run; what the item computes must not depend on it.
void parallel_for_each_balanced(int64_t begin, int64_t end, const std::function<void(int64_t)>& fn,
                                int64_t grain = 1);

}  // namespace pydl
