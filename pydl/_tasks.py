"""The models `pydl train MODEL` trains: one Task per name in TASKS.

A task says *what* to train: its model, data, optimizer (and scheduler), loss and the metric
it is judged by, plus the epochs, batch size and learning rate that make a good run by
default. *How* to train (the loop, progress bar, checkpoints, resume, Ctrl-C) is written once
in pydl/_trainer.py for all of them. Adding a model is adding a Task here.

Data: the bundled 8x8 digits (1437 train / 360 test images) as flat vectors (mlp), 1x8x8
images (cnn) or 8 rows of 8 features (lstm, gru); the bundled text for gpt, split into the
first 90% for training and the last 10% for validation.

Every task's batches() draws its randomness (shuffles, window offsets) from pydl's generator
lazily, one batch at a time: Note [Exact resume] in pydl/_trainer.py relies on it.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

import pydl
from pydl import _random, nn, optim
from pydl.data import DataLoader, TensorDataset, load_digits, load_text
from pydl.models import (
    DDPM,
    EBM,
    GAN,
    GPT,
    MLP,
    RBM,
    GaussianMixture,
    MADE,
    RealNVP,
    ScoreModel,
    VAE,
    ddpm,
    ebm,
    evaluation,
    made,
    realnvp,
    score,
    text_batches,
    vae,
)
from pydl.tensor import Tensor

Batch = tuple[Any, Any]


@dataclass(frozen=True)
class Metric:
    """What an evaluation measured: `name` leads the final line, `short` the epoch lines."""

    key: str  # for code: "test_accuracy", "validation_loss"
    name: str
    short: str
    value: float
    shown: str  # the value as people read it: "98.33%", "1.8123 (perplexity 6.12)"


@dataclass
class Setup:
    """One run's objects, built by a Task from the run's settings."""

    model: nn.Module
    optimizer: Any  # an optimizer, or anything with state_dict/load_state_dict (or None)
    scheduler: Optional[Any]  # an lr scheduler stepped once per epoch, or None
    batches: Callable[[], Iterator[Batch]]  # one epoch of (input, target)
    steps_per_epoch: int
    loss: Optional[Callable[[nn.Module, Any, Any], Tensor]]
    evaluate: Callable[[nn.Module], Metric]  # called in eval mode under no_grad
    epilogue: Optional[Callable[[nn.Module], str]] = None  # printed after training (a sample)
    # A whole training step (model, optimizer, x, y) -> the loss to show, for a model that
    # is not trained by one loss's gradient (a GAN's two players, an RBM's contrastive
    # divergence, a GMM's EM); `loss` is then unused.
    step: Optional[Callable[[nn.Module, Any, Any, Any], float]] = None
    # A generative model's samples: (model, n) -> (n, 64) digits in [0, 1], for --samples
    sampler: Optional[Callable[[nn.Module, int], np.ndarray]] = None


@dataclass(frozen=True)
class Task:
    help: str
    epochs: int
    batch_size: int
    lr: float
    build: Callable[[int, float], Setup]  # (batch_size, lr) -> Setup, after pydl.manual_seed
    generative: bool = False  # its Setup has a sampler (`pydl train NAME --samples out.png`)


# ----- the digits: classification -----------------------------------------------------------


def _cross_entropy(model: nn.Module, x: Any, y: Any) -> Tensor:
    return nn.functional.cross_entropy(model(pydl.tensor(x)), y)


def _accuracy(x: np.ndarray, y: np.ndarray) -> Callable[[nn.Module], Metric]:
    def evaluate(model: nn.Module) -> Metric:
        pred = model(pydl.tensor(x)).numpy().argmax(axis=1)
        acc = float((pred == y).mean())
        return Metric("test_accuracy", "test accuracy", "test acc", acc, f"{acc * 100:.2f}%")

    return evaluate


def _digits(
    shape: tuple[int, ...],
    model: Callable[[], nn.Module],
    optimizer: Callable[[Any, float], optim.Optimizer],
    scheduler: Optional[Callable[[optim.Optimizer], Any]] = None,
) -> Callable[[int, float], Setup]:
    """A builder for a digits classifier that sees each image with the given shape."""

    def build(batch_size: int, lr: float) -> Setup:
        (x, y), (x_test, y_test) = load_digits()
        x, x_test = x.reshape(len(x), *shape), x_test.reshape(len(x_test), *shape)
        net = model()
        opt = optimizer(net.parameters(), lr)
        loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
        return Setup(
            model=net,
            optimizer=opt,
            scheduler=scheduler(opt) if scheduler else None,
            batches=lambda: iter(loader),
            steps_per_epoch=len(loader),
            loss=_cross_entropy,
            evaluate=_accuracy(x_test, y_test),
        )

    return build


def _small_cnn() -> nn.Module:
    """8x8 -> conv-BN-ReLU-pool (16x4x4) -> conv-BN-ReLU-pool (32x2x2) -> dropout, linear."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(128, 10),
    )


