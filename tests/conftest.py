import os

import numpy as np
import pytest

import pydl


@pytest.fixture(autouse=True)
def _restore_state():
    """Every test starts on the core backend with a fixed seed and leaves no trace."""
    backend, threads = pydl.get_backend(), pydl.get_num_threads()
    pydl.manual_seed(0)
    yield
    pydl.set_backend(backend)
    pydl.set_num_threads(threads)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def torch():
    """PyTorch, the oracle of the parity tests (marked `torch`). They skip where it is not
    installed, except under PYDL_REQUIRE_TORCH=1 (CI's second run), where that fails."""
    if os.environ.get("PYDL_REQUIRE_TORCH") == "1":
        import torch

        return torch
    return pytest.importorskip("torch")


def pytest_collection_modifyitems(config, items):
    """Tests that take the `torch` fixture are marked `torch` (`pytest -m torch` selects the
    parity tests). Benchmark-sized cases (marked slow) run only when asked for with -m slow."""
    for item in items:
        if "torch" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.torch)
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
