"""Creation functions against PyTorch: shapes, dtypes (PyTorch's inference), values of the
deterministic ones (eye, logspace, arange, tril/triu_indices), and the random ones (randint,
randperm, multinomial, bernoulli, normal) drawn from pydl's seeded generator: reproducible,
the same on any thread count, with the right distribution, and their argument errors."""

import numpy as np
import pytest

import pydl


def _dtype_name(t) -> str:
    return str(t.dtype).replace("torch.", "")


@pytest.mark.parametrize(
    "make",
    [
        lambda L: L.zeros(2, 3),
        lambda L: L.zeros((2, 3), dtype=L.int64),
        lambda L: L.ones(4, dtype=L.float64, requires_grad=True),
        lambda L: L.empty(0, 2, dtype=L.int32),
        lambda L: L.full((2,), 3),
        lambda L: L.full((2,), 3.0),
        lambda L: L.full((2,), True),
        lambda L: L.arange(5),
        lambda L: L.arange(1, 4.0),
        lambda L: L.arange(0, 1, 0.25),
        lambda L: L.arange(5, dtype=L.float64),
        lambda L: L.linspace(0, 1, 5),
        lambda L: L.logspace(0, 2, 3),
        lambda L: L.logspace(-1, 3, 7, base=2.0),
        lambda L: L.logspace(0, 3, 4, dtype=L.int64),
        lambda L: L.eye(3),
        lambda L: L.eye(2, 4, dtype=L.int64),
        lambda L: L.eye(0),
        lambda L: L.tril_indices(3, 4),
        lambda L: L.tril_indices(4, 3, -1),
        lambda L: L.tril_indices(3, 3, 5),
        lambda L: L.triu_indices(3, 4, 1),
        lambda L: L.triu_indices(4, 2, -2, dtype=L.int32),
        lambda L: L.triu_indices(0, 3),
    ],
)
def test_deterministic_factories_match_torch(torch, make):
    ours, theirs = make(pydl), make(torch)
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == _dtype_name(theirs)
    assert ours.requires_grad == theirs.requires_grad
    if ours.numel() and make.__code__.co_names[-1] != "empty":
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        lambda L: L.randint(10, (3, 4)),
        lambda L: L.randint(-3, 3, (5,)),
        lambda L: L.randint(0, 2, size=(2, 2), dtype=L.int32),
        lambda L: L.randint(5, (0,)),
        lambda L: L.randint_like(L.zeros(2, 3), 7),
        lambda L: L.randint_like(L.zeros(2, 3, dtype=L.int64), 2, 9),
        lambda L: L.randperm(6),
        lambda L: L.randperm(0),
        lambda L: L.multinomial(L.tensor([0.2, 0.3, 0.5]), 2),
        lambda L: L.multinomial(L.tensor([[0.2, 0.8], [0.5, 0.5]]), 4, replacement=True),
        lambda L: L.bernoulli(L.full((2, 3), 0.5)),
        lambda L: L.bernoulli(L.zeros(2, dtype=L.float64), 0.3),
        lambda L: L.normal(0.0, 1.0, (2, 3)),
        lambda L: L.normal(L.zeros(3), 2.0),
        lambda L: L.normal(L.zeros(3, 1), L.ones(4)),
        lambda L: L.normal(1.0, L.ones(2, dtype=L.float64)),
    ],
)
def test_random_factories_have_torch_shapes_and_dtypes(torch, make):
    ours, theirs = make(pydl), make(torch)
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == _dtype_name(theirs)


def test_randint_draws_every_value_in_range_uniformly():
    pydl.manual_seed(0)
    x = pydl.randint(-2, 5, (70000,)).numpy()
    assert x.min() == -2 and x.max() == 4
    freq = np.bincount(x + 2) / x.size
    np.testing.assert_allclose(freq, np.full(7, 1 / 7), atol=0.01)


def test_randint_covers_a_range_wider_than_float32():
    pydl.manual_seed(1)
    x = pydl.randint(0, 2**40, (1000,)).numpy()
    assert x.min() >= 0 and x.max() < 2**40 and x.max() > 2**39
    assert len(np.unique(x % 1024)) > 500  # low bits vary too (float64 draws)


