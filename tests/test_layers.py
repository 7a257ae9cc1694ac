import numpy as np
import pytest
import torch

from course_pkg.gradcheck import check_gradients
from course_pkg.layers import (
    dense_backward,
    dense_forward,
    dropout_backward,
    dropout_forward,
    embedding_backward,
    embedding_forward,
)

from gradutil import randn

# (N, T, K, D): general, N=1 and T=1, one-token vocabulary (every id repeated)
EMBED_SHAPES = [(2, 3, 4, 5), (1, 1, 3, 2), (1, 6, 2, 3), (4, 1, 7, 1), (3, 5, 1, 4)]
# (N, T, H, K) for the output layer
DENSE_SHAPES = [(2, 3, 4, 5), (1, 1, 3, 3), (1, 4, 6, 2), (3, 1, 2, 7)]


# --------------------------------------------------------------------------- embedding


def make_ids(rng, N, T, K):
    ids = rng.integers(0, K, size=(N, T))
    ids.flat[-1] = ids.flat[0]  # at least one repeated id whenever N*T > 1
    return ids


@pytest.mark.parametrize("N,T,K,D", EMBED_SHAPES)
def test_embedding_gradients(N, T, K, D):
    rng = np.random.default_rng(0)
    args = dict(ids=make_ids(rng, N, T, K), E=randn(rng, K, D))
    x, cache = embedding_forward(**args)
    dx = randn(rng, *x.shape)
    dE = embedding_backward(dx, cache)
    check_gradients(lambda **a: (embedding_forward(**a)[0],), args, dict(E=dE), [dx])


def test_embedding_repeated_ids_accumulate():
    E = np.arange(8.0).reshape(4, 2)
    ids = np.array([[1, 1, 3], [1, 0, 3]])
    x, cache = embedding_forward(ids, E)
    np.testing.assert_array_equal(x[1, 1], E[0])
    np.testing.assert_array_equal(x[0, 2], E[3])
    dE = embedding_backward(np.ones((2, 3, 2)), cache)
    # id 1 occurs three times, id 3 twice, id 0 once, id 2 never
    np.testing.assert_array_equal(dE, [[1.0, 1.0], [3.0, 3.0], [0.0, 0.0], [2.0, 2.0]])


def test_embedding_any_id_shape():
    rng = np.random.default_rng(1)
    E = randn(rng, 5, 3)
    ids = np.array([4, 0, 4])  # (N,): one time step
    x, cache = embedding_forward(ids, E)
    assert x.shape == (3, 3)
    np.testing.assert_array_equal(x, E[ids])
    dE = embedding_backward(np.ones((3, 3)), cache)
    np.testing.assert_array_equal(dE[4], [2.0, 2.0, 2.0])


