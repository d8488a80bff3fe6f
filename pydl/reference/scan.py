"""Cumulative scans along a dim: cumsum, cumprod, cummax, cummin, logcumsumexp.

NumPy twins of cpp/kernels/scan."""

import numpy as np  # noqa: F401
