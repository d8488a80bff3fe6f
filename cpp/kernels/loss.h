// Losses beyond softmax_loss: l1, smooth_l1, huber, poisson_nll, gaussian_nll, margin and
// embedding losses, ctc.
#pragma once
#include <cstdint>

namespace pydl {}  // namespace pydl
