import warnings

import numpy as np
import pytest
import torch

from course_pkg.activations import (
    log_softmax,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    tanh,
    tanh_grad,
)
from course_pkg.gradcheck import numerical_gradient, rel_error

EXTREME = np.array([-1e4, -800.0, -50.0, -1.0, 0.0, 1.0, 50.0, 800.0, 1e4])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn", [sigmoid, sigmoid_grad, tanh, tanh_grad, relu, relu_grad])
def test_elementwise_extremes_are_finite_and_keep_dtype(fn, dtype):
    z = EXTREME.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = fn(z)
    assert out.dtype == dtype and out.shape == z.shape
    assert np.all(np.isfinite(out))


def test_sigmoid_values():
    np.testing.assert_array_equal(sigmoid(np.array([-1e4, 0.0, 1e4])), [0.0, 0.5, 1.0])
    z = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(sigmoid(z), torch.sigmoid(torch.from_numpy(z)).numpy(), atol=1e-15)
    np.testing.assert_allclose(sigmoid(-z), 1 - sigmoid(z), atol=1e-15)


def test_tanh_and_relu_values():
    z = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(tanh(z), np.tanh(z))
    np.testing.assert_array_equal(relu(z), [0.0, 0.0, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(relu_grad(z), [0.0, 0.0, 0.0, 1.0, 1.0])


@pytest.mark.parametrize("fn,grad", [(sigmoid, sigmoid_grad), (tanh, tanh_grad), (relu, relu_grad)])
def test_derivatives_match_numerical(fn, grad):
    z = np.array([-3.0, -0.7, 0.3, 1.1, 2.5])  # away from ReLU's kink at 0
    num = numerical_gradient(lambda v: fn(v), z, np.ones_like(z))
    assert rel_error(num, grad(z)) < 1e-8


def test_derivative_maxima():
    z = np.linspace(-10, 10, 2001)
    assert sigmoid_grad(z).max() == pytest.approx(0.25)
    assert tanh_grad(z).max() == pytest.approx(1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_extremes(dtype):
    z = np.array([[1e4, 0.0, -1e4], [0.0, 0.0, 0.0], [-1e4, -1e4, -1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = softmax(z)
        lp = log_softmax(z)
    assert p.dtype == dtype and lp.dtype == dtype
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(p[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(p[1], [1 / 3] * 3, rtol=1e-6)
    assert lp[0, 0] == 0.0 and lp[0, 2] == pytest.approx(-2e4, rel=1e-6)
    assert np.all(np.isfinite(lp))


def test_softmax_matches_torch_on_any_axis():
    rng = np.random.default_rng(0)
    z = 5 * rng.standard_normal((3, 4, 5))
    for axis in (0, 1, -1):
        ref = torch.softmax(torch.from_numpy(z), dim=axis).numpy()
        np.testing.assert_allclose(softmax(z, axis=axis), ref, atol=1e-15)
        ref = torch.log_softmax(torch.from_numpy(z), dim=axis).numpy()
        np.testing.assert_allclose(log_softmax(z, axis=axis), ref, atol=1e-13)


def test_activations_do_not_modify_input():
    z = np.array([-1.0, 0.0, 2.0])
    for fn in (sigmoid, tanh, relu, softmax, log_softmax, sigmoid_grad, tanh_grad, relu_grad):
        fn(z)
    np.testing.assert_array_equal(z, [-1.0, 0.0, 2.0])


def test_activations_reject_bad_input():
    with pytest.raises(TypeError, match="z must have dtype float32 or float64, got int64"):
        sigmoid(np.array([1, 2]))
    with pytest.raises(TypeError, match="z must be a numpy array, got str"):
        tanh("1.0")
    with pytest.raises(ValueError, match="at least one dimension"):
        softmax(np.float64(1.0) * np.ones(()))
    # plain Python numbers and lists are accepted as float64
    assert sigmoid(0.0) == 0.5
    np.testing.assert_array_equal(relu([-1.0, 3.0]), [0.0, 3.0])


def test_fast_sigmoid_for_cells():
    from course_pkg.activations import sigmoid_unchecked

    z = np.linspace(-40, 40, 2001)
    # float64: the exp form, as the public sigmoid (to rounding)
    np.testing.assert_allclose(sigmoid_unchecked(z), sigmoid(z), rtol=1e-15, atol=0)
    # float32: the tanh identity, within one ulp, no overflow at the extremes
    z32 = np.concatenate([z, [-1e4, 1e4]]).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fast = sigmoid_unchecked(z32)
    assert fast.dtype == np.float32
    np.testing.assert_allclose(fast, sigmoid(z32), rtol=0, atol=2e-7)
    assert fast[-2] == 0.0 and fast[-1] == 1.0
