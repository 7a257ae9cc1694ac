"""``make bench``: how fast is course_pkg? Ratios against baselines run in the same process.

Workloads: one training step (forward, backward through time, gradients of
every parameter and of the inputs) of an RNN, LSTM and GRU layer at N=64, T=50, D=H=128; a
character-model-sized layer at N=1, T=25, H=100; a long sequence at T=500;
in float32 and float64. Baselines: PyTorch's ``nn.RNN`` / ``nn.LSTM`` /
``nn.GRU`` on the CPU with the same number of threads, and the per-example
textbook implementation in ``bench/textbook.py``. Also the peak memory of a
training step against T, with and without truncated BPTT.

Each ratio is the median over repeats of two times measured in the same
repeat (the contenders take turns). The same course_pkg step is also timed
in a fresh process that never imports torch, with its page faults, because
torch's allocations change how glibc's allocator treats freed memory.

Results go to ``bench/results.json`` (read by the book's appendix) and a
table on standard output. Thread count: ``BENCH_THREADS`` (default 1), set
for NumPy's BLAS by the Makefile before Python starts.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

# the fused kernels: what the models run (the readable reference loops over the step functions)
from course_pkg._fused.gru import gru_backward, gru_forward
from course_pkg._fused.lstm import lstm_backward, lstm_forward
from course_pkg._fused.rnn import rnn_backward, rnn_forward

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


def take_turns(fns: dict, repeats: int, warmup: int = 1) -> dict:
    """Time each function ``repeats`` times, taking turns; return every time in seconds.

    Running the contenders one after the other within each repeat, rather
    than all repeats of one and then all of the next, means a slow spell on
    a shared machine hits them alike, so their per-repeat ratios stay fair.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def median_ratio(numerator, denominator) -> float:
    """Median over repeats of one time divided by the other, taken in the same repeat."""
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))


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


def torch_top_ops(step, count: int = 2) -> list[str]:
    """Names of the PyTorch operations that take most of one ``step``'s time, by its profiler."""
    import torch

    with torch.autograd.profiler.profile() as prof:
        step()
    ops = sorted(prof.key_averages(), key=lambda op: op.self_cpu_time_total, reverse=True)
    return [op.key for op in ops[:count]]


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


def minor_faults() -> int:
    """Page faults this process has taken so far (each first touch of fresh memory is one)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def faults_per_call(fn, calls: int) -> float:
    """Mean number of page faults one call of ``fn`` takes, over ``calls`` calls."""
    before = minor_faults()
    for _ in range(calls):
        fn()
    return (minor_faults() - before) / calls


def ours_alone(cell, name, dtype) -> dict:
    """Time course_pkg in a fresh process that never imports torch (see ``--ours-alone``)."""
    cmd = [sys.executable, __file__, "--ours-alone", cell, name, np.dtype(dtype).name]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def run_ours_alone(cell, name, dtype_name) -> None:
    """Print the median time and page faults of one of our training steps, torch never imported.

    PyTorch's own large allocations leave glibc's allocator keeping freed
    memory, so in the benchmark's process our arrays come back without
    page faults; a process that only runs course_pkg gets them back from
    the kernel, one page fault per 4 KiB page.
    """
    if "torch" in sys.modules:
        raise RuntimeError("--ours-alone must run in a process that has not imported torch")
    N, T, D, H = next(w[1:] for w in WORKLOADS if w[0] == name)
    x, h0, params, dh = make_inputs(cell, N, T, D, H, np.dtype(dtype_name).type, rng_for(name))
    step = ours(cell, x, h0, params, dh)
    times = take_turns({"ours": step}, repeats_for(name))["ours"]
    faults = faults_per_call(step, 5)
    print(json.dumps({"ms": 1e3 * statistics.median(times), "faults_per_step": faults}))


def rng_for(name: str):
    return np.random.default_rng(sum(map(ord, name)))


def repeats_for(name: str) -> int:
    return 41 if name == "char" else 15


def main() -> None:
    import torch

    rows = []
    for name, N, T, D, H in WORKLOADS:
        for dtype in (np.float32, np.float64):
            for cell in ("rnn", "lstm", "gru"):
                x, h0, params, dh = make_inputs(cell, N, T, D, H, dtype, rng_for(name))
                step = ours(cell, x, h0, params, dh)
                torch_fn = torch_step(cell, x, h0, params, dh)
                times = take_turns({"ours": step, "torch": torch_fn}, repeats_for(name))
                faults = faults_per_call(step, 5)
                # the textbook code is slow: fewer repeats, again taking turns with ours
                text = take_turns(
                    {"ours": step, "textbook": textbook_step(cell, x, h0, params, dh)},
                    {"char": 15, "main": 5, "long": 3}[name],
                    warmup=0,
                )
                alone = ours_alone(cell, name, dtype)
                rows.append(
                    {
                        "workload": name,
                        "cell": cell,
                        "dtype": np.dtype(dtype).name,
                        "N": N,
                        "T": T,
                        "D": D,
                        "H": H,
                        "ours_ms": 1e3 * statistics.median(times["ours"]),
                        "torch_ms": 1e3 * statistics.median(times["torch"]),
                        "textbook_ms": 1e3 * statistics.median(text["textbook"]),
                        "vs_torch": median_ratio(times["ours"], times["torch"]),
                        "speedup_vs_textbook": median_ratio(text["textbook"], text["ours"]),
                        "torch_speedup_vs_textbook": (
                            statistics.median(text["textbook"]) / statistics.median(times["torch"])
                        ),
                        "ours_faults_per_step": faults,
                        "ours_alone_ms": alone["ms"],
                        "ours_alone_faults_per_step": alone["faults_per_step"],
                        "torch_top_ops": torch_top_ops(torch_fn),
                    }
                )
                r = rows[-1]
                print(
                    f"{name:5s} {cell:4s} {r['dtype']:7s} ours {r['ours_ms']:8.2f} ms  "
                    f"torch {r['torch_ms']:8.2f} ms  ratio {r['vs_torch']:5.2f}  "
                    f"textbook {r['textbook_ms']:9.1f} ms  "
                    f"speedup {r['speedup_vs_textbook']:6.1f}x (torch's "
                    f"{r['torch_speedup_vs_textbook']:5.1f}x)  "
                    f"ours alone {r['ours_alone_ms']:8.2f} ms "
                    f"({r['ours_alone_faults_per_step']:.0f} page faults per step)",
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
    if sys.argv[1:2] == ["--ours-alone"]:
        run_ours_alone(*sys.argv[2:5])
    else:
        main()
