import math

import numpy as np
import pytest
import torch

from course_pkg.optim import (
    SGD,
    Adagrad,
    Adam,
    Momentum,
    clip_grad_norm,
    clip_grad_value,
    global_norm,
)

from gradutil import randn

SHAPES = {"W": (3, 4), "b": (4,), "E": (2, 1, 3)}
STEPS = 5


def make_params(rng, dtype=np.float64):
    return {k: randn(rng, *s, dtype=dtype) for k, s in SHAPES.items()}


def make_grad_sequence(rng, dtype=np.float64):
    # changing scales and signs, so the moment estimates actually matter
    return [
        {k: randn(rng, *s, scale=10.0 ** (i % 3 - 1), dtype=dtype) for k, s in SHAPES.items()}
        for i in range(STEPS)
    ]


def run_ours(opt, params, grad_seq):
    params = {k: v.copy() for k, v in params.items()}
    for grads in grad_seq:
        opt.step(params, grads)
    return params


def run_torch(make_opt, params, grad_seq):
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    opt = make_opt(list(tensors.values()))
    for grads in grad_seq:
        for k, t in tensors.items():
            t.grad = torch.from_numpy(grads[k].copy())
        opt.step()
    return {k: t.detach().numpy() for k, t in tensors.items()}


CASES = {
    "SGD": (lambda: SGD(lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "Momentum": (
        lambda: Momentum(lr=0.05, beta=0.9),
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0),
    ),
    "Adagrad": (
        lambda: Adagrad(lr=0.2, eps=1e-3),  # a large eps, so its placement shows up
        lambda ps: torch.optim.Adagrad(ps, lr=0.2, eps=1e-3, initial_accumulator_value=0),
    ),
    "Adam": (
        lambda: Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-3),
        lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-3),
    ),
    "Adam-defaults": (lambda: Adam(), lambda ps: torch.optim.Adam(ps)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_optimizer_matches_torch(name):
    rng = np.random.default_rng(0)
    params, grad_seq = make_params(rng), make_grad_sequence(rng)
    make_ours, make_theirs = CASES[name]
    ours = run_ours(make_ours(), params, grad_seq)
    theirs = run_torch(make_theirs, params, grad_seq)
    for k in params:
        assert not np.allclose(ours[k], params[k])  # the parameters did move
        np.testing.assert_allclose(ours[k], theirs[k], rtol=0, atol=1e-10)


def test_optimizers_match_hand_formulas():
    rng = np.random.default_rng(1)
    p0 = randn(rng, 4)
    gs = [randn(rng, 4) for _ in range(3)]
    lr, beta, eps, b1, b2 = 0.1, 0.7, 1e-2, 0.9, 0.999

    sgd, mom, ada, adam = ({"p": p0.copy()} for _ in range(4))
    opts = [SGD(lr), Momentum(lr, beta), Adagrad(lr, eps), Adam(lr, b1, b2, eps)]
    for g in gs:
        for opt, params in zip(opts, [sgd, mom, ada, adam], strict=True):
            opt.step(params, {"p": g})

    g1, g2, g3 = gs
    np.testing.assert_allclose(sgd["p"], p0 - lr * (g1 + g2 + g3), rtol=0, atol=1e-15)
    # heavy ball: v1 = g1, v2 = beta g1 + g2, v3 = beta^2 g1 + beta g2 + g3
    v_sum = g1 + (beta * g1 + g2) + (beta**2 * g1 + beta * g2 + g3)
    np.testing.assert_allclose(mom["p"], p0 - lr * v_sum, rtol=0, atol=1e-15)
    G1, G2, G3 = g1**2, g1**2 + g2**2, g1**2 + g2**2 + g3**2
    expected = p0 - lr * sum(g / (np.sqrt(G) + eps) for g, G in zip(gs, (G1, G2, G3), strict=True))
    np.testing.assert_allclose(ada["p"], expected, rtol=0, atol=1e-15)
    p, m, v = p0.copy(), 0.0, 0.0
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    np.testing.assert_allclose(adam["p"], p, rtol=0, atol=1e-15)
    assert opts[3].step_count == 3


def test_adam_first_step_moves_every_coordinate_by_about_lr():
    g = np.array([1e-6, -3.0, 1e4])
    params = {"p": np.zeros(3)}
    Adam(lr=0.01).step(params, {"p": g})
    np.testing.assert_allclose(params["p"], -0.01 * np.sign(g), rtol=1e-2)


@pytest.mark.parametrize("name", list(CASES))
def test_step_updates_in_place_and_leaves_grads_alone(name):
    rng = np.random.default_rng(2)
    params, grad_seq = make_params(rng), make_grad_sequence(rng)
    arrays = dict(params)  # the same array objects
    before = {k: v.copy() for k, v in params.items()}
    grad_copies = [{k: g.copy() for k, g in gs.items()} for gs in grad_seq]
    opt = CASES[name][0]()
    for grads in grad_seq:
        opt.step(params, grads)
    for k in params:
        assert params[k] is arrays[k]
        assert not np.array_equal(params[k], before[k])
    for grads, copies in zip(grad_seq, grad_copies, strict=True):
        for k in grads:
            np.testing.assert_array_equal(grads[k], copies[k])


@pytest.mark.parametrize("name", list(CASES))
def test_step_keeps_float32(name):
    rng = np.random.default_rng(3)
    params = make_params(rng, dtype=np.float32)
    grad_seq = make_grad_sequence(rng, dtype=np.float32)
    ours = run_ours(CASES[name][0](), params, grad_seq)
    ref = run_ours(
        CASES[name][0](),
        {k: v.astype(np.float64) for k, v in params.items()},
        [{k: g.astype(np.float64) for k, g in gs.items()} for gs in grad_seq],
    )
    for k in params:
        assert ours[k].dtype == np.float32
        np.testing.assert_allclose(ours[k], ref[k], rtol=0, atol=1e-5)


def test_state_is_created_lazily_per_name():
    rng = np.random.default_rng(4)
    params, grads = make_params(rng), make_grad_sequence(rng)[0]
    mom, ada, adam = Momentum(0.1), Adagrad(0.1), Adam()
    assert mom.velocity == {} and ada.sum_squares == {} and adam.m == {} and adam.v == {}
    assert adam.step_count == 0
    for opt in (mom, ada, adam):
        opt.step(params, grads)
    np.testing.assert_array_equal(mom.velocity["W"], grads["W"])
    np.testing.assert_array_equal(ada.sum_squares["b"], grads["b"] ** 2)
    assert set(adam.m) == set(adam.v) == set(SHAPES)
    assert adam.step_count == 1


def test_step_rejects_bad_input():
    rng = np.random.default_rng(5)
    params, grads = make_params(rng), make_grad_sequence(rng)[0]
    opt = Adam()
    with pytest.raises(
        ValueError,
        match=r"grads must have the same keys as params; "
        r"missing from grads: \['W', 'b'\], not in params: \['U'\]",
    ):
        opt.step(params, {"E": grads["E"], "U": grads["W"]})
    with pytest.raises(ValueError, match=r"grads\['W'\] must have shape \(3, 4\), got \(4, 3\)"):
        opt.step(params, {**grads, "W": grads["W"].T})
    with pytest.raises(TypeError, match=r"grads\['b'\] must have the dtype of params\['b'\]"):
        opt.step(params, {**grads, "b": grads["b"].astype(np.float32)})
    with pytest.raises(ValueError, match=r"grads\['E'\] contains NaN or infinite values"):
        opt.step(params, {**grads, "E": np.full((2, 1, 3), np.inf)})
    with pytest.raises(TypeError, match=r"params\['b'\] must be a numpy array \(it is updated"):
        opt.step({**params, "b": [0.0] * 4}, grads)
    with pytest.raises(TypeError, match=r"grads\['b'\] must have dtype float32 or float64"):
        opt.step(params, {**grads, "b": np.zeros(4, dtype=np.int64)})
    with pytest.raises(ValueError, match="params must hold at least one array, got an empty dict"):
        opt.step({}, {})
    with pytest.raises(TypeError, match="grads must be a dict of arrays, got list"):
        opt.step(params, list(grads.values()))
    frozen = params["b"].copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match=r"params\['b'\] is read-only"):
        opt.step({**params, "b": frozen}, grads)
    assert opt.step_count == 0 and opt.m == {}  # no failed call changed anything


