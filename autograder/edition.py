"""The student edition: what a student receives, with no answer in it.

``make student-edition`` (``python -m autograder edition``) writes
``dist/student/`` and ``dist/student.zip``:

- the released assignments (nbgrader's student version of each notebook);
- the student's ``course_pkg``: the course's package in which every function
  an assignment grades is a *stub* until the instructor publishes that
  assignment's solutions. A stub keeps its signature and documentation and
  runs the student's own version, once ``make check`` has copied it from the
  assignment's notebook into ``course_pkg/yours/``; before that it raises
  ``NotImplementedError`` naming the assignment and part where it is
  written. Private helpers that only withheld functions used are left out,
  and so are the examples in their documentation;
- ``course.py``, a ``Makefile`` and a README: set up, open JupyterLab, check
  an assignment's visible tests, pack a submission, take an update without
  losing work.

Which functions an assignment grades is read from one place: the top-level
functions and classes its solution notebook's answer cells define
(:func:`graded_functions`). A few public functions of ``course_pkg`` compute
the same thing as a graded one under another name; :data:`COMPANIONS` lists
them, and they are withheld with it.

The build checks its own output (:func:`find_leaks`) and refuses to write an
edition that holds any line of an answer or a hidden test, an instructor-only
file, or a function whose code is a withheld function's.
"""

from __future__ import annotations

import ast
import copy
import functools
import hashlib
import importlib
import importlib.util
import json
import pkgutil
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .stage import HIDDEN_BLOCK, SOLUTION_BLOCK, SOLUTION_MARKERS, nbgrader_meta

FILES = Path(__file__).parent / "edition_files"
YOURS_TABLE = "WITHHELD: dict = {}  # filled in by make student-edition"  # in FILES/_yours.py

# Public functions that compute what a graded function computes: withheld with it. While
# withheld, a companion raises NotImplementedError, except those in SAME_AS_OWNER, which take
# the same arguments as their owner and run the student's version of it.
# The fused kernels (course_pkg._fused) are the sequence functions made fast: each is withheld
# with the readable function it computes, and those with its arguments run the student's.
SAME_AS_OWNER = {
    "course_pkg.activations.sigmoid_unchecked",
    "course_pkg._fused.rnn.rnn_forward",
    "course_pkg._fused.rnn.rnn_backward",
    "course_pkg._fused.lstm.lstm_forward",
    "course_pkg._fused.lstm.lstm_backward",
    "course_pkg._fused.gru.gru_forward",
    "course_pkg._fused.gru.gru_backward",
}
COMPANIONS = {
    "course_pkg.activations.sigmoid_unchecked": "course_pkg.activations.sigmoid",
    "course_pkg.experiments.sequences.run_recurrence": "course_pkg.rnn.rnn_forward",
    "course_pkg.gradient_flow.bptt_terms": "course_pkg.rnn.rnn_backward",
    "course_pkg.optim.global_norm": "course_pkg.optim.clip_grad_norm",
    "course_pkg.lstm.lstm_backward_with_cell_state": "course_pkg.lstm.lstm_backward",
    "course_pkg.bidirectional.reversal_order": "course_pkg.bidirectional.bidirectional_forward",
    "course_pkg._fused.rnn.rnn_forward": "course_pkg.rnn.rnn_forward",
    "course_pkg._fused.rnn.rnn_backward": "course_pkg.rnn.rnn_backward",
    "course_pkg._fused.lstm.lstm_forward": "course_pkg.lstm.lstm_forward",
    "course_pkg._fused.lstm.lstm_backward": "course_pkg.lstm.lstm_backward",
    "course_pkg._fused.lstm.lstm_backward_with_cell_state": "course_pkg.lstm.lstm_backward",
    "course_pkg._fused.gru.gru_forward": "course_pkg.gru.gru_forward",
    "course_pkg._fused.gru.gru_backward": "course_pkg.gru.gru_backward",
}

