import contextlib
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_pkg.gradcheck import check_gradients
from course_pkg.losses import (
    binary_cross_entropy_with_logits,
    mean_squared_error,
    perplexity,
    softmax_cross_entropy,
)

from gradutil import randn

# (N, T, K): general, N=1 and T=1, two classes
CE_SHAPES = [(2, 3, 5), (1, 1, 4), (1, 5, 2), (4, 1, 3), (3, 4, 6)]


def make_ce_args(rng, N, T, K, seq=True, dtype=np.float64):
    shape = (N, T) if seq else (N,)
    mask = rng.random(shape) < 0.7
    mask.flat[0] = True  # at least one counted position
    return dict(
        logits=randn(rng, *shape, K, scale=2.0, dtype=dtype),
        targets=rng.integers(0, K, size=shape),
        mask=mask.astype(dtype),
    )


@contextlib.contextmanager
def no_warnings():
    """Any warning, or any NumPy overflow/invalid/divide-by-zero, is an error inside."""
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        yield


# --------------------------------------------------------------------------- softmax cross-entropy


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("seq", [True, False])
@pytest.mark.parametrize("N,T,K", CE_SHAPES)
def test_softmax_ce_gradients(N, T, K, seq, reduction):
    rng = np.random.default_rng(0)
    args = make_ce_args(rng, N, T, K, seq=seq)
    _, dlogits = softmax_cross_entropy(**args, reduction=reduction)
    check_gradients(
        lambda **a: (softmax_cross_entropy(**a, reduction=reduction)[0],),
        args,
        dict(logits=dlogits),
        [np.ones(1)],
    )


def torch_masked_ce(logits, targets, mask, reduction):
    """The reference: per-position cross-entropy from torch, then the masked reduction."""
    K = logits.shape[-1]
    z = torch.from_numpy(logits).requires_grad_()
    per_pos = F.cross_entropy(
        z.reshape(-1, K), torch.from_numpy(targets).reshape(-1), reduction="none"
    )
    m = torch.from_numpy(mask).reshape(-1)
    total = (per_pos * m).sum()
    loss = total / m.sum() if reduction == "mean" else total
    loss.backward()
    return loss.item(), z.grad.numpy()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("N,T,K", [(3, 7, 11), (1, 1, 2), (2, 4, 5)])
def test_softmax_ce_matches_torch(N, T, K, reduction):
    rng = np.random.default_rng(1)
    args = make_ce_args(rng, N, T, K)
    ref_loss, ref_grad = torch_masked_ce(**args, reduction=reduction)
    loss, dlogits = softmax_cross_entropy(**args, reduction=reduction)
    assert abs(loss - ref_loss) < 1e-10
    np.testing.assert_allclose(dlogits, ref_grad, rtol=0, atol=1e-10)


def test_softmax_ce_without_mask_matches_torch_mean():
    rng = np.random.default_rng(2)
    logits = randn(rng, 4, 6, 7)
    targets = rng.integers(0, 7, size=(4, 6))
    z = torch.from_numpy(logits).requires_grad_()
    # torch puts the class axis second: (N, K, T)
    ref = F.cross_entropy(z.permute(0, 2, 1), torch.from_numpy(targets))
    ref.backward()
    loss, dlogits = softmax_cross_entropy(logits, targets)
    assert abs(loss - ref.item()) < 1e-10
    np.testing.assert_allclose(dlogits, z.grad.numpy(), rtol=0, atol=1e-10)


def test_softmax_ce_bool_mask_equals_float_mask_and_ignores_padding():
    rng = np.random.default_rng(3)
    args = make_ce_args(rng, 3, 5, 4)
    mask = args["mask"] == 1
    loss, dlogits = softmax_cross_entropy(args["logits"], args["targets"], mask=mask)
    loss_f, dlogits_f = softmax_cross_entropy(**args)
    assert loss == loss_f
    np.testing.assert_array_equal(dlogits, dlogits_f)
    assert np.all(dlogits[~mask] == 0)
    # whatever sits at padded positions does not change the loss
    logits = args["logits"].copy()
    targets = args["targets"].copy()
    logits[~mask] = 100.0 * rng.standard_normal((np.sum(~mask), 4))
    targets[~mask] = 0
    loss_pad, _ = softmax_cross_entropy(logits, targets, mask=mask)
    assert loss_pad == loss
    # "mean" is the per-token average over the counted positions
    loss_sum, _ = softmax_cross_entropy(**args, reduction="sum")
    assert loss == pytest.approx(loss_sum / mask.sum(), rel=1e-15)


