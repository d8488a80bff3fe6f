"""pydl.onnx.export (Note [ONNX export]): every supported layer and GPT, exported at one
batch size and run in onnxruntime at that one and another, against pydl's own output."""

from __future__ import annotations

import os
import sys
from collections import OrderedDict

import numpy as np
import pytest
from helpers import fresh_interpreter_prints

import pydl
from pydl import nn
from pydl.models import GPT, MLP

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

EXPORT_BATCH, OTHER_BATCH = 2, 5


def _session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _leaves(x):
    if isinstance(x, (tuple, list)):
        return [leaf for v in x for leaf in _leaves(v)]
    return [] if x is None else [x]


def _as_args(x):
    return x if isinstance(x, tuple) else (x,)


def _randomize(model, rng):
    """Random parameters and running statistics, so that a swapped scale and bias, or gates
    in the wrong order, change the output."""
    for p in model.parameters():
        p._array[...] = rng.uniform(-0.8, 0.8, p.shape)
    for name, b in model.named_buffers():
        if name.endswith("running_mean"):
            b._array[...] = rng.uniform(-0.5, 0.5, b.shape)
        elif name.endswith("running_var"):
            b._array[...] = rng.uniform(0.5, 2.0, b.shape)


def _check_export(model, make_inputs, tmp_path, rng, batches=(EXPORT_BATCH, OTHER_BATCH), **kw):
    """Export at EXPORT_BATCH, then compare onnxruntime with pydl at each of `batches`."""
    model.eval()
    path = tmp_path / "model.onnx"
    pydl.onnx.export(model, make_inputs(rng, EXPORT_BATCH), path, **kw)
    session = _session(path)
    for batch in batches:
        args = _as_args(make_inputs(rng, batch))
        feeds = {i.name: np.asarray(a) for i, a in zip(session.get_inputs(), _leaves(args))}
        got = session.run(None, feeds)
        with pydl.no_grad():
            want = [t.numpy() for t in _leaves(model(*args))]
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5, err_msg=f"batch {batch}")
    return path


def _floats(*shape, scale=1.0):
    """make_inputs for float input of shape, with the batch size in place of 'B'."""
    return lambda rng, b: (
        scale * rng.standard_normal([b if s == "B" else s for s in shape])
    ).astype(np.float32)


