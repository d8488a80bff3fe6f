"""The peers a user would pick instead of pydl, for the standard training workloads.

    torch          PyTorch eager: the twins in pydl/_workloads.py (every workload)
    torch_compile  those twins with the model under torch.compile (default mode: Dynamo,
                   AOTAutograd and Inductor compile forward and backward; the optimizer step
                   stays eager, as most users run it)
    jax            pure JAX + optax: parameters as a pytree, jax.value_and_grad of the loss,
                   the optax update, the whole step under one jax.jit with the parameter and
                   optimizer-state buffers donated

torch_compile and jax cover PEER_WORKLOADS: the same shapes, layers, losses, optimizers,
hyper-parameters and data (the same np.random.default_rng(0) draws) as the PyTorch twins.
JAX's initialization differs (see _jax_models). All three are optional: build_peer returns
None when a peer cannot run a workload, and unavailable() says why.

Threads: torch.set_num_threads, and for XLA the environment variable PJRT_NPROC, the size of
the CPU client's intra-op pool (its "tf_XLAEigen" threads; the default is the machine's
cores). jaxlib 0.10.2 reads it once, when JAX starts its CPU backend, so set_num_threads
must come before the first JAX step. XLA_FLAGS has no thread-count flag in 0.10.2:
"--intra_op_parallelism_threads=N" aborts the process as an unknown flag (written without
the dashes XLA ignores it), and "--xla_cpu_multi_thread_eigen=false" leaves the pool as it is.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import numpy as np

import pydl

from . import _workloads
from ._workloads import SEQ_B, SEQ_H, SEQ_I, SEQ_T, WORKLOADS, Step

PEERS = ("torch", "torch_compile", "jax")
RUNTIMES = ("pydl", "pydl_compile") + PEERS  # pydl_compile: the pydl step under pydl.compile
PEER_WORKLOADS = ("mlp128", "cnn", "lstm", "gru", "gpt")  # torch_compile's and jax's

_reasons: dict[tuple[str, str], str] = {}  # (runtime, workload) -> why it cannot run
_threads: list[int] = []  # set_num_threads's value, applied to a peer imported later


def set_num_threads(n: int) -> None:
    """Threads for pydl and every peer: torch's intra-op threads and XLA's CPU pool (taken
    up when JAX starts its CPU backend; a backend already started keeps its pool)."""
    pydl.set_num_threads(n)
    _threads[:] = [n]
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
    if not _jax_started():
        os.environ["PJRT_NPROC"] = str(n)


def build(runtime: str, workload: str) -> Step | None:
    """The training step of `workload` on `runtime` (pydl or one of PEERS); None when that
    peer cannot run it (unavailable says why)."""
    _check(runtime, workload, RUNTIMES)
    if runtime == "pydl":
        return WORKLOADS[workload].build()
    if runtime == "pydl_compile":
        return _pydl_compile(workload)
    return build_peer(runtime, workload)


def _pydl_compile(workload: str) -> Step | None:
    """The pydl step under pydl.compile, recorded already (its first two calls); None when
    it cannot be captured (unavailable says why)."""
    step = pydl.compile(WORKLOADS[workload].build(), fullgraph=True)
    try:
        step()
        step()
    except pydl.CaptureError as e:
        _reasons["pydl_compile", workload] = _one_line(e)
        return None
    return step


def build_peer(runtime: str, workload: str) -> Step | None:
    """The step of `workload` on peer `runtime`, compiled already (torch_compile runs one
    step to compile it; jax compiles ahead of time), or None when its package is absent,
    the peer has no version of this workload, or compiling failed: unavailable says why.
    A JAX step returns its loss (a scalar array)."""
    _check(runtime, workload, PEERS)
    if unavailable(runtime, workload) is not None:
        return None
    if runtime == "torch":
        return WORKLOADS[workload].build(_import_torch())
    try:
        if runtime == "torch_compile":
            return _torch_compile(workload)
        return _jax_step(workload)
    except Exception as e:  # a compiler's failure: this peer sits this workload out
        _reasons[runtime, workload] = _one_line(e)
        return None


def unavailable(runtime: str, workload: str | None = None) -> str | None:
    """Why peer `runtime` cannot run (`workload`, or any workload), in one line; None when it
    can, as far as is known before building it (a failed compile is known after)."""
    _check(runtime, workload, RUNTIMES)
    missing = _missing(runtime)
    if missing is not None:
        return missing
    if workload is None:
        return None
    if runtime in ("torch_compile", "jax") and workload not in PEER_WORKLOADS:
        return f"covers only {', '.join(PEER_WORKLOADS)}"
    return _reasons.get((runtime, workload))


def version(runtime: str) -> str:
    """The runtime and its version, e.g. "JAX 0.10.2 (optax 0.2.8)", or that it is absent,
    e.g. "PyTorch not installed"."""
    _check(runtime, None, RUNTIMES)
    if runtime in ("pydl", "pydl_compile"):
        label = "pydl.compile, " if runtime == "pydl_compile" else ""
        return f"{label}pydl {pydl.build_info()['version'] or '(in-place build)'}"
    if runtime == "jax":
        try:
            import jax
        except ImportError:
            return "JAX not installed"
        try:
            import optax
        except ImportError:
            return f"JAX {jax.__version__} (optax not installed)"
        return f"JAX {jax.__version__} (optax {optax.__version__})"
    try:
        torch = _import_torch()
    except ImportError:
        return (
            "PyTorch not installed"
            if runtime == "torch"
            else "torch.compile: PyTorch not installed"
        )
    if runtime == "torch_compile":
        return f"torch.compile (PyTorch {torch.__version__})"
    return f"PyTorch {torch.__version__}"


def prepare(runtime: str) -> None:
    """Import the runtime's packages and start its backend (JAX's CPU client and its thread
    pool), so that what is measured next is the workload's own cost."""
    _check(runtime, None, RUNTIMES)
    if _missing(runtime) is not None:
        return
    if runtime == "jax":
        jax, _ = _import_jax()
        jax.devices()
    elif runtime in ("torch", "torch_compile"):
        _import_torch()


