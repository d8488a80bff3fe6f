# Cython's types for pydl/tensor.py (Note [Compiled engine] in CMakeLists.txt): the .py is
# the source; this file only tells the compiler what it may assume when it builds it.
# _Node becomes an extension type: its fields are C struct members, so recording an op and
# walking the graph read and write them without attribute lookups. Tensor stays a Python
# class: pydl._tensor_methods installs its methods after import, which an extension type
# would refuse.

cdef class _Node:
    cdef public object backward
    cdef public object edges
    cdef public object inputs
    cdef public object outputs
    cdef public object saved
    cdef public object versions
    cdef object __weakref__