# (id, model factory, make_inputs(rng, batch))
CASES = [
    ("linear", lambda: nn.Linear(6, 4), _floats("B", 6)),
    ("linear_no_bias_3d", lambda: nn.Linear(6, 4, bias=False), _floats("B", 3, 6)),
    ("mlp", lambda: MLP(12, [8, 6], 3), _floats("B", 3, 4)),
    (
        "conv2d_stride_padding_groups",
        lambda: nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2),
        _floats("B", 4, 9, 8),
    ),
    (
        "conv2d_dilation_same_no_bias",
        lambda: nn.Conv2d(3, 5, (3, 2), padding="same", dilation=2, bias=False),
        _floats("B", 3, 9, 8),
    ),
    (
        "conv2d_rect_stride_padding",
        lambda: nn.Conv2d(3, 4, (2, 3), stride=(1, 2), padding=(2, 1)),
        _floats("B", 3, 7, 8),
    ),
    (
        "conv1d_stride_dilation_groups",
        lambda: nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2),
        _floats("B", 4, 11),
    ),
    (
        "conv1d_same_no_bias",
        lambda: nn.Conv1d(3, 2, 4, padding="same", bias=False),
        _floats("B", 3, 10),
    ),
    ("maxpool2d", lambda: nn.MaxPool2d(2), _floats("B", 3, 8, 6)),
    (
        "maxpool2d_padding_dilation_ceil",
        lambda: nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True),
        _floats("B", 2, 10, 9),
    ),
    # ceil_mode where PyTorch drops the last window (it would start in the right padding)
    ("maxpool2d_ceil_drops", lambda: nn.MaxPool2d(2, 2, 1, ceil_mode=True), _floats("B", 2, 6, 5)),
    ("maxpool1d_ceil", lambda: nn.MaxPool1d(3, 2, 1, ceil_mode=True), _floats("B", 3, 12)),
    ("avgpool2d", lambda: nn.AvgPool2d(3, 2, 1), _floats("B", 2, 7, 8)),
    (
        "avgpool2d_exclude_pad_ceil",
        lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        _floats("B", 2, 10, 9),
    ),
    (
        "avgpool2d_include_pad_ceil",
        lambda: nn.AvgPool2d(2, 2, 1, ceil_mode=True, count_include_pad=True),
        _floats("B", 2, 6, 5),
    ),
    ("avgpool1d", lambda: nn.AvgPool1d(3, 2, 1, ceil_mode=True), _floats("B", 3, 12)),
    ("adaptive_avgpool2d_global", lambda: nn.AdaptiveAvgPool2d(1), _floats("B", 3, 7, 5)),
    ("adaptive_avgpool2d_3x2", lambda: nn.AdaptiveAvgPool2d((3, 2)), _floats("B", 3, 7, 5)),
    ("batchnorm1d_2d", lambda: nn.BatchNorm1d(5), _floats("B", 5)),
    ("batchnorm1d_3d", lambda: nn.BatchNorm1d(3, eps=1e-3), _floats("B", 3, 6)),
    ("batchnorm2d", lambda: nn.BatchNorm2d(3), _floats("B", 3, 4, 5)),
    ("batchnorm2d_no_affine", lambda: nn.BatchNorm2d(3, affine=False), _floats("B", 3, 4, 5)),
    (
        "batchnorm2d_batch_statistics",
        lambda: nn.BatchNorm2d(3, track_running_stats=False),
        _floats("B", 3, 4, 5),
    ),
    ("layernorm", lambda: nn.LayerNorm(6), _floats("B", 4, 6)),
    ("layernorm_2d_shape", lambda: nn.LayerNorm((3, 4), eps=1e-3), _floats("B", 2, 3, 4)),
    ("layernorm_no_affine", lambda: nn.LayerNorm(6, elementwise_affine=False), _floats("B", 6)),
    ("layernorm_no_bias", lambda: nn.LayerNorm(6, bias=False), _floats("B", 6)),
    ("groupnorm", lambda: nn.GroupNorm(2, 6), _floats("B", 6, 3, 4)),
    ("groupnorm_no_affine_3d", lambda: nn.GroupNorm(3, 6, affine=False), _floats("B", 6, 5)),
    ("instancenorm2d", lambda: nn.InstanceNorm2d(3), _floats("B", 3, 4, 5)),
    ("instancenorm2d_affine", lambda: nn.InstanceNorm2d(3, affine=True), _floats("B", 3, 4, 5)),
    ("prelu_one_slope", lambda: nn.PReLU(), _floats("B", 3, 4)),
    ("prelu_per_channel", lambda: nn.PReLU(3), _floats("B", 3, 4, 5)),
    ("maxout", lambda: nn.Maxout(6, 4, 3), _floats("B", 6)),
    (
        "dropout_flatten_identity",
        lambda: nn.Sequential(
            nn.Dropout(0.5),
            nn.Conv2d(2, 3, 3),
            nn.Dropout2d(0.3),
            nn.Flatten(),
            nn.Identity(),
            nn.Linear(3 * 4 * 3, 2),
        ),
        _floats("B", 2, 6, 5),
    ),
    ("flatten_middle", lambda: nn.Flatten(1, 2), _floats("B", 2, 3, 4)),
    ("flatten_all", lambda: nn.Flatten(0), _floats("B", 2, 3)),
    (
        "nested_sequential_cnn",
        lambda: nn.Sequential(
            OrderedDict(
                features=nn.Sequential(
                    nn.Conv2d(3, 4, 3, padding=1),
                    nn.BatchNorm2d(4),
                    nn.ReLU(),
                    nn.MaxPool2d(2),
                    nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.GELU()),
                ),
                pool=nn.AdaptiveAvgPool2d(1),
                head=nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.LogSoftmax(-1)),
            )
        ),
        _floats("B", 3, 8, 8),
    ),
    (
        "embedding",
        lambda: nn.Embedding(10, 4, padding_idx=0),
        lambda rng, b: rng.integers(0, 10, (b, 3)),
    ),
    ("embedding_1d", lambda: nn.Embedding(10, 4), lambda rng, b: rng.integers(0, 10, b)),
    (
        "rnn_tanh_2_layers_bidirectional",
        lambda: nn.RNN(4, 5, num_layers=2, bidirectional=True),
        _floats(7, "B", 4),
    ),
    (
        "rnn_relu_batch_first_with_state",
        lambda: nn.RNN(4, 5, nonlinearity="relu", batch_first=True),
        lambda rng, b: (_floats("B", 6, 4)(rng, b), _floats(1, "B", 5)(rng, b)),
    ),
    (
        "lstm_2_layers_bidirectional_batch_first_with_state",
        lambda: nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True),
        lambda rng, b: (_floats("B", 6, 4)(rng, b), (_floats(4, "B", 5)(rng, b),) * 2),
    ),
    ("lstm_no_bias", lambda: nn.LSTM(3, 4, bias=False), _floats(5, "B", 3)),
    (
        "gru_2_layers_with_state",
        lambda: nn.GRU(4, 5, num_layers=2),
        lambda rng, b: (_floats(6, "B", 4)(rng, b), _floats(2, "B", 5)(rng, b)),
    ),
    (
        "gru_bidirectional_batch_first",
        lambda: nn.GRU(3, 4, bidirectional=True, batch_first=True),
        _floats("B", 5, 3),
    ),
    ("gru_reset_before", lambda: nn.GRU(4, 5, reset_after=False), _floats(6, "B", 4)),
    (
        "mha_cross_attention",
        lambda: nn.MultiheadAttention(8, 2),
        lambda rng, b: (_floats(5, "B", 8)(rng, b),) + (_floats(6, "B", 8)(rng, b),) * 2,
    ),
    (
        "mha_kdim_vdim_batch_first",
        lambda: nn.MultiheadAttention(8, 4, kdim=3, vdim=5, batch_first=True, bias=False),
        lambda rng, b: tuple(_floats("B", t, d)(rng, b) for t, d in ((5, 8), (6, 3), (6, 5))),
    ),
    ("transformer_encoder_layer", lambda: nn.TransformerEncoderLayer(8, 2, 16), _floats(5, "B", 8)),
    (
        "transformer_encoder_layer_pre_ln_gelu_batch_first",
        lambda: nn.TransformerEncoderLayer(
            8, 2, 12, activation="gelu", norm_first=True, batch_first=True
        ),
        _floats("B", 5, 8),
    ),
    (
        "gpt",
        lambda: GPT(vocab_size=11, d_model=8, n_heads=2, n_layers=2, max_len=16),
        lambda rng, b: rng.integers(0, 11, (b, 6)),
    ),
    (
        "gpt_untied",
        lambda: GPT(vocab_size=11, d_model=8, n_heads=2, n_layers=1, max_len=8, tied=False),
        lambda rng, b: rng.integers(0, 11, (b, 8)),
    ),
]


