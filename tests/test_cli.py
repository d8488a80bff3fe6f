"""The README's first command, as a new user runs it: the installed `pydl train`, started in
the repository root, where the source folder `pydl/` (no compiled core) lies beside it."""

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
