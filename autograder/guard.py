"""In-kernel guard against answers that try to pass the tests without solving them.

A student's answer cell runs in the same Python process as the tests, so it
could replace ``numpy.allclose``, a builtin, a ``course_pkg`` helper, a name
the setup cell imported, or IPython's error display, and make a failing test
look like a passing one. The grader therefore inserts:

- a **guard cell** before any student code, which snapshots the public
  attributes of numpy, the builtins, math and every ``course_pkg`` module,
  the interpreter's hooks and IPython's execution machinery;
- a **restore cell** before every test cell, which puts back anything that
  changed, re-runs the setup cell's imports, and prints one line
  ``<nonce>:restore:<grade_id>:clean`` or ``...:tampered:<what>``.

The grader reads those lines afterwards (:func:`read_restore_report`): a
test cell whose restore line is missing, or any tampering, zeroes the
submission's autograded score. The nonce is drawn fresh for every grading
run, so an answer cannot print a line in advance.

Limits: this raises the bar, it does not make in-process grading
tamper-proof. Code that finds the guard object through the garbage
collector, or that rewrites the cells IPython is about to run, can still
interfere; the restore line and the sandbox (no network, no access to the
solutions) limit what it can gain.
"""

from __future__ import annotations

import ast
import re

GUARD_PREFIX = "__course_guard_"  # starts every name and cell the guard adds to a notebook

GUARD_TEMPLATE = r"""
def __course_guard_install(nonce, setup_imports):
    import builtins, importlib, math, pkgutil, sys
    import numpy, numpy.linalg, numpy.random, numpy.testing
    import course_pkg

    for info in pkgutil.walk_packages(course_pkg.__path__, "course_pkg."):
        importlib.import_module(info.name)
    shell = get_ipython()
    # What the course's own cells import, and the hooks that importing and plotting register,
    # belong to the baseline: only a change made after this point is tampering.
    exec(setup_imports, shell.user_ns)
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].install_repl_displayhook()  # done at the first plot
    modules = [builtins, math, numpy, numpy.linalg, numpy.random, numpy.testing]
    modules += [m for name, m in sorted(sys.modules.items()) if name.startswith("course_pkg")]
    snapshot = {m.__name__: (m, dict(vars(m))) for m in modules}
    saved_modules = {name: m for name, (m, _) in snapshot.items()}
    shell_names = ("run_cell", "run_cell_async", "run_code", "run_ast_nodes", "showtraceback",
                   "_showtraceback", "showsyntaxerror", "transform_cell", "set_custom_exc")
    def function_of(obj):
        return getattr(obj, "__func__", obj)

    shell_saved = {n: getattr(shell, n) for n in shell_names if hasattr(shell, n)}
    custom_exceptions = shell.custom_exceptions
    events = {name: list(cbs) for name, cbs in shell.events.callbacks.items()}
    transformers = list(shell.input_transformers_post)
    hooks = {"profile": sys.getprofile(), "trace": sys.gettrace()}
    # names the kernel itself rebinds while it runs (input() is re-wired per request)
    ignore_builtins = {"_", "__", "___", "display", "get_ipython", "__IPYTHON__", "help", "input"}

    def restore(grade_id):
        changed = []
        for name, (module, saved) in snapshot.items():
            current = vars(module)
            for key, value in saved.items():
                if key.startswith("_") and module is not builtins:
                    continue
                if module is builtins and key in ignore_builtins:
                    continue
                if current.get(key, saved) is not value:
                    changed.append(f"{name}.{key}")
                    current[key] = value
        for name, module in saved_modules.items():
            if sys.modules.get(name) is not module:
                changed.append(f"sys.modules[{name!r}]")
                sys.modules[name] = module
        for name, value in shell_saved.items():
            if function_of(getattr(shell, name)) is not function_of(value):
                changed.append(f"IPython shell.{name}")
                vars(shell).pop(name, None)
                if function_of(getattr(shell, name)) is not function_of(value):
                    setattr(shell, name, value)
        if shell.custom_exceptions != custom_exceptions:
            changed.append("IPython custom exception handler")
            shell.set_custom_exc((), None)
        for name, cbs in events.items():
            if shell.events.callbacks.get(name) != cbs:
                changed.append(f"IPython event {name}")
                shell.events.callbacks[name][:] = cbs
        if shell.input_transformers_post != transformers:
            changed.append("IPython input transformers")
            shell.input_transformers_post[:] = transformers
        if sys.getprofile() is not hooks["profile"] or sys.gettrace() is not hooks["trace"]:
            changed.append("sys profile/trace hook")
            sys.setprofile(hooks["profile"])
            sys.settrace(hooks["trace"])
        exec(setup_imports, shell.user_ns)
        status = "tampered:" + ",".join(sorted(set(changed))) if changed else "clean"
        print(f"{nonce}:restore:{grade_id}:{status}", flush=True)

    return restore


__course_guard_{nonce} = __course_guard_install({nonce!r}, {setup_imports!r})
del __course_guard_install
"""


def setup_imports(source_nb) -> str:
    """The top-level import statements of the instructor's locked (read-only) cells."""
    lines = []
    for cell in source_nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("locked") or meta.get("grade"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                lines.append(ast.unparse(node))
    return "\n".join(lines)


def guard_cell_source(nonce: str, source_nb) -> str:
    if not re.fullmatch(r"[0-9a-f]{16,64}", nonce):
        raise ValueError(f"nonce must be 16-64 lowercase hex digits, got {nonce!r}")
    return (
        GUARD_TEMPLATE.replace("{nonce}", nonce)
        .replace("{nonce!r}", repr(nonce))
        .replace("{setup_imports!r}", repr(setup_imports(source_nb)))
        .strip()
    )


def restore_cell_source(nonce: str, grade_id: str) -> str:
    return f"{GUARD_PREFIX}{nonce}({grade_id!r})"


def read_restore_report(notebook, nonce: str, test_ids: list[str]) -> tuple[list, list]:
    """From an executed graded notebook: (test ids without a restore line, tampering found)."""
    pattern = re.compile(rf"^{nonce}:restore:([^:\n]+):(.*)$", re.M)
    seen, tampering = set(), []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                for grade_id, status in pattern.findall(out.get("text", "")):
                    seen.add(grade_id)
                    if status != "clean":
                        tampering.append(status.removeprefix("tampered:"))
    return [g for g in test_ids if g not in seen], tampering
