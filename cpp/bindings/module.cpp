// pydl._core: the compiled backend. Same function names and signatures as
// pydl.reference (see Note [Binding contract] in common.h).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "bindings/common.h"
#include "core/buffer_pool.h"
#include "core/cpu.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "gemm/gemm.h"

#ifndef PYDL_VERSION
#define PYDL_VERSION "0.0.0"
#endif

namespace pydl::bind {
namespace {

// A thread count from Python: an int (bool and float are TypeError: 1.5 must not become
// 1); the range is the core's check (Note [Thread count] in core/parallel.h).
int thread_count_arg(const py::handle& n, const char* fn) {
    PYDL_CHECK(!PyBool_Check(n.ptr()) && PyIndex_Check(n.ptr()), TypeError, fn,
               " expects an int, got ", Py_TYPE(n.ptr())->tp_name);
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(
        py::reinterpret_steal<py::object>(PyNumber_Index(n.ptr())).ptr(), &overflow);
    PYDL_CHECK(!overflow && v >= 0 && v <= kMaxThreads, ValueError, fn,
               " expects 1 <= n <= ", kMaxThreads, ", got ", py::str(n).cast<std::string>());
    return int(v);
}

// pydl._core._testing: hooks for the tests, not API.
void bind_testing(py::module_& t) {
    bind_gil_testing(t);  // Note [GIL]
    // For the tests of parallel_for_each_balanced: runs items [0, n), the first
    // `slow_items` taking `slow_ms` each, asleep or (busy) computing; returns how many times
    // each item ran and the index of the thread that ran it.
    t.def(
        "balanced_for_each_probe",
        [](int64_t n, int64_t slow_items, double slow_ms, bool busy) {
            std::vector<std::atomic<int>> runs(size_t(std::max<int64_t>(n, 0)));
            std::vector<int> thread_of(runs.size(), -1);
            {
                py::gil_scoped_release nogil;
                parallel_for_each_balanced(0, n, [&](int64_t i) {
                    runs[size_t(i)]++;
                    thread_of[size_t(i)] = current_thread_index();
                    if (i >= slow_items) return;
                    const auto time = std::chrono::duration<double, std::milli>(slow_ms);
                    const auto until = std::chrono::steady_clock::now() + time;
                    if (!busy) std::this_thread::sleep_for(time);
                    while (std::chrono::steady_clock::now() < until) {}
                });
            }
            std::vector<int> counts(runs.begin(), runs.end());
            return py::make_tuple(counts, thread_of);
        },
        py::arg("n"), py::arg("slow_items"), py::arg("slow_ms"), py::arg("busy") = false);
    t.def("fail_allocation_after", &fail_allocation_after, py::arg("k"),
          "The k-th checked allocation from now (0: the next) throws OutOfMemory; -1 plans "
          "none. Returns the previous countdown: -1 once the planned failure has happened "
          "(Note [Checked allocations] in core/buffer_pool.h).");
    t.def("parallel_regions", &parallel_region_count,
          "How many parallel regions have run on more than one thread (monotonic).");
    t.def("gemm_blocking", [] {
        const gemm::Blocking b = gemm::blocking();
        py::dict d;
        d["MR"] = b.mr, d["NR"] = b.nr, d["MC"] = b.mc, d["KC"] = b.kc, d["KC_DEEP"] = b.kc_deep;
        d["NC"] = b.nc, d["SMALL_M"] = b.small_m, d["SMALL_K"] = b.small_k;
        d["SMALL_N"] = b.small_n, d["DOT_MIN_M"] = b.dot_min_m, d["DOT_M"] = b.dot_m;
        d["DOT_K"] = b.dot_k, d["DOT_N"] = b.dot_n, d["DOT_ROWS"] = b.dot_rows;
        d["DOT_COLS"] = b.dot_cols, d["PARALLEL_WORK"] = b.parallel_work;
        return d;
    });
    // Runs items [0, n) (parallel_for_each_balanced, or parallel_for with grain 1) and
    // throws on item `item`: kind "value" (ValueError), "memory" (OutOfMemory of `item`
    // bytes) or "bad_alloc" (a plain std::bad_alloc). Note [Errors in regions].
    t.def("throw_in_region", [](int64_t n, int64_t item, const std::string& kind, bool balanced) {
        PYDL_CHECK(kind == "value" || kind == "memory" || kind == "bad_alloc", ValueError,
                   "unknown kind ", kind);
        const auto run = [&](int64_t i) {
            if (i != item) return;
            if (kind == "value") throw ValueError(str_cat("pydl: test error at item ", i));
            if (kind == "memory") throw OutOfMemory(size_t(i));
            throw std::bad_alloc();
        };
        py::gil_scoped_release nogil;
        if (balanced)
            parallel_for_each_balanced(0, n, run);
        else
            parallel_for(0, n, 1, [&](int64_t lo, int64_t hi) {
                for (int64_t i = lo; i < hi; ++i) run(i);
            });
    });
}

void bind_runtime(py::module_& m) {
    m.def("build_info", [] {
        py::dict d;
        d["version"] = PYDL_VERSION;
        d["compiler"] = PYDL_COMPILER;
        d["wait_policy"] = wait_policy();
        d["simd"] = simd_level();
        // Whether autocast's bf16 products run on the CPU's own instruction (AVX512_BF16),
        // rather than emulated (Note [bf16 GEMM]).
        d["bf16"] = cpu_has_avx512bf16();
        // Whether they run on AMX tiles (Note [AMX tile]), which sbgemm's "auto" prefers.
        d["amx"] = cpu_has_amx_bf16();
        d["num_threads"] = get_num_threads();
        return d;
    });
    m.def(
        "set_num_threads",
        [](py::handle n) { set_num_threads(thread_count_arg(n, "set_num_threads")); },
        "The default kernel thread count of the process (Note [Thread count]).");
    m.def("get_num_threads", &get_num_threads,
          "The kernel thread count of the calling thread: its override, else the default.");
    m.def(
        "set_thread_override",
        [](py::handle n) { return set_thread_override(thread_count_arg(n, "threads")); },
        "The calling thread's own kernel thread count, 0 for none; returns the previous one.");
    m.attr("MAX_THREADS") = kMaxThreads;

    // Random fills (Note [Random streams] in core/rng.h), in place.
    // One binding for both fills: out (checked in place), the two parameters, the stream.
    const auto fill = [](void (*kernel)(float*, int64_t, float, float, uint64_t, uint64_t)) {
        return [kernel](py::array out, double a, double b, uint64_t seed, uint64_t offset) {
            auto o = f32(out, "out");
            PYDL_CHECK(o.ptr() == out.ptr(), ValueError,
                       "out must be a C-contiguous float32 array");
            float* p = o.mutable_data();
            const int64_t n = o.size();
            ReleaseGil nogil(cost_math(40.0 * double(n)));  // a random draw: 80-250 ns
            kernel(p, n, float(a), float(b), seed, offset);
        };
    };
    // A float64 `out` is filled by the reference twin (Note [Reference fallback]).
    KernelModule fills(m);
    fills.def("uniform_fill", fill(&uniform_fill), py::arg("out"), py::arg("low"), py::arg("high"),
              py::arg("seed"), py::arg("offset"));
    fills.def("normal_fill", fill(&normal_fill), py::arg("out"), py::arg("mean"), py::arg("std"),
              py::arg("seed"), py::arg("offset"));
    m.def("philox_word", &philox_word, "The 32-bit word `index` of the stream `seed`.",
          py::arg("seed"), py::arg("index"));
    m.def("empty_cache", &buffer_pool_clear,
          "Free the cached output buffers and GEMM/conv scratch (Note [Buffer pool]); returns "
          "the bytes freed.");
    m.def("cached_bytes", &buffer_pool_cached_bytes,
          "Bytes held by the buffer cache (outputs and scratch).");
}

}  // namespace
}  // namespace pydl::bind

