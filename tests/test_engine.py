"""The compiled engine (Note [Compiled engine] in CMakeLists.txt): Cython builds the hot
path's modules from their .py sources; PYDL_PURE_PYTHON=1 runs the sources instead. CI
runs the whole suite both ways; these tests check that each way is the one that runs."""

from __future__ import annotations

import re
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest
from helpers import run_script

import pydl
from pydl import _pure_python

REPO = Path(__file__).resolve().parent.parent
PACKAGE = Path(pydl.__file__).resolve().parent


def _listed_modules() -> list[str]:
    """The modules CMakeLists.txt compiles (PYDL_CYTHON_MODULES), as dotted names."""
    cmake = (REPO / "CMakeLists.txt").read_text()
    block = re.search(r"set\(PYDL_CYTHON_MODULES(.*?)\)", cmake, re.S)
    assert block, "CMakeLists.txt lost its PYDL_CYTHON_MODULES list"
    return [m.replace("/", ".") for m in block.group(1).split()]


def _is_compiled(module_name: str) -> bool:
    return str(sys.modules[module_name].__file__).endswith(tuple(EXTENSION_SUFFIXES))


def test_build_info_names_the_engine_that_runs():
    info = pydl.build_info()
    compiled = _is_compiled("pydl.tensor")
    assert info["engine"] == ("cython" if compiled else "python")
    if _pure_python.requested():
        assert info["engine"] == "python" and info["cython_modules"] == []
    for name in info["cython_modules"]:
        assert _is_compiled(name)


def test_every_listed_module_has_its_source():
    # Pure-Python mode: each compiled module's .py is the source of truth and must exist.
    for name in _listed_modules():
        assert (REPO / (name.replace(".", "/") + ".py")).is_file(), name


@pytest.mark.skipif(
    PACKAGE == REPO / "pydl" or _pure_python.requested(),
    reason="pydl runs from the source tree (an in-place build) or PYDL_PURE_PYTHON=1",
)
def test_an_installed_pydl_runs_every_listed_module_compiled():
    # The README's `pip install .` must give the compiled engine: a module that failed to
    # build or install would silently fall back to its .py and lose the speed.
    for name in _listed_modules():
        __import__(name)
        assert _is_compiled(name), f"{name} runs from {sys.modules[name].__file__}"
    assert pydl.build_info()["engine"] == "cython"


TRAIN = """
import sys, numpy as np, pydl
import pydl.nn.functional as F
from pydl import nn, optim
pydl.manual_seed(0)
model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
opt = optim.Adam(model.parameters(), lr=0.01)
rng = np.random.default_rng(0)
x = pydl.tensor(rng.standard_normal((8, 6)).astype(np.float32))
y = pydl.tensor(rng.integers(0, 3, 8))
for _ in range(5):
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()
info = pydl.build_info()
sys.stdout.write(info["engine"] + " " + sys.modules["pydl.tensor"].__file__ + "\\n")
np.save(sys.argv[1], np.concatenate([p.detach().numpy().ravel() for p in model.parameters()]))
"""


def test_pure_python_switch_runs_the_sources_with_identical_results(tmp_path):
    import numpy as np

    runs = {}
    for pure in ("0", "1"):
        out = tmp_path / f"params{pure}.npy"
        proc = run_script(tmp_path, TRAIN, str(out), env={"PYDL_PURE_PYTHON": pure})
        assert proc.returncode == 0, proc.stderr[-3000:]
        engine, tensor_file = proc.stdout.split()
        runs[pure] = (engine, tensor_file, np.load(out))
    assert runs["1"][0] == "python" and runs["1"][1].endswith("tensor.py")
    if any(PACKAGE.glob("tensor.*.so")) or any(PACKAGE.glob("tensor.*.pyd")):
        assert runs["0"][0] == "cython", runs["0"]
    # the compiled sources compute exactly what they say
    np.testing.assert_array_equal(runs["0"][2], runs["1"][2])


PICKLE = """
import pickle, sys, pydl
from pydl import nn
if sys.argv[1] == "write":
    t = pydl.tensor([1.0, 2.0], requires_grad=True)
    t.grad = pydl.tensor([3.0, 4.0])
    pydl.manual_seed(0)
    with open(sys.argv[2], "wb") as f:
        pickle.dump((t, nn.Linear(2, 1)), f)
else:
    with open(sys.argv[2], "rb") as f:
        t, m = pickle.load(f)
    print(t.tolist(), t.grad.tolist(), t.requires_grad, type(m.weight).__name__)
"""


@pytest.mark.parametrize("writer, reader", [("0", "1"), ("1", "0")])
def test_tensors_pickled_by_one_engine_load_in_the_other(tmp_path, writer, reader):
    # A compiled extension type would pickle through a helper the .py sources lack.
    path = str(tmp_path / "t.pkl")
    proc = run_script(tmp_path, PICKLE, "write", path, env={"PYDL_PURE_PYTHON": writer})
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_script(tmp_path, PICKLE, "read", path, env={"PYDL_PURE_PYTHON": reader})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split("\n")[0] == "[1.0, 2.0] [3.0, 4.0] True Parameter"


def test_pickles_in_the_format_of_earlier_pydl_load():
    # pydl before Tensor.__reduce__ pickled the default way for slots: copyreg.__newobj__,
    # then (None, {slot: value}) as state. Users' pickles of that form must still load, in
    # both engines (a compiled _TensorFields' own __setstate__ would misread the pair).
    import pickle

    import numpy as np

    t = pydl.Tensor.__new__(pydl.Tensor)
    slots = {
        "_array": np.array([1.0, 2.0], np.float32),
        "grad": None,
        "_ctx": None,
        "_slot": 0,
        "requires_grad": True,
        "_version": None,
        "_base": None,
        "_view_fn": None,
    }
    t.__setstate__((None, slots))
    u = pickle.loads(pickle.dumps(t))
    assert u.tolist() == [1.0, 2.0] and u.requires_grad and u.is_leaf


def test_copies_keep_subclass_attributes_and_a_graph_gradient_detached():
    import copy

    class Tagged(pydl.Tensor):
        pass

    t = Tagged([1.0, 2.0])
    t.tag = "kept"
    assert copy.deepcopy(t).tag == "kept"
    w = pydl.nn.Parameter(pydl.tensor([1.0, 2.0]))
    (w * w).sum().backward(create_graph=True)  # w.grad = 2w, itself in a graph
    c = copy.deepcopy(w)
    assert c.grad.tolist() == [2.0, 4.0] and c.grad.is_leaf
