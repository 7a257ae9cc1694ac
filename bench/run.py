"""``make bench``: how fast is course_pkg? Ratios against baselines run in the same process.

Workloads: one training step (forward, backward through time, gradients of
every parameter and of the inputs) of an RNN, LSTM and GRU layer at N=64, T=50, D=H=128; a
character-model-sized layer at N=1, T=25, H=100; a long sequence at T=500;
in float32 and float64. Baselines: PyTorch's ``nn.RNN`` / ``nn.LSTM`` /
``nn.GRU`` on the CPU with the same number of threads, and the per-example
textbook implementation in ``bench/textbook.py``. Also the peak memory of a
training step against T, with and without truncated BPTT.

Each ratio is the median over repeats of two times measured in the same
repeat (the contenders take turns). Then each contender runs alone, as in a
user's process: course_pkg in a fresh process that never imports torch
(``--ours-alone``, with its page faults, because torch's allocations change
how glibc's allocator treats freed memory) and PyTorch in a process of its
own (``--torch-alone``), the two processes alternating ``ALONE_ROUNDS``
times so that a slow spell of a shared machine hits both. Beside course_pkg
alone runs its floor: exactly the matrix products the step needs, same
shapes and dtype, into preallocated arrays (:func:`matrix_products`).

Results go to ``bench/results.json`` (read by the book's appendix) and a
table on standard output, with the targets of ``TARGETS``. Thread count:
``BENCH_THREADS`` (default 1), set for NumPy's BLAS by the Makefile before
Python starts.
"""

from __future__ import annotations

import ctypes
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
from course_pkg._fused._allocator import keep_freed_memory
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
ALONE_ROUNDS = 3  # alternating subprocesses, course_pkg alone and PyTorch alone
# What a training step alone (in a user's process) should reach, float32, every cell
TARGETS = {
    "max_vs_torch_alone": {"main": 1.0, "char": 1.0},  # course_pkg alone / PyTorch alone
    "min_floor_over_ours": {"main": 0.8},  # matrix-product floor / course_pkg alone
    "max_faults_per_step": {"main": 50},  # page faults of one step after warm-up, alone
}
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


def matrix_products(cell, N, T, D, H) -> list[tuple[int, int, int, int]]:
    """The matrix products one training step needs, as ``(m, k, n, count)``: (m, k) @ (k, n).

    Forward: the input projections of all steps, one product (T N, D) @ (D, gH), and
    T recurrent products (N, H) @ (H, gH), g the number of gates. Backward: T
    products back to h_{t-1}, and ``dx``, ``dWx`` and ``dWh`` one product each over
    all steps. The GRU's recurrent products come in two parts because the reset
    gate (``reset_after=False``, the benchmark's cell) multiplies h_{t-1} before
    W_n: ``h W_rz`` then ``(r h) W_n`` forward, ``da_n W_n^T`` then ``da_rz W_rz^T``
    backward, and ``dWh`` is two products, ``h^T da_rz`` and ``(r h)^T da_n``.
    """
    G = GATES[cell]
    if cell == "gru":
        forward = [(N, H, 2 * H, T), (N, H, H, T)]
        back = [(N, H, H, T), (N, 2 * H, H, T)]
        dWh = [(H, T * N, 2 * H, 1), (H, T * N, H, 1)]
    else:
        forward, back, dWh = [(N, H, G * H, T)], [(N, G * H, H, T)], [(H, T * N, G * H, 1)]
    x_Wx, dx, dWx = (T * N, D, G * H, 1), (T * N, G * H, D, 1), (D, T * N, G * H, 1)
    return [x_Wx, *forward, *back, dx, dWx, *dWh]


def flops(products) -> int:
    """Floating-point operations of ``products`` (a multiply and an add per term)."""
    return sum(2 * m * k * n * count for m, k, n, count in products)


def floor_step(products, dtype, rng):
    """A function that computes ``products`` with ``np.matmul`` into preallocated arrays.

    Its time is the floor of a training step: what the matrix products alone
    cost at the step's shapes, with nothing else (no element-wise work, no
    allocation).
    """
    # drawn in their dtype: a freed float64 temporary of megabytes would move glibc's
    # adaptive mmap threshold, and with it the page faults of the step timed beside the floor
    operands = [
        (
            rng.standard_normal((m, k), dtype=dtype),
            rng.standard_normal((k, n), dtype=dtype),
            np.empty((m, n), dtype=dtype),
            count,
        )
        for m, k, n, count in products
    ]

    def step():
        for a, b, out, count in operands:
            for _ in range(count):
                np.matmul(a, b, out=out)

    return step


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


def alone(contender: str, cell, name, dtype, kernels: str | None = None) -> dict:
    """Run ``--ours-alone`` or ``--torch-alone`` in a fresh process; its JSON line as a dict.
    ``kernels``: the OpenBLAS kernels it loads (``OPENBLAS_CORETYPE``) instead of its choice."""
    cmd = [sys.executable, __file__, f"--{contender}-alone", cell, name, np.dtype(dtype).name]
    env = dict(os.environ, OPENBLAS_CORETYPE=kernels) if kernels else None
    run = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(run.stdout)


