"""Ready-made models of the spec."""

from .gmm import GaussianMixture
from .gpt import GPT, text_batches
from .mlp import MLP
from .gan import GAN
from .rbm import RBM

__all__ = ["GAN", "GPT", "MLP", "RBM", "GaussianMixture", "text_batches"]
