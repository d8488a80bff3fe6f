// The sort kernels (declared in sort.h).
#include "kernels/sort.h"

namespace pydl {}  // namespace pydl
