"""pydl.distributed and DistributedDataParallel: the ranks run tests/mpi_worker.py under
`mpiexec -n N` (N = 2, and 3 oversubscribed on small machines). These need mpi4py and an
MPI launcher (`pip install "pydl[mpi]"`) and skip without them, except under
PYDL_REQUIRE_MPI=1 (CI), where a missing one fails. The gradient-ready hook the averaging
rests on is tested here in one process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import pydl
import pydl.distributed as dist
from pydl import nn

WORKER = Path(__file__).with_name("mpi_worker.py")


@pytest.fixture(scope="module")
def mpiexec() -> str:
    launcher = shutil.which(
        "mpiexec",
        path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )
    if os.environ.get("PYDL_REQUIRE_MPI") == "1":
        assert dist.is_available(), "PYDL_REQUIRE_MPI=1 but mpi4py cannot be imported"
        assert launcher, "PYDL_REQUIRE_MPI=1 but there is no mpiexec"
    elif not (dist.is_available() and launcher):
        pytest.skip('needs mpi4py and mpiexec: pip install "pydl[mpi]"')
    return launcher


def run_ranks(
    launcher: str, n: int, *case: str, timeout: float = 120
) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYDL_TEST_WORLD=str(n), OMP_NUM_THREADS="1")
    return subprocess.run(
        [launcher, "-n", str(n), sys.executable, str(WORKER), *case],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def check(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.mpi
@pytest.mark.parametrize("n", [2, 3])
def test_collectives(mpiexec, n):
    check(run_ranks(mpiexec, n, "collectives"))


@pytest.mark.mpi
@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("model", ["mlp", "cnn", "lstm"])
def test_ranks_match_one_process_with_the_whole_batch(mpiexec, n, model):
    check(run_ranks(mpiexec, n, "matches_one_process", model))


@pytest.mark.mpi
@pytest.mark.parametrize("n", [2, 3])
def test_bfloat16_gradients_are_summed_in_float32(mpiexec, n):
    check(run_ranks(mpiexec, n, "bfloat16_gradients"))


@pytest.mark.mpi
def test_no_sync_accumulates_locally(mpiexec):
    check(run_ranks(mpiexec, 2, "no_sync"))


@pytest.mark.mpi
def test_unused_parameter_is_reported(mpiexec):
    check(run_ranks(mpiexec, 2, "unused_parameter"))


@pytest.mark.mpi
@pytest.mark.parametrize("case", ["rank_raises", "rank_killed"])
def test_a_failing_rank_ends_the_job(mpiexec, case):
    """The other ranks wait in a barrier the failed rank never reaches: without the abort
    (Note [Rank faults]) this would hang until the timeout."""
    start = time.monotonic()
    result = run_ranks(mpiexec, 3, case, timeout=60)
    assert result.returncode != 0
    assert time.monotonic() - start < 30
    if case == "rank_raises":
        assert "rank 1 fails on purpose" in result.stderr
        assert "rank 1 failed; aborting the job" in result.stderr


@pytest.mark.mpi
def test_a_group_of_one(mpiexec):
    """Run alone (no mpiexec), init() makes a group of one; DDP then trains as the bare
    model, and a dropped DDP takes its gradient hooks with it (mpi_worker.group_of_one)."""
    check(
        subprocess.run(
            [sys.executable, str(WORKER), "group_of_one"],
            env=dict(os.environ, PYDL_TEST_WORLD="1"),
            capture_output=True,
            text=True,
            timeout=120,
        )  # fmt: skip
    )


@pytest.mark.mpi
@pytest.mark.parametrize("n", [2, 3])
def test_trainer_ranks_keep_one_random_stream(mpiexec, n):
    """pydl train --distributed's ranks draw dropout masks for shares of unequal size and
    still agree on the shared random stream (the next epoch's shuffle) after every step."""
    check(run_ranks(mpiexec, n, "trainer_rng"))


def test_missing_mpi4py_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    assert not dist.is_available()
    with pytest.raises(ImportError, match=r'pip install "pydl\[mpi\]"'):
        dist.init()


def test_init_process_group_takes_mpi_only():
    with pytest.raises(ValueError, match="'mpi' backend only, got 'nccl'"):
        dist.init_process_group("nccl")
    with pytest.raises(TypeError, match="store"):
        dist.init_process_group("mpi", store=None)
    assert not dist.is_initialized()


def test_collectives_need_init():
    for call in (dist.get_rank, dist.get_world_size, dist.barrier):
        with pytest.raises(RuntimeError, match="not initialized"):
            call()
    with pytest.raises(RuntimeError, match="not initialized"):
        dist.all_reduce(pydl.zeros(2))
    with pytest.raises(RuntimeError, match="not initialized"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))


