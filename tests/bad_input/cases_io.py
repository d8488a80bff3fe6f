"""pydl.save / pydl.load and Module.load_state_dict given bad input (Note [Bad-input
corpus]): missing, empty, truncated and corrupt files, objects that cannot be stored, bad
paths, state dicts with missing or unexpected keys, wrong shapes and wrong types; and
PyTorch's tensors and files where pydl accepts them."""

import json
import os
import struct
import tempfile

import numpy as np
from corpus import bad, works

import pydl
from pydl import nn, optim

CASES: list = []


def _dir():
    return tempfile.mkdtemp(prefix="pydl-io-case-")


def _file(content: bytes, name="f.safetensors"):
    path = os.path.join(_dir(), name)
    with open(path, "wb") as f:
        f.write(content)
    return path


def _saved(obj=None):
    path = os.path.join(_dir(), "ok.safetensors")
    pydl.save(obj if obj is not None else {"w": pydl.ones(4, 3), "step": 3}, path)
    return path


def _header(meta: dict, tensors: dict | None = None, data: bytes = b"") -> bytes:
    header = dict(tensors or {})
    header["__metadata__"] = meta
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


# ----- pydl.load ----------------------------------------------------------------------------

bad(
    CASES,
    "io.load.missing_file",
    lambda: pydl.load(os.path.join(_dir(), "nope.safetensors")),
    FileNotFoundError,
    r"no such file.*nope\.safetensors",
)
bad(
    CASES,
    "io.load.empty_file",
    lambda: pydl.load(_file(b"")),
    ValueError,
    r"not a valid checkpoint",
)
bad(
    CASES,
    "io.load.random_bytes",
    lambda: pydl.load(_file(os.urandom(64))),
    ValueError,
    r"not a valid checkpoint",
)
bad(
    CASES,
    "io.load.huge_header_size",
    lambda: pydl.load(_file(struct.pack("<Q", 2**62) + b"{}")),
    ValueError,
    r"not a valid checkpoint",
)
bad(
    CASES,
    "io.load.a_directory",
    lambda: pydl.load(_dir()),
    (IsADirectoryError, ValueError),
    r"directory|not a valid checkpoint",
)
bad(CASES, "io.load.path_int", lambda: pydl.load(3), TypeError, r"pydl\.load.*path.*int")
bad(CASES, "io.load.path_none", lambda: pydl.load(None), TypeError, r"pydl\.load.*path.*NoneType")
bad(
    CASES,
    "io.load.map_location_cuda",
    lambda: pydl.load(_saved(), map_location="cuda"),
    RuntimeError,
    r"map_location.*cuda",
)


def _truncated():
    path = _saved({"w": pydl.ones(64, 64)})
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size - 100)
    return pydl.load(path)


bad(
    CASES,
    "io.load.truncated",
    _truncated,
    ValueError,
    r"not a valid checkpoint.*truncated or corrupted",
)


def _truncated_mmap():
    path = _saved({"w": pydl.ones(64, 64)})
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 100)
    return pydl.load(path, mmap=True)


bad(CASES, "io.load.truncated_mmap", _truncated_mmap, ValueError, r"not a valid checkpoint")


def _flipped_header():
    path = _saved()
    with open(path, "r+b") as f:
        f.seek(10)
        f.write(b"\xff\xfe")
    return pydl.load(path)


