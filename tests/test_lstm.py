import math
import warnings

import numpy as np
import pytest
import torch

from course_pkg import lstm
from course_pkg._fused import lstm as fused
from course_pkg.gradcheck import check_gradients
from course_pkg.lstm import LSTMCache, LSTMStepCache, lstm_step_backward, lstm_step_forward

from gradutil import SHAPES, randn, sequence_functions


# every test of the sequence functions runs on the readable reference and on the fused kernels
@pytest.fixture(params=[lstm, fused], ids=["readable", "fused"])
def seq(request):
    return sequence_functions(
        request.param,
        forward="lstm_forward",
        backward="lstm_backward",
        backward_with_cell_state="lstm_backward_with_cell_state",
    )


def at_last_step(dh, dc_last):
    """A cell-state gradient (N, T, H) that is dc_last at the last step and zero elsewhere."""
    dc = np.zeros_like(dh)
    dc[:, -1] = dc_last
    return dc


def make_args(rng, N, T, D, H, dtype=np.float64, seq=True, c0=False):
    """Arguments of lstm_forward (seq) or lstm_step_forward, keyed by parameter name."""
    if seq:
        args = dict(x=randn(rng, N, T, D, dtype=dtype), h0=randn(rng, N, H, scale=0.5, dtype=dtype))
        if c0:
            args["c0"] = randn(rng, N, H, dtype=dtype)
    else:
        args = dict(
            x=randn(rng, N, D, dtype=dtype),
            h_prev=randn(rng, N, H, scale=0.5, dtype=dtype),
            c_prev=randn(rng, N, H, dtype=dtype),
        )
    args["Wx"] = randn(rng, D, 4 * H, scale=0.5, dtype=dtype)
    args["Wh"] = randn(rng, H, 4 * H, scale=0.5, dtype=dtype)
    args["b"] = randn(rng, 4 * H, scale=0.1, dtype=dtype)
    return args


def sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_lstm_step_gradients(N, T, D, H):
    rng = np.random.default_rng(0)
    args = make_args(rng, N, T, D, H, seq=False)
    h, c, cache = lstm_step_forward(**args)
    dh, dc = randn(rng, *h.shape), randn(rng, *c.shape)
    dx, dh_prev, dc_prev, dWx, dWh, db = lstm_step_backward(dh, dc, cache)
    check_gradients(
        lambda **a: lstm_step_forward(**a)[:2],
        args,
        dict(x=dx, h_prev=dh_prev, c_prev=dc_prev, Wx=dWx, Wh=dWh, b=db),
        [dh, dc],
    )


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_lstm_sequence_gradients(N, T, D, H, seq):
    rng = np.random.default_rng(1)
    args = make_args(rng, N, T, D, H)
    h, cache = seq.forward(**args)
    dh = randn(rng, *h.shape)
    dx, dh0, dWx, dWh, db = seq.backward(dh, cache)
    check_gradients(
        lambda **a: (seq.forward(**a)[0],), args, dict(x=dx, h0=dh0, Wx=dWx, Wh=dWh, b=db), [dh]
    )


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_lstm_backward_with_cell_state_gradients(N, T, D, H, seq):
    # c0 as an input, and a loss on the final cell state as well as on every h_t
    rng = np.random.default_rng(2)
    args = make_args(rng, N, T, D, H, c0=True)
    h, cache = seq.forward(**args)
    dh, dc_last = randn(rng, *h.shape), randn(rng, N, H)
    dx, dh0, dc0, dWx, dWh, db = seq.backward_with_cell_state(dh, at_last_step(dh, dc_last), cache)

    def outputs(**a):
        h, cache = seq.forward(**a)
        return h, cache.c[:, -1]

    check_gradients(outputs, args, dict(x=dx, h0=dh0, c0=dc0, Wx=dWx, Wh=dWh, b=db), [dh, dc_last])


