"""The judge: hidden tests run here, in the grader, never in the student's process.

Grading a notebook has two sides. The student's notebook runs in its sandboxed
kernel, on the student edition of ``course_pkg`` (whose graded functions are
the student's own); the answer key is not there. The judge runs every test
cell, hidden tests included, in the grader's own process: its names are the
instructor's setup (the real ``course_pkg``, the reference) plus, for every
other name a test uses, what the student's notebook defines. Data (arrays,
numbers, strings, course_pkg's NamedTuples) is copied across through
:mod:`autograder.wire`; anything else (a student's function, class, model)
stays in the kernel and is used here through a :class:`Handle`: calling it,
reading an attribute, indexing or iterating asks the kernel, and the answer is
again data or a handle. Arguments the student's code changes in place are
changed here too.

So a student's code only ever returns data, the comparison with the reference
happens here, and nothing the kernel prints or reports decides a score: a test
cell earns its points when its code runs here without an exception.
"""

from __future__ import annotations

import ast
import builtins
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .wire import WireError, decode, encode, pack, unpack

MAX_PRINTED = 20_000  # characters of the student's output kept per test cell
CUT = "[output truncated by the grader"  # starts the note on an output the grader cut
TRUNCATED = CUT + ": this cell printed more than {limit} bytes]"
FLOODED = "your code printed more than a cell may, and was stopped"  # a test's call, cut


class NoAnswer(RuntimeError):
    """The kernel did not answer a request (timed out, died, or the runner is gone)."""


class CallTimeout(NoAnswer):
    """A call into the student's code ran longer than a cell may (it was interrupted)."""


@dataclass
class Verdict:
    passed: bool
    message: str = ""  # why it failed, for the student: the check's message, no test code
    printed: str = ""  # what the student's code printed while the judge called it
    calls: int = 0
    seconds: float = 0.0


class Handle:
    """An object that stays in the student's kernel."""

    __slots__ = ("_judge", "_name", "_number")

    def __init__(self, judge, number: int, name: str):
        self._judge, self._number, self._name = judge, number, name

    def __call__(self, *args, **kwargs):
        return self._judge.call(self, args, kwargs)

    def __getattr__(self, name):
        if name.startswith("__") and name not in ("__name__", "__qualname__"):
            raise AttributeError(name)  # numpy and inspect probe these: nothing to ask
        return self._judge.ask({"op": "getattr", "h": self._number, "name": name})

    def __getitem__(self, key):
        arrays: list = []
        tree = encode(key, arrays, self._judge.number_of)
        return self._judge.ask({"op": "getitem", "h": self._number, "key": tree}, arrays)

    def __bool__(self):  # an object is true (else Python would ask for its len())
        return True

    def __len__(self):
        n = self._judge.ask({"op": "len", "h": self._number})
        if type(n) is not int or n < 0:
            raise TypeError(f"len() of your {self._name} is not a non-negative int: {n!r}")
        return n

    def __iter__(self):
        items = self._judge.ask({"op": "iterate", "h": self._number})
        if not isinstance(items, list):
            raise TypeError(f"the items of your {self._name} did not arrive as a list")
        return iter(items)

    def __repr__(self):
        return f"<your {self._name}>"

    def __course_has_type__(self, cls) -> bool:
        """``type(self) is cls`` asked in the kernel (see course_pkg.checks.has_type)."""
        if not isinstance(cls, Handle):
            return False
        return self._judge.ask({"op": "istype", "h": self._number, "cls": cls._number}) is True


def _raise_student_error(name: str, message: str):
    """The student's code raised ``name``: raise the same built-in type here (tests may expect
    a ValueError, say); any other type arrives as a RuntimeError naming it."""
    if name == "NotImplementedError" and not message:  # the placeholder: checks say so
        raise NotImplementedError()
    cls = getattr(builtins, name, None) if isinstance(name, str) and name.isidentifier() else None
    text = f"your code raised {name}" + (f": {message}" if message else "")
    if isinstance(cls, type) and issubclass(cls, Exception) and cls not in (StopIteration,):
        try:
            raise cls(text)
        except TypeError:  # a built-in that wants other arguments
            pass
    raise RuntimeError(text)


def _write_back(old, new, replaced=frozenset(), path=()):
    """Make ``old`` (the judge's argument) hold what the student's code left in ``new``: an
    array changed in place is changed in place; one the code put in place of another (its
    path in ``replaced``) is put in place here too, so ``is`` tells the two apart."""
    if isinstance(old, np.ndarray) and isinstance(new, np.ndarray):
        if path in replaced or old.shape != new.shape or not old.flags.writeable:
            return new
        old[...] = new
        return old
    if isinstance(old, np.random.Generator) and isinstance(new, np.random.Generator):
        old.bit_generator.state = new.bit_generator.state
        return old
    if isinstance(old, list) and isinstance(new, list):
        kept = [
            _write_back(o, n, replaced, (*path, i))
            for i, (o, n) in enumerate(zip(old, new, strict=False))
        ]
        old[:] = kept + new[len(old) :]
        return old
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [k for k in old if k not in new]:
            del old[key]
        for key, value in new.items():
            old[key] = _write_back(old[key], value, replaced, (*path, key)) if key in old else value
        return old
    if isinstance(old, tuple) and isinstance(new, tuple) and len(old) == len(new):
        for i, (o, n) in enumerate(zip(old, new, strict=True)):
            _write_back(o, n, replaced, (*path, i))
    return old


