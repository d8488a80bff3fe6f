"""Ready-made models of the spec."""

from .ddpm import DDPM, beta_schedule, train_ddpm
from .gmm import GaussianMixture
from .gpt import GPT, text_batches
from .mlp import MLP

__all__ = ["DDPM", "GPT", "MLP", "GaussianMixture", "beta_schedule", "text_batches", "train_ddpm"]
