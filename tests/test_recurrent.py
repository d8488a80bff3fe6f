"""Recurrent layers: PyTorch parity, the spec's GRU form, the spec's RNN example, cells,
bad input."""

import contextlib

import numpy as np
import pytest

import pydl
from helpers import run_row
from op_table import Row, _rec
from pydl import nn
import pydl.nn.functional as F


def _copy_to_torch(mine, theirs, torch):
    with torch.no_grad():
        for name, p in mine.named_parameters():
            getattr(theirs, name).copy_(torch.tensor(p.numpy()))


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        ("RNN", dict(num_layers=2, nonlinearity="tanh")),
        ("RNN", dict(nonlinearity="relu", bidirectional=True)),
        ("LSTM", dict(num_layers=2, bidirectional=True)),
        ("LSTM", dict(batch_first=True, bias=False)),
        ("GRU", dict(num_layers=2)),
        ("GRU", dict(bidirectional=True, batch_first=True)),
    ],
)
def test_matches_pytorch(torch, cls, kwargs):
    mine = getattr(nn, cls)(5, 7, **kwargs)
    theirs = getattr(torch.nn, cls)(5, 7, **kwargs)
    _copy_to_torch(mine, theirs, torch)
    rng = np.random.default_rng(0)
    shape = (3, 6, 5) if kwargs.get("batch_first") else (6, 3, 5)
    x = rng.standard_normal(shape).astype(np.float32)
    xm, xt = pydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_m, state_m = mine(xm)
    out_t, state_t = theirs(xt)
    np.testing.assert_allclose(out_m.numpy(), out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    h_m = state_m[0] if cls == "LSTM" else state_m
    h_t = state_t[0] if cls == "LSTM" else state_t
    np.testing.assert_allclose(h_m.numpy(), h_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = rng.standard_normal(out_m.shape).astype(np.float32)
    loss_m = (out_m * pydl.tensor(g)).sum() + h_m.sum()
    loss_t = (out_t * torch.tensor(g)).sum() + h_t.sum()
    loss_m.backward()
    loss_t.backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    for name, p in mine.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), getattr(theirs, name).grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=name
        )


