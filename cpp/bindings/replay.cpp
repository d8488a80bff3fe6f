// Note [Native replay]: pydl.compile's replay (Note [Whole-step capture] in
// pydl/_capture.py) runs its ops here, in C++, over the plan's table of values (a Python
// list). An op that calls a kernel binding calls the binding's own function object
// directly, with its recorded arguments converted once when the plan is made: no Python
// frame, no pybind11 dispatch (overload resolution, keyword matching, argument casts) and
// no argument tuples per call. Only the arguments the step makes anew (its inputs and the
// results of earlier ops) are read from the values on each call. The function called is the
// binding itself, reference fallback included (Note [Reference fallback] in common.h), so
// a replay computes what a call through Python computes, bit for bit. The other ops (live
// calls, the plan's views and packs, the reference backend's functions) are Python
// callables, called with their arguments from the values.
#include "bindings/replay.h"

#include <unordered_map>

#include "bindings/common.h"

namespace pydl::bind {
namespace {

// The replayable bindings by function object (kept alive here; the module holds them too).
// Written while the module initializes, read while plans are made (both hold the GIL).
struct Registered {
    py::object function;
    Replayable replayable;
    bool overloaded = false;  // a second definition of the same name: pybind11 dispatches
};
std::unordered_map<PyObject*, Registered>& registry() {
    static auto* table = new std::unordered_map<PyObject*, Registered>();  // never destroyed:
    return *table;  // its objects must not be released after the interpreter is gone
}

// Where a result goes: the op's result, then `path` (at each step an index or key, or None
// for a tensor's array), into values[index].
struct Out {
    int index;
    std::vector<py::object> path;
};

struct Op {
    std::unique_ptr<BoundCall> native;  // or, called through Python:
    py::object fn;
    std::vector<int> args;  // value indices: positional, then keyword
    py::tuple names;        // the keyword arguments' names (the last args)
    std::vector<Out> outs;
    std::vector<int> release;  // value indices set to None after the op (their last use)
};

class Replay {
public:
    // values: the plan's table with its constants in place; constant[i]: values[i] is the
    // same object on every replay (bound once when an op is native).
    Replay(py::list values, std::vector<bool> constant)
        : values_(std::move(values)), constant_(std::move(constant)) {
        PYDL_CHECK(values_.size() == constant_.size(), ValueError, "Replay: ", values_.size(),
                   " values but ", constant_.size(), " constant flags");
    }

    // Adds op `fn(values[ins[0]], ...)`, the last len(names) arguments by keyword. Returns
    // whether the op runs natively.
    bool add(const py::object& fn, const std::vector<int>& ins, const py::tuple& names,
             const std::vector<std::pair<int, std::vector<py::object>>>& outs,
             const std::vector<int>& release) {
        PYDL_CHECK(names.size() <= ins.size(), ValueError, "Replay.add: more names than arguments");
        for (const std::vector<int>* indices : {&ins, &release})
            for (int i : *indices) check_index(i);
        for (const auto& out : outs) check_index(out.first);
        Op op;
        op.native = bind_native(fn, ins, names);
        if (!op.native) {
            op.fn = fn;
            op.args = ins;
            op.names = names;
        }
        for (const auto& [index, path] : outs) op.outs.push_back({index, path});
        op.release = release;
        ops_.push_back(std::move(op));
        return bool(ops_.back().native);
    }

    void run(const py::list& values) const {
        PYDL_CHECK(values.size() == constant_.size(), ValueError, "Replay.run: ", values.size(),
                   " values for a plan of ", constant_.size());
        PyObject* v = values.ptr();
        for (const Op& op : ops_) {
            if (PyErr_CheckSignals() != 0) throw py::error_already_set();  // Ctrl-C
            py::object result = op.native ? op.native->call(v) : call_python(op, v);
            for (const Out& out : op.outs) {
                py::object x = result;
                for (const py::object& step : out.path)
                    x = step.is_none() ? py::object(x.attr("_array")) : py::object(x[step]);
                PyList_SetItem(v, out.index, x.release().ptr());  // steals the reference
            }
            for (int i : op.release) PyList_SetItem(v, i, py::none().release().ptr());
        }
    }

    int native_ops() const {
        int n = 0;
        for (const Op& op : ops_) n += bool(op.native);
        return n;
    }
    int size() const { return int(ops_.size()); }

