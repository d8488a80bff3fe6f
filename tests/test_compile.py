"""pydl.compile (Note [Whole-step capture]): replays are bit-identical to eager steps, every
replay really replays, and what the capture cannot reproduce runs eagerly, with its reason."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import pydl
from pydl import nn, optim
from pydl.models import GPT

F = nn.functional


def _mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(12, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4)
    )


def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 4),
    )


class _Recurrent(nn.Module):
    """An RNN over 6 features, hidden 8, and a linear head on its last step."""

    def __init__(self, cls: type, classes: int = 4, **kwargs: object) -> None:
        super().__init__()
        self.rnn = cls(6, 8, **kwargs)
        self.head = nn.Linear(16 if kwargs.get("bidirectional") else 8, classes)

    def forward(self, x: pydl.Tensor) -> pydl.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[-1])


class _Gpt(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gpt = GPT(vocab_size=16, d_model=16, n_heads=2, n_layers=1, max_len=8)

    def forward(self, idx: pydl.Tensor) -> pydl.Tensor:
        return pydl.reshape(self.gpt(idx), (-1, 16))


MODELS = {
    "mlp": (_mlp, lambda r: r.standard_normal((5, 12)), 4),
    "cnn": (_cnn, lambda r: r.standard_normal((3, 3, 8, 8)), 4),
    "lstm": (lambda: _Recurrent(nn.LSTM), lambda r: r.standard_normal((5, 3, 6)), 4),
    "gru": (lambda: _Recurrent(nn.GRU), lambda r: r.standard_normal((5, 3, 6)), 4),
    "gpt": (_Gpt, lambda r: r.integers(0, 16, (2, 8)), 16),
}
OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.05),
    "momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda p: optim.Adam(p, lr=1e-2),
    "adamw": lambda p: optim.AdamW(p, lr=1e-2, amsgrad=True),
}


def _setup(model: str, opt: str, seed: int = 0) -> tuple:
    make, _, _ = MODELS[model]
    pydl.manual_seed(seed)
    m = make()
    o = OPTIMIZERS[opt](m.parameters())

    def step(x: pydl.Tensor, y: pydl.Tensor) -> pydl.Tensor:
        o.zero_grad()
        logits = m(x)
        loss = F.cross_entropy(logits, pydl.reshape(y, (-1,)))
        loss.backward()
        o.step()
        return loss

    return m, o, step


def _batches(model: str, n: int, seed: int = 1) -> list:
    _, draw, classes = MODELS[model]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x = draw(rng)
        x = x.astype(np.float32) if x.dtype.kind == "f" else x
        rows = x.shape[1] if model in ("lstm", "gru") else x.shape[0]
        y = rng.integers(0, classes, x.size if model == "gpt" else rows)
        out.append((pydl.tensor(x), pydl.tensor(y)))
    return out


def _same_state(a: nn.Module, b: nn.Module) -> None:
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(np.asarray(q), np.asarray(p), err_msg=name)
    for p, q in zip(a.parameters(), b.parameters()):
        assert (p.grad is None) == (q.grad is None)
        if p.grad is not None:
            np.testing.assert_array_equal(q.grad.numpy(), p.grad.numpy())


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
@pytest.mark.parametrize("model", sorted(MODELS))
def test_replays_are_bit_identical_to_eager(model: str, opt: str) -> None:
    m1, _, eager = _setup(model, opt)
    m2, _, step = _setup(model, opt)
    compiled = pydl.compile(step, fullgraph=True)
    for i, (x, y) in enumerate(_batches(model, 6)):
        want, got = eager(x, y), compiled(x, y)
        assert got.numpy().tobytes() == want.numpy().tobytes()
        assert got.requires_grad == (i < 2)  # a replay's result has no graph
    assert compiled.replays == 4  # the first two calls record
    _same_state(m1, m2)


def _plan(compiled: object) -> object:
    (plans,) = compiled._plans.values()
    return plans[-1]


@pytest.mark.parametrize("model", sorted(MODELS))
def test_replays_call_every_kernel_natively(model: str) -> None:
    """Note [Native replay]: each kernel call of a replay is bound once and called from C++;
    only the live calls and the plan's own helpers go through Python."""
    _, _, step = _setup(model, "adam")
    compiled = pydl.compile(step, fullgraph=True)
    for x, y in _batches(model, 3):
        compiled(x, y)
    plan = _plan(compiled)
    assert plan.replay.native_ops >= 5
    assert [name for name in plan.python_ops if hasattr(pydl._core, name)] == []
    assert len(plan.replay) == plan.replay.native_ops + len(plan.python_ops)


