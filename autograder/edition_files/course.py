#!/usr/bin/env python3
"""The student's tool: set up, open JupyterLab, check an assignment, submit, update.

    python3 course.py lab                     set up on first use, then open JupyterLab
    python3 course.py check a1_unfolding      run the assignment's visible tests
    python3 course.py submit a1_unfolding     pack the notebook to upload
    python3 course.py update NEW.zip          take a new edition, keep your work
    python3 course.py selftest                check that this edition is complete

(On Windows, write `py course.py ...`; elsewhere `make lab`, `make check A=...` do
the same.) Only the standard library is used until the environment exists.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
MINIMUM = (3, 11)


def venv_python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    return VENV / scripts / ("python.exe" if os.name == "nt" else "python")


def ready() -> bool:
    """This Python has what the course needs, and imports this edition's course_pkg."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return True
    import importlib.util

    spec = importlib.util.find_spec("course_pkg")
    return (
        importlib.util.find_spec("nbclient") is not None
        and spec is not None
        and Path(spec.origin).resolve().parent == ROOT / "course_pkg"
    )


def setup() -> Path:
    """Create .venv with what the course needs (once), and make course_pkg importable."""
    python = venv_python()
    stamp = VENV / ".course-installed"
    requirements = ROOT / "requirements.txt"
    if stamp.is_file() and stamp.read_text() == requirements.read_text():
        return python
    if sys.version_info < MINIMUM:
        sys.exit(f"Python {'.'.join(map(str, MINIMUM))} or newer is needed, this is {sys.version}")
    print("setting up .venv (once; a few minutes) ...", flush=True)
    venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(requirements)], check=True)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "course_edition.pth").write_text(str(ROOT) + "\n")  # import course_pkg
    # a student has no course to manage: keep only nbgrader's student tools in JupyterLab
    jupyter = [str(python), "-m", "jupyter"]
    unwanted = [
        *(
            ["labextension", "disable", "--level=sys_prefix", f"@jupyter/nbgrader:{name}"]
            for name in ("formgrader", "course-list", "create-assignment", "assignment-list")
        ),
        *(
            ["server", "extension", "disable", "--sys-prefix", f"nbgrader.server_extensions.{name}"]
            for name in ("formgrader", "course_list", "assignment_list")
        ),
    ]
    for command in unwanted:
        subprocess.run([*jupyter, *command], check=False, capture_output=True)
    stamp.write_text(requirements.read_text())
    return python


def rerun_in_venv(argv: list[str]) -> None:
    """Run this command again with the environment's Python."""
    python = setup()
    sys.exit(subprocess.run([str(python), __file__, *argv], check=False).returncode)


def assignments() -> list[str]:
    return json.loads((ROOT / "edition.json").read_text())["assignments"]


def notebook_path(assignment: str) -> Path:
    if assignment not in assignments():
        sys.exit(
            f"no assignment {assignment!r} in this edition; it has: {', '.join(assignments())}"
        )
    return ROOT / "assignments" / assignment / f"{assignment}.ipynb"


# --------------------------------------------------------------------------- check


def grade_id(cell) -> str:
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id", "")


def answers_text(cells: list, assignment: str) -> str:
    """The module `make check` writes: the imports of every code cell, then the functions and
    classes of your answer cells and of code cells you added (``cells`` as in the .ipynb)."""
    imports, definitions = [], []
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            segment = ast.get_source_segment(source, node)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                if segment not in imports:
                    imports.append(segment)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and (
                meta.get("solution") or not meta  # your answers, and cells you added
            ):
                definitions.append(segment)
    text = f'"""Your functions from {assignment}.ipynb, copied by `make check`."""\n\n'
    return text + "\n".join(imports) + "\n\n\n" + "\n\n\n".join(definitions) + "\n"


def export_answers(assignment: str) -> Path:
    """Copy the functions of your answer cells into course_pkg/yours/<assignment>.py."""
    cells = json.loads(notebook_path(assignment).read_text())["cells"]
    target = ROOT / "course_pkg" / "yours" / f"{assignment}.py"
    target.write_text(answers_text(cells, assignment))
    return target


