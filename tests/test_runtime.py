"""Build info, threads, the seeded generator."""

import numpy as np
import pytest

import pydl
from pydl import _core, reference

from helpers import fresh_interpreter_prints


def test_build_info():
    info = pydl.build_info()
    assert set(info) >= {"version", "compiler", "wait_policy", "simd", "num_threads"}
    assert info["simd"] in {"avx512f", "avx2+fma", "neon", "generic"}
    assert "spin" in info["wait_policy"] or "passive" in info["wait_policy"]


def test_threads_context():
    with pydl.threads(1):
        assert pydl.get_num_threads() == 1
    pydl.set_num_threads(2)
    assert pydl.get_num_threads() == 2


def test_philox_matches_reference_and_known_answer():
    # Known-answer test of Philox4x32-10 from Random123 (counter 0, key 0).
    assert [_core.philox_word(0, i) for i in range(4)] == [
        0x6627E8D5,
        0xE169C58D,
        0xBC57AC4C,
        0x9B00DBD8,
    ]
    for seed in (0, 1, 2**40 + 7):
        for i in (0, 1, 5, 1 << 33):
            assert _core.philox_word(seed, i) == reference.philox_word(seed, i)


def test_random_draws_match_across_backends_and_threads():
    a = np.empty(1000, np.float32)
    b = np.empty(1000, np.float32)
    _core.uniform_fill(a, -1.0, 2.0, 11, 5)
    reference.uniform_fill(b, -1.0, 2.0, 11, 5)
    np.testing.assert_array_equal(a, b)
    big1 = np.empty(100_000, np.float32)
    big2 = np.empty(100_000, np.float32)
    pydl.set_num_threads(1)
    _core.normal_fill(big1, 0.0, 1.0, 3, 0)
    pydl.set_num_threads(2)
    _core.normal_fill(big2, 0.0, 1.0, 3, 0)
    np.testing.assert_array_equal(big1, big2)
    reference.normal_fill(b, 0.0, 1.0, 3, 0)
    np.testing.assert_allclose(big1[:1000], b, rtol=1e-6, atol=1e-6)
    assert abs(big1.mean()) < 0.02 and abs(big1.std() - 1) < 0.02


def test_manual_seed_reproduces():
    pydl.manual_seed(42)
    a = pydl.randn(5).numpy().copy()
    b = pydl.randn(5).numpy().copy()
    pydl.manual_seed(42)
    assert np.array_equal(pydl.randn(5).numpy(), a)
    assert not np.array_equal(a, b)


def test_omp_num_threads_is_the_default():
    assert fresh_interpreter_prints("pydl.get_num_threads()", OMP_NUM_THREADS="1") == "1"
    # OpenMP's list form: the first value is the outer level's
    assert fresh_interpreter_prints("pydl.get_num_threads()", OMP_NUM_THREADS="3,2") == "3"


@pytest.mark.parametrize(
    "env,policy",
    [
        ({}, "idle workers spin 100 us, then sleep"),
        ({"OMP_WAIT_POLICY": "passive"}, "passive (idle workers sleep at once)"),
        ({"OMP_WAIT_POLICY": "ACTIVE"}, "active (idle workers never sleep)"),
        (
            {"PYDL_SPIN_US": "20", "OMP_WAIT_POLICY": "passive"},
            "idle workers spin 20 us, then sleep",
        ),
    ],
)
def test_wait_policy_follows_the_environment(env, policy):
    """Note [Wait policy]; and the pool works under each (a threaded matmul is right)."""
    check = (
        "(pydl.build_info()['wait_policy'], "
        "bool((pydl.ones(300, 300) @ pydl.ones(300, 300) == 300).all()))"
    )
    clean = {"OMP_WAIT_POLICY": "", "PYDL_SPIN_US": "", "OMP_NUM_THREADS": "2"}
    assert fresh_interpreter_prints(check, **{**clean, **env}) == repr((policy, True))


def test_threadpoolctl_limits_pydl():
    """threadpool_limits(1) limits pydl's kernels as it limits NumPy's BLAS, and restores
    the count after."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    pydl.set_num_threads(2)
    [entry] = [i for i in threadpoolctl.threadpool_info() if i["internal_api"] == "pydl"]
    assert entry["num_threads"] == 2 and entry["version"] == pydl.__version__
    with threadpoolctl.threadpool_limits(1):
        assert pydl.get_num_threads() == 1
        before = _core._testing.parallel_regions()
        pydl.matmul(pydl.ones(512, 512), pydl.ones(512, 512))
        assert _core._testing.parallel_regions() == before  # really one thread
    assert pydl.get_num_threads() == 2
    with threadpoolctl.threadpool_limits(limits=1, user_api="pydl"):
        assert pydl.get_num_threads() == 1
    assert pydl.get_num_threads() == 2


def test_buffer_pool_reuses_and_frees():
    pydl.empty_cache()
    a = _core.relu_forward(np.ones(1 << 20, np.float32))  # 4 MiB: from the pool
    assert _core.cached_bytes() == 0
    del a
    assert _core.cached_bytes() == 4 << 20
    b = _core.relu_forward(np.full(1 << 20, -1.0, np.float32))  # reuses the buffer
    assert _core.cached_bytes() == 0 and b.max() == 0.0
    del b
    assert pydl.empty_cache() == 4 << 20 and _core.cached_bytes() == 0
