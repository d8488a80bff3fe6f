"""An optimizer copied with copy.deepcopy or pickle (together with its model) carries its
state over: the copy's next steps equal the original's, bit for bit (issue 15's first part:
the state used to be keyed by id(param), which pointed at the originals)."""

import copy
import pickle

import numpy as np
import pytest

import pydl
from pydl import nn

from helpers import OPTIMIZERS


def _step(model, opt, x, y):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_copied_optimizer_continues_identically(name, how):
    pydl.manual_seed(0)
    rng = np.random.default_rng(0)
    x = pydl.tensor(rng.standard_normal((8, 5)).astype(np.float32))
    y = pydl.tensor(rng.standard_normal((8, 3)).astype(np.float32))
    model = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 3))
    opt = OPTIMIZERS[name](model.parameters())
    for _ in range(3):
        _step(model, opt, x, y)
    pair = (model, opt)
    model2, opt2 = copy.deepcopy(pair) if how == "deepcopy" else pickle.loads(pickle.dumps(pair))
    assert any(opt2.state.values()) if hasattr(opt2, "state") else True
    for _ in range(3):
        assert _step(model, opt, x, y) == _step(model2, opt2, x, y)
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
