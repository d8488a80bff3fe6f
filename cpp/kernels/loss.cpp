// The loss kernels (declared in loss.h).
#include "kernels/loss.h"

namespace pydl {}  // namespace pydl
