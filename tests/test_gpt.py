"""The small GPT of pydl.models learns the bundled text."""

import numpy as np
import pytest

import pydl
from pydl.models import GPT, text_batches


def test_gpt_learns_the_bundled_text():
    pydl.manual_seed(0)
    model = GPT(vocab_size=256, d_model=64, n_heads=4, n_layers=2, max_len=64)
    opt = pydl.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    text = pydl.data.load_text()
    assert len(text) > 2000
    losses = []
    for x, y in text_batches(text, 16, 64, 150):
        logits = model(x)
        loss = pydl.nn.functional.cross_entropy(pydl.reshape(logits, (-1, 256)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] > 5.0  # about log(256) at the start
    assert np.mean(losses[-10:]) < 0.55 * losses[0], losses[::15]
    prompt = np.frombuffer(b"The ", np.uint8)[None].astype(np.int64)
    greedy = model.generate(prompt, 20, greedy=True)
    assert greedy.shape == (1, 24) and np.array_equal(greedy[:, :4], prompt)
    pydl.manual_seed(1)
    a = model.generate(prompt, 20, temperature=0.8)
    pydl.manual_seed(1)
    b = model.generate(prompt, 20, temperature=0.8)
    assert np.array_equal(a, b) and a.min() >= 0 and a.max() < 256  # seeded, reproducible


def test_gpt_tied_and_untied_heads_and_bad_input():
    tied, untied = GPT(256, 32, 4, 1, max_len=16), GPT(256, 32, 4, 1, max_len=16, tied=False)
    n_tied = sum(p.numel() for p in tied.parameters())
    assert sum(p.numel() for p in untied.parameters()) == n_tied + 256 * 32
    assert tied(np.zeros((2, 16), np.int64)).shape == (2, 16, 256)
    with pytest.raises(ValueError, match="T <= 16"):
        tied(np.zeros((1, 17), np.int64))
    with pytest.raises(IndexError):
        tied(np.full((1, 4), 300))


def test_sampling_probabilities_top_k_top_p_and_temperature():
    from pydl.models.gpt import sampling_probabilities

    logits = np.log(np.array([[0.5, 0.2, 0.15, 0.1, 0.05], [0.05, 0.1, 0.15, 0.2, 0.5]]))
    np.testing.assert_allclose(sampling_probabilities(logits), np.exp(logits))
    k2 = sampling_probabilities(logits, top_k=2)
    np.testing.assert_allclose(k2[0], [5 / 7, 2 / 7, 0, 0, 0])
    np.testing.assert_allclose(k2[1], [0, 0, 0, 2 / 7, 5 / 7])
    # nucleus 0.8: 0.5 + 0.2 = 0.7 < 0.8, so 0.15 joins; 0.85 reaches it
    p8 = sampling_probabilities(logits, top_p=0.8)
    np.testing.assert_allclose(p8[0], np.array([0.5, 0.2, 0.15, 0, 0]) / 0.85)
    np.testing.assert_allclose(sampling_probabilities(logits, top_p=0.01)[0], [1, 0, 0, 0, 0])
    cold = sampling_probabilities(logits, temperature=0.5)[0]
    np.testing.assert_allclose(cold, np.array([0.5, 0.2, 0.15, 0.1, 0.05]) ** 2 / 0.325)
    assert (sampling_probabilities(logits, top_k=2, top_p=0.6)[0] > 0).sum() == 1


def test_generate_samples_from_the_filtered_distribution():
    """Draws with top_k=2 land only on the two most likely tokens, in their proportion."""
    pydl.manual_seed(0)
    model = GPT(vocab_size=5, d_model=8, n_heads=2, n_layers=1, max_len=4)
    out = model.generate(np.zeros((4000, 1), np.int64), 1, top_k=2)[:, 1]
    logits = model(np.zeros((1, 1), np.int64)).numpy()[0, -1]
    top = np.argsort(-logits)[:2]
    assert set(np.unique(out)) <= set(top.tolist())
    p = np.exp(logits[top] - logits[top].max())
    assert abs((out == top[0]).mean() - p[0] / p.sum()) < 0.03
    np.testing.assert_array_equal(
        model.generate(np.zeros((3, 1), np.int64), 2, top_k=1),
        model.generate(np.zeros((3, 1), np.int64), 2, greedy=True),
    )
    with pytest.raises(ValueError, match="top_p"):
        model.generate(np.zeros((1, 1), np.int64), 1, top_p=0)
    with pytest.raises(ValueError, match="top_k"):
        model.generate(np.zeros((1, 1), np.int64), 1, top_k=0)
