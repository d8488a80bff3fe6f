// The indexing kernels (declared in indexing.h).
#include "kernels/indexing.h"

namespace pydl {}  // namespace pydl
