"""Helpers for the student edition's tests: build it, work in it as a student would."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder.edition import build_edition, course_settings
from autograder.sample import solution_notebook
from autograder.stage import nbgrader_meta

from nbgrader_util import ROOT

ALL = course_settings(ROOT)["ASSIGNMENTS"]


def build_every_assignment(dest: Path) -> Path:
    """Every assignment released, no solution published; returns the archive."""
    return build_edition(ROOT, dest, released=ALL, published=[])


def copy_of(edition_dir: Path, tmp: Path) -> Path:
    student = tmp / "student"
    shutil.copytree(edition_dir, student)
    return student


def paste_solution(student: Path, assignment: str) -> None:
    """What a student who solved the assignment has in their notebook."""
    source = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    answers = {
        nbgrader_meta(c)["grade_id"]: c.source
        for c in solution_notebook(source).cells
        if nbgrader_meta(c).get("solution")
    }
    path = student / "assignments" / assignment / f"{assignment}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if nbgrader_meta(cell).get("grade_id") in answers:
            cell.source = answers[nbgrader_meta(cell)["grade_id"]]
    nbformat.write(notebook, path)


def course(student: Path, *args: str, python: str = sys.executable, timeout: int = 900):
    """Run the edition's course.py (with this test environment's Python, which has
    what the edition needs, and imports the edition's own course_pkg)."""
    env = {**os.environ, "PYTHONPATH": str(student)}
    return subprocess.run(
        [python, "course.py", *args],
        cwd=student,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def module_source(root: Path, dotted: str) -> str:
    module = dotted.rsplit(".", 1)[0]
    relative = Path(*module.split("."))
    package = root / relative / "__init__.py"
    return (package if package.is_file() else root / relative.with_suffix(".py")).read_text()


def definition(text: str, name: str):
    return next(
        n
        for n in ast.parse(text).body
        if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == name
    )