def test_lstm_backward_is_with_cell_state_without_cell_gradients(seq):
    rng = np.random.default_rng(3)
    args = make_args(rng, 2, 4, 3, 5)
    h, cache = seq.forward(**args)
    dh = randn(rng, *h.shape)
    short = seq.backward(dh, cache)
    full = seq.backward_with_cell_state(dh, None, cache)
    for got, want in zip(short, full[:2] + full[3:], strict=True):
        np.testing.assert_array_equal(got, want)


def test_lstm_step_matches_hand_computation():
    # one unit, one input: every pre-activation written out by hand
    x, h_prev, c_prev = 1.0, 0.5, 2.0
    Wx, Wh, b = [0.5, 1.0, -1.0, 2.0], [0.2, 0.4, 0.6, -0.8], [0.1, 0.0, 0.3, -0.1]
    a_i, a_f, a_g, a_o = (x * Wx[k] + h_prev * Wh[k] + b[k] for k in range(4))  # 0.7 1.2 -.4 1.5
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), math.tanh(a_g), sigmoid(a_o)
    c_want = f * c_prev + i * g
    h_want = o * math.tanh(c_want)

    h, c, cache = lstm_step_forward(
        np.array([[x]]),
        np.array([[h_prev]]),
        np.array([[c_prev]]),
        np.array([Wx]),
        np.array([Wh]),
        np.array(b),
    )
    assert c[0, 0] == pytest.approx(c_want, rel=1e-14)
    assert h[0, 0] == pytest.approx(h_want, rel=1e-14)
    # with no loss on h, the cell gradient passes back scaled by the forget gate alone
    _, _, dc_prev, _, _, _ = lstm_step_backward(np.zeros((1, 1)), np.ones((1, 1)), cache)
    assert dc_prev[0, 0] == pytest.approx(f, rel=1e-14)


def test_lstm_forward_is_repeated_step(seq):
    rng = np.random.default_rng(4)
    args = make_args(rng, 3, 4, 2, 5, c0=True)
    h, cache = seq.forward(**args)
    state, cell = args["h0"], args["c0"]
    for t in range(4):
        state, cell, _ = lstm_step_forward(
            args["x"][:, t], state, cell, args["Wx"], args["Wh"], args["b"]
        )
        np.testing.assert_allclose(h[:, t], state, rtol=0, atol=1e-15)
        np.testing.assert_allclose(cache.c[:, t], cell, rtol=0, atol=1e-15)


def test_lstm_c0_none_means_zeros(seq):
    rng = np.random.default_rng(5)
    args = make_args(rng, 2, 3, 4, 5)
    h, cache = seq.forward(**args)
    h_zero, _ = seq.forward(**args, c0=np.zeros((2, 5)))
    np.testing.assert_array_equal(h, h_zero)
    np.testing.assert_array_equal(cache.c0, np.zeros((2, 5)))


