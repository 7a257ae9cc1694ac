import numpy as np
import pytest
import torch

from course_pkg import rnn
from course_pkg._fused import rnn as fused
from course_pkg.gradcheck import check_gradients
from course_pkg.rnn import rnn_step_backward, rnn_step_forward

from gradutil import SHAPES, randn, sequence_functions


# every test of the sequence functions runs on the readable reference and on the fused kernels
@pytest.fixture(params=[rnn, fused], ids=["readable", "fused"])
def seq(request):
    return sequence_functions(request.param, forward="rnn_forward", backward="rnn_backward")


def make_args(rng, N, T, D, H, dtype=np.float64, seq=True):
    x = randn(rng, N, T, D, dtype=dtype) if seq else randn(rng, N, D, dtype=dtype)
    return dict(
        x=x,
        **{"h0" if seq else "h_prev": randn(rng, N, H, scale=0.5, dtype=dtype)},
        U=randn(rng, D, H, scale=0.5, dtype=dtype),
        W=randn(rng, H, H, scale=0.5, dtype=dtype),
        b=randn(rng, H, scale=0.1, dtype=dtype),
    )


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_rnn_step_gradients(N, T, D, H):
    rng = np.random.default_rng(0)
    args = make_args(rng, N, T, D, H, seq=False)
    h, cache = rnn_step_forward(**args)
    dh = randn(rng, *h.shape)
    dx, dh_prev, dU, dW, db = rnn_step_backward(dh, cache)
    check_gradients(
        lambda **a: (rnn_step_forward(**a)[0],),
        args,
        dict(x=dx, h_prev=dh_prev, U=dU, W=dW, b=db),
        [dh],
    )


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_rnn_sequence_gradients(N, T, D, H, seq):
    rng = np.random.default_rng(1)
    args = make_args(rng, N, T, D, H)
    h, cache = seq.forward(**args)
    dh = randn(rng, *h.shape)
    dx, dh0, dU, dW, db = seq.backward(dh, cache)
    check_gradients(
        lambda **a: (seq.forward(**a)[0],), args, dict(x=dx, h0=dh0, U=dU, W=dW, b=db), [dh]
    )


def test_rnn_step_matches_hand_computation():
    # one unit, one example: h = tanh(x*u + h_prev*w + b) computed by hand
    h, _ = rnn_step_forward(
        np.array([[0.5]]),
        np.array([[-1.0]]),
        np.array([[2.0]]),
        np.array([[0.5]]),
        np.array([0.25]),
    )
    assert h[0, 0] == pytest.approx(np.tanh(0.5 * 2.0 - 1.0 * 0.5 + 0.25))


def test_rnn_forward_is_repeated_step(seq):
    rng = np.random.default_rng(2)
    args = make_args(rng, 3, 4, 2, 5)
    h, _ = seq.forward(**args)
    state = args["h0"]
    for t in range(4):
        state, _ = rnn_step_forward(args["x"][:, t], state, args["U"], args["W"], args["b"])
        np.testing.assert_allclose(h[:, t], state, rtol=0, atol=1e-15)


def test_truncated_chunks_equal_full_forward(seq):
    rng = np.random.default_rng(3)
    args = make_args(rng, 2, 6, 3, 4)
    full, _ = seq.forward(**args)
    first, _ = seq.forward(args["x"][:, :4], args["h0"], args["U"], args["W"], args["b"])
    second, _ = seq.forward(args["x"][:, 4:], first[:, -1], args["U"], args["W"], args["b"])
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), full, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rnn_keeps_dtype(dtype, seq):
    rng = np.random.default_rng(4)
    args = make_args(rng, 2, 3, 4, 5, dtype=dtype)
    h, cache = seq.forward(**args)
    grads = seq.backward(np.ones_like(h), cache)
    assert h.dtype == dtype
    assert all(g.dtype == dtype for g in grads)
    ref, _ = seq.forward(**{k: v.astype(np.float64) for k, v in args.items()})
    np.testing.assert_allclose(h, ref, atol=1e-5 if dtype == np.float32 else 1e-15)


