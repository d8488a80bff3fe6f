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


def pytest_collection_modifyitems(config, items):
    """Benchmark-sized cases (marked slow) run only when asked for with -m slow."""
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