def test_failed_step_changes_nothing():
    rng = np.random.default_rng(6)
    params, grads = make_params(rng), make_grad_sequence(rng)[0]
    before = {k: v.copy() for k, v in params.items()}
    opt = Momentum(0.1)
    bad = {**grads, "E": np.full((2, 1, 3), np.nan)}  # checked after W and b
    with pytest.raises(ValueError, match="contains NaN"):
        opt.step(params, bad)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
    assert opt.velocity == {}


def test_optimizer_is_tied_to_its_first_parameters():
    rng = np.random.default_rng(7)
    params, grads = make_params(rng), make_grad_sequence(rng)[0]
    opt = Adagrad(0.1)
    opt.step(params, grads)
    with pytest.raises(
        ValueError,
        match=r"params differ from this optimizer's first step "
        r"\(missing keys \['E'\]\)",
    ):
        opt.step({"W": params["W"], "b": params["b"]}, {"W": grads["W"], "b": grads["b"]})
    with pytest.raises(ValueError, match=r"'b' was \(4,\) float64, now \(5,\) float64"):
        opt.step({**params, "b": np.zeros(5)}, {**grads, "b": np.zeros(5)})


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: SGD(0.0), ValueError, r"lr must be a finite number > 0, got 0.0"),
        (lambda: SGD(-1), ValueError, r"lr must be a finite number > 0, got -1.0"),
        (lambda: SGD(float("nan")), ValueError, r"lr must be a finite number > 0, got nan"),
        (lambda: SGD("0.1"), TypeError, "lr must be a real number, got str"),
        (
            lambda: Momentum(0.1, beta=1.0),
            ValueError,
            r"beta must be a finite number in \[0, 1\), got 1.0",
        ),
        (lambda: Adagrad(0.1, eps=0), ValueError, r"eps must be a finite number > 0, got 0.0"),
        (
            lambda: Adam(beta1=-0.1),
            ValueError,
            r"beta1 must be a finite number in \[0, 1\), got -0.1",
        ),
        (lambda: Adam(beta2=1), ValueError, r"beta2 must be a finite number in \[0, 1\), got 1.0"),
        (lambda: Adam(lr=True), TypeError, "lr must be a real number, got bool"),
    ],
)
def test_hyperparameters_are_validated(make, error, message):
    with pytest.raises(error, match=message):
        make()