def measure(steps: dict[str, Step], rounds: int, calls: int = 1, warmup: int = 3) -> dict:
    """Seconds per step of each runtime's step, `rounds` of them: each round runs one step
    of every runtime in turn (after `warmup` such rounds), so a machine whose speed drifts
    slows them all alike. Returns {runtime: [seconds, one per round]}."""
    for _ in range(warmup):
        for step in steps.values():
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            times[name].append(_workloads._time(step, calls))
    return times


def _check(runtime: str, workload: str | None, runtimes: tuple[str, ...]) -> None:
    if runtime not in runtimes:
        raise ValueError(f"unknown runtime {runtime!r} (choose from {', '.join(runtimes)})")
    if workload is not None and workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r} (choose from {', '.join(WORKLOADS)})")


def _missing(runtime: str) -> str | None:
    """Why the runtime's packages cannot be imported, or None."""
    packages = {"torch": ("torch",), "torch_compile": ("torch",), "jax": ("jax", "optax")}
    for name in packages.get(runtime, ()):
        try:
            __import__(name)
        except ImportError:  # also a module set to None in sys.modules
            return f"{name} is not installed"
    return None


def _one_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0] if lines else ''}".rstrip(": ")


# ----- torch.compile --------------------------------------------------------------------------


def _import_torch() -> Any:
    import torch

    if _threads:
        torch.set_num_threads(_threads[0])
    return torch


_COMPILED: dict[str, Callable[[Any], Step]] = {
    "mlp128": lambda torch: _workloads.mlp(128, "adam", torch, compiled=True),
    "cnn": lambda torch: _workloads.cnn(torch, compiled=True),
    "lstm": lambda torch: _workloads.rnn("LSTM", torch, compiled=True),
    "gru": lambda torch: _workloads.rnn("GRU", torch, compiled=True),
    "gpt": lambda torch: _workloads.gpt(torch, compiled=True),
}


def _torch_compile(workload: str) -> Step:
    torch = _import_torch()
    step = _COMPILED[workload](torch)
    # A graph break would leave part of the model eager (all of it for nn.LSTM and nn.GRU,
    # which Dynamo does not trace): that is not the compiled peer, so it is an error here.
    strict = getattr(torch._dynamo, "error_on_graph_break", None)
    if strict is not None:
        with strict(True):
            step()  # compiles forward and backward
        return step
    from torch._dynamo.utils import counters  # PyTorch before error_on_graph_break

    breaks = sum(counters["graph_break"].values())
    step()
    if sum(counters["graph_break"].values()) > breaks:
        raise RuntimeError(f"graph break: {next(reversed(counters['graph_break']))}")
    return step


# ----- JAX ------------------------------------------------------------------------------------


def _jax_started() -> bool:
    """Whether JAX has started a backend (its thread pool is then fixed)."""
    if sys.modules.get("jax") is None:  # not imported (or blocked, as the tests do)
        return False
    from jax._src import xla_bridge

    return bool(getattr(xla_bridge, "_backends", None))


def _import_jax() -> tuple[Any, Any]:
    if not _jax_started():
        os.environ.setdefault(
            "PJRT_NPROC", str(_threads[0] if _threads else pydl.get_num_threads())
        )
    import jax
    import optax

    if not _jax_started():
        jax.config.update("jax_platforms", "cpu")  # a CPU benchmark, also where a GPU is
    return jax, optax


