"""PyTorch weight exchange, both ways, for every layer pydl has: the same key names, shapes
and buffers; a state_dict moved across (as NumPy arrays, or as a safetensors file) gives the
same outputs to 1e-5."""

import numpy as np
import pytest

import pydl
from pydl import nn

# name: (constructor taking the nn namespace, input shape or "tokens")
LAYERS = {
    "Linear": (lambda m: m.Linear(6, 4), (3, 6)),
    "Linear_nobias": (lambda m: m.Linear(6, 4, bias=False), (3, 6)),
    "Conv1d": (lambda m: m.Conv1d(3, 4, 3, padding=1, stride=2), (2, 3, 9)),
    "Conv2d": (lambda m: m.Conv2d(4, 6, 3, padding=1, groups=2), (2, 4, 6, 5)),
    "ConvTranspose1d": (
        lambda m: m.ConvTranspose1d(3, 4, 3, stride=2, output_padding=1),
        (2, 3, 5),
    ),
    "ConvTranspose2d": (
        lambda m: m.ConvTranspose2d(4, 6, 4, stride=2, padding=1, groups=2),
        (2, 4, 5, 3),
    ),
    "BatchNorm1d": (lambda m: m.BatchNorm1d(5), (7, 5)),
    "BatchNorm2d": (lambda m: m.BatchNorm2d(3), (4, 3, 5, 5)),
    "LayerNorm": (lambda m: m.LayerNorm(6), (3, 4, 6)),
    "GroupNorm": (lambda m: m.GroupNorm(2, 4), (3, 4, 5)),
    "InstanceNorm2d": (lambda m: m.InstanceNorm2d(3, affine=True), (2, 3, 4, 4)),
    "PReLU": (lambda m: m.PReLU(3), (4, 3)),
    "Embedding": (lambda m: m.Embedding(10, 4), "tokens"),
    "RNN": (lambda m: m.RNN(5, 6, num_layers=2), (4, 3, 5)),
    "LSTM": (lambda m: m.LSTM(5, 6, num_layers=2, batch_first=True), (3, 4, 5)),
    "GRU": (lambda m: m.GRU(5, 6, bidirectional=True), (4, 3, 5)),
    "RNNCell": (lambda m: m.RNNCell(5, 6), (3, 5)),
    "LSTMCell": (lambda m: m.LSTMCell(5, 6), (3, 5)),
    "GRUCell": (lambda m: m.GRUCell(5, 6), (3, 5)),
    "MultiheadAttention": (lambda m: m.MultiheadAttention(8, 2, batch_first=True), (2, 5, 8)),
    "TransformerEncoderLayer": (
        lambda m: m.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
        (2, 5, 8),
    ),
    "Sequential": (
        lambda m: m.Sequential(
            m.Conv2d(1, 3, 3), m.BatchNorm2d(3), m.ReLU(), m.Flatten(), m.Linear(3 * 4 * 4, 2)
        ),
        (2, 1, 6, 6),
    ),  # fmt: skip
}


def _input(spec, rng):
    if spec == "tokens":
        return rng.integers(0, 10, (3, 5))
    return rng.standard_normal(spec).astype(np.float32)


def _first(out):
    """The main output of a layer (RNNs and attention return tuples)."""
    while isinstance(out, tuple):
        out = out[0]
    return out


def _outputs(torch, ours, theirs, x):
    """(pydl's, PyTorch's) main output for the input x. Normalization layers run a training
    step first, so the running statistics (and num_batches_tracked) are not their defaults."""
    ours.eval(), theirs.eval()
    tx = torch.tensor(x)
    if isinstance(ours, nn.MultiheadAttention):
        a, b = ours(pydl.tensor(x), pydl.tensor(x), pydl.tensor(x)), theirs(tx, tx, tx)
    else:
        a, b = ours(pydl.tensor(x)), theirs(tx)
    return _first(a).numpy(), _first(b).detach().numpy()


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("direction", ["torch_to_pydl", "pydl_to_torch"])
def test_state_dict_moves_across_with_the_same_outputs(torch, name, direction):
    make, spec = LAYERS[name]
    rng = np.random.default_rng(0)
    x = _input(spec, rng)
    pydl.manual_seed(1)
    torch.manual_seed(2)  # different initial weights: the exchange is what makes them agree
    ours, theirs = make(nn), make(torch.nn)
    for m in (ours, theirs):  # running statistics away from their defaults
        m.train()
        if not isinstance(m, (nn.MultiheadAttention, torch.nn.MultiheadAttention)):
            m(pydl.tensor(x) if isinstance(m, nn.Module) else torch.tensor(x))
    with torch.no_grad():  # norms start at ones and zeros on both sides: make them differ
        for p in theirs.parameters():
            p.add_(torch.rand_like(p))
    for p in ours.parameters():
        p.numpy()[...] += rng.uniform(size=p.shape)
    mine = ours.state_dict()
    their = theirs.state_dict()
    assert {k: tuple(v.shape) for k, v in mine.items()} == {
        k: tuple(v.shape) for k, v in their.items()
    }
    if direction == "torch_to_pydl":
        ours.load_state_dict({k: v.detach().numpy() for k, v in their.items()})
    else:
        theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in mine.items()})
    a, b = _outputs(torch, ours, theirs, x)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    if "num_batches_tracked" in " ".join(their):
        for k in their:
            if k.endswith("num_batches_tracked"):
                assert int(np.asarray(ours.state_dict()[k])) == int(theirs.state_dict()[k])


def test_safetensors_files_move_both_ways(tmp_path, torch):
    """pydl.save of a state_dict is the file safetensors.torch.save_file writes, and the
    other way round: each side loads the other's file."""
    st_torch = pytest.importorskip("safetensors.torch")
    make, spec = LAYERS["Sequential"]
    x = _input(spec, np.random.default_rng(0))
    pydl.manual_seed(1)
    ours = make(nn)
    ours.train()
    ours(pydl.tensor(x))  # running statistics and num_batches_tracked away from defaults
    pydl.save(ours.state_dict(), tmp_path / "pydl.safetensors")
    theirs = make(torch.nn)
    theirs.load_state_dict(st_torch.load_file(str(tmp_path / "pydl.safetensors")))
    np.testing.assert_allclose(*_outputs(torch, ours, theirs, x), rtol=1e-5, atol=1e-5)

    torch.manual_seed(3)
    theirs = make(torch.nn)
    theirs.train()
    theirs(torch.tensor(x))
    st_torch.save_file(theirs.state_dict(), str(tmp_path / "torch.safetensors"))
    ours = make(nn)
    ours.load_state_dict(pydl.load(tmp_path / "torch.safetensors"))
    np.testing.assert_allclose(*_outputs(torch, ours, theirs, x), rtol=1e-5, atol=1e-5)
