"""bf16 products: the rounding, sbgemm against its NumPy emulation bit for bit (every kernel,
edges, threads), and autocast (Note [Autocast]): which ops it lowers, backward's precision,
nesting, threads, errors."""

import itertools
import subprocess
import sys
import threading

import numpy as np
import pytest

import pydl
from pydl import _core, nn
import pydl.nn.functional as F
from pydl.reference import _bf16

KERNELS = ["ref"] + (["avx2"] if pydl.build_info()["simd"] in ("avx2+fma", "avx512f") else [])
if pydl.build_info()["bf16"]:
    KERNELS.append("avx512bf16")
MR, NR, KC = 8, 32, _bf16.BF16_KC  # gemm::kBf16MR, kBf16NR, kBf16KC


AMX = pydl.build_info()["amx"]  # the one kernel that is not the emulation bit for bit
needs_amx = pytest.mark.skipif(not AMX, reason="the CPU or the OS offers no AMX-BF16")


@pytest.fixture(autouse=True)
def _exact_kernel():
    """Every test runs on the fastest kernel that is the emulation bit for bit, unless it
    picks one (where `auto` would pick AMX, the exact comparisons would not hold)."""
    _core.bf16_gemm_set_kernel(KERNELS[-1])
    yield
    _core.bf16_gemm_set_kernel("auto")


@pytest.fixture(params=KERNELS)
def kernel(request):
    _core.bf16_gemm_set_kernel(request.param)
    yield request.param


def test_rounding_matches_the_reference_and_ml_dtypes():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32)
    special = np.array([0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 0x00000001,
                        0x807FFFFF, 0x00800000, 0x3F808000, 0x3F818000, 0x7F7FFFFF, 0x3F7FFFFF],
                       np.uint32)  # fmt: skip
    x = np.concatenate([bits, special]).view(np.float32)
    core = _core.floats_to_bf16(x)
    ref = _bf16.bf16_round(x).view(np.uint32) >> 16
    np.testing.assert_array_equal(core, ref)
    # ties to even: 1 + 2^-8 rounds down to 1, 1 + 3 * 2^-8 up to 1 + 2^-6
    assert core[-4] == 0x3F80 and core[-3] == 0x3F82
    assert core[-2] == 0x7F80 and core[-1] == 0x3F80  # past the largest: inf; carries
    # ml_dtypes (pydl.bfloat16) rounds the same way, except that it keeps denormals
    normal = np.isfinite(x) & (np.abs(x) >= np.finfo(np.float32).tiny)
    theirs = x[normal].astype(pydl.bfloat16).view(np.uint16)
    np.testing.assert_array_equal(core[normal], theirs)
    assert np.isnan(_bf16.bf16_round(x[np.isnan(x)])).all()
    assert (core[(np.abs(x) < np.finfo(np.float32).tiny) & (x != 0)] & 0x7FFF == 0).all()


def sbgemm(trans_a, trans_b, m, n, k, alpha, beta, rng, pad=0):
    """sbgemm on padded row-major buffers; returns (got, c before, op(A), op(B))."""
    ar, ac = (k, m) if trans_a else (m, k)
    br, bc = (n, k) if trans_b else (k, n)
    lda, ldb, ldc = max(1, ac + pad), max(1, bc + pad), n + pad
    a = rng.standard_normal((ar, lda)).astype(np.float32)
    b = rng.standard_normal((br, ldb)).astype(np.float32)
    c = rng.standard_normal((m, ldc)).astype(np.float32)
    before = c.copy()
    _core.sbgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    np.testing.assert_array_equal(c[:, n:], before[:, n:])  # padding never written
    op_a, op_b = a[:, :ac], b[:, :bc]
    return c[:, :n], before[:, :n], op_a.T if trans_a else op_a, op_b.T if trans_b else op_b


def emulated(op_a, op_b, alpha, beta, c):
    """What sbgemm computes, for beta 0 or 1."""
    return _bf16.matmul_bf16(op_a, op_b, alpha, None if beta == 0 else c)


