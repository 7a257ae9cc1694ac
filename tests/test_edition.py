"""The student edition: nothing of the instructor's in it, and every assignment works in it.

`make student-edition` builds what students receive (autograder.edition). These
tests build it as the course's settings say, look for anything a student must
not have (and plant leaks to see them caught), then work the assignments as a
student would: in order, each checked with the edition's own `course.py check`.
One test sets the edition up from its archive with its own two commands, in a
fresh environment, as a student on a new machine does.
"""

from __future__ import annotations

import ast
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.edition import (
    INSTRUCTOR_ONLY,
    answer_windows,
    build_edition,
    course_settings,
    find_leaks,
    graded_functions,
    holds_an_answer,
    normalized,
    withheld_functions,
)
from autograder.sample import solution_notebook
from autograder.stage import nbgrader_meta

from nbgrader_util import ROOT

SETTINGS = course_settings(ROOT)
ALL = SETTINGS["ASSIGNMENTS"]


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    """Every assignment released, no solution published: (folder, archive)."""
    dest = tmp_path_factory.mktemp("edition") / "student"
    return dest, build_edition(ROOT, dest, released=ALL, published=[])


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


# ----------------------------------------------------------------------------- the declaration


def test_graded_functions_are_what_the_answer_cells_define():
    graded = graded_functions(ROOT)
    by_name = {g.name: g for g in graded}
    assert len(by_name) == len(graded)
    assert by_name["lstm_backward"].dotted == "course_pkg.lstm.lstm_backward"
    assert by_name["lstm_backward"].assignment == "a4_lstm_gru"
    assert by_name["lstm_backward"].part == "Part 2 (The LSTM over a sequence)"
    assert by_name["SGD"].dotted == "course_pkg.optim.SGD"
    assert by_name["char_lm_batches"].module == "course_pkg.datasets.batching"
    # a5 re-uses rnn_forward from a1: it belongs to a1, where it is graded first
    assert by_name["rnn_forward"].assignment == "a1_unfolding"
    for assignment in SETTINGS["ASSIGNMENTS"]:
        source = nbformat.read(
            ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4
        )
        defined = set()
        for cell in source.cells:
            if cell.cell_type == "code" and nbgrader_meta(cell).get("solution"):
                tree = ast.parse(cell.source)
                defined |= {
                    n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
                }
        ours = {g.name for g in graded if g.assignment == assignment}
        earlier = {g.name for g in graded if g.assignment != assignment}
        assert defined - earlier == ours, assignment


@pytest.mark.parametrize("assignment", ALL)
def test_each_assignment_says_which_functions_of_course_pkg_it_fills_in(assignment):
    release = nbformat.read(ROOT / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)
    intro = release.cells[0].source
    assert "**You fill in `course_pkg`:**" in intro, "the introduction must list them"
    listing = intro.split("**You fill in `course_pkg`:**")[1].split("\n\n")[0]
    for g in graded_functions(ROOT):
        if g.assignment == assignment:
            assert f"{g.name}`" in listing, f"{g.dotted} is not in the list"


# ----------------------------------------------------------------------------- no leak


def test_the_edition_holds_nothing_of_the_instructors(edition):
    dest, archive = edition
    withheld = withheld_functions(ROOT)
    assert find_leaks(dest, ROOT, withheld) == []
    names = {p.name for p in dest.rglob("*")}
    assert not names & set(INSTRUCTOR_ONLY)
    assert not list(dest.rglob("*.pyc"))
    with zipfile.ZipFile(archive) as zf:
        packed = {n.split("/", 1)[1] for n in zf.namelist()}
    assert packed == {str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()}
    assert sorted(p.name for p in (dest / "assignments").iterdir()) == sorted(ALL)


def test_the_edition_the_course_is_set_to_hand_out(tmp_path):
    """`make student-edition` with RELEASED and SOLUTIONS_PUBLISHED as nbgrader_config.py says."""
    dest = tmp_path / "student"
    archive = build_edition(ROOT, dest)
    assert sorted(p.name for p in (dest / "assignments").iterdir()) == sorted(SETTINGS["RELEASED"])
    assert find_leaks(dest, ROOT, withheld_functions(ROOT)) == []
    assert archive.stat().st_size < 2_000_000


def test_every_withheld_function_is_a_stub_without_its_examples(edition):
    dest, _ = edition
    withheld = withheld_functions(ROOT)
    assert "course_pkg.lstm.lstm_backward" in withheld
    assert "course_pkg.lstm.lstm_backward_full" in withheld  # a companion
    for dotted in withheld:
        name = dotted.rsplit(".", 1)[1]
        node = definition(module_source(dest, dotted), name)
        doc = ast.get_docstring(node) or ""
        body = node.body[1:] if ast.get_docstring(node) is not None else node.body
        assert "Examples\n---" not in doc, dotted
        assert f"yours({dotted!r})" in ast.unparse(body[-1]), dotted
        assert len(body) == 1, f"{dotted} keeps code besides the stub"
    # private helpers that only withheld functions used are gone with them
    assert not (dest / "course_pkg" / "_time_major.py").exists()


