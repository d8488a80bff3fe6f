"""PyTorch training-script idioms that must run unchanged under `import pydl as torch`.

Each script is plain PyTorch code. It runs once with `torch` bound to pydl and, where
PyTorch is installed, once with the real torch; both runs return the same numbers. The
scripts take their data and weights from NumPy, so both libraries see the same values.
"""

import textwrap

import numpy as np
import pytest

import pydl


RNG = np.random.default_rng(7)
DATA = {
    "x": RNG.standard_normal((16, 4)).astype(np.float32),
    "labels": RNG.integers(0, 3, 16),
    "w1": (RNG.standard_normal((8, 4)) * 0.5).astype(np.float32),
    "b1": np.zeros(8, np.float32),
    "w2": (RNG.standard_normal((3, 8)) * 0.5).astype(np.float32),
    "b2": np.zeros(3, np.float32),
    "tokens": RNG.integers(0, 11, (4, 9)),
    "emb": (RNG.standard_normal((11, 6)) * 0.3).astype(np.float32),
}

SCRIPTS = {
    # device moves, a model built with nn, manual SGD under no_grad, accuracy from argmax
    "device_and_manual_sgd": """
        import torch.nn as nn
        import torch.nn.functional as F
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
        with torch.no_grad():
            for p, w in zip(model.parameters(), (w1, b1, w2, b2)):
                p.copy_(torch.from_numpy(w))
        x, y = torch.tensor(x).to(device), torch.tensor(labels).to(device)
        losses = []
        for step in range(5):
            out = model(x)
            loss = F.cross_entropy(out, y)
            model.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= 0.5 * p.grad
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            pred = model(x).argmax(dim=1)
        correct = (pred == y).sum().item()
        result = losses + [correct / len(y), float(pred.float().mean())]
    """,
    # the tutorial's `_, predicted = torch.max(outputs.data, 1)` and .data updates
    "max_tuple_and_data_updates": """
        import torch.nn as nn
        model = nn.Linear(4, 3)
        model.weight.data = torch.tensor(w2[:, :4].copy())
        model.bias.data.zero_()
        out = model(torch.tensor(x))
        loss = nn.CrossEntropyLoss()(out, torch.tensor(labels))
        loss.backward()
        for p in model.parameters():
            p.data.add_(p.grad.data, alpha=-0.1)
        outputs = model(torch.tensor(x))
        values, predicted = torch.max(outputs.data, 1)
        v, i = outputs.max(dim=1)
        total = predicted.eq(torch.tensor(labels)).sum().item()
        result = [loss.item(), total, values.sum().item(), v.sum().item(), int(i.sum())]
        result += model.weight.detach().numpy().ravel().tolist()
    """,
    # an integer token pipeline: slicing, .T, stack, cat, +, embedding, view, cross_entropy
    "integer_tokens": """
        import torch.nn as nn
        import torch.nn.functional as F
        data = torch.tensor(tokens)
        inp, target = data[:, :-1], data[:, 1:]
        batch = torch.stack([inp[0], inp[1]])
        joined = torch.cat([batch, inp[2:]], dim=0)
        shifted = (joined + 1) % 11
        emb = nn.Embedding(11, 6)
        with torch.no_grad():
            emb.weight.copy_(torch.tensor(emb_w))
        h = emb(shifted)
        logits = h @ emb.weight.T
        loss = F.cross_entropy(logits.view(-1, 11), target.reshape(-1))
        loss.backward()
        n_even = (joined.T % 2 == 0).sum()
        grad_sum = float(emb.weight.grad.sum())
        result = [loss.item(), int(n_even), n_even.dtype == torch.int64, grad_sum]
    """,
    # masks: x[mask] = v, t * (t < 0), where with number branches, positional encoding
    "masks_and_setitem": """
        import math
        t = torch.tensor(x)
        neg_part = t * (t < 0)
        t[t > 1] = 1.0
        picked = torch.where(t > 0, 4, 2)
        pe = torch.zeros(5, 6)
        position = torch.arange(0, 5, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, 6, 2).float() * (-math.log(10000.0) / 6))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        result = [float(neg_part.sum()), float(t.sum()), int(picked.sum()),
                  picked.dtype == torch.int64, float(pe.sum())]
        result += pe[3].tolist()
    """,
}


def _run(lib, source):
    scope = {"torch": lib, **DATA, "emb_w": DATA["emb"]}
    exec(textwrap.dedent(source), scope)  # noqa: S102 - the test's own scripts
    return scope["result"]


@pytest.mark.parametrize("backend", ["core", "reference"])
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_runs_under_import_pydl_as_torch(name, backend, monkeypatch):
    import sys

    prev = pydl.get_backend()
    pydl.set_backend(backend)
    # `import torch.nn as nn` inside the script must find pydl's modules
    monkeypatch.setitem(sys.modules, "torch", pydl)
    monkeypatch.setitem(sys.modules, "torch.nn", pydl.nn)
    monkeypatch.setitem(sys.modules, "torch.nn.functional", pydl.nn.functional)
    try:
        got = _run(pydl, SCRIPTS[name])
    finally:
        pydl.set_backend(prev)
    monkeypatch.undo()
    try:
        import torch
    except ImportError:
        return  # ran unchanged; the comparison needs PyTorch
    want = _run(torch, SCRIPTS[name])
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=2e-5)
