"""Ready-made models of the spec."""

from .gmm import GaussianMixture
from .gpt import GPT, text_batches
from .made import MADE, train_made
from .mlp import MLP
from .realnvp import RealNVP, train_realnvp
from .vae import VAE, train_vae

__all__ = [
    "GPT",
    "MADE",
    "MLP",
    "VAE",
    "GaussianMixture",
    "RealNVP",
    "text_batches",
    "train_made",
    "train_realnvp",
    "train_vae",
]
