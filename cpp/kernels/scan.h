// Cumulative scans along a dim: cumsum, cumprod, cummax, cummin, logcumsumexp.
#pragma once
#include <cstdint>

namespace pydl {}  // namespace pydl