// The thread count for threadpoolctl's controller (pydl/_runtime.py), which calls these
// through ctypes: plain C, exported, never throwing.
extern "C" {
__attribute__((visibility("default"))) int pydl_threadpool_get_num_threads() {
    return pydl::get_default_num_threads();
}
__attribute__((visibility("default"))) void pydl_threadpool_set_num_threads(int n) {
    pydl::set_num_threads(std::clamp(n, 1, pydl::kMaxThreads));
}
__attribute__((visibility("default"))) const char* pydl_threadpool_version() {
    return PYDL_VERSION;
}
}

PYBIND11_MODULE(_core, m) {
    m.doc() = "pydl's C++ kernels. See pydl.reference for their NumPy twins.";
    py::register_exception<pydl::TypeError>(m, "CoreTypeError", PyExc_TypeError);
    // MemoryError: OutOfMemory's message names the bytes (Note [Checked allocations]); a
    // std::bad_alloc from an unchecked allocation (a shape, a small list) says what it is.
    py::register_local_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const pydl::OutOfMemory& e) {
            PyErr_SetString(PyExc_MemoryError, e.what());
        } catch (const std::bad_alloc& e) {
            PyErr_Format(PyExc_MemoryError, "pydl: out of memory (%s, a small allocation)",
                         e.what());
        }
    });
    pydl::bind::bind_runtime(m);
    auto testing = m.def_submodule("_testing", "Hooks for pydl's tests; not API.");
    pydl::bind::bind_testing(testing);
    // Every kernel binding falls back to its reference twin for a dtype it has no kernel
    // for (Note [Reference fallback] in common.h).
    pydl::bind::KernelModule kernels(m);
    pydl::bind::bind_activation(kernels);
    pydl::bind::bind_attention(kernels);
    pydl::bind::bind_compare(kernels);
    pydl::bind::bind_conv(kernels);
    pydl::bind::bind_conv_transpose(kernels);
    pydl::bind::bind_dropout(kernels);
    pydl::bind::bind_elementwise(kernels);
    pydl::bind::bind_gemm(m);
    pydl::bind::bind_indexing(kernels);
    pydl::bind::bind_layout(kernels);
    pydl::bind::bind_linalg(kernels);
    pydl::bind::bind_linear(kernels);
    pydl::bind::bind_loss(kernels);
    pydl::bind::bind_norm(kernels);
    pydl::bind::bind_optim(kernels);
    pydl::bind::bind_pointwise(kernels);
    pydl::bind::bind_pool(kernels);
    pydl::bind::bind_rbm(kernels);
    pydl::bind::bind_recurrent(kernels);
    pydl::bind::bind_reduce(kernels);
    pydl::bind::bind_scan(kernels);
    pydl::bind::bind_softmax_loss(kernels);
    pydl::bind::bind_sort(kernels);
    pydl::bind::bind_upsample(kernels);
    pydl::bind::bind_replay(m);
}
