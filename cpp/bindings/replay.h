// pydl.compile's replay loop in C++ (Note [Native replay] in replay.cpp): the kernel
// bindings' own functions, called with their arguments bound once.
#pragma once
#include <pybind11/pybind11.h>

#include "core/check.h"

#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace pydl::bind {

// One recorded call of a kernel binding, replayable without pybind11's dispatcher: the
// arguments that are the same on every replay are converted once; the others are read
// from the replay's values (a Python list) on each call.
class BoundCall {
public:
    virtual ~BoundCall() = default;
    virtual py::object call(PyObject* values) const = 0;
    // Visits the Python objects among the bound arguments (for the garbage collector).
    virtual int visit(visitproc visit, void* arg) const = 0;
};

// What a kernel binding tells the replay: its parameters' names and defaults (null where
// none), and how to bind a call. bind gets one object per parameter (a null one where the
// argument is fed) and the fed parameters as (parameter, value index); it returns null when
// an argument does not convert to its parameter's type (the replay then calls the function
// through Python).
struct Replayable {
    std::vector<std::string> names;
    std::vector<py::object> defaults;
    std::function<std::unique_ptr<BoundCall>(const std::vector<py::object>&,
                                             const std::vector<std::pair<int, int>>&)>
        bind;
};

// Registers the binding `function` (a pybind11 function object) as replayable natively.
void register_replayable(const py::object& function, Replayable replayable);

namespace replay_detail {

template <typename T>
T null_of() {  // the placeholder of a fed argument, until its call fills it
    if constexpr (std::is_base_of_v<py::handle, T>)
        return py::reinterpret_steal<T>(py::handle());
    else
        return T{};
}

// F(A...) -> py::object, with the arguments of a recorded call.
template <typename F, typename... A>
class Bound final : public BoundCall {
    using Args = std::tuple<std::decay_t<A>...>;
    using Setter = void (*)(Args&, py::handle);

public:
    Bound(F f, Args args, std::vector<std::pair<int, int>> fed)
        : f_(std::move(f)), args_(std::move(args)), fed_(std::move(fed)) {}

    py::object call(PyObject* values) const override {
        // A copy per call, which the fed arguments are written into: another thread may
        // replay the same plan meanwhile (while a kernel has released the GIL).
        Args args = args_;
        if constexpr (sizeof...(A) > 0)
            for (const auto& [param, index] : fed_)
                setters(std::index_sequence_for<A...>())[param](args,
                                                                PyList_GET_ITEM(values, index));
        return std::apply(f_, args);
    }

    int visit(visitproc visit, void* arg) const override {
        int result = 0;
        std::apply(
            [&](const auto&... a) { ((result = result ? result : visit_one(a, visit, arg)), ...); },
            args_);
        return result;
    }

    static std::unique_ptr<BoundCall> make(const F& f, const std::vector<py::object>& given,
                                           const std::vector<std::pair<int, int>>& fed) {
        if (given.size() != sizeof...(A)) return nullptr;
        try {
            return std::make_unique<Bound>(f, initial(given, std::index_sequence_for<A...>()), fed);
        } catch (const py::cast_error&) {  // the replay calls it through Python instead
        } catch (const py::error_already_set&) {}
        return nullptr;
    }

private:
    template <size_t... I>
    static Args initial(const std::vector<py::object>& given, std::index_sequence<I...>) {
        return Args(converted<std::tuple_element_t<I, Args>>(given[I])...);
    }
    template <typename T>
    static T converted(const py::object& o) {
        return o ? o.cast<T>() : null_of<T>();
    }
    template <size_t I>
    static void set(Args& args, py::handle value) {
        using T = std::tuple_element_t<I, Args>;
        try {
            std::get<I>(args) = py::reinterpret_borrow<py::object>(value).cast<T>();
        } catch (const py::cast_error&) {  // as pybind11's dispatcher would refuse it
            throw TypeError(str_cat("a replayed kernel's argument ", I + 1, " is a ",
                                    Py_TYPE(value.ptr())->tp_name, " it cannot take"));
        }
    }
    template <typename T>
    static int visit_one(const T& a, visitproc visit, void* arg) {
        if constexpr (std::is_base_of_v<py::handle, T>) Py_VISIT(a.ptr());
        return 0;
    }
    template <size_t... I>
    static const Setter* setters(std::index_sequence<I...>) {
        static constexpr Setter table[] = {&set<I>...};
        return table;
    }

    F f_;
    Args args_;
    std::vector<std::pair<int, int>> fed_;
};

template <typename Extra>
void add_parameter(Replayable&, const Extra&) {  // a docstring
    static_assert(std::is_convertible_v<const Extra&, const char*>,
                  "a kernel binding's extras are py::arg and docstrings: the native replay "
                  "calls it without pybind11's dispatcher, which would apply any other");
}
inline void add_parameter(Replayable& r, const py::arg& a) {
    r.names.emplace_back(a.name);
    r.defaults.emplace_back();
}
inline void add_parameter(Replayable& r, const py::arg_v& a) {
    r.names.emplace_back(a.name);
    r.defaults.push_back(a.value);
}

}  // namespace replay_detail

// The Replayable of binding f (parameters A...), named by its py::arg extras.
template <typename F, typename... A, typename... Extra>
Replayable make_replayable(F f, const Extra&... extra) {
    Replayable r;
    (replay_detail::add_parameter(r, extra), ...);
    if (r.names.size() != sizeof...(A)) {  // unnamed parameters: positional calls only
        r.names.assign(sizeof...(A), std::string());
        r.defaults.assign(sizeof...(A), py::object());
    }
    r.bind = [f = std::move(f)](const std::vector<py::object>& given,
                                const std::vector<std::pair<int, int>>& fed) {
        return replay_detail::Bound<F, A...>::make(f, given, fed);
    };
    return r;
}

void bind_replay(py::module_& m);

}  // namespace pydl::bind