class SequenceClassifier(nn.Module):
    """An LSTM or GRU reads the image row by row; a linear head reads its last output."""

    def __init__(self, cell: str, input_size: int = 8, hidden: int = 64, classes: int = 10):
        super().__init__()
        self.rnn = getattr(nn, cell)(input_size, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def _sgd(momentum: float) -> Callable[[Any, float], optim.Optimizer]:
    return lambda params, lr: optim.SGD(params, lr=lr, momentum=momentum)


def _adam(params: Any, lr: float) -> optim.Optimizer:
    return optim.Adam(params, lr=lr)


def _decay(opt: optim.Optimizer) -> Any:
    # the lr shrinks every epoch: a constant 0.01 makes Adam's late epochs jump about
    return optim.lr_scheduler.ExponentialLR(opt, gamma=0.8)


# ----- the text: a character-level GPT --------------------------------------------------------

GPT_CONTEXT = 64  # characters a window holds
GPT_STEPS_PER_EPOCH = 50
GPT_PROMPT = "The "


def _gpt(batch_size: int, lr: float) -> Setup:
    text = load_text()
    split = int(len(text) * 0.9)
    train_text, val = text[:split], np.frombuffer(text[split:].encode(), np.uint8).astype(np.int64)
    # bytes as tokens (vocab 256): any text works, no tokenizer to ship
    model = GPT(vocab_size=256, d_model=64, n_heads=4, n_layers=2, max_len=GPT_CONTEXT)
    opt = optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)

    def loss(model: nn.Module, x: Any, y: Any) -> Tensor:
        logits = model(x)
        return nn.functional.cross_entropy(pydl.reshape(logits, (-1, 256)), y.reshape(-1))

    def evaluate(model: nn.Module) -> Metric:
        # every validation character once, in consecutive windows (the last one shorter)
        total, count = 0.0, 0
        for start in range(0, len(val) - 1, GPT_CONTEXT):
            x = val[start : start + GPT_CONTEXT][None]
            y = val[start + 1 : start + GPT_CONTEXT + 1][None]
            x = x[:, : y.shape[1]]
            total += loss(model, x, y).item() * y.size
            count += y.size
        v = total / count
        return Metric(
            "validation_loss",
            "validation loss",
            "val loss",
            v,
            f"{v:.4f} (perplexity {math.exp(v):.2f})",
        )

    def sample(model: nn.Module) -> str:
        prompt = np.frombuffer(GPT_PROMPT.encode(), np.uint8).astype(np.int64)[None]
        out = model.generate(prompt, 200, temperature=0.8)[0]
        return "sample:\n" + bytes(out.astype(np.uint8).tolist()).decode("utf-8", errors="replace")

    return Setup(
        model=model,
        optimizer=opt,
        scheduler=None,
        batches=lambda: text_batches(train_text, batch_size, GPT_CONTEXT, GPT_STEPS_PER_EPOCH),
        steps_per_epoch=GPT_STEPS_PER_EPOCH,
        loss=loss,
        evaluate=evaluate,
        epilogue=sample,
    )