def test_a_float64_step_replays_natively_through_the_reference_fallback() -> None:
    """Kernels without a float64 path hand the call to their NumPy twin (Note [Reference
    fallback]); a native replay does the same, bit for bit."""
    runs = []
    for compile_it in (False, True):
        m, o, step = _setup("cnn", "adam")
        m.double()
        run = pydl.compile(step, fullgraph=True) if compile_it else step
        losses = []
        for x, y in _batches("cnn", 4):
            losses.append(run(pydl.tensor(x.numpy().astype(np.float64)), y).numpy().tobytes())
        runs.append((losses, m))
    assert run.replays == 2 and _plan(run).replay.native_ops > 0
    assert runs[0][0] == runs[1][0]
    _same_state(runs[0][1], runs[1][1])


def test_a_replay_in_a_reference_cycle_is_collected() -> None:
    """The C++ replay holds the plan's live calls (the optimizer's bound methods); an
    optimizer that refers back to the compiled step makes a cycle the collector must see."""
    import gc
    import weakref

    _, o, step = _setup("mlp", "sgd")
    compiled = pydl.compile(step, fullgraph=True)
    for x, y in _batches("mlp", 3):
        compiled(x, y)
    assert compiled.replays == 1
    o.compiled = compiled  # optimizer -> step -> plan -> replay -> o.step -> optimizer
    gone = weakref.ref(o)
    del o, step, compiled
    gc.collect()
    assert gone() is None


def test_a_native_replay_binds_positional_keyword_and_default_arguments() -> None:
    from pydl import _core

    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((4, 5), dtype=np.float32), rng.standard_normal(4, dtype=np.float32)
    values = [None, w, b, "tanh", True, None, None, None]
    constant = [False, True, True, True, True, False, False, False]
    replay = _core.Replay(values, constant)
    # activation positional, save by keyword, bf16 left to its default; then a Python op
    assert replay.add(_core.linear_act_forward, [0, 1, 2, 3, 4], ("save",), [(5, [0])], [0])
    assert not replay.add(np.negative, [5], (), [(6, [])], [])
    assert not replay.add(lambda y: {"twice": y + y}, [5], (), [(7, ["twice"])], [])  # a key
    for rows in (3, 6):  # a new input each replay
        x = rng.standard_normal((rows, 5), dtype=np.float32)
        v = list(values)
        v[0] = x
        replay.run(v)
        y, _ = _core.linear_act_forward(x, w, b, "tanh", save=True)
        assert v[0] is None  # released after its last use
        assert v[5].tobytes() == y.tobytes() and v[6].tobytes() == (-y).tobytes()
        assert v[7].tobytes() == (y + y).tobytes()
    with pytest.raises(IndexError, match="out of range"):
        replay.add(np.negative, [8], (), [], [])
    with pytest.raises(ValueError, match="3 values for a plan of 8"):
        replay.run([None] * 3)
    with pytest.raises(ValueError, match="linear: input"):  # the binding's own check
        v = list(values)
        v[0] = np.zeros((3, 7), np.float32)
        replay.run(v)


class _Transformer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(20, 16)
        self.enc = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.1, batch_first=True)
        self.head = nn.Linear(16, 5)

    def forward(self, x: pydl.Tensor) -> pydl.Tensor:
        return self.head(self.enc(self.emb(x)).mean(1))


