"""The forward kernels' save= flag (_core directly): with save=False the saved-for-backward
output is None, nothing is saved, and every other output is bit-identical to save=True."""

import numpy as np
import pytest

from pydl import _core

MODES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3, "gru_reset_before": 3}


def _recurrent_args(mode, rng, T=5, B=3, I=4, H=6, bias=True):
    g = MODES[mode] * H
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    c0 = f(B, H) if mode == "lstm" else None
    b_ih, b_hh = (f(g), f(g)) if bias else (None, None)
    return f(T, B, I), f(B, H), c0, f(g, I) * 0.5, f(g, H) * 0.5, b_ih, b_hh


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_recurrent_forward_without_saving(mode, reverse, bias):
    args = _recurrent_args(mode, np.random.default_rng(0), bias=bias)
    y, h_n, c_n, saved = _core.recurrent_forward(*args, mode, reverse)
    y2, h_n2, c_n2, saved2 = _core.recurrent_forward(*args, mode, reverse, save=False)
    assert saved is not None and saved2 is None
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(h_n2, h_n)
    if mode == "lstm":
        np.testing.assert_array_equal(c_n2, c_n)
    else:
        assert c_n is None and c_n2 is None
    # save=True positionally too, and its saved state still drives the backward.
    _, _, _, saved3 = _core.recurrent_forward(*args, mode, reverse, True)
    np.testing.assert_array_equal(saved3, saved)
    dy = np.ones_like(y)
    grads = _core.recurrent_backward(
        dy, None, None, *args[:5], bias, y, saved, mode, reverse, True, True, True
    )
    assert all(np.isfinite(gr).all() for gr in grads if gr is not None)


@pytest.mark.parametrize("mode", ["lstm", "gru_reset_before"])
def test_recurrent_forward_without_saving_long_sequence_threads(mode):
    # More steps than the two step slots, and batch rows split over threads.
    args = _recurrent_args(mode, np.random.default_rng(1), T=9, B=300, I=8, H=32)
    y, h_n, c_n, _ = _core.recurrent_forward(*args, mode, False)
    y2, h_n2, c_n2, saved2 = _core.recurrent_forward(*args, mode, False, save=False)
    assert saved2 is None
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(h_n2, h_n)
    if c_n is not None:
        np.testing.assert_array_equal(c_n2, c_n)


@pytest.mark.parametrize("activation", ["none", "relu", "gelu", "tanh", "sigmoid"])
@pytest.mark.parametrize("rows", [1, 7, 64])
def test_linear_act_forward_without_saving(activation, rows):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((rows, 40)).astype(np.float32)
    w = rng.standard_normal((24, 40)).astype(np.float32)
    b = rng.standard_normal(24).astype(np.float32)
    y, pre = _core.linear_act_forward(x, w, b, activation)
    y2, pre2 = _core.linear_act_forward(x, w, b, activation, save=False)
    assert pre2 is None
    assert (pre is not None) == (activation == "gelu")
    np.testing.assert_array_equal(y2, y)
    y3, pre3 = _core.linear_act_forward(x, w, None, activation, True)
    assert (pre3 is not None) == (activation == "gelu")


@pytest.mark.parametrize(
    "shape, kernel, stride, padding, dilation, ceil_mode",
    [
        ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), (1, 1), False),  # the 2x2 fast path
        ((2, 3, 9, 11), (3, 2), (2, 1), (1, 1), (1, 2), True),  # general body and edges
        ((64, 16, 12, 12), (2, 2), (2, 2), (0, 0), (1, 1), False),  # planes over threads
        ((1, 2, 1, 9), (1, 3), (1, 2), (0, 1), (1, 1), False),  # 1-d pooling
    ],
)
def test_maxpool2d_forward_without_saving(shape, kernel, stride, padding, dilation, ceil_mode):
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    x.flat[::7] = np.nan  # NaN wins in both
    args = (kernel, stride, padding, dilation, ceil_mode)
    y, idx = _core.maxpool2d_forward(x, *args)
    y2, idx2 = _core.maxpool2d_forward(x, *args, save=False)
    assert idx is not None and idx.dtype == np.int64 and idx2 is None
    np.testing.assert_array_equal(y2, y)
    # The backward still runs from the indices of a saving forward.
    gx = _core.maxpool2d_backward(np.ones_like(y), idx, list(shape), *args)
    assert gx.shape == shape


@pytest.mark.parametrize("backend_name", ["core", "reference"])
def test_ops_ask_to_save_only_when_a_backward_can_run(monkeypatch, backend_name):
    """The ops pass save=False under no_grad and when no input requires grad, save=True
    otherwise; and both backends then return nothing to save."""
    import pydl
    import pydl.nn.functional as F
    from pydl import backend

    kernels = {"core": _core, "reference": pydl.reference}[backend_name]
    seen = []

    class Recorder:
        def __getattr__(self, name):
            fn = getattr(kernels, name)
            if name not in ("recurrent_forward", "linear_act_forward", "maxpool2d_forward"):
                return fn

            def call(*args, **kwargs):
                out = fn(*args, **kwargs)
                seen.append((name, kwargs["save"], out[-1] is None))
                return out

            return call

    monkeypatch.setattr(backend, "active", Recorder())
    rng = np.random.default_rng(0)
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = (
        None if a is None else pydl.tensor(a) for a in _recurrent_args("lstm", rng)
    )
    img = pydl.tensor(rng.standard_normal((1, 2, 4, 4)).astype(np.float32))
    w = pydl.tensor(rng.standard_normal((5, 6)).astype(np.float32))

    def run_all():
        F.recurrent_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, "lstm")
        F.linear(h0, w, None, "gelu")
        F.max_pool2d(img, 2)

    run_all()  # nothing requires grad
    with pydl.no_grad():
        w_ih.requires_grad_(True)
        img.requires_grad_(True)
        h0.requires_grad_(True)
        run_all()  # inputs require grad, but grad mode is off
    run_all()  # now a backward can run
    assert [s for _, s, _ in seen] == [False] * 6 + [True] * 3
    assert all(empty == (not save) for _, save, empty in seen), seen
