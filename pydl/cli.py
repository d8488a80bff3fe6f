"""`pydl train` (or `python -m pydl train`): train seed 001's tanh MLP on the bundled digits."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np

import pydl
from pydl import nn, optim
from pydl.data import DataLoader, TensorDataset, load_digits
from pydl.models import MLP


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with pydl.no_grad():
        pred = model(pydl.tensor(x)).numpy().argmax(axis=1)
    model.train()
    return float((pred == y).mean())


def train(
    epochs: int = 30,
    batch_size: int = 32,
    lr: float = 0.1,
    momentum: float = 0.9,
    hidden: Sequence[int] = (128, 64),
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Train the MLP; returns test accuracy, final loss and throughput."""
    from tqdm import tqdm

    pydl.manual_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_digits()
    model = MLP(64, hidden, 10)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True)
    seen, loss_value, start = 0, float("nan"), time.perf_counter()
    bar = tqdm(range(epochs), desc="train", unit="epoch", disable=not progress)
    for _ in bar:
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(pydl.tensor(xb)), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += len(yb)
            loss_value = loss.item()
        bar.set_postfix(loss=f"{loss_value:.4f}")
    elapsed = time.perf_counter() - start
    return {
        "test_accuracy": evaluate(model, x_test, y_test),
        "loss": loss_value,
        "samples_per_second": seen / elapsed,
        "seconds": elapsed,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pydl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the spec's tanh MLP on the bundled 8x8 digits")
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=0.1)
    t.add_argument("--momentum", type=float, default=0.9)
    t.add_argument("--hidden", type=int, nargs="+", default=[128, 64])
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--backend", choices=["core", "reference"], default=None)
    t.add_argument("--threads", type=int, default=None)
    t.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.backend:
        pydl.set_backend(args.backend)
    if args.threads:
        pydl.set_num_threads(args.threads)
    info = pydl.build_info()
    print(
        f"pydl {info['version']} | backend {pydl.get_backend()} | {info['num_threads']} threads "
        f"| SIMD {info['simd']} | OpenMP {'on' if info['openmp'] else 'off'}"
    )
    r = train(
        args.epochs,
        args.batch_size,
        args.lr,
        args.momentum,
        args.hidden,
        args.seed,
        progress=not args.no_progress,
    )
    print(
        f"test accuracy {r['test_accuracy'] * 100:.2f}% | final loss {r['loss']:.4f} | "
        f"{r['samples_per_second']:,.0f} samples/s over {r['seconds']:.1f} s"
    )
    return 0
