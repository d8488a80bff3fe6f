"""pydl.data's Dataset and DataLoader: those of pydl.utils.data (one implementation)."""

from ..utils.data import DataLoader, Dataset, TensorDataset

__all__ = ["DataLoader", "Dataset", "TensorDataset"]
