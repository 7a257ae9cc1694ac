"""Checks that the assignments' test cells call on a student's functions.

They turn a failed comparison into a message that teaches ("h has shape
(2, 3), expected (2, 5)") and make sure a graded function is the student's
own work rather than a call into the package's reference implementation.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import types
import warnings

import numpy as np


def _package_functions(modules) -> dict:
    """Code objects of every function defined in ``modules`` -> dotted name."""
    found = {}
    for module in modules:
        for name, obj in vars(module).items():
            if inspect.isfunction(obj) and obj.__module__ == module.__name__:
                found[obj.__code__] = f"{module.__name__}.{name}"
            elif inspect.isclass(obj) and obj.__module__ == module.__name__:
                for attr, member in vars(obj).items():
                    # methods written in the module (not ones a NamedTuple inherits)
                    if (
                        inspect.isfunction(member)
                        and member.__code__.co_filename == module.__file__
                    ):
                        found[member.__code__] = f"{module.__name__}.{name}.{attr}"
    return found


@contextlib.contextmanager
def _watch_calls(codes: dict, seen: list):
    """Record which of ``codes`` run (in any thread-free Python call) inside the block."""
    previous = sys.getprofile()

    def profiler(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            seen.append(codes[frame.f_code])

    sys.setprofile(profiler)
    try:
        yield
    finally:
        sys.setprofile(previous)


def check_own_implementation(fn, name: str, reference_modules, *args, **kwargs):
    """Call ``fn(*args, **kwargs)`` and fail if it is, or runs, the package's own code.

    Parameters
    ----------
    fn : callable
        The student's function.
    name : str
        Its name, for the message.
    reference_modules : module or list of modules
        Modules whose functions the graded function must not use (e.g.
        ``course_pkg.rnn`` when grading ``rnn_forward``).
    *args, **kwargs
        A call to run under observation.

    Returns
    -------
    Whatever ``fn`` returns.

    Raises
    ------
    AssertionError
        If ``fn`` is a package function (imported or wrapped) or calls one.
    """
    if isinstance(reference_modules, types.ModuleType):
        reference_modules = [reference_modules]
    codes = _package_functions(reference_modules)
    target = inspect.unwrap(fn) if callable(fn) else fn
    if getattr(target, "__code__", None) in codes or getattr(target, "__module__", "") in {
        m.__name__ for m in reference_modules
    }:
        raise AssertionError(
            f"{name} is the package's own {codes.get(getattr(target, '__code__', None), name)}: "
            "this assignment grades your implementation, so it earns no points."
        )
    seen: list = []
    with _watch_calls(codes, seen):
        result = fn(*args, **kwargs)
    if seen:
        raise AssertionError(
            f"{name} calls the package's {seen[0]}: write the computation "
            "yourself with NumPy; calls into the reference implementation earn no points."
        )
    return result


def check_array(name: str, got, expected, *, atol: float = 1e-8, rtol: float = 1e-6, hint=""):
    """Compare an array with the expected one and explain the first difference found."""
    if not isinstance(got, np.ndarray):
        raise AssertionError(f"{name} should be a numpy array, got {type(got).__name__}")
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        raise AssertionError(
            f"{name} has shape {got.shape}, expected {expected.shape}"
            + (f": {hint}" if hint else "")
        )
    if got.dtype != expected.dtype:
        raise AssertionError(f"{name} has dtype {got.dtype}, expected {expected.dtype}")
    if not np.all(np.isfinite(got)):
        raise AssertionError(f"{name} contains NaN or inf" + (f": {hint}" if hint else ""))
    if not np.allclose(got, expected, atol=atol, rtol=rtol):
        worst = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
        where = tuple(int(i) for i in worst)
        raise AssertionError(
            f"{name} differs from the expected values, most at index {where}: "
            f"got {got[worst]:.6g}, expected {expected[worst]:.6g}" + (f" ({hint})" if hint else "")
        )


@contextlib.contextmanager
def no_warnings():
    """Turn every warning (overflow, invalid value) inside the block into an error."""
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        yield
