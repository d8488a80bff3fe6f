"""Ready-made models of the spec."""

from .gmm import GaussianMixture
from .gpt import GPT, text_batches
from .mlp import MLP

__all__ = ["GPT", "MLP", "GaussianMixture", "text_batches"]
