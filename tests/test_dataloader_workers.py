"""DataLoader worker processes under each multiprocessing start method, after threaded
kernels ran in the parent (issue 18's fork-and-thread-limits regression tests).

A forked child inherits the parent's OpenMP state; if the parent's thread team existed at
the fork, a child that runs a parallel kernel must not wait for threads that do not exist
(Note [Fork] in cpp/core/parallel.cpp). Each start method here: the parent runs 2-thread
kernels, then iterates a DataLoader with num_workers=2 whose samples run kernels in the
workers, and the batches must equal those of num_workers=0, bit for bit (results do not
depend on the thread count). Each run is a script in a fresh interpreter under a timeout,
so a hang fails the test instead of blocking the session; the DataLoader's own timeout
bounds the wait for one batch."""

import multiprocessing
import subprocess
from pathlib import Path

import pytest
from helpers import run_script

TIMEOUT = 240  # seconds a whole script may take (spawn re-imports pydl in each worker)

_SCRIPT = """
import numpy as np
import pydl
from pydl.utils.data import DataLoader, Dataset


class Products(Dataset):
    '''Sample i runs kernels where it is fetched: a matmul and a convolution.'''

    def __len__(self):
        return 11

    def __getitem__(self, i):
        rng = np.random.default_rng(i)
        a = pydl.tensor(rng.standard_normal((96, 80)).astype(np.float32))
        b = pydl.tensor(rng.standard_normal((80, 64)).astype(np.float32))
        x = pydl.tensor(rng.standard_normal((1, 2, 12, 12)).astype(np.float32))
        w = pydl.tensor(rng.standard_normal((3, 2, 3, 3)).astype(np.float32))
        conv = pydl.nn.functional.conv2d(x, w, padding=1)
        return {
            "i": i,
            "matmul": (a @ b).numpy(),
            "conv": conv.numpy()[0],
            "threads": pydl.get_num_threads(),
        }


def batches(**kwargs):
    loader = DataLoader(Products(), batch_size=3, **kwargs)
    return [{k: v.numpy() for k, v in batch.items()} for batch in loader]


if __name__ == "__main__":
    method = "{method}"
    pydl.set_num_threads(2)
    # threaded kernels in the parent first: its OpenMP team exists when the workers start
    big = pydl.randn(384, 384)
    for _ in range(3):
        big = (big @ big).tanh()
    want = batches()  # num_workers=0, in this process, on 2 threads
    assert all((b["threads"] == 2).all() for b in want)
    got = batches(num_workers=2, multiprocessing_context=method, timeout=120)
    assert len(got) == len(want) == 4, (len(got), len(want))
    for g, w in zip(got, want):
        assert np.array_equal(g["i"], w["i"]), (g["i"], w["i"])
        assert np.array_equal(g["matmul"], w["matmul"])
        assert np.array_equal(g["conv"], w["conv"])
        assert (g["threads"] == 1).all(), g["threads"]  # one kernel thread per worker
    # and the parent's own pool still works, on its 2 threads
    assert pydl.get_num_threads() == 2
    again = batches()
    assert all(np.array_equal(a["matmul"], w["matmul"]) for a, w in zip(again, want))
    print("ok", method)
"""


def _run(tmp_path: Path, method: str) -> subprocess.CompletedProcess:
    """The script in a new interpreter (its whole process group, workers too, killed on a
    hang)."""
    code = _SCRIPT.replace("{method}", method)
    return run_script(tmp_path, code, timeout=TIMEOUT, env={"OMP_NUM_THREADS": "2"})


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_workers_after_threaded_kernels_give_the_same_batches(tmp_path, method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method on this platform")
    run = _run(tmp_path, method)
    assert run.returncode == 0 and f"ok {method}" in run.stdout, (run.stdout, run.stderr[-3000:])
