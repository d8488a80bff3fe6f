"""Ready-made models of the spec."""

from .ddpm import DDPM, beta_schedule, train_ddpm
from .ebm import EBM, train_ebm
from .gan import GAN
from .gmm import GaussianMixture
from .gpt import GPT, text_batches
from .made import MADE, train_made
from .mlp import MLP
from .rbm import RBM
from .realnvp import RealNVP, train_realnvp
from .score import ScoreModel, annealed_langevin_dynamics, langevin_dynamics, train_score
from .vae import VAE, train_vae

__all__ = [
    "DDPM",
    "EBM",
    "GAN",
    "GPT",
    "MADE",
    "MLP",
    "RBM",
    "VAE",
    "GaussianMixture",
    "RealNVP",
    "ScoreModel",
    "annealed_langevin_dynamics",
    "beta_schedule",
    "langevin_dynamics",
    "text_batches",
    "train_ddpm",
    "train_ebm",
    "train_made",
    "train_realnvp",
    "train_score",
    "train_vae",
]
