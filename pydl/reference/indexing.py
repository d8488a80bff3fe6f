"""Indexing by index tensors and masks: gather, scatter(_add, _reduce), index_select,
index_add, index_put, masked_fill, masked_select, nonzero, take_along_dim.

NumPy twins of cpp/kernels/indexing."""

import numpy as np  # noqa: F401