def _jax_step(workload: str) -> Step:
    jax, optax = _import_jax()
    init, loss_fn, tx, data = _jax_models(jax, optax)[workload]()
    params = init(jax.random.PRNGKey(0))
    opt_state = tx.init(params)
    x, y = (jax.numpy.asarray(a) for a in data)

    def train_step(params: Any, opt_state: Any, x: Any, y: Any) -> tuple[Any, Any, Any]:
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    # compiled ahead of time, so that no timed step compiles
    compiled = jax.jit(train_step, donate_argnums=(0, 1)).lower(params, opt_state, x, y).compile()
    state = [params, opt_state]

    def step() -> Any:
        params, opt_state, loss = compiled(state[0], state[1], x, y)
        state[:] = [params, opt_state]
        return jax.block_until_ready((params, loss))[1]  # dispatch is asynchronous

    return step


def _jax_models(jax: Any, optax: Any) -> dict[str, Callable[[], tuple]]:
    """workload -> () -> (init(key) -> params, loss(params, x, y), optax optimizer, (x, y)).

    Initialization: dense and convolution weights and biases U(+-1/sqrt(fan_in)) (PyTorch's
    default for Linear and Conv2d), recurrent weights U(+-1/sqrt(H)) (PyTorch's for LSTM and
    GRU), embeddings N(0, 0.02) (pydl.models.GPT's), LayerNorm ones and zeros; drawn from
    jax.random.PRNGKey(0). Dense kernels are (in, out), as JAX users write x @ w."""
    jnp, lax = jax.numpy, jax.lax

    def uniform(key: Any, shape: tuple[int, ...], fan_in: int) -> Any:
        bound = 1.0 / np.sqrt(fan_in)
        return jax.random.uniform(key, shape, jnp.float32, -bound, bound)

    def dense_init(key: Any, n_in: int, n_out: int) -> dict:
        kw, kb = jax.random.split(key)
        return {"w": uniform(kw, (n_in, n_out), n_in), "b": uniform(kb, (n_out,), n_in)}

    def dense(p: dict, h: Any) -> Any:
        return h @ p["w"] + p["b"]

    def cross_entropy(logits: Any, y: Any) -> Any:
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def mlp() -> tuple:
        rng = np.random.default_rng(0)  # _workloads.mlp's draws
        x = rng.standard_normal((128, 784)).astype(np.float32)
        y = rng.integers(0, 10, 128)

        def init(key: Any) -> list:
            keys = jax.random.split(key, 3)
            return [dense_init(k, n, m) for k, n, m in zip(keys, (784, 256, 256), (256, 256, 10))]

        def loss(params: list, x: Any, y: Any) -> Any:
            h = jnp.tanh(dense(params[0], x))
            h = jnp.tanh(dense(params[1], h))
            return cross_entropy(dense(params[2], h), y)

        return init, loss, optax.adam(1e-3), (x, y)

    def cnn() -> tuple:
        x, y = _workloads.cnn_data()
        # NHWC, the layout JAX users (Flax) hold images in and XLA's CPU convolutions take;
        # transposed once, outside the step
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))

        def conv_init(key: Any, c_in: int, c_out: int) -> dict:
            kw, kb = jax.random.split(key)
            fan_in = c_in * 9
            return {
                "w": uniform(kw, (3, 3, c_in, c_out), fan_in),
                "b": uniform(kb, (c_out,), fan_in),
            }

        def init(key: Any) -> dict:
            k = jax.random.split(key, 4)
            return {
                "conv1": conv_init(k[0], 3, 16),
                "conv2": conv_init(k[1], 16, 32),
                "fc1": dense_init(k[2], 2048, 128),
                "fc2": dense_init(k[3], 128, 10),
            }

        def conv_relu_pool(p: dict, h: Any) -> Any:
            h = lax.conv_general_dilated(
                h, p["w"], (1, 1), ((1, 1), (1, 1)), dimension_numbers=("NHWC", "HWIO", "NHWC")
            )
            h = jax.nn.relu(h + p["b"])
            return lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

        def loss(params: dict, x: Any, y: Any) -> Any:
            h = conv_relu_pool(params["conv2"], conv_relu_pool(params["conv1"], x))
            h = jax.nn.relu(dense(params["fc1"], h.reshape(h.shape[0], -1)))
            return cross_entropy(dense(params["fc2"], h), y)

        return init, loss, optax.sgd(0.01, momentum=0.9), (x, y)

    def rnn(cell: str) -> tuple:
        rng = np.random.default_rng(0)  # _workloads.rnn's draws
        x = rng.standard_normal((SEQ_T, SEQ_B, SEQ_I)).astype(np.float32)
        y = rng.integers(0, 10, SEQ_B)
        G = 4 if cell == "lstm" else 3  # PyTorch's gate order: i, f, g, o or r, z, n

        def init(key: Any) -> dict:
            k = jax.random.split(key, 5)
            return {
                "w_ih": uniform(k[0], (SEQ_I, G * SEQ_H), SEQ_H),
                "w_hh": uniform(k[1], (SEQ_H, G * SEQ_H), SEQ_H),
                "b_ih": uniform(k[2], (G * SEQ_H,), SEQ_H),
                "b_hh": uniform(k[3], (G * SEQ_H,), SEQ_H),
                "head": dense_init(k[4], SEQ_H, 10),
            }

        def lstm_last(p: dict, x: Any) -> Any:
            xw = x @ p["w_ih"] + (p["b_ih"] + p["b_hh"])  # every step's input product at once

            def cell(carry: tuple, xw_t: Any) -> tuple:
                h, c = carry
                i, f, g, o = jnp.split(xw_t + h @ p["w_hh"], 4, axis=-1)
                c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
                return (jax.nn.sigmoid(o) * jnp.tanh(c), c), None

            zeros = jnp.zeros((SEQ_B, SEQ_H), jnp.float32)
            (h, _), _ = lax.scan(cell, (zeros, zeros), xw)
            return h

        def gru_last(p: dict, x: Any) -> Any:
            xw = x @ p["w_ih"] + p["b_ih"]

            def cell(h: Any, xw_t: Any) -> tuple:
                xr, xz, xn = jnp.split(xw_t, 3, axis=-1)
                hr, hz, hn = jnp.split(h @ p["w_hh"] + p["b_hh"], 3, axis=-1)
                r, z = jax.nn.sigmoid(xr + hr), jax.nn.sigmoid(xz + hz)
                n = jnp.tanh(xn + r * hn)
                return (1 - z) * n + z * h, None

            h, _ = lax.scan(cell, jnp.zeros((SEQ_B, SEQ_H), jnp.float32), xw)
            return h

        last = lstm_last if cell == "lstm" else gru_last

        def loss(params: dict, x: Any, y: Any) -> Any:
            return cross_entropy(dense(params["head"], last(params, x)), y)

        return init, loss, optax.adam(1e-3), (x, y)

    def gpt() -> tuple:
        batch, T, V, D, H, F = 16, 128, 256, 256, 4, 1024
        rng = np.random.default_rng(0)  # _workloads.gpt's draws
        x, y = rng.integers(0, V, (batch, T)), rng.integers(0, V, (batch, T))

        def norm_init() -> dict:
            return {"g": jnp.ones(D), "b": jnp.zeros(D)}

        def init(key: Any) -> dict:
            k = jax.random.split(key, 10)
            return {
                "tok": 0.02 * jax.random.normal(k[0], (V, D)),
                "pos": 0.02 * jax.random.normal(k[1], (T, D)),
                "blocks": [
                    {
                        "ln1": norm_init(),
                        "qkv": dense_init(k[2 + 4 * i], D, 3 * D),
                        "out": dense_init(k[3 + 4 * i], D, D),
                        "ln2": norm_init(),
                        "ff1": dense_init(k[4 + 4 * i], D, F),
                        "ff2": dense_init(k[5 + 4 * i], F, D),
                    }
                    for i in range(2)
                ],
                "ln_f": norm_init(),
            }

        def layer_norm(p: dict, h: Any) -> Any:
            mean = h.mean(-1, keepdims=True)
            var = jnp.square(h - mean).mean(-1, keepdims=True)
            return (h - mean) * lax.rsqrt(var + 1e-5) * p["g"] + p["b"]

        def attention(b: dict, h: Any) -> Any:
            q, k, v = (
                a.reshape(batch, T, H, D // H) for a in jnp.split(dense(b["qkv"], h), 3, axis=-1)
            )
            o = jax.nn.dot_product_attention(q, k, v, is_causal=True)
            return dense(b["out"], o.reshape(batch, T, D))

        def loss(params: dict, x: Any, y: Any) -> Any:
            h = params["tok"][x] + params["pos"]
            for b in params["blocks"]:  # pre-LN blocks; PyTorch's "gelu" is the exact (erf) one
                h = h + attention(b, layer_norm(b["ln1"], h))
                f = jax.nn.gelu(dense(b["ff1"], layer_norm(b["ln2"], h)), approximate=False)
                h = h + dense(b["ff2"], f)
            logits = layer_norm(params["ln_f"], h) @ params["tok"].T  # tied head
            return cross_entropy(logits.reshape(-1, V), y.reshape(-1))

        # torch.optim.AdamW's weight decay (0.01) on every parameter; optax's default is 1e-4
        return init, loss, optax.adamw(3e-4, weight_decay=0.01), (x, y)

    return {
        "mlp128": mlp,
        "cnn": cnn,
        "lstm": lambda: rnn("lstm"),
        "gru": lambda: rnn("gru"),
        "gpt": gpt,
    }
