import numpy as np
import pytest

from course_pkg.datasets import toy_sentiment
from course_pkg.gradcheck import (
    check_gradients,
    check_model_gradients,
    numerical_gradient,
    rel_error,
)
from course_pkg.models import SequenceClassifier


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


# --------------------------------------------------------------------- check_gradients


def dense_tanh(x, W):
    return np.tanh(x @ W)


def dense_tanh_case(rng):
    """Arguments, upstream gradient and the right gradients of y = tanh(x W)."""
    args = dict(x=rng.standard_normal((2, 3)), W=rng.standard_normal((3, 4)))
    dy = rng.standard_normal((2, 4))
    da = dy * (1 - dense_tanh(**args) ** 2)
    return args, dy, dict(x=da @ args["W"].T, W=args["x"].T @ da)


def test_check_gradients_returns_the_error_of_each_gradient():
    args, dy, grads = dense_tanh_case(np.random.default_rng(0))
    saved = {k: v.copy() for k, v in args.items()}
    errors = check_gradients(dense_tanh, args, grads, dy)
    assert list(errors) == ["x", "W"] and max(errors.values()) < 1e-9
    for k, v in args.items():
        np.testing.assert_array_equal(v, saved[k])
    # the same errors from one gradient per argument, in order (what a backward returns)
    assert check_gradients(dense_tanh, args, (grads["x"], grads["W"]), dy) == errors
    # a subset of the arguments
    assert list(check_gradients(dense_tanh, args, dict(W=grads["W"]), dy)) == ["W"]


def test_check_gradients_names_every_wrong_gradient_and_its_hint():
    args, dy, grads = dense_tanh_case(np.random.default_rng(1))
    wrong = dict(x=dy @ args["W"].T, W=args["x"].T @ dy)  # tanh' forgotten in both
    errors = check_gradients(dense_tanh, args, wrong, dy, tol=None)
    assert min(errors.values()) > 1e-2
    hints = {"W": "dW = x.T @ da"}
    message = r"dense_tanh: 2 of 2 gradients fail the check \(relative error above 1e-07\):"
    with pytest.raises(AssertionError, match=message) as failure:
        check_gradients(dense_tanh, args, wrong, dy, label="dense_tanh", hints=hints)
    lines = str(failure.value).splitlines()[1:]
    assert lines == [
        f"  x: relative error {errors['x']:.1e}",
        f"  W: relative error {errors['W']:.1e} (dW = x.T @ da)",
    ]
    bad = dict(grads, x=np.full_like(grads["x"], np.nan))
    with pytest.raises(AssertionError, match="x: contains NaN or inf"):
        check_gradients(dense_tanh, args, bad, dy)
    assert check_gradients(dense_tanh, args, bad, dy, tol=None)["x"] == np.inf


def test_check_gradients_with_several_outputs_dict_arguments_and_a_scalar_loss():
    rng = np.random.default_rng(2)
    x, p = rng.standard_normal(3), dict(a=rng.standard_normal(3), b=rng.standard_normal(3))
    du, dv = rng.standard_normal(3), rng.standard_normal(3)

    def f(x, params):
        return x * params["a"], np.sin(x) + params["b"]

    grads = (du * p["a"] + dv * np.cos(x), dict(a=du * x, b=dv))
    errors = check_gradients(f, dict(x=x, params=p), grads, (du, dv))
    assert list(errors) == ["x", "params['a']", "params['b']"]
    assert max(errors.values()) < 1e-9
    loss = check_gradients(lambda x: float(np.sum(x**3)), dict(x=x), dict(x=3 * x**2))
    assert loss["x"] < 1e-9


def test_check_gradients_atol_accepts_a_vanished_gradient():
    # dw = 1e-9: a backward that returns 0 is off by all of it, relatively, and by 1e-9 only
    args, dy = dict(x=np.array([1.0, 2.0]), w=np.array([0.5])), (np.ones(2), np.ones(1))
    grads = dict(x=np.ones(2), w=np.zeros(1))
    with pytest.raises(AssertionError, match="w: relative error 1.0e"):
        check_gradients(lambda x, w: (x, 1e-9 * w), args, grads, dy)
    errors = check_gradients(lambda x, w: (x, 1e-9 * w), args, grads, dy, atol=1e-8)
    assert errors["w"] == pytest.approx(1.0)  # reported, though accepted
    with pytest.raises(AssertionError, match="w: relative error"):  # a real error is not hidden
        check_gradients(lambda x, w: (x, 1e-6 * w), args, grads, dy, atol=1e-8)


def test_check_gradients_refuses_a_vacuous_check():
    args = dict(x=np.array([1.0, 2.0]))
    with pytest.raises(AssertionError, match="every numerical gradient is zero"):
        check_gradients(lambda x: 0 * x, args, dict(x=np.zeros(2)), np.ones(2))
    assert check_gradients(lambda x: 0 * x, args, dict(x=np.zeros(2)), np.ones(2), tol=None) == {
        "x": 0.0
    }