# ----- generative models on the digits (issue 16's table: pydl.models.evaluation) ------------


def _bits_metric(bits: float, what: str) -> Metric:
    return Metric("test_bits_per_dim", f"test bits/dim ({what})", "test bits/dim", bits,
                  f"{bits:.3f}")  # fmt: skip


class _Mixture(nn.Module):
    """A GaussianMixture as a Module, so that the loop can checkpoint it: its parameters are
    the state_dict's entries (float64)."""

    _NAMES = ("weights_", "means_", "covariances_")

    def __init__(self, components: int, reg_covar: float, seed: int) -> None:
        super().__init__()
        self.mixture = GaussianMixture(components, reg_covar=reg_covar, seed=seed)

    def state_dict(self) -> dict:  # type: ignore[override]
        return {n: getattr(self.mixture, n).copy() for n in self._NAMES if hasattr(self.mixture, n)}

    def load_state_dict(self, state: dict, strict: bool = True) -> tuple[list, list]:  # type: ignore[override]
        for n in self._NAMES:
            setattr(self.mixture, n, np.array(state[n], np.float64))
        return [], []

    def sample(self, n: int) -> np.ndarray:
        """n digits in [0, 1] (draws clipped to the pixels' range), from pydl's generator."""
        seed = int(_random.uniform_(np.empty(1, np.float32))[0] * 2**31)
        return np.clip(self.mixture.sample(n, seed=seed)[0], 0.0, 1.0)


def _gmm(batch_size: int, lr: float) -> Setup:
    """EM on the dequantized training digits, the whole split each step (an epoch is one EM
    iteration); batch_size and lr do not apply."""
    del batch_size, lr
    rng = np.random.default_rng(0)  # one fixed dequantization: EM needs the same data
    train = evaluation.dequantize(evaluation.digit_levels("train")[0], rng).astype(np.float64)
    test = evaluation.dequantize(evaluation.digit_levels("test")[0], rng).astype(np.float64)
    labels = np.zeros(len(train))  # the loop counts samples by the targets' length
    model = _Mixture(components=5, reg_covar=1e-3, seed=int(pydl.initial_seed()))

    def step(model: nn.Module, optimizer: Any, x: Any, y: Any) -> float:
        gmm = model.mixture
        if not hasattr(gmm, "means_"):
            gmm.initialize(x)
        return -gmm.em_step(x) / evaluation.DIMS  # nats per dimension, falling

    def evaluate(model: nn.Module) -> Metric:
        bits = evaluation.dequantized_bits_per_dim(model.mixture.score_samples(test))
        return _bits_metric(bits, "dequantized bound")

    return Setup(model, None, None, lambda: iter([(train, labels)]), 1, None, evaluate,
                 epilogue=_quality_line, step=step,
                 sampler=lambda model, n: model.sample(n))  # fmt: skip


def _rbm(batch_size: int, lr: float) -> Setup:
    """CD-k on the binarized digits (a pixel is on when >= 1/2); 16 hidden units keep log Z
    exact and cheap (2^16 states), so the metric is the binarized test digits' exact
    log-likelihood."""
    train, _ = evaluation.digit_levels("train")
    test, _ = evaluation.digit_levels("test")
    train, test = (train >= 8).astype(np.float32), (test >= 8).astype(np.float32)
    model = RBM(evaluation.DIMS, RBM_HIDDEN, k=RBM_GIBBS_STEPS)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.5)
    loader = DataLoader(TensorDataset(train, np.zeros(len(train))), batch_size=batch_size,
                        shuffle=True)  # fmt: skip

    def step(model: nn.Module, optimizer: Any, x: Any, y: Any) -> float:
        stats = model.contrastive_divergence(x)
        optimizer.step()
        return stats["reconstruction_error"]

    def evaluate(model: nn.Module) -> Metric:
        bits = evaluation.discrete_bits_per_dim(model.log_prob(test))
        return _bits_metric(bits, "binarized digits, exact")

    return Setup(model, opt, None, lambda: iter(loader), len(loader), None, evaluate,
                 epilogue=_quality_line, step=step,
                 sampler=lambda model, n: model.sample(n, steps=1000))  # fmt: skip


