"""Datasets and loading: the bundled datasets, and pydl.utils.data's classes (the same
objects as torch.utils.data's names)."""

from ..utils.data import *  # noqa: F403
from ..utils.data import __all__ as _utils_data_all
from .digits import load_digits, load_text

__all__ = [*_utils_data_all, "load_digits", "load_text"]