def test_a_stub_runs_the_students_version_or_says_where_to_write_it(edition, tmp_path):
    student = copy_of(edition[0], tmp_path)
    probe = (
        "import numpy as np\n"
        "from course_pkg.rnn import rnn_forward\n"
        "try:\n"
        "    rnn_forward(np.ones((1, 2, 1)), np.zeros((1, 1)), np.ones((1, 1)), np.ones((1, 1)),"
        " np.zeros(1))\n"
        "except NotImplementedError as err:\n"
        "    print(err)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(student)}
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=student, env=env, capture_output=True, text=True
    )
    assert run.stdout.startswith(
        "course_pkg.rnn.rnn_forward is yours to write in a1_unfolding, "
        "Part 2 (One step and a whole sequence)"
    ), run.stdout + run.stderr
    (student / "course_pkg" / "yours" / "a1_unfolding.py").write_text(
        "import numpy as np\n\n\ndef rnn_forward(x, h0, U, W, b):\n    return 'mine', None\n"
    )
    probe = "from course_pkg.rnn import rnn_forward\nprint(rnn_forward(1, 2, 3, 4, 5)[0])\n"
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=student, env=env, capture_output=True, text=True
    )
    assert run.stdout == "mine\n", run.stderr
    # the package's LSTM takes c0=None; a student's, as the assignment asks, takes no c0
    (student / "course_pkg" / "yours" / "a4_lstm_gru.py").write_text(
        "def lstm_forward(x, h0, Wx, Wh, b):\n    return 'mine', None\n"
    )
    probe = (
        "import numpy as np\n"
        "from course_pkg.lstm import lstm_forward\n"
        "print(lstm_forward(1, 2, 3, 4, 5)[0], lstm_forward(1, 2, 3, 4, 5, c0=np.zeros(2))[0])\n"
        "try:\n"
        "    lstm_forward(1, 2, 3, 4, 5, c0=np.ones(2))\n"
        "except TypeError as err:\n"
        "    print(err)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=student, env=env, capture_output=True, text=True
    )
    assert run.stdout == "mine mine\nyour lstm_forward takes no c0, so it cannot be given one\n", (
        run.stdout + run.stderr
    )


def test_planted_leaks_are_caught(edition, tmp_path):
    student = copy_of(edition[0], tmp_path)
    withheld = withheld_functions(ROOT)
    assert find_leaks(student, ROOT, withheld) == []
    # the reference LSTM backward pasted under another name, with other variable names
    reference = definition((ROOT / "course_pkg" / "lstm.py").read_text(), "lstm_backward_full")
    renamed = ast.parse(ast.unparse(reference).replace("lstm_backward_full", "_fast_kernel"))
    for node in ast.walk(renamed):
        if isinstance(node, ast.Name) and node.id == "dh":
            node.id = "grad_h"
        if isinstance(node, ast.arg) and node.arg == "dh":
            node.arg = "grad_h"
    layers = student / "course_pkg" / "layers.py"
    layers.write_text(layers.read_text() + "\n\n" + ast.unparse(renamed) + "\n")
    # a hidden test's line in a notebook, an instructor-only file, a compiled file
    source = nbformat.read(ROOT / "solutions" / "a1_unfolding" / "a1_unfolding.ipynb", as_version=4)
    hidden = next(c.source for c in source.cells if "### BEGIN HIDDEN TESTS" in c.source)
    line = next(
        s
        for s in (x.strip() for x in hidden.split("### BEGIN HIDDEN TESTS")[1].splitlines())
        if len(s) > 40
    )
    notebook = student / "assignments" / "a1_unfolding" / "a1_unfolding.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(line))
    nbformat.write(nb, notebook)
    (student / "bench").mkdir()
    (student / "bench" / "textbook.py").write_text("# the textbook baseline\n")
    (student / "course_pkg" / "rnn.cpython-311.pyc").write_bytes(b"\0")
    leaks = find_leaks(student, ROOT, withheld)
    assert any(
        "layers.py: _fast_kernel is the code of course_pkg.lstm.lstm_backward" in x for x in leaks
    ), leaks
    assert any("a1_unfolding.ipynb: holds an answer or hidden-test line" in x for x in leaks), leaks
    assert any(x.startswith("bench: an instructor-only file") for x in leaks), leaks
    assert any("rnn.cpython-311.pyc: a compiled file" in x for x in leaks), leaks


def test_the_fingerprint_sees_through_renaming():
    one = ast.parse("def f(x, y):\n    '''doc'''\n    z = x + y\n    return z * x\n").body[0]
    two = ast.parse("def g(a, b):\n    t = a + b\n    return t * a\n").body[0]
    three = ast.parse("def g(a, b):\n    t = a + b\n    return t * b\n").body[0]
    assert normalized(one) == normalized(two) != normalized(three)


