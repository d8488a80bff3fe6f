"""The spec's worked examples as test vectors, computed from the formulas."""

import math

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F


@pytest.fixture(params=["core", "reference"])
def backend(request):
    pydl.set_backend(request.param)


def test_perceptron_weighted_sum(backend):
    # seed 003: x = [1, 0, 1], w = [0.5, -0.6, 0.2], b = 0.1 -> z = 0.8, step output 1
    x = pydl.tensor([[1.0, 0.0, 1.0]])
    w = pydl.tensor([[0.5, -0.6, 0.2]])
    z = F.linear(x, w, pydl.tensor([0.1])).item()
    assert z == pytest.approx(0.8, abs=1e-6)
    assert (1 if z > 0 else 0) == 1


def test_half_sum_of_squares_example(backend):
    # seed 003: L = 1/2 [(0.5 - 0.4)^2 + (0.5 - 0.6)^2] = 0.01
    y_hat, y = pydl.tensor([0.4, 0.6]), pydl.tensor([0.5, 0.5])
    half_sse = F.mse_loss(y_hat, y, reduction="sum") * 0.5
    assert half_sse.item() == pytest.approx(0.01, abs=1e-7)
    # and the mean form of seed 000 section 13.1 gives the same value for N = 2
    assert F.mse_loss(y_hat, y).item() == pytest.approx(0.01, abs=1e-7)


def test_mse_gradient_formula(backend):
    # seed 000 13.1: dL/dy_hat = 2/N (y_hat - y) (the spec's sign convention is flipped)
    y_hat = pydl.tensor([0.4, 0.6, 1.0], requires_grad=True)
    y = pydl.tensor([0.5, 0.5, 0.0])
    F.mse_loss(y_hat, y).backward()
    np.testing.assert_allclose(
        y_hat.grad.numpy(), 2 / 3 * (np.array([0.4, 0.6, 1.0]) - [0.5, 0.5, 0]), rtol=1e-6
    )


def test_softmax_cross_entropy_gradient_is_p_minus_onehot(backend):
    # seed 000 13.2 / seed 001: dL/dz = p - e_k (divided by m for the batch mean)
    z = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]], dtype=np.float32)
    labels = np.array([0, 2])
    zt = pydl.tensor(z, requires_grad=True)
    F.cross_entropy(zt, labels).backward()
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    np.testing.assert_allclose(zt.grad.numpy(), (p - np.eye(3)[labels]) / 2, rtol=1e-5, atol=1e-7)
    # L = -z_k + log sum e^z
    loss = F.cross_entropy(pydl.tensor(z), labels, reduction="none").numpy()
    np.testing.assert_allclose(loss, -z[[0, 1], labels] + np.log(np.exp(z).sum(1)), rtol=1e-6)


def test_cross_entropy_stable_for_large_logits(backend):
    z = pydl.tensor([[1000.0, 0.0, -1000.0], [-5000.0, 5000.0, 0.0]], requires_grad=True)
    loss = F.cross_entropy(z, np.array([0, 0]))
    assert loss.item() == pytest.approx(5000.0, rel=1e-6)
    loss.backward()
    assert np.all(np.isfinite(z.grad.numpy()))


def test_bce_gradient_with_logits(backend):
    # seed 000 13.3: dL/dz = (sigma(z) - y) / N
    z = pydl.tensor([0.3, -1.2, 2.0], requires_grad=True)
    y = np.array([1.0, 0.0, 1.0], dtype=np.float32)
    F.binary_cross_entropy_with_logits(z, y).backward()
    s = 1 / (1 + np.exp(-np.array([0.3, -1.2, 2.0])))
    np.testing.assert_allclose(z.grad.numpy(), (s - y) / 3, rtol=1e-5)


@pytest.mark.parametrize(
    "name, fn, x, expected",
    [
        ("sigmoid", F.sigmoid, 0.0, 0.5),
        ("tanh", F.tanh, 0.5, math.tanh(0.5)),
        ("relu", F.relu, -1.0, 0.0),
        ("leaky_relu", F.leaky_relu, -2.0, -0.02),
        ("elu", F.elu, -1.0, math.exp(-1) - 1),
        ("selu", F.selu, 1.0, 1.0507009873554805),
        ("gelu", F.gelu, 1.0, 0.5 * (1 + math.erf(1 / math.sqrt(2)))),
        (
            "gelu_tanh",
            lambda x: F.gelu(x, approximate="tanh"),
            1.0,
            0.5 * (1 + math.tanh(math.sqrt(2 / math.pi) * 1.044715)),
        ),
        ("silu", F.silu, 1.0, 1 / (1 + math.exp(-1))),
        ("mish", F.mish, 1.0, math.tanh(math.log1p(math.e))),
        ("softplus", F.softplus, 0.0, math.log(2)),
        ("softsign", F.softsign, 3.0, 0.75),
        ("hard_sigmoid", F.hard_sigmoid, 1.0, 0.7),  # the spec's 0.2 x + 0.5
        ("hard_sigmoid_sat", F.hard_sigmoid, 3.0, 1.0),
        ("hardtanh", F.hardtanh, 1.5, 1.0),
    ],
)
def test_activation_values(backend, name, fn, x, expected):
    assert fn(pydl.tensor([x])).item() == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_tanh_derivative_is_one_minus_square(backend):
    z = pydl.tensor([-0.7, 0.0, 1.3], requires_grad=True)
    a = F.tanh(z)
    a.sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), 1 - a.numpy() ** 2, rtol=1e-6)


