"""The fusions of pydl.compile's plan (Note [Fusion in the plan] in pydl/_fusion.py): each
fused kernel is its pair of kernels bit for bit, on both backends, and a compiled step that
fuses stays bit-identical to eager."""

from __future__ import annotations

import numpy as np
import pytest

import pydl
from pydl import _core, nn, optim, reference
from pydl.models import GPT

F = nn.functional
ACTIVATIONS = ["relu", "sigmoid", "tanh", "gelu"]
BACKENDS = {"core": _core, "reference": reference}


def _rand(rng: np.random.Generator, shape: tuple, dtype: type = np.float32) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


def _pre(act: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The activation's x as a fused backward reads it: y itself where the derivative is
    taken from the output (Note [Fusion in the plan])."""
    return x if act == "gelu" else y


def _same_as_pair(act: str, fused: np.ndarray, pair: np.ndarray) -> None:
    """A fused activation backward is its kernel's, bit for bit, for the activations the plan
    fuses; GELU's derivative may differ in the last bit where the fused kernel's plane or
    sample ends mid-vector (Note [Fusion in the plan]), so the plan does not fuse it."""
    if act == "gelu":
        np.testing.assert_allclose(fused, pair, rtol=1e-6, atol=1e-7)
    else:
        assert fused.tobytes() == pair.tobytes()


CONVS = [  # x, weight, stride, padding (top, bottom, left, right), dilation, groups
    ((2, 3, 9, 7), (5, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    ((1, 4, 5, 6), (4, 2, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 2),
    ((3, 2, 11, 13), (6, 2, 3, 2), (2, 1), (0, 1, 2, 0), (1, 2), 1),
]


@pytest.mark.parametrize("cfg", CONVS)
@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_conv_with_an_activation_is_the_conv_then_the_activation(backend, act, cfg):
    k = BACKENDS[backend]
    rng = np.random.default_rng(0)
    xs, ws, stride, padding, dilation, groups = cfg
    x, w = _rand(rng, xs), _rand(rng, ws)
    for b in (_rand(rng, ws[:1]), None):
        args = (x, w, b, stride, padding, dilation, groups)
        pair = getattr(k, act + "_forward")(k.conv2d_forward(*args))
        fused = k.conv2d_forward(*args, activation=act)
        assert fused.dtype == np.float32 and fused.tobytes() == pair.tobytes()
        twin = reference.conv2d_forward(*args, activation=act)
        np.testing.assert_allclose(fused, twin, rtol=1e-4, atol=1e-5)
        # float64: the core hands the call to its twin (Note [Reference fallback])
        args64 = [a.astype(np.float64) if isinstance(a, np.ndarray) else a for a in args]
        fused64 = k.conv2d_forward(*args64, activation=act)
        assert fused64.dtype == np.float64
        assert fused64.tobytes() == reference.conv2d_forward(*args64, activation=act).tobytes()


@pytest.mark.parametrize("cfg", CONVS)
@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_conv_backward_with_an_activation_is_the_two_backwards(backend, act, cfg):
    k = BACKENDS[backend]
    rng = np.random.default_rng(9)
    xs, ws, stride, padding, dilation, groups = cfg
    pre, w = _rand(rng, xs), _rand(rng, ws)
    x = getattr(k, act + "_forward")(pre)  # the convolution's input: the activation's output
    conv = (stride, padding, dilation, groups)
    g = _rand(rng, k.conv2d_forward(x, w, None, *conv).shape)
    gx, gw, gb = k.conv2d_backward(g, x, w, *conv, True, True, True)
    pair = getattr(k, act + "_backward")(gx, pre, x)
    a = _pre(act, pre, x)
    fx, fw, fb = k.conv2d_backward(
        g, x, w, *conv, True, True, True, activation=act, act_x=a, act_y=x
    )
    _same_as_pair(act, fx, pair)
    assert fw.tobytes() == gw.tobytes() and fb.tobytes() == gb.tobytes()
    twin = reference.conv2d_backward(g, x, w, *conv, True, True, True, False, act, a, x)[0]
    np.testing.assert_allclose(fx, twin, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5, 7), (3, 2, 1, 1)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_batch_norm_with_an_activation_is_the_norm_then_the_activation(
    backend, act, training, shape
):
    k = BACKENDS[backend]
    rng = np.random.default_rng(7)
    x, w, b = _rand(rng, shape), _rand(rng, shape[1:2]), _rand(rng, shape[1:2])
    stats = [(np.zeros(shape[1], np.float32), np.ones(shape[1], np.float32)) for _ in range(2)]
    for weight, bias in ((w, b), (None, None)):
        y, mean, invstd = k.batch_norm_forward(x, weight, bias, *stats[0], training, 0.1, 1e-5)
        pair = getattr(k, act + "_forward")(y)
        fused = k.batch_norm_forward(x, weight, bias, *stats[1], training, 0.1, 1e-5, act)
        assert fused[0].tobytes() == pair.tobytes()
        assert fused[1].tobytes() == mean.tobytes() and fused[2].tobytes() == invstd.tobytes()
        assert stats[0][0].tobytes() == stats[1][0].tobytes()  # the running statistics
        assert stats[0][1].tobytes() == stats[1][1].tobytes()
    twin = reference.batch_norm_forward(x, w, b, *stats[0], False, 0.1, 1e-5, activation=act)
    got = k.batch_norm_forward(x, w, b, *stats[0], False, 0.1, 1e-5, activation=act)
    np.testing.assert_allclose(got[0], twin[0], rtol=1e-4, atol=1e-5)


POOLS = [  # x, kernel, stride, padding, dilation, ceil_mode
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((1, 2, 9, 7), (3, 3), (2, 2), (1, 1), (1, 1), True),  # overlapping windows add
    ((2, 1, 5, 5), (2, 2), (1, 1), (0, 0), (2, 2), False),
]


@pytest.mark.parametrize("cfg", POOLS)
@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_max_pool_backward_with_an_activation_is_the_two_backwards(backend, act, cfg):
    k = BACKENDS[backend]
    rng = np.random.default_rng(1)
    xs, *pool = cfg
    pre = _rand(rng, xs)
    y = getattr(k, act + "_forward")(pre)
    out, indices = k.maxpool2d_forward(y, *pool, True)
    g = _rand(rng, out.shape)
    x = _pre(act, pre, y)
    pair = getattr(k, act + "_backward")(k.maxpool2d_backward(g, indices, xs, *pool), x, y)
    fused = k.maxpool2d_backward(g, indices, xs, *pool, activation=act, act_x=x, act_y=y)
    _same_as_pair(act, fused, pair)
    twin = reference.maxpool2d_backward(g, indices, xs, *pool, activation=act, act_x=x, act_y=y)
    np.testing.assert_allclose(fused, twin, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh"])
def test_fused_activations_match_their_kernels_for_every_tail_length(act):
    """The fused kernels apply an activation a plane or a sample at a time, so an element may
    fall in the scalar tail of a vectorized loop there and not in the activation's own
    kernel: for the activations the plan fuses the two give the same bits."""
    k, rng = _core, np.random.default_rng(11)
    for width in range(1, 41):
        pre = _rand(rng, (2, 3, 1, width)) * 4
        y = getattr(k, act + "_forward")(pre)
        w = _rand(rng, (3, 3, 1, 1))
        conv = ((1, 1), (0, 0, 0, 0), (1, 1), 1)
        fwd = k.conv2d_forward(pre, w, None, *conv, activation=act)
        assert (
            fwd.tobytes()
            == getattr(k, act + "_forward")(k.conv2d_forward(pre, w, None, *conv)).tobytes()
        )
        g = _rand(rng, pre.shape)
        gx = k.conv2d_backward(g, y, w, *conv, True, False, False)[0]
        pair = getattr(k, act + "_backward")(gx, y, y)
        fused = k.conv2d_backward(
            g, y, w, *conv, True, False, False, activation=act, act_x=y, act_y=y
        )[0]
        assert fused.tobytes() == pair.tobytes(), width


@pytest.mark.parametrize("rows, d", [(1, 1), (7, 33), (64, 256), (3, 1000)])
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_layer_norm_backward_with_accumulate_adds_the_input_gradient_to_it(backend, rows, d):
    k = BACKENDS[backend]
    rng = np.random.default_rng(2)
    x, g, acc = _rand(rng, (rows, d)), _rand(rng, (rows, d)), _rand(rng, (rows, d))
    w, b = _rand(rng, (d,)), _rand(rng, (d,))
    _, mean, invstd = k.layer_norm_forward(x, d, w, b, 1e-5)
    gx, gw, gb = k.layer_norm_backward(g, x, d, w, mean, invstd, True, True, True)
    fx, fw, fb = k.layer_norm_backward(g, x, d, w, mean, invstd, True, True, True, accumulate=acc)
    assert fx.tobytes() == k.add_forward(acc, gx).tobytes() == k.add_forward(gx, acc).tobytes()
    assert fw.tobytes() == gw.tobytes() and fb.tobytes() == gb.tobytes()
    twin = reference.layer_norm_backward(g, x, d, w, mean, invstd, True, True, True, acc)[0]
    np.testing.assert_allclose(fx, twin, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_fused_arguments_are_checked(backend):
    k = BACKENDS[backend]
    rng = np.random.default_rng(3)
    x, w = _rand(rng, (1, 2, 4, 4)), _rand(rng, (3, 2, 3, 3))
    with pytest.raises(ValueError, match="activation must be .*'relu'.*got 'softmax'"):
        k.conv2d_forward(x, w, None, (1, 1), (0,) * 4, (1, 1), 1, activation="softmax")
    y = k.conv2d_forward(x, w, None, (1, 1), (0,) * 4, (1, 1), 1)
    with pytest.raises(ValueError, match="needs need_x, act_x and act_y"):
        k.conv2d_backward(y, x, w, (1, 1), (0,) * 4, (1, 1), 1, False, True, False,
                          activation="relu", act_x=x, act_y=x)  # fmt: skip
    mean, var = np.zeros(2, np.float32), np.ones(2, np.float32)
    with pytest.raises(ValueError, match="activation must be"):
        k.batch_norm_forward(x, None, None, mean, var, True, 0.5, 1e-5, activation="elu")
    assert mean.tobytes() == np.zeros(2, np.float32).tobytes()  # checked before the update
    pool = ((2, 2), (2, 2), (0, 0), (1, 1), False)
    out, idx = k.maxpool2d_forward(x, *pool, True)
    g = np.ones_like(out)
    with pytest.raises(ValueError, match="needs act_x and act_y"):
        k.maxpool2d_backward(g, idx, x.shape, *pool, activation="relu", act_x=x)
    with pytest.raises(ValueError, match="activation must be"):
        k.maxpool2d_backward(g, idx, x.shape, *pool, activation="elu", act_x=x, act_y=x)
    rows = _rand(rng, (3, 5))
    _, mean, invstd = k.layer_norm_forward(rows, 5, None, None, 1e-5)
    with pytest.raises(ValueError, match="accumulate"):
        k.layer_norm_backward(rows, rows, 5, None, mean, invstd, True, False, False, rows[:2])
    with pytest.raises(ValueError, match="accumulate"):
        k.layer_norm_backward(rows, rows, 5, None, mean, invstd, False, True, False, rows)
    with pytest.raises(ValueError, match="act_x .* must match the input"):
        k.maxpool2d_backward(g, idx, x.shape, *pool, activation="relu", act_x=x[:, :1], act_y=x)


# ----- in a compiled step ---------------------------------------------------------------
def _cnn(dtype: type = np.float32) -> tuple:
    pydl.manual_seed(0)
    m = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 2 * 2, 3),
    )  # fmt: skip
    if dtype == np.float64:
        m.double()
    rng = np.random.default_rng(4)
    data = [(rng.standard_normal((5, 3, 8, 8)).astype(dtype), rng.integers(0, 3, 5))
            for _ in range(5)]  # fmt: skip
    return m, data


def _cnn_with_batch_norm() -> tuple:
    pydl.manual_seed(0)
    m = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 3), nn.BatchNorm1d(3), nn.Sigmoid(), nn.Linear(3, 3),
    )  # fmt: skip
    rng = np.random.default_rng(8)
    data = [(rng.standard_normal((5, 3, 8, 8)).astype(np.float32), rng.integers(0, 3, 5))
            for _ in range(5)]  # fmt: skip
    return m, data


def _conv_stack() -> tuple:
    """Convolutions straight into convolutions (VGG's, ResNet's blocks): the activations'
    backwards follow the convolutions' own."""
    pydl.manual_seed(0)
    m = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 2, 3, padding=1), nn.Flatten(), nn.Linear(2 * 6 * 6, 3),
    )  # fmt: skip
    rng = np.random.default_rng(10)
    data = [(rng.standard_normal((4, 3, 6, 6)).astype(np.float32), rng.integers(0, 3, 4))
            for _ in range(5)]  # fmt: skip
    return m, data


