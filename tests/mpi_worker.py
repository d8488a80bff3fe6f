"""The ranks' side of tests/test_distributed.py: `mpiexec -n N python tests/mpi_worker.py
CASE`. Each case asserts on every rank; a failing rank aborts the job (Note [Rank faults]),
so the test sees a nonzero exit and the traceback."""

from __future__ import annotations

import os
import sys

import numpy as np

import pydl
import pydl.distributed as dist
import pydl.nn.functional as F
from pydl import nn, optim
from pydl.nn.parallel import DistributedDataParallel as DDP


def collectives() -> None:
    rank, size = dist.get_rank(), dist.get_world_size()
    assert size == int(os.environ["PYDL_TEST_WORLD"]), size
    t = pydl.tensor(np.arange(6, dtype=np.float32) + rank)
    dist.all_reduce(t)
    expected = size * np.arange(6) + size * (size - 1) / 2
    np.testing.assert_array_equal(t.numpy(), expected)
    t = pydl.full((3,), float(rank + 1))
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    np.testing.assert_allclose(t.numpy(), (size + 1) / 2)
    t = pydl.tensor([rank, -rank], dtype=pydl.int64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    np.testing.assert_array_equal(t.numpy(), [size - 1, 0])
    t = pydl.full((2, 2), float(rank))
    dist.broadcast(t, src=size - 1)
    np.testing.assert_array_equal(t.numpy(), size - 1)
    parts = [pydl.zeros(2) for _ in range(size)]
    dist.all_gather(parts, pydl.full((2,), float(rank)))
    for r, p in enumerate(parts):
        np.testing.assert_array_equal(p.numpy(), r)
    # bfloat16 (MPI has none): reduced in float32 and rounded once; sent as its bits
    t = pydl.full((3,), 1.0 + 2.0**-7 * (rank + 1), dtype=pydl.bfloat16)
    dist.all_reduce(t)
    sum32 = sum(np.float32(1.0 + 2.0**-7 * (r + 1)) for r in range(size))
    assert t.dtype == pydl.bfloat16
    np.testing.assert_array_equal(t.numpy(), np.full(3, sum32, np.float32).astype(pydl.bfloat16))
    t = pydl.full((2,), float(rank) + 0.5, dtype=pydl.bfloat16)
    dist.broadcast(t, src=size - 1)
    np.testing.assert_array_equal(t.numpy().astype(np.float32), size - 0.5)
    parts = [pydl.zeros(2, dtype=pydl.bfloat16) for _ in range(size)]
    dist.all_gather(parts, pydl.full((2,), rank + 0.25, dtype=pydl.bfloat16))
    for r, p in enumerate(parts):
        np.testing.assert_array_equal(p.numpy().astype(np.float32), r + 0.25)
    dist.barrier()


def _mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3)
    )


class _LSTMHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(6, 8, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x: pydl.Tensor) -> pydl.Tensor:
        y, _ = self.lstm(x)
        return self.head(y[:, -1])


def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
        nn.Linear(4 * 5 * 5, 3),
    )  # fmt: skip


def _data(kind: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    shape = {"mlp": (n, 6), "lstm": (n, 5, 6), "cnn": (n, 2, 5, 5)}[kind]
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 3, n)


