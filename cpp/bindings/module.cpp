// pydl._core: the compiled backend. Same function names and signatures as
// pydl.reference (see Note [Binding contract] in common.h).
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "bindings/common.h"
#include "core/buffer_pool.h"
#include "core/cpu.h"
#include "core/parallel.h"
#include "core/rng.h"

#ifndef PYDL_VERSION
#define PYDL_VERSION "0.0.0"
#endif

namespace pydl::bind {
namespace {

void bind_runtime(py::module_& m) {
    m.def("build_info", [] {
        py::dict d;
        d["version"] = PYDL_VERSION;
        d["compiler"] = PYDL_COMPILER;
        d["openmp"] = have_openmp();
        d["simd"] = simd_level();
        d["num_threads"] = get_num_threads();
        return d;
    });
    m.def("set_num_threads", [](int n) {
        PYDL_CHECK(n >= 1, ValueError, "set_num_threads expects n >= 1, got ", n);
        set_num_threads(n);
    });
    m.def("get_num_threads", &get_num_threads);
    // For the tests of parallel_for_each_balanced: runs items [0, n), the first
    // `slow_items` sleeping `slow_ms` each; returns how many times each item ran and the
    // index of the thread that ran it.
    m.def("_balanced_for_each_probe", [](int64_t n, int64_t slow_items, double slow_ms) {
        std::vector<std::atomic<int>> runs(size_t(std::max<int64_t>(n, 0)));
        std::vector<int> thread_of(runs.size(), -1);
        {
            py::gil_scoped_release nogil;
            parallel_for_each_balanced(0, n, [&](int64_t i) {
                runs[size_t(i)]++;
                thread_of[size_t(i)] = current_thread_index();
                if (i < slow_items)
                    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(slow_ms));
            });
        }
        std::vector<int> counts(runs.begin(), runs.end());
        return py::make_tuple(counts, thread_of);
    });

    // Random fills (Note [Random streams] in core/rng.h), in place.
    m.def("uniform_fill", [](py::array out, double low, double high, uint64_t seed,
                             uint64_t offset) {
        auto o = f32(out, "out");
        PYDL_CHECK(o.ptr() == out.ptr(), ValueError, "out must be a C-contiguous float32 array");
        float* p = o.mutable_data();
        const int64_t n = o.size();
        py::gil_scoped_release nogil;
        uniform_fill(p, n, float(low), float(high), seed, offset);
    });
    m.def("normal_fill", [](py::array out, double mean, double std, uint64_t seed,
                            uint64_t offset) {
        auto o = f32(out, "out");
        PYDL_CHECK(o.ptr() == out.ptr(), ValueError, "out must be a C-contiguous float32 array");
        float* p = o.mutable_data();
        const int64_t n = o.size();
        py::gil_scoped_release nogil;
        normal_fill(p, n, float(mean), float(std), seed, offset);
    });
    m.def("philox_word", &philox_word, "The 32-bit word `index` of the stream `seed`.");
    m.def("empty_cache", &buffer_pool_clear,
          "Free the cached output buffers (Note [Buffer pool]); returns the bytes freed.");
    m.def("cached_bytes", &buffer_pool_cached_bytes, "Bytes held by the output buffer cache.");
}

}  // namespace
}  // namespace pydl::bind

PYBIND11_MODULE(_core, m) {
    m.doc() = "pydl's C++ kernels (float32). See pydl.reference for their NumPy twins.";
    py::register_exception<pydl::TypeError>(m, "CoreTypeError", PyExc_TypeError);
    pydl::bind::bind_runtime(m);
    pydl::bind::bind_activation(m);
    pydl::bind::bind_attention(m);
    pydl::bind::bind_conv(m);
    pydl::bind::bind_dropout(m);
    pydl::bind::bind_elementwise(m);
    pydl::bind::bind_gemm(m);
    pydl::bind::bind_layout(m);
    pydl::bind::bind_linear(m);
    pydl::bind::bind_norm(m);
    pydl::bind::bind_optim(m);
    pydl::bind::bind_pool(m);
    pydl::bind::bind_recurrent(m);
    pydl::bind::bind_reduce(m);
    pydl::bind::bind_softmax_loss(m);
}
