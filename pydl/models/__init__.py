"""Ready-made models of the spec."""

from .mlp import MLP

__all__ = ["MLP"]
