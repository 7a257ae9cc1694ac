"""The benchmark: its textbook baseline computes what course_pkg computes; its timing helpers."""

import json
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from course_pkg.gru import gru_backward, gru_forward
from course_pkg.lstm import lstm_backward, lstm_forward
from course_pkg.rnn import rnn_backward, rnn_forward

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import run as bench_run
import textbook


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_textbook_baseline_matches_course_pkg(cell):
    rng = np.random.default_rng(0)
    N, T, D, H = 3, 4, 5, 2
    g = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((N, H))
    dh = rng.standard_normal((N, T, H))
    shapes = [(D, g * H), (H, g * H), (g * H,)] + ([(g * H,)] if cell == "gru" else [])
    params = [0.5 * rng.standard_normal(s) for s in shapes]
    forward, backward, baseline = {
        "rnn": (rnn_forward, rnn_backward, textbook.rnn_train_step),
        "lstm": (lstm_forward, lstm_backward, textbook.lstm_train_step),
        "gru": (gru_forward, gru_backward, textbook.gru_train_step),
    }[cell]
    h, cache = forward(x, h0, *params)
    grads = backward(dh, cache)  # dx, dh0 and every parameter's gradient
    h_ref, *grads_ref = baseline(x, h0, *params, dh)
    assert len(grads_ref) == len(grads)
    np.testing.assert_allclose(h_ref, h, atol=1e-12)
    for ours, ref in zip(grads, grads_ref, strict=True):
        np.testing.assert_allclose(ref, ours, atol=1e-12)


def test_take_turns_alternates_the_contenders():
    calls = []
    times = bench_run.take_turns(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3
    )
    assert calls == ["a", "b"] + ["a", "b"] * 3  # one warm-up each, then three turns
    assert [len(t) for t in times.values()] == [3, 3]
    assert all(t >= 0 for t in times["a"] + times["b"])


def test_median_ratio_pairs_times_of_the_same_repeat():
    # a slow spell (the third repeat) slows both contenders; the paired ratio ignores it
    assert bench_run.median_ratio([2.0, 2.0, 20.0], [1.0, 1.0, 10.0]) == 2.0
    assert bench_run.median_ratio([1.0, 3.0, 2.0], [1.0, 1.0, 1.0]) == 2.0


def test_torch_top_ops_names_pytorchs_fused_lstm_kernel():
    # the appendix explains the N = 1 LSTM ratio with this kernel: the bench records it
    x, h0, params, dh = bench_run.make_inputs(
        "lstm", 1, 5, 3, 4, np.float32, np.random.default_rng(0)
    )
    ops = bench_run.torch_top_ops(bench_run.torch_step("lstm", x, h0, params, dh))
    assert len(ops) == 2 and "aten::mkldnn_rnn_layer" in ops


def test_matrix_products_of_an_lstm_step_by_hand():
    # N=2, T=3, D=4, H=5: forward x @ Wx (6, 4) @ (4, 20) and three h @ Wh (2, 5) @ (5, 20);
    # backward three da @ Wh^T (2, 20) @ (20, 5), dx (6, 20) @ (20, 4), dWx (4, 6) @ (6, 20),
    # dWh (5, 6) @ (6, 20)
    products = bench_run.matrix_products("lstm", 2, 3, 4, 5)
    assert products == [
        (6, 4, 20, 1),
        (2, 5, 20, 3),
        (2, 20, 5, 3),
        (6, 20, 4, 1),
        (4, 6, 20, 1),
        (5, 6, 20, 1),
    ]
    by_hand = 2 * (
        6 * 4 * 20 + 3 * 2 * 5 * 20 + 3 * 2 * 20 * 5 + 6 * 20 * 4 + 4 * 6 * 20 + 5 * 6 * 20
    )
    assert bench_run.flops(products) == by_hand == 6480


