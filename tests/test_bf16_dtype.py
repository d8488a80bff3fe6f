"""bfloat16 tensors (Note [bfloat16] in pydl/_dtypes.py): storage, conversions, promotion,
every op of the op table computed in float32 and rounded once, in-place kernels, mixed
calls, training, files and PyTorch weights. (tests/test_bf16.py tests the bf16 products
under autocast; tests/test_distributed.py the collectives on bfloat16.)"""

import numpy as np
import pytest
from helpers import run_row
from op_table import ROWS

import pydl
import pydl.nn.functional as F
from pydl import _core, nn, optim, reference
from pydl.reference._bf16 import in_float32

BF16 = pydl.bfloat16


def bf16(x):
    return np.asarray(x, np.float32).astype(BF16)


# ----- every op ------------------------------------------------------------------------

# Rows whose bfloat16 result is far from float64's for a reason PyTorch shares.
BF16_SKIPS = {
    # sigmoid's backward uses its output: sigmoid(±8) rounds to 1 and 0 in bfloat16, whose
    # y (1 - y) is 0 where the exact gradient is 3e-4 (PyTorch's bfloat16 sigmoid does the same)
    "sigmoid_large": "saturated outputs round to 0 and 1",
}


def _normwise_error(got, want):
    got, want = got.astype(np.float64), want.astype(np.float64)
    if not want.size:
        return 0.0
    return float(np.linalg.norm((got - want).ravel()) / max(np.linalg.norm(want.ravel()), 1e-3))


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_every_op_table_row_runs_in_bfloat16(row):
    """Forward and backward of every op on bfloat16 tensors: the output and the gradients are
    bfloat16, within 5% (normwise; bfloat16 keeps 8 bits) of float64 on the same inputs.
    Garbage (a kernel reading bfloat16 bits as another dtype, a result never rounded back,
    a lost in-place write) is far outside that."""
    if row.id in BF16_SKIPS:
        pytest.skip(BF16_SKIPS[row.id])
    arrays = [bf16(a).astype(np.float64) for a in row.sample(np.random.default_rng(0))]
    out_b, grads_b = run_row(row, arrays, "core", BF16)
    out_r, grads_r = run_row(row, arrays, "reference", np.float64)
    assert out_b.dtype == (BF16 if out_r.dtype == np.float64 else out_r.dtype)
    assert _normwise_error(out_b, out_r) < 5e-2
    for i, (gb, gr) in enumerate(zip(grads_b, grads_r)):
        if i in row.nondiff or gr is None:
            continue
        assert gb.dtype == BF16, f"grad {i}"
        assert _normwise_error(gb, gr) < 5e-2, f"grad {i}"


# ----- computed in float32, rounded once -----------------------------------------------


def test_elementwise_ops_round_the_float32_result_once(rng):
    a, b = bf16(rng.standard_normal(1000)), bf16(rng.standard_normal(1000))
    x, y = pydl.tensor(a), pydl.tensor(b)
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    for got, want in [(x + y, a32 + b32), (x * y, a32 * b32), (x / y, a32 / b32),
                      (x.exp(), np.exp(a32)), (x.tanh(), np.tanh(a32))]:  # fmt: skip
        assert got.dtype == BF16
        np.testing.assert_array_equal(got.numpy(), want.astype(BF16))


def test_products_and_sums_accumulate_in_float32(rng):
    """A product of bfloat16 matrices is summed in float32 and rounded once, as PyTorch's;
    so is a sum: 1 + 255 * 2^-8 summed in bfloat16 would stall at 1 (1 + 2^-8 ties to 1)."""
    a, b = bf16(rng.standard_normal((9, 300))), bf16(rng.standard_normal((300, 7)))
    got = pydl.tensor(a) @ pydl.tensor(b)
    want = reference.matmul_forward.__wrapped__(a.astype(np.float32), b.astype(np.float32))
    assert got.dtype == BF16
    np.testing.assert_array_equal(got.numpy(), want.astype(BF16))
    x = pydl.tensor(np.concatenate([[1.0], np.full(255, 2.0**-8)]).astype(BF16))
    assert x.sum().item() == 2.0 and x.sum().dtype == BF16


