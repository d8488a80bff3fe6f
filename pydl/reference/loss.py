"""Losses beyond softmax_loss: l1, smooth_l1, huber, poisson_nll, gaussian_nll, margin and
embedding losses, ctc.

NumPy twins of cpp/kernels/loss."""

import numpy as np  # noqa: F401
