"""The measuring conventions of pydl.models.evaluation (Note [Digits likelihoods], Note
[Sample quality])."""

import math

import numpy as np
import pytest

import pydl
from pydl.models import evaluation as E


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((200_000, 3)) * [1.0, 2.0, 0.5]
    b = rng.standard_normal((200_000, 3)) * [3.0, 1.0, 0.5] + [1.0, 0.0, -2.0]
    # diagonal covariances: |mu_a - mu_b|^2 + sum (sigma_a - sigma_b)^2
    want = (1 + 4) + (2**2 + 1**2 + 0)
    assert E.frechet_distance(a, b) == pytest.approx(want, rel=0.02)
    assert abs(E.frechet_distance(a, a)) < 1e-8


def test_bits_per_dim_conventions():
    uniform_levels = -E.DIMS * math.log(E.LEVELS)  # P(x) = 17^-64
    assert E.discrete_bits_per_dim([uniform_levels]) == pytest.approx(math.log2(17))
    assert E.dequantized_bits_per_dim([0.0]) == pytest.approx(math.log2(17))  # p(y) = 1
    levels, labels = E.digit_levels("test")
    assert levels.shape == (359, 64) and levels.min() == 0 and levels.max() == 16
    y = E.dequantize(levels, np.random.default_rng(0))
    assert (np.floor(y * 17).astype(int) == levels).all()
    with pytest.raises(ValueError, match="split"):
        E.digit_levels("validation")


def test_the_judge_tells_digits_from_noise_and_leaves_the_random_stream_alone():
    pydl.manual_seed(3)
    before = pydl.get_rng_state()
    scales = E.reference_scales()
    assert (pydl.get_rng_state() == before).all()
    assert scales["train_1000"] < 5 < scales["test_halves"] < 20 < 100 < scales["noise"]
    real = E.sample_quality(E.digit_levels("train")[0][:1000] / 16)
    assert real["confidence"] > 0.95 and real["class_entropy"] > 3.25
    ones = E.digit_levels("train")
    one_class = E.sample_quality(ones[0][ones[1] == 1] / 16)
    assert one_class["class_entropy"] < 0.5 and one_class["frechet"] > 10 * real["frechet"]
    with pytest.raises(ValueError, match="64 pixels"):
        E.sample_quality(np.zeros((5, 10)))


def test_save_grid_writes_the_digits_as_a_png(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    levels = E.digit_levels("test")[0][:20] / 16
    E.save_grid(levels, tmp_path / "grid.png", columns=8, scale=2)
    img = np.asarray(Image.open(tmp_path / "grid.png"))
    cell = 8 * 2 + 1
    assert img.shape == (3 * cell + 1, 8 * cell + 1)
    first = img[1 : 1 + 16 : 2, 1 : 1 + 16 : 2]  # every other pixel: the 8x8 digit back
    np.testing.assert_array_equal(first, np.rint(levels[0].reshape(8, 8) * 255))
    with pytest.raises(ValueError, match=r"\(n, 64\)"):
        E.save_grid(np.zeros((3, 10)), tmp_path / "bad.png")
