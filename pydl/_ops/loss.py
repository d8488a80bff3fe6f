"""Losses beyond softmax_loss: l1, smooth_l1, huber, poisson_nll, gaussian_nll, margin and
embedding losses, ctc.

(cpp/kernels/loss, pydl/reference/loss)."""

from __future__ import annotations