def test_in_float32_writes_back_what_the_kernel_wrote_in_place():
    def axpy_(y, x, alpha):  # writes y, returns it
        y += alpha * x
        return y

    wrapped = in_float32(axpy_)
    y, x = bf16([1.0, 2.0, 3.0]), bf16([0.5, 0.25, 1.0])
    out = wrapped(y, x, 2.0)
    assert out is y  # the copy the kernel returned is the caller's array again
    np.testing.assert_array_equal(y.astype(np.float32), [2.0, 2.5, 5.0])
    # two views of one array: the unwritten one's stale copy must not undo the write
    z = bf16([1.0, 2.0])
    wrapped(z[:], z, 1.0)
    np.testing.assert_array_equal(z.astype(np.float32), [2.0, 4.0])
    # lists of arrays (the optimizers' parameter lists) and results in tuples
    ys = [bf16([1.0]), bf16([2.0])]
    res = in_float32(lambda ps: (ps[0] * 3, [p.__iadd__(1) for p in ps]))(ys)
    assert res[0].dtype == BF16 and res[0][0] == 3.0 and res[1][1] is ys[1]
    np.testing.assert_array_equal(np.concatenate(ys).astype(np.float32), [2.0, 3.0])
    # a call without bfloat16 is fn's own
    f64 = np.ones(2)
    assert wrapped(f64, f64, 1.0) is f64


def test_in_place_ops_and_optimizer_steps_round_into_the_tensor(rng):
    p = nn.Parameter(pydl.tensor(bf16(rng.standard_normal(64))))
    p.grad = pydl.tensor(bf16(rng.standard_normal(64)))
    before, g = p.numpy().astype(np.float32), p.grad.numpy().astype(np.float32)
    optim.SGD([p], lr=0.1).step()
    assert p.dtype == BF16
    np.testing.assert_array_equal(p.numpy(), (before - np.float32(0.1) * g).astype(BF16))
    x = pydl.tensor(bf16([1.0, 2.0]))
    x.mul_(3).add_(x)
    np.testing.assert_array_equal(x.numpy().astype(np.float32), [6.0, 12.0])


def test_the_reference_backend_computes_bfloat16_in_float32(rng):
    """On the reference backend too: softmax of bfloat16 is the float32 softmax rounded once
    (to within one bfloat16 step: the two float32 softmaxes may differ in the last bit)."""
    a = bf16(rng.standard_normal((5, 6)))
    pydl.set_backend("reference")
    y = F.softmax(pydl.tensor(a), dim=1)
    assert y.dtype == BF16
    e = np.exp(a.astype(np.float32) - a.astype(np.float32).max(1, keepdims=True))
    want = (e / e.sum(1, keepdims=True)).astype(BF16).astype(np.float32)
    np.testing.assert_allclose(y.numpy().astype(np.float32), want, rtol=2**-8, atol=0)


def test_mixed_calls_keep_float32_precision(rng):
    """bfloat16 activations through a float32 LayerNorm (the usual recipe: norms in fp32),
    as PyTorch's mixed norms: the output and the input's gradient are bfloat16, the float32
    parameters' gradients keep float32 precision."""
    ln = nn.LayerNorm(64)
    x = pydl.tensor(bf16(rng.standard_normal((16, 64))), requires_grad=True)
    y = ln(x)
    (y.float() * pydl.tensor(rng.standard_normal((16, 64)).astype(np.float32))).sum().backward()
    assert y.dtype == BF16 and x.grad.dtype == BF16
    assert ln.weight.grad.dtype == np.float32
    g = ln.weight.grad.numpy()
    assert not np.array_equal(g, g.astype(BF16).astype(np.float32))  # not rounded to bf16
    # each result takes the dtype of the first argument of its shape
    a, w = in_float32(lambda a, w: (a * 2, w / 3))(bf16([1.0, 2.0, 3.0]), np.ones(2, np.float32))
    assert a.dtype == BF16 and w.dtype == np.float32 and w[0] == np.float32(1) / 3


def test_a_negative_zero_written_in_place_is_kept():
    z = bf16([0.0, 1.0])
    in_float32(lambda x: np.negative(x, out=x))(z)
    assert np.signbit(z.astype(np.float32)).tolist() == [True, True]


