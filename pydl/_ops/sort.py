"""Sorting and selection along a dim: sort, argsort, topk, kthvalue, median, mode, unique,
bincount, histc.

(cpp/kernels/sort, pydl/reference/sort)."""

from __future__ import annotations
