r"""Numerical gradients by central differences, and the checks built on them.

Taught in "Backpropagation through time" (``book/06_bptt``);
assignment 2 builds :func:`numerical_gradient` and :func:`rel_error`.

- :func:`numerical_gradient`: the gradient of ``sum(f(x) * df)`` entry by entry;
- :func:`rel_error`: the norm-wise relative error between two gradients;
- :func:`check_gradients`: the one gradient check. It compares the gradients a
  backward function returned with numerical ones and returns the relative
  error of each (raising, with ``tol``, when one is too large). The tests,
  the book and the assignments' test cells all call it;
- :func:`check_model_gradients`: the same check for a model, whose loss it
  states as a function of the model's parameters.

Use float64: in float32 the rounding error of a difference quotient is
about 1e-3, too large to tell a right gradient from a slightly wrong one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from functools import partial

import numpy as np

from ._validate import as_float_array, check_shape


def numerical_gradient(f: Callable, x, df=None, h: float = 1e-6):
    r"""Gradient of ``sum(f(x) * df)`` with respect to ``x`` by central differences.

    Parameters
    ----------
    f : callable
        Takes an array shaped like ``x`` and returns an array (or a scalar).
        It must not keep a reference to its argument: ``x`` is perturbed
        one entry at a time in a private copy.
    x : ndarray, any shape, float64 recommended
        The point at which to differentiate. It is not modified.
    df : ndarray shaped like ``f(x)``, optional
        Upstream gradient. Omit it when ``f`` returns a scalar loss.
    h : float
        Step size.

    Returns
    -------
    ndarray shaped like ``x``: entry ``i`` is
    :math:`\sum (f(x + h e_i) - f(x - h e_i)) \odot df / 2h`.

    Examples
    --------
    >>> numerical_gradient(lambda v: (v ** 2).sum(), np.array([1.0, -2.0]))
    array([ 2., -4.])
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    x = as_float_array("x", x)
    if not h > 0:
        raise ValueError(f"h must be a positive step size, got {h}")
    point = np.array(x, copy=True)
    flat = point.reshape(-1)  # a view: writing to it perturbs ``point``
    grad = np.zeros(point.size, dtype=np.float64)
    upstream = None if df is None else np.asarray(df, dtype=np.float64)
    for i in range(point.size):
        original = flat[i]
        flat[i] = original + h
        plus = np.asarray(f(point), dtype=np.float64)
        flat[i] = original - h
        minus = np.asarray(f(point), dtype=np.float64)
        flat[i] = original
        if upstream is None:
            if plus.size != 1:
                raise ValueError(f"f returned shape {plus.shape}; pass df to weight its outputs")
            grad[i] = (plus.item() - minus.item()) / (2 * h)
        else:
            check_shape("df", upstream, plus.shape)
            grad[i] = np.sum((plus - minus) * upstream) / (2 * h)
    return grad.reshape(x.shape).astype(x.dtype, copy=False)


def rel_error(a, b) -> float:
    r"""Relative error :math:`\|a - b\| / (\|a\| + \|b\|)` between two arrays.

    A norm-wise measure: an element-wise ratio blows up wherever both
    gradients are nearly zero, which says nothing about the code. A correct
    float64 backward pass checked with ``h=1e-6`` gives about 1e-9 or less;
    values above 1e-5 mean a bug. Two zero arrays have error 0.
    """
    a = as_float_array("a", a)
    b = as_float_array("b", b)
    check_shape("b", b, a.shape)
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    if scale == 0:
        return 0.0
    return float(np.linalg.norm(a - b) / scale)


# --------------------------------------------------------------------------- checks

# The checks' default tolerance on the relative error. Correct float64 code checked with h=1e-6
# gives about 1e-9 (1e-8 for a loss averaged over many positions); a bug gives 1e-3 or more.
TOL = 1e-7


