// Error checks for the C++ core.
//
// Kernels trust their arguments; the bindings (and the few kernels that read
// user-supplied indices) check with PYDL_CHECK. The exception types derive from
// the standard ones that pybind11 already maps to Python: std::invalid_argument
// -> ValueError, std::out_of_range -> IndexError, std::domain_error -> ValueError,
// std::bad_alloc -> MemoryError (with what() as the message).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>

namespace pydl {

struct ValueError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};
struct IndexError : std::out_of_range {
    using std::out_of_range::out_of_range;
};
struct TypeError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A failed allocation that says its size: "pydl: out of memory allocating N bytes"
// (MemoryError in Python). The message lives in the object, not on the heap, so making
// and copying it cannot fail for want of memory.
class OutOfMemory : public std::bad_alloc {
public:
    explicit OutOfMemory(size_t bytes) {
        std::snprintf(msg_, sizeof(msg_), "pydl: out of memory allocating %zu bytes", bytes);
    }
    // count items of `size` bytes, a product that may not fit size_t.
    OutOfMemory(int64_t count, size_t size) {
        std::snprintf(msg_, sizeof(msg_), "pydl: out of memory allocating %lld x %zu bytes",
                      static_cast<long long>(count), size);
    }
    const char* what() const noexcept override { return msg_; }

private:
    char msg_[80];
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
    os << first;
    append(os, rest...);
}
}  // namespace detail

template <typename... Args>
std::string str_cat(const Args&... args) {
    std::ostringstream os;
    detail::append(os, args...);
    return os.str();
}

// The first position i with index[i] outside [lo, hi), or -1. Blocks are tested with a
// branch-free OR that the compiler vectorizes; only a failing block is searched again.
inline int64_t find_out_of_range(const int64_t* index, int64_t count, int64_t lo, int64_t hi) {
    // index - lo in unsigned arithmetic (no overflow for any int64 index): below lo wraps
    // to a huge value, so one comparison tests both ends.
    const uint64_t base = uint64_t(lo), span = uint64_t(hi) - base;
    constexpr int64_t kBlock = 1024;
    for (int64_t b = 0; b < count; b += kBlock) {
        const int64_t e = std::min(count, b + kBlock);
        bool bad = false;
        for (int64_t i = b; i < e; ++i) bad |= uint64_t(index[i]) - base >= span;
        if (bad)
            for (int64_t i = b; i < e; ++i)
                if (uint64_t(index[i]) - base >= span) return i;
    }
    return -1;
}

// Note [Checked sizes]: a size computed from user settings (a shape's element count,
// strides, a convolution's or pooling's output size and padded extent, a workspace)
// goes through these, so a setting near 2^63 raises ValueError naming the operation
// instead of wrapping around (undefined behaviour) into a small or negative size that a
// kernel would allocate and then index past. A byte count that does not fit size_t is
// an allocation that cannot succeed: OutOfMemory.
template <typename... Msg>
int64_t checked_mul(int64_t a, int64_t b, const Msg&... what) {
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        throw ValueError(str_cat(what..., ": ", a, " * ", b, " overflows int64"));
    return r;
}
template <typename... Msg>
int64_t checked_add(int64_t a, int64_t b, const Msg&... what) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        throw ValueError(str_cat(what..., ": ", a, " + ", b, " overflows int64"));
    return r;
}
// count * size bytes, or OutOfMemory when that does not fit size_t.
inline size_t checked_bytes(int64_t count, size_t size) {
    size_t bytes;
    if (count < 0) throw ValueError(str_cat("pydl: negative allocation of ", count, " items"));
    if (__builtin_mul_overflow(size_t(count), size, &bytes)) throw OutOfMemory(count, size);
    return bytes;
}

}  // namespace pydl

// PYDL_CHECK(cond, ValueError, "message ", parts...) throws pydl::ValueError.
#define PYDL_CHECK(cond, Kind, ...)                                    \
    do {                                                               \
        if (!(cond)) throw ::pydl::Kind(::pydl::str_cat(__VA_ARGS__)); \
    } while (0)