bad(CASES, "io.load.corrupt_header", _flipped_header, ValueError, r"not a valid checkpoint")
bad(
    CASES,
    "io.load.pydl_header_not_json",
    lambda: pydl.load(_file(_header({"pydl": "{not json"}))),
    ValueError,
    r"malformed pydl header",
)
bad(
    CASES,
    "io.load.pydl_header_version",
    lambda: pydl.load(
        _file(_header({"pydl": json.dumps({"version": 99, "object": {"value": 1}})}))
    ),
    ValueError,
    r"malformed pydl header.*version 99",
)
bad(
    CASES,
    "io.load.pydl_header_unknown_entry",
    lambda: pydl.load(
        _file(_header({"pydl": json.dumps({"version": 1, "object": {"pickle": "x"}})}))
    ),
    ValueError,
    r"malformed pydl header.*unknown entry 'pickle'",
)
bad(
    CASES,
    "io.load.pydl_header_missing_tensor",
    lambda: pydl.load(
        _file(
            _header(
                {
                    "pydl": json.dumps(
                        {
                            "version": 1,
                            "object": {"tensor": "w", "shape": [2], "requires_grad": False},
                        }
                    )
                }
            )
        )
    ),
    ValueError,
    r"malformed pydl header.*'w'",
)
bad(
    CASES,
    "io.load.pydl_header_wrong_shape",
    lambda: pydl.load(
        _file(
            _header(
                {
                    "pydl": json.dumps(
                        {
                            "version": 1,
                            "object": {"tensor": "w", "shape": [3], "requires_grad": False},
                        }
                    )
                },
                {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
                b"\0" * 8,
            )
        )
    ),
    ValueError,
    r"malformed pydl header.*shape",
)
bad(
    CASES,
    "io.load.data_offsets_outside_file",
    lambda: pydl.load(
        _file(
            _header({}, {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8)
        )
    ),
    ValueError,
    r"not a valid checkpoint",
)
bad(
    CASES,
    "io.load.float8",
    lambda: pydl.load(
        _file(
            _header(
                {}, {"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}, b"\0" * 2
            )
        )
    ),
    ValueError,
    r"F8_E4M3",
)


def _roundtrip():
    obj = {
        "w": pydl.ones(2, 3, requires_grad=True),
        "n": 3,
        "t": (1.5, "x"),
        "a": np.arange(4)[::-1],
    }
    back = pydl.load(_saved(obj))
    assert back["w"].requires_grad and back["w"].shape == (2, 3)
    assert back["n"] == 3 and back["t"] == (1.5, "x")
    assert np.array_equal(back["a"], [3, 2, 1, 0])


works(CASES, "io.save.roundtrip_negative_stride", _roundtrip)


def _zero_size_and_0d():
    back = pydl.load(_saved({"e": pydl.zeros(0, 3), "s": pydl.tensor(2.5)}))
    assert back["e"].shape == (0, 3) and back["s"].shape == () and float(back["s"]) == 2.5


works(CASES, "io.save.zero_size_and_0d", _zero_size_and_0d)

# ----- pydl.save ----------------------------------------------------------------------------

bad(
    CASES,
    "io.save.object",
    lambda: pydl.save({"x": object()}, os.path.join(_dir(), "a")),
    TypeError,
    r"got object at obj\['x'\]",
)
bad(
    CASES,
    "io.save.module",
    lambda: pydl.save(nn.Linear(2, 2), os.path.join(_dir(), "a")),
    TypeError,
    r"Linear.*state_dict\(\)",
)
bad(
    CASES,
    "io.save.complex_array",
    lambda: pydl.save({"z": np.ones(2, np.complex64)}, os.path.join(_dir(), "a")),
    TypeError,
    r"complex64 at obj\['z'\]",
)
bad(
    CASES,
    "io.save.string_array",
    lambda: pydl.save([np.array(["a"])], os.path.join(_dir(), "a")),
    TypeError,
    r"<U1 at obj\[0\]",
)
bad(
    CASES,
    "io.save.tuple_key",
    lambda: pydl.save({(1, 2): 3}, os.path.join(_dir(), "a")),
    TypeError,
    r"dict key of type tuple",
)
bad(
    CASES,
    "io.save.set",
    lambda: pydl.save({1, 2}, os.path.join(_dir(), "a")),
    TypeError,
    r"got set at obj",
)
bad(
    CASES,
    "io.save.missing_directory",
    lambda: pydl.save({"a": 1}, os.path.join(_dir(), "no", "such", "f")),
    FileNotFoundError,
    r"pydl\.save.*no such directory.*no/such",
)
bad(
    CASES,
    "io.save.path_is_directory",
    lambda: pydl.save({"a": 1}, _dir()),
    IsADirectoryError,
    r"pydl\.save.*is a directory",
)
bad(CASES, "io.save.path_int", lambda: pydl.save({"a": 1}, 3), TypeError, r"pydl\.save.*path.*int")
bad(
    CASES,
    "io.save.under_a_file",
    lambda: pydl.save({"a": 1}, os.path.join(_file(b"x"), "f")),
    (NotADirectoryError, FileNotFoundError),
    r"pydl\.save.*f\.safetensors is not a directory",
)


def _recursive():
    a = []
    a.append(a)
    return pydl.save(a, os.path.join(_dir(), "a"))


bad(CASES, "io.save.recursive_list", _recursive, (ValueError, RecursionError), r"recursi|circular")


def _save_failure_keeps_old_file():
    path = _saved({"v": 1})
    try:
        pydl.save({"x": object()}, path)
    except TypeError:
        pass
    assert pydl.load(path) == {"v": 1}
    assert sorted(os.listdir(os.path.dirname(path))) == ["ok.safetensors"]


works(CASES, "io.save.failure_keeps_old_file", _save_failure_keeps_old_file)

# ----- Module.load_state_dict ---------------------------------------------------------------


def _model():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def _sd(**changes):
    sd = dict(_model().state_dict())
    for k, v in changes.items():
        k = k.replace("__", ".")
        if v is None:
            del sd[k]
        else:
            sd[k] = v
    return sd


bad(
    CASES,
    "io.load_state_dict.missing_key",
    lambda: _model().load_state_dict(_sd(**{"2__bias": None})),
    RuntimeError,
    r"missing keys \['2\.bias'\]",
)
bad(
    CASES,
    "io.load_state_dict.unexpected_key",
    lambda: _model().load_state_dict(_sd(**{"3__weight": np.ones(2)})),
    RuntimeError,
    r"unexpected keys \['3\.weight'\]",
)
bad(
    CASES,
    "io.load_state_dict.wrong_shape",
    lambda: _model().load_state_dict(_sd(**{"0__weight": np.ones((3, 4))})),
    RuntimeError,
    r"0\.weight.*\(3, 4\).*\(4, 3\)",
)
bad(
    CASES,
    "io.load_state_dict.wrong_shape_non_strict",
    lambda: _model().load_state_dict(_sd(**{"0__weight": np.ones((3, 4))}), strict=False),
    RuntimeError,
    r"0\.weight.*\(3, 4\)",
)
bad(
    CASES,
    "io.load_state_dict.list",
    lambda: _model().load_state_dict([np.ones((4, 3))]),
    TypeError,
    r"state_dict.*dict-like.*list",
)
bad(
    CASES,
    "io.load_state_dict.none",
    lambda: _model().load_state_dict(None),
    TypeError,
    r"state_dict.*dict-like.*NoneType",
)
bad(
    CASES,
    "io.load_state_dict.str_value",
    lambda: _model().load_state_dict(_sd(**{"0__bias": "zeros"})),
    TypeError,
    r"0\.bias.*str",
)
bad(
    CASES,
    "io.load_state_dict.complex_value",
    lambda: _model().load_state_dict(_sd(**{"0__bias": np.ones(4, np.complex64)})),
    TypeError,
    r"0\.bias.*complex64",
)
bad(
    CASES,
    "io.load_state_dict.object_value",
    lambda: _model().load_state_dict(_sd(**{"0__bias": [None] * 4})),
    TypeError,
    r"0\.bias.*object",
)
bad(
    CASES,
    "io.load_state_dict.optimizer_state",
    lambda: _model().load_state_dict(optim.SGD(_model().parameters(), lr=0.1).state_dict()),
    RuntimeError,
    r"missing keys.*unexpected keys \['state', 'param_groups'\]",
)


def _atomic():
    m = _model()
    before = m[0].weight.numpy().copy()
    try:
        m.load_state_dict(_sd(**{"0__weight": np.full((4, 3), 7.0), "2__weight": np.ones(5)}))
    except RuntimeError:
        pass
    assert np.array_equal(m[0].weight.numpy(), before)


works(CASES, "io.load_state_dict.all_or_nothing", _atomic)


def _non_strict():
    r = _model().load_state_dict(_sd(**{"2__bias": None, "x": np.ones(1)}), strict=False)
    assert r.missing_keys == ["2.bias"] and r.unexpected_keys == ["x"]


works(CASES, "io.load_state_dict.non_strict_reports", _non_strict)


def _python_lists_and_float64():
    m = nn.Linear(2, 1)
    m.load_state_dict({"weight": [[1, 2]], "bias": np.array([0.5])})
    assert m.weight.dtype == pydl.float32 and np.allclose(m(pydl.ones(1, 2)).numpy(), 3.5)


works(CASES, "io.load_state_dict.lists_and_float64", _python_lists_and_float64)


def _transposed_array():
    m = nn.Linear(3, 4)
    w = np.arange(12, dtype=np.float32).reshape(3, 4).T  # non-contiguous
    m.load_state_dict({"weight": w, "bias": np.zeros(4)})
    assert np.array_equal(m.weight.numpy(), w)


works(CASES, "io.load_state_dict.transposed_array", _transposed_array)


def _from_torch():
    try:
        import torch
    except ImportError:
        return
    t = torch.nn.Linear(3, 2)
    m = nn.Linear(3, 2)
    m.load_state_dict(t.state_dict())
    x = np.ones((1, 3), np.float32)
    assert np.allclose(m(pydl.tensor(x)).numpy(), t(torch.tensor(x)).detach().numpy(), atol=1e-6)


works(CASES, "io.load_state_dict.torch_tensors", _from_torch)


def _torch_parameters():
    try:
        import torch
    except ImportError:
        return
    t = torch.nn.Linear(3, 4)
    m = nn.Linear(3, 4)
    m.load_state_dict({"weight": t.weight, "bias": t.bias})  # Parameters: they require grad
    assert np.array_equal(m.weight.numpy(), t.weight.detach().numpy())


works(CASES, "io.load_state_dict.torch_parameters", _torch_parameters)


def _torch_file():
    try:
        import torch
        from safetensors.torch import save_file
    except ImportError:
        return
    path = os.path.join(_dir(), "t.safetensors")
    save_file(torch.nn.Linear(3, 2).state_dict(), path)
    sd = pydl.load(path)
    nn.Linear(3, 2).load_state_dict(sd)
    bad_model = nn.Linear(2, 3)
    try:
        bad_model.load_state_dict(sd)
    except RuntimeError as e:
        assert "size mismatch" in str(e) and "(3,)" in str(e)
    else:
        raise AssertionError("a (2, 3) weight accepted a (3, 2) one")


works(CASES, "io.load.torch_safetensors_file", _torch_file)

# ----- pydl.onnx.export ---------------------------------------------------------------------


def _export(model, inputs, **kwargs):
    def call():
        import pydl.onnx

        return pydl.onnx.export(model(), inputs, os.path.join(_dir(), "m.onnx"), **kwargs)

    return call


class _Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x) * 2


_X = np.ones((2, 3), np.float32)
bad(
    CASES,
    "io.onnx.not_a_module",
    _export(lambda: lambda x: x, _X),
    TypeError,
    r"export expects a pydl\.nn\.Module, got function",
)
bad(
    CASES,
    "io.onnx.custom_module",
    _export(_Custom, _X),
    NotImplementedError,
    r"cannot export.*_Custom",
)
bad(
    CASES,
    "io.onnx.opset_old",
    _export(lambda: nn.Linear(3, 2), _X, opset=1),
    ValueError,
    r"opset must be in.*got 1",
)
bad(
    CASES,
    "io.onnx.wrong_input_width",
    _export(lambda: nn.Linear(3, 2), np.ones((2, 5), np.float32)),
    ValueError,
    r"cannot export.*Linear.*fails",
)
bad(
    CASES,
    "io.onnx.input_names_count",
    _export(lambda: nn.Linear(3, 2), _X, input_names=["a", "b"]),
    ValueError,
    r"input_names must be 1 distinct names",
)
bad(
    CASES,
    "io.onnx.output_names_duplicate",
    _export(lambda: nn.Sequential(nn.Linear(3, 2)), _X, output_names=["y", "y"]),
    ValueError,
    r"output_names must be 1 distinct names",
)
bad(
    CASES,
    "io.onnx.input_str",
    _export(lambda: nn.Linear(3, 2), "x"),
    TypeError,
    r"example_inputs.*str",
)
bad(
    CASES,
    "io.onnx.module_list",
    _export(lambda: nn.ModuleList([nn.Linear(3, 2)]), _X),
    NotImplementedError,
    r"ModuleList has no forward",
)
bad(
    CASES,
    "io.onnx.path_missing_directory",
    lambda: __import__("pydl.onnx").onnx.export(
        nn.Linear(3, 2), _X, os.path.join(_dir(), "no", "m.onnx")
    ),
    FileNotFoundError,
    r"no",
)


def _export_transposed_input():
    import pydl.onnx

    x = np.ones((3, 4), np.float32).T  # non-contiguous (4, 3)
    proto = pydl.onnx.export(nn.Linear(3, 2), x, os.path.join(_dir(), "m.onnx"))
    assert proto.graph.input[0].name == "input"


works(CASES, "io.onnx.transposed_input", _export_transposed_input)