def test_truncated_chunks_equal_full_forward_and_backward(seq):
    rng = np.random.default_rng(6)
    args = make_args(rng, 2, 6, 3, 4, c0=True)
    weights = dict(Wx=args["Wx"], Wh=args["Wh"], b=args["b"])
    k = 4
    full, full_cache = seq.forward(**args)
    first, cache1 = seq.forward(args["x"][:, :k], args["h0"], c0=args["c0"], **weights)
    second, cache2 = seq.forward(
        args["x"][:, k:], first[:, k - 1], c0=cache1.c[:, k - 1], **weights
    )
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), full, rtol=0, atol=1e-15)
    np.testing.assert_allclose(
        np.concatenate([cache1.c, cache2.c], axis=1), full_cache.c, rtol=0, atol=1e-15
    )

    # carrying dh0 and dc0 back into the first chunk reproduces full BPTT
    dh = randn(rng, 2, 6, 4)
    want = seq.backward_with_cell_state(dh, None, full_cache)
    dx2, dh_mid, dc_mid, dWx2, dWh2, db2 = seq.backward_with_cell_state(dh[:, k:], None, cache2)
    dh_first = dh[:, :k].copy()
    dh_first[:, -1] += dh_mid
    dc_first = at_last_step(dh_first, dc_mid)
    dx1, dh0, dc0, dWx1, dWh1, db1 = seq.backward_with_cell_state(dh_first, dc_first, cache1)
    got = (np.concatenate([dx1, dx2], axis=1), dh0, dc0, dWx1 + dWx2, dWh1 + dWh2, db1 + db2)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_keeps_dtype(dtype, seq):
    rng = np.random.default_rng(7)
    args = make_args(rng, 2, 3, 4, 5, dtype=dtype, c0=True)
    h, cache = seq.forward(**args)
    dh = randn(rng, *h.shape, dtype=dtype)
    dc_last = randn(rng, 2, 5, dtype=dtype)
    grads = seq.backward_with_cell_state(dh, at_last_step(dh, dc_last), cache)
    assert h.dtype == dtype and cache.c.dtype == dtype
    assert all(g.dtype == dtype for g in grads)
    assert all(g.dtype == dtype for g in seq.backward(dh, cache))

    args64 = {k: v.astype(np.float64) for k, v in args.items()}
    ref, ref_cache = seq.forward(**args64)
    dh64, dc64 = dh.astype(np.float64), at_last_step(dh, dc_last).astype(np.float64)
    ref_grads = seq.backward_with_cell_state(dh64, dc64, ref_cache)
    tol = 1e-6 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(h, ref, rtol=0, atol=tol)
    np.testing.assert_allclose(cache.c, ref_cache.c, rtol=0, atol=tol)
    for g, r in zip(grads, ref_grads, strict=True):
        np.testing.assert_allclose(g, r, rtol=0, atol=5 * tol)

    x, h_prev, c_prev = args["x"][:, 0], args["h0"], args["c0"]
    h1, c1, step_cache = lstm_step_forward(x, h_prev, c_prev, args["Wx"], args["Wh"], args["b"])
    assert h1.dtype == dtype and c1.dtype == dtype
    assert all(g.dtype == dtype for g in lstm_step_backward(h1, c1, step_cache))


def test_lstm_does_not_modify_inputs(seq):
    rng = np.random.default_rng(8)
    args = make_args(rng, 2, 3, 4, 5, c0=True)
    step_args = make_args(rng, 2, 3, 4, 5, seq=False)
    copies = {k: v.copy() for k, v in {**args, **step_args}.items()}
    h, cache = seq.forward(**args)
    dh, dc_last = randn(rng, *h.shape), randn(rng, 2, 5)
    upstream = dict(dh=dh.copy(), dc_last=dc_last.copy())
    seq.backward_with_cell_state(dh, at_last_step(dh, dc_last), cache)
    seq.backward(dh, cache)
    _, _, step_cache = lstm_step_forward(**step_args)
    dh1, dc1 = randn(rng, 2, 5), randn(rng, 2, 5)
    upstream.update(dh1=dh1.copy(), dc1=dc1.copy())
    lstm_step_backward(dh1, dc1, step_cache)
    for k, v in {**args, **step_args}.items():
        np.testing.assert_array_equal(v, copies[k])
    for k, v in dict(dh=dh, dc_last=dc_last, dh1=dh1, dc1=dc1).items():
        np.testing.assert_array_equal(v, upstream[k])


