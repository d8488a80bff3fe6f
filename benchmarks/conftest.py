"""Benchmarks: `pytest benchmarks --benchmark-enable` (add --benchmark-only to skip asserts).

Each group puts pydl core, pydl reference and PyTorch (when installed) side by side.
"""

import pytest

import pydl


@pytest.fixture(autouse=True)
def _restore():
    backend, threads = pydl.get_backend(), pydl.get_num_threads()
    yield
    pydl.set_backend(backend)
    pydl.set_num_threads(threads)


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    pydl.set_num_threads(request.param)
    try:
        import torch

        torch.set_num_threads(request.param)
    except ImportError:
        pass
    return request.param


def training_step(model, opt, loss_fn, x, y):
    """A closure running one step (forward, loss, zero_grad, backward, step): the same
    code drives pydl and PyTorch models in every benchmark."""

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step
