// A cache of large, 64-byte aligned buffers for kernel outputs.
//
// Note [Buffer pool]: a training step allocates and frees the same large arrays every
// iteration. Through malloc they often go back to the OS and come back as fresh pages,
// and first-touching 4 MB of fresh pages costs about as much as a whole elementwise
// kernel over them (measured: the CIFAR step 14.2 ms -> 11.0 ms without it). Freed
// buffers of the same byte size are kept here, up to a byte cap, and reused.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/check.h"

namespace pydl {

// At least `bytes` bytes, 64-byte aligned; release with buffer_release(ptr, bytes).
// Throws OutOfMemory (MemoryError, naming the size) when the memory is not there.
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