@pytest.mark.parametrize("with_c0", [False, True])
@pytest.mark.parametrize("N,T,D,H", [(3, 5, 4, 6), (1, 1, 2, 3), (2, 7, 3, 2)])
def test_lstm_matches_torch(N, T, D, H, with_c0, seq):
    rng = np.random.default_rng(9)
    args = make_args(rng, N, T, D, H, c0=with_c0)
    c0 = args["c0"] if with_c0 else np.zeros((N, H))
    b_ih = randn(rng, 4 * H, scale=0.1)
    net = torch.nn.LSTM(D, H, batch_first=True).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(args["Wx"].T))
        net.weight_hh_l0.copy_(torch.from_numpy(args["Wh"].T))
        # torch has two biases that are only ever added; ours is their sum
        net.bias_ih_l0.copy_(torch.from_numpy(b_ih))
        net.bias_hh_l0.copy_(torch.from_numpy(args["b"] - b_ih))
    x_t = torch.from_numpy(args["x"]).requires_grad_()
    h0_t = torch.from_numpy(args["h0"][None]).requires_grad_()
    c0_t = torch.from_numpy(c0[None]).requires_grad_()
    out, (_, c_n) = net(x_t, (h0_t, c0_t))
    dh, dc_last = randn(rng, N, T, H), randn(rng, N, H)
    ((out * torch.from_numpy(dh)).sum() + (c_n[0] * torch.from_numpy(dc_last)).sum()).backward()

    h, cache = seq.forward(**args)
    dx, dh0, dc0, dWx, dWh, db = seq.backward_with_cell_state(dh, at_last_step(dh, dc_last), cache)
    close = dict(rtol=0, atol=1e-10)
    np.testing.assert_allclose(h, out.detach().numpy(), **close)
    np.testing.assert_allclose(cache.c[:, -1], c_n.detach().numpy()[0], **close)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), **close)
    np.testing.assert_allclose(dh0, h0_t.grad.numpy()[0], **close)
    np.testing.assert_allclose(dc0, c0_t.grad.numpy()[0], **close)
    np.testing.assert_allclose(dWx, net.weight_ih_l0.grad.numpy().T, **close)
    np.testing.assert_allclose(dWh, net.weight_hh_l0.grad.numpy().T, **close)
    np.testing.assert_allclose(db, net.bias_ih_l0.grad.numpy(), **close)
    np.testing.assert_allclose(db, net.bias_hh_l0.grad.numpy(), **close)


def test_lstm_rejects_bad_forward_input(seq):
    rng = np.random.default_rng(10)
    args = make_args(rng, 2, 3, 4, 5, c0=True)
    with pytest.raises(ValueError, match=r"Wx must have shape \(4, 20\), got \(20, 4\)"):
        seq.forward(**{**args, "Wx": args["Wx"].T})
    with pytest.raises(ValueError, match=r"Wh must have shape \(5, 20\), got \(5, 15\)"):
        seq.forward(**{**args, "Wh": args["Wh"][:, :15]})
    with pytest.raises(ValueError, match=r"b must have shape \(20,\), got \(5,\)"):
        seq.forward(**{**args, "b": args["b"][:5]})
    with pytest.raises(ValueError, match=r"x must be 3-dimensional, got shape \(2, 4\)"):
        seq.forward(**{**args, "x": args["x"][:, 0]})
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, 5\), got \(1, 5\)"):
        seq.forward(**{**args, "h0": args["h0"][:1]})
    with pytest.raises(ValueError, match=r"c0 must have shape \(2, 5\), got \(2, 4\)"):
        seq.forward(**{**args, "c0": args["c0"][:, :4]})
    with pytest.raises(ValueError, match=r"c0 must be 2-dimensional, got shape \(5,\)"):
        seq.forward(**{**args, "c0": args["c0"][0]})
    with pytest.raises(TypeError, match="x must have dtype float32 or float64, got int64"):
        seq.forward(**{**args, "x": np.ones((2, 3, 4), dtype=np.int64)})
    with pytest.raises(TypeError, match=r"share one float dtype.*Wh=float32"):
        seq.forward(**{**args, "Wh": args["Wh"].astype(np.float32)})
    with pytest.raises(TypeError, match=r"share one float dtype.*c0=float32"):
        seq.forward(**{**args, "c0": args["c0"].astype(np.float32)})
    with pytest.raises(ValueError, match="x contains NaN"):
        seq.forward(**{**args, "x": np.full((2, 3, 4), np.nan)})
    with pytest.raises(ValueError, match="c0 contains NaN"):
        seq.forward(**{**args, "c0": np.full((2, 5), np.inf)})
    step = make_args(rng, 2, 3, 4, 5, seq=False)
    with pytest.raises(ValueError, match=r"c_prev must have shape \(2, 5\), got \(3, 5\)"):
        lstm_step_forward(**{**step, "c_prev": np.zeros((3, 5))})
    with pytest.raises(ValueError, match=r"h_prev must be 2-dimensional, got shape \(2, 1, 5\)"):
        lstm_step_forward(**{**step, "h_prev": step["h_prev"][:, None]})


