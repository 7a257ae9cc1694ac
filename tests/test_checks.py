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


def test_no_warnings_turns_overflow_into_a_failure_with_its_hint():
    with pytest.raises(AssertionError, match=r"NumPy warned: overflow encountered in exp\. sub"):
        with no_warnings(hint="subtract the maximum first"):
            np.exp(np.array([1e4]))
    with pytest.raises(AssertionError, match=r"warned: divide by zero.*np.exp and np.log only"):
        with no_warnings():
            np.log(np.array([0.0]))
    with no_warnings():
        np.exp(np.array([-1e4]))  # underflow to 0 is fine


def test_errors_inside_the_students_function_name_it_and_hint():
    def time_major(x, h_prev, U, W, b):
        return np.tanh(x @ W + h_prev @ U + b), None  # U and W swapped

    with pytest.raises(
        AssertionError,
        match=r"rnn_step_forward raised ValueError: matmul.*Check the shapes: arrays are batch",
    ):
        check_own_implementation(time_major, "rnn_step_forward", course_pkg.rnn, *args())

    def naive_sigmoid(z):
        return 1 / (1 + np.exp(-z))

    hint = "rewrite sigmoid so that np.exp only sees values <= 0"
    with pytest.raises(AssertionError, match=r"warned: overflow encountered in exp\. rewrite sig"):
        with no_warnings(hint=hint):
            check_own_implementation(naive_sigmoid, "sigmoid", course_pkg.rnn, np.array([-1e4]))

    def unfinished(z):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError, match=r"^sigmoid is not written yet: fill in its"):
        check_own_implementation(unfinished, "sigmoid", course_pkg.rnn, np.array([0.0]))


def test_a_dtype_difference_says_to_keep_the_inputs_dtype():
    with pytest.raises(
        AssertionError, match=r"h has dtype float64, expected float32: keep the dtype"
    ):
        check_array("h", np.zeros(2), np.zeros(2, dtype=np.float32))


def test_running_out_of_memory_is_not_turned_into_a_failed_check():
    def hog(z):
        raise MemoryError("Unable to allocate 64.0 GiB")

    with pytest.raises(MemoryError):  # the grader reports it as "out of memory"
        check_own_implementation(hog, "rnn_num_params", course_pkg.rnn, 1)
