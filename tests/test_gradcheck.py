import numpy as np
import pytest

from course_pkg.gradcheck import numerical_gradient, rel_error


def test_numerical_gradient_of_known_functions():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(numerical_gradient(lambda v: (v**3).sum(), x), 3 * x**2, rtol=1e-8)
    df = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(numerical_gradient(np.sin, x, df), np.cos(x) * df, rtol=1e-8)


def test_numerical_gradient_leaves_input_untouched():
    x = np.array([1.0, 2.0])
    seen = []
    numerical_gradient(lambda v: seen.append(v.copy()) or v.sum(), x)
    np.testing.assert_array_equal(x, [1.0, 2.0])
    assert any(not np.array_equal(s, x) for s in seen)  # it did perturb a copy


def test_rel_error_values():
    a = np.array([3.0, 4.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(a, -a) == pytest.approx(1.0)
    assert rel_error(a, a * (1 + 1e-6)) == pytest.approx(0.5e-6, rel=1e-3)


def test_gradcheck_catches_a_wrong_gradient():
    x = np.array([0.3, -1.2, 2.0])
    num = numerical_gradient(lambda v: np.tanh(v).sum(), x)
    wrong = 1 - np.tanh(x)  # forgot the square
    assert rel_error(num, wrong) > 1e-2
    assert rel_error(num, 1 - np.tanh(x) ** 2) < 1e-9


def test_gradcheck_rejects_bad_input():
    with pytest.raises(TypeError, match="f must be callable, got int"):
        numerical_gradient(3, np.ones(2))
    with pytest.raises(ValueError, match=r"f returned shape \(2,\); pass df"):
        numerical_gradient(lambda v: v, np.ones(2))
    with pytest.raises(ValueError, match=r"b must have shape \(2,\), got \(3,\)"):
        rel_error(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="h must be a positive step size"):
        numerical_gradient(lambda v: v.sum(), np.ones(2), h=0.0)
