"""Convolutional networks: the spec's examples and network, layer behaviour, bad input,
PyTorch parity (when installed), a CNN trained on the bundled digits."""

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F
from pydl import nn, optim


@pytest.fixture(params=["core", "reference"])
def backend(request):
    pydl.set_backend(request.param)


def test_spec_convolution_example(backend):
    # seed 003: I = [[1,2,0],[4,5,6],[7,8,9]], K = [[1,0],[-1,1]] -> [[2,3],[5,6]]
    image = pydl.tensor([[[[1.0, 2, 0], [4, 5, 6], [7, 8, 9]]]])
    kernel = pydl.tensor([[[[1.0, 0], [-1, 1]]]])
    np.testing.assert_array_equal(F.conv2d(image, kernel).numpy()[0, 0], [[2, 3], [5, 6]])


def cifar_net():
    """Seed 001's CIFAR network."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2048, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def test_spec_cifar_network_parameters_and_shapes():
    net = cifar_net()
    assert sum(p.numel() for p in net.parameters()) == 268_650
    x = pydl.randn(4, 3, 32, 32)
    shapes = []
    for layer in net:
        x = layer(x)
        shapes.append(x.shape)
    assert shapes == [
        (4, 16, 32, 32),
        (4, 16, 32, 32),
        (4, 16, 16, 16),
        (4, 32, 16, 16),
        (4, 32, 16, 16),
        (4, 32, 8, 8),
        (4, 2048),
        (4, 128),
        (4, 128),
        (4, 10),
    ]


@pytest.mark.parametrize("size, k, s, p", [(32, 3, 1, 1), (7, 3, 2, 0), (9, 5, 2, 2), (8, 2, 2, 0)])
def test_output_size_formula(size, k, s, p):
    # H_out = floor((H_in + 2p - k) / s) + 1
    y = F.conv2d(pydl.randn(1, 1, size, size), pydl.randn(1, 1, k, k), stride=s, padding=p)
    assert y.shape[-1] == (size + 2 * p - k) // s + 1


def test_batchnorm_train_then_eval_uses_running_statistics(backend):
    bn = nn.BatchNorm2d(3, momentum=0.5)
    rng = np.random.default_rng(0)
    batches = [rng.normal(2.0, 3.0, (8, 3, 4, 4)).astype(np.float32) for _ in range(3)]
    mean, var = np.zeros(3), np.ones(3)
    for b in batches:
        bn(pydl.tensor(b))
        mean = 0.5 * mean + 0.5 * b.mean(axis=(0, 2, 3))
        var = 0.5 * var + 0.5 * b.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-5)
    bn.eval()
    x = rng.normal(0, 1, (2, 3, 4, 4)).astype(np.float32)
    want = (x - mean.reshape(1, 3, 1, 1)) / np.sqrt(var.reshape(1, 3, 1, 1) + 1e-5)
    np.testing.assert_allclose(bn(pydl.tensor(x)).numpy(), want, rtol=1e-4, atol=1e-5)
    assert "running_mean" in bn.state_dict()


def test_batchnorm_train_on_single_value_raises(backend):
    bn = nn.BatchNorm2d(4)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        bn(pydl.randn(1, 4, 1, 1))
    bn.eval()
    assert bn(pydl.randn(1, 4, 1, 1)).shape == (1, 4, 1, 1)


def test_dropout_behaviour(backend):
    x = pydl.tensor(np.ones((64, 64), np.float32))
    drop = nn.Dropout(0.25)
    y = drop(x).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.03
    drop.eval()
    assert drop(x) is x
    assert np.array_equal(F.dropout(x, 1.0).numpy(), np.zeros((64, 64)))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    y2 = nn.Dropout2d(0.5)(pydl.tensor(np.ones((4, 8, 3, 3), np.float32))).numpy()
    per_channel = y2.reshape(32, 9)
    assert all(len(set(row)) == 1 for row in per_channel)  # whole channels kept or dropped


def test_dropout_mask_independent_of_threads_and_backend():
    x = pydl.tensor(np.ones(100_000, np.float32))
    masks = []
    for backend, threads in [("core", 1), ("core", 2), ("reference", 1)]:
        pydl.set_backend(backend)
        pydl.set_num_threads(threads)
        pydl.manual_seed(7)
        masks.append(F.dropout(x, 0.5).numpy())
    assert np.array_equal(masks[0], masks[1]) and np.array_equal(masks[0], masks[2])


@pytest.mark.parametrize(
    "make, x_shape, message",
    [
        (lambda: nn.Conv2d(3, 8, 3), (2, 4, 8, 8), r"in_channels=3.*\(2, 4, 8, 8\)"),
        (
            lambda: nn.Conv2d(3, 8, 7),
            (1, 3, 4, 4),
            r"kernel 7x7.*larger than the padded input \(1, 3, 4, 4\)",
        ),
        (lambda: nn.Conv2d(3, 8, 3, padding=-1), (1, 3, 8, 8), "padding must be >= 0"),
        (lambda: nn.Conv2d(3, 8, 3, stride=0), (1, 3, 8, 8), r"stride must be >= 1"),
        (lambda: nn.Conv1d(2, 4, 3), (1, 3, 9), r"in_channels=2.*\(1, 3, 9\)"),
        (lambda: nn.MaxPool2d(5), (1, 1, 3, 3), r"larger than the padded input \(1, 1, 3, 3\)"),
        (lambda: nn.MaxPool2d(2, padding=2), (1, 1, 8, 8), "at most half the kernel size"),
        (lambda: nn.BatchNorm2d(4), (2, 3, 4, 4), r"4 channels, got shape \(2, 3, 4, 4\)"),
    ],
)
def test_bad_input_names_setting_and_shape(backend, make, x_shape, message):
    with pytest.raises(ValueError, match=message):
        make()(pydl.randn(*x_shape))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 8, 3, groups=2)
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(3, 8)


@pytest.mark.parametrize(
    "cfg",
    [
        dict(
            in_channels=3, out_channels=6, kernel_size=3, stride=2, padding=1, dilation=1, groups=3
        ),
        dict(
            in_channels=4,
            out_channels=4,
            kernel_size=(3, 2),
            stride=1,
            padding="same",
            dilation=2,
            groups=1,
        ),
    ],
)
def test_conv2d_matches_pytorch(torch, cfg):
    mine = nn.Conv2d(**cfg)
    theirs = torch.nn.Conv2d(**cfg)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(mine.weight.numpy()))
        theirs.bias.copy_(torch.tensor(mine.bias.numpy()))
    x = np.random.default_rng(0).standard_normal((2, cfg["in_channels"], 9, 8)).astype(np.float32)
    xm, xt = pydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym, yt = mine(xm), theirs(xt)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = np.random.default_rng(1).standard_normal(ym.shape).astype(np.float32)
    ym.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        mine.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize(
    "shape, kernel, stride, padding, dilation, ceil",
    [
        ((2, 3, 8, 34), (2, 2), (2, 2), (0, 0), (1, 1), False),  # the 2x2 fast path, long rows
        ((2, 3, 7, 9), (2, 2), (2, 2), (1, 1), (1, 1), True),  # fast path plus padded edges
        ((1, 2, 9, 40), (3, 3), (2, 2), (1, 1), (1, 1), False),  # the general vectorized body
        ((1, 2, 9, 20), (2, 3), (1, 2), (0, 1), (2, 1), True),
    ],
)
def test_max_pool_kernels_agree_on_ties_and_nans(shape, kernel, stride, padding, dilation, ceil):
    # Few distinct values (ties everywhere, as after a ReLU) and scattered NaNs: the core
    # must pick the same argmax as the reference (first maximum; the first NaN wins).
    from pydl import _core, reference

    rng = np.random.default_rng(7)
    x = rng.integers(-2, 3, shape).astype(np.float32)
    x[rng.random(shape) < 0.05] = np.nan
    args = (kernel, stride, padding, dilation, ceil)
    y, idx = _core.maxpool2d_forward(x, *args)
    y_ref, idx_ref = reference.maxpool2d_forward(x, *args)
    np.testing.assert_array_equal(idx, idx_ref)
    np.testing.assert_array_equal(y, y_ref)  # NaN positions compare equal
    g = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_array_equal(
        _core.maxpool2d_backward(g, idx, shape, *args),
        reference.maxpool2d_backward(g, idx, shape, *args),
    )


@pytest.mark.parametrize("bad", [16, -2, np.iinfo(np.int64).max, np.iinfo(np.int64).min])
def test_max_pool_backward_rejects_bad_indices(bad):
    from pydl import _core

    args = ((2, 2), (2, 2), (0, 0), (1, 1), False)
    y, idx = _core.maxpool2d_forward(np.zeros((1, 1, 4, 4), np.float32), *args)
    idx[0, 0, 1, 1] = bad
    with pytest.raises(IndexError, match=f"index {bad} is outside a 4x4 plane"):
        _core.maxpool2d_backward(y, idx, (1, 1, 4, 4), *args)


def test_pool_and_norm_layers_match_pytorch(torch):
    x = np.random.default_rng(2).standard_normal((3, 4, 7, 6)).astype(np.float32)
    pairs = [
        (nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1)),
        (nn.MaxPool2d(2, ceil_mode=True), torch.nn.MaxPool2d(2, ceil_mode=True)),
        (
            nn.AvgPool2d(3, 2, 1, count_include_pad=False),
            torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False),
        ),
        (nn.AvgPool2d(3, 2, 1, ceil_mode=True), torch.nn.AvgPool2d(3, 2, 1, ceil_mode=True)),
        (nn.AdaptiveAvgPool2d((3, 4)), torch.nn.AdaptiveAvgPool2d((3, 4))),
        (nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4)),
        (nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4)),
        (nn.InstanceNorm2d(4), torch.nn.InstanceNorm2d(4)),
        (nn.LayerNorm((7, 6)), torch.nn.LayerNorm((7, 6))),
    ]
    for mine, theirs in pairs:
        xm, xt = pydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ym, yt = mine(xm), theirs(xt)
        np.testing.assert_allclose(
            ym.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5, err_msg=type(mine).__name__
        )
        g = np.random.default_rng(3).standard_normal(ym.shape).astype(np.float32)
        ym.backward(g)
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(
            xm.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=type(mine).__name__
        )
    bn_m, bn_t = pairs[5]
    np.testing.assert_allclose(bn_m.running_var.numpy(), bn_t.running_var.numpy(), rtol=1e-5)


def test_small_cnn_reaches_97_percent_on_digits():
    pydl.manual_seed(0)
    (x, y), (xt, yt) = pydl.data.load_digits()
    x, xt = x[:, None], xt[:, None]
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.1),
        nn.Linear(128, 10),
    )
    opt = optim.Adam(model.parameters(), lr=3e-3)
    loader = pydl.data.DataLoader(pydl.data.TensorDataset(x, y), batch_size=64, shuffle=True)
    for _ in range(12):
        for xb, yb in loader:
            loss = F.cross_entropy(model(pydl.tensor(xb)), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with pydl.no_grad():
        acc = (model(pydl.tensor(xt)).numpy().argmax(1) == yt).mean()
    assert acc >= 0.97, acc