# What a student's edition never holds (names of files or folders anywhere in it).
# Package data the assignments never read, left out of the edition to keep its
# download small: the book's showcase language model (2.2 MB, chapter 11) and
# the whole-Bible corpus it was trained on (0.9 MB). The book shows both; a
# student's `load_text("kjv")` says which corpora the edition has.
EDITION_OMITS = ("course_pkg/pretrained", "course_pkg/corpora/kjv.txt.xz")

INSTRUCTOR_ONLY = (
    "solutions",
    "sample_class",
    "bench",
    "autograder",
    "tests",
    "grading",
    "submitted",
    "gradebook.db",
    "nbgrader_config.py",
    "textbook.py",
    "__pycache__",
)

PART_HEADING = re.compile(r"^#+\s*(Part\s+\d+)\s*:\s*(.+?)\s*(\(.*\))?\s*$", re.M)


@dataclass(frozen=True)
class Graded:
    """A function (or class) of ``course_pkg`` that an assignment grades."""

    name: str  # as the notebook defines it: "lstm_backward"
    module: str  # where the package defines it: "course_pkg.lstm"
    assignment: str  # the first assignment whose answer cells define it
    part: str  # "Part 2 (The LSTM over a sequence)"

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}"


def course_settings(course_root: Path) -> dict:
    """ASSIGNMENTS, RELEASED and SOLUTIONS_PUBLISHED from the course's nbgrader_config.py."""

    class _Ignore:
        def __getattr__(self, name):
            return self

        def __setattr__(self, name, value):
            pass

    namespace: dict = {"get_config": _Ignore}
    exec((course_root / "nbgrader_config.py").read_text(), namespace)
    settings = {k: list(namespace.get(k, [])) for k in ("ASSIGNMENTS", "RELEASED")}
    settings["SOLUTIONS_PUBLISHED"] = list(namespace.get("SOLUTIONS_PUBLISHED", []))
    unknown = {a for k in ("RELEASED", "SOLUTIONS_PUBLISHED") for a in settings[k]} - set(
        settings["ASSIGNMENTS"]
    )
    if unknown:
        raise ValueError(f"nbgrader_config.py names assignments not in ASSIGNMENTS: {unknown}")
    return settings


def _defined_names(source: str) -> list[str]:
    """Top-level functions and classes a cell defines (after its solution markers go)."""
    try:
        tree = ast.parse(SOLUTION_MARKERS.sub("", source))
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def _package_definitions() -> dict[str, list[str]]:
    """name -> the course_pkg modules that define it (not those that merely import it)."""
    import course_pkg

    found: dict[str, list[str]] = {}
    for info in pkgutil.walk_packages(course_pkg.__path__, "course_pkg."):
        if any(part.startswith("_") for part in info.name.split(".")[1:-1]):
            continue  # a private package (_fused) repeats public names; it is no answer's home
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) == module.__name__ and callable(obj):
                found.setdefault(name, []).append(module.__name__)
    return found


def graded_functions(course_root: Path) -> list[Graded]:
    """Every function the assignments grade, in course order, read from the solutions.

    Raises ``ValueError`` if an answer defines a name that ``course_pkg`` does
    not define in exactly one module.
    """
    settings = course_settings(course_root)
    definitions = _package_definitions()
    graded: dict[str, Graded] = {}
    for assignment in settings["ASSIGNMENTS"]:
        path = course_root / "solutions" / assignment / f"{assignment}.ipynb"
        if not path.is_file():
            continue
        part = ""
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                for match in PART_HEADING.finditer(cell.source):
                    part = f"{match[1]} ({match[2]})"
                continue
            if not (cell.cell_type == "code" and nbgrader_meta(cell).get("solution")):
                continue
            for name in _defined_names(cell.source):
                if name in graded:
                    continue  # re-used from an earlier assignment, graded there
                modules = definitions.get(name, [])
                if len(modules) != 1:
                    raise ValueError(
                        f"{assignment} defines {name} in an answer cell, but course_pkg "
                        f"defines it in {modules or 'no module'}: expected exactly one"
                    )
                graded[name] = Graded(name, modules[0], assignment, part)
    return list(graded.values())