def test_rnn_does_not_modify_inputs(seq):
    rng = np.random.default_rng(5)
    args = make_args(rng, 2, 3, 4, 5)
    copies = {k: v.copy() for k, v in args.items()}
    h, cache = seq.forward(**args)
    dh = randn(rng, *h.shape)
    dh_copy = dh.copy()
    seq.backward(dh, cache)
    for k in args:
        np.testing.assert_array_equal(args[k], copies[k])
    np.testing.assert_array_equal(dh, dh_copy)


@pytest.mark.parametrize("N,T,D,H", [(3, 5, 4, 6), (1, 1, 2, 3)])
def test_rnn_matches_torch(N, T, D, H, seq):
    rng = np.random.default_rng(6)
    args = make_args(rng, N, T, D, H)
    net = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(args["U"].T))
        net.weight_hh_l0.copy_(torch.from_numpy(args["W"].T))
        net.bias_ih_l0.copy_(torch.from_numpy(args["b"]))
        net.bias_hh_l0.zero_()
    x_t = torch.from_numpy(args["x"]).requires_grad_()
    h0_t = torch.from_numpy(args["h0"][None]).requires_grad_()
    out, _ = net(x_t, h0_t)
    dh = randn(rng, N, T, H)
    out.backward(torch.from_numpy(dh))

    h, cache = seq.forward(**args)
    dx, dh0, dU, dW, db = seq.backward(dh, cache)
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(dh0, h0_t.grad.numpy()[0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(dU, net.weight_ih_l0.grad.numpy().T, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dW, net.weight_hh_l0.grad.numpy().T, rtol=0, atol=1e-10)
    np.testing.assert_allclose(db, net.bias_ih_l0.grad.numpy(), rtol=0, atol=1e-10)


def test_rnn_rejects_bad_input(seq):
    rng = np.random.default_rng(7)
    args = make_args(rng, 2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"U must have shape \(4, 5\), got \(5, 4\)"):
        seq.forward(**{**args, "U": args["U"].T})
    with pytest.raises(ValueError, match=r"x must be 3-dimensional, got shape \(2, 4\)"):
        seq.forward(**{**args, "x": args["x"][:, 0]})
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, 5\), got \(1, 5\)"):
        seq.forward(**{**args, "h0": args["h0"][:1]})
    with pytest.raises(TypeError, match="x must have dtype float32 or float64, got int64"):
        seq.forward(**{**args, "x": np.ones((2, 3, 4), dtype=np.int64)})
    with pytest.raises(TypeError, match="share one float dtype"):
        seq.forward(**{**args, "W": args["W"].astype(np.float32)})
    with pytest.raises(ValueError, match="x contains NaN"):
        seq.forward(**{**args, "x": np.full((2, 3, 4), np.nan)})
    h, cache = seq.forward(**args)
    with pytest.raises(ValueError, match=r"dh must have shape \(2, 3, 5\), got \(2, 5\)"):
        seq.backward(h[:, 0], cache)
    with pytest.raises(TypeError, match="cache must be the RNNCache"):
        seq.backward(h, (1, 2, 3))
    with pytest.raises(ValueError, match=r"W must have shape \(5, 5\), got \(5, 4\)"):
        rnn_step_forward(args["x"][:, 0], args["h0"], args["U"], args["W"][:, :4], args["b"])


def test_fused_rnn_backward_accepts_a_cache_of_ordinary_arrays():
    # the fused rnn_forward hands out h as an (N, T, H) view of a time-major buffer; a
    # cache of plain batch-major arrays must give the same gradients
    rng = np.random.default_rng(43)
    args = make_args(rng, 3, 5, 4, 2)
    h, cache = fused.rnn_forward(**args)
    assert not cache.h.flags.c_contiguous
    copied = type(cache)(*(np.ascontiguousarray(a) for a in cache))
    dh = randn(rng, *h.shape)
    for a, b in zip(fused.rnn_backward(dh, copied), fused.rnn_backward(dh, cache), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_rnn_empty_sequence(seq):
    rng = np.random.default_rng(44)
    args = make_args(rng, 2, 0, 3, 4)
    h, cache = seq.forward(**args)
    assert h.shape == (2, 0, 4)
    dx, dh0, dU, dW, db = seq.backward(np.zeros((2, 0, 4)), cache)
    assert dx.shape == (2, 0, 3)
    for grad, param in ((dh0, "h0"), (dU, "U"), (dW, "W"), (db, "b")):
        assert grad.shape == args[param].shape
        np.testing.assert_array_equal(grad, 0.0)
