"""Datasets and loading."""

from .digits import load_digits, load_text
from .loader import DataLoader, TensorDataset

__all__ = ["DataLoader", "TensorDataset", "load_digits", "load_text"]
