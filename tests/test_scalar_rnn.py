import numpy as np
import pytest

from course_pkg.activations import sigmoid
from course_pkg.losses import binary_cross_entropy_with_logits
from course_pkg.rnn import rnn_forward, rnn_num_params
from course_pkg.scalar_rnn import log_loss, scalar_many_to_one


def test_scalar_example_by_hand():
    x = np.array([[1.0, -0.5, 2.0]])
    y_hat, o = scalar_many_to_one(x, w_i=0.5, w_h=-1.0, b=0.1, w_o=2.0)
    o1 = np.tanh(1.0 * 0.5 + 0.0 * -1.0 + 0.1)
    o2 = np.tanh(-0.5 * 0.5 + o1 * -1.0 + 0.1)
    o3 = np.tanh(2.0 * 0.5 + o2 * -1.0 + 0.1)
    np.testing.assert_allclose(o[0], [o1, o2, o3], rtol=0, atol=1e-15)
    assert y_hat[0] == pytest.approx(1 / (1 + np.exp(-2.0 * o3)), abs=1e-15)


def test_scalar_example_is_the_vanilla_rnn_with_one_unit():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6))
    y_hat, o = scalar_many_to_one(x, 0.7, 0.4, -0.2, 1.5)
    h, _ = rnn_forward(x[:, :, None], np.zeros((4, 1)), [[0.7]], [[0.4]], np.array([-0.2]))
    np.testing.assert_allclose(o, h[:, :, 0], atol=1e-15)
    np.testing.assert_allclose(y_hat, sigmoid(1.5 * h[:, -1, 0]), atol=1e-15)


def test_log_loss_matches_logit_form():
    z = np.array([-3.0, 0.2, 4.0])
    y = np.array([0.0, 1.0, 1.0])
    expected, _ = binary_cross_entropy_with_logits(z, y)
    assert log_loss(sigmoid(z), y) == pytest.approx(float(expected), rel=1e-12)
    assert log_loss(np.array([0.5]), np.array([1.0])) == pytest.approx(np.log(2))


def test_rnn_num_params():
    assert rnn_num_params(1, 1) == 3  # w_i, w_h, b
    assert rnn_num_params(10, 20, 5) == 10 * 20 + 20 * 20 + 20 + 20 * 5 + 5
    with pytest.raises(ValueError, match="H must be an integer >= 1, got 0"):
        rnn_num_params(3, 0)
    with pytest.raises(ValueError, match="K must be an integer >= 0, got 1.5"):
        rnn_num_params(3, 2, 1.5)


def test_scalar_rnn_rejects_bad_input():
    with pytest.raises(ValueError, match=r"x must be 2-dimensional, got shape \(3,\)"):
        scalar_many_to_one(np.ones(3), 1.0, 1.0, 0.0, 1.0)
    with pytest.raises(TypeError, match="w_h must be a real number, got str"):
        scalar_many_to_one(np.ones((1, 3)), 1.0, "1", 0.0, 1.0)
    with pytest.raises(ValueError, match="y_hat must hold probabilities strictly between 0 and 1"):
        log_loss(np.array([1.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="y must hold labels 0 or 1"):
        log_loss(np.array([0.5]), np.array([0.5]))
