// Sorting and selection along a dim: sort, argsort, topk, kthvalue, median, mode, unique,
// bincount, histc.
#pragma once
#include <cstdint>

namespace pydl {}  // namespace pydl
