import math
import warnings

import numpy as np
import pytest
import torch

from course_pkg import gru
from course_pkg._fused import gru as fused
from course_pkg.gradcheck import check_gradients
from course_pkg.gru import GRUCache, GRUStepCache, gru_step_backward, gru_step_forward

from gradutil import SHAPES, randn, sequence_functions


# every test of the sequence functions runs on the readable reference and on the fused kernels
@pytest.fixture(params=[gru, fused], ids=["readable", "fused"])
def seq(request):
    return sequence_functions(request.param, forward="gru_forward", backward="gru_backward")


VARIANTS = [False, True]  # reset_after


def make_args(rng, N, T, D, H, dtype=np.float64, seq=True):
    """Arguments of gru_forward (seq) or gru_step_forward, keyed by parameter name."""
    x = randn(rng, N, T, D, dtype=dtype) if seq else randn(rng, N, D, dtype=dtype)
    return dict(
        x=x,
        **{"h0" if seq else "h_prev": randn(rng, N, H, scale=0.5, dtype=dtype)},
        Wx=randn(rng, D, 3 * H, scale=0.5, dtype=dtype),
        Wh=randn(rng, H, 3 * H, scale=0.5, dtype=dtype),
        bx=randn(rng, 3 * H, scale=0.1, dtype=dtype),
        bh=randn(rng, 3 * H, scale=0.1, dtype=dtype),
    )


def sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


def torch_textbook_gru(x, h0, Wx, Wh, bx, bh):
    """The reset_after=False equations written with torch tensors, one step at a time."""
    H = h0.shape[1]
    h, states = h0, []
    for t in range(x.shape[1]):
        ax = x[:, t] @ Wx + bx
        r = torch.sigmoid(ax[:, :H] + h @ Wh[:, :H] + bh[:H])
        z = torch.sigmoid(ax[:, H : 2 * H] + h @ Wh[:, H : 2 * H] + bh[H : 2 * H])
        n = torch.tanh(ax[:, 2 * H :] + (r * h) @ Wh[:, 2 * H :] + bh[2 * H :])
        h = z * h + (1 - z) * n
        states.append(h)
    return torch.stack(states, dim=1)


@pytest.mark.parametrize("reset_after", VARIANTS)
@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_gru_step_gradients(N, T, D, H, reset_after):
    rng = np.random.default_rng(0)
    args = make_args(rng, N, T, D, H, seq=False)
    h, cache = gru_step_forward(**args, reset_after=reset_after)
    dh = randn(rng, *h.shape)
    dx, dh_prev, dWx, dWh, dbx, dbh = gru_step_backward(dh, cache)
    check_gradients(
        lambda **a: (gru_step_forward(**a, reset_after=reset_after)[0],),
        args,
        dict(x=dx, h_prev=dh_prev, Wx=dWx, Wh=dWh, bx=dbx, bh=dbh),
        [dh],
    )


@pytest.mark.parametrize("reset_after", VARIANTS)
@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_gru_sequence_gradients(N, T, D, H, reset_after, seq):
    rng = np.random.default_rng(1)
    args = make_args(rng, N, T, D, H)
    h, cache = seq.forward(**args, reset_after=reset_after)
    dh = randn(rng, *h.shape)
    dx, dh0, dWx, dWh, dbx, dbh = seq.backward(dh, cache)
    check_gradients(
        lambda **a: (seq.forward(**a, reset_after=reset_after)[0],),
        args,
        dict(x=dx, h0=dh0, Wx=dWx, Wh=dWh, bx=dbx, bh=dbh),
        [dh],
    )


