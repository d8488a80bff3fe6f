"""pydl.save / pydl.load (Note [Checkpoint format]): round trips, clear errors on bad files,
PyTorch's safetensors files, and saves killed at random points."""

import os
import random
import signal
import time

import numpy as np
import pytest

import pydl
from pydl import nn, optim

from helpers import OPTIMIZERS

pytest.importorskip("safetensors")


def _model_and_optimizer():
    pydl.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    x = pydl.randn(8, 4)
    for _ in range(2):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
    return model, opt


def test_round_trip_of_nested_state(tmp_path):
    model, opt = _model_and_optimizer()
    obj = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 3,
        "lr": 0.5,
        "name": "run-1",
        "flags": (True, None),
        "w": pydl.tensor([1.0, 2.0], requires_grad=True),
        "ints": np.arange(4, dtype=np.int32),
        "scalar": np.float64(2.5),
        7: [pydl.tensor(True), pydl.tensor([[1, 2]])],
    }
    path = tmp_path / "ckpt.pydl"
    pydl.save(obj, path)
    back = pydl.load(path)
    assert back.keys() == obj.keys() and back["epoch"] == 3 and back["flags"] == (True, None)
    assert back["w"].requires_grad and back["ints"].dtype == np.int32
    assert back["scalar"] == 2.5 and type(back["scalar"]) is np.float64
    assert back[7][0].dtype == np.bool_ and back[7][1].tolist() == [[1, 2]]
    for k, v in obj["model"].items():
        np.testing.assert_array_equal(np.asarray(back["model"][k]), np.asarray(v))
    # the optimizer resumes: same state, same next step as the original
    model2, opt2 = _model_and_optimizer()
    model2.load_state_dict(back["model"])
    opt2.load_state_dict(back["optimizer"])
    x = pydl.randn(8, 4)
    for m, o in ((model, opt), (model2, opt2)):
        o.zero_grad()
        m(x).sum().backward()
        o.step()
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_unstorable_objects_and_bad_files_raise_clearly(tmp_path):
    with pytest.raises(TypeError, match=r"got object at obj\['x'\]"):
        pydl.save({"x": object()}, tmp_path / "a")
    assert not os.listdir(tmp_path)  # nothing half-written left behind
    path = tmp_path / "ckpt"
    pydl.save({"w": pydl.ones(100)}, path)
    data = path.read_bytes()
    for bad in (data[: len(data) // 2], b"\x00" * 8, b"garbage"):
        path.write_bytes(bad)
        with pytest.raises(ValueError, match="not a valid checkpoint"):
            pydl.load(path)
    with pytest.raises(FileNotFoundError):
        pydl.load(tmp_path / "missing")
    with pytest.raises(RuntimeError, match="CPUs"):
        pydl.load(path, map_location="cuda:0")


def test_pytorch_safetensors_files_load_and_match(tmp_path, torch):
    st_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    st_torch.save_file(theirs.state_dict(), str(tmp_path / "m.safetensors"))
    ours = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    ours.load_state_dict(pydl.load(tmp_path / "m.safetensors"))
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    want = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours(pydl.tensor(x)).numpy(), want, rtol=1e-5, atol=1e-6)


def _save_forever(path: str, k: int) -> None:
    """The child: saves checkpoints whose every value is k, for k, k + 1, ..."""
    while True:
        pydl.save({"k": k, "a": np.full(200_000, k, np.float32), "b": [np.full(5, k)]}, path)
        k += 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_saves_killed_at_random_points_leave_a_whole_checkpoint(tmp_path):
    path = str(tmp_path / "ckpt")
    pydl.save({"k": 0, "a": np.zeros(200_000, np.float32), "b": [np.zeros(5)]}, path)
    rng = random.Random(0)
    last = 0
    for _ in range(50):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            try:
                _save_forever(path, last + 1)
            finally:
                os._exit(1)
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        got = pydl.load(path)  # always present and whole: the old one or a new one
        k = got["k"]
        assert k >= last and (got["a"] == k).all() and (got["b"][0] == k).all()
        last = k
    assert last > 0  # some saves completed, so kills landed between and inside them
    # each saver deleted what the killed ones before it left: at most the last one's remains
    assert len(os.listdir(tmp_path)) <= 2
    pydl.save({"k": -1}, path)
    assert os.listdir(tmp_path) == ["ckpt"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_save_deletes_the_scratch_folders_of_dead_savers_only(tmp_path):
    pid = os.fork()
    if pid == 0:  # pragma: no cover - a child that is gone by the time we save
        os._exit(0)
    os.waitpid(pid, 0)
    dead = tmp_path / f".ckpt.{pid}.pydl-save-abc123"
    alive = tmp_path / f".ckpt.{os.getpid()}.pydl-save-def456"  # a save still running
    other = tmp_path / f".other.{pid}.pydl-save-ghi789"  # a save to another file
    for folder in (dead, alive, other):
        folder.mkdir()
        (folder / "checkpoint").write_bytes(b"partial")
    pydl.save({"k": 1}, tmp_path / "ckpt")
    assert sorted(os.listdir(tmp_path)) == sorted(["ckpt", alive.name, other.name])


def test_load_state_dict_is_all_or_nothing():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    before = {k: np.array(v) for k, v in model.state_dict().items()}
    bad = {k: np.ones_like(v) for k, v in before.items()}
    bad["1.weight"] = np.ones((3, 3), np.float32)  # the last entry's shape is wrong
    with pytest.raises(ValueError, match=r"1\.weight has shape \(3, 3\).*nothing was loaded"):
        model.load_state_dict(bad)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(np.asarray(v), before[k])


def _run(steps, model, opt, sched, data):
    losses = []
    for x, y in data[:steps]:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_resume_from_a_checkpoint_gives_the_same_losses(tmp_path, name):
    """Dropout draws from the generator, BatchNorm keeps buffers, the optimizer its state and
    the scheduler its count: with all of them and the RNG state in the checkpoint, 3 + 3
    resumed steps equal 6 uninterrupted ones bit for bit, for every optimizer."""
    rng = np.random.default_rng(0)
    data = [
        (pydl.tensor(rng.standard_normal((16, 6)).astype(np.float32)),
         pydl.tensor(rng.integers(0, 3, 16)))
        for _ in range(6)
    ]  # fmt: skip

    def fresh():
        pydl.manual_seed(5)
        model = nn.Sequential(
            nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 3)
        )
        opt = OPTIMIZERS[name](model.parameters())
        inner = opt.optimizer if isinstance(opt, optim.Lookahead) else opt
        return model, opt, optim.lr_scheduler.StepLR(inner, step_size=2, gamma=0.5)

    model, opt, sched = fresh()
    straight = _run(6, model, opt, sched, data)

    model, opt, sched = fresh()
    first = _run(3, model, opt, sched, data)
    state = {
        "model": model.state_dict(),
        "opt": opt.state_dict(),
        "sched": sched.state_dict(),
        "rng": pydl.get_rng_state(),
    }
    pydl.save(state, tmp_path / "ckpt")
    del model, opt, sched
    pydl.manual_seed(123)  # the resumed process starts elsewhere in the stream
    model, opt, sched = fresh()
    back = pydl.load(tmp_path / "ckpt")
    model.load_state_dict(back["model"])
    opt.load_state_dict(back["opt"])
    sched.load_state_dict(back["sched"])
    pydl.set_rng_state(back["rng"])
    resumed = first + _run(3, model, opt, sched, data[3:])
    assert resumed == straight


def test_mmap_load_shares_the_page_cache_and_never_writes_the_file(tmp_path):
    path = tmp_path / "ckpt"
    state = {"w": pydl.arange(12.0).reshape(3, 4), "n": np.int64(7), "i": np.arange(3),
             "s": pydl.tensor(2.5)}  # fmt: skip
    pydl.save(state, path)
    back = pydl.load(path, mmap=True)
    root = back["w"]._array
    while isinstance(getattr(root, "base", None), np.ndarray) and not isinstance(root, np.memmap):
        root = root.base
    assert isinstance(root, np.memmap)  # a view of the mapped file, not a copy
    assert back["w"].tolist() == state["w"].tolist() and back["s"].shape == ()
    assert back["i"].tolist() == [0, 1, 2] and back["n"] == 7
    back["w"].add_(1)  # private mapping: the file keeps the saved values
    assert pydl.load(path)["w"].tolist() == state["w"].tolist()
    pydl.save({"w": pydl.zeros(3, 4)}, path)  # a new save renames over the old file...
    os.unlink(path)
    assert back["w"].tolist() == (state["w"] + 1).tolist()  # ...the mapped tensors live on
