"""``make bench``: how fast is course_pkg? Ratios against baselines run in the same process.

Workloads: one training step (forward, backward through time, gradients of
every parameter) of an RNN, LSTM and GRU layer at N=64, T=50, D=H=128; a
character-model-sized layer at N=1, T=25, H=100; a long sequence at T=500;
in float32 and float64. Baselines: PyTorch's ``nn.RNN`` / ``nn.LSTM`` /
``nn.GRU`` on the CPU with the same number of threads, and the per-example
textbook implementation in ``bench/textbook.py``. Also the peak memory of a
training step against T, with and without truncated BPTT.

Results go to ``bench/results.json`` (read by the book's appendix) and a
table on standard output. Thread count: ``BENCH_THREADS`` (default 1), set
for NumPy's BLAS by the Makefile before Python starts.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from course_pkg.gru import gru_backward, gru_forward
from course_pkg.lstm import lstm_backward, lstm_forward
from course_pkg.rnn import rnn_backward, rnn_forward

sys.path.insert(0, str(Path(__file__).resolve().parent))
import textbook

RESULTS = Path(__file__).resolve().parent / "results.json"
THREADS = int(os.environ.get("BENCH_THREADS", "1"))

WORKLOADS = [
    # (name, N, T, D, H)
    ("main", 64, 50, 128, 128),
    ("char", 1, 25, 65, 100),
    ("long", 16, 500, 128, 128),
]
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
FUNCTIONS = {  # cell -> (sequence forward, sequence backward)
    "rnn": (rnn_forward, rnn_backward),
    "lstm": (lstm_forward, lstm_backward),
    "gru": (gru_forward, gru_backward),
}


def median_time(fn, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_inputs(cell, N, T, D, H, dtype, rng):
    g = GATES[cell]
    k = 1 / np.sqrt(H)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = np.zeros((N, H), dtype=dtype)
    dh = rng.standard_normal((N, T, H)).astype(dtype)
    if cell == "rnn":
        params = [rng.uniform(-k, k, s).astype(dtype) for s in [(D, H), (H, H), (H,)]]
    elif cell == "lstm":
        params = [rng.uniform(-k, k, s).astype(dtype) for s in [(D, g * H), (H, g * H), (g * H,)]]
    else:
        shapes = [(D, g * H), (H, g * H), (g * H,), (g * H,)]
        params = [rng.uniform(-k, k, s).astype(dtype) for s in shapes]
    return x, h0, params, dh


def ours(cell, x, h0, params, dh):
    forward, backward = FUNCTIONS[cell]

    def step():
        _h, cache = forward(x, h0, *params)
        return backward(dh, cache)

    return step


def torch_step(cell, x, h0, params, dh):
    import torch

    torch.set_num_threads(THREADS)
    _N, _T, D = x.shape
    H = h0.shape[1]
    dtype = torch.float32 if x.dtype == np.float32 else torch.float64
    kind = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    net = kind(D, H, batch_first=True).to(dtype)
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(params[0].T.copy()))
        net.weight_hh_l0.copy_(torch.from_numpy(params[1].T.copy()))
    xt = torch.from_numpy(x).requires_grad_()
    grad = torch.from_numpy(dh)

    def step():
        net.zero_grad(set_to_none=True)
        xt.grad = None
        out, _ = net(xt)
        out.backward(grad)

    return step


def textbook_step(cell, x, h0, params, dh):
    fn = {
        "rnn": textbook.rnn_train_step,
        "lstm": textbook.lstm_train_step,
        "gru": textbook.gru_train_step,
    }[cell]
    return lambda: fn(x, h0, *params, dh)


def peak_memory(cell, N, T, D, H, chunk, dtype=np.float32) -> int:
    """Peak bytes allocated during one training step, BPTT truncated to ``chunk`` steps."""
    rng = np.random.default_rng(0)
    x, h0, params, dh = make_inputs(cell, N, T, D, H, dtype, rng)
    forward, backward = FUNCTIONS[cell]
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    state = h0
    for start in range(0, T, chunk):
        h, cache = forward(x[:, start : start + chunk], state, *params)
        backward(dh[:, start : start + chunk], cache)
        state = h[:, -1]
        del cache
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return int(peak)


def main() -> None:
    import torch

    rng = np.random.default_rng(0)
    rows = []
    for name, N, T, D, H in WORKLOADS:
        for dtype in (np.float32, np.float64):
            for cell in ("rnn", "lstm", "gru"):
                x, h0, params, dh = make_inputs(cell, N, T, D, H, dtype, rng)
                repeats = 15 if name == "char" else 7
                t_ours = median_time(ours(cell, x, h0, params, dh), repeats)
                t_torch = median_time(torch_step(cell, x, h0, params, dh), repeats)
                t_text = median_time(
                    textbook_step(cell, x, h0, params, dh), 3 if T * N < 5000 else 1, warmup=0
                )
                rows.append(
                    {
                        "workload": name,
                        "cell": cell,
                        "dtype": np.dtype(dtype).name,
                        "N": N,
                        "T": T,
                        "D": D,
                        "H": H,
                        "ours_ms": 1e3 * t_ours,
                        "torch_ms": 1e3 * t_torch,
                        "textbook_ms": 1e3 * t_text,
                        "vs_torch": t_ours / t_torch,
                        "speedup_vs_textbook": t_text / t_ours,
                    }
                )
                r = rows[-1]
                print(
                    f"{name:5s} {cell:4s} {r['dtype']:7s} ours {r['ours_ms']:8.2f} ms  "
                    f"torch {r['torch_ms']:8.2f} ms  ratio {r['vs_torch']:5.2f}  "
                    f"textbook {r['textbook_ms']:9.1f} ms  "
                    f"speedup {r['speedup_vs_textbook']:6.1f}x",
                    flush=True,
                )
    memory = []
    for T in (50, 100, 200, 400, 800):
        memory.append(
            {
                "T": T,
                "full_bytes": peak_memory("lstm", 16, T, 128, 128, chunk=T),
                "truncated50_bytes": peak_memory("lstm", 16, T, 128, 128, chunk=50),
            }
        )
        print(
            f"memory LSTM N=16 H=128 float32 T={T:4d}: "
            f"full BPTT {memory[-1]['full_bytes'] / 2**20:7.1f} MiB"
            f", truncated to 50 steps {memory[-1]['truncated50_bytes'] / 2**20:6.1f} MiB",
            flush=True,
        )
    result = {
        "threads": THREADS,
        "numpy": np.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "rows": rows,
        "memory": memory,
    }
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