@pytest.mark.parametrize("reset_after", VARIANTS)
def test_gru_step_matches_hand_computation(reset_after):
    # one unit, one input: every pre-activation written out by hand
    x, h_prev = 1.0, 0.5
    Wx, Wh = [0.5, -1.0, 2.0], [0.3, 0.6, -0.4]
    bx, bh = [0.1, 0.2, -0.3], [0.05, -0.1, 0.2]
    r = sigmoid(x * Wx[0] + bx[0] + h_prev * Wh[0] + bh[0])
    z = sigmoid(x * Wx[1] + bx[1] + h_prev * Wh[1] + bh[1])
    if reset_after:
        n = math.tanh(x * Wx[2] + bx[2] + r * (h_prev * Wh[2] + bh[2]))
    else:
        n = math.tanh(x * Wx[2] + bx[2] + (r * h_prev) * Wh[2] + bh[2])
    h_want = z * h_prev + (1 - z) * n

    h, cache = gru_step_forward(
        np.array([[x]]),
        np.array([[h_prev]]),
        np.array([Wx]),
        np.array([Wh]),
        np.array(bx),
        np.array(bh),
        reset_after=reset_after,
    )
    assert h[0, 0] == pytest.approx(h_want, rel=1e-14)
    got = np.concatenate([cache.r, cache.z, cache.n], axis=1)
    np.testing.assert_allclose(got, [[r, z, n]], rtol=1e-14, atol=0)
    # dh = 1 reaches h_prev directly (weight z) and through z, n and r
    dz = (h_prev - n) * z * (1 - z)
    dn = (1 - z) * (1 - n * n)
    if reset_after:
        dr = dn * (h_prev * Wh[2] + bh[2]) * r * (1 - r)
        dh_prev_want = z + dn * r * Wh[2] + dr * Wh[0] + dz * Wh[1]
    else:
        d_rh = dn * Wh[2]  # gradient at r * h_prev
        dr = d_rh * h_prev * r * (1 - r)
        dh_prev_want = z + d_rh * r + dr * Wh[0] + dz * Wh[1]
    _, dh_prev, _, _, dbx, _ = gru_step_backward(np.ones((1, 1)), cache)
    assert dh_prev[0, 0] == pytest.approx(dh_prev_want, rel=1e-14)
    np.testing.assert_allclose(dbx, [dr, dz, dn], rtol=1e-14, atol=0)


@pytest.mark.parametrize("reset_after", VARIANTS)
def test_gru_forward_is_repeated_step(reset_after, seq):
    rng = np.random.default_rng(2)
    args = make_args(rng, 3, 4, 2, 5)
    h, cache = seq.forward(**args, reset_after=reset_after)
    weights = {k: args[k] for k in ("Wx", "Wh", "bx", "bh")}
    state = args["h0"]
    for t in range(4):
        state, step_cache = gru_step_forward(
            args["x"][:, t], state, **weights, reset_after=reset_after
        )
        # the sequence version adds bh to bx before the loop: equal up to rounding
        np.testing.assert_allclose(h[:, t], state, rtol=0, atol=1e-14)
        gates_t = np.concatenate([cache.r[:, t], cache.z[:, t], cache.n[:, t]], axis=1)
        step_gates = np.concatenate([step_cache.r, step_cache.z, step_cache.n], axis=1)
        np.testing.assert_allclose(gates_t, step_gates, rtol=0, atol=1e-14)


@pytest.mark.parametrize("reset_after", VARIANTS)
def test_truncated_chunks_equal_full_forward_and_backward(reset_after, seq):
    rng = np.random.default_rng(3)
    args = make_args(rng, 2, 6, 3, 4)
    weights = {k: args[k] for k in ("Wx", "Wh", "bx", "bh")}
    k = 4
    full, full_cache = seq.forward(**args, reset_after=reset_after)
    first, cache1 = seq.forward(args["x"][:, :k], args["h0"], **weights, reset_after=reset_after)
    second, cache2 = seq.forward(
        args["x"][:, k:], first[:, k - 1], **weights, reset_after=reset_after
    )
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), full, rtol=0, atol=1e-15)

    # carrying dh0 back into the first chunk reproduces full BPTT
    dh = randn(rng, 2, 6, 4)
    want = seq.backward(dh, full_cache)
    dx2, dh_mid, *dparams2 = seq.backward(dh[:, k:], cache2)
    dh_first = dh[:, :k].copy()
    dh_first[:, -1] += dh_mid
    dx1, dh0, *dparams1 = seq.backward(dh_first, cache1)
    got = (
        np.concatenate([dx1, dx2], axis=1),
        dh0,
        *(a + b for a, b in zip(dparams1, dparams2, strict=True)),
    )
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-13)


