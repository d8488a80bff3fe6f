// The GEMM itself, for tests and benchmarks.
#include <algorithm>

#include "bindings/common.h"
#include "gemm/bf16.h"
#include "gemm/gemm.h"
#include "gemm/peak.h"

namespace pydl::bind {
namespace {

// The extent in elements a rows x cols matrix with row stride ld needs.
void check_matrix(const char* fn, const char* name, const py::array& arr, int64_t rows,
                  int64_t cols, int64_t ld) {
    PYDL_CHECK(ld >= std::max<int64_t>(1, cols), ValueError, fn, ": leading dimension of ", name,
               " is ", ld, " but its rows hold ", cols, " elements");
    const int64_t need =  // Note [Checked sizes]
        rows > 0 && cols > 0
            ? checked_add(checked_mul(rows - 1, ld, fn, ": ", name), cols, fn, ": ", name)
            : 0;
    PYDL_CHECK(arr.size() >= need, ValueError, fn, ": ", name, " has ", arr.size(),
               " elements but a ", rows, " x ", cols, " matrix with leading dimension ", ld,
               " needs ", need);
}

}  // namespace

void bind_gemm(py::module_& m) {
    // sgemm and sbgemm share their checks: fn is either.
    const auto def_gemm = [&m](const char* name, auto fn, const char* doc) {
        m.def(
            name,
            [name, fn](bool trans_a, bool trans_b, int64_t mm, int64_t n, int64_t k, double alpha,
                       const py::array& a_, int64_t lda, const py::array& b_, int64_t ldb,
                       double beta, py::array c_, int64_t ldc) {
                PYDL_CHECK(mm >= 0 && n >= 0 && k >= 0, ValueError, name, ": negative size m=", mm,
                           " n=", n, " k=", k);
                auto a = f32(a_, "a"), b = f32(b_, "b");
                PYDL_CHECK(c_.dtype().is(py::dtype::of<float>()) &&
                               (c_.flags() & py::array::c_style) && c_.writeable(),
                           TypeError, name, ": c must be a writable C-contiguous float32 array");
                check_matrix(name, "a", a, trans_a ? k : mm, trans_a ? mm : k, lda);
                check_matrix(name, "b", b, trans_b ? n : k, trans_b ? k : n, ldb);
                check_matrix(name, "c", c_, mm, n, ldc);
                float* cp = static_cast<float*>(c_.mutable_data());
                ReleaseGil nogil(cost_macs(double(mm) * n * k));
                fn(trans_a, trans_b, mm, n, k, float(alpha), in(a), lda, in(b), ldb, float(beta),
                   cp, ldc, nullptr);
            },
            doc);
    };
    def_gemm("sgemm", sgemm,
             "C := alpha op(A) op(B) + beta C in place on row-major buffers (for "
             "tests/benchmarks).");
    def_gemm("sbgemm", sbgemm,
             "sgemm with op(A), op(B) rounded to bf16 and fp32 sums (Note [bf16 GEMM]).");
    m.def(
        "bf16_gemm_set_kernel",
        [](const std::string& name) { gemm::set_bf16_kernel(name.c_str()); },
        "Select the bf16 GEMM kernel: 'auto', 'ref', 'avx2', 'avx512bf16' or 'amx'.");
    m.def("bf16_gemm_kernel", [] { return std::string(gemm::bf16_kernel_name()); });
    m.def(
        "floats_to_bf16",
        [](const py::array& x_) {
            auto x = f32(x_, "x");
            py::array_t<uint16_t> out(x.request().shape);
            floats_to_bf16(in(x), out.mutable_data(), x.size());
            return out;
        },
        "The bf16 bits (uint16) of a float32 array, rounded to nearest even (as packing "
        "rounds).");
    m.def(
        "gemm_set_kernel", [](const std::string& name) { gemm::set_kernel(name.c_str()); },
        "Select the GEMM micro-kernel: 'auto', 'ref', 'avx2' or 'avx512'.");
    m.def("gemm_kernel", [] { return std::string(gemm::kernel_name()); });
    m.def(
        "fma_peak_loop",
        [](int64_t iterations) {
            // Always released (Note [GIL]): a benchmark hook whose time is the caller's choice.
            ReleaseGil nogil(kAlwaysRelease);
            return gemm::fma_peak_loop(iterations);
        },
        "192 flops per iteration of independent FMAs: the machine's peak (benchmarks).");
    m.def(
        "fma512_peak_loop",
        [](int64_t iterations) {
            ReleaseGil nogil(kAlwaysRelease);
            return gemm::fma512_peak_loop(iterations);
        },
        "384 flops per iteration of independent 512-bit FMAs (ValueError without AVX-512F).");
    m.def(
        "bf16_dot_peak_loop",
        [](int64_t iterations) {
            ReleaseGil nogil(kAlwaysRelease);
            return gemm::bf16_dot_peak_loop(iterations);
        },
        "768 flops per iteration of independent vdpbf16ps: the bf16 peak (ValueError without "
        "AVX512_BF16).");
    m.def(
        "amx_peak_loop",
        [](int64_t iterations) {
            ReleaseGil nogil(kAlwaysRelease);
            return gemm::amx_peak_loop(iterations);
        },
        "65536 flops per iteration of four independent tdpbf16ps on loaded tiles: the AMX "
        "kernel's peak (ValueError without AMX-BF16).");
}

}  // namespace pydl::bind
