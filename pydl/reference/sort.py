"""Sorting and selection along a dim: sort, argsort, topk, kthvalue, median, mode, unique,
bincount, histc.

NumPy twins of cpp/kernels/sort."""

import numpy as np  # noqa: F401