@pytest.mark.parametrize("reset_after", VARIANTS)
def test_gru_bias_redundancy(reset_after, seq):
    # bh_r, bh_z always sit next to bx_r, bx_z; bh_n does so only without reset_after
    rng = np.random.default_rng(4)
    args = make_args(rng, 2, 3, 4, 5)
    h, cache = seq.forward(**args, reset_after=reset_after)
    *_, dbx, dbh = seq.backward(randn(rng, *h.shape), cache)
    np.testing.assert_allclose(dbh[:10], dbx[:10], rtol=0, atol=1e-15)
    if reset_after:
        assert np.abs(dbh[10:] - dbx[10:]).min() > 1e-6
    else:
        np.testing.assert_allclose(dbh[10:], dbx[10:], rtol=0, atol=1e-15)


@pytest.mark.parametrize("N,T,D,H", [(3, 5, 4, 6), (1, 1, 2, 3), (2, 7, 3, 2)])
def test_gru_reset_after_matches_torch(N, T, D, H, seq):
    rng = np.random.default_rng(5)
    args = make_args(rng, N, T, D, H)
    net = torch.nn.GRU(D, H, batch_first=True).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(args["Wx"].T))
        net.weight_hh_l0.copy_(torch.from_numpy(args["Wh"].T))
        net.bias_ih_l0.copy_(torch.from_numpy(args["bx"]))
        net.bias_hh_l0.copy_(torch.from_numpy(args["bh"]))
    x_t = torch.from_numpy(args["x"]).requires_grad_()
    h0_t = torch.from_numpy(args["h0"][None]).requires_grad_()
    out, _ = net(x_t, h0_t)
    dh = randn(rng, N, T, H)
    out.backward(torch.from_numpy(dh))

    h, cache = seq.forward(**args, reset_after=True)
    dx, dh0, dWx, dWh, dbx, dbh = seq.backward(dh, cache)
    close = dict(rtol=0, atol=1e-10)
    np.testing.assert_allclose(h, out.detach().numpy(), **close)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), **close)
    np.testing.assert_allclose(dh0, h0_t.grad.numpy()[0], **close)
    np.testing.assert_allclose(dWx, net.weight_ih_l0.grad.numpy().T, **close)
    np.testing.assert_allclose(dWh, net.weight_hh_l0.grad.numpy().T, **close)
    np.testing.assert_allclose(dbx, net.bias_ih_l0.grad.numpy(), **close)
    np.testing.assert_allclose(dbh, net.bias_hh_l0.grad.numpy(), **close)


