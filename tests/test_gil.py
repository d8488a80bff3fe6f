"""The core releases the GIL around a kernel only when the kernel is slow enough for the
release to pay (Note [GIL] in cpp/bindings/common.h): big kernels let another Python thread
run while they compute; small ones keep the GIL, so a training loop in a Python thread is not
stalled a switch interval per kernel by a busy main thread."""

import threading
import time

import numpy as np
import pytest
import test_faults

import pydl
from pydl import _core

_testing = _core._testing


@pytest.fixture(autouse=True)
def _default_threshold():
    """Every test starts from the default threshold and leaves it as it was."""
    before = _testing.gil_release_threshold()
    yield before
    _testing.set_gil_release_threshold(before)


def _releases() -> int:
    return _testing.gil_releases()


def _longest_main_thread_pause(kernel) -> tuple[float, float]:
    """Runs kernel() once in a Python thread (the kernel on one thread of its own, so that
    a core stays free for the main thread) while the main thread spins a Python loop.
    Returns the kernel's duration and the main thread's longest pause inside it: the whole
    duration when the kernel holds the GIL throughout, a scheduler's time slice when it
    releases it."""
    done = threading.Event()
    box = {}

    def work():
        with pydl.threads(1):
            box["t0"] = time.perf_counter()
            kernel()
            box["t1"] = time.perf_counter()
        done.set()

    pauses = []  # (start, end) of main-thread pauses over 0.5 ms
    thread = threading.Thread(target=work)
    prev = time.perf_counter()  # before t0: a GIL held from the start shows as a pause
    thread.start()
    while not done.is_set():
        now = time.perf_counter()
        if now - prev > 5e-4:
            pauses.append((prev, now))
        prev = now
    pauses.append((prev, time.perf_counter()))
    thread.join()
    t0, t1 = box["t0"], box["t1"]
    inside = [min(e, t1) - max(s, t0) for s, e in pauses]
    return t1 - t0, max([0.0, *inside])


def _rng():
    return np.random.default_rng(0)


def _big_matmul():
    a = _rng().standard_normal((1024, 1024)).astype(np.float32)
    return lambda: _core.matmul_forward(a, a)


def _big_conv():
    x = _rng().standard_normal((8, 64, 64, 64)).astype(np.float32)
    w = _rng().standard_normal((64, 64, 3, 3)).astype(np.float32)
    return lambda: _core.conv2d_forward(x, w, None, (1, 1), (1, 1, 1, 1), (1, 1), 1)


def _big_add():
    a = np.ones(2**24, np.float32)
    return lambda: _core.add_forward(a, a)


BIG = {"matmul_1024": _big_matmul, "conv2d_8x64x64x64": _big_conv, "add_2e24": _big_add}


@pytest.mark.parametrize("name", list(BIG))
def test_a_big_kernel_lets_the_main_thread_run(name):
    """While a big kernel runs in a Python thread, the main thread's Python loop keeps
    going: its longest pause is well under the kernel's time. On a loaded machine one
    attempt can be unlucky (a long time slice elsewhere); a kernel that held the GIL would
    fail every attempt (the main thread would pause for the whole kernel)."""
    kernel = BIG[name]()
    kernel()  # warm: buffers, packing scratch
    results = []
    for _ in range(4):
        before = _releases()
        duration, pause = _longest_main_thread_pause(kernel)
        assert _releases() > before, f"{name} did not release the GIL"
        results.append((duration, pause))
        if pause < 0.5 * duration:
            return
    pytest.fail(f"{name}: (kernel time, longest main-thread pause) per attempt: {results}")


def test_small_kernels_keep_the_gil_and_big_ones_release_it():
    a16 = np.ones(16, np.float32)
    m64 = np.ones((64, 64), np.float32)
    before = _releases()
    for _ in range(10):
        _core.add_forward(a16, a16)
        _core.matmul_forward(m64, m64)
        _core.sum_forward(m64, [0, 1], False)
        _core.relu_forward(m64)
    assert _releases() == before
    for make in BIG.values():
        kernel = make()
        before = _releases()
        kernel()
        assert _releases() == before + 1


def test_the_threshold_can_force_the_old_behaviour():
    """Threshold 0 releases around every kernel (as before Note [GIL]); a huge one never."""
    a16 = np.ones(16, np.float32)
    _testing.set_gil_release_threshold(0)
    before = _releases()
    y = _core.add_forward(a16, a16)
    assert _releases() == before + 1
    assert np.array_equal(y, np.full(16, 2, np.float32))
    _testing.set_gil_release_threshold(2**62)
    kernel = _big_add()
    before = _releases()
    kernel()
    assert _releases() == before


def test_the_threshold_is_checked_and_returned():
    default = _testing.gil_release_threshold()
    assert 1_000_000 <= default <= 10_000_000  # about 3 ms of single-thread kernel time
    assert _testing.set_gil_release_threshold(123) == default
    assert _testing.gil_release_threshold() == 123
    with pytest.raises(ValueError, match="ns.*-1"):
        _testing.set_gil_release_threshold(-1)
    assert _testing.gil_release_threshold() == 123


def test_kernels_from_several_python_threads_with_every_kernel_releasing():
    """The thread-safety test of test_faults with the GIL released around every kernel, so
    that the four threads' kernels do run at the same time (with the default threshold its
    small kernels keep the GIL and take turns)."""
    _testing.set_gil_release_threshold(0)
    test_faults.test_kernels_from_several_python_threads_at_once()
