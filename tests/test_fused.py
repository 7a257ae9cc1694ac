"""The fused kernels compute what the readable reference computes.

``course_pkg._fused`` reorganises the sequence functions of the three cells
for speed; the models run it. Every result and every cache field must equal
the readable loop over the step functions to 1e-12 in float64 (they differ
only in the order of floating-point sums), and either side's cache must work
with the other side's backward function.
"""

import numpy as np
import pytest

from course_pkg import gru, lstm, rnn
from course_pkg._fused import gru as fused_gru
from course_pkg._fused import lstm as fused_lstm
from course_pkg._fused import rnn as fused_rnn

from gradutil import SHAPES, randn

TOL = {np.float64: 1e-12, np.float32: 2e-5}


def arguments(kind, rng, N, T, D, H, dtype):
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    args = dict(x=randn(rng, N, T, D, dtype=dtype), h0=randn(rng, N, H, scale=0.5, dtype=dtype))
    if kind == "rnn":
        args.update(
            U=randn(rng, D, H, scale=0.5, dtype=dtype), W=randn(rng, H, H, scale=0.5, dtype=dtype)
        )
        args["b"] = randn(rng, H, scale=0.1, dtype=dtype)
        return args
    args["Wx"] = randn(rng, D, gates * H, scale=0.5, dtype=dtype)
    args["Wh"] = randn(rng, H, gates * H, scale=0.5, dtype=dtype)
    if kind == "lstm":
        args.update(b=randn(rng, 4 * H, scale=0.1, dtype=dtype), c0=randn(rng, N, H, dtype=dtype))
    else:
        args.update(
            bx=randn(rng, 3 * H, scale=0.1, dtype=dtype),
            bh=randn(rng, 3 * H, scale=0.1, dtype=dtype),
        )
    return args


# (readable forward, readable backward, fused forward, fused backward, extra forward options)
CASES = {
    "rnn": (rnn.rnn_forward, rnn.rnn_backward, fused_rnn.rnn_forward, fused_rnn.rnn_backward, {}),
    "lstm": (
        lstm.lstm_forward,
        lstm.lstm_backward_with_cell_state,
        fused_lstm.lstm_forward,
        fused_lstm.lstm_backward_with_cell_state,
        {},
    ),
    "gru": (gru.gru_forward, gru.gru_backward, fused_gru.gru_forward, fused_gru.gru_backward, {}),
    "gru-reset-after": (
        gru.gru_forward,
        gru.gru_backward,
        fused_gru.gru_forward,
        fused_gru.gru_backward,
        {"reset_after": True},
    ),
}


def backward_args(kind, h, rng):
    """Upstream gradients: dh on every state, and for the LSTM dc on every cell state."""
    dh = randn(rng, *h.shape, dtype=h.dtype)
    return (dh, randn(rng, *h.shape, dtype=h.dtype)) if kind == "lstm" else (dh,)


def assert_close(got, want, tol, what):
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype, f"{what}[{k}]: dtype {a.dtype} != {b.dtype}"
            scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
            np.testing.assert_allclose(a, b, rtol=0, atol=tol * scale, err_msg=f"{what}[{k}]")
        else:
            assert a == b, f"{what}[{k}]: {a!r} != {b!r}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("N,T,D,H", [*SHAPES, (2, 0, 3, 4)])
@pytest.mark.parametrize("case", sorted(CASES))
def test_fused_equals_readable(case, N, T, D, H, dtype):
    forward, backward, fast_forward, fast_backward, options = CASES[case]
    kind = case.split("-")[0]
    rng = np.random.default_rng(0)
    args = arguments(kind, rng, N, T, D, H, dtype)
    h, cache = forward(**args, **options)
    h_fast, cache_fast = fast_forward(**args, **options)
    tol = TOL[dtype]
    assert type(cache_fast) is type(cache)
    assert_close([h_fast], [h], tol, "h")
    assert_close(cache_fast, cache, tol, "cache")
    upstream = backward_args(kind, h, rng)
    want = backward(*upstream, cache)
    assert_close(fast_backward(*upstream, cache_fast), want, tol, "fused backward")
    # each side's cache works with the other side's backward
    assert_close(fast_backward(*upstream, cache), want, tol, "fused backward, readable cache")
    assert_close(backward(*upstream, cache_fast), want, tol, "readable backward, fused cache")


def test_fused_and_readable_really_differ_in_how_they_compute():
    # the two are not one function under two names: the fused LSTM activates its sigmoid
    # gates as (1 + tanh(a/2)) / 2, so some bits differ from the readable sigmoid
    rng = np.random.default_rng(1)
    args = arguments("lstm", rng, 8, 20, 16, 16, np.float64)
    h, _ = lstm.lstm_forward(**args)
    h_fast, _ = fused_lstm.lstm_forward(**args)
    assert np.any(h != h_fast)
    np.testing.assert_allclose(h_fast, h, rtol=0, atol=1e-14)


def test_readable_backward_is_the_loop_over_the_step_backward():
    # rnn_backward is rnn_step_backward applied from the last step to the first
    rng = np.random.default_rng(2)
    args = arguments("rnn", rng, 2, 3, 4, 5, np.float64)
    h, cache = rnn.rnn_forward(**args)
    dh = randn(rng, *h.shape)
    dx, dh0, dU, dW, db = rnn.rnn_backward(dh, cache)
    dh_next = np.zeros_like(args["h0"])
    sums = [np.zeros_like(args[k]) for k in ("U", "W", "b")]
    for t in (2, 1, 0):
        dx_t, dh_next, *dparams = rnn.rnn_step_backward(dh[:, t] + dh_next, cache.step(t))
        np.testing.assert_array_equal(dx[:, t], dx_t)
        for total, d in zip(sums, dparams, strict=True):
            total += d
    np.testing.assert_array_equal(dh0, dh_next)
    for got, want in zip((dU, dW, db), sums, strict=True):
        np.testing.assert_array_equal(got, want)
