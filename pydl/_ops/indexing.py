"""Indexing by index tensors and masks: gather, scatter(_add, _reduce), index_select,
index_add, index_put, masked_fill, masked_select, nonzero, take_along_dim.

(cpp/kernels/indexing, pydl/reference/indexing)."""

from __future__ import annotations