class _Optimizers(dict):
    """Named optimizers checkpointed as one (a GAN's two players)."""

    def state_dict(self) -> dict:
        return {name: opt.state_dict() for name, opt in self.items()}

    def load_state_dict(self, state: dict) -> None:
        for name, opt in self.items():
            opt.load_state_dict(state[name])


def _quality_metric(samples: np.ndarray) -> Metric:
    q = evaluation.sample_quality(samples)
    shown = (f"{q['frechet']:.2f} (confidence {q['confidence']:.3f}, class entropy "
             f"{q['class_entropy']:.2f} bits)")  # fmt: skip
    return Metric("frechet", "Frechet distance to the test digits", "Frechet", q["frechet"], shown)


def _gan(batch_size: int, lr: float) -> Setup:
    """DCGAN on the digits: per batch one discriminator step (L_D) then one generator step
    (the non-saturating L_G), each with its own Adam (betas 0.5, 0.999, as DCGAN)."""
    x = _unit_digits("train")
    model = GAN(latent=32, width=GAN_WIDTH)
    opts = _Optimizers(
        discriminator=optim.Adam(model.discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
        generator=optim.Adam(model.generator.parameters(), lr=lr, betas=(0.5, 0.999)),
    )
    loader = DataLoader(TensorDataset(x, np.zeros(len(x))), batch_size=batch_size, shuffle=True)

    def step(model: nn.Module, opts: Any, x: Any, y: Any) -> float:
        d_loss = model.discriminator_loss(pydl.tensor(x))
        opts["discriminator"].zero_grad()
        d_loss.backward()
        opts["discriminator"].step()
        g_loss = model.generator_loss(model.noise(len(x)))
        opts["generator"].zero_grad()
        g_loss.backward()
        opts["generator"].step()
        return d_loss.item()

    return Setup(model, opts, None, lambda: iter(loader), len(loader), None,
                 lambda model: _quality_metric(model.sample(1000)), step=step,
                 sampler=lambda model, n: model.sample(n))  # fmt: skip


@contextmanager
def _own_random_stream(seed: int = 0) -> Iterator[None]:
    """Draws inside come from a stream of their own, and the run's stream resumes after:
    an evaluation sees the same noise every epoch and leaves training's draws alone."""
    state = pydl.get_rng_state()
    pydl.manual_seed(seed)
    try:
        yield
    finally:
        pydl.set_rng_state(state)


def _unit_digits(split: str) -> np.ndarray:
    return evaluation.digit_levels(split)[0].astype(np.float32) / (evaluation.LEVELS - 1)


def _quality_line(model: nn.Module) -> str:
    with _own_random_stream():
        metric = _quality_metric(model.sample(1000))
    return f"{metric.name} of 1,000 samples: {metric.shown}"


def _denoiser(make: Callable[[], nn.Module], epochs: int) -> Callable[[int, float], Setup]:
    """A model trained by its own `loss(x)` on the digits (DDPM, the score model): Adam with
    the learning rate annealed to 0 over the task's default epochs (it stands in for a
    weight average); each epoch's metric is the loss on the test digits with fixed noise,
    and the final line the sample quality of 1,000 samples (Note [Sample quality])."""

    def build(batch_size: int, lr: float) -> Setup:
        x, test = _unit_digits("train"), _unit_digits("test")
        model = make()
        opt = optim.Adam(model.parameters(), lr=lr)
        loader = DataLoader(TensorDataset(x, np.zeros(len(x))), batch_size=batch_size,
                            shuffle=True, drop_last=True)  # fmt: skip

        def evaluate(model: nn.Module) -> Metric:
            with _own_random_stream():
                v = model.loss(test).item()
            return Metric("test_loss", "test loss", "test loss", v, f"{v:.4f}")

        return Setup(
            model, opt, optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs),
            lambda: iter(loader), len(loader), lambda model, x, y: model.loss(x), evaluate,
            epilogue=_quality_line, sampler=lambda model, n: model.sample(n),
        )  # fmt: skip

    return build