@pytest.mark.parametrize("K", [2, 5, 1000])
def test_softmax_ce_uniform_logits_give_log_k(K):
    loss, _ = softmax_cross_entropy(np.zeros((1, 1, K)), np.array([[K - 1]]))
    assert loss == np.log(K)  # one position: exactly -log_softmax
    loss, _ = softmax_cross_entropy(np.zeros((4, 9, K)), np.zeros((4, 9), dtype=np.int64))
    assert loss == pytest.approx(np.log(K), rel=4e-16, abs=0)  # a sum of 36: 1 ulp at most
    assert perplexity(loss) == pytest.approx(K, rel=1e-14)


def test_softmax_ce_perfect_prediction_gives_zero():
    rng = np.random.default_rng(4)
    targets = rng.integers(0, 6, size=(3, 4))
    logits = 1e4 * np.eye(6)[targets]  # the target's score is 1e4 above all others
    with no_warnings():
        loss, dlogits = softmax_cross_entropy(logits, targets)
    assert loss == 0.0
    assert np.all(dlogits == 0.0)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_softmax_ce_extreme_logits(reduction):
    rng = np.random.default_rng(5)
    logits = 1e4 * rng.choice([-1.0, 1.0], size=(3, 4, 5)) * rng.random((3, 4, 5))
    logits[0, 0] = [1e4, -1e4, 1e4, -1e4, 0.0]
    targets = rng.integers(0, 5, size=(3, 4))
    targets[0, 0] = 1  # lowest score: a loss of 2e4
    mask = np.ones((3, 4))
    mask[2, 3] = 0
    with no_warnings():
        loss, dlogits = softmax_cross_entropy(logits, targets, mask, reduction=reduction)
    assert np.isfinite(loss) and np.all(np.isfinite(dlogits))
    ref_loss, ref_grad = torch_masked_ce(logits, targets, mask, reduction)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(dlogits, ref_grad, rtol=0, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_ce_keeps_dtype_and_inputs(dtype):
    rng = np.random.default_rng(6)
    args = make_ce_args(rng, 2, 3, 4, dtype=dtype)
    copies = {k: v.copy() for k, v in args.items()}
    loss, dlogits = softmax_cross_entropy(**args)
    assert loss.dtype == dtype and dlogits.dtype == dtype
    ref, ref_grad = softmax_cross_entropy(
        args["logits"].astype(np.float64), args["targets"], args["mask"].astype(np.float64)
    )
    assert loss == pytest.approx(ref, rel=1e-6 if dtype == np.float32 else 1e-15)
    np.testing.assert_allclose(dlogits, ref_grad, atol=1e-6 if dtype == np.float32 else 1e-15)
    for k in args:
        np.testing.assert_array_equal(args[k], copies[k])


def test_softmax_ce_rejects_bad_input():
    rng = np.random.default_rng(7)
    args = make_ce_args(rng, 2, 3, 4)
    logits, targets, mask = args["logits"], args["targets"], args["mask"]
    with pytest.raises(ValueError, match=r"mask counts no position \(all zeros\)"):
        softmax_cross_entropy(logits, targets, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"mask counts no position"):
        softmax_cross_entropy(logits, targets, np.zeros((2, 3), dtype=bool), reduction="sum")
    with pytest.raises(ValueError, match=r"mask must hold only 0 \(padding\) and 1"):
        softmax_cross_entropy(logits, targets, 0.5 * mask)
    with pytest.raises(TypeError, match="mask must have dtype bool, float32 or float64, got int64"):
        softmax_cross_entropy(logits, targets, mask.astype(np.int64))
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\), got \(3, 2\)"):
        softmax_cross_entropy(logits, targets, mask.T)
    with pytest.raises(ValueError, match=r"targets must have shape \(2, 3\), got \(2,\)"):
        softmax_cross_entropy(logits, targets[:, 0])
    with pytest.raises(ValueError, match=r"targets must hold indices in \[0, 4\), got values"):
        softmax_cross_entropy(logits, np.full((2, 3), 4))
    with pytest.raises(TypeError, match="targets must have an integer dtype, got float64"):
        softmax_cross_entropy(logits, targets.astype(np.float64))
    with pytest.raises(
        ValueError, match=r"logits must be \(N, K\) or \(N, T, K\), got shape \(4,\)"
    ):
        softmax_cross_entropy(logits[0, 0], targets)
    with pytest.raises(ValueError, match="logits contains NaN"):
        softmax_cross_entropy(np.full((2, 3, 4), np.inf), targets)
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum', got 'none'"):
        softmax_cross_entropy(logits, targets, reduction="none")