@pytest.mark.parametrize("build, make_inputs", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_layer_matches_pydl(build, make_inputs, tmp_path, rng):
    model = build()
    _randomize(model, rng)
    _check_export(model, make_inputs, tmp_path, rng)


# Every activation module with its defaults, and the non-default arguments.
ACTIVATIONS = [(name, {}) for name in sorted(nn.ACTIVATION_MODULES) if name != "Threshold"] + [
    ("Threshold", {"threshold": 0.5, "value": -2.0}),
    ("CELU", {"alpha": 0.5}),
    ("Softshrink", {"lambd": 1.0}),
    ("GLU", {"dim": 1}),
    ("LeakyReLU", {"negative_slope": 0.2}),
    ("ELU", {"alpha": 0.5}),
    ("Softplus", {"beta": 2.0, "threshold": 1.5}),
    ("HardSigmoid", {"slope": 0.3, "offset": 0.4}),
    ("Hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    ("GELU", {"approximate": "tanh"}),
    ("Softmax", {"dim": 1}),
    ("LogSoftmax", {"dim": 0}),
]


@pytest.mark.parametrize(
    "name, args", ACTIVATIONS, ids=[f"{n}-{'-'.join(map(str, a.values()))}" for n, a in ACTIVATIONS]
)
def test_activation_matches_pydl(name, args, tmp_path, rng):
    # Scale 4 reaches the saturated parts and the Softplus threshold.
    shape = (4, 6) if name == "GLU" else (3, 5)  # GLU halves an axis
    _check_export(
        nn.ACTIVATION_MODULES[name](**args), _floats("B", *shape, scale=4.0), tmp_path, rng
    )


def test_inputs_and_outputs_are_declared_with_a_symbolic_batch(tmp_path, rng):
    model = nn.LSTM(4, 5, num_layers=2)  # (T, B, I): the batch is axis 1
    proto = pydl.onnx.export(
        model,
        (_floats(6, "B", 4)(rng, 3), (_floats(2, "B", 5)(rng, 3),) * 2),
        tmp_path / "lstm.onnx",
        input_names=["x", "h0", "c0"],
        output_names=["y", "h_n", "c_n"],
    )

    def dims(value_info):
        return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]

    assert [i.name for i in proto.graph.input] == ["x", "h0", "c0"]
    assert [o.name for o in proto.graph.output] == ["y", "h_n", "c_n"]
    state = [2, "batch", 5]
    assert [dims(i) for i in proto.graph.input] == [[6, "batch", 4], state, state]
    assert [dims(o) for o in proto.graph.output] == [[6, "batch", 5], state, state]
    assert onnx.load(str(tmp_path / "lstm.onnx")) == proto


def test_flattened_batch_axis_is_a_symbol_of_its_own(tmp_path, rng):
    proto = pydl.onnx.export(nn.Flatten(0), _floats("B", 3)(rng, 2), tmp_path / "f.onnx")
    (dim,) = proto.graph.output[0].type.tensor_type.shape.dim
    assert dim.dim_param and dim.dim_param != "batch"


def test_static_batch(tmp_path, rng):
    path = tmp_path / "static.onnx"
    pydl.onnx.export(nn.Linear(3, 2), _floats("B", 3)(rng, 2), path, dynamic_batch=False)
    session = _session(path)
    assert session.get_inputs()[0].shape == [2, 3]
    with pytest.raises(Exception, match="[Ii]nvalid dimensions|[Ii]ndex"):
        session.run(None, {"input": _floats("B", 3)(rng, 4)})


@pytest.mark.parametrize("opset", [17, 18, 21])
def test_opsets(opset, tmp_path, rng):
    # Maxout and the averaged attention weights reduce: axes moved from attribute to input in 18.
    model = nn.Sequential(nn.Maxout(6, 4, 2), nn.BatchNorm1d(5, track_running_stats=False))
    _randomize(model, rng)
    _check_export(model, _floats("B", 5, 6), tmp_path, rng, opset=opset)
    attention = nn.MultiheadAttention(8, 2, batch_first=True)
    x = _floats("B", 5, 8)
    _check_export(attention, lambda rng, b: (x(rng, b),) * 3, tmp_path, rng, opset=opset)


def test_training_mode_model_exports_eval_semantics_and_keeps_its_mode(tmp_path, rng):
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Dropout(0.5), nn.Linear(6, 2))
    _randomize(model, rng)
    model.train()
    state = {k: v.copy() for k, v in model.state_dict().items()}
    path = tmp_path / "m.onnx"
    pydl.onnx.export(model, _floats("B", 4)(rng, 3), path)
    assert all(m.training for m in model.modules())
    for k, v in model.state_dict().items():  # no running statistics were updated
        np.testing.assert_array_equal(v, state[k])
    x = _floats("B", 4)(rng, 5)
    with pydl.no_grad():
        want = model.eval()(x).numpy()
    np.testing.assert_allclose(
        _session(path).run(None, {"input": x})[0], want, rtol=1e-5, atol=1e-5
    )