# ----- the gradient-ready hook (Note [Gradient-ready hooks]) -----------------------------


def test_post_accumulate_hooks_run_while_backward_goes_on():
    """Each parameter's hook runs as soon as its layer's backward has run, before the walk
    reaches the input (whose own hook runs when the walk gets there): at the end of the
    pass, they would all come after it."""
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    seen = []
    for name, p in model.named_parameters():
        p.register_post_accumulate_grad_hook(
            lambda t, name=name: seen.append((name, t.grad is not None))
        )
    x = pydl.randn(5, 3, requires_grad=True) * 1.0  # a non-leaf: its hook runs in the walk
    x.register_hook(lambda g: seen.append(("input", True)))
    model(x).sum().backward()
    assert seen == [("2.weight", True), ("2.bias", True), ("0.weight", True), ("0.bias", True),
                    ("input", True)]  # fmt: skip


def test_post_accumulate_hooks_see_the_summed_gradient():
    """A leaf used by several nodes (x * x + x) is ready once, with all contributions, after
    its register_hook hooks; a second backward accumulates and fires again."""
    x = pydl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x.register_hook(lambda g: g * 10)
    seen = []
    handle = x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    (x * x + x).sum().backward()
    np.testing.assert_allclose(seen[-1], 10 * (2 * x.numpy() + 1))
    (x * x + x).sum().backward()
    assert len(seen) == 2
    np.testing.assert_allclose(seen[-1], 20 * (2 * x.numpy() + 1))
    handle.remove()
    (x * 2).sum().backward()
    assert len(seen) == 2


def test_post_accumulate_hooks_on_other_paths():
    """Backward from the leaf itself, with inputs=, and with create_graph all fire it."""
    x = pydl.tensor([1.0, 2.0], requires_grad=True)
    count = []
    x.register_post_accumulate_grad_hook(lambda t: count.append(1))
    x.sum().backward()
    (x * 3).sum().backward(inputs=[x])
    (x * x).sum().backward(create_graph=True)
    assert len(count) == 3
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        pydl.zeros(2).register_post_accumulate_grad_hook(lambda t: None)


def test_post_accumulate_hooks_do_not_change_gradients(rng):
    """Accumulating a hooked leaf early gives the gradients of the plain walk, including a
    gradient array that the walk also hands to another node (add passes it on)."""
    a_np = rng.standard_normal((4, 3)).astype(np.float32)

    def grads(hooked: bool) -> list:
        a = pydl.tensor(a_np, requires_grad=True)
        b = pydl.tensor(a_np * 2, requires_grad=True)
        if hooked:  # writes a.grad in place while the walk goes on
            a.register_post_accumulate_grad_hook(lambda t: t.grad.mul_(2.0))
        h = a + b.tanh()  # add hands one gradient array to a and to tanh's node
        (h * h).sum().backward()
        return [a.grad.numpy(), b.grad.numpy()]

    (a_hooked, b_hooked), (a_plain, b_plain) = grads(True), grads(False)
    np.testing.assert_array_equal(a_hooked, 2 * a_plain)
    np.testing.assert_array_equal(b_hooked, b_plain)


