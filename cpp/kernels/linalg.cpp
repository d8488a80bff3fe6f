// The linalg kernels (declared in linalg.h).
#include "kernels/linalg.h"

namespace pydl {}  // namespace pydl
