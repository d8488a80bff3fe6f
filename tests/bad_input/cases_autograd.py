"""The autograd API given bad input (Note [Bad-input corpus]): grad with outputs that do not
require grad, mismatched grad_outputs, backward twice without retain_graph, Function
misuse, gradcheck with float32 inputs, tensor hooks returning wrong shapes, and the
functional API (jacobian, vjp, ...) with wrong arguments."""

import warnings

import numpy as np
from corpus import bad, works

import pydl
from pydl import autograd
from pydl.autograd import functional as AF

CASES: list = []


def _x(*shape, dtype=np.float32):
    return pydl.tensor(np.ones(shape or (3,), dtype), requires_grad=True)


# ----- autograd.grad ------------------------------------------------------------------------


def _grad_no_requires_grad():
    x = pydl.ones(3)
    return autograd.grad((x * 2).sum(), x)


def _grad_output_constant():
    x = _x()
    y = pydl.ones(3).sum()
    return autograd.grad(y, x)


def _grad_mismatched_shape():
    x = _x()
    return autograd.grad(x * 2, x, grad_outputs=pydl.ones(4))


def _grad_count():
    x = _x()
    return autograd.grad([x * 2, x * 3], x, grad_outputs=[pydl.ones(3)])


def _grad_nonscalar():
    x = _x()
    return autograd.grad(x * 2, x)


def _grad_unused():
    x, y = _x(), _x()
    return autograd.grad((x * 2).sum(), [x, y])


def _grad_twice():
    x = _x()
    y = (x * x).sum()
    autograd.grad(y, x)
    return autograd.grad(y, x)


def _grad_inputs_list_of_arrays():
    x = _x()
    return autograd.grad((x * 2).sum(), [np.ones(3)])


def _grad_outputs_str():
    x = _x()
    return autograd.grad((x * 2), x, grad_outputs="ones")


def _grad_outputs_list_of_numbers():
    x = _x()
    (g,) = autograd.grad(x * 2, x, grad_outputs=[[1.0, 2.0, 3.0]])
    assert np.allclose(g.numpy(), [2, 4, 6])


bad(
    CASES,
    "autograd.grad.input_no_requires_grad",
    _grad_no_requires_grad,
    RuntimeError,
    r"inputs\[0\] does not require grad",
)
bad(
    CASES,
    "autograd.grad.output_no_requires_grad",
    _grad_output_constant,
    RuntimeError,
    r"none of the outputs requires grad",
)
bad(
    CASES,
    "autograd.grad.grad_outputs_shape",
    _grad_mismatched_shape,
    RuntimeError,
    r"grad_outputs\[0\].*\(4,\).*\(3,\)",
)
bad(
    CASES,
    "autograd.grad.grad_outputs_count",
    _grad_count,
    (ValueError, RuntimeError),
    r"1 grad_outputs for 2 outputs",
)
bad(
    CASES,
    "autograd.grad.nonscalar_without_grad_outputs",
    _grad_nonscalar,
    RuntimeError,
    r"implicitly created only for scalar outputs.*\(3,\)",
)
bad(CASES, "autograd.grad.unused_input", _grad_unused, RuntimeError, r"inputs\[1\].*allow_unused")
bad(
    CASES,
    "autograd.grad.twice_without_retain_graph",
    _grad_twice,
    RuntimeError,
    r"second time|freed|retain_graph",
)
bad(
    CASES,
    "autograd.grad.inputs_ndarray",
    _grad_inputs_list_of_arrays,
    TypeError,
    r"inputs must be Tensors.*ndarray",
)
bad(
    CASES,
    "autograd.grad.outputs_float",
    lambda: autograd.grad(1.0, _x()),
    TypeError,
    r"outputs.*float",
)
bad(CASES, "autograd.grad.grad_outputs_str", _grad_outputs_str, TypeError, r"grad_outputs.*str")
bad(
    CASES,
    "autograd.grad.empty_inputs",
    lambda: autograd.grad((_x() * 2).sum(), []),
    ValueError,
    r"at least one output and one input",
)
works(CASES, "autograd.grad.grad_outputs_nested_list", _grad_outputs_list_of_numbers)


def _allow_unused():
    x, y = _x(), _x()
    gx, gy = autograd.grad((x * 2).sum(), [x, y], allow_unused=True)
    assert gy is None and np.allclose(gx.numpy(), 2)
    _, gz = autograd.grad((x * 2).sum(), [x, y], materialize_grads=True)
    assert np.array_equal(gz.numpy(), np.zeros(3))


works(CASES, "autograd.grad.allow_unused", _allow_unused)

# ----- Tensor.backward ----------------------------------------------------------------------


def _backward_twice():
    x = _x()
    y = (x * x).sum()
    y.backward()
    y.backward()


def _backward_no_grad():
    pydl.ones(3).sum().backward()