def test_random_draws_are_reproducible_and_thread_independent():
    def draws():
        pydl.manual_seed(123)
        return [
            pydl.randint(100, (50,)).numpy(),
            pydl.randperm(40).numpy(),
            pydl.multinomial(pydl.tensor([1.0, 2.0, 3.0, 4.0]), 3).numpy(),
            pydl.bernoulli(pydl.full((30,), 0.4)).numpy(),
            pydl.normal(0.0, 1.0, (1000,)).numpy(),
        ]

    with pydl.threads(1):
        a = draws()
    with pydl.threads(2):
        b = draws()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    pydl.manual_seed(124)
    assert not np.array_equal(pydl.randint(100, (50,)).numpy(), a[0])


def test_randperm_is_a_permutation():
    pydl.manual_seed(2)
    p = pydl.randperm(1000).numpy()
    assert p.dtype == np.int64 and sorted(p) == list(range(1000))
    assert not np.array_equal(p, np.arange(1000))


def test_multinomial_with_replacement_follows_the_weights():
    pydl.manual_seed(3)
    w = np.array([1.0, 0.0, 3.0, 6.0])
    x = pydl.multinomial(pydl.tensor(w), 40000, replacement=True).numpy()
    np.testing.assert_allclose(np.bincount(x, minlength=4) / x.size, w / w.sum(), atol=0.01)


def test_multinomial_without_replacement_draws_distinct_categories():
    pydl.manual_seed(4)
    w = pydl.tensor([[0.1, 0.0, 0.6, 0.3]] * 20000)
    x = pydl.multinomial(w, 3).numpy()
    assert all(len(set(r)) == 3 and 1 not in r for r in x)
    # the first draw follows the weights
    np.testing.assert_allclose(np.bincount(x[:, 0], minlength=4) / len(x), [0.1, 0, 0.6, 0.3],
                               atol=0.015)  # fmt: skip


def test_bernoulli_mean_and_extremes():
    pydl.manual_seed(5)
    p = np.array([0.0, 0.25, 0.9, 1.0])
    x = pydl.bernoulli(pydl.tensor(np.tile(p, (20000, 1)))).numpy()
    assert set(np.unique(x)) <= {0.0, 1.0}
    np.testing.assert_allclose(x.mean(axis=0), p, atol=0.012)
    assert x[:, 0].max() == 0 and x[:, 3].min() == 1


def test_bernoulli_in_place():
    pydl.manual_seed(7)
    x = pydl.zeros(20000, 3, dtype=pydl.float64)
    assert x.bernoulli_(pydl.tensor([0.0, 0.5, 1.0])) is x
    np.testing.assert_allclose(x.numpy().mean(axis=0), [0.0, 0.5, 1.0], atol=0.015)
    x.bernoulli_()
    np.testing.assert_allclose(x.numpy().mean(), 0.5, atol=0.01)


def test_normal_moments():
    pydl.manual_seed(6)
    x = pydl.normal(pydl.tensor([[-3.0], [5.0]]), pydl.tensor([0.5, 2.0, 1.0] * 10000)).numpy()
    np.testing.assert_allclose(x[0].mean(), -3.0, atol=0.03)
    np.testing.assert_allclose(x[1].reshape(-1, 3).std(axis=0), [0.5, 2.0, 1.0], rtol=0.03)


@pytest.mark.parametrize(
    ("error", "make"),
    [
        (RuntimeError, lambda: pydl.randint(5, 5, (2,))),
        (TypeError, lambda: pydl.randint(5)),
        (RuntimeError, lambda: pydl.randint(3, (-1,))),
        (RuntimeError, lambda: pydl.randperm(-1)),
        (RuntimeError, lambda: pydl.multinomial(pydl.tensor([0.5, 0.5]), 3)),
        (RuntimeError, lambda: pydl.multinomial(pydl.tensor([0.0, 1.0]), 2)),
        (RuntimeError, lambda: pydl.multinomial(pydl.tensor([-1.0, 2.0]), 1)),
        (RuntimeError, lambda: pydl.multinomial(pydl.tensor([0.0, 0.0]), 1, True)),
        (RuntimeError, lambda: pydl.multinomial(pydl.ones(2, 2, 2), 1)),
        (RuntimeError, lambda: pydl.bernoulli(pydl.tensor([1.5]))),
        (TypeError, lambda: pydl.normal(0.0, 1.0)),
        (RuntimeError, lambda: pydl.normal(pydl.zeros(2), -1.0)),
        (TypeError, lambda: pydl.eye(2, dtype="float32")),
        (RuntimeError, lambda: pydl.tril_indices(3, 3, dtype=pydl.float32)),
    ],
)
def test_bad_arguments_raise(error, make):
    with pytest.raises(error):
        make()
