// A cache of large, 64-byte aligned buffers for kernel outputs.
//
// Note [Buffer pool]: a training step allocates and frees the same large arrays every
// iteration. Through malloc they often go back to the OS and come back as fresh pages,
// and first-touching 4 MB of fresh pages costs about as much as a whole elementwise
// kernel over them (measured: the CIFAR step 14.2 ms -> 11.0 ms without it). Freed
// buffers of the same byte size are kept here, up to a byte cap, and reused.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "core/check.h"

namespace pydl {

// Note [Checked allocations]: every allocation whose size follows the tensors' (an output
// array, a kernel's scratch, a working vector) either succeeds or throws OutOfMemory naming
// its size (MemoryError "pydl: out of memory allocating N bytes" in Python), never a bare
// std::bad_alloc. Three paths do that: buffer_acquire (Scratch, large outputs),
// CheckedVector below (a std::vector whose allocator checks), and the small NumPy outputs
// of empty/empty_as (bindings/common.h). Fixed-size and rank-sized vectors (shapes, one
// entry per thread or per parameter tensor) stay plain std::vector.
// Each path first calls note_allocation(bytes): there the test hook
// _core._testing.fail_allocation_after(k) makes the k-th checked allocation from then on
// fail (tests/test_oom.py drives every op through each of its allocations failing).
namespace detail {
extern std::atomic<int64_t> g_fail_countdown;  // -1: no failure planned
[[noreturn]] void injected_failure(size_t bytes);
bool countdown_hits_zero();
}  // namespace detail
inline void note_allocation(size_t bytes) {
    if (__builtin_expect(detail::g_fail_countdown.load(std::memory_order_relaxed) >= 0, 0) &&
        detail::countdown_hits_zero())
        detail::injected_failure(bytes);
}
// The test hook: the k-th checked allocation from now (0: the next) throws OutOfMemory;
// -1 plans none. Returns the previous countdown (-1 once the planned failure happened).
int64_t fail_allocation_after(int64_t k);

// The allocator of CheckedVector: operator new's memory, counted by note_allocation, and
// OutOfMemory(bytes) when it is not there.
template <typename T>
struct CheckedAllocator {
    using value_type = T;
    CheckedAllocator() = default;
    template <typename U>
    CheckedAllocator(const CheckedAllocator<U>&) noexcept {}
    T* allocate(size_t n) {
        size_t bytes;
        if (__builtin_mul_overflow(n, sizeof(T), &bytes)) throw OutOfMemory(int64_t(n), sizeof(T));
        note_allocation(bytes);
        void* p = ::operator new(bytes, std::nothrow);
        if (!p) throw OutOfMemory(bytes);
        return static_cast<T*>(p);
    }
    void deallocate(T* p, size_t) noexcept { ::operator delete(p); }
    template <typename U>
    bool operator==(const CheckedAllocator<U>&) const noexcept {
        return true;
    }
    template <typename U>
    bool operator!=(const CheckedAllocator<U>&) const noexcept {
        return false;
    }
};
// A std::vector for arrays sized by the tensors (Note [Checked allocations]).
template <typename T>
using CheckedVector = std::vector<T, CheckedAllocator<T>>;

// At least `bytes` bytes, 64-byte aligned; release with buffer_release(ptr, bytes).
// Throws OutOfMemory (MemoryError, naming the size) when the memory is not there (Note
// [Checked allocations]: the test hook counts every call, a cached buffer's too).
// Safe to call from several threads at once (one mutex, held for a lookup).
void* buffer_acquire(size_t bytes);
void buffer_release(void* ptr, size_t bytes) noexcept;
// Frees every cached buffer; returns the bytes freed.
size_t buffer_pool_clear();
size_t buffer_pool_cached_bytes();

// A kernel's scratch array of `count` T from the pool, uninitialized, returned on scope exit.
// For large temporaries, where std::vector would zero-fill (and often first-touch) them.
// Default-constructed it holds nothing (data() is null) until allocate(), for scratch that
// only some calls need: taking a buffer from the pool costs a lock.
template <typename T>
class Scratch {
public:
    Scratch() = default;
    explicit Scratch(int64_t count) { allocate(count); }
    ~Scratch() { release(); }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    // Replaces the array by one of `count` T (at least one).
    void allocate(int64_t count) {
        release();
        const size_t bytes = checked_bytes(std::max<int64_t>(count, 1), sizeof(T));
        ptr_ = static_cast<T*>(buffer_acquire(bytes));
        bytes_ = bytes;
    }
    T* data() const { return ptr_; }
    T& operator[](int64_t i) const { return ptr_[i]; }

private:
    void release() {
        if (ptr_) buffer_release(ptr_, bytes_);
        ptr_ = nullptr;
    }
    size_t bytes_ = 0;
    T* ptr_ = nullptr;
};

}  // namespace pydl
