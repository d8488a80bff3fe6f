"""Utilities under torch.utils's names (pydl.utils.data is torch.utils.data)."""

from . import data

__all__ = ["data"]