def check_gradients(
    f: Callable,
    args: Mapping,
    grads,
    upstream=None,
    *,
    tol: float | None = TOL,
    atol: float = 0.0,
    h: float = 1e-6,
    label: str = "f",
    hints: Mapping[str, str] | None = None,
) -> dict[str, float]:
    r"""Compare analytic gradients with numerical ones; return the relative error of each.

    ``f(**args)`` is differentiated numerically (:func:`numerical_gradient`)
    with respect to every argument that ``grads`` holds a gradient for, and
    each numerical gradient is compared with the analytic one
    (:func:`rel_error`).

    Parameters
    ----------
    f : callable
        Called as ``f(**args)``. Returns one float array, a tuple of them
        (one per output), or a scalar loss.
    args : dict of str -> ndarray
        The point at which to differentiate: the keyword arguments of ``f``.
        A value may itself be a dict of arrays (a cell's ``params``); each of
        its arrays is then checked on its own. The arrays checked must be
        float64. Nothing in ``args`` is modified.
    grads : dict or tuple
        The analytic gradients, each shaped like its argument. Either a dict
        from some of the names of ``args`` to their gradients (a dict with
        the same keys for an argument that is a dict), or a tuple with one
        gradient per entry of ``args``, in order: what a ``*_backward``
        function returns.
    upstream : ndarray or tuple of ndarray, optional
        The gradient of the loss with respect to the output of ``f``, shaped
        like it; a tuple with one per output when ``f`` returns a tuple. The
        function differentiated is :math:`\sum_k \operatorname{sum}(f_k
        \odot upstream_k)`. Omit it when ``f`` returns a scalar loss.
    tol : float or None
        Raise ``AssertionError`` when a relative error is above ``tol``
        (default :data:`TOL`, 1e-7); with ``None``, only return the errors.
    atol : float
        Also accept a gradient whose largest absolute difference from the
        numerical one is at most ``atol``. A gradient that has all but
        vanished (a loss on the last of many steps) is below what finite
        differences resolve (about 1e-10), so its relative error says
        nothing.
    h : float
        Step of the central differences.
    label : str
        What is checked, at the start of every message:
        ``"lstm_step_backward (N=2, D=3, H=2)"``.
    hints : dict of str -> str, optional
        A sentence per name of ``args``, added to that gradient's failure.

    Returns
    -------
    dict of str -> float
        The relative error of each gradient checked, keyed by its name in
        ``args`` (``"params['W']"`` for an array in a dict); ``inf`` for a
        gradient that holds NaN or inf.

    Raises
    ------
    AssertionError
        With ``tol``: a relative error above it (every such gradient is
        listed with its error), or numerical gradients that are all zero, so
        that the check could not fail.
    TypeError
        ``f`` not callable, ``args`` not a dict, an array checked that is
        not float64, a gradient that is not a float array.
    ValueError
        A gradient of a name not in ``args``, not one gradient per argument,
        a gradient or an upstream gradient of the wrong shape, a negative
        ``tol`` or ``atol``.

    Notes
    -----
    Each entry checked costs two calls of ``f``: keep the arrays small.

    Examples
    --------
    For :math:`y = \tanh(xW)` and an upstream gradient ``dy``, the gradient
    at the pre-activation is ``da = dy * (1 - y**2)``; from it ``dx = da W^T``
    and ``dW = x^T da``:

    >>> rng = np.random.default_rng(0)
    >>> args = dict(x=rng.standard_normal((2, 3)), W=rng.standard_normal((3, 4)))
    >>> def forward(x, W):
    ...     return np.tanh(x @ W)
    >>> dy = rng.standard_normal((2, 4))
    >>> da = dy * (1 - forward(**args) ** 2)
    >>> errors = check_gradients(forward, args, dict(x=da @ args["W"].T, W=args["x"].T @ da), dy)
    >>> sorted(errors), max(errors.values()) < 1e-7
    (['W', 'x'], True)

    A gradient that forgets the derivative of tanh fails, and says which:

    >>> check_gradients(forward, args, dict(W=args["x"].T @ dy), dy, label="dense_tanh")
    Traceback (most recent call last):
        ...
    AssertionError: dense_tanh: 1 of 1 gradients fail the check (relative error above 1e-07):
      W: relative error 1.4e-01
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    if not isinstance(args, Mapping):
        raise TypeError(f"args must be a dict of f's keyword arguments, got {type(args).__name__}")
    if tol is not None and not tol >= 0:
        raise ValueError(f"tol must be >= 0 or None, got {tol}")
    if not atol >= 0:
        raise ValueError(f"atol must be >= 0, got {atol}")
    hints = hints or {}
    checked = _arrays_to_check(args, grads, label)
    df = _flat_upstream(upstream, _outputs(f(**args)))

    def outputs_at(key, sub, value):
        """f's outputs in one flat vector, with one array of ``args`` replaced by ``value``."""
        kwargs = dict(args)
        kwargs[key] = value if sub is None else {**args[key], sub: value}
        return np.concatenate([o.ravel() for o in _outputs(f(**kwargs))])

    errors, failures, largest = {}, [], 0.0
    for name, key, sub, point, grad in checked:
        numeric = numerical_gradient(partial(outputs_at, key, sub), point, df, h)
        if not np.all(np.isfinite(grad)):
            errors[name], problem = np.inf, "contains NaN or inf"
        elif not np.all(np.isfinite(numeric)):
            errors[name], problem = np.inf, "its numerical gradient is not finite: f overflows here"
        else:
            largest = max(largest, float(np.abs(numeric).max(initial=0.0)))
            errors[name] = rel_error(numeric, grad)
            problem = f"relative error {errors[name]:.1e}"
            if atol > 0 and np.abs(numeric - grad).max(initial=0.0) <= atol:
                continue  # all but vanished: below what finite differences resolve
        if tol is not None and not errors[name] <= tol:
            hint = hints.get(name) or hints.get(key)
            failures.append(f"  {name}: {problem}" + (f" ({hint})" if hint else ""))
    if failures:
        raise AssertionError(
            f"{label}: {len(failures)} of {len(checked)} gradients fail the check "
            f"(relative error above {tol:.0e}):\n" + "\n".join(failures)
        )
    if tol is not None and checked and largest == 0.0:
        raise AssertionError(
            f"{label}: every numerical gradient is zero, so the check proves nothing: choose "
            "inputs and an upstream gradient that reach every argument"
        )
    return errors