@pytest.mark.parametrize("N,T,D,H", [(3, 5, 4, 6), (1, 1, 2, 3), (2, 7, 3, 2)])
def test_gru_textbook_matches_torch_autograd(N, T, D, H, seq):
    rng = np.random.default_rng(6)
    args = make_args(rng, N, T, D, H)
    tensors = {k: torch.from_numpy(v).requires_grad_() for k, v in args.items()}
    out = torch_textbook_gru(**tensors)
    dh = randn(rng, N, T, H)
    out.backward(torch.from_numpy(dh))

    h, cache = seq.forward(**args, reset_after=False)
    grads = dict(zip(["x", "h0", "Wx", "Wh", "bx", "bh"], seq.backward(dh, cache), strict=True))
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=0, atol=1e-10)
    for name, grad in grads.items():
        np.testing.assert_allclose(grad, tensors[name].grad.numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("reset_after", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gru_keeps_dtype(dtype, reset_after, seq):
    rng = np.random.default_rng(7)
    args = make_args(rng, 2, 3, 4, 5, dtype=dtype)
    h, cache = seq.forward(**args, reset_after=reset_after)
    dh = randn(rng, *h.shape, dtype=dtype)
    grads = seq.backward(dh, cache)
    assert h.dtype == dtype
    assert all(g.dtype == dtype for g in grads)

    args64 = {k: v.astype(np.float64) for k, v in args.items()}
    ref, ref_cache = seq.forward(**args64, reset_after=reset_after)
    ref_grads = seq.backward(dh.astype(np.float64), ref_cache)
    tol = 1e-6 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(h, ref, rtol=0, atol=tol)
    for g, r in zip(grads, ref_grads, strict=True):
        np.testing.assert_allclose(g, r, rtol=0, atol=5 * tol)

    h1, step_cache = gru_step_forward(
        args["x"][:, 0],
        args["h0"],
        args["Wx"],
        args["Wh"],
        args["bx"],
        args["bh"],
        reset_after=reset_after,
    )
    assert h1.dtype == dtype
    assert all(g.dtype == dtype for g in gru_step_backward(h1, step_cache))


@pytest.mark.parametrize("reset_after", VARIANTS)
def test_gru_does_not_modify_inputs(reset_after, seq):
    rng = np.random.default_rng(8)
    args = make_args(rng, 2, 3, 4, 5)
    step_args = make_args(rng, 2, 3, 4, 5, seq=False)
    copies = {k: v.copy() for k, v in {**args, **step_args}.items()}
    h, cache = seq.forward(**args, reset_after=reset_after)
    dh = randn(rng, *h.shape)
    dh_copy = dh.copy()
    seq.backward(dh, cache)
    _, step_cache = gru_step_forward(**step_args, reset_after=reset_after)
    dh1 = randn(rng, 2, 5)
    dh1_copy = dh1.copy()
    gru_step_backward(dh1, step_cache)
    for k, v in {**args, **step_args}.items():
        np.testing.assert_array_equal(v, copies[k])
    np.testing.assert_array_equal(dh, dh_copy)
    np.testing.assert_array_equal(dh1, dh1_copy)


def test_gru_rejects_bad_forward_input(seq):
    rng = np.random.default_rng(9)
    args = make_args(rng, 2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"Wx must have shape \(4, 15\), got \(15, 4\)"):
        seq.forward(**{**args, "Wx": args["Wx"].T})
    with pytest.raises(ValueError, match=r"Wh must have shape \(5, 15\), got \(5, 20\)"):
        seq.forward(**{**args, "Wh": np.zeros((5, 20))})
    with pytest.raises(ValueError, match=r"bh must have shape \(15,\), got \(10,\)"):
        seq.forward(**{**args, "bh": args["bh"][:10]})
    with pytest.raises(ValueError, match=r"bx must be 1-dimensional, got shape \(1, 15\)"):
        seq.forward(**{**args, "bx": args["bx"][None]})
    with pytest.raises(ValueError, match=r"x must be 3-dimensional, got shape \(2, 4\)"):
        seq.forward(**{**args, "x": args["x"][:, 0]})
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, 5\), got \(1, 5\)"):
        seq.forward(**{**args, "h0": args["h0"][:1]})
    with pytest.raises(TypeError, match="x must have dtype float32 or float64, got int64"):
        seq.forward(**{**args, "x": np.ones((2, 3, 4), dtype=np.int64)})
    with pytest.raises(TypeError, match=r"share one float dtype.*bh=float32"):
        seq.forward(**{**args, "bh": args["bh"].astype(np.float32)})
    with pytest.raises(ValueError, match="h0 contains NaN"):
        seq.forward(**{**args, "h0": np.full((2, 5), np.nan)})
    with pytest.raises(TypeError, match="reset_after must be a bool, got int"):
        seq.forward(**args, reset_after=1)
    with pytest.raises(TypeError, match="reset_after must be a bool, got str"):
        gru_step_forward(
            args["x"][:, 0],
            args["h0"],
            args["Wx"],
            args["Wh"],
            args["bx"],
            args["bh"],
            reset_after="yes",
        )
    with pytest.raises(ValueError, match=r"h_prev must have shape \(2, 5\), got \(3, 5\)"):
        gru_step_forward(
            args["x"][:, 0], np.zeros((3, 5)), args["Wx"], args["Wh"], args["bx"], args["bh"]
        )


def test_gru_rejects_bad_backward_input(seq):
    rng = np.random.default_rng(10)
    args = make_args(rng, 2, 3, 4, 5)
    h, cache = seq.forward(**args)
    with pytest.raises(ValueError, match=r"dh must have shape \(2, 3, 5\), got \(2, 5\)"):
        seq.backward(h[:, 0], cache)
    with pytest.raises(TypeError, match="dh must have dtype float64 like the forward pass"):
        seq.backward(h.astype(np.float32), cache)
    with pytest.raises(ValueError, match="dh contains NaN"):
        seq.backward(np.full_like(h, np.inf), cache)
    with pytest.raises(TypeError, match="cache must be the GRUCache"):
        seq.backward(h, (1, 2, 3))
    h1, step_cache = gru_step_forward(
        args["x"][:, 0], args["h0"], args["Wx"], args["Wh"], args["bx"], args["bh"]
    )
    with pytest.raises(TypeError, match=r"cache must be the GRUCache.*got GRUStepCache"):
        seq.backward(h, step_cache)
    with pytest.raises(TypeError, match=r"cache must be the GRUStepCache.*got GRUCache"):
        gru_step_backward(h1, cache)
    with pytest.raises(ValueError, match=r"dh must have shape \(2, 5\), got \(2, 3, 5\)"):
        gru_step_backward(h, step_cache)
    assert isinstance(cache, GRUCache) and isinstance(step_cache, GRUStepCache)


@pytest.mark.parametrize("reset_after", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gru_extreme_preactivations_stay_finite(dtype, reset_after, seq):
    # weights of 1e4 drive r and z to exactly 0 or 1 and n to +-1
    rng = np.random.default_rng(11)
    args = make_args(rng, 2, 4, 3, 5, dtype=dtype)
    args["Wx"] = np.sign(args["Wx"]) * dtype(1e4)
    args["Wh"] = np.sign(args["Wh"]) * dtype(1e4)
    step_args = {**args, "x": args["x"][:, 0]}
    step_args["h_prev"] = step_args.pop("h0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h, cache = seq.forward(**args, reset_after=reset_after)
        grads = seq.backward(np.ones_like(h), cache)
        h1, step_cache = gru_step_forward(**step_args, reset_after=reset_after)
        step_grads = gru_step_backward(np.ones_like(h1), step_cache)
    assert np.isin(np.stack([cache.r, cache.z]), [0, 1]).mean() > 0.9  # r, z really saturated
    for a in (h, *grads, h1, *step_grads):
        assert np.all(np.isfinite(a))


@pytest.mark.parametrize("reset_after", VARIANTS)
def test_fused_gru_backward_accepts_a_cache_of_ordinary_arrays(reset_after):
    # the fused gru_forward hands out (N, T, H) views of time-major buffers; a cache of
    # plain batch-major arrays must give the same gradients
    rng = np.random.default_rng(45)
    args = make_args(rng, 3, 5, 4, 2)
    h, cache = fused.gru_forward(**args, reset_after=reset_after)
    assert not cache.z.flags.c_contiguous
    copied = type(cache)(
        *(np.ascontiguousarray(a) if isinstance(a, np.ndarray) else a for a in cache)
    )
    dh = randn(rng, *h.shape)
    for a, b in zip(fused.gru_backward(dh, copied), fused.gru_backward(dh, cache), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("reset_after", VARIANTS)
def test_gru_empty_sequence(reset_after, seq):
    rng = np.random.default_rng(46)
    args = make_args(rng, 2, 0, 3, 4)
    h, cache = seq.forward(**args, reset_after=reset_after)
    assert h.shape == (2, 0, 4)
    dx, dh0, *param_grads = seq.backward(np.zeros((2, 0, 4)), cache)
    assert dx.shape == (2, 0, 3)
    np.testing.assert_array_equal(dh0, 0.0)
    for grad, param in zip(param_grads, ("Wx", "Wh", "bx", "bh"), strict=True):
        assert grad.shape == args[param].shape
        np.testing.assert_array_equal(grad, 0.0)


@pytest.mark.parametrize("reset_after", VARIANTS)
def test_gru_cache_holds_the_named_gates_of_every_step(reset_after, seq):
    rng = np.random.default_rng(46)
    args = make_args(rng, 2, 6, 3, 4)
    h, cache = seq.forward(**args, reset_after=reset_after)
    h_prev = np.concatenate([args["h0"][:, None], h[:, :-1]], axis=1)
    np.testing.assert_allclose(
        h, cache.z * h_prev + (1 - cache.z) * cache.n, rtol=1e-13, atol=1e-15
    )
    assert cache.r.min() > 0 and cache.r.max() < 1 and np.abs(cache.n).max() < 1