def _backward_nonscalar():
    (_x() * 2).backward()


def _backward_gradient_shape():
    (_x() * 2).backward(pydl.ones(2))


def _backward_under_no_grad():
    x = _x()
    with pydl.no_grad():
        y = (x * 2).sum()
    y.backward()


def _backward_after_inplace():
    x = _x()
    y = x * 1
    z = (y * y).sum()
    y.add_(1)
    z.backward()


bad(
    CASES,
    "autograd.backward.twice_without_retain_graph",
    _backward_twice,
    RuntimeError,
    r"second time|freed|retain_graph",
)
bad(
    CASES,
    "autograd.backward.no_requires_grad",
    _backward_no_grad,
    RuntimeError,
    r"does not require grad",
)
bad(
    CASES,
    "autograd.backward.nonscalar",
    _backward_nonscalar,
    RuntimeError,
    r"implicitly created only for scalar outputs",
)
bad(
    CASES,
    "autograd.backward.gradient_shape",
    _backward_gradient_shape,
    (RuntimeError, ValueError),
    r"\(2,\).*\(3,\)|shape",
)
bad(
    CASES,
    "autograd.backward.under_no_grad",
    _backward_under_no_grad,
    RuntimeError,
    r"does not require grad",
)
bad(
    CASES,
    "autograd.backward.after_inplace",
    _backward_after_inplace,
    RuntimeError,
    r"modified by an inplace operation",
)


def _retain_graph_twice():
    x = _x()
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert np.allclose(x.grad.numpy(), 4)


works(CASES, "autograd.backward.retain_graph_twice", _retain_graph_twice)

# ----- tensor hooks -------------------------------------------------------------------------


def _hook_wrong_shape():
    x = _x()
    x.register_hook(lambda g: pydl.ones(5))
    (x * 2).sum().backward()


def _hook_wrong_type():
    x = _x()
    x.register_hook(lambda g: "grad")
    (x * 2).sum().backward()


def _hook_on_intermediate_wrong_shape():
    x = _x()
    y = x * 2
    y.register_hook(lambda g: pydl.ones(2, 3))
    y.sum().backward()


bad(
    CASES,
    "autograd.hook.no_requires_grad",
    lambda: pydl.ones(3).register_hook(lambda g: g),
    RuntimeError,
    r"doesn't require grad|does not require grad",
)
bad(
    CASES,
    "autograd.hook.returns_wrong_shape",
    _hook_wrong_shape,
    RuntimeError,
    r"hook must return None or a Tensor of the gradient.s shape \(3,\), got tensor\(\[(1\., ){4}1",
)
bad(
    CASES, "autograd.hook.returns_str", _hook_wrong_type, (TypeError, RuntimeError), r"hook.*'grad'"
)
bad(
    CASES,
    "autograd.hook.intermediate_wrong_shape",
    _hook_on_intermediate_wrong_shape,
    RuntimeError,
    r"hook must return None or a Tensor of the gradient.s shape \(3,\), got tensor\(\[\[1",
)


def _hook_scales():
    x = _x()
    x.register_hook(lambda g: g * 3)
    (x * 2).sum().backward()
    assert np.allclose(x.grad.numpy(), 6)


works(CASES, "autograd.hook.scales", _hook_scales)

# ----- Function -----------------------------------------------------------------------------