# --------------------------------------------------------------------------- clipping


def torch_params_with_grads(grads):
    """torch's clipping functions act on the .grad of parameters."""
    tensors = []
    for g in grads.values():
        t = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        t.grad = torch.from_numpy(g.copy())
        tensors.append(t)
    return tensors


def test_global_norm():
    rng = np.random.default_rng(8)
    grads = make_grad_sequence(rng)[1]
    flat = np.concatenate([g.ravel() for g in grads.values()])
    assert global_norm(grads) == pytest.approx(np.linalg.norm(flat), rel=1e-15)
    assert global_norm({"a": np.array([3.0]), "b": np.array([[4.0]])}) == 5.0
    assert global_norm({"a": np.zeros(3)}) == 0.0
    # no overflow: the squares would be 1e400
    assert global_norm({"a": np.array([3e200]), "b": np.array([4e200])}) == pytest.approx(5e200)
    assert global_norm({"a": np.array([1.0, np.inf])}) == math.inf
    assert math.isnan(global_norm({"a": np.array([np.inf]), "b": np.array([np.nan])}))


@pytest.mark.parametrize("max_norm", [0.5, 3.0])
def test_clip_grad_norm_matches_torch(max_norm):
    rng = np.random.default_rng(9)
    grads = {k: randn(rng, *s) for k, s in SHAPES.items()}
    tensors = torch_params_with_grads(grads)
    ref_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    clipped, norm = clip_grad_norm(grads, max_norm)
    assert norm > max_norm  # the case where clipping happens
    assert norm == pytest.approx(ref_norm.item(), rel=1e-15)
    for ours, theirs in zip(clipped.values(), tensors, strict=True):
        # torch divides by (norm + 1e-6) instead of norm: a relative difference of 1e-6 / norm
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1.01e-6 / norm, atol=0)
    # exactly the hand formula
    for k, g in grads.items():
        np.testing.assert_array_equal(clipped[k], g * (max_norm / norm))
    assert global_norm(clipped) == pytest.approx(max_norm, rel=1e-15)