def test_tied_gpt_embedding_is_stored_once(tmp_path):
    model = GPT(vocab_size=13, d_model=8, n_heads=2, n_layers=1, max_len=8)
    proto = pydl.onnx.export(model, np.zeros((1, 4), np.int64), tmp_path / "gpt.onnx")
    shapes = [tuple(t.dims) for t in proto.graph.initializer]
    assert shapes.count((13, 8)) + shapes.count((8, 13)) == 1


def test_file_is_replaced_atomically(tmp_path, rng, monkeypatch):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    x = _floats("B", 3)(rng, 2)

    def interrupted(src, dst):
        raise OSError("interrupted")

    with monkeypatch.context() as m:
        m.setattr(os, "replace", interrupted)
        with pytest.raises(OSError, match="interrupted"):
            pydl.onnx.export(nn.Linear(3, 2), x, path)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["m.onnx"]
    pydl.onnx.export(nn.Linear(3, 2), x, path)
    assert os.listdir(tmp_path) == ["m.onnx"]  # no temporary file left beside it
    onnx.checker.check_model(str(path))


def test_subclass_that_keeps_forward_is_exported(tmp_path, rng):
    class MyLinear(nn.Linear):
        pass

    _check_export(nn.Sequential(MyLinear(3, 2), nn.Tanh()), _floats("B", 3), tmp_path, rng)


