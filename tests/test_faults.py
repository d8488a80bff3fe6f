"""Foundations that must hold under faults: errors inside parallel regions, allocation
failures, sizes that overflow int64, the thread-count argument, per-thread counts, fork,
and the buffer pool's scratch memory.

Whatever could crash or hang the interpreter runs in a subprocess, with a timeout."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F
from pydl import _core

from helpers import run_script

T = _core._testing
# ----- errors inside parallel regions (Note [Errors in regions]) -------------------------


@pytest.mark.parametrize("balanced", [False, True], ids=["parallel_for", "balanced"])
@pytest.mark.parametrize(
    "kind,error,message",
    [
        ("value", ValueError, "test error at item 5"),
        ("memory", MemoryError, "pydl: out of memory allocating 5 bytes"),
        ("bad_alloc", MemoryError, "bad_alloc"),
    ],
)
def test_exception_in_a_region_reaches_the_caller(balanced, kind, error, message):
    """A throw on one item of a 2-thread region is rethrown on the calling thread (not
    std::terminate), and the next region runs normally."""
    pydl.set_num_threads(2)
    for item in (0, 5, 15):  # the first thread's share, the middle, the last item
        before = T.parallel_regions()
        with pytest.raises(error, match=message if item == 5 else None):
            T.throw_in_region(16, item, kind, balanced)
        assert T.parallel_regions() > before  # it really ran on 2 threads
    counts, _ = T.balanced_for_each_probe(17, 0, 0.0)
    assert counts == [1] * 17


# AddressSanitizer reserves terabytes of address space for its shadow memory: an
# address-space limit cannot work under it (tools/sanitize.sh sets PYDL_SANITIZED).
NO_RLIMIT_AS = pytest.mark.skipif(
    bool(os.environ.get("PYDL_SANITIZED")), reason="RLIMIT_AS under AddressSanitizer"
)


@NO_RLIMIT_AS
@pytest.mark.parametrize("threads", [1, 2])
def test_conv_out_of_memory_is_memory_error(tmp_path, threads):
    """conv2d whose im2col workspace (4096 x 1985^2 floats a sample) is over the address
    space limit: MemoryError naming the bytes, never an abort (exit code 134)."""
    run = run_script(
        tmp_path,
        """
        import re, resource, sys
        import numpy as np
        import pydl
        import pydl.nn.functional as F

        pydl.set_num_threads(int(sys.argv[1]))
        # the thread team exists before the limit: a thread's stack is address space too
        pydl.matmul(pydl.randn(256, 256), pydl.randn(256, 256))
        x = pydl.tensor(np.ones((2, 1, 2048, 2048), np.float32))
        w = pydl.tensor(np.ones((1, 1, 64, 64), np.float32))
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (used + (3 << 29), resource.RLIM_INFINITY))
        try:
            F.conv2d(x, w)
        except MemoryError as e:
            assert re.search(r"out of memory allocating \\d+ bytes", str(e)), str(e)
            print(e)
            sys.exit(0)
        sys.exit(3)
        """,
        str(threads),
    )
    assert run.returncode == 0, (run.returncode, run.stdout, run.stderr[-3000:])
    assert "pydl: out of memory allocating" in run.stdout


@NO_RLIMIT_AS
@pytest.mark.parametrize("threads", [1, 2])
def test_big_allocations_under_an_address_space_limit(tmp_path, threads):
    """Each kernel with an allocation (an output, a workspace, a gradient) of 128 MiB or
    more, under a limit 64 MiB above what the process maps: MemoryError naming the bytes,
    never an abort. (test_oom.py fails every allocation of every op in turn, with the test
    hook.)"""
    run = run_script(
        tmp_path,
        """
        import re, resource, sys
        import numpy as np
        import pydl
        import pydl.nn.functional as F

        pydl.set_num_threads(int(sys.argv[1]))
        pydl.matmul(pydl.randn(256, 256), pydl.randn(256, 256))  # the thread team exists
        N = 8192

        def ones(*shape, grad=False):
            return pydl.tensor(np.ones(shape, np.float32), requires_grad=grad)

        def reduction_backward():
            x = ones(4096, 8192, grad=True)  # 128 MiB; its gradient as much again
            y = x.sum(1)
            return lambda: y.backward(pydl.ones(4096))

        lstm = pydl.nn.LSTM(1, 512)
        cases = {  # name: () -> the call to run under the limit
            "matmul": lambda: (lambda a, b: lambda: pydl.matmul(a, b))(ones(N, 1), ones(1, N)),
            "linear": lambda: (lambda x, w: lambda: F.linear(x, w))(ones(N, 1), ones(N, 1)),
            "attention": lambda: (
                lambda q, k, v: lambda: F.scaled_dot_product_attention(q, k, v)
            )(ones(1, 1, N, 1), ones(1, 1, 1, 1), ones(1, 1, 1, N)),
            "lstm": lambda: (lambda x: lambda: lstm(x))(ones(512, 64, 1)),
            "max_pool2d": lambda: (lambda x: lambda: F.max_pool2d(x, 1))(ones(1, 8, 2048, 2048)),
            "sum_backward": reduction_backward,
        }
        failed = []
        for name, make in cases.items():
            call = make()
            with open("/proc/self/statm") as f:
                used = int(f.read().split()[0]) * resource.getpagesize()
            resource.setrlimit(resource.RLIMIT_AS, (used + (64 << 20), resource.RLIM_INFINITY))
            try:
                call()
                failed.append(f"{name}: no MemoryError")
            except MemoryError as e:
                if not re.search(r"out of memory allocating \\d+ bytes", str(e)):
                    failed.append(f"{name}: {e}")
                print(name, e)
            finally:
                resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)
            call = None
            pydl.empty_cache()
        print("failed:", failed)
        sys.exit(3 if failed else 0)
        """,
        str(threads),
        timeout=300,
    )
    assert run.returncode == 0, (run.returncode, run.stdout, run.stderr[-3000:])


# ----- sizes that overflow int64 (Note [Checked sizes]) ------------------------------


def test_conv_huge_settings_raise_value_error():
    x = pydl.tensor(np.ones((1, 1, 8, 8), np.float32))
    w = pydl.tensor(np.ones((1, 1, 3, 3), np.float32))
    with pytest.raises(ValueError):
        F.conv2d(x, w, dilation=2**62)
    with pytest.raises(ValueError):
        F.conv2d(x, w, padding=2**62)
    with pytest.raises(ValueError):
        F.conv2d(x, w, stride=2**63)  # does not fit int64
    xa, wa = x.numpy(), w.numpy()
    one = (1, 1)
    cases = [  # the core's own checks, below the Python layer's
        (one, (0, 0, 0, 0), (2**62, 2**62), ValueError, "overflows int64"),  # dilated kernel
        (one, (2**62,) * 4, one, ValueError, "overflows int64"),  # padded extent
        ((2**63 - 1,) * 2, (0, 0, 0, 0), one, ValueError, "overflows int64"),  # indexing
        (one, (2**61, 2**61, 0, 0), one, ValueError, "int64"),  # output elements
        (one, (2**60,) * 4, one, ValueError, "int64"),  # output elements
        (one, (2**59, 2**59, 0, 0), one, MemoryError, r"\d+ x 4 bytes"),  # output bytes
    ]
    g = np.ones((1, 1, 6, 6), np.float32)
    for stride, padding, dilation, error, match in cases:
        with pytest.raises(error, match=match):
            _core.conv2d_forward(xa, wa, None, stride, padding, dilation, 1)
        with pytest.raises(ValueError):  # the same checks, or grad's shape against the output
            _core.conv2d_backward(g, xa, wa, stride, padding, dilation, 1, True, True, False)


def test_pool_huge_settings_raise_value_error():
    x = pydl.tensor(np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5))
    with pytest.raises(ValueError):
        F.max_pool2d(x, 3, dilation=2**62)
    with pytest.raises(ValueError):
        F.max_pool2d(x, 2, stride=2**63 - 1, ceil_mode=True)
    with pytest.raises(ValueError):
        F.avg_pool2d(x, 2, stride=2**64)
    xa = x.numpy()
    one = (1, 1)
    with pytest.raises(ValueError, match="overflows int64"):
        _core.maxpool2d_forward(xa, (3, 3), one, (0, 0), (2**62, 2**62), False)
    with pytest.raises(ValueError, match="overflows int64"):
        _core.maxpool2d_forward(xa, (2**63 - 1,) * 2, one, (2**62 - 1,) * 2, one, True)
    with pytest.raises(ValueError, match="overflows int64"):
        _core.avgpool2d_forward(xa, (2, 2), (2**63 - 1,) * 2, (1, 1), True, True)
    with pytest.raises(ValueError, match="int64"):  # (1, 1, 2^40, 2^40) elements
        _core.adaptive_avgpool2d_forward(xa, (2**40, 2**40))


def test_pool_huge_stride_gives_the_right_size():
    """A stride far past the input (but no overflow): one window, as PyTorch."""
    x = pydl.tensor(np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5))
    y = F.max_pool2d(x, 2, stride=2**62, ceil_mode=True)
    np.testing.assert_array_equal(y.numpy(), [[[[6.0]]]])


# ----- the thread-count argument (Note [Thread count]) -------------------------------


@pytest.mark.parametrize("fn", [pydl.set_num_threads, _core.set_num_threads])
def test_thread_count_is_checked(fn):
    for bad in (True, 1.5, 2.0, "2", None):
        with pytest.raises(TypeError):
            fn(bad)
    for bad in (0, -1, 1025, 100_000, 2**70):
        with pytest.raises(ValueError, match="1 <= n <= 1024"):
            fn(bad)
    fn(np.int64(2))
    assert pydl.get_num_threads() == 2
    for bad in (0, 1.5, True, 100_000):
        with pytest.raises((TypeError, ValueError)):
            with pydl.threads(bad):
                pass
    assert pydl.get_num_threads() == 2


def test_threads_blocks_nest_and_restore():
    pydl.set_num_threads(3)
    with pydl.threads(1):
        assert pydl.get_num_threads() == 1
        with pydl.threads(2):
            assert pydl.get_num_threads() == 2
        assert pydl.get_num_threads() == 1
        with pytest.raises(RuntimeError):
            with pydl.threads(4):
                raise RuntimeError
        assert pydl.get_num_threads() == 1
    assert pydl.get_num_threads() == 3


def test_threads_block_is_per_python_thread():
    """One thread's `with pydl.threads(1):` leaves another thread's kernels on the
    default 2 threads (the regions counter shows they really ran multi-threaded)."""
    pydl.set_num_threads(2)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((256, 256)).astype(np.float32)
    want = _core.matmul_forward(a, a)
    inside, other_done, seen = threading.Event(), threading.Event(), {}

    def one_thread():
        with pydl.threads(1):
            inside.set()
            other_done.wait(60)
            before = T.parallel_regions()
            seen["single"] = _core.matmul_forward(a, a)
            seen["single_regions"] = T.parallel_regions() - before
            seen["single_threads"] = pydl.get_num_threads()

    def other():
        inside.wait(60)
        seen["other_threads"] = pydl.get_num_threads()
        before = T.parallel_regions()
        seen["other"] = _core.matmul_forward(a, a)
        seen["other_regions"] = T.parallel_regions() - before
        other_done.set()

    threads = [threading.Thread(target=one_thread), threading.Thread(target=other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert seen["single_threads"] == 1 and seen["single_regions"] == 0
    assert seen["other_threads"] == 2 and seen["other_regions"] > 0
    assert pydl.get_num_threads() == 2
    np.testing.assert_array_equal(seen["single"], want)
    np.testing.assert_array_equal(seen["other"], want)


# ----- fork (Note [Fork]) -----------------------------------------------------------

_FORK_PRELUDE = """
import os, sys
import numpy as np
import pydl
from pydl import _core