# ----- the dtype -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [lambda: pydl.zeros(3, dtype=BF16), lambda: pydl.ones(2, 3, dtype=BF16),
     lambda: pydl.full((2,), 1.5, dtype=BF16), lambda: pydl.randn(4, dtype=BF16),
     lambda: pydl.rand(4, dtype=BF16), lambda: pydl.arange(0, 3, 0.5, dtype=BF16),
     lambda: pydl.linspace(0, 1, 5, dtype=BF16), lambda: pydl.eye(3, dtype=BF16),
     lambda: pydl.empty(2, dtype=BF16), lambda: pydl.tensor([1.0, 2.5], dtype=BF16),
     lambda: pydl.randn(3).bfloat16(), lambda: pydl.arange(4).to(BF16),
     lambda: pydl.zeros_like(pydl.zeros(2), dtype=BF16),
     lambda: pydl.tensor(np.ones(2, BF16)), lambda: pydl.from_numpy(np.ones(2, BF16))],
)  # fmt: skip
def test_factories_and_conversions_make_bfloat16(make):
    t = make()
    assert t.dtype == BF16 and t.is_floating_point() and t.element_size() == 2


def test_conversions_and_values():
    t = pydl.tensor([1.0, 1.00390625, 3.1415926], dtype=BF16)  # 1 + 2^-8 ties to even: 1
    assert t.tolist() == [1.0, 1.0, 3.140625] and isinstance(t[2].item(), float)
    assert t.float().dtype == np.float32 and t.double().dtype == np.float64
    assert t.long().tolist() == [1, 1, 3]
    assert pydl.zeros(2).type_as(t).dtype == BF16
    assert "bfloat16" in repr(t)
    t.requires_grad_()
    (t.float() * 2).sum().backward()  # the cast's gradient comes back as bfloat16
    assert t.grad.dtype == BF16 and t.grad.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize(
    "a, b, want",
    [("bf16", "f32", np.float32), ("bf16", "f64", np.float64), ("bf16", "i64", BF16),
     ("bf16", "bool", BF16), ("bf16", "py_float", BF16), ("bf16", "py_int", BF16),
     ("i64", "bf16_0d", BF16), ("bf16", "f64_0d", BF16), ("f32", "bf16_0d", np.float32)],
)  # fmt: skip
def test_promotion(a, b, want, torch):
    """PyTorch's rules, and its results: bfloat16 is a floating dtype between the integers
    and float32."""
    ours = {"bf16": pydl.ones(2, dtype=BF16), "f32": pydl.ones(2), "f64": pydl.ones(2).double(),
            "i64": pydl.ones(2).long(), "bool": pydl.ones(2).bool(), "py_float": 0.5,
            "py_int": 2, "bf16_0d": pydl.tensor(1.0, dtype=BF16),
            "f64_0d": pydl.tensor(1.0).double()}  # fmt: skip
    theirs = {"bf16": torch.ones(2, dtype=torch.bfloat16), "f32": torch.ones(2),
              "f64": torch.ones(2).double(), "i64": torch.ones(2).long(),
              "bool": torch.ones(2).bool(), "py_float": 0.5, "py_int": 2,
              "bf16_0d": torch.tensor(1.0, dtype=torch.bfloat16),
              "f64_0d": torch.tensor(1.0).double()}  # fmt: skip
    assert (ours[a] + ours[b]).dtype == want
    name = "bfloat16" if want == BF16 else np.dtype(want).name
    assert str((theirs[a] + theirs[b]).dtype) == f"torch.{name}"


def test_errors_name_the_dtype():
    with pytest.raises(TypeError, match="float16 is not supported"):
        pydl.zeros(2, dtype=np.float16)
    with pytest.raises(TypeError, match="bfloat16"):  # the list of supported dtypes names it
        pydl.zeros(2, dtype=np.complex64)
    with pytest.raises(RuntimeError, match="floating-point"):
        pydl.ones(2, dtype=pydl.int64).requires_grad_()


# ----- models, files, PyTorch ----------------------------------------------------------


