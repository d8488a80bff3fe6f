// The pointwise kernels (declared in pointwise.h).
#include "kernels/pointwise.h"

namespace pydl {}  // namespace pydl