    // The garbage collector's view (a plan's live calls may reach back to their owner).
    int traverse(visitproc visit, void* arg) const {
        Py_VISIT(values_.ptr());
        for (const Op& op : ops_) {
            Py_VISIT(op.fn.ptr());
            Py_VISIT(op.names.ptr());
            for (const Out& out : op.outs)
                for (const py::object& step : out.path) Py_VISIT(step.ptr());
            if (op.native)
                if (const int r = op.native->visit(visit, arg)) return r;
        }
        return 0;
    }
    void clear() {
        ops_.clear();
        values_ = py::list();
    }

private:
    void check_index(int i) const {
        PYDL_CHECK(i >= 0 && size_t(i) < constant_.size(), IndexError, "Replay.add: value ", i,
                   " is out of range for a plan of ", constant_.size());
    }

    std::unique_ptr<BoundCall> bind_native(const py::object& fn, const std::vector<int>& ins,
                                           const py::tuple& names) const {
        const auto found = registry().find(fn.ptr());
        if (found == registry().end() || found->second.overloaded) return nullptr;
        const Replayable& r = found->second.replayable;
        const size_t params = r.names.size(), positional = ins.size() - names.size();
        if (positional > params) return nullptr;
        std::vector<py::object> given(params);
        std::vector<bool> set(params, false);
        std::vector<std::pair<int, int>> fed;
        const auto give = [&](size_t param, int index) {
            set[param] = true;
            if (constant_[size_t(index)])
                given[param] = values_[size_t(index)];
            else
                fed.emplace_back(int(param), index);
        };
        for (size_t k = 0; k < positional; ++k) give(k, ins[k]);
        for (size_t k = 0; k < names.size(); ++k) {
            const std::string name = names[k].cast<std::string>();
            size_t param = 0;
            while (param < params && r.names[param] != name) ++param;
            if (param == params || set[param]) return nullptr;
            give(param, ins[positional + k]);
        }
        for (size_t param = 0; param < params; ++param) {
            if (set[param]) continue;
            if (!r.defaults[param]) return nullptr;  // pybind11 would raise: let it
            given[param] = r.defaults[param];
        }
        return r.bind(given, fed);
    }

    static py::object call_python(const Op& op, PyObject* v) {
        const size_t positional = op.args.size() - op.names.size();
        py::tuple args(positional);
        for (size_t k = 0; k < positional; ++k)
            args[k] = py::reinterpret_borrow<py::object>(PyList_GET_ITEM(v, op.args[k]));
        if (op.names.empty()) return op.fn(*args);
        py::dict kwargs;
        for (size_t k = 0; k < op.names.size(); ++k)
            kwargs[op.names[k]] =
                py::reinterpret_borrow<py::object>(PyList_GET_ITEM(v, op.args[positional + k]));
        return op.fn(*args, **kwargs);
    }

    py::list values_;
    std::vector<bool> constant_;
    std::vector<Op> ops_;
};

}  // namespace

void register_replayable(const py::object& function, Replayable replayable) {
    auto [it, fresh] = registry().try_emplace(function.ptr());
    if (!fresh) {
        it->second.overloaded = true;
        return;
    }
    it->second.function = function;
    it->second.replayable = std::move(replayable);
}

void bind_replay(py::module_& m) {
    // Collected like a Python container (the pybind11 docs' custom_type_setup recipe).
    const auto gc = py::custom_type_setup([](PyHeapTypeObject* heap_type) {
        PyTypeObject* type = &heap_type->ht_type;
        type->tp_flags |= Py_TPFLAGS_HAVE_GC;
        type->tp_traverse = [](PyObject* self, visitproc visit, void* arg) {
            Py_VISIT(Py_TYPE(self));
            if (!py::detail::is_holder_constructed(self)) return 0;
            return py::cast<const Replay&>(py::handle(self)).traverse(visit, arg);
        };
        type->tp_clear = [](PyObject* self) {
            if (py::detail::is_holder_constructed(self))
                py::cast<Replay&>(py::handle(self)).clear();
            return 0;
        };
    });
    py::class_<Replay>(m, "Replay",
                       "A compiled step's ops, replayed in C++ (Note [Native replay]); built by "
                       "pydl.compile, not API.",
                       gc)
        .def(py::init<py::list, std::vector<bool>>(), py::arg("values"), py::arg("constant"))
        .def("add", &Replay::add, py::arg("fn"), py::arg("ins"), py::arg("names"), py::arg("outs"),
             py::arg("release"))
        .def("run", &Replay::run, py::arg("values"))
        .def_property_readonly("native_ops", &Replay::native_ops)
        .def("__len__", &Replay::size);
}

}  // namespace pydl::bind
