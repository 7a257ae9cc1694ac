"""Test data for the gradient tests. The check itself is course_pkg.gradcheck.check_gradients."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def randn(rng, *shape, scale=1.0, dtype=np.float64):
    return (scale * rng.standard_normal(shape)).astype(dtype)


# (N, T, D, H): general, N=1 and T=1, D != H in both directions
SHAPES = [(2, 3, 4, 5), (1, 1, 3, 3), (1, 4, 2, 6), (3, 1, 5, 2), (2, 5, 3, 3)]


def scaled(model, rng, scale: float = 0.5) -> None:
    """Replace the initial parameters by larger random ones so no gradient is tiny."""
    for k, v in model.params.items():
        model.params[k] = scale * rng.standard_normal(v.shape)


def sequence_functions(module, **roles) -> SimpleNamespace:
    """A module's functions under roles: ``forward="rnn_forward"`` gives ``.forward``.

    The tests of a cell run once on the readable module and once on its fused kernels
    (``course_pkg._fused``) through this one namespace.
    """
    return SimpleNamespace(**{role: getattr(module, name) for role, name in roles.items()})