class _Conv1d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(3, 4, 3, padding=1)
        self.gn, self.bn = nn.GroupNorm(2, 4), nn.BatchNorm1d(4)
        self.up = nn.ConvTranspose1d(4, 2, 4, stride=2, padding=1)
        self.head = nn.Linear(2 * 16, 5)

    def forward(self, x: pydl.Tensor) -> pydl.Tensor:
        return self.head(self.up(F.gelu(self.bn(self.gn(self.conv(x))))).flatten(1))


AUTOCAST_MODELS = {
    "transformer": (_Transformer, lambda r: r.integers(0, 20, (3, 7))),
    "stacked_lstm": (
        lambda: _Recurrent(nn.LSTM, 5, num_layers=2, dropout=0.2, bidirectional=True),
        lambda r: r.standard_normal((4, 3, 6)).astype(np.float32),
    ),
    "conv1d": (_Conv1d, lambda r: r.standard_normal((3, 3, 8)).astype(np.float32)),
}


@pytest.mark.parametrize("model", sorted(AUTOCAST_MODELS))
def test_dropout_autocast_clipping_and_a_schedule_replay_bit_identically(model: str) -> None:
    """Dropout masks, bf16 autocast, clip_grad_norm_ and a cosine schedule, on layers whose
    ops copy (multi-head attention's head reshapes) and mask (causal states, padding)."""
    make, draw = AUTOCAST_MODELS[model]
    runs = []
    for compile_it in (False, True):
        pydl.manual_seed(0)
        m = make()
        o = optim.AdamW(m.parameters(), lr=1e-2)
        schedule = optim.lr_scheduler.CosineAnnealingLR(o, 10)

        def step(x: pydl.Tensor, y: pydl.Tensor, m: nn.Module = m, o: optim.AdamW = o) -> object:
            o.zero_grad()
            with pydl.autocast("cpu", dtype=pydl.bfloat16):
                loss = F.cross_entropy(m(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            o.step()
            return loss

        run = pydl.compile(step, fullgraph=True) if compile_it else step
        rng = np.random.default_rng(1)
        losses = []
        for _ in range(6):
            x, y = pydl.tensor(draw(rng)), pydl.tensor(rng.integers(0, 5, 3))
            losses.append(run(x, y).item())
            schedule.step()
        runs.append((losses, m, pydl.get_rng_state().tolist()))
    assert run.replays == 4
    assert runs[0][0] == runs[1][0]
    assert runs[0][2] == runs[1][2]
    _same_state(runs[0][1], runs[1][1])


def test_every_op_table_row_replays_bit_identically_or_runs_eagerly() -> None:
    """Forward and backward of every op of the op table, on new inputs each call: the
    compiled step matches eager bit for bit, whether it replays or refused (an op in NumPy,
    an index array made in Python). Most rows must replay (325 of 464 at this writing)."""
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from op_table import ROWS

    def outcome(row: object, step: object, batches: list, w: np.ndarray) -> list:
        out = []
        for arrays in batches:
            ts = [pydl.tensor(a.astype(np.float32), requires_grad=i not in row.nondiff)
                  for i, a in enumerate(arrays)]  # fmt: skip
            y = step(*ts, w=w)
            grads = [None if t.grad is None else t.grad.numpy().tobytes() for t in ts]
            out.append((y.numpy().tobytes(), grads))
        return out

    replayed, diverged = 0, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the refusals' warnings
        for row in ROWS:
            rng = np.random.default_rng(0)
            batches = [row.sample(rng) for _ in range(4)]
            with pydl.no_grad():
                shape = row.fn(*[pydl.tensor(a.astype(np.float32)) for a in batches[0]]).shape
            w = np.random.default_rng(99).uniform(0.5, 1.5, size=shape).astype(np.float32)

            def step(*ts: pydl.Tensor, w: np.ndarray, fn: object = row.fn) -> pydl.Tensor:
                y = fn(*ts)
                y.backward(w)
                return y

            state = pydl.get_rng_state()
            eager = outcome(row, step, batches, w)
            pydl.set_rng_state(state)
            compiled = pydl.compile(step)
            if outcome(row, compiled, batches, w) != eager:
                diverged.append(row.id)
            replayed += compiled.replays == 2
    assert not diverged
    assert replayed >= 320, f"{replayed} of {len(ROWS)} rows replayed"


def test_a_learning_rate_schedule_reaches_the_replay() -> None:
    m1, o1, eager = _setup("mlp", "adam")
    m2, o2, step = _setup("mlp", "adam")
    s1, s2 = (optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5) for o in (o1, o2))
    compiled = pydl.compile(step, fullgraph=True)
    for x, y in _batches("mlp", 5):
        eager(x, y)
        compiled(x, y)
        s1.step()
        s2.step()
    assert compiled.replays == 3
    _same_state(m1, m2)


def test_gradient_clipping_and_accumulated_gradients_replay() -> None:
    """clip_grad_norm_ reads the norm on the host: it is replayed whole; zero_grad keeping
    the arrays makes backward accumulate into them."""
    models = []
    for compile_it in (False, True):
        pydl.manual_seed(0)
        m = _mlp()
        o = optim.SGD(m.parameters(), lr=0.1, momentum=0.5)

        def step(x: pydl.Tensor, y: pydl.Tensor, m: nn.Module = m, o: optim.SGD = o) -> None:
            o.zero_grad(set_to_none=False)
            for half in (slice(0, 2), slice(2, None)):
                F.cross_entropy(m(x[half]), y[half]).backward()
            nn.utils.clip_grad_norm_(m.parameters(), 0.1)
            o.step()

        run = pydl.compile(step, fullgraph=True) if compile_it else step
        for x, y in _batches("mlp", 5):
            run(x, y)
        models.append(m)
    assert run.replays == 3
    _same_state(*models)


def test_batch_norm_counts_replayed_batches_and_eval_records_anew() -> None:
    m1, _, eager = _setup("cnn", "sgd")
    m2, _, step = _setup("cnn", "sgd")
    compiled = pydl.compile(step, fullgraph=True)
    data = _batches("cnn", 8)
    for x, y in data[:4]:
        eager(x, y)
        compiled(x, y)
    assert int(m2[1].num_batches_tracked.item()) == 4
    m1.eval()
    m2.eval()  # the recorded steps ran in training mode: this one is recorded again
    for x, y in data[4:]:
        eager(x, y)
        compiled(x, y)
    assert compiled.replays == 2 + 2
    _same_state(m1, m2)


def test_a_replaced_parameter_is_recorded_anew() -> None:
    m1, _, eager = _setup("mlp", "sgd")
    m2, _, step = _setup("mlp", "sgd")
    compiled = pydl.compile(step, fullgraph=True)
    data = _batches("mlp", 6)
    for x, y in data[:3]:
        eager(x, y)
        compiled(x, y)
    for m in (m1, m2):  # new arrays: the optimizer's own copies are left behind
        m[0].bias.data = pydl.zeros(16)
    for x, y in data[3:]:
        eager(x, y)
        compiled(x, y)
    _same_state(m1, m2)
    assert compiled.replays == 1 + 1


def test_a_new_shape_records_anew() -> None:
    m1, _, eager = _setup("mlp", "adam")
    m2, _, step = _setup("mlp", "adam")
    compiled = pydl.compile(step, fullgraph=True)
    rng = np.random.default_rng(3)
    for rows in (5, 5, 5, 7, 7, 7, 5):
        x = pydl.tensor(rng.standard_normal((rows, 12)).astype(np.float32))
        y = pydl.tensor(rng.integers(0, 4, rows))
        assert eager(x, y).item() == compiled(x, y).item()
    assert compiled.replays == 3
    _same_state(m1, m2)


def test_inference_replays_and_returns_a_tuple() -> None:
    pydl.manual_seed(0)
    m = _mlp()

    @pydl.compile(fullgraph=True)
    def act(x: pydl.Tensor) -> tuple:
        with pydl.no_grad():
            out = m(x)
            return out, {"probs": F.softmax(out, -1)}, 3

    for x, _ in _batches("mlp", 4):
        out, extra, three = act(x)
        with pydl.no_grad():
            want = m(x)
        np.testing.assert_array_equal(out.numpy(), want.numpy())
        np.testing.assert_array_equal(extra["probs"].numpy(), F.softmax(want, -1).numpy())
        assert three == 3
    assert act.replays == 2


def test_the_reference_backend_replays_too() -> None:
    pydl.set_backend("reference")
    try:
        m1, _, eager = _setup("mlp", "adam")
        m2, _, step = _setup("mlp", "adam")
        compiled = pydl.compile(step, fullgraph=True)
        for x, y in _batches("mlp", 4):
            eager(x, y)
            compiled(x, y)
    finally:
        pydl.set_backend("core")
    assert compiled.replays == 2
    _same_state(m1, m2)


def _refused(step: object, *args: object, calls: int = 4) -> str:
    """Run a compiled step that cannot be captured: it warns once and runs eagerly."""
    compiled = pydl.compile(step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(calls):
            compiled(*args)
    messages = [str(w.message) for w in caught if "pydl.compile" in str(w.message)]
    assert len(messages) == 1, messages
    assert compiled.replays == 0
    assert compiled.why_eager() and compiled.why_eager()[0] in messages[0]
    return messages[0]


def test_a_host_read_runs_eagerly_with_its_reason() -> None:
    m, o, step = _setup("mlp", "sgd")
    seen = []

    def logging_step(x: pydl.Tensor, y: pydl.Tensor) -> None:
        seen.append(step(x, y).item())

    x, y = _batches("mlp", 1)[0]
    message = _refused(logging_step, x, y)
    assert "Tensor.item" in message
    assert len(seen) == 4 and seen[0] != seen[-1]  # every call trained


def test_dropout_draws_a_new_mask_on_every_replay() -> None:
    models, losses, streams = [], [], []
    for compile_it in (False, True):
        pydl.manual_seed(0)
        m = nn.Sequential(nn.Linear(12, 16), nn.Dropout(0.5), nn.Tanh(), nn.Linear(16, 4))
        o = optim.SGD(m.parameters(), lr=0.1)

        def step(x: pydl.Tensor, y: pydl.Tensor, m: nn.Module = m, o: optim.SGD = o) -> object:
            o.zero_grad()
            loss = F.cross_entropy(F.dropout(m(x), 0.25), y)
            loss.backward()
            o.step()
            return loss

        run = pydl.compile(step, fullgraph=True) if compile_it else step
        losses.append([run(x, y).item() for x, y in _batches("mlp", 6)])
        models.append(m)
        streams.append(pydl.get_rng_state().tolist())
    assert run.replays == 4
    assert losses[0] == losses[1] and len(set(losses[1])) == 6
    _same_state(*models)
    assert streams[0] == streams[1]  # the replays advanced the stream as eager steps do


def test_a_python_value_that_changes_runs_eagerly_and_names_it() -> None:
    pydl.manual_seed(0)
    w = pydl.randn(3, 3, requires_grad=True)
    calls = [0]

    def step() -> None:
        calls[0] += 1
        (w * (1.0 / calls[0])).sum().backward()  # a Python number the replay would freeze

    message = _refused(step)
    assert "mul_forward" in message and "values that change between calls" in message


def test_an_array_made_by_numpy_in_the_step_runs_eagerly() -> None:
    pydl.manual_seed(0)
    w = pydl.randn(3, 3, requires_grad=True)
    x = pydl.tensor(np.ones((3,), np.float32))

    def step() -> None:
        (pydl.diagonal(w) * x).sum().backward()  # diagonal's backward is NumPy in Python

    message = _refused(step)
    assert "by NumPy in Python" in message


def test_a_step_replacing_an_array_runs_eagerly() -> None:
    pydl.manual_seed(0)
    w = pydl.randn(3, 3, requires_grad=True)

    def step() -> None:
        (w * w).sum().backward()
        with pydl.no_grad():
            w.data = w - 0.1 * w.grad  # rebinds w's array: not a kernel the replay could run
        w.grad = None

    before = w.numpy().copy()
    message = _refused(step)
    assert ".data =" in message
    np.testing.assert_allclose(w.numpy(), before * 0.8**4, rtol=1e-6)


def test_equal_values_on_both_recorded_calls_are_not_frozen() -> None:
    """A factory tensor the step writes into is copied as it was made, not as it ended."""

    @pydl.compile(fullgraph=True)
    def total(x: pydl.Tensor) -> pydl.Tensor:
        acc = pydl.zeros(())
        acc += x.sum()
        return acc

    x = pydl.tensor(np.ones(4, np.float32))
    assert [total(x).item() for _ in range(4)] == [4.0] * 4
    assert total.replays == 2


def test_input_layout_and_aliasing_are_part_of_the_signature() -> None:
    @pydl.compile(fullgraph=True)
    def f(a: pydl.Tensor, b: pydl.Tensor) -> pydl.Tensor:
        with pydl.no_grad():
            return pydl.reshape(a, (-1,)) * 2 + b.sum()

    rng = np.random.default_rng(0)
    x, y = (pydl.tensor(rng.standard_normal((3, 3)).astype(np.float32)) for _ in range(2))
    for _ in range(3):
        f(x, y)
    for a, b in ((x.t(), y), (x, x), (x, y), (x.t(), y)):  # strided, aliased, as recorded
        with pydl.no_grad():
            want = pydl.reshape(a, (-1,)) * 2 + b.sum()
        np.testing.assert_array_equal(f(a, b).numpy(), want.numpy())


def _fold_steps(compile_it: bool) -> list:
    """Losses of a step whose world changes between calls: a new seed, a frozen layer, a
    new head, then the next fold's model and optimizer (rebound closure variables)."""

    def make() -> tuple:
        pydl.manual_seed(0)
        m = nn.Sequential(nn.Linear(12, 16), nn.Dropout(0.3), nn.Tanh(), nn.Linear(16, 4))
        return m, optim.SGD(m.parameters(), lr=0.1, momentum=0.9)

    model, opt = make()

    def step(x: pydl.Tensor, y: pydl.Tensor) -> pydl.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def next_fold() -> None:
        nonlocal model, opt
        model, opt = make()

    changes = [
        lambda: None,
        lambda: None,
        lambda: pydl.manual_seed(7),  # the replay's dropout must take the new seed
        lambda: model[0].requires_grad_(False),  # frozen: no more updates
        lambda: model.__setitem__(3, nn.Linear(16, 4)),  # a new head
        next_fold,
    ]
    run = pydl.compile(step, fullgraph=True) if compile_it else step
    losses = []
    for x, y in _batches("mlp", 3):
        for change in changes:
            change()
            for _ in range(5):  # two calls record, three replay
                losses.append(run(x, y).item())
    assert not compile_it or run.replays == 90 - 2 - 3 * 4 * 2  # each change records twice
    return losses


def test_reseeding_frozen_layers_swapped_modules_and_new_closures_record_anew() -> None:
    assert _fold_steps(False) == _fold_steps(True)


def test_gradients_a_step_reads_across_calls_are_guarded() -> None:
    """Gradient accumulation with zero_grad outside the step: a step whose kernels read
    the accumulated .grad (its norm, here) records again when zero_grad drops them."""
    runs = []
    for compile_it in (False, True):
        pydl.manual_seed(0)
        m = _mlp()
        o = optim.SGD(m.parameters(), lr=0.1)

        def micro(x: pydl.Tensor, y: pydl.Tensor, m: nn.Module = m) -> pydl.Tensor:
            F.cross_entropy(m(x), y).backward()
            return sum((p.grad * p.grad).sum() for p in m.parameters())

        run = pydl.compile(micro, fullgraph=True) if compile_it else micro
        norms = []
        for i, (x, y) in enumerate(_batches("mlp", 12)):
            norms.append(run(x, y).item())
            if i % 4 == 3:
                o.step()
                o.zero_grad()  # set_to_none: the next call makes new .grad arrays
        runs.append(norms)
    assert runs[0] == runs[1]


def test_a_scheduler_stepped_inside_the_step_is_replayed() -> None:
    runs = []
    for compile_it in (False, True):
        m, o, step = _setup("mlp", "sgd")

        def scheduled(
            x: pydl.Tensor,
            y: pydl.Tensor,
            step: object = step,
            schedule: object = optim.lr_scheduler.ExponentialLR(o, 0.5),
        ) -> pydl.Tensor:
            loss = step(x, y)
            schedule.step()
            return loss

        run = pydl.compile(scheduled, fullgraph=True) if compile_it else scheduled
        runs.append([run(x, y).item() for x, y in _batches("mlp", 5)] + [o.param_groups[0]["lr"]])
    assert run.replays == 3
    assert runs[0] == runs[1]


def test_other_threads_run_eagerly_while_a_step_records() -> None:
    """Dropout and an optimizer step on another thread during a recording: neither is
    recorded, nor recursed into."""
    import threading

    pydl.manual_seed(0)
    busy = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5))
    opt = optim.SGD(busy.parameters(), lr=0.1)
    stop, errors = threading.Event(), []

    def other() -> None:
        try:
            while not stop.is_set():
                opt.zero_grad()
                busy(pydl.ones(4, 8)).sum().backward()
                opt.step()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    thread = threading.Thread(target=other)
    thread.start()
    try:
        m1, _, eager = _setup("mlp", "adam")
        m2, _, step = _setup("mlp", "adam")
        compiled = pydl.compile(step, fullgraph=True)
        for x, y in _batches("mlp", 5):
            eager(x, y)
            compiled(x, y)
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert compiled.replays == 3
    _same_state(m1, m2)


