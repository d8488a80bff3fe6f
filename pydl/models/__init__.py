"""Ready-made models of the spec."""

from .ddpm import DDPM, beta_schedule, train_ddpm
from .ebm import EBM, train_ebm
from .gan import GAN
from .gmm import GaussianMixture
from .gpt import GPT, text_batches
from .mlp import MLP
from .rbm import RBM
from .score import ScoreModel, annealed_langevin_dynamics, langevin_dynamics, train_score

__all__ = [
    "DDPM",
    "EBM",
    "GAN",
    "GPT",
    "MLP",
    "RBM",
    "GaussianMixture",
    "ScoreModel",
    "annealed_langevin_dynamics",
    "beta_schedule",
    "langevin_dynamics",
    "text_batches",
    "train_ddpm",
    "train_ebm",
    "train_score",
]
