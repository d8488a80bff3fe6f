#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer run of pydl's C++ core.
#
#   tools/sanitize.sh                 build build/asan, run the default tests on it
#   tools/sanitize.sh tests/x.py ...  run these pytest arguments instead
#   JOBS=2 tools/sanitize.sh          build with 2 jobs (default 1: a shared machine)
#   SKIP_BUILD=1 tools/sanitize.sh    reuse build/asan as it is
#
# It builds pydl._core with -DPYDL_SANITIZE=ON (CMakeLists.txt: -fsanitize=address,undefined
# -fno-sanitize-recover=undefined -fno-omit-frame-pointer; -O1 -g here) into build/asan,
# copies the Python package with that module into build/asan/pkg/pydl (the worktree's own
# pydl/_core*.so is left alone), and runs against it: the core-vs-reference op tests, the
# fault and out-of-memory tests, the error tests and the bad-input corpus (tests/bad_input:
# every case in a child process, a crash classified as such). Any ASan report or UBSan report (a signed overflow, a misaligned or out-of-bounds
# access, ...) ends the process that hit it with a stack trace: the test or case fails.
#
# The run-time environment a Python process needs for an ASan-built extension module:
#   LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)"
#     python itself is not built with ASan, so the ASan runtime must be preloaded: it has to
#     be the first library loaded, to put its malloc/free (and other) interceptors in front
#     of every allocation; loaded later, with the module, it refuses to run ("ASan runtime
#     does not come first in initial library list"). libstdc++ is preloaded with it because
#     ASan intercepts __cxa_throw when it starts: python does not link libstdc++, so without
#     the preload the interceptor finds no real __cxa_throw, and the module's first C++
#     exception (a ValueError, an OutOfMemory) dies in "AddressSanitizer: CHECK failed:
#     ... real___cxa_throw != 0".
#   ASAN_OPTIONS=detect_leaks=0        CPython leaks by design (interned objects, modules)
#     :allocator_may_return_null=1     a huge allocation returns null (pydl then raises
#                                      MemoryError naming the size, as without ASan) instead
#                                      of ASan aborting on "allocation-size-too-big"
#     :max_allocation_size_mb=8192     ... and "huge" is above 8 GiB: ASan's allocator maps
#                                      with MAP_NORESERVE, so a 100 GiB request it let
#                                      through would not fail like malloc's, but fill the
#                                      machine when written
#     :handle_abort=1:detect_stack_use_after_return=0
#   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
#   PYDL_SANITIZED=1                   tests that set an address-space limit (RLIMIT_AS)
#                                      skip: ASan reserves terabytes of address space
#   OMP_WAIT_POLICY=PASSIVE            the pool's idle workers sleep instead of spinning
#                                      (ASan slows the spin-wait, and the machine is shared)
# Run `python -P` (or the pytest script), not `python -m` from the repository root: -m puts
# the current directory first on sys.path, which would import the worktree's own pydl.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build/asan"
PKG="$BUILD/pkg"
JOBS="${JOBS:-1}"
cd "$ROOT"

start=$(date +%s)
if [[ -z "${SKIP_BUILD:-}" ]]; then
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DPYDL_SANITIZE=ON -DPYDL_BUILD_PYTHON=ON \
        -Dpybind11_DIR="$(python -m pybind11 --cmakedir)" >/dev/null
    nice ninja -C "$BUILD" -j"$JOBS" _core
fi
built=$(date +%s)

# the package, with the sanitized module in place of the worktree's
rm -rf "$PKG"
mkdir -p "$PKG"
# every extension left out: the compiled engine modules are not sanitized builds, and could
# be older than their .py (the run below uses the sources: PYDL_PURE_PYTHON=1)
(cd "$ROOT" && tar --exclude='__pycache__' --exclude='*.so' -cf - pydl) | tar -xf - -C "$PKG"
cp "$BUILD"/_core*.so "$PKG/pydl/"

export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)"
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=8192:handle_abort=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export PYDL_SANITIZED=1
export PYDL_PURE_PYTHON=1
export PYTHONPATH="$PKG"
export OMP_WAIT_POLICY=PASSIVE
export OMP_NUM_THREADS=2

python -P -c "import pydl, sys; f = pydl._core.__file__; print('sanitized module:', f); sys.exit(not f.startswith('$PKG'))"

status=0
if [[ $# -gt 0 ]]; then
    nice python -P -m pytest -q -p no:cacheprovider "$@" || status=$?
else
    # an ASan or UBSan report in the test process ends it (halt_on_error): pytest stops there
    nice python -P -m pytest -q -p no:cacheprovider tests/test_faults.py tests/test_oom.py \
        tests/test_errors.py tests/test_core_vs_reference.py tests/bad_input || status=$?
fi
done_=$(date +%s)
echo "sanitize.sh: build $((built - start)) s, tests $((done_ - built)) s, exit status $status"
exit $status
