"""The `pydl` command: the README's first command as a new user runs it (the installed
`pydl train`, started in the repository root, where the source folder `pydl/` without a
compiled core lies beside it); every `pydl train MODEL` with checkpoints, exact resume and
Ctrl-C; usage errors; `pydl info` and `pydl bench`."""

import importlib.metadata
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import pydl
from pydl import _trainer
from pydl._tasks import TASKS
from pydl.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _installed_script() -> Path:
    try:
        importlib.metadata.distribution("pydl")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("pydl is not installed (an in-place build): no `pydl` command to run")
    script = Path(sys.executable).with_name("pydl")
    assert script.exists(), f"pydl is installed but its console script {script} is missing"
    return script


def test_installed_command_trains_from_the_repository_root():
    out = subprocess.run(
        [str(_installed_script()), "train", "--epochs", "2", "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    accuracy = float(out.stdout.split("test accuracy ")[1].split("%")[0])
    assert accuracy > 80, out.stdout


def test_source_tree_without_core_says_what_to_do(tmp_path):
    """`python -m pydl` in a folder holding pydl's sources but no compiled core: a clear
    ImportError instead of a circular-import message."""
    shutil.copytree(ROOT / "pydl", tmp_path / "pydl", ignore=shutil.ignore_patterns("*.so"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-m", "pydl", "train"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "compiled core (pydl._core) is missing" in out.stderr, out.stderr
    assert "circular import" not in out.stderr


# ----- pydl train MODEL: checkpoints, exact resume, signals -----------------------------------
# In-process through main() where possible; --limit (hidden) keeps every epoch a few steps,
# --loss-log (hidden) writes each step's loss as float.hex, so runs compare bit for bit.
# One thread unless a test says otherwise: results do not depend on it, and tiny kernels on
# two threads of a busy 2-core machine spend more time waiting for each other than working.

MODELS = sorted(TASKS)
METRICS = {"gpt": "validation loss", "gmm": "test bits/dim", "rbm": "test bits/dim",
           "gan": "Frechet distance", "ebm": "Frechet distance", "ddpm": "test loss",
           "score": "test loss", "vae": "test bits/dim", "flow": "test bits/dim",
           "ar": "test bits/dim"}  # fmt: skip
SCHEDULED = ("cnn", "lstm", "gru", "ddpm", "score")  # the tasks with an lr scheduler


def _train(*args, log=None) -> int:
    argv = ["train", *map(str, args), "--no-progress"]
    if "--threads" not in args:
        argv += ["--threads", "1"]
    if log is not None:
        argv += ["--loss-log", str(log)]
    return main(argv)


def _losses(path: Path) -> list[str]:
    return path.read_text().split("\n")[:-1]


@pytest.mark.parametrize("model", MODELS)
def test_every_model_saves_and_resumes_bit_identically(model, tmp_path, capsys):
    """3 epochs straight give the same per-step losses as 1 epoch, then --resume for two
    more (two: a scheduler not restored shows only at its second step); the checkpoint
    holds what the issue lists."""
    straight, split = tmp_path / "straight.log", tmp_path / "split.log"
    ckpt = tmp_path / "ckpt"
    assert _train(model, "--epochs", 3, "--limit", 3, log=straight) == 0
    assert _train(model, "--epochs", 1, "--limit", 3, "--save", ckpt, log=split) == 0
    assert [p.name for p in ckpt.iterdir()] == ["epoch-0001.safetensors"]
    state = pydl.load(ckpt / "epoch-0001.safetensors")
    assert state["config"]["model"] == model and state["config"]["limit"] == 3
    steps = 1 if model == "gmm" else 3  # EM: one step (the whole split) an epoch
    assert (state["epoch"], state["step"], state["global_step"]) == (1, 0, steps)
    assert state["model"] and state["rng"].shape == (2,)
    assert (state["optimizer"] is None) == (model == "gmm")  # EM has no optimizer
    optimizers = [state["optimizer"]] if model != "gan" else state["optimizer"].values()
    assert model == "gmm" or all(opt["state"] for opt in optimizers)
    assert (state["scheduler"] is not None) == (model in SCHEDULED)
    capsys.readouterr()
    # the model comes from the file; results do not depend on the thread count
    assert _train("--epochs", 3, "--resume", ckpt, "--threads", 2, log=split) == 0
    out = capsys.readouterr().out
    assert "resuming from" in out and "epoch 3/3" in out and "epoch 1/3" not in out
    metric = METRICS.get(model, "test accuracy")
    assert re.search(rf"^{metric}.* [0-9.]+.* \| final loss -?[0-9.]+ \| ", out, re.M), out
    assert ("\nsample:\nThe " in out) == (model == "gpt")
    assert sorted(p.name for p in ckpt.iterdir()) == [
        "epoch-0001.safetensors",
        "epoch-0002.safetensors",
        "epoch-0003.safetensors",
    ]
    assert len(_losses(straight)) == 3 * steps
    assert _losses(split) == _losses(straight)


def _stop_at(monkeypatch, global_step: int) -> None:
    """Deliver a SIGINT to this process right after the given training step."""
    original = _trainer._Run.train_step

    def train_step(self, x, y):
        loss = original(self, x, y)
        if self.global_step == global_step:
            signal.raise_signal(signal.SIGINT)
        return loss

    monkeypatch.setattr(_trainer._Run, "train_step", train_step)


# cnn: a shuffled loader and dropout; gpt: random text windows
@pytest.mark.parametrize("model", ["cnn", "gpt"])
def test_sigint_mid_epoch_saves_and_resume_continues_exactly(model, tmp_path, capsys, monkeypatch):
    straight, split, ckpt = tmp_path / "straight.log", tmp_path / "split.log", tmp_path / "c"
    assert _train(model, "--epochs", 2, "--limit", 4, log=straight) == 0
    _stop_at(monkeypatch, 6)  # two steps into the second epoch
    capsys.readouterr()
    assert _train(model, "--epochs", 2, "--limit", 4, "--save", ckpt, log=split) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("SIGINT: stopped; saved "), err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    newest = ckpt / "epoch-0002-step-000002.safetensors"
    assert sorted(ckpt.iterdir())[-1] == newest
    assert pydl.load(newest)["global_step"] == 6
    monkeypatch.undo()
    assert _train(model, "--resume", ckpt, log=split) == 0
    assert _losses(split) == _losses(straight)
    assert (ckpt / "epoch-0002.safetensors").exists()


def test_keep_prunes_old_checkpoints(tmp_path):
    ckpt = tmp_path / "c"
    assert _train("--epochs", 4, "--limit", 1, "--save", ckpt, "--keep", 2) == 0
    assert sorted(p.name for p in ckpt.iterdir()) == [
        "epoch-0003.safetensors",
        "epoch-0004.safetensors",
    ]


def _module_env() -> dict:
    """`python -m pydl` finding the pydl under test (installed or in-place), from a folder
    that holds no pydl sources."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(pydl.__file__).resolve().parents[1])
    return env


def test_ctrl_c_in_a_real_process_saves_exits_130_and_resumes(tmp_path):
    ckpt, log = tmp_path / "c", tmp_path / "losses.log"
    cmd = [sys.executable, "-m", "pydl", "train", "--epochs", "1000", "--limit", "5"]
    cmd += ["--save", str(ckpt), "--no-progress", "--loss-log", str(log)]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=_module_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout.readline().startswith("pydl ")
        assert proc.stdout.readline().startswith("epoch 1/1000 ")  # training is under way
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"--resume {ckpt}" in err
    state = pydl.load(sorted(ckpt.iterdir())[-1])
    steps = state["global_step"]
    assert len(_losses(log)) == steps  # every step trained is in the checkpoint
    epochs = state["epoch"] + 2  # finish the interrupted epoch and one more
    assert _train("--resume", ckpt, "--epochs", epochs, log=log) == 0
    straight = tmp_path / "straight.log"
    assert _train("--epochs", epochs, "--limit", 5, log=straight) == 0
    assert _losses(log) == _losses(straight)


# ----- usage errors -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mlp_checkpoint(tmp_path_factory):
    ckpt = tmp_path_factory.mktemp("mlp")
    assert _train("--epochs", 1, "--limit", 1, "--save", ckpt) == 0
    return ckpt


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["train", "--threads", "0"], "--threads"),
        (["train", "--epochs", "0"], "--epochs"),
        (["train", "--batch-size", "0"], "--batch-size"),
        (["train", "--batch-size", "-4"], "--batch-size"),
        (["train", "--lr", "0"], "--lr"),
        (["train", "--lr", "-0.1"], "--lr"),
        (["train", "--lr", "nan"], "--lr"),
        (["train", "--keep", "0"], "--keep"),
        (["train", "--seed", "-1"], "--seed"),
        (["train", "resnet"], "invalid choice: 'resnet'"),
        (["train", "--resume", "{empty}"], "--resume: no checkpoint"),
        (["train", "cnn", "--resume", "{mlp}"], "checkpoint of 'mlp', not 'cnn'"),
        (["train", "--resume", "{mlp}", "--lr", "0.5"], "--lr: 0.5 differs"),
        (["train", "--save", "{mlp}"], "--save: "),
        (["bench", "resnet"], "WORKLOAD: unknown ['resnet']"),
        (["bench", "--rounds", "0"], "--rounds"),
    ],
)
def test_bad_arguments_are_usage_errors(argv, flag, tmp_path, mlp_checkpoint, capsys):
    argv = [a.format(empty=tmp_path, mlp=mlp_checkpoint) for a in argv]
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and "Traceback" not in err, err


# ----- info and bench -------------------------------------------------------------------------


def test_info_shows_the_build(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    info = pydl.build_info()
    for key, value in [("compiler", info["compiler"]), ("SIMD", info["simd"]),
                       ("threads", str(pydl.get_num_threads())),
                       ("backend", pydl.get_backend())]:  # fmt: skip
        assert re.search(rf"^{key}\s+{re.escape(value)}$", out, re.M), out
    assert re.search(r"^version\s+\S", out, re.M)
    assert re.search(rf"^wait policy\s+{re.escape(info['wait_policy'])}$", out, re.M), out


def test_bench_without_torch_times_pydl_alone(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    assert main(["bench", "mlp8", "--rounds", "2", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "PyTorch not installed" in out and "pydl/torch" not in out
    row = next(line for line in out.splitlines() if line.startswith("mlp8"))
    assert float(row.split()[1]) > 0


def test_bench_compile_times_replayed_steps(capsys, monkeypatch):
    from pydl import _peers

    monkeypatch.setitem(sys.modules, "torch", None)
    built = []
    real = _peers._pydl_compile
    monkeypatch.setattr(_peers, "_pydl_compile", lambda name: built.append(real(name)) or built[-1])
    assert main(["bench", "mlp8", "rl", "--rounds", "2", "--threads", "1", "--compile"]) == 0
    out = capsys.readouterr().out
    assert "(pydl.compile)" in out and "ran eagerly" not in out
    assert len(built) == 2 and all(step.replays >= 5 for step in built)  # 3 warm-up + 2 timed
    for name in ("mlp8", "rl"):
        row = next(line for line in out.splitlines() if line.startswith(name))
        assert float(row.split()[1]) > 0


def test_bench_beside_torch(torch, capsys):
    assert main(["bench", "mlp8", "--rounds", "2", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert f"PyTorch {torch.__version__}" in out and "pydl/torch" in out
    row = next(line for line in out.splitlines() if line.startswith("mlp8")).split()
    pydl_ms, torch_ms, ratio = map(float, row[1:4])
    assert pydl_ms > 0 and torch_ms > 0 and ratio > 0


def test_generative_models_write_a_grid_of_samples(tmp_path, capsys):
    pytest.importorskip("PIL")
    png = tmp_path / "samples.png"
    assert _train("gmm", "--epochs", 1, "--samples", png) == 0
    assert png.stat().st_size > 0 and f"samples: {png}" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        _train("mlp", "--epochs", 1, "--samples", png)
    assert "mlp is not a generative model" in capsys.readouterr().err