@pytest.mark.mpi
@pytest.mark.parametrize("n", [2, 3])
def test_pydl_train_distributed_matches_one_process(mpiexec, tmp_path, n):
    """`mpiexec -n N pydl train mlp --distributed` takes the steps one process takes (the
    whole batch's loss at every step, to float32 rounding; with 3 ranks the batch of 32
    splits 10/11/11, so the shares' losses are weighted); only rank 0 prints."""
    common = ["-m", "pydl", "train", "mlp", "--epochs", "1", "--limit", "8", "--no-progress"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # From tmp_path: in the repository root `-m pydl` would import the source tree.
    one = subprocess.run(
        [sys.executable, *common, "--loss-log", str(tmp_path / "one")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    check(one)
    two = subprocess.run(
        [mpiexec, "-n", str(n), sys.executable, *common, "--distributed",
         "--loss-log", str(tmp_path / "two")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    check(two)
    assert two.stdout.count("test accuracy") == 1 and f"distributed: {n} ranks" in two.stdout

    def losses(name: str) -> list:
        rows = (tmp_path / name).read_text().split("\n")
        return [float.fromhex(r.split()[1]) for r in rows if r]

    assert len(losses("two")) == 8
    np.testing.assert_allclose(losses("two"), losses("one"), rtol=1e-5)


@pytest.mark.mpi
def test_pydl_train_distributed_refuses_a_model_with_its_own_step(mpiexec, tmp_path):
    result = subprocess.run(
        [mpiexec, "-n", "2", sys.executable, "-m", "pydl", "train", "rbm", "--distributed"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert "argument --distributed: it trains the classifiers and gpt" in result.stderr


# ----- SyncBatchNorm in one process (Note [Synchronized batch statistics]) ----------------


def test_sync_batchnorm_is_batchnorm_on_one_rank(rng, monkeypatch):
    """With the all-reduces of a one-rank group (identities), SyncBatchNorm's own path
    computes BatchNorm's output, gradients and running statistics."""
    import pydl.nn.norm as norm

    monkeypatch.setattr(norm.dist, "is_initialized", lambda: True)
    monkeypatch.setattr(norm.dist, "get_world_size", lambda: 2)  # take the synchronized path
    monkeypatch.setattr(norm.dist, "all_reduce", lambda t: None)
    x_np = rng.standard_normal((4, 3, 5, 2)).astype(np.float32) * 2 + 1
    dy = pydl.tensor(rng.standard_normal((4, 3, 5, 2)).astype(np.float32))
    outs = []
    for layer in (nn.BatchNorm2d(3), nn.SyncBatchNorm(3)):
        layer.weight.data.copy_(pydl.tensor([0.5, 2.0, -1.0]))
        layer.bias.data.copy_(pydl.tensor([0.1, 0.0, 0.3]))
        x = pydl.tensor(x_np, requires_grad=True)
        (layer(x) * dy).sum().backward()
        outs.append([layer(x).detach(), x.grad, layer.weight.grad, layer.bias.grad,
                     layer.running_mean, layer.running_var])  # fmt: skip
    for want, got in zip(*outs):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-5)


def test_convert_sync_batchnorm_keeps_parameters_and_buffers():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Sequential(nn.BatchNorm1d(4)))
    bn, inner = model[1], model[2][0]
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert type(converted[1]) is nn.SyncBatchNorm and type(converted[2][0]) is nn.SyncBatchNorm
    assert converted[1].weight is bn.weight and converted[1].running_mean is bn.running_mean
    assert converted[2][0].num_batches_tracked is inner.num_batches_tracked
    x = pydl.randn(3, 2, 4, 4)
    converted[1].eval(), bn.eval()
    np.testing.assert_array_equal(converted[1](x).numpy(), bn(x).numpy())  # not synced: BN