SHAPES = [(1, 1, 1), (MR, NR, 2), (MR + 1, NR + 1, 3), (2 * MR - 1, 2 * NR - 1, 31), (5, 70, 64),
          (97, 33, 17), (40, 50, KC + 3), (9, 40, 2 * KC + 1)]  # fmt: skip


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
def test_sbgemm_is_its_emulation_bit_for_bit(kernel, shape, trans_a, trans_b):
    m, n, k = shape
    rng = np.random.default_rng(m * 1000 + n + k)
    for alpha, beta in [(1.0, 0.0), (0.75, 1.0)]:
        got, c, op_a, op_b = sbgemm(trans_a, trans_b, m, n, k, alpha, beta, rng, pad=3)
        np.testing.assert_array_equal(got, emulated(op_a, op_b, alpha, beta, c))


def test_sbgemm_is_close_to_the_fp32_product_and_takes_any_beta(kernel):
    rng = np.random.default_rng(1)
    m, n, k = 33, 45, 300
    got, c, op_a, op_b = sbgemm(False, True, m, n, k, -1.5, 0.25, rng)
    want = -1.5 * (op_a.astype(np.float64) @ op_b) + 0.25 * c
    # bf16 operands: a relative error of 2^-9 each, summed over k terms of size ~1
    np.testing.assert_allclose(got, want, atol=6 * 2**-8 * np.sqrt(k))
    exact = -1.5 * _bf16.matmul_bf16(op_a, op_b).astype(np.float64) + 0.25 * c
    np.testing.assert_allclose(got, exact, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(200, 300, 1000), (1024, 64, 48), (64, 700, 2100)])
def test_sbgemm_threads_bit_identical(kernel, shape):
    if kernel == "ref" and shape[0] * shape[1] * shape[2] > 2e7:
        pytest.skip("the scalar emulation is slow at this size")
    m, k, n = shape
    rng = np.random.default_rng(4)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((n, k)).astype(np.float32)
    out = []
    for threads in (1, 2):
        with pydl.threads(threads):
            c = np.zeros((m, n), np.float32)
            _core.sbgemm(False, True, m, n, k, 1.0, a, k, b, k, 0.0, c, n)
        out.append(c)
    assert m * n * k >= 1 << 20  # big enough to run on both threads
    np.testing.assert_array_equal(out[0], out[1])


def test_kernel_selection_and_bad_names():
    _core.bf16_gemm_set_kernel("auto")
    assert _core.bf16_gemm_kernel() == ("amx" if AMX else KERNELS[-1])
    if not AMX:
        with pytest.raises(ValueError, match="amx GEMM kernel needs a CPU with AMX-BF16"):
            _core.bf16_gemm_set_kernel("amx")
    with pytest.raises(ValueError, match="unknown bf16 GEMM kernel 'x'"):
        _core.bf16_gemm_set_kernel("x")
    with pytest.raises(ValueError, match="leading dimension"):
        _core.sbgemm(False, False, 2, 2, 2, 1.0, np.zeros(4, np.float32), 1,
                     np.zeros(4, np.float32), 2, 0.0, np.zeros(4, np.float32), 2)  # fmt: skip


# ----- AMX (Note [AMX tile]): its own arithmetic, bounded ------------------------------


def amx_bound(op_a, op_b, alpha, beta, c):
    """(the exact sum of the bf16 products, how far AMX may be from it): a rounding of
    2^-24 per 32-deep step of the sums of |products|, and the last ones."""
    a = _bf16.bf16_round(op_a).astype(np.float64)
    b = _bf16.bf16_round(op_b).astype(np.float64)
    exact = alpha * (a @ b) + (0.0 if beta == 0 else beta * c.astype(np.float64))
    steps = a.shape[1] / 32 + 2
    return exact, 2.0**-23 * (steps * abs(alpha) * (np.abs(a) @ np.abs(b)) + np.abs(exact))