def product(seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((512, 512)).astype(np.float32)
    b = rng.standard_normal((512, 512)).astype(np.float32)
    return _core.matmul_forward(a, b)

def product_sum(seed):
    return float(product(seed).astype(np.float64).sum())
"""


def test_os_fork_child_runs_kernels(tmp_path):
    run = run_script(
        tmp_path,
        _FORK_PRELUDE
        + """
pydl.set_num_threads(2)
before = _core._testing.parallel_regions()
want = product(1)
assert _core._testing.parallel_regions() > before  # the parent's team exists
pid = os.fork()
if pid == 0:
    try:
        assert pydl.get_num_threads() == 1, pydl.get_num_threads()
        with pydl.threads(2):  # still one thread until set_num_threads
            assert pydl.get_num_threads() == 1
            assert np.array_equal(product(1), want)
        pydl.set_num_threads(2)  # threads again, from a fresh libgomp pool
        assert pydl.get_num_threads() == 2
        before = _core._testing.parallel_regions()
        assert np.array_equal(product(1), want)
        assert _core._testing.parallel_regions() > before
        code = 0
    except BaseException as e:
        print("child:", repr(e), flush=True)
        code = 1
    os._exit(code)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert pydl.get_num_threads() == 2
assert np.array_equal(product(1), want)
print("ok")
""",
        timeout=90,
    )
    assert run.returncode == 0 and "ok" in run.stdout, (run.stdout, run.stderr[-3000:])


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_multiprocessing_pool_after_threaded_kernels(tmp_path, method):
    run = run_script(
        tmp_path,
        _FORK_PRELUDE
        + f"""
import multiprocessing as mp

if __name__ == "__main__":
    pydl.set_num_threads(2)
    want = [product_sum(s) for s in range(4)]  # the parent's 2-thread team exists
    with mp.get_context("{method}").Pool(2) as pool:
        got = pool.map(product_sum, range(4))
    assert got == want, (got, want)
    print("ok")
""",
        timeout=150,
    )
    assert run.returncode == 0 and "ok" in run.stdout, (run.stdout, run.stderr[-3000:])


# ----- the buffer pool holds the GEMM's and convolution's scratch (Note [GEMM scratch]) --


def test_gemm_and_conv_scratch_is_pooled_and_freed():
    pydl.set_num_threads(2)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((700, 600)).astype(np.float32)
    b = rng.standard_normal((600, 650)).astype(np.float32)
    c = np.zeros((700, 650), np.float32)
    pydl.empty_cache()
    _core.sgemm(False, False, 700, 650, 600, 1.0, a, 600, b, 650, 0.0, c, 650)  # blocked path
    packed = _core.cached_bytes()  # only the packing buffers: C is the caller's
    assert packed >= (700 + 650) * 600 * 4
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)
    x = pydl.tensor(rng.standard_normal((8, 16, 32, 32)).astype(np.float32), requires_grad=True)
    conv = pydl.nn.Conv2d(16, 32, 3, padding=1)
    conv(x).sum().backward()
    assert _core.cached_bytes() > packed
    cached = _core.cached_bytes()
    assert pydl.empty_cache() == cached
    assert _core.cached_bytes() == 0


def test_kernels_from_several_python_threads_at_once():
    """The pool's lock and the per-thread counts with four Python threads running GEMMs
    and convolutions together: each result as computed alone."""
    pydl.set_num_threads(2)
    rng = np.random.default_rng(1)
    a = rng.standard_normal((300, 400)).astype(np.float32)
    b = rng.standard_normal((400, 350)).astype(np.float32)
    x = rng.standard_normal((4, 8, 20, 20)).astype(np.float32)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    want_mm = _core.matmul_forward(a, b)
    want_conv = _core.conv2d_forward(x, w, None, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    errors = []

    def work(i):
        try:
            with pydl.threads(1 + i % 2):
                for _ in range(20):
                    assert np.array_equal(_core.matmul_forward(a, b), want_mm)
                    y = _core.conv2d_forward(x, w, None, (1, 1), (1, 1, 1, 1), (1, 1), 1)
                    assert np.array_equal(y, want_conv)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