def workload_inputs(cell, name, dtype_name):
    N, T, D, H = next(w[1:] for w in WORKLOADS if w[0] == name)
    return make_inputs(cell, N, T, D, H, np.dtype(dtype_name).type, rng_for(name))


def run_ours_alone(cell, name, dtype_name) -> dict:
    """One of our training steps, torch never imported: times, page faults and the floor.

    PyTorch's own large allocations leave glibc's allocator keeping freed
    memory, so in the benchmark's process our arrays come back without
    page faults; in a process that only runs course_pkg they would come back
    from the kernel, one page fault per 4 KiB page, unless course_pkg keeps
    them (``course_pkg._fused._allocator``). The floor (:func:`floor_step`)
    takes turns with the step.
    """
    if "torch" in sys.modules:
        raise RuntimeError("--ours-alone must run in a process that has not imported torch")
    x, h0, params, dh = workload_inputs(cell, name, dtype_name)
    N, T, D = x.shape
    step = ours(cell, x, h0, params, dh)
    products = matrix_products(cell, N, T, D, h0.shape[1])
    floor = floor_step(products, x.dtype, np.random.default_rng(0))
    times = take_turns({"ours": step, "floor": floor}, repeats_for(name))
    return {
        "ms": 1e3 * statistics.median(times["ours"]),
        "floor_ms": 1e3 * statistics.median(times["floor"]),
        "floor_over_ours": median_ratio(times["floor"], times["ours"]),
        "floor_gflop": flops(products) / 1e9,
        "faults_per_step": faults_per_call(step, 5),
        "keeps_freed_memory": keep_freed_memory(),  # set by the first step above
        "kernels": openblas_kernels(),
    }


def run_torch_alone(cell, name, dtype_name) -> dict:
    """PyTorch's training step in a process of its own (no course_pkg step ran in it)."""
    x, h0, params, dh = workload_inputs(cell, name, dtype_name)
    step = torch_step(cell, x, h0, params, dh)
    return {"ms": 1e3 * statistics.median(take_turns({"torch": step}, repeats_for(name))["torch"])}


def alone_rounds(cell, name, dtype, rounds: int = ALONE_ROUNDS) -> dict:
    """Alternate ``rounds`` times course_pkg alone and PyTorch alone; medians over rounds.

    Each ratio is the median over rounds of two times measured one after the
    other; page faults are the worst round's.
    """
    runs = [
        (alone("ours", cell, name, dtype), alone("torch", cell, name, dtype)) for _ in range(rounds)
    ]
    ours_runs = [o for o, _ in runs]

    def med(key):
        return statistics.median(o[key] for o in ours_runs)

    return {
        "ours_alone_ms": med("ms"),
        "torch_alone_ms": statistics.median(t["ms"] for _, t in runs),
        "ours_alone_vs_torch_alone": statistics.median(o["ms"] / t["ms"] for o, t in runs),
        "ours_alone_faults_per_step": max(o["faults_per_step"] for o in ours_runs),
        "floor_ms": med("floor_ms"),
        "floor_gflop": ours_runs[0]["floor_gflop"],
        "floor_over_ours_alone": med("floor_over_ours"),
        "keeps_freed_memory": all(o["keeps_freed_memory"] for o in ours_runs),
    }


def check_targets(rows) -> list[dict]:
    """Each target of ``TARGETS`` for each float32 row it concerns: value, limit, met."""
    keys = {
        "max_vs_torch_alone": "ours_alone_vs_torch_alone",
        "min_floor_over_ours": "floor_over_ours_alone",
        "max_faults_per_step": "ours_alone_faults_per_step",
    }
    checks = []
    for target, limits in TARGETS.items():
        for r in rows:
            if r["dtype"] != "float32" or r["workload"] not in limits:
                continue
            value, limit = r[keys[target]], limits[r["workload"]]
            met = value >= limit if target.startswith("min") else value <= limit
            checks.append(
                {"target": target, "workload": r["workload"], "cell": r["cell"],
                 "value": value, "limit": limit, "met": met}
            )  # fmt: skip
    return checks


def openblas_kernels() -> str | None:
    """The CPU kernels NumPy's OpenBLAS chose when it loaded (such as "Haswell"), if it says."""
    for lib in sorted((Path(np.__file__).parent.parent / "numpy.libs").glob("*openblas*")):
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename"):
            corename = getattr(ctypes.CDLL(str(lib)), name, None)
            if corename is not None:
                corename.restype = ctypes.c_char_p
                return corename().decode()
    return None


# OpenBLAS's AVX-512 kernels, and the CPU features they use
AVX512_KERNELS = "SkylakeX"
AVX512_FEATURES = {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}