def matches_one_process(kind: str) -> None:
    """N ranks with batch B each end with the parameters of one process with batch N*B."""
    rank, size, per_rank, steps = dist.get_rank(), dist.get_world_size(), 4, 5
    make = {"mlp": _mlp, "lstm": _LSTMHead, "cnn": _cnn}[kind]
    pydl.manual_seed(100 + rank)  # different on each rank: DDP must broadcast rank 0's
    # The CNN's BatchNorm becomes SyncBatchNorm: the whole batch's statistics on every rank.
    model = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(make()), bucket_cap_mb=0.001)
    assert len(model._buckets) > 1
    pydl.manual_seed(100)
    single = make()  # rank 0's initial parameters
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt1 = optim.SGD(single.parameters(), lr=0.1, momentum=0.9)
    x, y = _data(kind, per_rank * size * steps)
    for s in range(steps):
        lo = s * per_rank * size
        mine = slice(lo + rank * per_rank, lo + (rank + 1) * per_rank)
        opt.zero_grad()
        F.cross_entropy(model(pydl.tensor(x[mine])), pydl.tensor(y[mine])).backward()
        opt.step()
        whole = slice(lo, lo + per_rank * size)
        opt1.zero_grad()
        F.cross_entropy(single(pydl.tensor(x[whole])), pydl.tensor(y[whole])).backward()
        opt1.step()
    for (name, p), q in zip(model.module.named_buffers(), single.buffers()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    for (name, p), q in zip(model.module.named_parameters(), single.parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
        copies = [pydl.zeros_like(p) for _ in range(size)]
        dist.all_gather(copies, p.detach().clone())
        for c in copies:  # every rank holds the same bits
            np.testing.assert_array_equal(c.numpy(), p.numpy(), err_msg=name)


def bfloat16_gradients() -> None:
    """DDP on a bfloat16 model: each gradient is the ranks' bfloat16 gradients summed in
    float32, divided by N and rounded once (MPI has no bfloat16)."""
    rank, size = dist.get_rank(), dist.get_world_size()
    pydl.manual_seed(5 + rank)
    model = DDP(_mlp().bfloat16(), bucket_cap_mb=0.001)  # rank 0's parameters
    single = _mlp().bfloat16()
    single.load_state_dict(model.module.state_dict())
    x, y = _data("mlp", 4 * size)
    xs = [pydl.tensor(x[r * 4 : r * 4 + 4].astype(pydl.bfloat16)) for r in range(size)]
    ys = [pydl.tensor(y[r * 4 : r * 4 + 4]) for r in range(size)]
    local = []  # every rank's own gradients, computed here without DDP
    for r in range(size):
        single.zero_grad()
        F.cross_entropy(single(xs[r]), ys[r]).backward()
        local.append([p.grad.numpy().astype(np.float32) for p in single.parameters()])
    F.cross_entropy(model(xs[rank]), ys[rank]).backward()
    for i, p in enumerate(model.module.parameters()):
        assert p.grad.dtype == pydl.bfloat16
        expected = (sum(g[i] for g in local) / np.float32(size)).astype(pydl.bfloat16)
        np.testing.assert_array_equal(p.grad.numpy(), expected)


def no_sync() -> None:
    """Two micro-batches under no_sync then one synced equal one synced pass over all."""
    rank = dist.get_rank()
    pydl.manual_seed(3)
    a, b = DDP(_mlp()), DDP(_mlp())
    b.module.load_state_dict(a.module.state_dict())
    x, y = _data("mlp", 12)
    x, y = pydl.tensor(x[rank * 6 : rank * 6 + 6]), pydl.tensor(y[rank * 6 : rank * 6 + 6])
    with a.no_sync():
        F.cross_entropy(a(x[:3]), y[:3], reduction="sum").backward()
        local = a.module[0].weight.grad.numpy().copy()
    F.cross_entropy(a(x[3:]), y[3:], reduction="sum").backward()
    F.cross_entropy(b(x), y, reduction="sum").backward()
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-5)
    copies = [pydl.zeros_like(a.module[0].weight) for _ in range(dist.get_world_size())]
    dist.all_gather(copies, pydl.tensor(local))
    assert not np.allclose(copies[0].numpy(), copies[1].numpy())  # no_sync kept them local


def unused_parameter() -> None:
    model = nn.ModuleDict({"used": nn.Linear(3, 2), "unused": nn.Linear(3, 2)})

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = model

        def forward(self, x: pydl.Tensor) -> pydl.Tensor:
            return self.body["used"](x)

    ddp = DDP(Net())
    ddp(pydl.randn(2, 3)).sum().backward()
    try:
        ddp(pydl.randn(2, 3))
    except RuntimeError as e:
        assert "received no gradient" in str(e), e
    else:
        raise AssertionError("an unused parameter was not reported")


def rank_raises() -> None:
    if dist.get_rank() == 1:
        raise ValueError("rank 1 fails on purpose")
    dist.barrier()  # the others wait here until the abort ends them


def rank_killed() -> None:
    if dist.get_rank() == 1:
        os.kill(os.getpid(), 9)
    dist.barrier()


def group_of_one() -> None:
    import gc

    from pydl.tensor import _POST_ACCUMULATE_HOOKS

    assert (dist.get_rank(), dist.get_world_size(), dist.get_local_rank()) == (0, 1, 0)
    try:
        dist.init()
    except RuntimeError as e:
        assert "already initialized" in str(e)
    else:
        raise AssertionError("a second init() was accepted")
    pydl.manual_seed(0)
    model = nn.Linear(4, 3)
    ddp = DDP(model)
    x = pydl.randn(5, 4)
    ddp(x).square().sum().backward()
    y = x.numpy() @ model.weight.detach().numpy().T + model.bias.detach().numpy()
    np.testing.assert_allclose(model.weight.grad.numpy(), 2 * y.T @ x.numpy(), rtol=1e-5)
    assert _POST_ACCUMULATE_HOOKS[id(model.weight)][1]
    del ddp
    gc.collect()
    assert not _POST_ACCUMULATE_HOOKS[id(model.weight)][1]  # the hooks left with the wrapper
    model(x).sum().backward()
    assert id(model.weight) not in _POST_ACCUMULATE_HOOKS  # and the next backward forgets it
    dist.destroy()
    dist.init_process_group("mpi", world_size=1, rank=0)  # PyTorch's spelling
    try:
        dist.destroy()
        dist.init_process_group("mpi", world_size=2)
    except ValueError as e:
        assert "world_size=2, but MPI launched 1" in str(e), e
    else:
        raise AssertionError("a wrong world_size was accepted")
    dist.init()


def trainer_rng() -> None:
    """The trainer's ranks share one random stream after every distributed step."""
    from pydl import _trainer

    config = _trainer.Config("cnn", epochs=2, batch_size=32, lr=0.05, limit=3)
    states = []
    original = _trainer._Run._distributed_step

    def step(run, x, y):  # noqa: ANN001, ANN202
        loss = original(run, x, y)
        states.append(pydl.get_rng_state().astype(np.int64))
        return loss

    _trainer._Run._distributed_step = step
    _trainer.fit(config, progress=False, distributed=True)
    assert len(states) == 6
    mine = pydl.tensor(np.stack(states))
    copies = [pydl.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(copies, mine)
    for c in copies:
        np.testing.assert_array_equal(c.numpy(), mine.numpy())


if __name__ == "__main__":
    pydl.set_num_threads(1)
    dist.init()
    case, *args = sys.argv[1:]
    globals()[case](*args)
    dist.destroy()
