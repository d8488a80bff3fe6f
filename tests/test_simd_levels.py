"""Every compiled copy of the kernels (Note [SIMD dispatch]) against the reference: the
core-vs-reference, GEMM, fusion, accuracy and thread tests run again in a subprocess with
PYDL_SIMD capping the SIMD level below this CPU's, so the AVX2 and generic copies are
tested on an AVX-512 machine too."""

import os
import subprocess
import sys

import pytest

import pydl

LOWER = {"avx512f": ["avx2", "generic"], "avx2+fma": ["generic"]}.get(pydl.build_info()["simd"], [])
FILES = ["test_core_vs_reference.py", "test_gemm.py", "test_fusion.py", "test_math_accuracy.py"]
FILES += ["test_threads.py"]
# Run from tests/, so the source tree's pydl/ (no compiled core in a fresh clone) does not
# shadow the installed package on the subprocess's sys.path.
TESTS = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize(
    "level",
    LOWER or [pytest.param(None, marks=pytest.mark.skip(reason="no lower SIMD level on this CPU"))],
)
def test_kernels_at_lower_simd_level(level):
    env = dict(os.environ, PYDL_SIMD=level)
    seen = subprocess.run(
        [sys.executable, "-c", "import pydl; print(pydl.build_info()['simd'])"],
        env=env,
        cwd=TESTS,
        capture_output=True,
        text=True,
    )
    assert seen.stdout.strip() == {"avx2": "avx2+fma", "generic": "generic"}[level], seen.stderr
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *FILES],
        env=env,
        cwd=TESTS,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