def check(assignment: str) -> int:
    """Run the notebook top to bottom; report every test cell; 0 if all passed."""
    import nbformat
    from nbclient import NotebookClient

    path = notebook_path(assignment)
    notebook = nbformat.read(path, as_version=4)
    # first, so that course_pkg's own code (models, training) already runs your functions
    export_answers(assignment)
    client = NotebookClient(
        notebook,
        timeout=600,
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},  # where JupyterLab would run it
    )
    print(f"running {path.relative_to(ROOT)} top to bottom ...", flush=True)
    client.execute()
    failed = 0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        name = grade_id(cell) or f"cell {index}"
        is_test = name.startswith("test")
        if errors:
            failed += 1
            error = errors[0]
            print(f"FAILED  {name}: {error.get('ename')}: {error.get('evalue')}")
        elif is_test:
            print(f"passed  {name}")
    if failed:
        print(f"\n{failed} cell(s) failed: fix the first one first, then check again.")
        return 1
    print("\nevery visible test passed. Hidden tests check more when your work is graded.")
    return 0


# --------------------------------------------------------------------------- submit, update


def submit(assignment: str) -> int:
    status = check(assignment)
    out = ROOT / "submit"
    out.mkdir(exist_ok=True)
    target = out / f"{assignment}.ipynb"
    shutil.copy(notebook_path(assignment), target)
    print(f"\nwrote {target.relative_to(ROOT)}: upload this file, with this name, to the")
    print(f"course's learning platform under {assignment}.")
    if status:
        print("(some visible tests fail: you may still submit, but check the failures above)")
    return 0


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def update(archive: str) -> int:
    """Take a new edition from its zip; never overwrite a notebook you have changed."""
    shipped = json.loads((ROOT / "MANIFEST.json").read_text())
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp)
        (new_root,) = [p for p in Path(tmp).iterdir() if p.is_dir()]
        for path in sorted(new_root.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(new_root)
            target = ROOT / relative
            mine = target.is_file() and file_hash(target) != shipped.get(str(relative))
            if relative.suffix == ".ipynb" and mine:
                if file_hash(target) != file_hash(path):
                    kept = target.with_name(target.stem + ".new.ipynb")
                    shutil.copy(path, kept)
                    print(f"kept your {relative}; the new version is {kept.relative_to(ROOT)}")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
        shutil.copy(new_root / "MANIFEST.json", ROOT / "MANIFEST.json")
    print("updated: assignments and course_pkg are the new edition's; your work is kept")
    return 0


def selftest() -> int:
    """course_pkg imports, every stub names its assignment, every notebook is readable."""
    import importlib

    from course_pkg._yours import WITHHELD

    problems = []
    for dotted in WITHHELD:
        module_name, name = dotted.rsplit(".", 1)
        module = importlib.import_module(module_name)
        if not callable(getattr(module, name, None)):
            problems.append(f"{dotted} is missing")
        elif f"yours({dotted!r})" not in Path(module.__file__).read_text():
            problems.append(f"{dotted} is not a stub")
    for assignment in assignments():
        json.loads(notebook_path(assignment).read_text())
    for problem in problems:
        print("PROBLEM", problem)
    verdict = "problems above" if problems else "ok"
    print(f"{len(WITHHELD)} stubs, {len(assignments())} assignments: {verdict}")
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "setup":
        setup()
        return 0
    if not ready():
        rerun_in_venv(argv)
    if command == "lab":  # any further words go to JupyterLab (--port=8890, --no-browser)
        lab = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            f"--ServerApp.root_dir={ROOT / 'assignments'}",
        ]
        if os.name == "nt":
            return subprocess.run([*lab, *rest], check=False).returncode
        os.execv(sys.executable, [*lab, *rest])  # JupyterLab in this process: Ctrl-C stops it
    if command in ("check", "submit") and len(rest) == 1:
        return (check if command == "check" else submit)(rest[0])
    if command == "update" and len(rest) == 1:
        return update(rest[0])
    if command == "selftest":
        return selftest()
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