def test_check_gradients_rejects_bad_input():
    args, dy, grads = dense_tanh_case(np.random.default_rng(3))
    with pytest.raises(TypeError, match="f must be callable, got int"):
        check_gradients(3, args, grads, dy)
    with pytest.raises(TypeError, match="args must be a dict of f's keyword arguments, got list"):
        check_gradients(dense_tanh, list(args.values()), grads, dy)
    with pytest.raises(ValueError, match=r"gradients of \['V'\], which are not in args"):
        check_gradients(dense_tanh, args, dict(V=grads["W"]), dy)
    with pytest.raises(ValueError, match=r"f: got 1 gradients for the 2 arguments \(x, W\)"):
        check_gradients(dense_tanh, args, (grads["x"],), dy)
    with pytest.raises(
        TypeError, match="grads must be a dict or a tuple of gradients, got ndarray"
    ):
        check_gradients(dense_tanh, args, grads["x"], dy)
    with pytest.raises(ValueError, match=r"gradient of W has shape \(4, 3\), expected \(3, 4\)"):
        check_gradients(dense_tanh, args, dict(W=grads["W"].T), dy)
    with pytest.raises(TypeError, match="the gradient of W must be a numpy array, got NoneType"):
        check_gradients(dense_tanh, args, dict(W=None), dy)
    with pytest.raises(
        TypeError, match="W must be a float64 array for a gradient check, got float32"
    ):
        check_gradients(dense_tanh, dict(args, W=args["W"].astype(np.float32)), grads, dy)
    with pytest.raises(ValueError, match=r"upstream\[0\] has shape \(4, 2\), expected \(2, 4\)"):
        check_gradients(dense_tanh, args, grads, dy.T)
    with pytest.raises(ValueError, match="upstream holds 2 gradients, but f returns 1 outputs"):
        check_gradients(dense_tanh, args, grads, (dy, dy))
    with pytest.raises(ValueError, match=r"f returns shapes \[\(2, 4\)\], not a scalar"):
        check_gradients(dense_tanh, args, grads)
    with pytest.raises(ValueError, match=r"the gradients of p must be a dict with keys \['a'\]"):
        check_gradients(
            lambda p: p["a"], dict(p=dict(a=np.ones(2))), dict(p=np.ones(2)), np.ones(2)
        )
    with pytest.raises(ValueError, match="tol must be >= 0 or None, got -1"):
        check_gradients(dense_tanh, args, grads, dy, tol=-1)
    with pytest.raises(ValueError, match="atol must be >= 0, got -1"):
        check_gradients(dense_tanh, args, grads, dy, atol=-1)


# --------------------------------------------------------------- check_model_gradients


def small_classifier():
    data = toy_sentiment(6, np.random.default_rng(0), max_len=5)
    model = SequenceClassifier(
        3, rng=np.random.default_rng(1), vocab_size=len(data.vocab), embed_dim=2
    )
    return model, (data.ids, data.labels, data.lengths)


def test_check_model_gradients_passes_and_restores_parameters():
    model, batch = small_classifier()
    before = {k: v for k, v in model.params.items()}
    saved = {k: v.copy() for k, v in model.params.items()}
    errors = check_model_gradients(model, *batch)
    assert list(errors) == list(model.params)
    assert max(errors.values()) < 1e-7
    for k, v in model.params.items():
        assert v is before[k]  # the model's own arrays, restored exactly
        np.testing.assert_array_equal(v, saved[k])
    assert list(check_model_gradients(model, *batch, names=["V"])) == ["V"]


def test_check_model_gradients_gives_every_evaluation_the_same_arguments():
    model, batch = small_classifier()
    model.dropout = 0.5
    rng = np.random.default_rng(5)
    errors = check_model_gradients(model, *batch, train=True, rng=rng)
    assert max(errors.values()) < 1e-7  # the same dropout masks at every evaluation
    # the check drew from copies: rng's first draw is still the seed's
    assert rng.random() == np.random.default_rng(5).random()


class WrongGradient:
    """loss = sum(w^3), with the derivative 3 w^2 mistaken for 2 w."""

    def __init__(self):
        self.params = {"w": np.array([0.5, -1.5, 2.0])}

    def loss_and_grads(self):
        w = self.params["w"]
        return float(np.sum(w**3)), {"w": 2 * w}


def test_check_model_gradients_finds_a_wrong_gradient():
    model = WrongGradient()
    assert check_model_gradients(model, tol=None)["w"] > 0.1
    message = r"WrongGradient.loss_and_grads: 1 of 1 gradients fail the check .*\n  w: relative"
    with pytest.raises(AssertionError, match=message):
        check_model_gradients(model)
    np.testing.assert_array_equal(model.params["w"], [0.5, -1.5, 2.0])


def test_check_model_gradients_rejects_bad_input():
    model, batch = small_classifier()
    with pytest.raises(ValueError, match=r"names \['Q'\] are not parameters of the model"):
        check_model_gradients(model, *batch, names=["Q"])
    with pytest.raises(TypeError, match="model must have params and loss_and_grads"):
        check_model_gradients(object())
    model.params["V"] = model.params["V"].astype(np.float32)
    with pytest.raises(TypeError, match="V must be a float64 array for a gradient check"):
        check_model_gradients(model, *batch, names=["V"])
