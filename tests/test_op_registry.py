"""What the op declarations promise (Note [Declaring an op] in pydl/_ops/registry.py): both
backends have every declared kernel with one signature, every kernel belongs to an op, the
op table exercises every kernel forward and backward, and the declared names are where
they say they are."""

import inspect
import re
from pathlib import Path

import numpy as np
import pytest
from op_table import ROWS

import pydl
import pydl.functional as F
import pydl.nn.functional as NF
from pydl import _core, backend, nn, reference
from pydl._ops import OPS

DECLARED_KERNELS = sorted({stem for d in OPS.values() for stem in d.kernels})
# Kernels with a forward only: comparisons and logical ops are not differentiable, and
# contiguous's backward passes the gradient through without a kernel.
FORWARD_ONLY = {"compare", "logical", "logical_not", "contiguous"}
# ... and the predicates and bitwise ops (bool and integer results), and floor division,
# whose gradient is zero (recorded without a kernel).
FORWARD_ONLY |= {"classify", "bitwise", "bitwise_not", "floor_divide", "div_trunc"}
# The modules whose op has arguments without a default: the arguments to build one with.
MODULE_ARGS = {"Threshold": (0.5, -1.0)}
# Backend functions that are not ops' kernels: optimizer steps, the RBM's contrastive
# divergence (an update, like them) and random fills (the optimizers, models.RBM and
# pydl._random call them) and the compiled runtime's own functions.
NOT_OP_KERNELS = re.compile(r".*_step$|.*_fill$|philox_word$|rbm_cd$")
CORE_ONLY = {"build_info", "cached_bytes", "empty_cache", "get_num_threads", "set_num_threads"}
CORE_ONLY |= {"set_thread_override"}  # pydl.threads(n): the calling thread's own count
CORE_ONLY |= {"fma_peak_loop", "gemm_kernel", "gemm_set_kernel", "sgemm", "CoreTypeError"}
# benchmarks of the CPU itself
CORE_ONLY |= {"fma512_peak_loop", "bf16_dot_peak_loop", "amx_peak_loop"}
# the bf16 GEMM, its kernel choice and its rounding (reference: pydl/reference/_bf16.py)
CORE_ONLY |= {"sbgemm", "bf16_gemm_kernel", "bf16_gemm_set_kernel", "floats_to_bf16"}
# pydl.compile's replay loop (Note [Native replay]); the reference backend replays through it
CORE_ONLY |= {"Replay"}


def _public(module) -> set[str]:
    return {n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))}


def _pybind_params(fn) -> list[tuple[str, bool]]:
    """(name, has_default) per parameter, from a pybind11 function's signature line."""
    line = fn.__doc__.strip().splitlines()[0]
    inner = line[line.index("(") + 1 : line.rindex(") ->")]
    params, depth, start = [], 0, 0
    for i, ch in enumerate(inner + ","):
        depth += ch in "[(" and 1 or (ch in "])" and -1 or 0)
        if ch == "," and depth == 0:
            part = inner[start:i].strip()
            if part:
                params.append((part.split(":")[0].strip(), "=" in part))
            start = i + 1
    return params


def _reference_params(fn) -> list[tuple[str, bool]]:
    return [
        (p.name, p.default is not inspect.Parameter.empty)
        for p in inspect.signature(fn).parameters.values()
    ]


def _kernel_functions() -> list[str]:
    return [
        f"{stem}_{side}"
        for stem in DECLARED_KERNELS
        for side in ("forward", "backward")
        if side == "forward" or stem not in FORWARD_ONLY
    ]


def test_forward_only_kernels_have_no_backward():
    assert FORWARD_ONLY <= set(DECLARED_KERNELS)
    for stem in FORWARD_ONLY:
        for module in (_core, reference):
            assert not hasattr(module, f"{stem}_backward"), (module.__name__, stem)


@pytest.mark.parametrize("name", _kernel_functions())
def test_declared_kernel_has_one_signature_in_both_backends(name):
    assert hasattr(_core, name), f"pydl._core lacks {name}"
    assert hasattr(reference, name), f"pydl.reference lacks {name}"
    core, ref = _pybind_params(getattr(_core, name)), _reference_params(getattr(reference, name))
    assert len(core) == len(ref), f"{name}: _core takes {core}, reference takes {ref}"
    for (cn, cd), (rn, rd) in zip(core, ref):
        # pybind11 shows argN for an argument the binding gave no py::arg: name every one.
        assert not re.fullmatch(r"arg\d+", cn), f"{name}: _core leaves argument {cn} unnamed"
        assert cd == rd, f"{name}: defaults differ: _core {core}, reference {ref}"
        assert cn == rn, f"{name}: argument names differ: _core {core}, reference {ref}"