def check_model_gradients(
    model, *batch, names=None, tol: float | None = TOL, h: float = 1e-6, **options
) -> dict[str, float]:
    r"""Check a model's parameter gradients against numerical ones, with :func:`check_gradients`.

    Parameters
    ----------
    model
        Has ``params`` (a dict of float64 arrays) and ``loss_and_grads(*batch,
        **options)`` returning ``(loss, grads, ...)``, like every model of
        :mod:`course_pkg.models`.
    *batch, **options
        The arguments of ``loss_and_grads`` (``train=True, rng=...`` for
        dropout).
    names : list of str, optional
        The parameters to check. Default: all of them.
    tol, h
        As for :func:`check_gradients`.

    Returns
    -------
    dict of str -> float
        The relative error of each parameter's gradient.

    Raises
    ------
    AssertionError
        With ``tol``: a relative error above it.
    TypeError
        ``model`` without ``params`` and ``loss_and_grads``; a parameter
        that is not float64.
    ValueError
        An unknown name in ``names``; ``loss_and_grads`` not returning one
        gradient per parameter.

    Notes
    -----
    The loss, a function of the named parameters, is handed to
    :func:`check_gradients`; it writes each perturbed value into the
    model's own array (the model may keep references to its arrays) and
    every parameter is restored exactly afterwards. Every evaluation gets
    fresh copies of ``batch`` and ``options``: a generator (``rng=``) then
    draws the same dropout masks each time, and a carried state
    (:class:`~course_pkg.models.CarriedState`) starts from the same states,
    so the loss is a function of the parameters alone; the caller's objects
    are left as they were. Each entry costs two evaluations of the loss:
    keep the model small (a few hundred parameters).
    """
    params = getattr(model, "params", None)
    if not (isinstance(params, Mapping) and callable(getattr(model, "loss_and_grads", None))):
        raise TypeError(
            f"model must have params and loss_and_grads, got {type(model).__name__} without them"
        )
    names = list(params) if names is None else list(names)
    unknown = [n for n in names if n not in params]
    if unknown:
        raise ValueError(f"names {unknown} are not parameters of the model {list(params)}")
    for n in names:
        _check_float64(n, params[n])
    label = f"{type(model).__name__}.loss_and_grads"

    def run():
        """loss_and_grads on fresh copies of its arguments, so that every call sees the same."""
        return model.loss_and_grads(*copy.deepcopy(batch), **copy.deepcopy(options))

    grads = run()[1]
    if set(grads) != set(params):
        raise ValueError(f"{label} returned gradients for {sorted(grads)}, not {sorted(params)}")
    saved = {n: params[n].copy() for n in names}

    def loss(**values):
        for n, value in values.items():
            params[n][...] = value
        return float(run()[0])

    try:
        return check_gradients(loss, saved, {n: grads[n] for n in names}, tol=tol, h=h, label=label)
    finally:
        for n, value in saved.items():
            params[n][...] = value


