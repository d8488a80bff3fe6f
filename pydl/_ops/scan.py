"""Cumulative scans along a dim: cumsum, cumprod, cummax, cummin, logcumsumexp.

(cpp/kernels/scan, pydl/reference/scan)."""

from __future__ import annotations