# --------------------------------------------------------------------------- binary cross-entropy


def make_bce_args(rng, N, dtype=np.float64):
    targets = (rng.random(N) < 0.5).astype(dtype)
    targets[-1] = 0.3  # soft targets are allowed too
    return dict(logits=randn(rng, N, scale=2.0, dtype=dtype), targets=targets)


@pytest.mark.parametrize("N", [1, 2, 7])
def test_bce_gradients(N):
    rng = np.random.default_rng(8)
    args = make_bce_args(rng, N)
    _, dlogits = binary_cross_entropy_with_logits(**args)
    check_gradients(
        lambda **a: (binary_cross_entropy_with_logits(**a)[0],),
        args,
        dict(logits=dlogits),
        [np.ones(1)],
    )


@pytest.mark.parametrize("scale", [2.0, 1e4])
def test_bce_matches_torch(scale):
    rng = np.random.default_rng(9)
    args = make_bce_args(rng, 9)
    args["logits"] = scale * args["logits"]
    z = torch.from_numpy(args["logits"]).requires_grad_()
    ref = F.binary_cross_entropy_with_logits(z, torch.from_numpy(args["targets"]))
    ref.backward()
    with no_warnings():
        loss, dlogits = binary_cross_entropy_with_logits(**args)
    assert np.isfinite(loss) and np.all(np.isfinite(dlogits))
    assert loss == pytest.approx(ref.item(), rel=1e-12, abs=1e-10)
    np.testing.assert_allclose(dlogits, z.grad.numpy(), rtol=0, atol=1e-10)


