"""Recurrent training steps (issue 5): seq 50, batch 32, input 64, hidden 256, a linear head on
the last step, Adam; pydl vs PyTorch at 2 threads.

    pytest benchmarks/test_sequence.py --benchmark-enable --benchmark-json=seq.json
    python benchmarks/report.py seq.json
"""

import numpy as np
import pytest

import pydl
from pydl import nn, optim

T, B, I, H = 50, 32, 64, 256


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((T, B, I)).astype(np.float32), rng.integers(0, 10, B)


def _pydl_step(cls):
    rnn, head = getattr(nn, cls)(I, H), nn.Linear(H, 10)
    opt = optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)
    x, y = _data()
    xt = pydl.tensor(x)

    def step():
        out, _ = rnn(xt)
        loss = nn.functional.cross_entropy(head(out[-1]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def _torch_step(torch, cls):
    rnn, head = getattr(torch.nn, cls)(I, H), torch.nn.Linear(H, 10)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)
    x, y = _data()
    xt, yt = torch.tensor(x), torch.tensor(y)

    def step():
        out, _ = rnn(xt)
        loss = torch.nn.functional.cross_entropy(head(out[-1]), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


@pytest.mark.parametrize("impl", ["pydl", "torch"])
@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_recurrent_training_step(benchmark, cls, impl):
    pydl.set_num_threads(2)
    if impl == "torch":
        torch = pytest.importorskip("torch")
        torch.set_num_threads(2)
        step = _torch_step(torch, cls)
    else:
        step = _pydl_step(cls)
    benchmark.group = f"{cls} step T{T} B{B} I{I} H{H} 2t"
    benchmark(step)