@needs_amx
@pytest.mark.parametrize("shape", SHAPES + [(33, 40, 47), (64, 96, 256), (100, 70, 1030)])
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
def test_amx_sbgemm_is_within_its_rounding_of_the_exact_sum(shape, trans_a, trans_b):
    """Tiles of 32 rows and columns with tails, depth groups of 32 with tails, several
    depth blocks, transposes, padded leading dimensions (never written)."""
    _core.bf16_gemm_set_kernel("amx")
    m, n, k = shape
    rng = np.random.default_rng(m * 1000 + n + k)
    for alpha, beta in [(1.0, 0.0), (0.75, 1.0), (-1.5, 0.25)]:
        got, c, op_a, op_b = sbgemm(trans_a, trans_b, m, n, k, alpha, beta, rng, pad=3)
        exact, bound = amx_bound(op_a, op_b, alpha, beta, c)
        assert np.all(np.abs(got - exact) <= bound), np.max(np.abs(got - exact) / bound)


@needs_amx
def test_amx_threads_bit_identical():
    _core.bf16_gemm_set_kernel("amx")
    rng = np.random.default_rng(4)
    a = rng.standard_normal((300, 1100)).astype(np.float32)
    b = rng.standard_normal((200, 1100)).astype(np.float32)
    out = []
    for threads in (1, 2):
        with pydl.threads(threads):
            c = np.zeros((300, 200), np.float32)
            _core.sbgemm(False, True, 300, 200, 1100, 1.0, a, 1100, b, 1100, 0.0, c, 200)
        out.append(c)
    np.testing.assert_array_equal(out[0], out[1])


@needs_amx
@pytest.mark.parametrize("activation", [None, "relu", "gelu"])
def test_amx_linear_and_lstm_under_autocast_match_the_emulation_closely(activation):
    """The AMX paths of the layers (the epilogue, the B prepacked once for the hidden
    weights) against the exact kernels': within the rounding of the sums."""
    rng = np.random.default_rng(0)
    x = pydl.tensor(rng.standard_normal((70, 300)).astype(np.float32), requires_grad=True)
    layer = nn.Linear(300, 90)
    lstm = nn.LSTM(40, 80, batch_first=True)
    seq = pydl.tensor(rng.standard_normal((5, 7, 40)).astype(np.float32), requires_grad=True)
    results = []
    for kern in (KERNELS[-1], "amx"):
        _core.bf16_gemm_set_kernel(kern)
        with pydl.autocast("cpu", dtype=pydl.bfloat16):
            y = layer(x)
            y = {"relu": F.relu, "gelu": F.gelu, None: lambda t: t}[activation](y)
            out, _ = lstm(seq)
        (y.sum() + out.sum()).backward()
        results.append([t.numpy().copy() for t in (y, out, x.grad, seq.grad, layer.weight.grad)])
        for t in (x, seq, layer.weight, *lstm.parameters(), layer.bias):
            t.grad = None
    for exact, amx in zip(*results):
        np.testing.assert_allclose(amx, exact, rtol=1e-4, atol=1e-4)


# ----- autocast -------------------------------------------------------------------------


@pytest.fixture(params=["core", "reference"])
def backend(request):
    pydl.set_backend(request.param)
    yield request.param
    pydl.set_backend("core")


def _linear_case(rng, activation=None):
    x = pydl.tensor(rng.standard_normal((6, 5, 37)).astype(np.float32), requires_grad=True)
    layer = nn.Linear(37, 19)
    return x, layer


@pytest.mark.parametrize("activation", [None, "relu", "gelu"])
def test_linear_under_autocast_is_bf16_forward_and_backward(backend, activation):
    rng = np.random.default_rng(2)
    x, layer = _linear_case(rng)
    with pydl.autocast("cpu", dtype=pydl.bfloat16):
        y = nn.functional.linear(x, layer.weight, layer.bias, activation=activation)
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(pydl.tensor(g))  # outside the block: still the forward's precision
    xa, w = x.detach().numpy(), layer.weight.detach().numpy()
    z = _bf16.matmul_bf16(xa, w.T) + layer.bias.detach().numpy()
    if activation is None:
        np.testing.assert_array_equal(y.numpy(), z)
        gz = g
    else:
        act = {"relu": nn.functional.relu, "gelu": nn.functional.gelu}[activation]
        zt = pydl.tensor(z, requires_grad=True)
        act(zt).backward(pydl.tensor(g))
        np.testing.assert_allclose(y.numpy(), act(pydl.tensor(z)).numpy(), rtol=1e-5, atol=1e-6)
        gz = zt.grad.numpy()
    g2, x2 = gz.reshape(-1, 19), xa.reshape(-1, 37)
    tol = {"rtol": 0, "atol": 0} if activation is None else {"rtol": 1e-4, "atol": 1e-5}
    np.testing.assert_allclose(x.grad.numpy(), _bf16.matmul_bf16(g2, w).reshape(x.shape), **tol)
    np.testing.assert_allclose(layer.weight.grad.numpy(), _bf16.matmul_bf16(g2.T, x2), **tol)
    np.testing.assert_allclose(layer.bias.grad.numpy(), g2.sum(0), rtol=1e-5, atol=1e-5)