def test_embedding_matches_torch():
    rng = np.random.default_rng(2)
    N, T, K, D = 3, 5, 4, 6
    ids = make_ids(rng, N, T, K)
    E = randn(rng, K, D)
    E_t = torch.from_numpy(E).requires_grad_()
    out = torch.nn.functional.embedding(torch.from_numpy(ids), E_t)
    dx = randn(rng, N, T, D)
    out.backward(torch.from_numpy(dx))
    x, cache = embedding_forward(ids, E)
    np.testing.assert_allclose(x, out.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(embedding_backward(dx, cache), E_t.grad.numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_keeps_dtype_and_inputs(dtype):
    rng = np.random.default_rng(3)
    ids = make_ids(rng, 2, 3, 4)
    E = randn(rng, 4, 5, dtype=dtype)
    ids_copy, E_copy = ids.copy(), E.copy()
    x, cache = embedding_forward(ids, E)
    dx = randn(rng, 2, 3, 5, dtype=dtype)
    dx_copy = dx.copy()
    dE = embedding_backward(dx, cache)
    assert x.dtype == dtype and dE.dtype == dtype
    x[...] = 0  # the output is a copy, not a view of the table
    np.testing.assert_array_equal(E, E_copy)
    np.testing.assert_array_equal(ids, ids_copy)
    np.testing.assert_array_equal(dx, dx_copy)


def test_embedding_rejects_bad_input():
    rng = np.random.default_rng(4)
    E = randn(rng, 4, 3)
    ids = np.array([[0, 1], [2, 3]])
    with pytest.raises(
        ValueError, match=r"ids must hold indices in \[0, 4\), got values in \[0, 4\]"
    ):
        embedding_forward(np.array([[0, 4]]), E)
    with pytest.raises(
        ValueError, match=r"ids must hold indices in \[0, 4\), got values in \[-1, 1\]"
    ):
        embedding_forward(np.array([[-1, 1]]), E)
    with pytest.raises(TypeError, match="ids must have an integer dtype, got float64"):
        embedding_forward(ids.astype(np.float64), E)
    with pytest.raises(TypeError, match="E must have dtype float32 or float64, got int64"):
        embedding_forward(ids, np.ones((4, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"E must be 2-dimensional, got shape \(12,\)"):
        embedding_forward(ids, E.ravel())
    with pytest.raises(ValueError, match="E contains NaN"):
        embedding_forward(ids, np.full((4, 3), np.inf))
    x, cache = embedding_forward(ids, E)
    with pytest.raises(ValueError, match=r"dx must have shape \(2, 2, 3\), got \(2, 3\)"):
        embedding_backward(x[0], cache)
    with pytest.raises(TypeError, match="dx must have dtype float64 like the forward pass"):
        embedding_backward(x.astype(np.float32), cache)
    with pytest.raises(TypeError, match="cache must be the EmbeddingCache"):
        embedding_backward(x, (ids, E))


# --------------------------------------------------------------------------- dense


def make_dense_args(rng, N, T, H, K, seq=True, dtype=np.float64):
    h = randn(rng, N, T, H, dtype=dtype) if seq else randn(rng, N, H, dtype=dtype)
    return dict(h=h, V=randn(rng, H, K, scale=0.5, dtype=dtype), c=randn(rng, K, dtype=dtype))


@pytest.mark.parametrize("seq", [True, False])
@pytest.mark.parametrize("N,T,H,K", DENSE_SHAPES)
def test_dense_gradients(N, T, H, K, seq):
    rng = np.random.default_rng(5)
    args = make_dense_args(rng, N, T, H, K, seq=seq)
    y, cache = dense_forward(**args)
    assert y.shape == (*args["h"].shape[:-1], K)
    dy = randn(rng, *y.shape)
    dh, dV, dc = dense_backward(dy, cache)
    check_gradients(lambda **a: (dense_forward(**a)[0],), args, dict(h=dh, V=dV, c=dc), [dy])


def test_dense_sequence_is_dense_per_step():
    rng = np.random.default_rng(6)
    args = make_dense_args(rng, 2, 4, 3, 5)
    y, _ = dense_forward(**args)
    for t in range(4):
        y_t, _ = dense_forward(args["h"][:, t], args["V"], args["c"])
        np.testing.assert_allclose(y[:, t], y_t, rtol=0, atol=1e-15)


@pytest.mark.parametrize("seq", [True, False])
def test_dense_matches_torch(seq):
    rng = np.random.default_rng(7)
    N, T, H, K = 3, 4, 5, 6
    args = make_dense_args(rng, N, T, H, K, seq=seq)
    layer = torch.nn.Linear(H, K).double()
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(args["V"].T))
        layer.bias.copy_(torch.from_numpy(args["c"]))
    h_t = torch.from_numpy(args["h"]).requires_grad_()
    out = layer(h_t)
    dy = randn(rng, *out.shape)
    out.backward(torch.from_numpy(dy))
    y, cache = dense_forward(**args)
    dh, dV, dc = dense_backward(dy, cache)
    np.testing.assert_allclose(y, out.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(dh, h_t.grad.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(dV, layer.weight.grad.numpy().T, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dc, layer.bias.grad.numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_keeps_dtype_and_inputs(dtype):
    rng = np.random.default_rng(8)
    args = make_dense_args(rng, 2, 3, 4, 5, dtype=dtype)
    copies = {k: v.copy() for k, v in args.items()}
    y, cache = dense_forward(**args)
    dy = randn(rng, *y.shape, dtype=dtype)
    dy_copy = dy.copy()
    grads = dense_backward(dy, cache)
    assert y.dtype == dtype
    assert all(g.dtype == dtype for g in grads)
    ref, _ = dense_forward(**{k: v.astype(np.float64) for k, v in args.items()})
    np.testing.assert_allclose(y, ref, atol=1e-5 if dtype == np.float32 else 1e-15)
    for k in args:
        np.testing.assert_array_equal(args[k], copies[k])
    np.testing.assert_array_equal(dy, dy_copy)


def test_dense_rejects_bad_input():
    rng = np.random.default_rng(9)
    args = make_dense_args(rng, 2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"V must have shape \(4, 5\), got \(5, 4\)"):
        dense_forward(**{**args, "V": args["V"].T})
    with pytest.raises(
        ValueError, match=r"c must have shape \(5,\) to match V \(4, 5\), got \(4,\)"
    ):
        dense_forward(**{**args, "c": args["c"][:4]})
    with pytest.raises(ValueError, match=r"h must have at least 2 dimensions.*got shape \(4,\)"):
        dense_forward(**{**args, "h": args["h"][0, 0]})
    with pytest.raises(TypeError, match="share one float dtype"):
        dense_forward(**{**args, "c": args["c"].astype(np.float32)})
    with pytest.raises(TypeError, match="h must have dtype float32 or float64, got int64"):
        dense_forward(**{**args, "h": np.ones((2, 3, 4), dtype=np.int64)})
    with pytest.raises(ValueError, match="V contains NaN"):
        dense_forward(**{**args, "V": np.full((4, 5), np.nan)})
    y, cache = dense_forward(**args)
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 3, 5\), got \(2, 5\)"):
        dense_backward(y[:, 0], cache)
    with pytest.raises(TypeError, match="cache must be the DenseCache"):
        dense_backward(y, None)


# --------------------------------------------------------------------------- dropout


@pytest.mark.parametrize("same_mask_over_time", [False, True])
@pytest.mark.parametrize("shape", [(2, 3, 4), (1, 1, 5), (3, 1, 2), (1, 6, 3)])
def test_dropout_gradients(shape, same_mask_over_time):
    rng = np.random.default_rng(10)
    x = randn(rng, *shape)

    def forward(x):  # a fresh generator with the same seed draws the same mask every call
        return dropout_forward(x, 0.3, np.random.default_rng(11), True, same_mask_over_time)

    y, cache = forward(x)
    dy = randn(rng, *y.shape)
    dx = dropout_backward(dy, cache)
    assert np.any(y != 0), "every unit dropped: pick another seed"
    check_gradients(lambda x: (forward(x)[0],), dict(x=x), dict(x=dx), [dy])


def test_dropout_statistics():
    rng = np.random.default_rng(12)
    p = 0.25
    x = np.full((400, 500), 2.0)
    y, _ = dropout_forward(x, p, rng)
    dropped = np.mean(y == 0)
    assert abs(dropped - p) < 0.01  # 200,000 draws: standard error ~0.001
    np.testing.assert_array_equal(np.unique(y), [0.0, 2.0 / (1 - p)])
    assert abs(y.mean() - 2.0) < 0.02  # inverted dropout keeps the expectation


def test_dropout_same_mask_over_time():
    rng = np.random.default_rng(13)
    x = np.ones((4, 6, 5))
    y, cache = dropout_forward(x, 0.5, rng, same_mask_over_time=True)
    for t in range(1, 6):
        np.testing.assert_array_equal(y[:, t], y[:, 0])
    assert 0 < np.mean(y == 0) < 1
    dx = dropout_backward(np.ones_like(x), cache)
    np.testing.assert_array_equal(dx, y)  # x = 1, so y is the scaled mask itself
    y_free, _ = dropout_forward(x, 0.5, np.random.default_rng(13))
    assert any(not np.array_equal(y_free[:, t], y_free[:, 0]) for t in range(1, 6))


def test_dropout_eval_is_identity_and_draws_nothing():
    rng = np.random.default_rng(14)
    x = randn(rng, 2, 3, 4)
    state = rng.bit_generator.state
    y, cache = dropout_forward(x, 0.9, rng, train=False)
    np.testing.assert_array_equal(y, x)
    assert y is not x
    assert rng.bit_generator.state == state
    dy = randn(np.random.default_rng(0), 2, 3, 4)
    dx = dropout_backward(dy, cache)
    np.testing.assert_array_equal(dx, dy)
    assert dx is not dy


def test_dropout_p_zero_keeps_everything_and_seed_reproduces():
    x = randn(np.random.default_rng(15), 3, 4)
    y, _ = dropout_forward(x, 0.0, np.random.default_rng(0))
    np.testing.assert_array_equal(y, x)
    a, _ = dropout_forward(x, 0.5, np.random.default_rng(7))
    b, _ = dropout_forward(x, 0.5, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_keeps_dtype_and_inputs(dtype):
    rng = np.random.default_rng(16)
    x = randn(rng, 2, 3, 4, dtype=dtype)
    x_copy = x.copy()
    y, cache = dropout_forward(x, 0.5, rng, same_mask_over_time=True)
    dy = randn(rng, 2, 3, 4, dtype=dtype)
    dy_copy = dy.copy()
    dx = dropout_backward(dy, cache)
    assert y.dtype == dtype and dx.dtype == dtype
    assert set(np.unique(y / np.where(x == 0, 1, x))) <= {0.0, 2.0}
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(dy, dy_copy)


def test_dropout_rejects_bad_input():
    rng = np.random.default_rng(17)
    x = randn(rng, 2, 3, 4)
    with pytest.raises(ValueError, match=r"p must be a finite number in \[0, 1\), got 1.0"):
        dropout_forward(x, 1.0, rng)
    with pytest.raises(ValueError, match=r"p must be a finite number in \[0, 1\), got -0.1"):
        dropout_forward(x, -0.1, rng)
    with pytest.raises(TypeError, match="p must be a real number, got str"):
        dropout_forward(x, "0.5", rng)
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator.*got int"):
        dropout_forward(x, 0.5, 0)
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator.*got RandomState"):
        dropout_forward(x, 0.5, np.random.RandomState(0))
    with pytest.raises(TypeError, match="train must be a bool, got str"):
        dropout_forward(x, 0.5, rng, train="no")
    with pytest.raises(ValueError, match=r"same_mask_over_time needs x of shape \(N, T, D\), "):
        dropout_forward(x[0], 0.5, rng, same_mask_over_time=True)
    with pytest.raises(TypeError, match="x must have dtype float32 or float64, got int64"):
        dropout_forward(np.ones(3, dtype=np.int64), 0.5, rng)
    y, cache = dropout_forward(x, 0.5, rng)
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 3, 4\), got \(3, 4\)"):
        dropout_backward(y[0], cache)
    with pytest.raises(TypeError, match="cache must be the DropoutCache"):
        dropout_backward(y, y)
