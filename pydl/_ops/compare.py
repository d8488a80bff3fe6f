"""Comparisons and logical ops (cpp/kernels/compare, pydl/reference/compare): ops whose
kernels have no backward kernel."""

from __future__ import annotations