def test_matmul_under_autocast_broadcasts_in_bf16(backend):
    rng = np.random.default_rng(3)
    a = pydl.tensor(rng.standard_normal((3, 1, 4, 9)).astype(np.float32), requires_grad=True)
    b = pydl.tensor(rng.standard_normal((2, 9, 5)).astype(np.float32), requires_grad=True)
    with pydl.autocast("cpu"):
        out = a @ b
    np.testing.assert_array_equal(out.numpy(), _bf16.matmul_bf16(a.numpy(), b.numpy()))
    out.sum().backward()
    g = np.ones(out.shape, np.float32)
    want_a = _bf16.matmul_bf16(g, np.swapaxes(b.numpy(), -1, -2)).sum(1, keepdims=True)
    np.testing.assert_allclose(a.grad.numpy(), want_a, rtol=1e-6)


def test_outside_autocast_and_float64_stay_exact():
    rng = np.random.default_rng(4)
    x, layer = _linear_case(rng)
    fp32 = layer(x).numpy()
    with pydl.autocast("cpu", dtype=pydl.bfloat16):
        bf16 = layer(x).numpy()
        with pydl.autocast("cpu", enabled=False):
            np.testing.assert_array_equal(layer(x).numpy(), fp32)
        x64 = pydl.tensor(rng.standard_normal((4, 37)))
        w64 = layer.weight.double()
        np.testing.assert_allclose((x64 @ w64.T).numpy(), x64.numpy() @ w64.numpy().T, rtol=1e-12)
        assert pydl.is_autocast_enabled()
    assert not pydl.is_autocast_enabled()
    assert not np.array_equal(bf16, fp32)
    np.testing.assert_array_equal(layer(x).numpy(), fp32)
    np.testing.assert_allclose(bf16, fp32, atol=0.05)


def test_autocast_is_per_thread_and_a_decorator():
    seen = {}

    @pydl.autocast("cpu", dtype=pydl.bfloat16)
    def inside():
        t = threading.Thread(target=lambda: seen.setdefault("other", pydl.is_autocast_enabled()))
        t.start()
        t.join()
        return pydl.is_autocast_enabled()

    assert inside() and seen["other"] is False and not pydl.is_autocast_enabled()
    assert pydl.get_autocast_dtype("cpu") == pydl.bfloat16
    assert pydl.amp.autocast is pydl.autocast


def test_autocast_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="device_type must be 'cpu'"):
        pydl.autocast("cuda")
    with pytest.raises(ValueError, match="bfloat16 only, got dtype float16"):
        pydl.autocast("cpu", dtype=np.float16)
    with pytest.raises(ValueError, match="bf16 products take float32 operands"):
        _core.linear_forward(np.zeros((2, 3)), np.zeros((4, 3)), None, bf16=True)
    with pytest.raises(ValueError, match="bf16 products take float32 operands"):
        pydl.reference.linear_forward(np.zeros((2, 3)), np.zeros((4, 3)), None, bf16=True)


