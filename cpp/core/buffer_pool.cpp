#include "core/buffer_pool.h"

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace pydl {

namespace {

constexpr size_t kCapBytes = size_t(1) << 30;  // cache at most 1 GiB of free buffers

struct Pool {
    std::mutex mutex;
    std::unordered_map<size_t, std::vector<void*>> free;  // by rounded size
    size_t cached = 0;
};

Pool& pool() {
    static Pool* p = new Pool;  // never destroyed: buffers may be freed at interpreter exit
    return *p;
}

// Whole pages; a size within a page of SIZE_MAX cannot be allocated anyway.
size_t rounded(size_t bytes) {
    if (bytes > size_t(-1) - 4095) throw OutOfMemory(bytes);
    return (bytes + 4095) / 4096 * 4096;
}

}  // namespace

namespace detail {
std::atomic<int64_t> g_fail_countdown{-1};

bool countdown_hits_zero() {
    // One caller sees 0 however many threads allocate at once; the rest see other values
    // (the countdown goes on below -1, which plans nothing).
    return g_fail_countdown.fetch_sub(1, std::memory_order_relaxed) == 0;
}

void injected_failure(size_t bytes) { throw OutOfMemory(bytes); }
}  // namespace detail

int64_t fail_allocation_after(int64_t k) {
    const int64_t prev = detail::g_fail_countdown.exchange(k < 0 ? -1 : k);
    return prev < 0 ? -1 : prev;
}

void* buffer_acquire(size_t bytes) {
    const size_t size = rounded(bytes);
    note_allocation(bytes);
    {
        Pool& p = pool();
        std::lock_guard<std::mutex> lock(p.mutex);
        auto it = p.free.find(size);
        if (it != p.free.end() && !it->second.empty()) {
            void* ptr = it->second.back();
            it->second.pop_back();
            p.cached -= size;
            return ptr;
        }
    }
    void* ptr = std::aligned_alloc(64, size);
    if (!ptr && buffer_pool_clear() > 0) ptr = std::aligned_alloc(64, size);  // cached memory back
    if (!ptr) throw OutOfMemory(bytes);
    return ptr;
}

void buffer_release(void* ptr, size_t bytes) noexcept {
    const size_t size = rounded(bytes);
    Pool& p = pool();
    {
        std::lock_guard<std::mutex> lock(p.mutex);
        if (p.cached + size <= kCapBytes) {
            // Called from destructors (Scratch, a capsule): if the cache cannot grow its
            // list, the buffer is freed instead of throwing.
            try {
                p.free[size].push_back(ptr);
                p.cached += size;
                return;
            } catch (...) {}
        }
    }
    std::free(ptr);
}

size_t buffer_pool_clear() {
    Pool& p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    for (auto& kv : p.free)
        for (void* ptr : kv.second) std::free(ptr);
    p.free.clear();
    const size_t freed = p.cached;
    p.cached = 0;
    return freed;
}

size_t buffer_pool_cached_bytes() {
    Pool& p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    return p.cached;
}

}  // namespace pydl
