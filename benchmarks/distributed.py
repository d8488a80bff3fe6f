"""Data-parallel step times on one machine: N ranks x T/N threads (pydl.distributed) against
one process x T threads, for the standard workloads (pydl/_workloads.py).

    python benchmarks/distributed.py mlp128 cnn gpt            # the 1-process runs
    mpiexec -n 2 python benchmarks/distributed.py mlp128 cnn gpt   # 2 ranks

Under mpiexec each rank trains on its 1/N share of the workload's batch through
DistributedDataParallel. Printed per workload (rank 0): the median step, the median time
a step waits for its gradient all-reduces after backward (the part not overlapped; the
least and the most over the ranks: the first rank done also waits for the others), the
time a blocking all-reduce of the same bytes takes alone, and the bytes reduced per step.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import pydl
import pydl._workloads as workloads
import pydl.distributed as dist
from pydl.nn.parallel import DistributedDataParallel


class _TimedDDP(DistributedDataParallel):
    """DDP that records how long each step waits for its all-reduces after backward."""

    waits: list = []
    last: DistributedDataParallel | None = None  # the newest, whose parameters are reduced

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        _TimedDDP.last = self

    def _finish(self) -> None:
        t0 = time.perf_counter()
        super()._finish()
        _TimedDDP.waits.append(time.perf_counter() - t0)


def _share(a):  # noqa: ANN001, ANN202
    """This rank's rows of a batch (a Tensor or an array)."""
    n, r, k = len(a), dist.get_rank(), dist.get_world_size()
    return a[n * r // k : n * (r + 1) // k]


_plain_training_step = workloads.training_step


def _distributed_training_step(model, opt, loss_fn, x, y):  # noqa: ANN001, ANN202
    """workloads.training_step for one rank: DDP around the model, the rank's share of the
    batch."""
    return _plain_training_step(_TimedDDP(model), opt, loss_fn, _share(x), _share(y))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workloads", nargs="+")
    p.add_argument("--steps", type=int, default=20)
    args = p.parse_args()
    dist.init()
    ranks = dist.get_world_size()
    threads = max(1, pydl.get_num_threads() // dist.get_local_world_size())
    pydl.set_num_threads(threads)
    if ranks > 1:  # the workloads build their steps through this function
        workloads.training_step = _distributed_training_step
    for name in args.workloads:
        step = workloads.WORKLOADS[name].build()
        for _ in range(3):
            step()
        _TimedDDP.waits.clear()
        times = []
        for _ in range(args.steps):
            dist.barrier()
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        line = (
            f"{name:8s} {ranks} rank(s) x {threads} thread(s): "
            f"step {statistics.median(times) * 1e3:8.2f} ms"
        )
        if ranks > 1:
            nbytes = sum(b.buffer.nbytes for b in _TimedDDP.last._buckets)
            buf = np.zeros(nbytes // 4, np.float32)
            comm = dist._require("bench").comm
            alone = []
            for _ in range(args.steps):
                dist.barrier()
                t0 = time.perf_counter()
                comm.Allreduce(dist._require("bench").mpi.IN_PLACE, buf)
                alone.append(time.perf_counter() - t0)
            # The rank that ends backward last waits for the communication alone; the first
            # also for the other ranks to catch up.
            waits = comm.allgather(statistics.median(_TimedDDP.waits))
            line += (
                f" | waits after backward {min(waits) * 1e3:6.2f}-{max(waits) * 1e3:.2f} ms"
                f" | all-reduce alone {statistics.median(alone) * 1e3:6.2f} ms"
                f" for {nbytes / 2**20:.2f} MB"
            )
        if dist.get_rank() == 0:
            print(line, flush=True)


if __name__ == "__main__":
    main()