def test_lstm_rejects_bad_backward_input(seq):
    rng = np.random.default_rng(11)
    args = make_args(rng, 2, 3, 4, 5)
    h, cache = seq.forward(**args)
    with pytest.raises(ValueError, match=r"dh must have shape \(2, 3, 5\), got \(2, 5\)"):
        seq.backward(h[:, 0], cache)
    with pytest.raises(ValueError, match=r"dc must have shape \(2, 3, 5\), got \(2, 5\)"):
        seq.backward_with_cell_state(h, h[:, -1], cache)
    with pytest.raises(TypeError, match="dc must have dtype float64 like the forward pass"):
        seq.backward_with_cell_state(h, np.zeros((2, 3, 5), dtype=np.float32), cache)
    with pytest.raises(TypeError, match="dh must have dtype float64 like the forward pass"):
        seq.backward(h.astype(np.float32), cache)
    with pytest.raises(ValueError, match="dh contains NaN"):
        seq.backward(np.full_like(h, np.nan), cache)
    with pytest.raises(TypeError, match="cache must be the LSTMCache"):
        seq.backward(h, (1, 2, 3))
    step = make_args(rng, 2, 3, 4, 5, seq=False)
    h1, c1, step_cache = lstm_step_forward(**step)
    with pytest.raises(TypeError, match=r"cache must be the LSTMCache.*got LSTMStepCache"):
        seq.backward_with_cell_state(h, None, step_cache)
    with pytest.raises(TypeError, match=r"cache must be the LSTMStepCache.*got LSTMCache"):
        lstm_step_backward(h1, c1, cache)
    with pytest.raises(ValueError, match=r"dc must have shape \(2, 5\), got \(5,\)"):
        lstm_step_backward(h1, c1[0], step_cache)
    assert isinstance(cache, LSTMCache) and isinstance(step_cache, LSTMStepCache)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_extreme_preactivations_stay_finite(dtype, seq):
    # weights of 1e4 drive every gate to exactly 0 or 1 and tanh to +-1
    rng = np.random.default_rng(12)
    args = make_args(rng, 2, 4, 3, 5, dtype=dtype, c0=True)
    args["Wx"] = np.sign(args["Wx"]) * dtype(1e4)
    args["Wh"] = np.sign(args["Wh"]) * dtype(1e4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h, cache = seq.forward(**args)
        grads = seq.backward_with_cell_state(np.ones_like(h), np.ones_like(h), cache)
        step = lstm_step_forward(
            args["x"][:, 0], args["h0"], args["c0"], args["Wx"], args["Wh"], args["b"]
        )
        step_grads = lstm_step_backward(step[0], step[1], step[2])
    sigmoid_gates = np.stack([cache.i, cache.f, cache.o])
    assert np.isin(sigmoid_gates, [0, 1]).mean() > 0.9  # the pre-activations really were huge
    for a in (h, cache.c, *grads, step[0], step[1], *step_grads):
        assert np.all(np.isfinite(a))


def test_lstm_backward_with_cell_state_at_every_step(seq):
    rng = np.random.default_rng(40)
    N, T, D, H = 2, 4, 3, 5
    args = dict(
        x=randn(rng, N, T, D),
        h0=randn(rng, N, H),
        Wx=randn(rng, D, 4 * H, scale=0.5),
        Wh=randn(rng, H, 4 * H, scale=0.5),
        b=randn(rng, 4 * H, scale=0.1),
        c0=randn(rng, N, H),
    )
    _, cache = seq.forward(**args)
    dh, dc = randn(rng, N, T, H), randn(rng, N, T, H)
    dx, dh0, dc0, dWx, dWh, db = seq.backward_with_cell_state(dh, dc, cache)

    def outputs(**a):
        h, cache = seq.forward(**a)
        return h, cache.c

    check_gradients(outputs, args, dict(x=dx, h0=dh0, c0=dc0, Wx=dWx, Wh=dWh, b=db), [dh, dc])
    with pytest.raises(ValueError, match=r"dc must have shape \(2, 4, 5\), got \(2, 5\)"):
        seq.backward_with_cell_state(dh, dc[:, 0], cache)


def contiguous_copy(cache):
    """The cache with every array replaced by an ordinary C-ordered (N, T, ...) copy."""
    return type(cache)(*(np.ascontiguousarray(a) for a in cache))


def test_fused_lstm_backward_accepts_a_cache_of_ordinary_arrays():
    # the fused lstm_forward hands out (N, T, H) views of time-major buffers; a cache of
    # plain batch-major arrays (built by hand, copied, or the readable one) must give the
    # same gradients
    rng = np.random.default_rng(41)
    args = make_args(rng, 3, 5, 4, 2, c0=True)
    h, cache = fused.lstm_forward(**args)
    assert not cache.c.flags.c_contiguous
    copied = contiguous_copy(cache)
    assert copied.c.flags.c_contiguous
    dh, dc = randn(rng, *h.shape), randn(rng, *h.shape)
    expected = fused.lstm_backward_with_cell_state(dh, dc, cache)
    got = fused.lstm_backward_with_cell_state(dh, dc, copied)
    for name, a, b in zip(("dx", "dh0", "dc0", "dWx", "dWh", "db"), got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15, err_msg=name)


def test_lstm_empty_sequence(seq):
    rng = np.random.default_rng(42)
    args = make_args(rng, 2, 0, 3, 4, c0=True)
    h, cache = seq.forward(**args)
    assert h.shape == (2, 0, 4)
    dx, dh0, dc0, dWx, dWh, db = seq.backward_with_cell_state(np.zeros((2, 0, 4)), None, cache)
    assert dx.shape == (2, 0, 3)
    np.testing.assert_array_equal(dh0, 0.0)
    np.testing.assert_array_equal(dc0, 0.0)
    for grad, param in ((dWx, "Wx"), (dWh, "Wh"), (db, "b")):
        assert grad.shape == args[param].shape
        np.testing.assert_array_equal(grad, 0.0)


def test_lstm_cache_holds_the_named_gates_of_every_step(seq):
    rng = np.random.default_rng(43)
    args = make_args(rng, 3, 5, 2, 4, c0=True)
    h, cache = seq.forward(**args)
    for name in ("i", "f", "o"):
        a = getattr(cache, name)
        assert a.shape == (3, 5, 4) and a.min() > 0 and a.max() < 1, name
    assert np.abs(cache.g).max() < 1
    # the named blocks are the ones the equations use: c_t = f c_{t-1} + i g, h_t = o tanh(c_t)
    c_prev = np.concatenate([args["c0"][:, None], cache.c[:, :-1]], axis=1)
    np.testing.assert_allclose(cache.c, cache.f * c_prev + cache.i * cache.g, rtol=1e-13, atol=0)
    np.testing.assert_allclose(h, cache.o * np.tanh(cache.c), rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(cache.h, h)


def test_lstm_gates_follow_pytorch_order(seq):
    # a large bias on one block only moves that gate: i, f, g, o side by side
    rng = np.random.default_rng(44)
    args = make_args(rng, 3, 5, 2, 2)
    args["b"] = np.zeros(8)
    args["b"][2:4] = 30.0  # the forget block
    _, cache = seq.forward(**args)
    np.testing.assert_allclose(cache.f, 1.0, atol=1e-9)
    assert cache.i.max() < 1 - 1e-6 and cache.o.max() < 1 - 1e-6