# ----------------------------------------------------------------------------- releases


def test_releases_move_forward(tmp_path):
    """Once a1's solutions are published, the next edition holds a1's reference."""
    dest = tmp_path / "student"
    build_edition(ROOT, dest, released=["a1_unfolding", "a2_bptt"], published=["a1_unfolding"])
    assert sorted(p.name for p in (dest / "assignments").iterdir()) == ["a1_unfolding", "a2_bptt"]
    info = json.loads((dest / "edition.json").read_text())
    assert info["solutions_published"] == ["a1_unfolding"]
    assert [f["function"] for f in info["fills_in"]["a2_bptt"]][:2] == [
        "course_pkg.gradcheck.numerical_gradient",
        "course_pkg.gradcheck.rel_error",
    ]
    ours, theirs = (module_source(r, "course_pkg.rnn.rnn_forward") for r in (ROOT, dest))
    assert normalized(definition(theirs, "rnn_forward")) == normalized(
        definition(ours, "rnn_forward")
    )
    assert "yours('course_pkg.rnn.rnn_backward')" in theirs
    withheld_text = (dest / "course_pkg" / "_yours.py").read_text()
    assert "a1_unfolding" not in withheld_text and "a2_bptt" in withheld_text
    student = copy_of(dest, tmp_path / "work")
    paste_solution(student, "a2_bptt")
    run = course(student, "check", "a2_bptt")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


# ----------------------------------------------------------------------------- working in it


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
    tests = [
        nbgrader_meta(c)["grade_id"]
        for c in release.cells
        if nbgrader_meta(c).get("grade") and c.cell_type == "code"
    ]
    passed = [line.split()[1] for line in solved.stdout.splitlines() if line.startswith("passed")]
    assert passed == tests


class Lab:
    """The edition's `course.py lab`, with JupyterLab serving on a free port."""

    def __init__(self, student: Path, python: str):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.token = secrets.token_hex(16)
        extra = [f"--port={self.port}", "--no-browser", f"--IdentityProvider.token={self.token}"]
        extra += ["--allow-root"] if os.geteuid() == 0 else []
        self.log = (student / "lab.log").open("w")
        self.process = subprocess.Popen(
            [python, "course.py", "lab", *extra],
            cwd=student,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "HOME": str(student)},
        )

    def get(self, path: str, deadline: float = 90):
        end = time.monotonic() + deadline
        while True:
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.port}{path}",
                headers={"Authorization": f"token {self.token}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return json.loads(response.read())
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > end:
                    raise
                time.sleep(0.5)

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


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

    lab = Lab(student, python)
    try:
        listing = lab.get("/api/contents/a1_unfolding")
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


def test_an_answer_pasted_into_a_page_is_found():
    """What the browser stage's check of the published book relies on."""
    windows = answer_windows(ROOT, ALL)
    source = nbformat.read(ROOT / "solutions" / "a4_lstm_gru" / "a4_lstm_gru.ipynb", as_version=4)
    answer = next(c.source for c in source.cells if "def lstm_backward(" in c.source)
    body = (
        answer.split("def lstm_backward(")[1]
        .split("### END SOLUTION")[0]
        .split("### BEGIN SOLUTION")[1]
    )
    page = "<p>Here is one way to write it:</p>\n" + "\n".join(
        "    " + x for x in body.splitlines()
    )
    assert holds_an_answer(page, windows) is not None
    assert (
        holds_an_answer("U, W, b = params['U'], params['W'], params['b']\nprint(U)\n", windows)
        is None
    )


def package_references(source: str) -> set[str]:
    """The course_pkg names a cell uses: `course_pkg.x.y`, and `from course_pkg.x import y`."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_pkg"):
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Attribute):
            parts, inner = [node.attr], node.value
            while isinstance(inner, ast.Attribute):
                parts.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id == "course_pkg":
                found.add(".".join(["course_pkg", *reversed(parts)]))
    return found


@pytest.mark.parametrize("assignment", ALL)
def test_no_visible_code_calls_a_function_graded_now_or_later(assignment):
    """Visible tests and training cells take nothing from the reference of this assignment
    or a later one: in the edition those are the student's own code, or raise."""
    graded = graded_functions(ROOT)
    now_or_later = set(ALL[ALL.index(assignment) :])
    forbidden = {g.dotted for g in graded if g.assignment in now_or_later}
    withheld = withheld_functions(ROOT)
    forbidden |= {d for d, g in withheld.items() if g.assignment in now_or_later}
    release = nbformat.read(ROOT / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)
    used = set()
    for cell in release.cells:
        if cell.cell_type == "code" and not nbgrader_meta(cell).get("solution"):
            used |= package_references(cell.source)
    assert not used & forbidden, f"{assignment} uses {sorted(used & forbidden)}"
