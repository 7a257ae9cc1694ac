"""What in a submission a person should look at: code that reaches outside its answers.

The grader's verdict never depends on this scan: the sandbox and the judge
already make these attempts fail. The scan tells the instructor (the
report's "Needs a look", the ``integrity`` column) and the student (their
feedback) what was attempted, so that a zero is never unexplained.

It reads the submitted notebook as text, in the grader's process, and
parses its code with :mod:`ast` (nothing is run). Flagged are:

- test cells of the release that were changed, deleted or turned into
  Markdown (grading restores them, so this costs nothing, but it is seen);
- in code the student wrote: imports of modules that reach the system, the
  kernel or the interpreter's internals (``os``, ``glob``, ``sqlite3``,
  ``subprocess``, ``gc``, ``threading``, ``inspect``...), ``get_ipython()``,
  ``open``/``exec``/``eval``/``compile``/``__import__``, assignments to
  other objects' attributes (patching ``numpy``, ``builtins`` or the
  checks), the interpreter's internals (``__code__``, ``__globals__``,
  frames), ``numpy.ndarray`` subclasses, and the course package's own
  version of a function the assignment grades;
- outputs that a browser would run (script, event handlers, JavaScript).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

MAX_SCAN_BYTES = 20_000_000

SYSTEM_MODULES = {
    "atexit",
    "builtins",
    "ctypes",
    "dis",
    "gc",
    "glob",
    "importlib",
    "inspect",
    "IPython",
    "ipykernel",
    "jupyter_client",
    "marshal",
    "multiprocessing",
    "os",
    "pathlib",
    "pickle",
    "pty",
    "resource",
    "shutil",
    "signal",
    "socket",
    "sqlite3",
    "subprocess",
    "sys",
    "threading",
    "traceback",
    "types",
    "weakref",
    "zmq",
}
CALLS = {"open", "exec", "eval", "compile", "__import__", "get_ipython", "breakpoint", "globals"}
INTERNALS = {
    "__code__",
    "__globals__",
    "__builtins__",
    "__subclasses__",
    "__closure__",
    "_getframe",
    "f_back",
    "f_code",
    "f_globals",
    "f_locals",
    "gi_frame",
    "user_ns",
}
SCRIPT = re.compile(r"<script|\son\w+\s*=|javascript:", re.I)
RUNNABLE_MIME = ("application/javascript", "text/javascript")


def _cells(nb: dict) -> list[dict]:
    cells = nb.get("cells", []) if isinstance(nb, dict) else []
    return [c for c in cells if isinstance(c, dict)]


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _text(cell: dict) -> str:
    """A cell's source without trailing spaces and blank lines (which editors change)."""
    return "\n".join(line.rstrip() for line in _source(cell).strip().splitlines())


def _meta(cell: dict) -> dict:
    meta = cell.get("metadata", {})
    meta = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return meta if isinstance(meta, dict) else {}


def graded_functions(source_nb: dict) -> set[str]:
    """The functions the assignment's answer cells define (what students implement)."""
    names = set()
    for cell in _cells(source_nb):
        if _meta(cell).get("solution") and cell.get("cell_type") == "code":
            names |= set(re.findall(r"^def (\w+)", _source(cell), flags=re.M))
    return names


def _dotted(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Call):
        inner = _dotted(node.func)
        return f"{inner}()" if inner else ""
    return ""


def _assigned(target) -> list[ast.Attribute]:
    """The attributes an assignment target changes: ``a.b = ...``, ``a.b[k] = ...``."""
    if isinstance(target, ast.Attribute):
        return [target]
    if isinstance(target, ast.Subscript):
        return _assigned(target.value)
    if isinstance(target, ast.Tuple | ast.List):
        return [a for element in target.elts for a in _assigned(element)]
    if isinstance(target, ast.Starred):
        return _assigned(target.value)
    return []


def code_flags(code: str, graded: set[str]) -> set[str]:
    """What one cell of student code does that answers do not need."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()  # it will fail when run; nothing to say here
    flags = set()
    try:
        nodes = list(ast.walk(tree))
    except RecursionError:
        return {"code nested too deeply to read"}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root in SYSTEM_MODULES:
                    flags.add(f"imports {root}")
                if root == "course_pkg" and alias.name != "course_pkg.checks":
                    flags.add(f"imports {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            if root in SYSTEM_MODULES:
                flags.add(f"imports {root}")
            if root == "course_pkg":
                for alias in node.names:
                    if alias.name in graded:
                        flags.add(f"uses course_pkg's own {alias.name}")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in CALLS:
                flags.add(f"calls {name}()")
        elif isinstance(node, ast.Attribute):
            if node.attr in INTERNALS:
                flags.add(f"reaches {node.attr}")
            base = _dotted(node.value)
            if base.startswith("course_pkg") and node.attr in graded:
                flags.add(f"uses course_pkg's own {node.attr}")
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for part in _assigned(target):
                    if _dotted(part.value) not in ("self", ""):
                        flags.add(f"assigns {_dotted(part)}")
        elif isinstance(node, ast.ClassDef):
            for base in node.bases:
                if _dotted(base).endswith("ndarray"):
                    flags.add(f"subclasses {_dotted(base)}")
    return flags


def integrity_flags(submission: Path, source_nb: dict, release_nb: dict) -> list[str]:
    """What a person should look at in a submitted notebook (sorted, empty when nothing)."""
    try:
        if submission.stat().st_size > MAX_SCAN_BYTES:
            return [f"notebook larger than {MAX_SCAN_BYTES // 1_000_000} MB: not scanned"]
        nb = json.loads(submission.read_text(errors="replace"))
    except (OSError, ValueError, RecursionError):
        return []  # unreadable: its status already says so
    cells = _cells(nb)
    flags: set[str] = set()
    given = {_text(c) for c in _cells(release_nb) if c.get("cell_type") == "code"}
    tests = {
        _meta(c)["grade_id"]: _text(c)
        for c in _cells(release_nb)
        if _meta(c).get("grade") and not _meta(c).get("solution") and c.get("cell_type") == "code"
    }
    by_id: dict[str, list[dict]] = {}
    for cell in cells:
        grade_id = _meta(cell).get("grade_id")
        if isinstance(grade_id, str):
            by_id.setdefault(grade_id, []).append(cell)
    code_sources = {_text(c) for c in cells if c.get("cell_type") == "code"}
    for grade_id, text in tests.items():
        mine = by_id.get(grade_id, [])
        if text in code_sources:
            continue  # the test is there as released (under its id or not)
        if any(c.get("cell_type") != "code" for c in mine):
            flags.add(f"test cell {grade_id} turned into Markdown")
        elif mine:
            flags.add(f"test cell {grade_id} changed")
        else:
            flags.add(f"test cell {grade_id} deleted")
    graded = graded_functions(source_nb)
    for cell in cells:
        if cell.get("cell_type") == "code" and _text(cell) not in given:
            flags |= code_flags(_source(cell), graded)
        for output in cell.get("outputs", []) if isinstance(cell.get("outputs"), list) else []:
            data = output.get("data", {}) if isinstance(output, dict) else {}
            if not isinstance(data, dict):
                continue
            if any(m in data for m in RUNNABLE_MIME) or any(
                SCRIPT.search(str(v)) for m, v in data.items() if "html" in m or "svg" in m
            ):
                flags.add("outputs a browser would run (shown as text in feedback)")
    return sorted(flags)