def _ebm(batch_size: int, lr: float) -> Setup:
    """The EBM on the digits: Adam (betas 0, 0.999, as Du & Mordatch); each epoch's metric is
    the sample quality of 1,000 states of its persistent chains (no extra Langevin steps:
    cheap, and what training sees)."""
    x = _unit_digits("train")
    model = EBM()
    opt = optim.Adam(model.parameters(), lr=lr, betas=ebm.BETAS)
    loader = DataLoader(TensorDataset(x, np.zeros(len(x))), batch_size=batch_size,
                        shuffle=True, drop_last=True)  # fmt: skip

    def evaluate(model: nn.Module) -> Metric:
        with _own_random_stream():
            return _quality_metric(model.sample(1000, n_steps=0))

    return Setup(model, opt, None, lambda: iter(loader), len(loader),
                 lambda model, x, y: model.loss(x), evaluate,
                 sampler=lambda model, n: model.sample(n))  # fmt: skip


def _likelihood(
    make: Callable[[], nn.Module],
    bits: Callable[[nn.Module, np.ndarray], float],
    what: str,
    final: Optional[Callable[[nn.Module, np.ndarray], str]] = None,
) -> Callable[[int, float], Setup]:
    """A likelihood model on the digits as 17-level ints (VAE, RealNVP, MADE): Adam on its
    `loss(x)` (a bound on -log P(x) in nats); each epoch's metric is `bits(model, test)`, in
    bits/dim (Note [Digits likelihoods]); the final lines add `final` and the sample
    quality of 1,000 samples."""

    def build(batch_size: int, lr: float) -> Setup:
        levels, _ = evaluation.digit_levels("train")
        test, _ = evaluation.digit_levels("test")
        model = make()
        opt = optim.Adam(model.parameters(), lr=lr)
        loader = DataLoader(TensorDataset(levels, np.zeros(len(levels))), batch_size=batch_size,
                            shuffle=True)  # fmt: skip

        def evaluate(model: nn.Module) -> Metric:
            with _own_random_stream():
                return _bits_metric(bits(model, test), what)

        def epilogue(model: nn.Module) -> str:
            lines = [final(model, test)] if final is not None else []
            with _own_random_stream():
                return "\n".join([*lines, _quality_line(model)])

        return Setup(model, opt, None, lambda: iter(loader), len(loader),
                     lambda model, x, y: model.loss(x), evaluate, epilogue=epilogue,
                     sampler=lambda model, n: model.sample(n))  # fmt: skip

    return build


def _vae_elbo_bits(model: nn.Module, test: np.ndarray) -> float:
    return model.loss(test).item() / (evaluation.DIMS * math.log(2))  # -ELBO per digit


def _vae_iwae(model: nn.Module, test: np.ndarray) -> str:
    with _own_random_stream():
        return f"test bits/dim (IWAE, k = 100): {model.bits_per_dim(test, k=100):.3f}"


GAN_WIDTH = 32  # channels of the first conv (and the last transposed conv)
RBM_HIDDEN = 16
RBM_GIBBS_STEPS = 1

