"""The C++ core builds and trains without Python (slow: compiles the core from scratch)."""

import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_core_builds_and_trains_xor_without_python(tmp_path):
    if shutil.which("cmake") is None or not os.path.exists(os.path.join(ROOT, "cpp")):
        pytest.skip("needs cmake and the source tree")
    build = tmp_path / "build"
    subprocess.run(
        [
            "cmake",
            "-S",
            ROOT,
            "-B",
            str(build),
            "-DPYDL_BUILD_EXAMPLES=ON",
            "-DCMAKE_BUILD_TYPE=Release",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(["cmake", "--build", str(build), "-j2"], check=True, capture_output=True)
    out = subprocess.run([str(build / "train_xor")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4/4 correct" in out.stdout
