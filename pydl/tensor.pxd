# Cython's types for pydl/tensor.py (Note [Compiled engine] in CMakeLists.txt): the .py is
# the source; this file only tells the compiler what it may assume when it builds it.
# _Node and Tensor's fields become extension types, whose fields are C struct members:
# recording an op and walking the graph read and write them without attribute lookups.
# Tensor itself stays a Python subclass of _TensorFields: pydl._tensor_methods installs
# its methods after import, which an extension type would refuse.
cimport cython


cdef class _TensorFields:
    cdef public object _array
    cdef public object _base
    cdef public object _ctx
    cdef public object _slot
    cdef public object _version
    cdef public object _view_fn
    cdef public object grad
    cdef public object requires_grad
    cdef object __weakref__


cdef class _Node:
    cdef public object backward
    cdef public object edges
    cdef public object inputs
    cdef public object outputs
    cdef public object saved
    cdef public object versions
    cdef object __weakref__


@cython.locals(node=_Node, i=_TensorFields, k=Py_ssize_t)
cpdef _Node _new_node(backward, tuple inputs, saved, outputs, reads)

@cython.locals(t=_TensorFields, node=_Node)
cpdef record(out, inputs=*, backward=*, saved=*, reads=*)

@cython.locals(t=_TensorFields)
cpdef _constant(data)

# The backward walk: its nodes' fields as struct members.
@cython.locals(node=_Node)
cpdef list _topo_order(root)

@cython.locals(node=_Node, slots=list)
cpdef _run_backward(root, grad, retain_graph, wanted=*, create_graph=*)

@cython.locals(slots=list)
cdef _deliver(dict pending, dict leaves, t, node, slot, g)

@cython.locals(t=_TensorFields)
cpdef _accumulate_into_leaves(leaves, root_grad, graph=*)