def _gpt() -> tuple:
    pydl.manual_seed(0)
    m = GPT(vocab_size=16, d_model=16, n_heads=2, n_layers=2, max_len=8)
    rng = np.random.default_rng(5)
    data = [(rng.integers(0, 16, (2, 8)), rng.integers(0, 16, 16)) for _ in range(5)]
    return m, data


def _train(
    m: nn.Module, data: list, compile_it: bool, flatten: bool = False, bf16: bool = False
) -> tuple:
    o = optim.Adam(m.parameters(), lr=1e-2)

    def step(x: pydl.Tensor, y: pydl.Tensor) -> pydl.Tensor:
        o.zero_grad()
        with pydl.autocast("cpu", dtype=pydl.bfloat16, enabled=bf16):
            out = m(x)
        loss = F.cross_entropy(pydl.reshape(out, (-1, out.shape[-1])) if flatten else out, y)
        loss.backward()
        o.step()
        return loss

    run = pydl.compile(step, fullgraph=True) if compile_it else step
    losses = [run(pydl.tensor(x), pydl.tensor(y)).numpy().tobytes() for x, y in data]
    return losses, [p.numpy().tobytes() for p in m.parameters()], run


def _fused(compiled: object) -> list[str]:
    (plans,) = compiled._plans.values()
    return plans[-1].fused


