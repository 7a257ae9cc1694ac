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
        try:
            result = fn(*args, **kwargs)
        except NotImplementedError as err:
            if str(err):
                raise
            raise NotImplementedError(
                f"{name} is not written yet: fill in its cell and delete the "
                "raise NotImplementedError() line"
            ) from err
        except (AssertionError, FloatingPointError, Warning, MemoryError):
            raise  # a failed check, no_warnings() at work, or a limit the grader reports
        except Exception as err:
            raise AssertionError(
                f"{name} raised {type(err).__name__}: {err}. {_hint_for(err)}"
            ) from err
    if seen:
        raise AssertionError(
            f"{name} calls the package's {seen[0]}: write the computation "
            "yourself with NumPy; calls into the reference implementation earn no points."
        )
    return result


SHAPE_HINT = (
    "Check the shapes: arrays are batch-first, x (N, T, D) and states (N, T, H); rows "
    "multiply on the left (x[:, t] @ U is (N, H), h_prev @ W is (N, H)); loop over t with "
    "x[:, t], not x[t]."
)
OVERFLOW_HINT = (
    "A NumPy operation overflowed or divided by zero: rewrite the computation so that "
    "np.exp and np.log only see values where they are finite (the part's instructions say how)."
)


def _hint_for(err: Exception) -> str:
    if isinstance(err, ValueError | IndexError) and any(
        word in str(err) for word in ("shape", "broadcast", "matmul", "index", "dimension")
    ):
        return SHAPE_HINT
    return "Run the function on the test's inputs yourself to see where it fails."


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
        raise AssertionError(
            f"{name} has dtype {got.dtype}, expected {expected.dtype}: keep the dtype of the "
            "inputs (float32 in, float32 out; a float64 constant or np.zeros without dtype= "
            "promotes float32 to float64)"
        )
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
def no_warnings(hint: str = ""):
    """Fail, with ``hint``, on any warning (overflow, invalid value) inside the block.

    The failure is an ``AssertionError`` that says what overflowed and gives
    the hint, never a bare ``FloatingPointError``.
    """
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        try:
            yield
        except (FloatingPointError, Warning) as err:
            raise AssertionError(f"NumPy warned: {err}. {hint or OVERFLOW_HINT}") from err


_RUN_SEED = 0


def set_run_seed(seed: int) -> None:
    """Seed :func:`fresh_rng` for this grading run (the grader draws a new one every run)."""
    global _RUN_SEED
    if type(seed) is not int or seed < 0:
        raise TypeError(f"the run seed must be a non-negative int, got {seed!r}")
    _RUN_SEED = seed


def fresh_rng(stream: int) -> np.random.Generator:
    """A generator for a hidden test's inputs: seeded by the run's seed and ``stream``.

    Outside grading the run seed is 0, so a notebook run gives the same inputs
    every time; the grader sets a fresh seed for every run, so the inputs (and
    the values expected for them) cannot be known in advance.
    """
    if type(stream) is not int or stream < 0:
        raise TypeError(f"stream must be a non-negative int, got {stream!r}")
    return np.random.default_rng([_RUN_SEED, stream])


def has_type(obj, cls) -> bool:
    """``type(obj) is cls``, also where a grader holds ``obj`` and ``cls`` for another
    process (they answer ``__course_has_type__``), so that a test reads the same in both."""
    ask = getattr(type(obj), "__course_has_type__", None)
    return bool(ask(obj, cls)) if ask is not None else type(obj) is cls
