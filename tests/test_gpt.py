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
