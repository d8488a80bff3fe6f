"""The standard training-step workloads, each built once for pydl and once for PyTorch.

`pydl bench`, benchmarks/interleaved.py, the pytest benchmarks (benchmarks/test_gemm.py,
test_cnn.py, test_sequence.py) and the memory benchmarks all build their steps here, so the
numbers they print measure the same work. A builder called without `torch` returns a pydl
step; called with the torch module, the PyTorch twin (same shapes, layers, optimizer, data).
Each step is a closure running forward, loss, zero_grad, backward and the optimizer step.
"""

from __future__ import annotations

import time
from typing import Any, Callable, NamedTuple

import numpy as np

import pydl
from pydl import nn, optim

Step = Callable[[], None]


def training_step(model: Any, opt: Any, loss_fn: Callable, x: Any, y: Any) -> Step:
    """A closure running one step (forward, loss, zero_grad, backward, step): the same code
    drives pydl and PyTorch models."""

    def step() -> None:
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def mlp(batch: int, opt_name: str, torch: Any = None, compiled: bool = False) -> Step:
    """Tanh MLP 784-256-256-10, cross-entropy; Adam (lr 1e-3) or SGD (lr 0.01). With
    `compiled`, the PyTorch twin's model runs under torch.compile (pydl/_peers.py)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    lib = torch if torch is not None else pydl
    m = lib.nn
    model = m.Sequential(
        m.Linear(784, 256), m.Tanh(), m.Linear(256, 256), m.Tanh(), m.Linear(256, 10)
    )
    opt = (
        lib.optim.Adam(model.parameters(), lr=1e-3)
        if opt_name == "adam"
        else lib.optim.SGD(model.parameters(), lr=0.01)
    )
    forward = _compiled(torch, model, compiled)
    if torch is not None:
        return training_step(
            forward, opt, m.functional.cross_entropy, torch.tensor(x), torch.tensor(y)
        )
    return training_step(forward, opt, m.functional.cross_entropy, pydl.tensor(x), y)


CNN_BATCH = 64


def cnn_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((CNN_BATCH, 3, 32, 32)).astype(np.float32)
    return x, rng.integers(0, 10, CNN_BATCH)


def cnn(torch: Any = None, compiled: bool = False) -> Step:
    """Seed 001's CIFAR network: two conv-relu-maxpool stages, two linear layers; batch 64,
    SGD with momentum."""
    lib = torch if torch is not None else pydl
    m = lib.nn
    model = m.Sequential(
        m.Conv2d(3, 16, 3, padding=1),
        m.ReLU(),
        m.MaxPool2d(2),
        m.Conv2d(16, 32, 3, padding=1),
        m.ReLU(),
        m.MaxPool2d(2),
        m.Flatten(),
        m.Linear(2048, 128),
        m.ReLU(),
        m.Linear(128, 10),
    )
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = cnn_data()
    forward = _compiled(torch, model, compiled)
    if torch is not None:
        return training_step(
            forward, opt, m.functional.cross_entropy, torch.tensor(x), torch.tensor(y)
        )
    return training_step(forward, opt, m.functional.cross_entropy, pydl.tensor(x), y)


SEQ_T, SEQ_B, SEQ_I, SEQ_H = 50, 32, 64, 256


def rnn(cls: str, torch: Any = None, compiled: bool = False) -> Step:
    """A one-layer LSTM or GRU (seq 50, batch 32, input 64, hidden 256), a linear head on the
    last step, Adam."""
    lib = torch if torch is not None else pydl
    m = lib.nn
    recurrent, head = getattr(m, cls)(SEQ_I, SEQ_H), m.Linear(SEQ_H, 10)
    opt = lib.optim.Adam(list(recurrent.parameters()) + list(head.parameters()), lr=1e-3)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((SEQ_T, SEQ_B, SEQ_I)).astype(np.float32)
    y = rng.integers(0, 10, SEQ_B)
    xt, yt = (torch.tensor(x), torch.tensor(y)) if torch is not None else (pydl.tensor(x), y)

    def forward(x: Any) -> Any:
        out, _ = recurrent(x)
        return head(out[-1])

    forward = _compiled(torch, forward, compiled)

    def step() -> None:
        loss = m.functional.cross_entropy(forward(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def gpt(torch: Any = None, batch: int = 16, T: int = 128, compiled: bool = False) -> Step:
    """A GPT (vocab 256, d 256, 4 heads, 2 pre-LN blocks, causal), T 128, batch 16, AdamW."""
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (batch, T)), rng.integers(0, 256, (batch, T))
    if torch is not None:
        return _gpt_torch(torch, x, y, compiled)
    _compiled(torch, None, compiled)  # raises: compiled needs torch
    from pydl.models import GPT

    model = GPT(vocab_size=256, d_model=256, n_heads=4, n_layers=2, max_len=T)
    opt = optim.AdamW(model.parameters(), lr=3e-4)

    def loss_fn(logits: Any, targets: np.ndarray) -> Any:
        return nn.functional.cross_entropy(pydl.reshape(logits, (-1, 256)), targets.reshape(-1))

    return training_step(model, opt, loss_fn, x, y)


def _gpt_torch(torch: Any, x: np.ndarray, y: np.ndarray, compiled: bool = False) -> Step:
    T = x.shape[1]

    class Gpt(torch.nn.Module):  # pydl.models.GPT, tied head included
        def __init__(self) -> None:
            super().__init__()
            self.tok, self.pos = torch.nn.Embedding(256, 256), torch.nn.Embedding(T, 256)
            self.blocks = torch.nn.ModuleList(
                torch.nn.TransformerEncoderLayer(
                    256, 4, 1024, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
                )
                for _ in range(2)
            )
            self.ln_f = torch.nn.LayerNorm(256)

        def forward(self, idx: Any) -> Any:
            h = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
            mask = torch.nn.Transformer.generate_square_subsequent_mask(idx.shape[1])
            for b in self.blocks:
                h = b(h, src_mask=mask, is_causal=True)
            return self.ln_f(h) @ self.tok.weight.T

    model = Gpt()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    xt, yt = torch.tensor(x), torch.tensor(y)
    forward = _compiled(torch, model, compiled)

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(forward(xt).reshape(-1, 256), yt.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def _compiled(torch: Any, model: Any, compiled: bool) -> Any:
    """The model (a module or a function) under torch.compile's default mode when
    `compiled`: forward and backward compiled on its first call, the optimizer left eager."""
    if not compiled:
        return model
    if torch is None:
        raise ValueError("compiled=True needs torch: it compiles the PyTorch twin")
    return torch.compile(model)


def layer(make: Callable[[Any], Any], shape: tuple[int, ...], torch: Any = None,
          backward: bool = True) -> Step:  # fmt: skip
    """One layer alone: its forward on a fixed random input (shape), and with `backward` the
    backward of its output's sum. make(nn_namespace) builds the layer on either side."""
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    if torch is None:
        module, xt = make(nn), pydl.tensor(x, requires_grad=backward)
    else:
        module, xt = make(torch.nn), torch.tensor(x, requires_grad=backward)

    def step() -> None:
        y = module(xt)
        if backward:
            y.sum().backward()

    return step


