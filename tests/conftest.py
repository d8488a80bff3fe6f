import importlib
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


# The outside libraries that parity tests compare with, each a fixture of that name.
ORACLES = ("torch", "sklearn")


def _oracle(name: str):
    """The library, for a parity test (marked `oracle`). Those skip where it is not
    installed, except under PYDL_REQUIRE_ORACLES=1 (CI's second run), where that fails."""
    if os.environ.get("PYDL_REQUIRE_ORACLES") == "1":
        return importlib.import_module(name)
    return pytest.importorskip(name)


@pytest.fixture(scope="session")
def torch():
    return _oracle("torch")


@pytest.fixture(scope="session")
def sklearn():
    module = _oracle("sklearn")
    importlib.import_module("sklearn.mixture")
    return module


def pytest_collection_modifyitems(config, items):
    """Tests that take an oracle's fixture are marked `oracle` (`pytest -m oracle` selects
    the parity tests). Benchmark-sized cases (marked slow) run only when asked for with
    -m slow."""
    for item in items:
        if set(ORACLES) & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.oracle)
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
