"""pydl/_peers.py, the runtimes `pydl bench --peers` and benchmarks/peers.py time beside
pydl: PyTorch eager, torch.compile and JAX (jit + optax). Every peer is optional, so each
test skips where its package is absent; a peer that is absent is left out with a note."""

import math
import sys

import pytest

from pydl import _peers, _workloads
from pydl.cli import main


def test_unknown_runtime_or_workload_is_a_value_error():
    with pytest.raises(ValueError, match="unknown runtime 'tensorflow'.*torch_compile"):
        _peers.build_peer("tensorflow", "mlp128")
    with pytest.raises(ValueError, match="unknown runtime 'pydl'"):  # pydl is no peer
        _peers.build_peer("pydl", "mlp128")
    with pytest.raises(ValueError, match="unknown workload 'resnet'.*mlp128"):
        _peers.build_peer("jax", "resnet")
    with pytest.raises(ValueError, match="unknown workload 'resnet'"):
        _peers.build("pydl", "resnet")


def test_compiled_needs_torch():
    with pytest.raises(ValueError, match="compiled=True needs torch"):
        _workloads.mlp(8, "sgd", compiled=True)


@pytest.mark.parametrize("runtime, module, label", [
    ("jax", "jax", "JAX not installed"),
    ("jax", "optax", "(optax not installed)"),
    ("torch", "torch", "PyTorch not installed"),
    ("torch_compile", "torch", "torch.compile: PyTorch not installed"),
])  # fmt: skip
def test_a_peer_without_its_package_is_unavailable(runtime, module, label, monkeypatch):
    if module == "optax":  # jax must be there for optax to be the one missing
        pytest.importorskip("jax")
    monkeypatch.setitem(sys.modules, module, None)  # `import module` raises ImportError
    assert _peers.unavailable(runtime) == f"{module} is not installed"
    assert _peers.build_peer(runtime, "mlp128") is None
    assert label in _peers.version(runtime)


def test_jax_mlp_step_lowers_its_loss():
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    step = _peers.build_peer("jax", "mlp128")
    assert step is not None, _peers.unavailable("jax", "mlp128")
    losses = [float(step()) for _ in range(5)]
    assert abs(losses[0] - math.log(10)) < 0.3, losses  # ten classes, near-uniform at first
    assert all(b < a for a, b in zip(losses, losses[1:])), losses


@pytest.mark.parametrize(
    "runtime, modules", [("jax", ["jax", "optax"]), ("torch_compile", ["torch"])]
)
def test_jax_and_torch_compile_cover_five_workloads(runtime, modules):
    for module in modules:
        pytest.importorskip(module)
    assert _peers.build_peer(runtime, "mlp8") is None
    assert _peers.unavailable(runtime, "mlp8") == "covers only mlp128, cnn, lstm, gru, gpt"


def test_torch_compile_leaves_out_what_it_would_run_eagerly():
    pytest.importorskip("torch")
    # Dynamo does not trace nn.LSTM: a graph break, the whole model eager
    assert _peers.build_peer("torch_compile", "lstm") is None
    assert "LSTM" in _peers.unavailable("torch_compile", "lstm")


@pytest.mark.slow  # Inductor's first compile of a model takes 15-20 s on 2 cores
def test_torch_compile_mlp_step_runs():
    pytest.importorskip("torch")
    step = _peers.build_peer("torch_compile", "mlp128")
    if step is None:
        why = _peers.unavailable("torch_compile", "mlp128")
        pytest.skip(f"torch.compile cannot compile here: {why}")
    from torch._dynamo.utils import counters

    graphs = counters["stats"]["unique_graphs"]
    assert graphs >= 1  # compiled in build_peer
    step()
    assert counters["stats"]["unique_graphs"] == graphs  # a timed step does not compile


@pytest.mark.slow  # each compiles in 3-8 s, the GPT's steps take 0.2 s
@pytest.mark.parametrize("workload", ["cnn", "lstm", "gru", "gpt"])
def test_jax_steps_lower_their_loss(workload):
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    step = _peers.build_peer("jax", workload)
    assert step is not None, _peers.unavailable("jax", workload)
    losses = [float(step()) for _ in range(3)]
    assert all(b < a for a, b in zip(losses, losses[1:])), losses


def _row(out: str, name: str) -> list[str]:
    return next(line for line in out.splitlines() if line.startswith(name)).split()


def test_bench_prints_a_jax_column(capsys):
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    assert main(["bench", "mlp128", "--peers", "jax", "--rounds", "2"]) == 0
    out = capsys.readouterr().out
    assert "JAX " in out and "(optax " in out
    assert _row(out, "workload") == ["workload", "pydl", "jax", "pydl/jax"]
    pydl_ms, jax_ms, ratio = map(float, _row(out, "mlp128")[1:4])
    assert pydl_ms > 0 and jax_ms > 0 and ratio > 0


def test_bench_leaves_out_a_peer_not_installed(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)
    assert main(["bench", "mlp8", "--peers", "jax", "--rounds", "1", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "JAX not installed" in out and "pydl/" not in out
    assert float(_row(out, "mlp8")[1]) > 0


def test_bench_notes_a_workload_a_peer_lacks(capsys):
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    assert main(["bench", "mlp8", "--peers", "torch,jax", "--rounds", "1", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    if "PyTorch not installed" in out:
        pytest.skip("PyTorch is not installed")
    assert _row(out, "workload")[-1] == "pydl/fastest"
    row = _row(out, "mlp8")
    assert row[3] == "-" and row[5] == "torch", row  # pydl torch jax ratio fastest
    assert "jax not timed on mlp8: covers only mlp128, cnn, lstm, gru, gpt" in out


def test_bench_unknown_peer_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "mlp8", "--peers", "torch,tensorflow"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "argument --peers: unknown ['tensorflow']" in err and "Traceback" not in err