def test_clip_grad_norm_below_threshold_copies():
    rng = np.random.default_rng(10)
    grads = {k: randn(rng, *s) for k, s in SHAPES.items()}
    copies = {k: g.copy() for k, g in grads.items()}
    norm = global_norm(grads)
    clipped, total = clip_grad_norm(grads, norm * 1.5)
    assert total == norm
    for k in grads:
        np.testing.assert_array_equal(clipped[k], grads[k])
        assert clipped[k] is not grads[k]
    clipped, _ = clip_grad_norm(grads, norm / 2)
    for k in grads:
        np.testing.assert_array_equal(grads[k], copies[k])


@pytest.mark.parametrize("bad, expected", [(np.nan, "nan"), (np.inf, "inf")])
def test_clip_grad_norm_non_finite_returns_unscaled(bad, expected):
    grads = {"a": np.array([1.0, bad]), "b": np.array([2.0])}
    clipped, norm = clip_grad_norm(grads, 1.0)
    assert str(norm) == expected
    assert not math.isfinite(norm)  # the caller's signal to skip the step
    np.testing.assert_array_equal(clipped["a"], grads["a"])
    np.testing.assert_array_equal(clipped["b"], grads["b"])


def test_clip_keeps_dtype():
    grads = {"a": np.array([30.0, 40.0], dtype=np.float32), "b": np.array([0.0], dtype=np.float64)}
    clipped, norm = clip_grad_norm(grads, 5.0)
    assert isinstance(norm, float) and norm == 50.0
    assert clipped["a"].dtype == np.float32 and clipped["b"].dtype == np.float64
    np.testing.assert_allclose(clipped["a"], [3.0, 4.0], rtol=1e-6)
    clipped = clip_grad_value(grads, 1.0)
    assert clipped["a"].dtype == np.float32 and clipped["b"].dtype == np.float64


def test_clip_grad_value_matches_torch():
    rng = np.random.default_rng(11)
    grads = {k: randn(rng, *s, scale=2.0) for k, s in SHAPES.items()}
    copies = {k: g.copy() for k, g in grads.items()}
    tensors = torch_params_with_grads(grads)
    torch.nn.utils.clip_grad_value_(tensors, 1.5)
    clipped = clip_grad_value(grads, 1.5)
    for k, theirs in zip(grads, tensors, strict=True):
        np.testing.assert_array_equal(clipped[k], theirs.grad.numpy())
        np.testing.assert_array_equal(grads[k], copies[k])
    assert any(np.any(np.abs(g) > 1.5) for g in grads.values())  # clipping happened
    clipped = clip_grad_value({"a": np.array([np.inf, -np.inf, np.nan, 0.2])}, 1.0)
    np.testing.assert_array_equal(clipped["a"], [1.0, -1.0, np.nan, 0.2])


def test_clipping_rejects_bad_input():
    grads = {"a": np.ones(3)}
    with pytest.raises(ValueError, match=r"max_norm must be a finite number > 0, got 0.0"):
        clip_grad_norm(grads, 0.0)
    with pytest.raises(ValueError, match=r"max_norm must be a finite number > 0, got inf"):
        clip_grad_norm(grads, math.inf)
    with pytest.raises(ValueError, match=r"clip_value must be a finite number > 0, got -1.0"):
        clip_grad_value(grads, -1.0)
    with pytest.raises(
        TypeError, match=r"grads\['a'\] must have dtype float32 or float64, got int64"
    ):
        clip_grad_norm({"a": np.ones(3, dtype=np.int64)}, 1.0)
    with pytest.raises(TypeError, match="grads must be a dict of arrays, got ndarray"):
        global_norm(np.ones(3))
    with pytest.raises(ValueError, match="grads must hold at least one array, got an empty dict"):
        clip_grad_value({}, 1.0)
