"""Recurrent training steps (issue 5): seq 50, batch 32, input 64, hidden 256, a linear head on
the last step, Adam; pydl vs PyTorch at 2 threads.

    pytest benchmarks/test_sequence.py --benchmark-enable --benchmark-json=seq.json
    python benchmarks/report.py seq.json
"""

import numpy as np
import pytest

import pydl
from pydl import _workloads, nn

T, B, I, H = _workloads.SEQ_T, _workloads.SEQ_B, _workloads.SEQ_I, _workloads.SEQ_H


@pytest.mark.parametrize("impl", ["pydl", "torch"])
@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_recurrent_training_step(benchmark, cls, impl):
    pydl.set_num_threads(2)
    if impl == "torch":
        torch = pytest.importorskip("torch")
        torch.set_num_threads(2)
        step = _workloads.rnn(cls, torch)
    else:
        step = _workloads.rnn(cls)
    benchmark.group = f"{cls} step T{T} B{B} I{I} H{H} 2t"
    benchmark(step)


@pytest.mark.parametrize("impl", ["pydl", "torch"])
def test_gpt_training_step(benchmark, impl):
    """vocab 256, d 256, 4 heads, 2 pre-LN blocks, T 128, batch 16, AdamW, causal; 2 threads."""
    pydl.set_num_threads(2)
    if impl == "torch":
        torch = pytest.importorskip("torch")
        torch.set_num_threads(2)
        step = _workloads.gpt(torch)
    else:
        step = _workloads.gpt()
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
