import numpy as np
import pytest

import course_pkg.rnn
from course_pkg.checks import check_array, check_own_implementation, no_warnings
from course_pkg.rnn import rnn_step_forward


def own_step(x, h_prev, U, W, b):
    return np.tanh(x @ U + h_prev @ W + b), None


def sneaky_step(x, h_prev, U, W, b):
    return rnn_step_forward(x, h_prev, U, W, b)  # an alias of the package's function


def args():
    rng = np.random.default_rng(0)
    return (
        rng.standard_normal((2, 3)),
        np.zeros((2, 4)),
        rng.standard_normal((3, 4)),
        rng.standard_normal((4, 4)),
        np.zeros(4),
    )


def test_own_implementation_passes_and_returns_result():
    h, _ = check_own_implementation(own_step, "rnn_step_forward", course_pkg.rnn, *args())
    assert h.shape == (2, 4)


def test_package_function_or_call_into_it_is_caught():
    with pytest.raises(
        AssertionError, match="is the package's own course_pkg.rnn.rnn_step_forward"
    ):
        check_own_implementation(rnn_step_forward, "rnn_step_forward", course_pkg.rnn, *args())
    with pytest.raises(AssertionError, match="calls the package's course_pkg.rnn.rnn_step_forward"):
        check_own_implementation(sneaky_step, "rnn_step_forward", course_pkg.rnn, *args())
    wrapped = lambda *a: course_pkg.rnn.rnn_forward(a[0][:, None], *a[1:])  # noqa: E731
    with pytest.raises(AssertionError, match="calls the package's course_pkg.rnn"):
        check_own_implementation(wrapped, "rnn_step_forward", course_pkg.rnn, *args())


def test_check_array_messages_teach():
    with pytest.raises(AssertionError, match=r"h has shape \(2, 3\), expected \(2, 5\): is U"):
        check_array("h", np.zeros((2, 3)), np.zeros((2, 5)), hint="is U applied to x?")
    with pytest.raises(AssertionError, match="h should be a numpy array, got list"):
        check_array("h", [0.0], np.zeros(1))
    with pytest.raises(AssertionError, match=r"most at index \(1,\): got 3, expected 2"):
        check_array("h", np.array([1.0, 3.0]), np.array([1.0, 2.0]))
    check_array("h", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]))


def test_no_warnings_turns_overflow_into_error():
    with pytest.raises(FloatingPointError), no_warnings():
        np.exp(np.array([1e4]))
    with no_warnings():
        np.exp(np.array([-1e4]))  # underflow to 0 is fine
