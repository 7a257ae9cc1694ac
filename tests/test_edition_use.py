"""Working in the student edition as a student would.

Every assignment in order, each checked with the edition's own `course.py
check` (blank: exit status 1; solved: 0, every visible test passed), and the
edition set up from its archive, in a fresh environment, with its own two commands: JupyterLab
serves the assignments, check, selftest, submit, and an update that keeps
the student's work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.edition import build_edition
from autograder.stage import autograded_cell_ids

from edition_util import (
    ALL,
    build_every_assignment,
    copy_of,
    course,
    paste_solution,
)
from nbgrader_util import ROOT, JupyterServer


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    """Every assignment released, no solution published: (folder, archive)."""
    dest = tmp_path_factory.mktemp("edition") / "student"
    return dest, build_every_assignment(dest)


@pytest.fixture(scope="module")
def worked_in_order(edition, tmp_path_factory):
    """A student who works every assignment in order in the edition: for each, `course.py
    check` on the blank notebook, then on the solved one (which puts its functions into
    course_pkg/yours for the assignments after it). assignment -> (blank run, solved run)."""
    student = copy_of(edition[0], tmp_path_factory.mktemp("in-order"))
    runs = {}
    for assignment in ALL:
        blank = course(student, "check", assignment)
        paste_solution(student, assignment)
        runs[assignment] = (blank, course(student, "check", assignment))
    return runs


@pytest.mark.parametrize("assignment", ALL)
def test_a_student_who_did_the_previous_assignments_can_do_this_one(worked_in_order, assignment):
    blank, solved = worked_in_order[assignment]
    assert blank.returncode == 1, blank.stdout[-2000:] + blank.stderr[-1000:]
    assert "FAILED" in blank.stdout and "fix the first one first" in blank.stdout
    first = next(line for line in blank.stdout.splitlines() if line.startswith("FAILED"))
    assert "is not written yet" in first or "NotImplementedError: " not in first, first
    assert solved.returncode == 0, solved.stdout[-3000:] + solved.stderr[-2000:]
    release = nbformat.read(ROOT / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)
    tests = autograded_cell_ids(release)
    passed = [line.split()[1] for line in solved.stdout.splitlines() if line.startswith("passed")]
    assert passed == tests


def test_a_student_sets_up_from_the_archive_with_its_two_commands(edition, tmp_path):
    """A new machine: unzip, `make lab` (which sets up), `make check`, submit, update."""
    _, archive = edition
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp_path)
    student = tmp_path / "student"
    readme = (student / "README.md").read_text().split("```bash\n")[1].splitlines()
    assert readme[0].startswith("make lab ") and readme[1].startswith("make check A=a1_unfolding")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join(
        p
        for p in env["PATH"].split(os.pathsep)
        if not p.startswith(str(Path(sys.executable).parent))
    )

    def make(*args, timeout=1200):
        return subprocess.run(
            ["make", *args], cwd=student, env=env, capture_output=True, text=True, timeout=timeout
        )

    done = make("setup")  # what `make lab` does first
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    python = str(student / ".venv" / "bin" / "python")
    installed = subprocess.run(
        [python, "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True
    )
    packages = {p["name"].lower() for p in json.loads(installed.stdout)}
    assert {"numpy", "matplotlib", "jupyterlab", "nbgrader", "tqdm"} <= packages
    assert not packages & {"torch", "playwright", "jupyter-book", "pytest"}, packages

    lab = JupyterServer(  # `make lab`, on a free port
        [python, "course.py", "lab"],
        cwd=student,
        log=student / "lab.log",
        env={**os.environ, "HOME": str(student)},
        ready="/api/status",
    )
    try:
        listing = lab.request("GET", "/api/contents/a1_unfolding")
        assert [item["name"] for item in listing["content"]] == ["a1_unfolding.ipynb"]
    finally:
        lab.close()

    blank = make("check", "A=a1_unfolding")
    assert blank.returncode != 0 and "FAILED  test_activation_values" in blank.stdout
    paste_solution(student, "a1_unfolding")
    done = make("check", "A=a1_unfolding")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "every visible test passed" in done.stdout
    assert make("selftest").returncode == 0
    done = make("submit", "A=a1_unfolding")
    assert done.returncode == 0 and "upload this file" in done.stdout
    submitted = student / "submit" / "a1_unfolding.ipynb"
    assert (
        submitted.read_bytes()
        == (student / "assignments" / "a1_unfolding" / "a1_unfolding.ipynb").read_bytes()
    )

    # the instructor publishes a1's solutions and hands out a new edition
    newer = tmp_path / "newer" / "student"
    new_archive = build_edition(ROOT, newer, published=["a1_unfolding"])
    done = make("update", f"ZIP={new_archive}")
    assert done.returncode == 0, done.stdout + done.stderr
    mine = student / "assignments" / "a1_unfolding" / "a1_unfolding.ipynb"
    assert mine.read_bytes() == submitted.read_bytes(), "the student's work was overwritten"
    assert (student / "assignments" / "a1_unfolding" / "a1_unfolding.new.ipynb").is_file()
    assert (
        "yours('course_pkg.rnn.rnn_forward')" not in (student / "course_pkg" / "rnn.py").read_text()
    )
    assert (student / "course_pkg" / "yours" / "a1_unfolding.py").is_file()
    done = make("check", "A=a1_unfolding")
    assert done.returncode == 0, done.stdout[-3000:]
