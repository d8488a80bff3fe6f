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

namespace pydl {

// At least `bytes` bytes, 64-byte aligned; release with buffer_release(ptr, bytes).
void* buffer_acquire(size_t bytes);
void buffer_release(void* ptr, size_t bytes);
// Frees every cached buffer; returns the bytes freed.
size_t buffer_pool_clear();
size_t buffer_pool_cached_bytes();

// A kernel's scratch array of `count` T from the pool, uninitialized, returned on scope exit.
// For large temporaries, where std::vector would zero-fill (and often first-touch) them.
template <typename T>
class Scratch {
public:
    explicit Scratch(int64_t count)
        : bytes_(size_t(std::max<int64_t>(count, 1)) * sizeof(T)),
          ptr_(static_cast<T*>(buffer_acquire(bytes_))) {}
    ~Scratch() { buffer_release(ptr_, bytes_); }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    T* data() const { return ptr_; }
    T& operator[](int64_t i) const { return ptr_[i]; }

private:
    size_t bytes_;
    T* ptr_;
};

}  // namespace pydl