def withheld_functions(course_root: Path, published=None) -> dict[str, Graded]:
    """dotted name -> what it is: the graded functions of assignments whose solutions are
    not published, and their :data:`COMPANIONS` (with the owner's assignment and part).

    ``published`` defaults to SOLUTIONS_PUBLISHED of the course's ``nbgrader_config.py``.
    """
    if published is None:
        published = course_settings(course_root)["SOLUTIONS_PUBLISHED"]
    withheld = {
        g.dotted: g for g in graded_functions(course_root) if g.assignment not in set(published)
    }
    for companion, owner in COMPANIONS.items():
        if owner in withheld:
            module, name = companion.rsplit(".", 1)
            withheld[companion] = Graded(
                name, module, withheld[owner].assignment, withheld[owner].part
            )
    return withheld


# ----------------------------------------------------------------------------- the package


EXAMPLES = re.compile(
    r"\n[ \t]*Examples\n[ \t]*-{3,}\n.*?(?=\n[ \t]*\w[\w ]*\n[ \t]*-{3,}\n|\n[ \t]*[rRuU]?\"\"\")",
    re.S,
)


def _docstring_source(node, lines: list[str]) -> list[str]:
    """The source lines of a function's or class's docstring, without its Examples."""
    if ast.get_docstring(node, clean=False) is None:
        return []
    expr = node.body[0]
    raw = "\n".join(lines[expr.lineno - 1 : expr.end_lineno])
    return EXAMPLES.sub("", raw).split("\n")


def _call_arguments(args: ast.arguments) -> str:
    """The call that forwards a function's arguments: required ones by position, those with
    a default by keyword (so a student's version without that parameter can be called)."""
    positional = args.posonlyargs + args.args
    required = len(positional) - len(args.defaults)
    parts = [a.arg for a in positional[:required]]
    parts += [f"{a.arg}={a.arg}" for a in positional[required:]]
    if args.vararg:
        parts.append(f"*{args.vararg.arg}")
    parts += [f"{a.arg}={a.arg}" for a in args.kwonlyargs]
    if args.kwarg:
        parts.append(f"**{args.kwarg.arg}")
    return ", ".join(parts)


def _indent_of(lines: list[str], lineno: int) -> str:
    line = lines[lineno - 1]
    return line[: len(line) - len(line.lstrip())]


def _stub(node, lines: list[str], dotted: str) -> list[str]:
    """The source lines that replace a withheld function or class."""
    first = min([d.lineno for d in node.decorator_list] + [node.lineno])
    head = lines[first - 1 : node.body[0].lineno - 1]  # decorators and signature
    indent = _indent_of(lines, node.body[0].lineno)
    if isinstance(node, ast.ClassDef):
        body = [
            f"{indent}def __new__(cls, *args, **kwargs):",
            f"{indent}    return yours({dotted!r})(*args, **kwargs)",
        ]
    else:
        body = [f"{indent}return yours({dotted!r})({_call_arguments(node.args)})"]
    return head + _docstring_source(node, lines) + body


def _module_path(root: Path, module: str) -> Path:
    relative = Path(*module.split("."))
    package = root / relative / "__init__.py"
    return package if package.is_file() else root / relative.with_suffix(".py")


def _add_import(text: str) -> str:
    """Import ``yours`` after the module's docstring and ``__future__`` import."""
    tree = ast.parse(text)
    after = 0
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant):
            after = node.end_lineno
        elif isinstance(node, ast.ImportFrom) and node.module == "__future__":
            after = node.end_lineno
        else:
            break
    lines = text.split("\n")
    lines.insert(after, "\nfrom course_pkg._yours import yours")
    return "\n".join(lines)


def stub_module(text: str, module: str, withheld: dict[str, Graded]) -> str:
    """The module's source with every withheld top-level function and class replaced."""
    tree = ast.parse(text)
    lines = text.split("\n")
    targets = [
        n
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and f"{module}.{n.name}" in withheld
    ]
    if not targets:
        return text
    for node in sorted(targets, key=lambda n: n.lineno, reverse=True):
        first = min([d.lineno for d in node.decorator_list] + [node.lineno])
        lines[first - 1 : node.end_lineno] = _stub(node, lines, f"{module}.{node.name}")
    return _add_import("\n".join(lines))


