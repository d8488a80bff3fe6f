// The one place pydl creates threads. Note [Determinism]: every kernel splits its
// work into chunks whose boundaries depend only on the problem size (never on the
// thread count) and never reduces across chunks in a thread-dependent order, so
// results are bit-identical for any number of threads.
#pragma once
#include <cstdint>
#include <functional>

namespace pydl {

// Threads used by parallel_for. Defaults to OMP_NUM_THREADS or the core count.
void set_num_threads(int n);
int get_num_threads();
bool have_openmp();
// The calling thread's index within the running parallel_for (0 outside one).
int current_thread_index();

// Calls fn(lo, hi) over [begin, end) in chunks of at least `grain` items,
// in parallel when there is more than one chunk. Never nested: a parallel_for
// inside another runs serially.
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn);

// Calls fn(i) once for each item of [begin, end), the items independent and each worth
// many microseconds (a GEMM's tiles). Each thread starts on its own contiguous share, in
// order; a thread done with its share takes the others' last items, one at a time, so a
// thread the OS set aside does not hold the rest at the barrier. Which thread runs an
// item varies from run to run; what the item computes must not depend on it.
void parallel_for_each_balanced(int64_t begin, int64_t end, const std::function<void(int64_t)>& fn);

}  // namespace pydl
