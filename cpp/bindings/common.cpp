// The bindings' shared helpers that are not inline (common.h).
#include "bindings/common.h"

#include "kernels/layout.h"
#include "kernels/unary_ops.h"

namespace pydl::bind {

namespace {

// The capsule that returns a pooled buffer of `bytes` bytes at ptr when NumPy frees its array
// (it remembers the size in its context slot). The buffer goes back to the pool at once when
// the capsule cannot be made.
py::capsule pool_owner(void* ptr, size_t bytes) {
    try {
        py::capsule owner(ptr, /*name=*/nullptr, [](PyObject* cap) {
            void* p = PyCapsule_GetPointer(cap, nullptr);
            buffer_release(p, reinterpret_cast<size_t>(PyCapsule_GetContext(cap)));
        });
        PyCapsule_SetContext(owner.ptr(), reinterpret_cast<void*>(bytes));
        return owner;
    } catch (...) {
        buffer_release(ptr, bytes);
        throw;
    }
}

}  // namespace

py::array empty_as(const py::dtype& dtype, const Shape& shape) {
    const size_t bytes =
        checked_bytes(numel(shape), size_t(dtype.itemsize()));  // Note [Checked sizes]
    if (bytes < kPooledBytes) {  // NumPy's allocator (Note [Checked allocations])
        note_allocation(bytes);
        // NumPy's constructor itself: py::array(dtype, shape) copies the shape into two
        // vectors and computes strides NumPy computes anyway, which costs as much as
        // NumPy's allocation at a few elements (a small model's every op).
        auto& api = py::detail::npy_api::get();
        static_assert(sizeof(Py_intptr_t) == sizeof(int64_t));
        PyObject* arr = api.PyArray_NewFromDescr_(
            api.PyArray_Type_, dtype.inc_ref().ptr(), int(shape.size()),
            reinterpret_cast<const Py_intptr_t*>(shape.data()), nullptr, nullptr, 0, nullptr);
        if (arr) return py::reinterpret_steal<py::array>(arr);
        if (PyErr_ExceptionMatches(PyExc_MemoryError)) {
            PyErr_Clear();
            throw OutOfMemory(bytes);
        }
        throw py::error_already_set();
    }
    const std::vector<py::ssize_t> dims(shape.begin(), shape.end());
    void* ptr = buffer_acquire(bytes);
    py::capsule owner = pool_owner(ptr, bytes);
    return py::array(dtype, dims, std::vector<py::ssize_t>{}, ptr, owner);
}

py::object contiguous_copy(const py::array& a) {
    const py::ssize_t item = a.itemsize();
    const char kind = a.dtype().kind();
    bool plain = (item == 1 || item == 2 || item == 4 || item == 8) &&
                 (kind == 'b' || kind == 'i' || kind == 'u' || kind == 'f' || kind == 'c');
    const Shape shape = shape_of(a);
    Shape strides(shape.size());
    for (size_t d = 0; plain && d < shape.size(); ++d) {
        plain = a.strides(d) % item == 0;
        strides[d] = a.strides(d) / item;
    }
    if (!plain) return py::object();
    py::array out = empty_as(a.dtype(), shape);
    const void* src = a.data();
    void* dst = out.mutable_data();
    {
        ReleaseGil nogil(cost_elements(2.0 * double(numel(shape))));
        strided_copy(src, shape, strides, size_t(item), dst);
    }
    return out;
}

void bind_gil_testing(py::module_& t) {
    t.def(
        "set_gil_release_threshold",
        [](int64_t ns) {
            PYDL_CHECK(ns >= 0, ValueError, "set_gil_release_threshold: ns must be >= 0, got ", ns);
            return gil_release_threshold_ns.exchange(ns);
        },
        "Release the GIL around kernels whose estimated single-thread cost is at least `ns` "
        "nanoseconds (0: always); returns the previous threshold (Note [GIL]).",
        py::arg("ns"));
    t.def(
        "gil_release_threshold", [] { return gil_release_threshold_ns.load(); },
        "The GIL-release threshold in estimated single-thread nanoseconds (Note [GIL]).");
    t.def(
        "gil_releases", [] { return gil_release_count.load(); },
        "How many times a kernel binding has released the GIL (monotonic; Note [GIL]).");
}

py::array c_contiguous(const py::array& a) {
    if (is_c_contiguous(a)) return a;
    if (py::object copy = contiguous_copy(a))
        return py::reinterpret_steal<py::array>(copy.release());
    // NumPy's own copy (Note [Strided inputs])
    py::array copy = py::array::ensure(a, py::array::c_style);
    PYDL_CHECK(copy, TypeError, "cannot make a C-contiguous copy of an array of dtype ",
               dtype_name(a));
    return copy;
}

std::optional<UnaryOp> parse_activation(const std::string& name) {
    if (name == "none") return std::nullopt;
    UnaryOp op;
    if (find_unary_op(name.c_str(), &op) && fusable(op)) return op;
    std::vector<const char*> fused;
    for (const UnaryOpInfo& info : kUnaryOps)
        if (info.fuse != UnaryFuse::No) fused.push_back(info.name);
    std::string names = "'none'";
    for (size_t i = 0; i < fused.size(); ++i)
        names += std::string(i + 1 == fused.size() ? " or '" : ", '") + fused[i] + "'";
    PYDL_CHECK(false, ValueError, "activation must be ", names, "; got '", name, "'");
    return std::nullopt;
}

FusedActivationGrad fused_activation_grad(const char* fn, const std::string& activation,
                                          const py::object& x, const py::object& y,
                                          const Shape& input) {
    FusedActivationGrad f{parse_activation(activation), {}, {}};
    if (!f.act) return f;
    PYDL_CHECK(!x.is_none() && !y.is_none(), ValueError, fn, ": activation '", activation,
               "' needs act_x and act_y");
    f.x = f32(x.cast<py::array>(), "act_x");
    f.y = f32(y.cast<py::array>(), "act_y");
    PYDL_CHECK(shape_of(f.x) == input && shape_of(f.y) == input, ValueError, fn, ": act_x ",
               shape_str(shape_of(f.x)), " and act_y ", shape_str(shape_of(f.y)),
               " must match the input ", shape_str(input));
    return f;
}

}  // namespace pydl::bind