TASKS: dict[str, Task] = {
    "mlp": Task(
        "tanh MLP 64-128-64-10 (seed 001's) on the 8x8 digits",
        epochs=30,
        batch_size=32,
        lr=0.1,
        build=_digits((64,), lambda: MLP(64, (128, 64), 10), _sgd(0.9)),
    ),
    "cnn": Task(
        "2 conv-BatchNorm-ReLU-maxpool stages on the digits as 1x8x8 images",
        epochs=10,
        batch_size=32,
        lr=0.05,
        build=_digits(
            (1, 8, 8),
            _small_cnn,
            _sgd(0.9),
            lambda opt: optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.3),
        ),
    ),
    "lstm": Task(
        "LSTM (hidden 64) reading a digit as 8 rows of 8 features",
        epochs=15,
        batch_size=32,
        lr=0.01,
        build=_digits((8, 8), lambda: SequenceClassifier("LSTM"), _adam, _decay),
    ),
    "gru": Task(
        "GRU (hidden 64) reading a digit as 8 rows of 8 features",
        epochs=15,
        batch_size=32,
        lr=0.01,
        build=_digits((8, 8), lambda: SequenceClassifier("GRU"), _adam, _decay),
    ),
    "gpt": Task(
        f"character GPT (2 blocks, d 64, context {GPT_CONTEXT}) on the bundled text",
        epochs=5,
        batch_size=16,
        lr=3e-3,
        build=_gpt,
    ),
    "gmm": Task(
        "Gaussian mixture (5 full covariances) fitted by EM on the dequantized digits",
        epochs=60,
        batch_size=1437,
        lr=1.0,
        build=_gmm,
        generative=True,
    ),
    "rbm": Task(
        f"RBM (64 visible, {RBM_HIDDEN} hidden) by CD-{RBM_GIBBS_STEPS} on the binarized digits",
        epochs=30,
        batch_size=20,
        lr=0.05,
        build=_rbm,
        generative=True,
    ),
    "gan": Task(
        "DCGAN (ConvTranspose2d generator, conv discriminator) on the digits",
        epochs=30,
        batch_size=32,
        lr=1e-3,  # DCGAN's 2e-4 left it collapsing after 30 epochs (Frechet 189 vs 12.9)
        build=_gan,
        generative=True,
    ),
    "ddpm": Task(
        "DDPM (200 steps, cosine schedule, MLP denoiser) on the digits",
        epochs=ddpm.EPOCHS,
        batch_size=ddpm.BATCH_SIZE,
        lr=ddpm.LR,
        build=_denoiser(
            lambda: DDPM(timesteps=ddpm.TIMESTEPS, schedule=ddpm.SCHEDULE), epochs=ddpm.EPOCHS
        ),
        generative=True,
    ),
    "score": Task(
        "score model (denoising score matching, 10 noise levels, annealed Langevin)",
        epochs=score.EPOCHS,
        batch_size=score.BATCH_SIZE,
        lr=score.LR,
        build=_denoiser(ScoreModel, epochs=score.EPOCHS),
        generative=True,
    ),
    "ebm": Task(
        "energy-based model (MLP energy, persistent Langevin chains) on the digits",
        epochs=ebm.EPOCHS,
        batch_size=ebm.BATCH_SIZE,
        lr=ebm.LR,
        build=_ebm,
        generative=True,
    ),
    "vae": Task(
        "VAE (Gaussian encoder, 17-level categorical decoder) on the digits",
        epochs=vae.EPOCHS,
        batch_size=vae.BATCH_SIZE,
        lr=vae.LR,
        build=_likelihood(
            lambda: VAE(vae.LATENT, vae.HIDDEN, vae.FEATURES),
            _vae_elbo_bits,
            "negative ELBO",
            final=_vae_iwae,
        ),
        generative=True,
    ),
    "flow": Task(
        "RealNVP (affine couplings, invertible linear maps) on the dequantized digits",
        epochs=realnvp.EPOCHS,
        batch_size=realnvp.BATCH_SIZE,
        lr=realnvp.LR,
        build=_likelihood(
            lambda: RealNVP(realnvp.COUPLINGS, realnvp.HIDDEN, realnvp.DROPOUT),
            lambda model, test: model.bits_per_dim(test, draws=1),
            "dequantized bound",
        ),
        generative=True,
    ),
    "ar": Task(
        "autoregressive MADE over the 64 pixels (17-way softmax each) on the digits",
        epochs=made.EPOCHS,
        batch_size=made.BATCH_SIZE,
        lr=made.LR,
        build=_likelihood(
            lambda: MADE(made.HIDDEN, made.FEATURES, made.DROPOUT),
            lambda model, test: model.bits_per_dim(test),
            "exact",
        ),
        generative=True,
    ),
}