@dataclass
class Judge:
    """Runs test cells against one student's kernel. ``transport(text)`` sends one request
    and returns ``(reply text or None, what the student's code printed)``."""

    transport: object
    fatal: tuple = ()  # exceptions of the transport that end the grading (the kernel is gone)
    handles: dict = field(default_factory=dict)
    callbacks: dict = field(default_factory=dict)  # number -> a function of the judge's
    printed: list = field(default_factory=list)
    calls: int = 0

    # ------------------------------------------------------------------ the channel
    def number_of(self, obj) -> dict:
        """What stands for ``obj`` in a message: its handle, or a callback for a function of the
        judge's (the student's code may call it while the call that got it runs)."""
        if isinstance(obj, Handle) and obj._judge is self:
            return {"h": obj._number}
        if callable(obj) and not isinstance(obj, type):
            for number, known in self.callbacks.items():
                if known is obj:
                    return {"c": number}
            self.callbacks[len(self.callbacks) + 1] = obj
            return {"c": len(self.callbacks)}
        raise TypeError(
            f"a test cannot send {type(obj).__name__} to the student's code: only data "
            "(arrays, numbers, strings, lists, tuples, dicts) and the student's own objects cross"
        )

    def object_of(self, number: int, names: dict):
        if number not in self.handles:
            self.handles[number] = Handle(self, number, str(names.get(str(number), "object")))
        return self.handles[number]

    def ask(self, meta: dict, arrays: list | None = None):
        """Send one request; the answer's value (its handles as :class:`Handle`)."""
        self.calls += 1
        reply, printed = self.transport(pack(meta, arrays or []))
        if printed:
            self.printed.append(printed)
        if reply is None:
            if CUT in printed:
                raise NoAnswer(FLOODED)
            raise NoAnswer("the student's kernel did not answer the grader")
        try:
            answer, data = unpack(reply)
        except WireError as err:
            raise NoAnswer(
                f"the student's kernel answered with something unreadable: {err}"
            ) from None
        if "raised" in answer:
            name, message = [*list(answer["raised"]), "", ""][:2]
            _raise_student_error(str(name), str(message))
        names = answer.get("names") if isinstance(answer.get("names"), dict) else {}
        try:
            value = decode(answer.get("ok"), data, lambda n: self.object_of(n, names))
        except WireError as err:
            raise NoAnswer(
                f"the student's kernel answered with something unreadable: {err}"
            ) from None
        return value

    def answer_callback(self, text: str) -> str:
        """Run the judge's function a callback stands for, with the student's code's arguments
        (data only); the reply, as a message."""
        try:
            meta, arrays = unpack(text)
            function = self.callbacks[int(meta["c"])]
            args = decode(meta["args"], arrays, lambda n: self.object_of(n, {}))
            kwargs = decode(meta["kwargs"], arrays, lambda n: self.object_of(n, {}))
            result_arrays: list = []
            tree = encode(function(*args, **kwargs), result_arrays, self.number_of)
            return pack({"ok": tree}, result_arrays)
        except Exception as err:
            return pack({"raised": [type(err).__name__, str(err)[:2000]]}, [])

    def fetch(self, name: str):
        return self.ask({"op": "global", "name": name})

    def call(self, handle: Handle, args: tuple, kwargs: dict):
        arrays: list = []
        meta = {
            "op": "call",
            "h": handle._number,
            "args": encode(list(args), arrays, self.number_of),
            "kwargs": encode(dict(kwargs), arrays, self.number_of),
        }
        value = self.ask(meta, arrays)
        if not (isinstance(value, tuple) and len(value) == 4):
            raise NoAnswer("the student's kernel answered a call with something else")
        result, changed, changed_kw, warned = value
        for where, new, replaced in [*changed, *changed_kw]:
            given = args if isinstance(where, int) else kwargs
            if (where in given) if isinstance(where, str) else (0 <= where < len(args)):
                paths = {tuple(p) for p in replaced if isinstance(p, list)}
                _write_back(given[where], new, paths)
        for kind, message in warned if isinstance(warned, list) else []:
            category = getattr(builtins, str(kind), None)
            if not (isinstance(category, type) and issubclass(category, Warning)):
                category = UserWarning
            warnings.warn(f"in your code: {message}", category, stacklevel=2)
        return result

    # ------------------------------------------------------------------ test cells
    def run(self, source: str, setup: dict, label: str = "test") -> Verdict:
        """Run one test cell's code in a copy of ``setup`` (the instructor's names); names it
        needs that neither the setup nor the cell defines are fetched from the student's
        notebook first, as they are when the cell runs (the notebook ran up to it)."""
        start = time.perf_counter()
        self.printed, calls = [], self.calls
        namespace = dict(setup)
        try:
            code = compile(source, f"<{label}>", "exec")
            for name in sorted(needed_names(source) - set(namespace) - set(dir(builtins))):
                try:
                    namespace[name] = self.fetch(name)
                except NameError:
                    pass  # the cell will say what is missing, if it needs it
            exec(code, namespace)
            verdict = Verdict(True)
        except self.fatal:
            raise
        except CallTimeout as err:
            verdict = Verdict(False, f"CellTimeoutError: {err}")
        except NoAnswer as err:
            verdict = Verdict(False, f"{err}")
        except Exception as err:  # the test failed: its message is the feedback
            verdict = Verdict(False, f"{type(err).__name__}: {err}")
        printed = "".join(self.printed)
        if len(printed) > MAX_PRINTED:  # the end says what happened; keep the grader's note
            printed = "[...]\n" + printed[-MAX_PRINTED:]
        verdict.printed = printed
        verdict.calls = self.calls - calls
        verdict.seconds = time.perf_counter() - start
        return verdict


def needed_names(source: str) -> set[str]:
    """The global names a cell reads (anywhere, also inside its functions and comprehensions)."""
    tree = ast.parse(source)
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return loaded - bound
