// The scan kernels (declared in scan.h).
#include "kernels/scan.h"

namespace pydl {}  // namespace pydl