def test_every_kernel_belongs_to_a_declared_op():
    kernels = set(_kernel_functions())
    for module in (_core, reference):
        orphans = {
            n for n in _public(module) if n.endswith(("_forward", "_backward")) and n not in kernels
        }
        assert not orphans, f"{module.__name__} has kernels no op declares: {sorted(orphans)}"


def test_backends_share_the_non_op_functions():
    core = {n for n in _public(_core) if NOT_OP_KERNELS.match(n)}
    ref = {n for n in _public(reference) if NOT_OP_KERNELS.match(n)}
    assert core == ref
    for name in core:
        core_params = _pybind_params(getattr(_core, name))
        ref_params = _reference_params(getattr(reference, name))
        assert core_params == ref_params, (
            f"{name}: _core takes {core_params}, reference takes {ref_params}"
        )
    unexplained = _public(_core) - set(_kernel_functions()) - core - CORE_ONLY
    assert not unexplained, f"pydl._core functions of no known kind: {sorted(unexplained)}"


def test_op_table_runs_every_declared_kernel_forward_and_backward(monkeypatch):
    called = set()

    class Recorder:
        def __getattr__(self, name):
            called.add(name)
            return getattr(reference, name)

    monkeypatch.setattr(backend, "active", Recorder())
    rng = np.random.default_rng(0)
    for row in ROWS:
        ts = [
            pydl.tensor(a, requires_grad=i not in row.nondiff)
            for i, a in enumerate(row.sample(rng))
        ]
        out = row.fn(*ts)
        out.backward(np.ones(out.shape))
    missing = sorted(set(_kernel_functions()) - called)
    assert not missing, f"no op-table row runs {missing}: add a row to tests/op_table.py"


def test_declared_names_are_exported_where_declared():
    for d in OPS.values():
        for name in d.names:
            assert getattr(F, name) is d.fn and getattr(NF, name) is d.fn, name
            assert (getattr(pydl, name, None) is d.fn) == d.toplevel, name
            assert (getattr(pydl.Tensor, name, None) is d.fn) == (name in d.method_names), name
        for name in d.method_names:
            assert getattr(pydl.Tensor, name) is d.fn, name
        if d.module:
            module = getattr(nn, d.module)(*MODULE_ARGS.get(d.module, ()))
            x = pydl.ones(2, 4) if d.module == "GLU" else pydl.ones(2, 3)
            assert module.forward(x).shape[0] == 2, d.module
        families = {p.stem for p in Path(pydl.__file__).parent.joinpath("_ops").glob("*.py")}
        assert d.family in families - {"__init__", "_util", "registry", "derivatives"}, d.family
    assert set(F.__all__) == {n for d in OPS.values() for n in d.names}


def test_declared_epilogues_are_the_core_gemm_fusable_activations():
    """Python's fusable set (ops declared with `epilogue=`) is the C++ list's (its fusable
    rows): each declared one runs in linear_act_forward, every other unary op is refused."""
    x, w = np.ones((2, 3), np.float32), np.ones((4, 3), np.float32)
    fusable = {d.epilogue for d in OPS.values() if d.epilogue}
    assert fusable == {"relu", "gelu", "tanh", "sigmoid"}
    activation_kernels = {k for d in OPS.values() if d.family == "activation" for k in d.kernels}
    assert {"hard_tanh", "hard_sigmoid", "gelu_tanh"} <= activation_kernels
    for name in sorted(activation_kernels | fusable):
        if name in fusable:
            assert _core.linear_act_forward(x, w, None, name)[0].shape == (2, 4)
        else:
            with pytest.raises(ValueError):
                _core.linear_act_forward(x, w, None, name)


def test_parameterized_elementwise_ops_keep_their_signatures():
    sig = inspect.signature(F.leaky_relu)
    assert list(sig.parameters) == ["x", "negative_slope"]
    assert sig.parameters["negative_slope"].default == 0.01
    x = pydl.tensor([-2.0, 3.0])
    assert F.leaky_relu(x, negative_slope=0.5).tolist() == [-1.0, 3.0]
    assert nn.LeakyReLU(0.25)(x).tolist() == [-0.5, 3.0]
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(x, 1.0, -1.0)


def test_declaring_an_op_twice_is_an_error(monkeypatch):
    from pydl._ops import registry

    monkeypatch.setattr(registry, "OPS", dict(registry.OPS))

    def relu(x):
        return x

    with pytest.raises(RuntimeError, match="declared twice"):
        registry.op()(relu)