def dcgan_convt(torch: Any = None, backward: bool = True) -> Step:
    """A DCGAN generator's ConvTranspose2d 128 -> 64, k4 s2 p1 (8x8 -> 16x16), batch 64."""
    make = lambda m: m.ConvTranspose2d(128, 64, 4, stride=2, padding=1)  # noqa: E731
    return layer(make, (64, 128, 8, 8), torch, backward)


def unet_upsample(torch: Any = None, mode: str = "bilinear", backward: bool = True) -> Step:
    """A U-Net decoder's x2 upsampling of (16, 64, 32, 32)."""
    return layer(lambda m: m.Upsample(scale_factor=2, mode=mode), (16, 64, 32, 32), torch,
                 backward)  # fmt: skip


def small_op(backward: bool, torch: Any = None) -> Step:
    """Engine overhead on 16 elements: one recorded mul (the node is built, not walked), or
    with `backward` the forward and backward of sum(relu(a * b))."""
    x = np.random.default_rng(0).standard_normal(16).astype(np.float32)
    lib = torch if torch is not None else pydl
    a, b = lib.tensor(x, requires_grad=True), lib.tensor(x)
    relu = lib.relu

    def step() -> None:
        y = a * b
        if backward:
            relu(y).sum().backward()

    return step


def policy(train: bool, torch: Any = None) -> Step:
    """A reinforcement-learning policy, MLP 4-64-64-2 (tanh): one sample's Adam step
    (forward, cross-entropy, backward, step), or without `train` one sample's forward under
    no_grad (acting)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 4)).astype(np.float32)
    lib = torch if torch is not None else pydl
    m = lib.nn
    model = m.Sequential(m.Linear(4, 64), m.Tanh(), m.Linear(64, 64), m.Tanh(), m.Linear(64, 2))
    xt = lib.tensor(x)
    if train:
        opt = lib.optim.Adam(model.parameters(), lr=1e-3)
        return training_step(model, opt, m.functional.cross_entropy, xt, lib.tensor([1]))

    def act() -> None:
        with lib.no_grad():
            model(xt)

    return act


def autocast_bf16(build: Callable[..., Step]) -> Callable[..., Step]:
    """The workload `build` makes, its whole step under bf16 autocast: pydl.autocast, or
    torch.autocast("cpu", dtype=torch.bfloat16) for the PyTorch twin (oneDNN's bf16 kernels)."""

    def build_autocast(torch: Any = None) -> Step:
        step = build(torch)
        lib = torch if torch is not None else pydl

        def run() -> None:
            with lib.autocast("cpu", dtype=lib.bfloat16):
                step()

        return run

    return build_autocast


class Workload(NamedTuple):
    description: str
    build: Callable[..., Step]  # build(torch=None) -> a step
    calls: int = 1  # steps per timed round: a microsecond step timed alone is mostly timer


WORKLOADS: dict[str, Workload] = {
    "mlp128": Workload(
        "MLP 784-256-256-10, batch 128, Adam", lambda torch=None: mlp(128, "adam", torch)
    ),
    "mlp8": Workload("MLP 784-256-256-10, batch 8, SGD", lambda torch=None: mlp(8, "sgd", torch)),
    "cnn": Workload("CIFAR CNN (2 conv + 2 linear), batch 64, SGD momentum", cnn),
    "lstm": Workload(
        "LSTM T50 B32 I64 H256 + linear head, Adam", lambda torch=None: rnn("LSTM", torch)
    ),
    "gru": Workload(
        "GRU T50 B32 I64 H256 + linear head, Adam", lambda torch=None: rnn("GRU", torch)
    ),
    "gpt": Workload("GPT d256, 4 heads, 2 blocks, T128 B16, AdamW", gpt),
    "gpt_bf16": Workload("the GPT step under bf16 autocast", autocast_bf16(gpt)),
    "lstm_bf16": Workload(
        "the LSTM step under bf16 autocast", autocast_bf16(lambda torch=None: rnn("LSTM", torch))
    ),
    "cnn_bf16": Workload("the CIFAR CNN step under bf16 autocast", autocast_bf16(cnn)),
    "convt": Workload("ConvTranspose2d 128->64 k4 s2 p1, 8x8, batch 64, fwd+bwd", dcgan_convt),
    "upsample": Workload("Upsample x2 bilinear, (16, 64, 32, 32), fwd+bwd", unet_upsample),
    "op16": Workload(
        "one recorded mul on 16 elements", lambda torch=None: small_op(False, torch), 1000
    ),
    "mrs16": Workload(
        "sum(relu(a * b)) on 16 elements, forward + backward",
        lambda torch=None: small_op(True, torch),
        200,
    ),
    "rl": Workload(
        "policy MLP 4-64-64-2, batch 1, Adam step", lambda torch=None: policy(True, torch), 100
    ),
    "rl_act": Workload(
        "policy MLP 4-64-64-2, one sample, no_grad forward",
        lambda torch=None: policy(False, torch),
        200,
    ),
}


class Timing(NamedTuple):
    pydl: list[float]  # seconds per step, one per round
    torch: list[float] | None  # None when PyTorch was not measured


def measure(
    name: str, rounds: int, torch: Any = None, warmup: int = 3, compiled: bool = False
) -> Timing:
    """Time `rounds` steps of workload `name`; with torch, each round runs one pydl step then
    one PyTorch step, so a machine whose speed drifts slows both sides alike. `compiled`:
    pydl's step under pydl.compile (recorded in the warm-up: its first two calls)."""
    workload = WORKLOADS[name]
    mine = pydl.compile(workload.build()) if compiled else workload.build()
    theirs = workload.build(torch) if torch is not None else None
    for _ in range(warmup):  # buffers, packed weights, lazy init
        mine()
        if theirs is not None:
            theirs()
    ours, others = [], []
    for _ in range(rounds):
        ours.append(_time(mine, workload.calls))
        if theirs is not None:
            others.append(_time(theirs, workload.calls))
    return Timing(ours, others if theirs is not None else None)


def _time(step: Step, calls: int = 1) -> float:
    """Seconds per step, over `calls` steps in a row."""
    t0 = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - t0) / calls
