import numpy as np
import pytest
import torch

from course_pkg.cells import Cell
from course_pkg.gradient_flow import (
    BPTTTerms,
    bptt_cost,
    bptt_terms,
    cache_nbytes,
    gradient_norms_by_lag,
    orthogonal,
)
from course_pkg.losses import binary_cross_entropy_with_logits
from course_pkg.rnn import rnn_backward, rnn_forward

from gradutil import randn

# ----------------------------------------------------------------------- orthogonal


@pytest.mark.parametrize("n,gain", [(1, 1.0), (5, 1.0), (8, 0.7), (16, 2.5)])
def test_orthogonal_has_every_singular_value_equal_to_gain(n, gain):
    Q = orthogonal(n, np.random.default_rng(n), gain=gain)
    np.testing.assert_allclose(Q.T @ Q, gain**2 * np.eye(n), atol=1e-13)
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(Q)), gain, atol=1e-12)


def test_orthogonal_is_reproducible_and_sign_corrected():
    a = orthogonal(6, np.random.default_rng(3))
    b = orthogonal(6, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    # the sign fix makes Q the QR factor whose R has a positive diagonal
    A = np.random.default_rng(3).standard_normal((6, 6))
    R = a.T @ A
    assert np.all(np.diag(R) > 0)
    np.testing.assert_allclose(np.tril(R, -1), 0, atol=1e-12)
    assert orthogonal(4, np.random.default_rng(0), dtype=np.float32).dtype == np.float32


# ------------------------------------------------------------ gradient_norms_by_lag


@pytest.mark.parametrize("rho", [0.5, 0.9, 1.0, 1.3])
def test_linear_regime_decays_exactly_like_rho_to_the_lag(rho):
    # zero inputs, bias and state: every h_t = 0, tanh' = 1, so dL/dh_{T-k} = g (W^T)^k
    H, T = 6, 12
    rng = np.random.default_rng(0)
    params = {"U": randn(rng, 3, H), "W": orthogonal(H, rng, gain=rho), "b": np.zeros(H)}
    norms = gradient_norms_by_lag("rnn", params, np.zeros((2, T, 3)))
    np.testing.assert_allclose(norms, rho ** np.arange(T + 1), rtol=1e-12)


def linear_rnn_forward(x, h0, U, W, b):
    """h_t = x_t U + h_{t-1} W + b: a student-style cell without the tanh."""
    h = np.empty((x.shape[0], x.shape[1], W.shape[0]))
    prev = h0
    for t in range(x.shape[1]):
        prev = x[:, t] @ U + prev @ W + b
        h[:, t] = prev
    return h, (x, W)


def linear_rnn_backward(dh, cache):
    _, W = cache
    dh_next = np.zeros_like(dh[:, 0])
    for t in range(dh.shape[1] - 1, -1, -1):
        dh_next = (dh[:, t] + dh_next) @ W.T
    return None, dh_next, None, None, None


def test_a_cell_built_on_your_own_functions_works_too():
    # with no activation the Jacobian is W^T whatever the inputs are
    H, T, rho = 5, 9, 0.8
    rng = np.random.default_rng(1)
    params = {"U": randn(rng, 2, H), "W": orthogonal(H, rng, gain=rho), "b": randn(rng, H)}
    cell = Cell("rnn", forward=linear_rnn_forward, backward=linear_rnn_backward)
    norms = gradient_norms_by_lag(cell, params, randn(rng, 3, T, 2))
    np.testing.assert_allclose(norms, rho ** np.arange(T + 1), rtol=1e-12)


def torch_state_gradient_norms(kind, params, x, dh_final, reset_after=True):
    """Independent reference: unroll a torch cell, keep every state, one autograd pass."""
    x_t = torch.from_numpy(x)
    N, T, _ = x.shape
    p = {k: torch.from_numpy(v) for k, v in params.items()}
    H = dh_final.shape[1]
    h = torch.zeros(N, H, dtype=torch.float64, requires_grad=True)
    c = torch.zeros(N, H, dtype=torch.float64, requires_grad=True)
    states = [(h, c)]
    for t in range(T):
        if kind == "rnn":
            h = torch.tanh(x_t[:, t] @ p["U"] + h @ p["W"] + p["b"])
        elif kind == "lstm":
            a = x_t[:, t] @ p["Wx"] + h @ p["Wh"] + p["b"]
            i, f, g, o = a.split(H, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        else:  # GRU, reset applied after the recurrent product, as torch.nn.GRU
            ax = x_t[:, t] @ p["Wx"] + p["bx"]
            ah = h @ p["Wh"] + p["bh"]
            r = torch.sigmoid(ax[:, :H] + ah[:, :H])
            z = torch.sigmoid(ax[:, H : 2 * H] + ah[:, H : 2 * H])
            n = torch.tanh(ax[:, 2 * H :] + r * ah[:, 2 * H :])
            h = (1 - z) * n + z * h
        # the next step reads copies, so their .grad is the gradient with respect to the
        # state (h, c) as two independent inputs of the rest of the computation
        h, c = h.clone(), c.clone()
        h.retain_grad()
        c.retain_grad()
        states.append((h, c))
    (h * torch.from_numpy(dh_final)).sum().backward()
    norms = []
    for h_s, c_s in reversed(states):
        sq = h_s.grad.pow(2).sum(1)
        if kind == "lstm" and c_s.grad is not None:
            sq = sq + c_s.grad.pow(2).sum(1)
        norms.append(sq.sqrt().mean().item())
    return np.array(norms)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_norms_match_torch_autograd(kind):
    N, T, D, H = 3, 7, 4, 5
    rng = np.random.default_rng(2)
    cell = Cell(kind, reset_after=kind == "gru")
    params = cell.init_params(D, H, rng)
    params = {k: 2.0 * v for k, v in params.items()}  # larger weights: not a trivial regime
    x = randn(rng, N, T, D)
    dh_final = randn(rng, N, H)
    ours = gradient_norms_by_lag(cell, params, x, dh_final)
    expected = torch_state_gradient_norms(kind, params, x, dh_final)
    np.testing.assert_allclose(ours, expected, rtol=1e-10)
    assert ours[-1] < 0.5 * ours[0]  # and the measurement is not flat


def test_default_upstream_is_a_unit_vector_and_state0_is_used():
    rng = np.random.default_rng(4)
    params = Cell("rnn").init_params(3, 4, rng)
    x = randn(rng, 2, 5, 3)
    norms = gradient_norms_by_lag("rnn", params, x)
    assert norms[0] == pytest.approx(1.0)
    assert norms.shape == (6,)
    # a saturating initial state changes the states, hence the measured norms
    other = gradient_norms_by_lag("rnn", params, x, state0=(np.full((2, 4), 3.0),))
    assert not np.allclose(norms[1:], other[1:])
    # the LSTM state is a pair
    lstm = Cell("lstm").init_params(3, 4, rng)
    zeros = (np.zeros((2, 4)), np.zeros((2, 4)))
    np.testing.assert_allclose(
        gradient_norms_by_lag("lstm", lstm, x, state0=zeros),
        gradient_norms_by_lag("lstm", lstm, x),
        rtol=1e-14,
    )


def test_gradient_norms_reject_bad_input():
    rng = np.random.default_rng(5)
    params = Cell("rnn").init_params(3, 4, rng)
    x = randn(rng, 2, 5, 3)
    with pytest.raises(ValueError, match=r"x must be 3-dimensional, got shape \(5, 3\)"):
        gradient_norms_by_lag("rnn", params, x[0])
    with pytest.raises(ValueError, match=r"x must hold at least one time step"):
        gradient_norms_by_lag("rnn", params, x[:, :0])
    with pytest.raises(ValueError, match=r"params must hold the rnn parameters.*missing \['b'\]"):
        gradient_norms_by_lag("rnn", {"U": params["U"], "W": params["W"]}, x)
    with pytest.raises(ValueError, match=r"U must have shape \(3, 4\), got \(4, 4\)"):
        gradient_norms_by_lag("rnn", {**params, "U": params["W"]}, x)
    with pytest.raises(TypeError, match="params must be a dict of arrays, got list"):
        gradient_norms_by_lag("rnn", [params["U"]], x)
    with pytest.raises(ValueError, match=r"dh_final must have shape \(2, 4\), got \(2, 3\)"):
        gradient_norms_by_lag("rnn", params, x, dh_final=np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"state0 must be a tuple of 2 array\(s\) \(N, H\)"):
        gradient_norms_by_lag("lstm", Cell("lstm").init_params(3, 4, rng), x, state0=(x[:, 0],))
    with pytest.raises(ValueError, match=r"state0\[0\] must have shape \(2, 4\), got \(1, 4\)"):
        gradient_norms_by_lag("rnn", params, x, state0=(np.zeros((1, 4)),))
    with pytest.raises(ValueError, match="cell kind must be one of"):
        gradient_norms_by_lag("elman", params, x)


# ----------------------------------------------------------------------- bptt_terms


def test_bptt_terms_sum_to_rnn_backward():
    rng = np.random.default_rng(6)
    N, T, D, H = 3, 6, 4, 5
    x, h0 = randn(rng, N, T, D), randn(rng, N, H, scale=0.5)
    U, W, b = randn(rng, D, H, scale=0.5), randn(rng, H, H, scale=0.5), randn(rng, H)
    _, cache = rnn_forward(x, h0, U, W, b)
    dh = randn(rng, N, T, H)
    dh_copy = dh.copy()
    dx, _, dU, dW, db = rnn_backward(dh, cache)
    terms = bptt_terms(dh, cache)
    np.testing.assert_array_equal(dh, dh_copy)  # the upstream gradient is not modified
    assert isinstance(terms, BPTTTerms)
    assert terms.dU.shape == (T, D, H) and terms.dW.shape == (T, H, H)
    np.testing.assert_allclose(terms.dU.sum(axis=0), dU, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(terms.dW.sum(axis=0), dW, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(terms.db.sum(axis=0), db, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(terms.delta @ U.T, dx, rtol=1e-12, atol=1e-14)


def test_bptt_terms_are_the_paths_of_the_scalar_example():
    # o_t = tanh(x_t w_i + o_{t-1} w_h + b), L = log loss of sigmoid(o_3 w_o)
    x = np.array([[[1.0], [-0.5], [2.0]]])
    w_i, w_h, b, w_o, y = 0.5, -1.0, 0.1, 2.0, 1.0
    o, cache = rnn_forward(x, np.zeros((1, 1)), np.array([[w_i]]), np.array([[w_h]]), np.array([b]))
    _, dz = binary_cross_entropy_with_logits(o[:, -1, 0] * w_o, np.array([y]))
    dh = np.zeros_like(o)
    dh[0, -1, 0] = dz[0] * w_o  # dL/do_3
    a = 1.0 - o[0, :, 0] ** 2  # tanh' at steps 1, 2, 3
    g = dh[0, -1, 0]
    by_hand = [
        g * a[2] * w_h * a[1] * w_h * a[0] * x[0, 0, 0],  # path o_1 -> o_2 -> o_3
        g * a[2] * w_h * a[1] * x[0, 1, 0],  # path o_2 -> o_3
        g * a[2] * x[0, 2, 0],  # direct
    ]
    np.testing.assert_allclose(bptt_terms(dh, cache).dU[:, 0, 0], by_hand, rtol=1e-13)


def test_bptt_terms_rejects_bad_input():
    rng = np.random.default_rng(7)
    h, cache = rnn_forward(
        randn(rng, 2, 3, 4), np.zeros((2, 5)), *[randn(rng, *s) for s in [(4, 5), (5, 5), (5,)]]
    )
    with pytest.raises(TypeError, match="cache must be the RNNCache returned by the forward"):
        bptt_terms(h, tuple(cache))
    with pytest.raises(ValueError, match=r"dh must have shape \(2, 3, 5\), got \(2, 5\)"):
        bptt_terms(h[:, 0], cache)


# ------------------------------------------------------------------------------ cost


def test_cache_nbytes_counts_each_owner_once():
    x = np.zeros((2, 3))
    y = np.zeros(4, dtype=np.float32)
    assert cache_nbytes((x, x[:, :1], {"y": y}, [x.T])) == 48 + 16
    assert cache_nbytes((x, y), exclude=[x]) == 16
    assert cache_nbytes((x[1:], 3, "text", None)) == 48  # a view keeps its whole base alive
    assert cache_nbytes(()) == 0


def test_rnn_cache_holds_inputs_initial_state_and_every_state():
    rng = np.random.default_rng(8)
    N, T, D, H = 4, 10, 3, 6
    params = Cell("rnn").init_params(D, H, rng)
    _, cache = rnn_forward(randn(rng, N, T, D), np.zeros((N, H)), **params)
    assert cache_nbytes(cache, exclude=params.values()) == 8 * (N * T * D + N * H + N * T * H)


def test_bptt_cost_memory_grows_linearly_with_length():
    rng = np.random.default_rng(9)
    N, D, H = 4, 3, 6
    cost = bptt_cost("rnn", Cell("rnn").init_params(D, H, rng), [1, 5, 20], batch_size=N, rng=rng)
    np.testing.assert_array_equal(cost.seq_lengths, [1, 5, 20])
    expected = [8 * (N * T * D + N * H + N * T * H) for T in (1, 5, 20)]
    np.testing.assert_array_equal(cost.cache_bytes, expected)
    assert np.all(cost.seconds > 0)
    lstm = bptt_cost("lstm", Cell("lstm").init_params(D, H, rng), [2, 4], batch_size=N, rng=rng)
    assert lstm.cache_bytes[1] - lstm.cache_bytes[0] > 2 * (expected[1] - expected[0]) / 4


def test_bptt_cost_rejects_bad_input():
    rng = np.random.default_rng(10)
    params = Cell("rnn").init_params(3, 4, rng)
    with pytest.raises(ValueError, match="seq_lengths must hold at least one length"):
        bptt_cost("rnn", params, [], batch_size=2, rng=rng)
    with pytest.raises(ValueError, match=r"seq_lengths\[i\] must be >= 1, got 0"):
        bptt_cost("rnn", params, [3, 0], batch_size=2, rng=rng)
    with pytest.raises(TypeError, match="batch_size must be an integer, got float"):
        bptt_cost("rnn", params, [3], batch_size=2.0, rng=rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        bptt_cost("rnn", params, [3], batch_size=2, rng=0)


def test_orthogonal_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        orthogonal(0, rng)
    with pytest.raises(TypeError, match="n must be an integer, got float"):
        orthogonal(3.0, rng)
    with pytest.raises(ValueError, match="gain must be a finite number > 0, got -1.0"):
        orthogonal(3, rng, gain=-1.0)
    with pytest.raises(TypeError, match="gain must be a real number, got str"):
        orthogonal(3, rng, gain="1")
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        orthogonal(3, 42)
