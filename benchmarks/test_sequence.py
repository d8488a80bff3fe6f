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


def _gpt_pydl(batch=16, T=128):
    from pydl.models import GPT

    model = GPT(vocab_size=256, d_model=256, n_heads=4, n_layers=2, max_len=T)
    opt = optim.AdamW(model.parameters(), lr=3e-4)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (batch, T)), rng.integers(0, 256, (batch, T))

    def step():
        loss = nn.functional.cross_entropy(pydl.reshape(model(x), (-1, 256)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def _gpt_torch(torch, batch=16, T=128):
    class Gpt(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = torch.nn.Embedding(256, 256), torch.nn.Embedding(T, 256)
            self.blocks = torch.nn.ModuleList(
                torch.nn.TransformerEncoderLayer(
                    256, 4, 1024, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
                )
                for _ in range(2)
            )
            self.ln_f = torch.nn.LayerNorm(256)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
            mask = torch.nn.Transformer.generate_square_subsequent_mask(idx.shape[1])
            for b in self.blocks:
                x = b(x, src_mask=mask, is_causal=True)
            return self.ln_f(x) @ self.tok.weight.T

    model = Gpt()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    rng = np.random.default_rng(0)
    x, y = (torch.tensor(rng.integers(0, 256, (batch, T))) for _ in range(2))

    def step():
        loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, 256), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


@pytest.mark.parametrize("impl", ["pydl", "torch"])
def test_gpt_training_step(benchmark, impl):
    """vocab 256, d 256, 4 heads, 2 pre-LN blocks, T 128, batch 16, AdamW, causal; 2 threads."""
    pydl.set_num_threads(2)
    if impl == "torch":
        torch = pytest.importorskip("torch")
        torch.set_num_threads(2)
        step = _gpt_torch(torch)
    else:
        step = _gpt_pydl()
    benchmark.group = "gpt step d256 T128 B16 2t"
    benchmark(step)


@pytest.mark.parametrize("impl", ["pydl", "torch"])
@pytest.mark.parametrize("T", [512, 1024, 2048])
def test_attention_forward_backward(benchmark, impl, T):
    """Causal attention alone: batch 4, 4 heads, head dim 64, forward + backward."""
    pydl.set_num_threads(2)
    shape = (4, 4, T, 64)
    data = [np.random.default_rng(i).standard_normal(shape).astype(np.float32) for i in range(3)]
    benchmark.group = f"attention fwd+bwd T{T} 2t"
    if impl == "torch":
        torch = pytest.importorskip("torch")
        torch.set_num_threads(2)
        q, k, v = (torch.tensor(a, requires_grad=True) for a in data)
        f = torch.nn.functional.scaled_dot_product_attention
    else:
        q, k, v = (pydl.tensor(a, requires_grad=True) for a in data)
        f = nn.functional.scaled_dot_product_attention

    def run():
        f(q, k, v, is_causal=True).sum().backward()

    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
