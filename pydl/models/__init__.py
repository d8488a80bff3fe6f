"""Ready-made models of the spec."""

from .gmm import GaussianMixture
from .gpt import GPT, text_batches
from .mlp import MLP
from .rbm import RBM

__all__ = ["GPT", "MLP", "RBM", "GaussianMixture", "text_batches"]