class _Double(autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2


class _TooManyGrads(autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2, g


class _WrongShape(autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.sum()

    @staticmethod
    def backward(ctx, g):
        return pydl.ones(7)


class _ReturnsArray(autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.numpy() * 2


class _SavesArray(autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x.numpy())
        return x * 2


class _NoBackward(autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2


bad(
    CASES,
    "autograd.Function.instantiated",
    lambda: _Double()(_x()),
    RuntimeError,
    r"_Double\.apply",
)
bad(
    CASES,
    "autograd.Function.too_many_grads",
    lambda: _TooManyGrads.apply(_x()).sum().backward(),
    RuntimeError,
    r"returned 2 gradients, expected 1",
)
bad(
    CASES,
    "autograd.Function.wrong_grad_shape",
    lambda: _WrongShape.apply(_x()).backward(),
    RuntimeError,
    r"gradient 0 must be None or a Tensor of shape \(3,\)",
)
bad(
    CASES,
    "autograd.Function.forward_returns_array",
    lambda: _ReturnsArray.apply(_x()),
    TypeError,
    r"forward must return Tensors.*ndarray",
)
bad(
    CASES,
    "autograd.Function.save_array",
    lambda: _SavesArray.apply(_x()),
    TypeError,
    r"save_for_backward can only save tensors.*ndarray",
)
bad(
    CASES,
    "autograd.Function.no_backward",
    lambda: _NoBackward.apply(_x()).sum().backward(),
    NotImplementedError,
    r"must define backward",
)
bad(
    CASES,
    "autograd.Function.no_forward",
    lambda: autograd.Function.apply(_x()),
    NotImplementedError,
    r"must define forward",
)


class _Scale(autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        return x * k

    @staticmethod
    def backward(ctx, g):
        return g * ctx.k, None


def _non_tensor_argument():
    x = _x()
    _Scale.apply(x, 3.0).sum().backward()
    assert np.allclose(x.grad.numpy(), 3.0)


works(CASES, "autograd.Function.non_tensor_argument", _non_tensor_argument)


def _quiet(check, *args):
    """check(*args) without its float32 warning (PyTorch's too): the error must say it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return check(*args)


# ----- gradcheck ----------------------------------------------------------------------------

bad(
    CASES,
    "autograd.gradcheck.float32_input",
    lambda: _quiet(autograd.gradcheck, lambda x: x * x * x, (_x(),)),
    (ValueError, TypeError, RuntimeError),
    r"float64|double",
)
bad(
    CASES,
    "autograd.gradcheck.no_requires_grad",
    lambda: autograd.gradcheck(lambda x: x * 2, (pydl.ones(3, dtype=pydl.float64),)),
    ValueError,
    r"at least one input tensor to require gradient",
)
bad(
    CASES,
    "autograd.gradcheck.not_callable",
    lambda: autograd.gradcheck(3, (_x(dtype=np.float64),)),
    TypeError,
    r"func.*callable.*int",
)
bad(
    CASES,
    "autograd.gradcheck.eps_zero",
    lambda: autograd.gradcheck(lambda x: x * 2, (_x(dtype=np.float64),), eps=0),
    ValueError,
    r"eps.*0",
)
bad(
    CASES,
    "autograd.gradgradcheck.float32_input",
    lambda: _quiet(autograd.gradgradcheck, lambda x: x * x * x, (_x(),)),
    (ValueError, TypeError, RuntimeError),
    r"float64|double",
)


class _WrongGrad(autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 3


bad(
    CASES,
    "autograd.gradcheck.wrong_backward",
    lambda: autograd.gradcheck(_WrongGrad.apply, (_x(dtype=np.float64),)),
    autograd.GradcheckError,
    r"Jacobian mismatch",
)
works(
    CASES,
    "autograd.gradcheck.single_tensor_input",
    lambda: autograd.gradcheck(lambda x: (x * x).sum(), _x(dtype=np.float64)),
)

# ----- functional ---------------------------------------------------------------------------

bad(
    CASES,
    "autograd.functional.jacobian_array_input",
    lambda: AF.jacobian(lambda x: x * 2, np.ones(3)),
    TypeError,
    r"inputs.*Tensor.*ndarray",
)
bad(
    CASES,
    "autograd.functional.jacobian_returns_float",
    lambda: AF.jacobian(lambda x: 1.0, pydl.ones(3)),
    TypeError,
    r"Tensor.*float",
)
bad(
    CASES,
    "autograd.functional.jacobian_strategy",
    lambda: AF.jacobian(lambda x: x * 2, pydl.ones(3), strategy="sideways"),
    ValueError,
    r"strategy.*sideways",
)
bad(
    CASES,
    "autograd.functional.vjp_v_shape",
    lambda: AF.vjp(lambda x: x * 2, pydl.ones(3), pydl.ones(4)),
    RuntimeError,
    r"\(4,\).*\(3,\)",
)
bad(
    CASES,
    "autograd.functional.vjp_missing_v",
    lambda: AF.vjp(lambda x: x * 2, pydl.ones(3)),
    RuntimeError,
    r"v can be omitted only",
)
bad(
    CASES,
    "autograd.functional.jvp_missing_v",
    lambda: AF.jvp(lambda x: x.sum(), pydl.ones(3)),
    RuntimeError,
    r"v can be omitted only",
)
bad(
    CASES,
    "autograd.functional.hessian_nonscalar",
    lambda: AF.hessian(lambda x: x * x, pydl.ones(3)),
    RuntimeError,
    r"single-element",
)
bad(
    CASES,
    "autograd.functional.strict_independent",
    lambda: AF.jacobian(lambda x: pydl.ones(2), pydl.ones(3), strict=True),
    RuntimeError,
    r"independent",
)


def _jacobian_value():
    j = AF.jacobian(lambda x: x * x, pydl.tensor(np.array([1.0, 2.0], np.float32)))
    assert np.allclose(j.numpy(), np.diag([2.0, 4.0]))


works(CASES, "autograd.functional.jacobian", _jacobian_value)

# ----- grad-mode context managers -----------------------------------------------------------

bad(
    CASES,
    "autograd.requires_grad_.int_tensor",
    lambda: pydl.tensor(np.arange(3)).requires_grad_(),
    RuntimeError,
    r"only floating-point tensors can require grad.*int64",
)