def test_bce_values():
    # z = 0 is a coin flip: log 2 whatever the target
    loss, dlogits = binary_cross_entropy_with_logits(np.zeros(4), np.array([0.0, 1.0, 1.0, 0.5]))
    assert loss == pytest.approx(np.log(2), rel=1e-15)
    np.testing.assert_allclose(dlogits, [0.125, -0.125, -0.125, 0.0], rtol=0, atol=1e-16)
    # confident and right: loss ~ e^{-1e4} = 0; confident and wrong: loss = |z|
    with no_warnings():
        loss, _ = binary_cross_entropy_with_logits(np.array([1e4, -1e4]), np.array([1.0, 0.0]))
        assert loss == 0.0
        loss, dlogits = binary_cross_entropy_with_logits(np.array([1e4]), np.array([0.0]))
    assert loss == 1e4
    np.testing.assert_array_equal(dlogits, [1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_keeps_dtype_and_inputs(dtype):
    rng = np.random.default_rng(10)
    args = make_bce_args(rng, 5, dtype=dtype)
    copies = {k: v.copy() for k, v in args.items()}
    loss, dlogits = binary_cross_entropy_with_logits(**args)
    assert loss.dtype == dtype and dlogits.dtype == dtype
    ref, _ = binary_cross_entropy_with_logits(**{k: v.astype(np.float64) for k, v in args.items()})
    assert loss == pytest.approx(ref, rel=1e-6 if dtype == np.float32 else 1e-15)
    for k in args:
        np.testing.assert_array_equal(args[k], copies[k])


def test_bce_rejects_bad_input():
    z = np.zeros(3)
    with pytest.raises(
        ValueError, match=r"targets must lie in \[0, 1\], got values in \[0.0, 2.0\]"
    ):
        binary_cross_entropy_with_logits(z, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"targets must have shape \(3,\), got \(2,\)"):
        binary_cross_entropy_with_logits(z, np.zeros(2))
    with pytest.raises(ValueError, match=r"logits must be 1-dimensional, got shape \(3, 1\)"):
        binary_cross_entropy_with_logits(z[:, None], np.zeros(3))
    with pytest.raises(TypeError, match="targets must have dtype float32 or float64, got int64"):
        binary_cross_entropy_with_logits(z, np.zeros(3, dtype=np.int64))
    with pytest.raises(TypeError, match="share one float dtype"):
        binary_cross_entropy_with_logits(z, np.zeros(3, dtype=np.float32))
    with pytest.raises(ValueError, match="logits must hold at least one example"):
        binary_cross_entropy_with_logits(np.zeros(0), np.zeros(0))
    with pytest.raises(ValueError, match="targets contains NaN"):
        binary_cross_entropy_with_logits(z, np.full(3, np.nan))


# --------------------------------------------------------------------------- mean squared error


@pytest.mark.parametrize("shape", [(2, 3, 4), (1, 1, 1), (5, 2), (3,)])
def test_mse_gradients(shape):
    rng = np.random.default_rng(11)
    args = dict(pred=randn(rng, *shape), target=randn(rng, *shape))
    _, dpred = mean_squared_error(**args)
    check_gradients(lambda **a: (mean_squared_error(**a)[0],), args, dict(pred=dpred), [np.ones(1)])


@pytest.mark.parametrize("shape", [(3, 5, 2), (1, 1, 1)])
def test_mse_matches_torch(shape):
    rng = np.random.default_rng(12)
    pred, target = randn(rng, *shape), randn(rng, *shape)
    p = torch.from_numpy(pred).requires_grad_()
    ref = F.mse_loss(p, torch.from_numpy(target))
    ref.backward()
    loss, dpred = mean_squared_error(pred, target)
    assert abs(loss - ref.item()) < 1e-10
    np.testing.assert_allclose(dpred, p.grad.numpy(), rtol=0, atol=1e-10)


def test_mse_value_and_dtype():
    loss, dpred = mean_squared_error(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    assert loss == 2.0  # (0 + 4) / 2
    np.testing.assert_array_equal(dpred, [0.0, 2.0])
    pred = np.array([[1.0, 3.0]], dtype=np.float32)
    target = np.zeros((1, 2), dtype=np.float32)
    pred_copy = pred.copy()
    loss, dpred = mean_squared_error(pred, target)
    assert loss.dtype == np.float32 and dpred.dtype == np.float32
    assert loss == 5.0
    np.testing.assert_array_equal(pred, pred_copy)


def test_mse_rejects_bad_input():
    with pytest.raises(ValueError, match=r"target must have shape \(2, 3\), got \(3, 2\)"):
        mean_squared_error(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(TypeError, match="share one float dtype"):
        mean_squared_error(np.zeros(2), np.zeros(2, dtype=np.float32))
    with pytest.raises(ValueError, match=r"pred must hold at least one entry, got shape \(0,\)"):
        mean_squared_error(np.zeros(0), np.zeros(0))
    with pytest.raises(ValueError, match="pred contains NaN"):
        mean_squared_error(np.array([np.nan]), np.zeros(1))


# --------------------------------------------------------------------------- perplexity


def test_perplexity_values():
    assert perplexity(0.0) == 1.0
    assert perplexity(np.log(7.0)) == pytest.approx(7.0, rel=1e-15)
    assert perplexity(np.float32(np.log(3.0))) == pytest.approx(3.0, rel=1e-7)
    assert perplexity(np.array(1.0)) == math.e
    assert perplexity(1000.0) == math.inf
    assert isinstance(perplexity(1), float)


def test_perplexity_rejects_bad_input():
    with pytest.raises(ValueError, match=r"mean_loss must be a finite number >= 0, got -0.5"):
        perplexity(-0.5)
    with pytest.raises(ValueError, match="mean_loss must be a finite number >= 0, got nan"):
        perplexity(float("nan"))
    with pytest.raises(TypeError, match="mean_loss must be a real number, got ndarray"):
        perplexity(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="mean_loss must be a real number, got bool"):
        perplexity(True)
