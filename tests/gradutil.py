"""Shared helpers for the gradient tests: one numerical check for any forward function."""

from __future__ import annotations

import numpy as np

from course_pkg.gradcheck import numerical_gradient, rel_error

TOL = 1e-7


def check_gradients(outputs, args: dict, analytic: dict, upstream, tol: float = TOL) -> None:
    """Assert each analytic gradient matches the numerical one.

    outputs(**args) returns a tuple of float64 arrays; ``upstream`` holds one
    upstream gradient per output; ``analytic`` maps an argument name to the
    gradient the backward function returned for it.
    """
    df = np.concatenate([np.ravel(u) for u in upstream])
    norms = []

    for name, grad in analytic.items():

        def f(value, name=name):
            kwargs = dict(args)
            kwargs[name] = value
            return np.concatenate([np.ravel(o) for o in outputs(**kwargs)])

        num = numerical_gradient(f, args[name], df)
        assert grad.shape == args[name].shape, f"d{name}: shape {grad.shape} != {args[name].shape}"
        err = rel_error(num, grad)
        assert err < tol, f"d{name}: relative error {err:.2e} >= {tol:.0e}"
        norms.append(np.linalg.norm(num))
    # a gradient may be zero by construction (dW when T=1 and h0=0); all of them may not
    assert max(norms) > 0, "every numerical gradient is zero: the check is vacuous"


def randn(rng, *shape, scale=1.0, dtype=np.float64):
    return (scale * rng.standard_normal(shape)).astype(dtype)


# (N, T, D, H): general, N=1 and T=1, D != H in both directions
SHAPES = [(2, 3, 4, 5), (1, 1, 3, 3), (1, 4, 2, 6), (3, 1, 5, 2), (2, 5, 3, 3)]


def check_model(model, loss_fn, grads, tol: float = TOL) -> None:
    """Numerically differentiate ``loss_fn()`` with respect to each model parameter."""
    assert set(grads) == set(model.params)
    for name, value in model.params.items():

        def f(v, name=name, original=value):
            model.params[name] = v
            try:
                return loss_fn()
            finally:
                model.params[name] = original

        num = numerical_gradient(f, value, h=1e-5)
        err = rel_error(num, grads[name])
        assert err < tol, f"{name}: relative error {err:.2e}"


def scaled(model, rng, scale: float = 0.5) -> None:
    """Replace the initial parameters by larger random ones so no gradient is tiny."""
    for k, v in model.params.items():
        model.params[k] = scale * rng.standard_normal(v.shape)
