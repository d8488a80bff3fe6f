"""Ready-made models of the spec."""

from .gpt import GPT, text_batches
from .mlp import MLP

__all__ = ["GPT", "MLP", "text_batches"]