def test_matrix_products_of_a_gru_step_split_where_the_reset_gate_sits():
    # r and z's recurrent products come before the reset gate, n's after it
    products = bench_run.matrix_products("gru", 2, 3, 4, 5)
    assert products == [
        (6, 4, 15, 1),
        (2, 5, 10, 3),
        (2, 5, 5, 3),
        (2, 5, 5, 3),
        (2, 10, 5, 3),
        (6, 15, 4, 1),
        (4, 6, 15, 1),
        (5, 6, 10, 1),
        (5, 6, 5, 1),
    ]
    # the same work as one product per stage with all three gates together
    assert bench_run.flops(products) == 2 * 15 * (6 * 4 + 3 * 2 * 5 * 2 + 6 * 4 + 4 * 6 + 5 * 6)


def product_flops(a_shape, b_shape) -> int:
    """Operations of np.dot / np.matmul of two operands (batch dimensions broadcast)."""
    a_shape = (1, *a_shape) if len(a_shape) == 1 else a_shape
    b_shape = (*b_shape, 1) if len(b_shape) == 1 else b_shape
    (m, k), n = a_shape[-2:], b_shape[-1]
    batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    return 2 * m * k * n * int(np.prod(batch))


@pytest.fixture
def counted_products(monkeypatch):
    """Every np.dot and np.matmul call from here on, as the operations it did."""
    calls = []
    for name in ("dot", "matmul"):
        original = getattr(np, name)

        def counting(a, b, *args, _original=original, **kwargs):
            calls.append(product_flops(np.shape(a), np.shape(b)))
            return _original(a, b, *args, **kwargs)

        monkeypatch.setattr(np, name, counting)
    return calls


@pytest.mark.parametrize("N", [1, 3])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_floor_is_the_matrix_products_the_step_does(cell, N, counted_products):
    T, D, H = 4, 5, 6
    x, h0, params, dh = bench_run.make_inputs(
        cell, N, T, D, H, np.float64, np.random.default_rng(0)
    )
    products = bench_run.matrix_products(cell, N, T, D, H)
    bench_run.ours(cell, x, h0, params, dh)()
    assert sum(counted_products) == bench_run.flops(products)  # course_pkg's step
    counted_products.clear()
    bench_run.floor_step(products, np.float64, np.random.default_rng(0))()
    assert sum(counted_products) == bench_run.flops(products)  # the floor
    assert len(counted_products) == sum(count for *_, count in products)


def test_alone_rounds_take_medians_of_alternating_processes(monkeypatch):
    runs = iter(
        [
            ({"ms": 2.0, "floor_ms": 1.0, "floor_over_ours": 0.5, "faults_per_step": 0.0}, 4.0),
            ({"ms": 9.0, "floor_ms": 8.0, "floor_over_ours": 0.8, "faults_per_step": 3.0}, 10.0),
            ({"ms": 3.0, "floor_ms": 1.5, "floor_over_ours": 0.6, "faults_per_step": 1.0}, 2.0),
        ]
    )
    order = []

    def alone(contender, cell, name, dtype):
        order.append(contender)
        if contender == "ours":
            alone.pending = next(runs)
            return {**alone.pending[0], "floor_gflop": 0.5, "keeps_freed_memory": True}
        return {"ms": alone.pending[1]}

    monkeypatch.setattr(bench_run, "alone", alone)
    r = bench_run.alone_rounds("lstm", "main", np.float32, rounds=3)
    assert order == ["ours", "torch"] * 3  # alternating
    assert r["ours_alone_ms"] == 3.0 and r["torch_alone_ms"] == 4.0
    assert r["ours_alone_vs_torch_alone"] == 0.9  # the rounds' ratios 0.5, 0.9, 1.5
    assert r["floor_ms"] == 1.5 and r["floor_over_ours_alone"] == 0.6
    assert r["ours_alone_faults_per_step"] == 3.0  # the worst round
    assert r["floor_gflop"] == 0.5 and r["keeps_freed_memory"] is True