def cpu_features() -> set[str]:
    """The CPU's feature flags as Linux lists them (empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return next((set(line.split(":", 1)[1].split()) for line in text.splitlines()
                 if line.startswith("flags")), set())  # fmt: skip


def stronger_kernels(chosen: str | None, features: set[str]) -> str | None:
    """OpenBLAS's AVX-512 kernels where the CPU has what they use but OpenBLAS chose older
    ones (the OpenBLAS of NumPy 2.4 takes AMD's Zen 5 for a Haswell: OpenBLAS#6029);
    else None."""
    if chosen is None or chosen.lower() in ("skylakex", "cooperlake", "sapphirerapids"):
        return None
    return AVX512_KERNELS if AVX512_FEATURES <= features else None


def with_stronger_kernels(cell, name, dtype, kernels: str, torch_alone_ms: float) -> dict:
    """course_pkg alone and its floor, ``ALONE_ROUNDS`` times, with ``kernels`` forced."""
    runs = [alone("ours", cell, name, dtype, kernels=kernels) for _ in range(ALONE_ROUNDS)]
    ours = statistics.median(r["ms"] for r in runs)
    return {
        "kernels": runs[0]["kernels"],
        "ours_alone_ms": ours,
        "floor_ms": statistics.median(r["floor_ms"] for r in runs),
        "floor_over_ours_alone": statistics.median(r["floor_over_ours"] for r in runs),
        "ours_alone_vs_torch_alone": ours / torch_alone_ms,
    }


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
                alone = alone_rounds(cell, name, dtype)
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
                        **alone,
                        "torch_top_ops": torch_top_ops(torch_fn),
                    }
                )
                r = rows[-1]
                stronger = stronger_kernels(openblas_kernels(), cpu_features())
                if stronger and name == "main" and dtype is np.float32:
                    r["stronger_kernels"] = with_stronger_kernels(
                        cell, name, dtype, stronger, r["torch_alone_ms"]
                    )
                print(
                    f"{name:5s} {cell:4s} {r['dtype']:7s} ours {r['ours_ms']:8.2f} ms  "
                    f"torch {r['torch_ms']:8.2f} ms  ratio {r['vs_torch']:5.2f}  "
                    f"textbook {r['textbook_ms']:9.1f} ms  "
                    f"speedup {r['speedup_vs_textbook']:6.1f}x (torch's "
                    f"{r['torch_speedup_vs_textbook']:5.1f}x)  "
                    f"ours alone {r['ours_alone_ms']:8.2f} ms "
                    f"({r['ours_alone_faults_per_step']:.0f} page faults per step)  "
                    f"torch alone {r['torch_alone_ms']:8.2f} ms  "
                    f"ratio alone {r['ours_alone_vs_torch_alone']:5.2f}  "
                    f"floor {r['floor_ms']:8.2f} ms ({r['floor_gflop']:.3f} GFLOP, "
                    f"floor/ours alone {r['floor_over_ours_alone']:4.2f})",
                    flush=True,
                )
                if "stronger_kernels" in r:
                    k = r["stronger_kernels"]
                    print(
                        f"      with OpenBLAS's {k['kernels']} kernels: ours alone "
                        f"{k['ours_alone_ms']:8.2f} ms  ratio alone "
                        f"{k['ours_alone_vs_torch_alone']:5.2f}  floor {k['floor_ms']:8.2f} ms "
                        f"(floor/ours alone {k['floor_over_ours_alone']:4.2f})",
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
    targets = check_targets(rows)
    for c in targets:
        print(
            f"target {c['target']:20s} {c['workload']:5s} {c['cell']:4s} "
            f"{c['value']:7.2f} (limit {c['limit']}): {'met' if c['met'] else 'MISSED'}"
        )
    result = {
        "threads": THREADS,
        "numpy": np.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "openblas_kernels": openblas_kernels(),
        "alone_rounds": ALONE_ROUNDS,
        "rows": rows,
        "targets": targets,
        "memory": memory,
    }
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS}")


ALONE_MODES = {"--ours-alone": run_ours_alone, "--torch-alone": run_torch_alone}

if __name__ == "__main__":
    if sys.argv[1:2] and sys.argv[1] in ALONE_MODES:
        print(json.dumps(ALONE_MODES[sys.argv[1]](*sys.argv[2:5])))
    elif not sys.argv[1:]:
        main()
    else:  # --help, or arguments it does not take: say what it does instead of running
        print(__doc__)
        print(
            "usage: python bench/run.py            the whole benchmark (make bench-speed)\n"
            "       python bench/run.py --ours-alone | --torch-alone CELL WORKLOAD DTYPE\n"
            "           one contender alone, as JSON (CELL rnn, lstm or gru; WORKLOAD "
            f"{', '.join(w[0] for w in WORKLOADS)}; DTYPE float32 or float64)"
        )
        sys.exit(0 if sys.argv[1] in ("-h", "--help") else 2)