def test_attention_under_autocast(backend):
    rng = np.random.default_rng(5)
    x = pydl.tensor(rng.standard_normal((2, 24, 3 * 32)).astype(np.float32), requires_grad=True)
    attend = pydl._ops.attention.attention_qkv
    fp32 = attend(x, 2, None, 0.25, True)
    with pydl.autocast("cpu"):
        out = attend(x, 2, None, 0.25, True)
    out.backward(pydl.tensor(np.ones(out.shape, np.float32)))
    ref_out, saved = pydl.reference.attention_qkv_forward(x.numpy(), 2, None, 0.25, True, bf16=True)
    ref_grad = pydl.reference.attention_qkv_backward(
        np.ones(out.shape, np.float32), x.numpy(), 2, None, ref_out, saved, 0.25, True, bf16=True
    )
    assert not np.array_equal(out.numpy(), fp32.numpy())  # the bf16 products ran
    np.testing.assert_allclose(out.numpy(), fp32.numpy(), atol=0.03)
    # the kernel rounds its blocks' unnormalized probabilities, the reference the normalized
    np.testing.assert_allclose(out.numpy(), ref_out, atol=0.01)
    np.testing.assert_allclose(x.grad.numpy(), ref_grad, atol=0.02)


def _gpt_run(bf16: bool, epochs: int, seed: int = 0) -> tuple:
    """`pydl train gpt`'s model, data and optimizer (the bundled text), 50 steps an epoch,
    each step's forward under autocast when bf16: (the step losses, the validation loss)."""
    from pydl._tasks import TASKS

    task = TASKS["gpt"]
    pydl.manual_seed(seed)
    setup = task.build(task.batch_size, task.lr)
    losses = []
    for _ in range(epochs):
        for x, y in setup.batches():
            with pydl.autocast("cpu", enabled=bf16):
                loss = setup.loss(setup.model, x, y)
            setup.optimizer.zero_grad()
            loss.backward()
            setup.optimizer.step()
            losses.append(loss.item())
    setup.model.eval()
    with pydl.no_grad():
        return losses, setup.evaluate(setup.model).value


@pytest.mark.parametrize(
    "epochs,seeds", [(2, (0,)), pytest.param(6, (0, 1, 2, 3), marks=pytest.mark.slow)]
)
def test_gpt_trains_under_autocast_as_in_fp32(epochs, seeds):
    """The issue's bar: after 300 steps (6 epochs; 100 in the default run, one seed) the bf16
    runs' loss on the whole validation text is within 2% of the fp32 runs', from the same
    seeds, on average over 4 seeds. One seed is not a measure at 300 steps: the runs'
    trajectories part, and changing fp32's initial weights by one part in 10^6 moved seed
    0's loss over 2.611-2.636, the bf16 runs' over 2.611-2.769; bf16 against fp32 was +2.6%,
    -0.9%, -1.5% and +2.2% on seeds 0-3 (stop 30's note). Nor are the step losses of the last
    batches (on one batch the two runs differed by up to 3% in either direction)."""
    fp32_runs = [_gpt_run(False, epochs, seed) for seed in seeds]
    bf16_runs = [_gpt_run(True, epochs, seed) for seed in seeds]
    for (fp32_steps, _), (bf16_steps, _) in zip(fp32_runs, bf16_runs):
        assert fp32_steps != bf16_steps  # the products did run in bf16
        assert np.mean(fp32_steps[-20:]) < 0.8 * np.mean(fp32_steps[:5])  # it learned
    fp32 = np.mean([loss for _, loss in fp32_runs])
    bf16 = np.mean([loss for _, loss in bf16_runs])
    assert abs(bf16 - fp32) <= 0.02 * fp32, (fp32, bf16)