def test_fullgraph_raises_capture_error() -> None:
    m, o, step = _setup("mlp", "sgd")
    x, y = _batches("mlp", 1)[0]
    compiled = pydl.compile(lambda: step(x, y).item(), fullgraph=True)
    with pytest.raises(pydl.CaptureError, match="Tensor.item"):
        compiled()


def test_a_step_whose_kernels_change_every_call_gives_up() -> None:
    pydl.manual_seed(0)
    w = pydl.randn(4, 4, requires_grad=True)
    x = pydl.tensor(np.ones((2, 4), np.float32))
    calls = [0]

    def step() -> None:
        calls[0] += 1
        h = x @ w
        for _ in range(calls[0]):  # Python control flow the capture cannot see
            h = pydl.tanh(h)
        h.sum().backward()

    message = _refused(step, calls=6)
    assert "differ from call to call" in message
    assert calls[0] == 6


def test_a_returned_graph_refuses() -> None:
    pydl.manual_seed(0)
    m = _mlp()
    x, _ = _batches("mlp", 1)[0]
    message = _refused(lambda: m(x))
    assert "graph" in message


def test_a_compiled_module_forwards_its_attributes_and_trains_eagerly() -> None:
    """torch.compile(model)'s idiom: the optimizer takes the wrapper's parameters(); its
    forward returns a graph for the caller's backward, so it runs eagerly, saying why."""
    pydl.manual_seed(0)
    model = pydl.compile(_mlp())
    opt = optim.SGD(model.parameters(), lr=0.1)
    assert len(list(model.parameters())) == 6 and model.training
    x, y = _batches("mlp", 1)[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
    assert any("graph a later backward could use" in str(w.message) for w in caught)
    model.eval()
    with pydl.no_grad():
        for _ in range(4):
            out = model(x)
    assert model.replays == 2 and out.shape == (5, 4)


def test_compile_arguments() -> None:
    with pytest.raises(TypeError, match="function or a module"):
        pydl.compile(3)
    f = lambda: None  # noqa: E731
    assert pydl.compile(f, disable=True) is f
    assert pydl.compile(mode="max-autotune")(f).__wrapped__ is f
