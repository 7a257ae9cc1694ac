"""The benchmark: its textbook baseline computes what course_pkg computes; its timing helpers."""

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
