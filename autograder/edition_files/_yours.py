"""Your functions: the parts of course_pkg that you write in the assignments.

Each function listed in WITHHELD is a stub in this package until your
instructor publishes the solutions of the assignment that grades it. A stub
runs *your* version:
``make check A=<assignment>`` copies the functions you wrote in that
assignment's notebook into ``course_pkg/yours/<assignment>.py``.
"""

from __future__ import annotations

import functools
import importlib
import inspect

import numpy as np

# dotted name -> (assignment, part, the name your notebook defines, and for a function that
# computes what one of yours computes under another name, which one)
WITHHELD: dict = {}  # filled in by make student-edition


def yours(dotted: str):
    """Your version of a withheld function, or a NotImplementedError saying where to write it."""
    assignment, part, name, same_as = WITHHELD[dotted]
    if same_as:
        raise NotImplementedError(
            f"{dotted} computes what {same_as} does, which is yours to write in "
            f"{assignment}, {part}: it returns when its solutions are published"
        )
    where = f"{dotted} is yours to write in {assignment}, {part}"
    try:
        module = importlib.import_module(f"course_pkg.yours.{assignment}")
        mine = getattr(module, name)
    except (ImportError, AttributeError):
        raise NotImplementedError(
            f"{where}; once you have, `make check A={assignment}` makes the package use it"
        ) from None

    accepts = inspect.signature(mine).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in accepts.values())

    @functools.wraps(mine)
    def run(*args, **kwargs):
        for key in [k for k in kwargs if k not in accepts and not takes_any]:
            value = kwargs.pop(key)
            if value is not None and np.any(value):  # None or zeros: the default anyway
                raise TypeError(f"your {name} takes no {key}, so it cannot be given one")
        try:
            return mine(*args, **kwargs)
        except NotImplementedError as err:
            if str(err):
                raise
            message = f"{where}: your notebook still has the placeholder"
            raise NotImplementedError(message) from err

    return run
