"""MADE, the autoregressive model of pydl.models (Note [MADE masks]): the autoregressive
property, normalized conditionals, pixel-by-pixel sampling, training."""

import math

import numpy as np
import pytest

import pydl
from pydl.models import MADE, train_made
from pydl.models.evaluation import digit_levels

from helpers import train_on_digits


def _trained(order=None, steps=15):
    """A small MADE after a few Adam steps (so that its conditionals are not uniform)."""
    pydl.manual_seed(0)
    return train_on_digits(MADE(hidden=(64, 64), features=8, order=order), steps)


def test_mask_connectivity_is_strictly_autoregressive():
    model = MADE(hidden=(48, 40), features=3, order=np.random.default_rng(0).permutation(64))
    masks = [m.mask.numpy() for m in model.modules() if hasattr(m, "mask")]
    reach = masks[0]  # (hidden, 64): which inputs reach each unit
    for mask in masks[1:]:
        reach = (mask @ reach > 0).astype(np.float32)
    reach = reach.reshape(64, 3, 64).max(axis=1)  # output pixel d <- input pixel j
    rank = np.argsort(model.order.numpy())  # position of each pixel in the order
    allowed = rank[None, :] < rank[:, None]
    assert not (reach.astype(bool) & ~allowed).any()
    assert reach.sum() > 0.5 * allowed.sum()  # and not trivially empty


@pytest.mark.parametrize("order", [None, "random"])
def test_logits_of_pixel_t_ignore_pixels_from_t_on(order):
    order = np.random.default_rng(1).permutation(64) if order == "random" else None
    model, _ = _trained(order, steps=3)
    rng = np.random.default_rng(2)
    x = digit_levels("test")[0][:8]
    base = model(x).numpy()
    order = model.order.numpy()
    for pos in (0, 1, 17, 40, 63):
        later = order[pos:]
        y = x.copy()
        y[:, later] = rng.integers(0, 17, (len(x), len(later)))
        moved = model(y).numpy()
        np.testing.assert_array_equal(moved[:, order[pos]], base[:, order[pos]])
        if pos < 63:  # while the logits of later pixels do see them
            after = order[pos + 1 :]
            assert np.abs(moved[:, after] - base[:, after]).max() > 1e-3


@pytest.mark.parametrize("order", [None, "random"])
def test_all_completions_of_the_last_two_pixels_sum_to_one(order):
    order = np.random.default_rng(3).permutation(64) if order == "random" else None
    model, _ = _trained(order)
    x = digit_levels("test")[0][5]
    order = model.order.numpy()
    a, b = order[-2], order[-1]
    grid = np.repeat(x[None], 17 * 17, axis=0)
    grid[:, a] = np.repeat(np.arange(17), 17)
    grid[:, b] = np.tile(np.arange(17), 17)
    with pydl.no_grad():
        log_p = model.log_prob(grid).numpy().astype(np.float64)
        prefix = model.log_prob_per_pixel(x[None]).numpy()[0, order[:-2]].sum()
    top = log_p.max()
    total = top + math.log(np.exp(log_p - top).sum())  # log sum over the 289 completions
    assert total == pytest.approx(prefix, abs=1e-4)  # = log p(x_<a): they sum to one
    assert np.ptp(log_p) > 1.0  # the completions do differ


def test_loss_is_the_mean_negative_log_likelihood_and_training_lowers_it():
    model, losses = _trained()
    x = digit_levels("test")[0][:32]
    with pydl.no_grad():
        assert model.loss(x).item() == pytest.approx(-model.log_prob(x).numpy().mean(), rel=1e-5)
    assert losses[0] == pytest.approx(64 * math.log(17), rel=0.05)  # near uniform at start
    assert np.mean(losses[-4:]) < 0.8 * losses[0]


def test_a_loaded_state_brings_its_masks_and_order():
    model, _ = _trained(np.random.default_rng(4).permutation(64), steps=2)
    pydl.manual_seed(9)
    other = MADE(hidden=(64, 64), features=8)  # other masks, natural order
    other.load_state_dict(model.state_dict())
    x = digit_levels("test")[0][:8]
    np.testing.assert_array_equal(other.eval()(x).numpy(), model(x).numpy())
    pydl.manual_seed(5)
    a = model.sample(4)
    pydl.manual_seed(5)
    np.testing.assert_array_equal(other.sample(4), a)


def test_bits_per_dim_is_measured_without_dropout():
    pydl.manual_seed(0)
    model = MADE(hidden=(32,), features=4, dropout=0.5)
    x = digit_levels("test")[0][:16]
    bits = model.bits_per_dim(x)
    assert model.training  # its mode is restored
    with pydl.no_grad():
        log_p = model.eval().log_prob(x).numpy().astype(np.float64)
    assert bits == pytest.approx(-log_p.mean() / (64 * math.log(2)), rel=1e-6)


def test_sampling_goes_pixel_by_pixel_from_the_conditionals():
    model, _ = _trained()
    pydl.manual_seed(4)
    a = model.sample(1000)
    pydl.manual_seed(4)
    assert np.array_equal(a, model.sample(1000))  # seeded
    assert a.shape == (1000, 64) and np.allclose(a * 16, np.rint(a * 16))
    # the first pixel's logits are constants: its draws follow their softmax
    logits = model(np.zeros((1, 64), np.int64)).numpy()[0, 0].astype(np.float64)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    freq = np.bincount(np.rint(a[:, 0] * 16).astype(int), minlength=17) / len(a)
    assert np.abs(freq - p).max() < 0.05
    # the second pixel's draws follow the conditional given the first
    first = np.rint(a[:, 0] * 16).astype(int)
    common = np.bincount(first).argmax()
    rows = a[first == common]
    x = np.zeros((1, 64), np.int64)
    x[0, 0] = common
    logits = model(x).numpy()[0, 1].astype(np.float64)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    freq = np.bincount(np.rint(rows[:, 1] * 16).astype(int), minlength=17) / len(rows)
    assert np.abs(freq - p).max() < 4 / math.sqrt(len(rows))


def test_train_made_reports_the_table_metrics():
    metrics = train_made(epochs=1, samples=0)
    assert 2.0 < metrics["test_bits_per_dim"] < math.log2(17)
    assert metrics["test_nll_nats"] == pytest.approx(
        metrics["test_bits_per_dim"] * 64 * math.log(2)
    )


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="hidden"):
        MADE(hidden=(0,))
    with pytest.raises(ValueError, match="features"):
        MADE(features=0)
    with pytest.raises(ValueError, match="order"):
        MADE(order=[0, 1, 2])
    with pytest.raises(ValueError, match="dropout"):
        MADE(dropout=1.0)
    model = MADE(hidden=(16,), features=2)
    with pytest.raises(ValueError, match=r"x must be digits of shape \(B, 64\)"):
        model.loss(np.zeros((2, 10), np.int64))
    with pytest.raises(ValueError, match="levels in 0..16"):
        model.log_prob(np.full((2, 64), 17))
    with pytest.raises(ValueError, match="integer levels"):
        model.loss(np.zeros((2, 64)))
    with pytest.raises(ValueError, match="n must be a positive int"):
        model.sample(0)
    with pytest.raises(ValueError, match="temperature"):
        model.sample(2, temperature=0.0)