@functools.lru_cache(maxsize=4096)
def _names_in(text: str) -> frozenset[str]:
    """Every identifier used (read) in one source, as a name or an attribute (remembered:
    :func:`prune_private` asks again about the same sources until nothing changes)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update(node.module.split("."))
        elif isinstance(node, ast.alias):
            names.update(node.name.split("."))
    return frozenset(names)


def _referenced_names(texts) -> set[str]:
    """Every identifier used (read) in the given sources, as a name or an attribute."""
    names: set[str] = set()
    for text in texts:
        names |= _names_in(text)
    return names


def _defined_in(text: str) -> dict[str, ast.AST]:
    return {
        n.name: n
        for n in ast.parse(text).body
        if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
    }


def prune_private(sources: dict[Path, str], keep_texts=()) -> dict[Path, str]:
    """Drop private top-level functions and classes nothing uses any more, and private
    modules nothing imports, until nothing changes."""
    sources = dict(sources)
    while True:
        changed = False
        for path, text in list(sources.items()):
            others = [t for p, t in sources.items() if p != path] + list(keep_texts)
            used_elsewhere = _referenced_names(others)
            lines = text.split("\n")
            removable = []
            for name, node in _defined_in(text).items():
                if not name.startswith("_") or name.startswith("__"):
                    continue
                # uses inside the module other than the definition itself
                rest = lines[: node.lineno - 1] + lines[node.end_lineno :]
                used_here = name in _referenced_names(["\n".join(rest)]) if rest else False
                if name not in used_elsewhere and not used_here:
                    removable.append(node)
            for node in sorted(removable, key=lambda n: n.lineno, reverse=True):
                first = min([d.lineno for d in node.decorator_list] + [node.lineno])
                del lines[first - 1 : node.end_lineno]
                changed = True
            sources[path] = "\n".join(lines)
        for path in list(sources):
            stem = path.stem
            if stem.startswith("_") and stem not in ("__init__", "_yours"):
                others = [t for p, t in sources.items() if p != path] + list(keep_texts)
                if stem not in _referenced_names(others):
                    del sources[path]
                    changed = True
        if not changed:
            return sources


def _clean_unused_imports(text: str) -> str:
    """Remove ``from x import a, b`` names that the module no longer uses (after stubbing)."""
    tree = ast.parse(text)
    lines = text.split("\n")
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    import_lines = {i for n in imports for i in range(n.lineno, n.end_lineno + 1)}
    rest = [line for i, line in enumerate(lines, 1) if i not in import_lines]
    body_names = _referenced_names(["\n".join(rest)])
    exported = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            exported = {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
    for node in sorted(
        (n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module != "__future__"),
        key=lambda n: n.lineno,
        reverse=True,
    ):
        keep = [
            a for a in node.names if (a.asname or a.name) in body_names | exported or a.name == "*"
        ]
        if len(keep) == len(node.names):
            continue
        indent = _indent_of(lines, node.lineno)
        if keep:
            names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in keep)
            new = [f"{indent}from {'.' * node.level}{node.module or ''} import {names}"]
        else:
            new = []
        lines[node.lineno - 1 : node.end_lineno] = new
    return "\n".join(lines)


def strip_examples_using(text: str, names: set[str]) -> str:
    """Drop the Examples of any docstring whose examples call a withheld function."""
    tree = ast.parse(text)
    lines = text.split("\n")
    nodes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    edits = []
    for node in nodes:
        doc = ast.get_docstring(node, clean=False)
        if doc is None:
            continue
        examples = re.search(r"\n[ \t]*Examples\n[ \t]*-{3,}\n(.*)", doc, re.S)
        if examples and any(re.search(rf"\b{re.escape(n)}\b", examples[1]) for n in names):
            edits.append(node)
    for node in sorted(edits, key=lambda n: n.body[0].lineno, reverse=True):
        expr = node.body[0]
        lines[expr.lineno - 1 : expr.end_lineno] = _docstring_source(node, lines)
    return "\n".join(lines)


def build_package(course_root: Path, dest: Path, withheld: dict[str, Graded], keep_texts=()):
    """Write the student's ``course_pkg`` to ``dest/course_pkg``."""
    source_root = course_root / "course_pkg"
    sources: dict[Path, str] = {}
    for path in sorted(source_root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        sources[path.relative_to(course_root)] = path.read_text()
    for module in {dotted.rsplit(".", 1)[0] for dotted in withheld}:
        relative = _module_path(course_root, module).relative_to(course_root)
        sources[relative] = _clean_unused_imports(stub_module(sources[relative], module, withheld))
    names = {d.rsplit(".", 1)[1] for d in withheld}
    sources = {p: strip_examples_using(t, names) for p, t in sources.items()}
    sources = prune_private(sources, keep_texts)
    sources = {p: _clean_unused_imports(t) for p, t in sources.items()}
    # (assignment, part, the student's function to run, or "" for a companion that raises)
    entries = {}
    for dotted, g in withheld.items():
        if dotted not in COMPANIONS:
            entries[dotted] = (g.assignment, g.part, g.name, "")
        elif dotted in SAME_AS_OWNER:
            entries[dotted] = (g.assignment, g.part, withheld[COMPANIONS[dotted]].name, "")
        else:
            entries[dotted] = (g.assignment, g.part, "", COMPANIONS[dotted])
    template = (FILES / "_yours.py").read_text()
    if YOURS_TABLE not in template:
        raise RuntimeError(f"edition_files/_yours.py lost its line {YOURS_TABLE!r}")
    sources[Path("course_pkg/_yours.py")] = template.replace(
        YOURS_TABLE, f"WITHHELD: dict = {entries!r}", 1
    )
    sources[Path("course_pkg/yours/__init__.py")] = (
        '"""Your own functions, copied here from your notebooks by `make check`."""\n'
    )
    for relative, text in sources.items():
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for data in source_root.rglob("*"):
        if (
            data.is_file()
            and data.suffix not in (".py", ".pyc")
            and "__pycache__" not in data.parts
            and not any(
                data.relative_to(course_root).as_posix().startswith(omit) for omit in EDITION_OMITS
            )
        ):
            target = dest / data.relative_to(course_root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(data, target)


# ----------------------------------------------------------------------------- leaks


class _Canonical(ast.NodeTransformer):
    """Rename arguments and locals in order of appearance, drop docstrings."""

    def __init__(self):
        self.names: dict[str, str] = {}

    def _rename(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_FunctionDef(self, node):
        node.name = "f"
        node.decorator_list = []
        if ast.get_docstring(node, clean=False) is not None:
            node.body = node.body[1:] or [ast.Pass()]
        node.returns = None
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_arg(self, node):
        node.arg = self._rename(node.arg)
        node.annotation = None
        return node

    def visit_Name(self, node):
        node.id = self._rename(node.id)
        return node


def normalized(node) -> str:
    """A function's code with names, docstring and annotations normalised away."""
    return ast.dump(_Canonical().visit(copy.deepcopy(node)), annotate_fields=False)


def reference_fingerprints(course_root: Path, withheld: dict[str, Graded]) -> dict[str, str]:
    """normalized code -> dotted name, for every withheld function and its methods."""
    found = {}
    for dotted in withheld:
        module, name = dotted.rsplit(".", 1)
        text = _module_path(course_root, module).read_text()
        node = _defined_in(text).get(name)
        if node is None:
            continue
        functions = (
            [node]
            if not isinstance(node, ast.ClassDef)
            else [n for n in node.body if isinstance(n, ast.FunctionDef)]
        )
        for fn in functions:
            body = [s for s in fn.body if not isinstance(s, (ast.Expr, ast.Pass))]
            if len(body) >= 2 or any(isinstance(s, (ast.For, ast.While, ast.If)) for s in body):
                found[normalized(fn)] = dotted
    return found


def _code_of(line: str) -> str:
    """A line without its indentation and its inline comment (``  # ...``)."""
    return line.split("  # ")[0].strip()


def _enclosing_function(source: str, lineno: int) -> str | None:
    """The name of the top-level function or class around line ``lineno`` of a cell."""
    try:
        tree = ast.parse(SOLUTION_MARKERS.sub("# marker\n", source))
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            if node.lineno <= lineno <= node.end_lineno:
                return node.name
    return None


def secret_lines(course_root: Path, published=()) -> set[str]:
    """Distinctive lines of the answers and hidden tests students must not see.

    An answer inside a function is secret while the assignment that grades that
    function first is unpublished (a5 repeats a1's rnn_forward: a1 decides); other
    answer lines and the hidden tests, while their own assignment is unpublished.
    """
    owner = {g.name: g.assignment for g in graded_functions(course_root)}
    lines = set()
    for assignment in course_settings(course_root)["ASSIGNMENTS"]:
        path = course_root / "solutions" / assignment / f"{assignment}.ipynb"
        for cell in nbformat.read(path, as_version=4).cells:
            kept = []
            for match in SOLUTION_BLOCK.finditer(cell.source):
                start = cell.source[: match.start(1)].count("\n") + 1
                function = _enclosing_function(cell.source, start)
                if owner.get(function, assignment) not in published:
                    kept.append(match[1])
            if assignment not in published:
                kept += HIDDEN_BLOCK.findall(cell.source)
            for block in kept:
                for line in block.splitlines():
                    code = _code_of(line)
                    if len(code) > 25 and not code.startswith("#"):
                        lines.add(code)
    return lines


def answer_windows(course_root: Path, assignments, size: int = 3) -> set[str]:
    """Every run of ``size`` consecutive non-blank lines of an answer (stripped), joined by
    newlines: a piece of an implementation, where one line alone may be generic."""
    windows = set()
    for assignment in assignments:
        path = course_root / "solutions" / assignment / f"{assignment}.ipynb"
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            for block in SOLUTION_BLOCK.findall(cell.source):
                lines = [s for s in (x.strip() for x in block.splitlines()) if s and s[0] != "#"]
                for i in range(len(lines) - size + 1):
                    windows.add("\n".join(lines[i : i + size]))
    return windows


def holds_an_answer(text: str, windows: set[str], size: int = 3) -> str | None:
    """The first answer window found in ``text`` (compared line by line, stripped), if any."""
    lines = [s for s in (x.strip() for x in text.splitlines()) if s and s[0] != "#"]
    for i in range(len(lines) - size + 1):
        window = "\n".join(lines[i : i + size])
        if window in windows:
            return window
    return None


def public_lines(course_root: Path, withheld: dict[str, Graded]) -> set[str]:
    """Lines students see anyway: the released notebooks, and the package's code outside
    withheld functions."""
    lines = set()
    for path in (course_root / "assignments").glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            lines.update(_code_of(line) for line in cell.source.splitlines())
    for path in (course_root / "course_pkg").rglob("*.py"):
        text = path.read_text()
        module = ".".join(path.relative_to(course_root).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        hidden = [
            (n.lineno, n.end_lineno)
            for name, n in _defined_in(text).items()
            if f"{module}.{name}" in withheld
        ]
        for i, line in enumerate(text.split("\n"), 1):
            if not any(first <= i <= last for first, last in hidden):
                lines.add(_code_of(line))
    return lines


def find_leaks(
    edition: Path, course_root: Path, withheld: dict[str, Graded], published=None
) -> list[str]:
    """What in ``edition`` a student must not have; an empty list when nothing.

    ``published`` defaults to SOLUTIONS_PUBLISHED of the course's ``nbgrader_config.py``.
    """
    if published is None:
        published = course_settings(course_root)["SOLUTIONS_PUBLISHED"]
    problems = []
    # a line is no secret if students see it anyway: in a release, or in package code
    # that is not withheld (`for name, p in params.items():` is in many places)
    secrets = secret_lines(course_root, published)
    secrets -= public_lines(course_root, withheld)
    fingerprints = reference_fingerprints(course_root, withheld)
    for path in sorted(edition.rglob("*")):
        relative = path.relative_to(edition)
        if set(relative.parts) & set(INSTRUCTOR_ONLY):
            problems.append(f"{relative}: an instructor-only file")
            continue
        if not path.is_file():
            continue
        if path.suffix in (".pyc", ".so", ".pyd"):
            problems.append(f"{relative}: a compiled file")
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if path.suffix == ".ipynb":
            cells = json.loads(text)["cells"]
            text = "\n".join("".join(c["source"]) for c in cells)
        for line in sorted(secrets):
            if line in text:
                problems.append(f"{relative}: holds an answer or hidden-test line: {line[:70]!r}")
                break
        if path.suffix == ".py":
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    owner = fingerprints.get(normalized(node))
                    if owner:
                        problems.append(f"{relative}: {node.name} is the code of {owner}")
    return problems


# ----------------------------------------------------------------------------- the edition


def manifest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "MANIFEST.json"
    }


def answers_module(cells: list, assignment: str) -> str:
    """What the edition's ``make check`` writes to ``course_pkg/yours/<assignment>.py`` for a
    notebook's cells: the same function, so grading runs a student's code as they ran it."""
    spec = importlib.util.spec_from_file_location("edition_course", FILES / "course.py")
    course = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(course)
    return course.answers_text(cells, assignment)


def grading_edition(course_root: Path, assignment: str, dest: Path) -> Path:
    """The student edition a submission of ``assignment`` is graded on; its ``course_pkg``.

    It holds the assignments up to this one; every function this assignment or a
    later one grades is a stub (the kernel runs the student's own), and the
    functions of earlier assignments are the reference, as in the edition
    students have once those solutions are published.
    """
    order = course_settings(course_root)["ASSIGNMENTS"]
    if assignment not in order:
        raise ValueError(f"no assignment {assignment!r}; the course has {order}")
    earlier = order[: order.index(assignment)]
    build_edition(course_root, dest, released=[*earlier, assignment], published=earlier)
    return dest / "course_pkg"


def build_edition(course_root: Path, dest: Path, *, released=None, published=None) -> Path:
    """Write the edition to ``dest`` and its archive beside it; return the archive.

    ``released``/``published`` override RELEASED/SOLUTIONS_PUBLISHED of the
    course's ``nbgrader_config.py``. Raises ``RuntimeError`` listing what
    leaked if the edition would hold anything of the instructor's.
    """
    settings = course_settings(course_root)
    released = list(settings["RELEASED"] if released is None else released)
    published = sorted(settings["SOLUTIONS_PUBLISHED"] if published is None else published)
    withheld = withheld_functions(course_root, published)
    graded = graded_functions(course_root)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    keep = []  # what the notebooks use of the package is never pruned
    for assignment in released:
        name = f"{assignment}.ipynb"
        (dest / "assignments" / assignment).mkdir(parents=True)
        shutil.copy(
            course_root / "assignments" / assignment / name,
            dest / "assignments" / assignment / name,
        )
        notebook = nbformat.read(dest / "assignments" / assignment / name, as_version=4)
        keep += [c.source for c in notebook.cells if c.cell_type == "code"]
    build_package(course_root, dest, withheld, keep_texts=keep)
    for name in ("README.md", "Makefile", "course.py", "requirements.txt"):
        shutil.copy(FILES / name, dest / name)
    (dest / "edition.json").write_text(
        json.dumps(
            {
                "assignments": released,
                "solutions_published": published,
                "fills_in": {
                    a: [{"function": g.dotted, "part": g.part} for g in graded if g.assignment == a]
                    for a in released
                },
            },
            indent=1,
        )
        + "\n"
    )
    (dest / "MANIFEST.json").write_text(json.dumps(manifest(dest), indent=1) + "\n")
    leaks = find_leaks(dest, course_root, withheld, published)
    if leaks:
        raise RuntimeError("the student edition would leak:\n  " + "\n  ".join(leaks))
    archive = dest.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(dest.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(str(Path(dest.name) / path.relative_to(dest)))
                info.date_time = (2026, 1, 1, 0, 0, 0)  # the same bytes for the same edition
                info.external_attr = (0o755 if path.name == "course.py" else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
    return archive