def test_targets_are_checked_on_the_float32_rows_they_name():
    rows = [
        {"workload": "main", "cell": "lstm", "dtype": "float32",
         "ours_alone_vs_torch_alone": 1.6, "floor_over_ours_alone": 0.9,
         "ours_alone_faults_per_step": 0.0},
        {"workload": "char", "cell": "gru", "dtype": "float32",
         "ours_alone_vs_torch_alone": 0.4, "floor_over_ours_alone": 0.3,
         "ours_alone_faults_per_step": 80.0},
        {"workload": "main", "cell": "gru", "dtype": "float64",
         "ours_alone_vs_torch_alone": 9.0, "floor_over_ours_alone": 0.1,
         "ours_alone_faults_per_step": 900.0},
    ]  # fmt: skip
    checks = {(c["target"], c["workload"], c["cell"]): c for c in bench_run.check_targets(rows)}
    assert set(checks) == {
        ("max_vs_torch_alone", "main", "lstm"),
        ("max_vs_torch_alone", "char", "gru"),
        ("min_floor_over_ours", "main", "lstm"),
        ("max_faults_per_step", "main", "lstm"),
    }
    assert checks["max_vs_torch_alone", "main", "lstm"]["met"] is False
    assert checks["max_vs_torch_alone", "char", "gru"]["met"] is True
    assert checks["min_floor_over_ours", "main", "lstm"]["met"] is True
    assert checks["max_faults_per_step", "main", "lstm"] == {
        "target": "max_faults_per_step", "workload": "main", "cell": "lstm",
        "value": 0.0, "limit": 50, "met": True,
    }  # fmt: skip


def run_alone_mode(mode: str) -> dict:
    bench = Path(bench_run.__file__)
    run = subprocess.run(
        [sys.executable, str(bench), mode, "rnn", "char", "float32"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout)


def test_ours_alone_reports_its_step_the_floor_and_page_faults():
    result = run_alone_mode("--ours-alone")
    assert set(result) == {
        "ms", "floor_ms", "floor_over_ours", "floor_gflop", "faults_per_step",
        "keeps_freed_memory", "kernels",
    }  # fmt: skip
    assert result["ms"] > 0 and result["floor_ms"] > 0
    assert 0 < result["floor_over_ours"]
    floor = bench_run.flops(bench_run.matrix_products("rnn", 1, 25, 65, 100))
    assert result["floor_gflop"] == floor / 1e9
    assert result["faults_per_step"] >= 0
    assert result["keeps_freed_memory"] is (platform.libc_ver()[0] == "glibc")


def test_torch_alone_reports_its_step():
    result = run_alone_mode("--torch-alone")
    assert set(result) == {"ms"} and result["ms"] > 0


@pytest.mark.parametrize(("argv", "code"), [(["--help"], 0), (["--threads", "2"], 2)])
def test_arguments_it_does_not_take_print_its_usage_instead_of_running(argv, code):
    """The whole benchmark takes minutes and rewrites results.json: never by mistake."""
    bench = Path(bench_run.__file__)
    run = subprocess.run(
        [sys.executable, str(bench), *argv], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == code
    assert "usage: python bench/run.py" in run.stdout
    assert "--ours-alone | --torch-alone CELL WORKLOAD DTYPE" in run.stdout
    assert "ours alone" not in run.stdout  # no row of the benchmark ran


def test_the_cpu_features_are_the_ones_linux_lists():
    features = bench_run.cpu_features()
    assert ("sse2" in features) is (platform.machine() == "x86_64")


@pytest.mark.parametrize(
    ("chosen", "features", "expected"),
    [
        ("Haswell", bench_run.AVX512_FEATURES | {"avx2"}, "SkylakeX"),  # Zen 5, misread
        ("Zen", bench_run.AVX512_FEATURES, "SkylakeX"),
        ("Haswell", {"avx2", "avx512f"}, None),  # not all that SkylakeX's kernels use
        ("SkylakeX", bench_run.AVX512_FEATURES, None),  # chosen already
        ("Cooperlake", bench_run.AVX512_FEATURES, None),  # chosen better
        (None, bench_run.AVX512_FEATURES, None),  # no OpenBLAS that says
    ],
)
def test_stronger_kernels_only_where_the_cpu_runs_them_and_openblas_chose_older(
    chosen, features, expected
):
    assert bench_run.stronger_kernels(chosen, features) == expected


def test_a_contender_alone_loads_the_kernels_it_is_given():
    forced = bench_run.alone("ours", "rnn", "char", np.float32, kernels="SandyBridge")
    assert forced["kernels"].lower() == "sandybridge"
    assert forced["ms"] > 0 and forced["floor_ms"] > 0