def _arrays_to_check(args: Mapping, grads, label: str) -> list[tuple]:
    """``(name, key, sub-key or None, point, gradient)`` for each array that ``grads`` covers."""
    if isinstance(grads, Mapping):
        unknown = [k for k in grads if k not in args]
        if unknown:
            raise ValueError(f"{label}: gradients of {unknown}, which are not in args {list(args)}")
        pairs = list(grads.items())
    elif isinstance(grads, (tuple, list)):
        if len(grads) != len(args):
            raise ValueError(
                f"{label}: got {len(grads)} gradients for the {len(args)} arguments "
                f"({', '.join(args)}): return one gradient per argument, in order"
            )
        pairs = list(zip(args, grads, strict=True))
    else:
        raise TypeError(
            f"{label}: grads must be a dict or a tuple of gradients, got {type(grads).__name__}"
        )
    entries = []  # (name, key, sub-key or None, point, gradient)
    for key, grad in pairs:
        value = args[key]
        if isinstance(value, Mapping):
            if not isinstance(grad, Mapping) or set(grad) != set(value):
                got = sorted(grad) if isinstance(grad, Mapping) else type(grad).__name__
                raise ValueError(
                    f"{label}: the gradients of {key} must be a dict with keys {sorted(value)}, "
                    f"got {got}"
                )
            entries += [(f"{key}[{sub!r}]", key, sub, value[sub], grad[sub]) for sub in value]
        else:
            entries.append((key, key, None, value, grad))
    checked = []
    for name, key, sub, point, grad in entries:
        _check_float64(name, point)
        grad = as_float_array(f"{label}: the gradient of {name}", grad, finite=False)
        if grad.shape != point.shape:
            raise ValueError(
                f"{label}: the gradient of {name} has shape {grad.shape}, expected "
                f"{point.shape}, the shape of {name}"
            )
        checked.append((name, key, sub, point, grad))
    return checked


def _check_float64(name: str, point) -> None:
    """Finite differences need float64: in float32 their rounding error is about 1e-3."""
    if not isinstance(point, np.ndarray) or point.dtype != np.float64:
        got = point.dtype if isinstance(point, np.ndarray) else type(point).__name__
        raise TypeError(f"{name} must be a float64 array for a gradient check, got {got}")


def _outputs(out) -> list[np.ndarray]:
    """The outputs of f as a list of float64 arrays: one, or one per entry of a tuple."""
    parts = list(out) if isinstance(out, (tuple, list)) else [out]
    try:
        return [np.asarray(p, dtype=np.float64) for p in parts]
    except (TypeError, ValueError):
        raise TypeError(
            f"f must return a float array, a tuple of them, or a scalar, got {type(out).__name__}"
        ) from None


def _flat_upstream(upstream, outputs: list[np.ndarray]) -> np.ndarray:
    """The upstream gradients in one flat vector, in the order of f's flattened outputs."""
    if upstream is None:
        if sum(o.size for o in outputs) != 1:
            shapes = [o.shape for o in outputs]
            raise ValueError(f"f returns shapes {shapes}, not a scalar: pass upstream gradients")
        return np.ones(1)
    parts = list(upstream) if isinstance(upstream, (tuple, list)) else [upstream]
    if len(parts) != len(outputs):
        raise ValueError(
            f"upstream holds {len(parts)} gradients, but f returns {len(outputs)} outputs"
        )
    flat = []
    for i, (u, out) in enumerate(zip(parts, outputs, strict=True)):
        u = as_float_array(f"upstream[{i}]", u)
        if u.shape != out.shape and not u.size == out.size == 1:
            raise ValueError(
                f"upstream[{i}] has shape {u.shape}, expected {out.shape}, the shape of output {i}"
            )
        flat.append(u.ravel())
    return np.concatenate(flat)