# ----- errors -----------------------------------------------------------------------


class MyLayer(nn.Module):
    def forward(self, x):
        return x * 2


def test_unsupported_module_is_named_by_its_path(tmp_path, rng):
    model = nn.Sequential(
        OrderedDict(
            features=nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), MyLayer()),
            head=nn.Linear(4, 2),
        )
    )
    with pytest.raises(NotImplementedError, match=r"cannot export features\.3 \(MyLayer\): "):
        pydl.onnx.export(model, _floats("B", 3)(rng, 2), tmp_path / "m.onnx")
    assert not os.listdir(tmp_path)


def test_custom_model_and_overridden_forward_are_refused(tmp_path, rng):
    class MyNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(x)

    class Doubled(nn.Linear):
        def forward(self, x):
            return super().forward(x) * 2

    x = _floats("B", 3)(rng, 2)
    with pytest.raises(NotImplementedError, match=r"the model \(MyNet\).*nn\.Sequential"):
        pydl.onnx.export(MyNet(), x, tmp_path / "m.onnx")
    with pytest.raises(NotImplementedError, match=r"cannot export 1 \(Doubled\)"):
        pydl.onnx.export(nn.Sequential(nn.Identity(), Doubled(3, 2)), x, tmp_path / "m.onnx")


def test_module_list_is_refused_with_a_reason(tmp_path, rng):
    model = nn.Sequential(nn.ModuleList([nn.Linear(3, 3)]))
    with pytest.raises(NotImplementedError, match=r"cannot export 0 \(ModuleList\): .*forward"):
        pydl.onnx.export(model, _floats("B", 3)(rng, 2), tmp_path / "m.onnx")


def test_unsupported_configurations_and_inputs(tmp_path, rng):
    path = tmp_path / "m.onnx"
    x = _floats("B", 5, 8)(rng, 2)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    with pytest.raises(NotImplementedError, match=r"the model \(MultiheadAttention\): .*mask"):
        pydl.onnx.export(mha, (x, x, x, np.zeros((2, 5), bool)), path)
    with pytest.raises(NotImplementedError, match=r"cannot export 0 \(LSTM\): .*batch axis"):
        pydl.onnx.export(nn.Sequential(nn.LSTM(8, 4)), x[0], path)
    with pytest.raises(TypeError, match=r"cannot export 1 \(Linear\): .*tuple"):
        pydl.onnx.export(nn.Sequential(nn.GRU(8, 4), nn.Linear(4, 2)), x, path)
    with pytest.raises(TypeError, match=r"the model \(Linear\): its inputs do not fit"):
        pydl.onnx.export(nn.Linear(8, 2), (x, x), path)
    with pytest.raises(ValueError, match=r"cannot export the model \(Linear\): it fails"):
        pydl.onnx.export(nn.Linear(3, 2), x, path)  # pydl's own shape error, with the path
    with pytest.raises(ValueError, match=r"1 \(Linear\): it fails at a batch size other"):
        pydl.onnx.export(nn.Sequential(nn.Flatten(0), nn.Linear(80, 2)), x, path)
    with pytest.raises(ValueError, match="opset"):
        pydl.onnx.export(nn.Linear(8, 2), x, path, opset=13)
    with pytest.raises(ValueError, match="output_names"):
        pydl.onnx.export(nn.Linear(8, 2), x, path, output_names=["a", "b"])
    with pytest.raises(TypeError, match="pydl.nn.Module"):
        pydl.onnx.export(lambda t: t, x, path)
    assert not os.listdir(tmp_path)


def test_missing_onnx_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` raises ImportError
    with pytest.raises(ImportError, match=r'pip install "pydl\[onnx\]"'):
        pydl.onnx.export(nn.Linear(3, 2), np.zeros((1, 3), np.float32), tmp_path / "m.onnx")


def test_import_pydl_does_not_import_onnx():
    # beside the package this session imported (an installed one, or the source tree)
    assert (
        fresh_interpreter_prints("pydl.onnx.export and 'onnx' in __import__('sys').modules")
        == "False"
    )