@pytest.fixture
def backend_named(request):
    before = pydl.backend.get_backend()
    pydl.backend.set_backend(request.param)
    yield request.param
    pydl.backend.set_backend(before)


@pytest.mark.parametrize(
    "backend_named, dtype",
    [("core", np.float32), ("core", np.float64), ("reference", np.float32)],
    indirect=["backend_named"],
)
def test_a_cnn_step_fuses_its_activations_and_stays_bit_identical(backend_named, dtype):
    eager = _train(*_cnn(dtype), compile_it=False)
    compiled = _train(*_cnn(dtype), compile_it=True)
    assert compiled[2].replays == 3
    # float64 is not fused (Note [Fusion in the plan]: the twin's activation is not C++'s)
    assert _fused(compiled[2]) == [] if dtype == np.float64 else [
        "conv2d_forward + relu_forward",
        "conv2d_forward + tanh_forward",
        "maxpool2d_backward + tanh_backward",
        "maxpool2d_backward + relu_backward",
    ]  # fmt: skip
    assert compiled[:2] == eager[:2]


@pytest.mark.parametrize("bf16", [False, True])
def test_a_batch_normalized_cnn_step_fuses_its_activations_and_stays_bit_identical(bf16):
    """Under autocast too: the convolution's products take bf16 operands, its result and
    the activations stay float32 (Note [Autocast])."""
    eager = _train(*_cnn_with_batch_norm(), compile_it=False, bf16=bf16)
    compiled = _train(*_cnn_with_batch_norm(), compile_it=True, bf16=bf16)
    assert compiled[2].replays == 3
    assert _fused(compiled[2]) == [
        "batch_norm_forward + relu_forward",
        "batch_norm_forward + sigmoid_forward",
        "maxpool2d_backward + relu_backward",
    ]
    assert compiled[:2] == eager[:2]