def test_softmax_sums_to_one(backend):
    p = F.softmax(pydl.tensor([[1.0, 2.0, 3.0], [1000.0, 1000.0, 0.0]])).numpy()
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(p[1], [0.5, 0.5, 0.0], atol=1e-7)


def test_vae_kl_gradients(backend):
    # seed 002: dKL/dmu = mu, dKL/dsigma = sigma - 1/sigma (per sample, summed over dims)
    mu = pydl.tensor([[0.3, -0.5]], requires_grad=True)
    sigma = np.array([[0.8, 1.5]], dtype=np.float32)
    logvar = pydl.tensor(np.log(sigma**2), requires_grad=True)
    kl = F.gaussian_kl_divergence(mu, logvar, reduction="sum")
    expected = -0.5 * np.sum(1 + np.log(sigma**2) - np.array([0.3, -0.5]) ** 2 - sigma**2)
    assert kl.item() == pytest.approx(expected, rel=1e-5)
    kl.backward()
    np.testing.assert_allclose(mu.grad.numpy(), mu.numpy(), rtol=1e-6)
    # dKL/dsigma = dKL/dlogvar * dlogvar/dsigma = dKL/dlogvar * 2 / sigma
    np.testing.assert_allclose(logvar.grad.numpy() * 2 / sigma, sigma - 1 / sigma, rtol=1e-5)


def test_rnn_step_example_formula(backend):
    # seed 003's RNN step, computed from the formula (the document's [0.45, 0.2] is wrong:
    # W_xh x = [0.25, 0.15], W_hh h = [0.06, 0.04], + b = [0.41, 0.09])
    x, h = pydl.tensor([[1.0, 0.5]]), pydl.tensor([[0.2, -0.1]])
    w_xh, w_hh = pydl.tensor([[0.1, 0.3], [0.2, -0.1]]), pydl.tensor([[0.5, 0.4], [0.3, 0.2]])
    b = pydl.tensor([0.1, -0.1])
    h_t = F.tanh(F.linear(x, w_xh, b) + F.linear(h, w_hh))
    np.testing.assert_allclose(h_t.numpy(), np.tanh([[0.41, 0.09]]), rtol=1e-6)


def test_xavier_and_he_initializers():
    w = pydl.nn.Parameter(np.empty((300, 200), np.float32))
    pydl.nn.init.xavier_uniform_(w)
    bound = math.sqrt(6 / 500)
    assert np.abs(w.numpy()).max() <= bound
    assert w.numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.03)
    pydl.nn.init.kaiming_normal_(w, nonlinearity="relu")  # spec: std sqrt(2 / n_in)
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 200), rel=0.03)
    assert w.numpy().mean() == pytest.approx(0.0, abs=0.005)
    pydl.nn.init.xavier_normal_(w)
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 500), rel=0.03)


def test_seed_001_xavier_is_lecun_initialization():
    """Seed 001's "Xavier" W ~ N(0, 1 / n_in) is LeCun's: lecun_normal_ has that variance,
    lecun_uniform_ too; Glorot's (xavier_normal_) is 2 / (n_in + n_out), a different one."""
    w = pydl.nn.Parameter(np.empty((300, 200), np.float32))  # n_out = 300, n_in = 200
    pydl.nn.init.lecun_normal_(w)
    assert w.numpy().std() == pytest.approx(math.sqrt(1 / 200), rel=0.03)
    assert w.numpy().mean() == pytest.approx(0.0, abs=0.005)
    pydl.nn.init.lecun_uniform_(w)
    assert np.abs(w.numpy()).max() <= math.sqrt(3 / 200)
    assert w.numpy().std() == pytest.approx(math.sqrt(1 / 200), rel=0.03)
    assert math.sqrt(2 / 500) < 0.9 * math.sqrt(1 / 200)  # the two are told apart above
