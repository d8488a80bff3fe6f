// Error checks for the C++ core.
//
// Kernels trust their arguments; the bindings (and the few kernels that read
// user-supplied indices) check with PYDL_CHECK. The exception types derive from
// the standard ones that pybind11 already maps to Python: std::invalid_argument
// -> ValueError, std::out_of_range -> IndexError, std::domain_error -> ValueError.
#pragma once
#include <algorithm>
#include <cstdint>
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

}  // namespace pydl

// PYDL_CHECK(cond, ValueError, "message ", parts...) throws pydl::ValueError.
#define PYDL_CHECK(cond, Kind, ...)                                    \
    do {                                                               \
        if (!(cond)) throw ::pydl::Kind(::pydl::str_cat(__VA_ARGS__)); \
    } while (0)