def test_a_convolution_stack_fuses_its_activations_both_ways_and_stays_bit_identical():
    eager = _train(*_conv_stack(), compile_it=False)
    compiled = _train(*_conv_stack(), compile_it=True)
    assert compiled[2].replays == 3
    assert _fused(compiled[2]) == [
        "conv2d_forward + relu_forward",
        "batch_norm_forward + relu_forward",
        "conv2d_backward + relu_backward",
        "conv2d_backward + relu_backward",
    ]
    assert compiled[:2] == eager[:2]


def test_a_transformer_step_fuses_its_residual_gradient_sums_and_stays_bit_identical():
    eager = _train(*_gpt(), compile_it=False, flatten=True)
    compiled = _train(*_gpt(), compile_it=True, flatten=True)
    assert compiled[2].replays == 3
    # two blocks of two sub-layers: each sub-layer's LayerNorm backward meets the stream's
    assert _fused(compiled[2]) == ["layer_norm_backward + add_forward"] * 4
    assert compiled[:2] == eager[:2]


class _Reads(nn.Module):
    """Intermediates the fusions must leave alone: a conv output read again, an activation
    whose backward the plan does not fuse (gelu's), and a convolution with a float64 bias,
    whose calls go to the NumPy twin."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1)
        self.conv2 = nn.Conv2d(2, 2, 3, padding=1)
        self.conv3 = nn.Conv2d(2, 2, 3, padding=1)
        self.conv3.bias = nn.Parameter(pydl.tensor(np.linspace(-1, 1, 2)))  # float64
        self.conv4 = nn.Conv2d(2, 2, 3, padding=1)
        self.conv4.weight = nn.Parameter(pydl.tensor(np.full((2, 2, 3, 3), 0.1)))  # float64
        self.norm = nn.LayerNorm(6)

    def forward(self, x: pydl.Tensor) -> pydl.Tensor:
        c = self.conv(x)
        h = F.relu(c) + c  # c is read again after the relu
        h = F.gelu(self.conv2(h))  # gelu is not fused, forward or backward
        h = pydl.tanh(self.conv3(h))  # the bias sends conv3 to the NumPy twin
        h = self.conv4(pydl.sigmoid(h))  # and the weight conv4, both ways
        h = self.norm(h)
        return pydl.reshape(h, (h.shape[0], -1))


def test_an_intermediate_read_again_is_not_fused():
    def run(compile_it: bool) -> tuple:
        pydl.manual_seed(0)
        m = _Reads()
        rng = np.random.default_rng(6)
        data = [(rng.standard_normal((3, 2, 6, 6)).astype(np.float32), rng.integers(0, 72, 3))
                for _ in range(4)]  # fmt: skip
        return _train(m, data, compile_it)

    eager, compiled = run(False), run(True)
    assert compiled[2].replays == 2
    assert _fused(compiled[2]) == []
    assert compiled[:2] == eager[:2]