def test_a_bfloat16_model_matches_pytorch_in_bfloat16(torch):
    """The same MLP and batch in bfloat16 on both sides: outputs and gradients within
    bfloat16's precision of PyTorch's."""
    pydl.manual_seed(0)
    ours = nn.Sequential(nn.Linear(20, 32), nn.GELU(), nn.LayerNorm(32), nn.Linear(32, 5))
    theirs = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.GELU(),
                                 torch.nn.LayerNorm(32), torch.nn.Linear(32, 5))  # fmt: skip
    theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in ours.state_dict().items()})
    ours.bfloat16()
    theirs.bfloat16()
    x = np.random.default_rng(0).standard_normal((16, 20)).astype(np.float32)
    y = np.arange(16) % 5
    loss = F.cross_entropy(ours(pydl.tensor(bf16(x))), pydl.tensor(y))
    loss_t = torch.nn.functional.cross_entropy(theirs(torch.tensor(x).bfloat16()), torch.tensor(y))
    assert loss.dtype == BF16
    loss.backward()
    loss_t.backward()
    assert abs(loss.item() - loss_t.item()) < 2e-2 * abs(loss_t.item())
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert p.grad.dtype == BF16
        want = q.grad.float().numpy()
        assert _normwise_error(p.grad.numpy(), want) < 3e-2, name


def test_a_bfloat16_model_trains():
    pydl.manual_seed(0)
    rng = np.random.default_rng(0)
    x = pydl.tensor(bf16(rng.standard_normal((64, 8))))
    y = pydl.tensor((x.float().numpy().sum(1) > 0).astype(np.int64))
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)).bfloat16()
    opt = optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(p.dtype == BF16 for p in model.parameters())
    assert all(s.dtype == BF16 for st in opt.state.values() for s in st.values()
               if isinstance(s, pydl.Tensor) and s.ndim)  # fmt: skip
    assert losses[-1] < 0.3 * losses[0]


def test_autocast_over_bfloat16_tensors(rng):
    """Autocast's bf16 products of operands that are bfloat16 already: rounding them again
    changes nothing, so the result is the plain bfloat16 op's."""
    x, w = bf16(rng.standard_normal((8, 40))), bf16(rng.standard_normal((6, 40)))
    with pydl.autocast("cpu", dtype=BF16):
        y = F.linear(pydl.tensor(x), pydl.tensor(w))
    assert y.dtype == BF16
    np.testing.assert_array_equal(y.numpy(), F.linear(pydl.tensor(x), pydl.tensor(w)).numpy())


@pytest.mark.parametrize("mmap", [False, True])
def test_save_and_load_keep_bfloat16_bits(tmp_path, mmap):
    pytest.importorskip("safetensors")
    t = pydl.tensor(bf16(np.random.default_rng(0).standard_normal((3, 5))))
    pydl.save({"t": t, "n": 3}, tmp_path / "c.pt")
    back = pydl.load(tmp_path / "c.pt", mmap=mmap)
    assert back["t"].dtype == BF16 and back["n"] == 3
    np.testing.assert_array_equal(back["t"].numpy().view(np.uint16), t.numpy().view(np.uint16))


def test_pytorch_bfloat16_weights_load_both_ways(tmp_path, torch):
    pytest.importorskip("safetensors")
    from safetensors.torch import load_file, save_file

    theirs = torch.nn.Linear(4, 3).bfloat16()
    ours = nn.Linear(4, 3).bfloat16()
    ours.load_state_dict(theirs.state_dict())  # from PyTorch's tensors
    np.testing.assert_array_equal(
        ours.weight.numpy().view(np.int16), theirs.weight.detach().view(torch.int16).numpy()
    )
    save_file(dict(theirs.state_dict()), str(tmp_path / "t.safetensors"))
    assert pydl.load(tmp_path / "t.safetensors")["bias"].dtype == BF16
    pydl.save(ours.state_dict(), tmp_path / "o.pt")  # and to PyTorch's safetensors loader
    loaded = load_file(str(tmp_path / "o.pt"))
    assert loaded["weight"].dtype == torch.bfloat16
    assert torch.equal(loaded["weight"], theirs.weight.detach())


def test_core_kernels_pass_bfloat16_to_the_reference(monkeypatch):
    """The core has no bfloat16 kernels: its binding calls the reference twin, whose wrapper
    computes in float32."""
    seen = []
    twin = reference.relu_forward
    monkeypatch.setattr(reference, "relu_forward", lambda x: seen.append(x.dtype) or twin(x))
    y = _core.relu_forward(bf16([1.0, -2.0]))
    assert seen == [BF16] and y.dtype == BF16 and y.tolist() == [1.0, 0.0]
