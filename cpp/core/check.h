// Error checks for the C++ core.
//
// Kernels trust their arguments; the bindings (and the few kernels that read
// user-supplied indices) check with PYDL_CHECK. The exception types derive from
// the standard ones that pybind11 already maps to Python: std::invalid_argument
// -> ValueError, std::out_of_range -> IndexError, std::domain_error -> ValueError.
#pragma once
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

}  // namespace pydl

// PYDL_CHECK(cond, ValueError, "message ", parts...) throws pydl::ValueError.
#define PYDL_CHECK(cond, Kind, ...)                                 \
    do {                                                            \
        if (!(cond)) throw ::pydl::Kind(::pydl::str_cat(__VA_ARGS__)); \
    } while (0)
