r"""Gradient-based optimizers and gradient clipping.

Taught in "Training and losses" (``book/05_training``) and
"Vanishing and exploding gradients" (``book/07_gradient_problems``); assignment
``a2_bptt`` builds :class:`SGD`, ``a3_gradients`` the two clipping functions.

Parameters and gradients travel as dicts of arrays keyed by name, e.g.
``{"U": U, "W": W, "b": b}`` and ``{"U": dU, "W": dW, "b": db}``.

An optimizer's job is to change the parameters, so ``step(params, grads)``
updates every array of ``params`` **in place** (``p -= ...``): a model that
holds those same arrays sees the new values without any copying back. It
never modifies ``grads``. Each optimizer keeps its own state (velocity,
moment estimates) in dicts keyed by parameter name, created on the first
``step``; one optimizer serves one fixed set of parameters.

Clipping (:func:`clip_grad_norm`, :func:`clip_grad_value`) is a pure
function: it returns a new dict and leaves its input alone. Clipping the
global norm is the standard cure for exploding gradients in RNNs
(Pascanu, Mikolov and Bengio 2013).

Every update below is written for one parameter array :math:`\theta` with
gradient :math:`g` at step :math:`t`; all operations are element-wise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from ._validate import FRACTION, POSITIVE, check_array_dict, check_real, check_shape

# --------------------------------------------------------------------------- optimizers


class Optimizer:
    """Base class: the loop over parameters. Subclasses define ``_update`` and declare the
    allowed range of each hyperparameter in ``constraints``; the constructor checks them.

    Attributes
    ----------
    lr : float
        Learning rate.
    """

    constraints: ClassVar[dict] = {"lr": POSITIVE}

    def __init__(self, **hyperparameters):
        for name, value in hyperparameters.items():
            setattr(self, name, check_real(name, value, self.constraints[name]))
        self._layout: dict | None = None  # name -> (shape, dtype), fixed by the first step

    def step(self, params, grads) -> None:
        """Update every array of ``params`` in place from ``grads``.

        Parameters
        ----------
        params : dict of str -> ndarray
            The parameters, float32 or float64 arrays of any shape. Changed
            in place.
        grads : dict of str -> ndarray
            One gradient per parameter: the same keys, shapes and dtypes.
            Not modified.

        Raises
        ------
        TypeError
            Not dicts of float arrays; a parameter that is not an ndarray; a
            gradient whose dtype differs from its parameter's.
        ValueError
            Keys of ``grads`` and ``params`` differ (the message lists the
            missing and extra keys); shapes differ; NaN/inf anywhere (skip
            the step instead, see :func:`clip_grad_norm`); parameters that
            differ from the ones of the first step.

        Nothing is changed unless every check passes.
        """
        params, grads = _check_step(params, grads)
        layout = {k: (p.shape, p.dtype) for k, p in params.items()}
        if self._layout is None:
            self._layout = layout
        elif layout != self._layout:
            diff = _layout_diff(self._layout, layout)
            raise ValueError(
                f"params differ from this optimizer's first step ({diff}); "
                "its state belongs to those parameters, use a new optimizer for new ones"
            )
        self._begin_step()
        for name, p in params.items():
            self._update(name, p, grads[name])

    def _begin_step(self) -> None:
        """Hook run once per ``step`` before the per-parameter updates."""

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    r"""Plain stochastic gradient descent.

    Parameters
    ----------
    lr : float > 0
        Learning rate :math:`\eta`.

    Notes
    -----
    .. math:: \theta \leftarrow \theta - \eta\, g

    Examples
    --------
    >>> params, grads = {"w": np.array([1.0, 2.0])}, {"w": np.array([0.5, -1.0])}
    >>> SGD(lr=0.1).step(params, grads)
    >>> params["w"]
    array([0.95, 2.1 ])
    """

    def __init__(self, lr):
        super().__init__(lr=lr)

    def _update(self, name, p, g):
        p -= self.lr * g

    def __repr__(self):
        return f"SGD(lr={self.lr})"


class Momentum(Optimizer):
    r"""SGD with heavy-ball momentum.

    Parameters
    ----------
    lr : float > 0
        Learning rate :math:`\eta`.
    beta : float in [0, 1)
        Momentum coefficient :math:`\beta`; 0 gives plain SGD.

    Attributes
    ----------
    velocity : dict of str -> ndarray
        :math:`v` per parameter, zero before the first step.

    Notes
    -----
    This is the form PyTorch's ``SGD(momentum=beta, dampening=0)`` uses:

    .. math:: v \leftarrow \beta v + g, \qquad \theta \leftarrow \theta - \eta\, v

    The other common form, :math:`v \leftarrow \beta v + \eta g,\ \theta
    \leftarrow \theta - v`, gives the same iterates while :math:`\eta` is
    constant but differs once the learning rate changes during training.
    In steady state :math:`v \approx g / (1 - \beta)`, so momentum 0.9
    takes steps about ten times as long as SGD with the same :math:`\eta`.
    """

    constraints: ClassVar[dict] = {"lr": POSITIVE, "beta": FRACTION}

    def __init__(self, lr, beta=0.9):
        super().__init__(lr=lr, beta=beta)
        self.velocity: dict[str, np.ndarray] = {}

    def _update(self, name, p, g):
        v = self.velocity.setdefault(name, np.zeros_like(p))
        v *= self.beta
        v += g
        p -= self.lr * v

    def __repr__(self):
        return f"Momentum(lr={self.lr}, beta={self.beta})"


class Adagrad(Optimizer):
    r"""Adagrad: a per-coordinate learning rate that shrinks with the squared gradients seen.

    Parameters
    ----------
    lr : float > 0
        Learning rate :math:`\eta`.
    eps : float > 0
        Added to the denominator so it is never zero.

    Attributes
    ----------
    sum_squares : dict of str -> ndarray
        :math:`G` per parameter, the running sum of squared gradients.

    Notes
    -----
    .. math:: G \leftarrow G + g \odot g, \qquad
              \theta \leftarrow \theta - \eta\, \frac{g}{\sqrt{G} + \epsilon}

    :math:`\epsilon` is added outside the square root, as in PyTorch's
    ``Adagrad`` (with ``initial_accumulator_value=0``, ``lr_decay=0``).
    Because :math:`G` only grows, the effective step size only shrinks.
    """

    constraints: ClassVar[dict] = {"lr": POSITIVE, "eps": POSITIVE}

    def __init__(self, lr, eps=1e-8):
        super().__init__(lr=lr, eps=eps)
        self.sum_squares: dict[str, np.ndarray] = {}

    def _update(self, name, p, g):
        G = self.sum_squares.setdefault(name, np.zeros_like(p))
        G += g * g
        p -= self.lr * g / (np.sqrt(G) + self.eps)

    def __repr__(self):
        return f"Adagrad(lr={self.lr}, eps={self.eps})"


class Adam(Optimizer):
    r"""Adam: momentum on the gradient and on its square, with bias correction.

    Parameters
    ----------
    lr : float > 0
        Learning rate :math:`\eta`.
    beta1 : float in [0, 1)
        Decay of the first-moment (mean) estimate.
    beta2 : float in [0, 1)
        Decay of the second-moment (uncentred variance) estimate.
    eps : float > 0
        Added to the denominator so it is never zero.

    Attributes
    ----------
    m : dict of str -> ndarray
        First-moment estimate per parameter.
    v : dict of str -> ndarray
        Second-moment estimate per parameter.
    step_count : int
        Number of completed ``step`` calls, the :math:`t` of the bias
        correction. Used for nothing else.

    Notes
    -----
    Kingma and Ba (2015), Algorithm 1, as in PyTorch's ``Adam``:

    .. math::
        t &\leftarrow t + 1 \\
        m &\leftarrow \beta_1 m + (1 - \beta_1)\, g \\
        v &\leftarrow \beta_2 v + (1 - \beta_2)\, g \odot g \\
        \hat m &= m / (1 - \beta_1^t), \qquad \hat v = v / (1 - \beta_2^t) \\
        \theta &\leftarrow \theta - \eta\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}

    :math:`m` and :math:`v` start at zero, so early on they are biased
    towards zero; dividing by :math:`1 - \beta^t` removes that bias. At the
    first step :math:`\hat m / \sqrt{\hat v} = g / |g|`, so every
    coordinate moves by about :math:`\eta` whatever the gradient's scale.
    """

    constraints: ClassVar[dict] = {
        "lr": POSITIVE,
        "beta1": FRACTION,
        "beta2": FRACTION,
        "eps": POSITIVE,
    }

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps)
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self.step_count = 0

    def _begin_step(self):
        self.step_count += 1

    def _update(self, name, p, g):
        m = self.m.setdefault(name, np.zeros_like(p))
        v = self.v.setdefault(name, np.zeros_like(p))
        m *= self.beta1
        m += (1.0 - self.beta1) * g
        v *= self.beta2
        v += (1.0 - self.beta2) * (g * g)
        m_hat = m / (1.0 - self.beta1**self.step_count)
        v_hat = v / (1.0 - self.beta2**self.step_count)
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def __repr__(self):
        return f"Adam(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps})"


# --------------------------------------------------------------------------- clipping


def _norm(grads: dict) -> float:
    """Global L2 norm of already-validated arrays, without overflow; nan/inf propagate."""
    largest = [float(np.max(np.abs(g))) for g in grads.values() if g.size]
    if any(math.isnan(a) for a in largest):
        return math.nan
    scale = max(largest, default=0.0)
    if scale == 0.0 or math.isinf(scale):
        return scale
    total = sum(float(np.sum(np.square(g.astype(np.float64) / scale))) for g in grads.values())
    return scale * math.sqrt(total)


def global_norm(grads) -> float:
    r"""L2 norm of all gradient arrays together, as if concatenated into one vector.

    Parameters
    ----------
    grads : dict of str -> ndarray
        Float32 or float64 arrays of any shapes. NaN/inf are allowed.

    Returns
    -------
    float
        :math:`\sqrt{\sum_k \|g_k\|_2^2}`, computed in float64. ``nan`` if
        any entry is NaN, otherwise ``inf`` if any entry is infinite.

    Notes
    -----
    The squares are summed after dividing by the largest :math:`|g|`, and
    the root is multiplied back, so the norm of large gradients (1e200, say)
    does not overflow to ``inf`` when its true value is finite.
    """
    return _norm(check_array_dict("grads", grads, finite=False))


def clip_grad_norm(grads, max_norm):
    r"""Rescale all gradients together so their global L2 norm is at most ``max_norm``.

    Parameters
    ----------
    grads : dict of str -> ndarray
        Float32 or float64 arrays of any shapes. Not modified.
    max_norm : float > 0
        Largest allowed global norm.

    Returns
    -------
    clipped : dict of str -> ndarray
        New arrays, same keys, shapes and dtypes as ``grads``.
    total_norm : float
        The global norm *before* clipping (see :func:`global_norm`); log it
        to watch for exploding gradients.

    Raises
    ------
    TypeError, ValueError
        ``grads`` not a non-empty dict of float arrays; ``max_norm`` not a
        positive finite number.

    Notes
    -----
    .. math:: g_k \leftarrow g_k \cdot \frac{\tau}{\|g\|}
              \quad \text{if } \|g\| > \tau, \qquad
              \|g\| = \sqrt{\textstyle\sum_k \|g_k\|_2^2}

    All arrays share one factor, so the update keeps its direction and only
    its length shrinks. Below the threshold the arrays are copied unchanged.
    PyTorch's ``clip_grad_norm_`` instead always multiplies by
    :math:`\min(1, \tau / (\|g\| + 10^{-6}))`, which differs by about
    :math:`10^{-6} / \|g\|` relative.

    **Non-finite norm.** If some gradient holds NaN or inf, no factor can
    repair it: ``clipped`` is an unscaled copy and ``total_norm`` is
    ``nan``/``inf``. The caller should test ``math.isfinite(total_norm)``
    and skip the optimizer step (the optimizers reject non-finite
    gradients anyway).

    Examples
    --------
    >>> clipped, norm = clip_grad_norm({"a": np.array([3.0]), "b": np.array([4.0])}, 1.0)
    >>> norm, clipped["a"], clipped["b"]
    (5.0, array([0.6]), array([0.8]))
    """
    grads = check_array_dict("grads", grads, finite=False)
    max_norm = check_real("max_norm", max_norm, POSITIVE)
    total_norm = _norm(grads)
    if math.isfinite(total_norm) and total_norm > max_norm:
        factor = max_norm / total_norm
        return {k: g * g.dtype.type(factor) for k, g in grads.items()}, total_norm
    return {k: g.copy() for k, g in grads.items()}, total_norm


def clip_grad_value(grads, clip_value):
    r"""Clip every gradient entry to ``[-clip_value, clip_value]``.

    Parameters
    ----------
    grads : dict of str -> ndarray
        Float32 or float64 arrays of any shapes. Not modified.
    clip_value : float > 0

    Returns
    -------
    clipped : dict of str -> ndarray
        New arrays, same keys, shapes and dtypes. ``inf`` becomes
        ``±clip_value``; NaN stays NaN.

    Notes
    -----
    .. math:: g \leftarrow \min(\max(g, -c), c)

    Unlike :func:`clip_grad_norm` this changes the direction of the update
    whenever some but not all entries are clipped.
    """
    grads = check_array_dict("grads", grads, finite=False)
    clip_value = check_real("clip_value", clip_value, POSITIVE)
    return {
        k: np.clip(g, -clip_value, clip_value).astype(g.dtype, copy=False) for k, g in grads.items()
    }


# ------------------------------------------------- checks of step's arguments


def _key_list(keys) -> str:
    return "[" + ", ".join(sorted(repr(k) for k in keys)) + "]"


def _check_step(params, grads) -> tuple[dict, dict]:
    """Validate the arguments of ``step``: same keys, shapes and dtypes, all finite."""
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
    for k, p in params.items():
        # a list would be converted to a new array, and the update would be lost
        if not isinstance(p, np.ndarray):
            raise TypeError(
                f"params[{k!r}] must be a numpy array (it is updated in place), "
                f"got {type(p).__name__}"
            )
    params = check_array_dict("params", params)
    grads = check_array_dict("grads", grads)
    missing = params.keys() - grads.keys()
    extra = grads.keys() - params.keys()
    if missing or extra:
        raise ValueError(
            "grads must have the same keys as params; "
            f"missing from grads: {_key_list(missing)}, not in params: {_key_list(extra)}"
        )
    for k, p in params.items():
        check_shape(f"grads[{k!r}]", grads[k], p.shape)
        if grads[k].dtype != p.dtype:
            raise TypeError(
                f"grads[{k!r}] must have the dtype of params[{k!r}], {p.dtype}, "
                f"got {grads[k].dtype}"
            )
        if not p.flags.writeable:
            raise ValueError(f"params[{k!r}] is read-only; it must be writeable to be updated")
    return params, grads


def _layout_diff(before: dict, now: dict) -> str:
    """Describe how the (shape, dtype) per name in ``now`` differs from ``before``."""
    parts = []
    if now.keys() - before.keys():
        parts.append(f"new keys {_key_list(now.keys() - before.keys())}")
    if before.keys() - now.keys():
        parts.append(f"missing keys {_key_list(before.keys() - now.keys())}")
    for k in sorted(before.keys() & now.keys(), key=repr):
        if before[k] != now[k]:
            (s0, d0), (s1, d1) = before[k], now[k]
            parts.append(f"{k!r} was {s0} {d0}, now {s1} {d1}")
    return "; ".join(parts)