@pytest.mark.parametrize("mode", ["lstm", "gru", "gru_reset_before", "rnn_tanh"])
def test_recurrent_layers_under_autocast(backend, mode):
    from pydl._ops.recurrent import recurrent_layer

    rng = np.random.default_rng(6)
    T, B, I, H = 5, 3, 7, 9
    G = {"lstm": 4, "rnn_tanh": 1}.get(mode, 3) * H

    def tensor(*shape):
        return pydl.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)

    x, h0, w_ih, w_hh, b_ih, b_hh = tensor(T, B, I), tensor(B, H), tensor(G, I), tensor(G, H), \
        tensor(G), tensor(G)  # fmt: skip
    c0 = tensor(B, H) if mode == "lstm" else None
    args = (x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode)
    fp32 = recurrent_layer(*args)[0].numpy()
    with pydl.autocast("cpu"):
        y, h_n, _ = recurrent_layer(*args)
    (y.sum() + h_n.sum()).backward()
    arrays = [None if t is None else t.numpy() for t in (x, h0, c0, w_ih, w_hh, b_ih, b_hh)]
    ref = pydl.reference.recurrent_forward(*arrays, mode, False, bf16=True)
    assert not np.array_equal(y.numpy(), fp32)  # the bf16 products ran
    np.testing.assert_allclose(y.numpy(), ref[0], rtol=1e-5, atol=1e-5)
    dy = np.ones_like(ref[0])
    grads = pydl.reference.recurrent_backward(
        dy, np.ones_like(ref[1]), None, *arrays[:5], True, ref[0], ref[3], mode, False,
        True, True, True, bf16=True,
    )  # fmt: skip
    np.testing.assert_allclose(x.grad.numpy(), grads[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(w_hh.grad.numpy(), grads[4], rtol=1e-4, atol=1e-4)


def test_ml_dtypes_is_imported_only_for_pydl_bfloat16(tmp_path):
    code = (
        "import sys, pydl; print('ml_dtypes' in sys.modules); "
        "print(pydl.bfloat16, 'ml_dtypes' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "bfloat16", "True"]


def _check_convolution(op, name, x_shape, w_shape, channels, call, settings, seed):
    """op(x, w, b, **call) (b: `channels` values) under autocast against the reference twin
    `name` with bf16 products (settings: the twin's arguments after x, w, b), forward and the
    three gradients; and unlike the fp32 result, so the bf16 products did run."""
    rng = np.random.default_rng(seed)

    def param(*shape):
        return pydl.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)

    x, w, b = param(*x_shape), param(*w_shape), param(channels)
    fp32 = op(x, w, b, **call).numpy()
    with pydl.autocast("cpu"):
        y = op(x, w, b, **call)
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(pydl.tensor(g))
    forward = getattr(pydl.reference, f"{name}_forward")
    backward = getattr(pydl.reference, f"{name}_backward")
    ref = forward(x.numpy(), w.numpy(), b.numpy(), *settings, bf16=True)
    gx, gw, gb = backward(g, x.numpy(), w.numpy(), *settings, True, True, True, bf16=True)
    assert not np.array_equal(y.numpy(), fp32)  # the bf16 products ran
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), gx, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(w.grad.numpy(), gw, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(b.grad.numpy(), gb, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("groups,stride", [(1, 1), (2, 2)])
def test_conv2d_under_autocast(backend, groups, stride):
    call = {"stride": stride, "padding": 1, "groups": groups}
    settings = ((stride, stride), (1, 1, 1, 1), (1, 1), groups)
    _check_convolution(nn.functional.conv2d, "conv2d", (2, 4, 9, 8), (6, 4 // groups, 3, 3), 6,
                       call, settings, seed=7)  # fmt: skip


def test_sbgemm_wide_deep_and_any_beta_bit_for_bit(kernel):
    """More than one column block (kBf16NC = 4096) and depth block, and beta outside {0, 1}:
    C = fma(beta, C, alpha * sums) after the first block, emulated in float64."""
    rng = np.random.default_rng(8)
    m, n, k = 3, 4100, 2 * KC + 5
    for alpha, beta in [(0.7, 0.0), (0.7, -2.5)]:
        got, c, op_a, op_b = sbgemm(False, True, m, n, k, alpha, beta, rng)
        first = _bf16.matmul_bf16(op_a[:, :KC], op_b[:KC], alpha)
        want = (
            first
            if beta == 0
            else (np.float32(beta) * c.astype(np.float64) + first).astype(np.float32)
        )
        for p0 in range(KC, k, KC):
            want = _bf16.matmul_bf16(op_a[:, p0 : p0 + KC], op_b[p0 : p0 + KC], alpha, want)
        np.testing.assert_array_equal(got, want)


def test_empty_product_applies_the_activation_once(backend):
    x = pydl.tensor(np.zeros((2, 0), np.float32))
    w = pydl.tensor(np.zeros((3, 0), np.float32))
    b = pydl.tensor(np.array([-1.0, 0.5, 2.0], np.float32))
    for act in ("tanh", "gelu", "sigmoid"):
        fp32 = nn.functional.linear(x, w, b, activation=act).numpy()
        with pydl.autocast("cpu"):
            bf16 = nn.functional.linear(x, w, b, activation=act).numpy()
        np.testing.assert_array_equal(bf16, fp32)  # both drivers' scale_c


def test_double_backward_uses_the_forward_precision():
    rng = np.random.default_rng(9)
    x = pydl.tensor(rng.standard_normal((4, 37)).astype(np.float32), requires_grad=True)
    layer = nn.Linear(37, 19)
    for activation in (None, "tanh"):
        with pydl.autocast("cpu"):
            y = nn.functional.linear(x, layer.weight, layer.bias, activation=activation)
            z = x @ layer.weight.T
        for out in (y, z):
            (plain,) = pydl.autograd.grad(out.sum(), x, retain_graph=True)
            (graph,) = pydl.autograd.grad(out.sum(), x, create_graph=True, retain_graph=True)
            np.testing.assert_allclose(graph.numpy(), plain.numpy(), rtol=1e-6, atol=1e-6)
    # and an fp32 forward differentiated inside an autocast block stays fp32
    y = layer(x)
    (plain,) = pydl.autograd.grad(y.sum(), x, retain_graph=True)
    with pydl.autocast("cpu"):
        (graph,) = pydl.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(graph.numpy(), plain.numpy(), rtol=1e-6, atol=1e-6)


def test_one_autocast_object_shared_by_threads():
    off = pydl.autocast("cpu", enabled=False)
    a_inside, b_inside, release = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def thread_a():
        with pydl.autocast("cpu"):
            with off:
                a_inside.set()
                b_inside.wait()
            seen["a"] = pydl.is_autocast_enabled()  # its outer block again

    def thread_b():
        a_inside.wait()
        with off:
            b_inside.set()
        seen["b"] = pydl.is_autocast_enabled()
        release.set()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"a": True, "b": False}


def test_attention_backward_asks_for_bf16(monkeypatch):
    calls = []
    real = _core.attention_qkv_backward
    monkeypatch.setattr(
        _core, "attention_qkv_backward", lambda *a, **k: calls.append(k) or real(*a, **k)
    )
    x = pydl.tensor(np.ones((1, 4, 3 * 8), np.float32), requires_grad=True)
    with pydl.autocast("cpu"):
        out = pydl._ops.attention.attention_qkv(x, 2, None, 0.5, True)
    out.sum().backward()
    assert calls == [{"bf16": True}]
    rng = np.random.default_rng(10)
    qkv = rng.standard_normal((2, 24, 3 * 32)).astype(np.float32)
    o, lse = _core.attention_qkv_forward(qkv, 2, None, 0.25, True, bf16=True)
    g = rng.standard_normal(o.shape).astype(np.float32)
    both = [_core.attention_qkv_backward(g, qkv, 2, None, o, lse, 0.25, True, bf16=b)
            for b in (False, True)]  # fmt: skip
    assert not np.array_equal(*both)  # the kernel's backward products honour it


def test_lstm_with_wide_deep_hidden_weights_under_autocast():
    """H = 1100: the prepacked hidden weights span two depth blocks and two column blocks."""
    from pydl._ops.recurrent import recurrent_layer

    rng = np.random.default_rng(11)
    T, B, I, H = 2, 2, 3, 1100
    arrays = [rng.standard_normal(s).astype(np.float32) * 0.05 for s in
              [(T, B, I), (B, H), (B, H), (4 * H, I), (4 * H, H), (4 * H,), (4 * H,)]]  # fmt: skip
    with pydl.autocast("cpu"):
        y = recurrent_layer(*[pydl.tensor(a) for a in arrays], "lstm")[0]
    ref = pydl.reference.recurrent_forward(*arrays, "lstm", False, bf16=True)[0]
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-4, atol=1e-6)


def test_conv_transpose2d_under_autocast(backend):
    settings = ((2, 2), (1, 1), (0, 0), (1, 1), 1)
    _check_convolution(nn.functional.conv_transpose2d, "conv_transpose2d", (2, 4, 5, 6),
                       (4, 3, 3, 3), 3, {"stride": 2, "padding": 1}, settings, seed=12)  # fmt: skip
