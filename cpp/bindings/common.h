// Helpers shared by the binding files: argument checks, output allocation.
//
// Note [Binding contract]: a binding checks dtype (dispatching to the kernel of that dtype,
// or to the reference twin: Note [Dtypes in the core]), makes strided inputs contiguous (Note
// [Strided inputs]), checks every shape the kernel relies on, allocates the outputs,
// releases the GIL when the kernel is slow enough for that to pay (Note [GIL]) and calls one
// kernel.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/buffer_pool.h"
#include "core/check.h"
#include "core/shape.h"
#include "kernels/unary_ops.h"
#include "bindings/replay.h"

namespace py = pybind11;

namespace pydl::bind {

// Note [GIL]: a binding releases the GIL around its kernel only when the kernel is slow
// enough for the release to pay. A release is not free when another Python thread is busy:
// that thread takes the GIL at once, and when our kernel ends we wait for it until CPython
// asks the holder to drop it, after the switch interval (sys.getswitchinterval(), 5 ms). So
// a release lends the other thread the kernel's time and costs us up to 5 ms. Measured with
// the MLP b128 training in a Python thread beside a busy main thread: 2.3 ms a step alone,
// 54 ms (8-25x across workloads) when every kernel released the GIL, ~3x when none did. A
// release pays only for a kernel that runs longer than about a switch interval, so
// ReleaseGil releases when the kernel's estimated cost reaches gil_release_threshold_ns,
// by default 3 ms of single-thread kernel time; a kernel under it keeps the GIL (the other
// Python thread waits at most its few milliseconds, once, instead of us waiting 5 ms per
// kernel).
//
// Cost is estimated single-thread nanoseconds, one short expression per binding from the
// sizes in scope, with the helpers below:
//   cost_elements(n)  a memory-bound kernel: n = elements read plus written (add: 3 per
//                     output element; a reduction: its input; a copy: 2 per element)
//   cost_math(n)      an elementwise kernel that evaluates a transcendental (exp, tanh, erf,
//                     log) per element: n = elements evaluated (softmax, losses, gelu)
//   cost_macs(n)      products: n = multiply-adds (matmul m*n*k; conv: output elements *
//                     C_in/groups * kernel area; attention B*H*T*T*D per product;
//                     recurrent T*B*4H*(I+H))
//   cost_linalg(n)    the decompositions and solves (bind_linalg): n = the multiply-adds
//                     of the textbook algorithm, ~count*n^3 (their loops are not GEMM's)
// The constants are single-thread times per unit, measured with pydl._core at 1 thread
// (set_num_threads(1), nice'd, the best of several runs) on the project's 2-core x86-64 AVX2
// machine under load; the ratios matter more than the absolute times:
//   kNsPerElement 0.5   add_forward 2^22: 0.59 ns per element read or written; sum_forward
//                       0.43; relu_forward 0.34; adam_step 0.34; batch_norm_forward 0.42
//   kNsPerMath    2.0   per element: exp_forward 3.0 ns, tanh 4.0, gelu 5.0, softmax 4.7,
//                       cross_entropy 4.7, layer_norm 6.1 (counted as 3 each), maxpool2d 1.2
//                       per window element; a Philox draw (dropout, fills) 80-250 ns
//   kNsPerMac     0.1   matmul 512^3 0.10 ns (256^3 0.04), conv2d 8x64x32x32 3x3 0.12,
//                       conv2d 16x3x64x64 5x5 0.11
//   kNsPerLinalgMac 1.5 per multiply-add of the textbook count (n = 128 and 256): inv 0.9-2.6,
//                       cholesky 0.5, solve 0.7-1.5; qr, svd and eigh iterate: counted as 8,
//                       30 and 60 n^3 (measured 5-20, 42-46 and 60-140 ns per n^3)
// Threshold 3 ms = e.g. 2^21 added floats, a 310^3 matmul, a conv of 30 M multiply-adds.
// The cost is a double (products of large shapes do not overflow it). Where a kernel's cost
// cannot be known cheaply before it runs, the binding releases unconditionally and says why.
// Tests force either behaviour with _core._testing.set_gil_release_threshold (0: always
// release, as before this note) and count releases with _core._testing.gil_releases.
inline constexpr double kNsPerElement = 0.5;
inline constexpr double kNsPerMath = 2.0;
inline constexpr double kNsPerMac = 0.1;
inline constexpr double kNsPerLinalgMac = 1.5;
inline constexpr int64_t kGilReleaseThresholdNs = 3'000'000;
inline std::atomic<int64_t> gil_release_threshold_ns{kGilReleaseThresholdNs};
inline std::atomic<int64_t> gil_release_count{0};

inline double cost_elements(double n) { return n * kNsPerElement; }
inline double cost_math(double n) { return n * kNsPerMath; }
inline double cost_macs(double n) { return n * kNsPerMac; }
inline double cost_linalg(double n) { return n * kNsPerLinalgMac; }
// A cost at least any threshold: for kernels whose cost is unknown (Note [GIL]).
inline constexpr double kAlwaysRelease = 1e300;

// Releases the GIL for its scope when cost (estimated single-thread ns) reaches the
// threshold (Note [GIL]). Use as `ReleaseGil nogil(cost_elements(3.0 * n));`.
class ReleaseGil {
public:
    explicit ReleaseGil(double cost) {
        if (cost >= double(gil_release_threshold_ns.load(std::memory_order_relaxed))) {
            gil_release_count.fetch_add(1, std::memory_order_relaxed);
            release_.emplace();
        }
    }
    ReleaseGil(const ReleaseGil&) = delete;
    ReleaseGil& operator=(const ReleaseGil&) = delete;

private:
    std::optional<py::gil_scoped_release> release_;
};

// _core._testing hooks for Note [GIL] (defined in common.cpp).
void bind_gil_testing(py::module_& t);

inline Shape shape_of(const py::array& a) { return Shape(a.shape(), a.shape() + a.ndim()); }

inline std::string dtype_name(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

// Note [Dtypes in the core]: pydl tensors hold bool, uint8, int32, int64, float32 or float64
// (the op layer promotes operands to one dtype as PyTorch). float32 is the fast path, the
// dtype every kernel has; a binding dispatches on its first array's dtype (with_dtype) to a
// kernel template instantiated for the dtypes it lists (Note [Kernel dtypes] in
// kernels/elementwise.h). Native today:
//   add/sub/mul/pow forward    the six but bool; div forward float32, float64
//   binary backward            float32, float64
//   where forward              the six (a and b); backward float32, float64
//   unary ops (PYDL_UNARY_OPS) float32, float64, forward and backward
//   sum forward                the six (bool: any); max forward the six (bool: any)
//   mean forward, reductions' backward   float32, float64
//   permute, index, embedding, concat forward; permute and concat backward   the six
//   index and embedding backward   float32, float64
//   matmul, linear, linear_act forward and backward   float32, float64 (dgemm)
//   contiguous                 any dtype of plain 1, 2, 4 or 8-byte numbers
//   compare, logical, logical_not forward   the six (no backward: not differentiable)
//   everything else (conv, conv_transpose, upsample, pool, norm, softmax and losses,
//   attention, recurrent, dropout, prelu, optimizer steps, random fills)   float32
// A dtype a binding has no kernel for, or operands of mixed dtypes, throw NeedsReference:
// the reference twin computes the call (Note [Reference fallback]).

// The dtypes the core has native kernels for (Note [Dtypes in the core]); Other for the rest.
enum class DType { Bool, UInt8, Int32, Int64, Float32, Float64, Other };

// a's dtype, read off the array's descriptor without a Python call (this is on every
// kernel call). A non-native byte order is Other.
inline DType dtype_of(const py::array& a) {
    using api = py::detail::npy_api;
    const auto* d = py::detail::array_descriptor_proxy(py::detail::array_proxy(a.ptr())->descr);
    constexpr char kSwapped = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? '>' : '<';
    if (d->byteorder == kSwapped) return DType::Other;
    switch (d->type_num) {
        case api::NPY_FLOAT_:
            return DType::Float32;
        case api::NPY_DOUBLE_:
            return DType::Float64;
        case api::NPY_BOOL_:
            return DType::Bool;
        case api::NPY_UBYTE_:
            return DType::UInt8;
        case api::NPY_INT_:
            return sizeof(int) == 4 ? DType::Int32 : DType::Other;
        case api::NPY_LONG_:
            return sizeof(long) == 8 ? DType::Int64
                                     : (sizeof(long) == 4 ? DType::Int32 : DType::Other);
        case api::NPY_LONGLONG_:
            return sizeof(long long) == 8 ? DType::Int64 : DType::Other;
    }
    return DType::Other;
}

inline bool is_c_contiguous(const py::array& a) {
    return py::detail::array_proxy(a.ptr())->flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_;
}

// Note [Strided inputs]: a kernel reads C-contiguous memory; a binding handed a strided
// NumPy view (a transpose, a slice, a flip, a broadcast) makes the contiguous copy itself,
// with the core's parallel strided_copy (Note [Strided copy] in kernels/layout.h), not with
// NumPy's single-threaded one, releasing the GIL for a large one (Note [GIL]). Only where NumPy's
// byte strides are not whole elements (a view into a structured array), or the elements are
// not plain 1, 2, 4 or 8-byte numbers, does NumPy copy. An array that is already
// C-contiguous is returned as is (no copy, no conversion).
py::array c_contiguous(const py::array& a);
// A new C-contiguous array copied from `a` by strided_copy; a null object when a's
// elements are not plain numbers of 1, 2, 4 or 8 bytes or its strides not whole elements.
py::object contiguous_copy(const py::array& a);

// A new C-contiguous array of `dtype` (contents unspecified), from the buffer pool when large.
// Note [Checked allocations]: OutOfMemory naming the bytes when there is no room, from
// NumPy's allocator too (its MemoryError becomes ours).
py::array empty_as(const py::dtype& dtype, const Shape& shape);

// A fused activation's name: "none" or a fusable op of the unary list (Note [Unary op
// list]); ValueError naming the choices otherwise. linear_act, conv2d, batch_norm and
// max_pool2d's backward take one.
std::optional<UnaryOp> parse_activation(const std::string& name);

// The activation a backward kernel passes its input gradient back through (max_pool2d's and
// conv2d's, as pydl.compile fuses them), with that activation's input x and output y, both
// checked to be float32 arrays shaped like the kernel's input; null data without one.
struct FusedActivationGrad {
    std::optional<UnaryOp> act;
    py::array_t<float> x, y;
    const float* x_data() const { return act ? x.data() : nullptr; }
    const float* y_data() const { return act ? y.data() : nullptr; }
};
FusedActivationGrad fused_activation_grad(const char* fn, const std::string& activation,
                                          const py::object& x, const py::object& y,
                                          const Shape& input);

// Thrown by the dtype checks for a dtype a binding has no native kernel for; a TypeError
// where nothing catches it.
struct NeedsReference : TypeError {
    using TypeError::TypeError;
};

// A C-contiguous float32 array (a copy of a strided one: Note [Strided inputs]), or
// NeedsReference naming the argument.
inline py::array_t<float> f32(const py::array& a, const char* name) {
    if (__builtin_expect(dtype_of(a) != DType::Float32, 0))
        throw NeedsReference(str_cat("pydl core kernels take float32; ", name, " has dtype ",
                                     dtype_name(a), " (use the reference backend for float64)"));
    if (__builtin_expect(is_c_contiguous(a), 1))
        return py::reinterpret_borrow<py::array_t<float>>(a);
    return py::reinterpret_steal<py::array_t<float>>(c_contiguous(a).release());
}

// A C-contiguous int64 array of indices or labels (other integer dtypes converted by
// NumPy), or TypeError.
inline py::array_t<int64_t> i64(const py::array& a, const char* name) {
    PYDL_CHECK(a.dtype().kind() == 'i' || a.dtype().kind() == 'u', TypeError, name,
               " must hold integers; got dtype ", dtype_name(a));
    if (dtype_of(a) == DType::Int64)
        return py::reinterpret_steal<py::array_t<int64_t>>(c_contiguous(a).release());
    // NumPy converts (unsafe casting allowed: only a failed allocation can fail it, and
    // ensure() then returns null with the error cleared). Note [Checked allocations].
    const size_t bytes = checked_bytes(a.size(), sizeof(int64_t));
    note_allocation(bytes);
    auto converted = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
    if (!converted) throw OutOfMemory(bytes);
    return converted;
}

// Below this size numpy's own allocator is fine; above it outputs come from the buffer
// pool (Note [Buffer pool] in core/buffer_pool.h).
constexpr size_t kPooledBytes = size_t(256) << 10;

// A new C-contiguous array (contents unspecified), float32 unless asked otherwise: empty_as's.
template <typename T = float>
py::array_t<T> empty(const Shape& shape) {
    return py::reinterpret_steal<py::array_t<T>>(empty_as(py::dtype::of<T>(), shape).release());
}

// Note [Gradient outputs]: a backward kernel takes, after its shape and options, the
// incoming gradient(s), the forward's inputs in their order, what the forward saved, and
// last one output pointer per input gradient, in the inputs' order (x, then weight, then
// bias), null when that gradient is not needed. A binding's need_<input> flags become those
// null pointers through maybe_empty; the flags' Python order is pydl.reference's.
//
// A new array of `shape` (its data in ptr) when `need`, else None (ptr = null).
template <typename T>
py::object maybe_empty(bool need, const Shape& shape, T*& ptr) {
    ptr = nullptr;
    if (!need) return py::none();
    auto t = empty<T>(shape);
    ptr = t.mutable_data();
    return t;
}

// The DType of a C++ element type.
template <typename T>
constexpr DType dtype_code() {
    if constexpr (std::is_same_v<T, bool>) return DType::Bool;
    if constexpr (std::is_same_v<T, uint8_t>) return DType::UInt8;
    if constexpr (std::is_same_v<T, int32_t>) return DType::Int32;
    if constexpr (std::is_same_v<T, int64_t>) return DType::Int64;
    if constexpr (std::is_same_v<T, float>) return DType::Float32;
    if constexpr (std::is_same_v<T, double>) return DType::Float64;
    return DType::Other;
}

template <typename T>
struct TypeTag {
    using type = T;
};

// `a` as a C-contiguous array of T (Note [Strided inputs]), or NeedsReference naming the
// argument when its dtype is not T's.
template <typename T>
py::array_t<T> typed(const py::array& a, const char* name) {
    if (dtype_of(a) != dtype_code<T>())
        throw NeedsReference(str_cat("pydl core: ", name, " has dtype ", dtype_name(a), ", not ",
                                     py::str(py::dtype::of<T>()).template cast<std::string>()));
    if (is_c_contiguous(a)) return py::reinterpret_borrow<py::array_t<T>>(a);
    return py::reinterpret_steal<py::array_t<T>>(c_contiguous(a).release());
}

// fn(TypeTag<T>()) for the first T of Ts that is a's dtype, or NeedsReference naming the
// kernel `fn_name` when there is none: a binding's native dtypes (Note [Dtypes in the core]).
template <typename... Ts, typename Fn>
py::object with_dtype(const py::array& a, const char* fn_name, Fn&& fn) {
    const DType dt = dtype_of(a);
    py::object result;
    const bool found = ((dt == dtype_code<Ts>() && (result = fn(TypeTag<Ts>()), true)) || ...);
    if (!found)
        throw NeedsReference(
            str_cat(fn_name, ": the core has no kernel for dtype ", dtype_name(a)));
    return result;
}

// NeedsReference unless b has a's dtype (the op layer promotes operands to one dtype; mixed
// ones go to the reference, which promotes as NumPy).
inline void same_dtype(const py::array& a, const py::array& b, const char* fn_name) {
    if (dtype_of(a) != dtype_of(b))
        throw NeedsReference(
            str_cat(fn_name, ": operands of dtypes ", dtype_name(a), " and ", dtype_name(b)));
}

inline const float* in(const py::array_t<float>& a) { return a.data(); }
inline float* out(py::array_t<float>& a) { return a.mutable_data(); }

// Normalized reduction axes as a mask over `rank` axes.
inline std::vector<bool> axis_mask(const std::vector<int64_t>& axes, size_t rank) {
    std::vector<bool> mask(rank, false);
    for (int64_t a : axes) {
        PYDL_CHECK(a >= 0 && size_t(a) < rank, ValueError, "axis ", a,
                   " is out of range for a tensor of rank ", rank);
        mask[a] = true;
    }
    return mask;
}

// Note [Reference fallback]: the core accepts every dtype the reference does. A binding
// checks its arrays' dtypes first (f32, typed, with_dtype, same_dtype); one without a native
// kernel (Note [Dtypes in the core]) throws NeedsReference before anything is allocated or
// written, and the binding's wrapper, which KernelModule::def puts around every kernel
// binding, catches it and returns pydl.reference.<same name>(same arguments), so the NumPy
// twin computes in that dtype. The wrapper takes the binding's own parameter types (its
// signature and argument names are unchanged) and costs nothing on the native path: no
// Python frame, only a C++ try block and the conversion of the result to py::object
// (add_forward of 16 floats: no slower, measured with timeit against the previous build).
// Arguments reach the reference as the binding received them, converted back by pybind11:
// arrays as the same objects, sequences as lists, float parameters as Python floats (the
// bindings take them as double, so float64 keeps every digit). sgemm (bind_gemm), which
// has no twin, stays on a plain module: a dtype error there is TypeError.
template <typename Sig>
struct Signature;
template <typename C, typename R, typename... A>
struct Signature<R (C::*)(A...) const> {
    template <typename F>
    static auto wrap(std::string name, F f) {
        return [name = std::move(name), f = std::move(f)](A... args) -> py::object {
            try {
                if constexpr (std::is_void_v<R>) {
                    f(args...);
                    return py::none();
                } else if constexpr (std::is_base_of_v<py::object, R>) {
                    return f(args...);  // the handle moves; no conversion
                } else {
                    return py::cast(f(args...));
                }
            } catch (const NeedsReference&) {}
            return py::module_::import("pydl.reference").attr(name.c_str())(args...);
        };
    }
    // What pydl.compile's replay needs to call `wrapped` natively (Note [Native replay]).
    template <typename W, typename... Extra>
    static Replayable replayable(W wrapped, const Extra&... extra) {
        return make_replayable<W, A...>(std::move(wrapped), extra...);
    }
};
template <typename C, typename R, typename... A>
struct Signature<R (C::*)(A...)> : Signature<R (C::*)(A...) const> {};

// The module the binding files define their kernels on: m.def as py::module_'s, with the
// reference fallback around each function (Note [Reference fallback]).
class KernelModule {
public:
    explicit KernelModule(py::module_ m) : m_(std::move(m)) {}
    template <typename F, typename... Extra>
    KernelModule& def(const char* name, F f, const Extra&... extra) {
        using Sig = Signature<decltype(&F::operator())>;
        auto wrapped = Sig::wrap(name, std::move(f));
        m_.def(name, wrapped, extra...);
        register_replayable(m_.attr(name), Sig::replayable(std::move(wrapped), extra...));
        return *this;
    }

private:
    py::module_ m_;
};

// One per binding file bind_<family>.cpp, mirroring cpp/kernels/; module.cpp calls each.
void bind_activation(KernelModule& m);
void bind_attention(KernelModule& m);
void bind_compare(KernelModule& m);
void bind_conv(KernelModule& m);
void bind_conv_transpose(KernelModule& m);
void bind_dropout(KernelModule& m);
void bind_elementwise(KernelModule& m);
void bind_gemm(py::module_& m);  // no reference twins: no fallback
void bind_indexing(KernelModule& m);
void bind_layout(KernelModule& m);
void bind_linalg(KernelModule& m);
void bind_linear(KernelModule& m);
void bind_loss(KernelModule& m);
void bind_norm(KernelModule& m);
void bind_optim(KernelModule& m);
void bind_pointwise(KernelModule& m);
void bind_pool(KernelModule& m);
void bind_rbm(KernelModule& m);
void bind_recurrent(KernelModule& m);
void bind_reduce(KernelModule& m);
void bind_scan(KernelModule& m);
void bind_softmax_loss(KernelModule& m);
void bind_sort(KernelModule& m);
void bind_upsample(KernelModule& m);

}  // namespace pydl::bind