def test_lstm_initial_states_and_cells_match_pytorch(torch):
    rng = np.random.default_rng(1)
    mine, theirs = nn.LSTMCell(4, 3), torch.nn.LSTMCell(4, 3)
    _copy_to_torch(mine, theirs, torch)
    x = rng.standard_normal((2, 4)).astype(np.float32)
    h = rng.standard_normal((2, 3)).astype(np.float32)
    c = rng.standard_normal((2, 3)).astype(np.float32)
    hm, cm = mine(pydl.tensor(x), (pydl.tensor(h), pydl.tensor(c)))
    ht, ct = theirs(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
    np.testing.assert_allclose(hm.numpy(), ht.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cm.numpy(), ct.detach().numpy(), rtol=1e-5, atol=1e-6)
    for cls in ("GRUCell", "RNNCell"):
        mine, theirs = getattr(nn, cls)(4, 3), getattr(torch.nn, cls)(4, 3)
        _copy_to_torch(mine, theirs, torch)
        np.testing.assert_allclose(
            mine(pydl.tensor(x), pydl.tensor(h)).numpy(),
            theirs(torch.tensor(x), torch.tensor(h)).detach().numpy(),
            rtol=1e-5,
            atol=1e-6,
        )


@pytest.mark.parametrize("backend", ["core", "reference"])
def test_spec_gru_form_reset_before(backend):
    # The spec (seed 000 section 7.3): n = tanh(W_in x + W_hn (r * h) + b), reset before.
    pydl.set_backend(backend)
    dtype = np.float32 if backend == "core" else np.float64
    cell = nn.GRUCell(3, 2, reset_after=False)
    rng = np.random.default_rng(2)
    x, h = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    for p in cell.parameters():
        p._array[...] = rng.uniform(-0.5, 0.5, p.shape)
    w_ih, w_hh = (
        cell.weight_ih.numpy().astype(np.float64),
        cell.weight_hh.numpy().astype(np.float64),
    )
    b_ih, b_hh = cell.bias_ih.numpy().astype(np.float64), cell.bias_hh.numpy().astype(np.float64)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    gx, H = x @ w_ih.T + b_ih, 2
    r = sig(gx[:, :H] + h @ w_hh[:H].T + b_hh[:H])
    z = sig(gx[:, H : 2 * H] + h @ w_hh[H : 2 * H].T + b_hh[H : 2 * H])
    n = np.tanh(gx[:, 2 * H :] + (r * h) @ w_hh[2 * H :].T + b_hh[2 * H :])
    want = (1 - z) * n + z * h
    got = cell(pydl.tensor(x.astype(dtype)), pydl.tensor(h.astype(dtype))).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # and it differs from PyTorch's form on the same weights
    after = nn.GRUCell(3, 2)
    after.load_state_dict(cell.state_dict())
    assert not np.allclose(
        after(pydl.tensor(x.astype(dtype)), pydl.tensor(h.astype(dtype))).numpy(), want
    )


@pytest.mark.parametrize("backend", ["core", "reference"])
def test_spec_rnn_example(backend):
    # seed 003: x = [1, 0.5], h = [0.2, -0.1]; the formula gives tanh([0.41, 0.09]) (the
    # document's tanh([0.45, 0.2]) is an arithmetic slip).
    pydl.set_backend(backend)
    cell = nn.RNNCell(2, 2)
    cell.weight_ih._array[...] = [[0.1, 0.3], [0.2, -0.1]]
    cell.weight_hh._array[...] = [[0.5, 0.4], [0.3, 0.2]]
    cell.bias_ih._array[...] = [0.1, -0.1]
    cell.bias_hh._array[...] = 0
    h = cell(pydl.tensor([1.0, 0.5]), pydl.tensor([0.2, -0.1]))
    np.testing.assert_allclose(h.numpy(), np.tanh([0.41, 0.09]), rtol=1e-6)


def test_a_small_lstm_learns_to_sum_a_sequence():
    pydl.manual_seed(0)
    rng = np.random.default_rng(0)
    lstm, head = nn.LSTM(1, 16, batch_first=True), nn.Linear(16, 1)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = pydl.optim.Adam(params, lr=0.02)
    losses = []
    for _ in range(120):
        x = rng.uniform(-1, 1, (32, 6, 1)).astype(np.float32)
        out, _ = lstm(pydl.tensor(x))
        pred = head(out[:, -1])
        loss = nn.functional.mse_loss(pred, pydl.tensor(x.sum(axis=1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < 0.1 * np.mean(losses[:10]), losses[::20]


@pytest.mark.parametrize(
    "make, x_shape, state, message",
    [
        (lambda: nn.LSTM(4, 3), (5, 2, 6), None, r"input_size=4.*\(5, 2, 6\)"),
        (
            lambda: nn.GRU(4, 3),
            (5, 2, 4),
            np.zeros((1, 3, 3)),
            r"hidden state of shape \(1, 2, 3\).*\(1, 3, 3\)",
        ),
        (
            lambda: nn.LSTM(4, 3, num_layers=2),
            (5, 2, 4),
            (np.zeros((1, 2, 3)), np.zeros((2, 2, 3))),
            r"hidden state of shape \(2, 2, 3\)",
        ),
        (lambda: nn.GRUCell(4, 3), (2, 4), np.zeros((3, 3)), r"hidden state of shape \(3, 3\)"),
    ],
)
def test_bad_input(make, x_shape, state, message):
    layer = make()
    x = pydl.randn(*x_shape)
    with pytest.raises(ValueError, match=message):
        if isinstance(state, tuple):
            layer(x, tuple(pydl.tensor(s.astype(np.float32)) for s in state))
        elif state is not None:
            layer(x, pydl.tensor(state.astype(np.float32)))
        else:
            layer(x)


def test_core_checks_recurrent_shapes():
    from pydl import _core

    x = np.zeros((3, 2, 4), np.float32)
    with pytest.raises(ValueError, match="weight_ih"):
        _core.recurrent_forward(
            x,
            np.zeros((2, 5), np.float32),
            None,
            np.zeros((5, 3), np.float32),
            np.zeros((5, 5), np.float32),
            None,
            None,
            "rnn_tanh",
            False,
        )
    with pytest.raises(ValueError, match="initial cell state"):
        _core.recurrent_forward(
            x,
            np.zeros((2, 5), np.float32),
            None,
            np.zeros((20, 4), np.float32),
            np.zeros((20, 5), np.float32),
            None,
            None,
            "lstm",
            False,
        )


@pytest.mark.parametrize("mode, gates", [("lstm", 4), ("gru", 3), ("rnn_tanh", 1)])
def test_empty_sequence(mode, gates):
    from pydl import _core

    x = np.zeros((0, 2, 3), np.float32)
    h0 = np.ones((2, 4), np.float32)
    c0 = np.ones((2, 4), np.float32) if mode == "lstm" else None
    w_ih, w_hh = np.ones((gates * 4, 3), np.float32), np.ones((gates * 4, 4), np.float32)
    y, h_n, c_n, saved = _core.recurrent_forward(x, h0, c0, w_ih, w_hh, None, None, mode, False)
    assert y.shape == (0, 2, 4) and np.array_equal(h_n, h0)
    grads = _core.recurrent_backward(
        np.zeros((0, 2, 4), np.float32),
        None,
        None,
        x,
        h0,
        c0,
        w_ih,
        w_hh,
        False,
        y,
        saved,
        mode,
        False,
        True,
        True,
        True,
    )
    for g in grads:
        assert g is None or not np.any(g)  # every gradient written, and zero


@pytest.mark.parametrize(
    "mode, gates", [("lstm", 4), ("gru", 3), ("rnn_tanh", 1), ("gru_reset_before", 3)]
)
@pytest.mark.parametrize("hidden, batch", [(40, 3), (136, 16), (24, 20)])
def test_threaded_steps_match_reference(mode, gates, hidden, batch):
    # Hidden sizes that are not a multiple of the GEMM panel width, the larger one with
    # steps big enough to be split over threads: core vs reference, and 1 vs 2 threads
    # bit-identical, outputs and every gradient.
    T, I = 3, 5
    rng = np.random.default_rng(11)
    shapes = [(T, batch, I), (batch, hidden)] + ([(batch, hidden)] if mode == "lstm" else [])
    shapes += [(gates * hidden, I), (gates * hidden, hidden), (gates * hidden,), (gates * hidden,)]
    arrays = [rng.uniform(-0.5, 0.5, s) for s in shapes]
    row = Row(mode, _rec(mode), [(s, -0.5, 0.5) for s in shapes])
    pydl.set_num_threads(1)
    out1, g1 = run_row(row, arrays, "core", np.float32)
    pydl.set_num_threads(2)
    out2, g2 = run_row(row, arrays, "core", np.float32)
    assert np.array_equal(out1, out2)
    assert all(np.array_equal(a, b) for a, b in zip(g1, g2))
    ref, g_ref = run_row(row, arrays, "reference", np.float64)
    np.testing.assert_allclose(out2, ref, rtol=1e-4, atol=1e-4)
    for a, b in zip(g2, g_ref):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("bf16", [False, True])
@pytest.mark.parametrize("cls, kwargs", [(nn.LSTM, {}), (nn.GRU, {}), (nn.RNN, {})])
def test_batch_split_recurrence_is_bit_identical(cls, kwargs, bf16):
    """Note [Batch-split recurrence]: with 8 or more rows a thread, each thread runs its own
    batch rows through every step in one region. Both directions, 2 layers, with and without
    the graph, fp32 and bf16 autocast: the same bits as one thread, and far fewer regions
    than 2 a step."""
    from pydl import _core

    T, B = 12, 24
    pydl.manual_seed(3)
    model = cls(6, 32, num_layers=2, bidirectional=True, **kwargs)
    x = np.random.default_rng(4).standard_normal((T, B, 6)).astype(np.float32)
    runs = []
    precision = pydl.autocast(dtype=pydl.bfloat16) if bf16 else contextlib.nullcontext()
    for threads in (1, 2):
        with pydl.threads(threads), precision:
            model.zero_grad()
            xt = pydl.tensor(x, requires_grad=True)
            before = _core._testing.parallel_regions()
            with pydl.no_grad():
                y_eval = model(pydl.tensor(x))[0].float().numpy()
            regions = _core._testing.parallel_regions() - before
            y = model(xt)[0].float()
            (y * y).sum().backward()
            grads = [xt.grad.numpy()] + [p.grad.numpy() for p in model.parameters()]
            runs.append((y.detach().numpy(), y_eval, grads))
        if threads == 2:  # 2 layers x 2 directions, not a region per step
            assert 0 < regions <= 16, regions
    (y1, e1, g1), (y2, e2, g2) = runs
    assert np.array_equal(y1, y2) and np.array_equal(e1, e2) and np.array_equal(y1, e1)
    for a, b in zip(g1, g2):
        assert np.array_equal(a, b)


def test_trainable_biases_beside_frozen_weights_get_gradients():
    rng = np.random.default_rng(0)
    x = pydl.tensor(rng.standard_normal((3, 2, 4)).astype(np.float32))
    h0 = pydl.tensor(np.zeros((2, 3), np.float32))
    w_ih = pydl.tensor(rng.standard_normal((9, 4)).astype(np.float32))  # frozen
    w_hh = pydl.tensor(rng.standard_normal((9, 3)).astype(np.float32))
    b_ih = pydl.tensor(rng.standard_normal(9).astype(np.float32), requires_grad=True)
    b_hh = pydl.tensor(rng.standard_normal(9).astype(np.float32), requires_grad=True)
    y, h_n, _ = F.recurrent_layer(x, h0, None, w_ih, w_hh, b_ih, b_hh, "gru")
    h_n.sum().backward()
    assert b_ih.grad is not None and b_hh.grad is not None
    assert np.abs(b_ih.grad.numpy()).sum() > 0


def test_one_bias_without_the_other_is_refused():
    x, h0 = pydl.zeros(2, 1, 3), pydl.zeros(1, 2)
    w_ih, w_hh, b = pydl.zeros(2, 3), pydl.zeros(2, 2), pydl.zeros(2)
    with pytest.raises(ValueError, match="both biases"):
        F.recurrent_layer(x, h0, None, w_ih, w_hh, None, b, "rnn_tanh")
