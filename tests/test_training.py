"""End to end: the spec's MLP on the bundled digits, and XOR."""

import numpy as np
import pytest

import pydl
from pydl import nn, optim
from pydl.cli import train
from pydl.data import load_digits


@pytest.mark.parametrize("backend", ["core", "reference"])
def test_digits_mlp_reaches_95_percent(backend):
    pydl.set_backend(backend)
    result = train(epochs=15, progress=False)
    assert result["test_accuracy"] >= 0.95, result


def test_digits_data_loader():
    (x, y), (xt, yt) = load_digits()
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.shape[1:] == (8, 8) and len(x) + len(xt) == 1797
    assert 0.18 < len(xt) / 1797 < 0.22
    assert x.min() >= 0 and x.max() <= 1
    assert set(np.unique(y)) == set(range(10))
    (x2, _), _ = load_digits()
    assert np.array_equal(x, x2)  # the split is fixed


@pytest.mark.parametrize("backend", ["core", "reference"])
def test_xor(backend):
    pydl.set_backend(backend)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0])
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    opt = optim.Adam(model.parameters(), lr=0.05)
    for _ in range(300):
        loss = nn.functional.cross_entropy(model(pydl.tensor(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    pred = model(pydl.tensor(x)).numpy().argmax(1)
    assert np.array_equal(pred, y)
    assert loss.item() < 0.05


def test_cli_runs(capsys):
    from pydl.cli import main

    assert main(["train", "--epochs", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "samples/s" in out
