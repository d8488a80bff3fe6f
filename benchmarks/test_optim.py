"""Optimizer steps over 10 parameters of 1M elements each: pydl vs torch.optim.

pytest benchmarks/test_optim.py --benchmark-enable --benchmark-json=optim.json
python benchmarks/report.py optim.json
"""

import numpy as np
import pytest

import pydl
from pydl import nn, optim

N_PARAMS, SIZE = 10, 1_000_000


def _pydl_params():
    rng = np.random.default_rng(0)
    params = [nn.Parameter(rng.standard_normal(SIZE).astype(np.float32)) for _ in range(N_PARAMS)]
    for p in params:
        p.grad = pydl.tensor(rng.standard_normal(SIZE).astype(np.float32) * 1e-3)
    return params


def _torch_params(torch):
    params = [torch.nn.Parameter(torch.randn(SIZE)) for _ in range(N_PARAMS)]
    for p in params:
        p.grad = torch.randn(SIZE) * 1e-3
    return params


@pytest.mark.parametrize("impl", ["pydl", "torch-foreach", "torch-fused"])
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_family_step(benchmark, name, impl, threads):
    benchmark.group = f"{name} step 10x1M {threads}t"
    if impl == "pydl":
        opt = getattr(optim, name)(_pydl_params(), lr=1e-3)
    else:
        torch = pytest.importorskip("torch")
        kind = impl.split("-")[1]
        opt = getattr(torch.optim, name)(_torch_params(torch), lr=1e-3, **{kind: True})
    benchmark(opt.step)


PYDL_ALL = {
    "SGD": lambda p: optim.SGD(p, lr=0.01, momentum=0.9),
    "Adam": lambda p: optim.Adam(p),
    "AdamW": lambda p: optim.AdamW(p),
    "NAdam": lambda p: optim.NAdam(p),
    "Adagrad": lambda p: optim.Adagrad(p),
    "RMSprop": lambda p: optim.RMSprop(p),
    "Adadelta": lambda p: optim.Adadelta(p),
    "Adafactor": lambda p: optim.Adafactor(p),
    "Lion": lambda p: optim.Lion(p),
    "LAMB": lambda p: optim.LAMB(p),
    "Lookahead(Adam)": lambda p: optim.Lookahead(optim.Adam(p), k=1),
}


@pytest.mark.parametrize("name", PYDL_ALL)
def test_every_optimizer_step(benchmark, name):
    """Each pydl optimizer's step at 2 threads (Lookahead with k=1: its update every step)."""
    pydl.set_num_threads(2)
    benchmark.group = f"every optimizer 10x1M 2t: {name}"
    benchmark(PYDL_ALL[name](_pydl_params()).step)
