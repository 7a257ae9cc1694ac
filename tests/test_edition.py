"""The student edition: nothing of the instructor's in it, and every assignment works in it.

`make student-edition` builds what students receive (autograder.edition). These
tests build it, look for anything a student must not have (and plant leaks to
see them caught), and check what each assignment declares and uses. Working
in the edition as a student does is tested in test_edition_use.py.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile

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
from autograder.stage import nbgrader_meta

from edition_util import (
    build_every_assignment,
    copy_of,
    course,
    definition,
    module_source,
    paste_solution,
)
from nbgrader_util import ROOT

SETTINGS = course_settings(ROOT)
ALL = SETTINGS["ASSIGNMENTS"]


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    """Every assignment released, no solution published: (folder, archive)."""
    dest = tmp_path_factory.mktemp("edition") / "student"
    return dest, build_every_assignment(dest)


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
    # the book's showcase model and its corpus stay out (the assignments never read them)
    assert not (dest / "course_pkg" / "pretrained").exists()
    assert not (dest / "course_pkg" / "corpora" / "kjv.txt.xz").exists()
    assert (dest / "course_pkg" / "corpora" / "genesis.txt").is_file()


def test_every_withheld_function_is_a_stub_without_its_examples(edition):
    dest, _ = edition
    withheld = withheld_functions(ROOT)
    assert "course_pkg.lstm.lstm_backward" in withheld
    assert "course_pkg.lstm.lstm_backward_with_cell_state" in withheld  # a companion
    assert "course_pkg._fused.lstm.lstm_backward_with_cell_state" in withheld  # a fused kernel
    for dotted in withheld:
        name = dotted.rsplit(".", 1)[1]
        node = definition(module_source(dest, dotted), name)
        doc = ast.get_docstring(node) or ""
        body = node.body[1:] if ast.get_docstring(node) is not None else node.body
        assert "Examples\n---" not in doc, dotted
        assert f"yours({dotted!r})" in ast.unparse(body[-1]), dotted
        assert len(body) == 1, f"{dotted} keeps code besides the stub"
    # private helpers that only withheld functions used are gone with them
    assert not (dest / "course_pkg" / "_fused" / "_time_major.py").exists()
    assert (dest / "course_pkg" / "_fused" / "lstm.py").exists()  # its stubs stay


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
    # the fused LSTM backward pasted under another name, with other variable names
    fused = (ROOT / "course_pkg" / "_fused" / "lstm.py").read_text()
    reference = definition(fused, "lstm_backward_with_cell_state")
    renamed = ast.parse(
        ast.unparse(reference).replace("lstm_backward_with_cell_state", "_fast_kernel")
    )
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
    fused_backward = "course_pkg._fused.lstm.lstm_backward_with_cell_state"
    assert any(f"layers.py: _fast_kernel is the code of {fused_backward}" in x for x in leaks), (
        leaks
    )
    assert any("a1_unfolding.ipynb: holds an answer or hidden-test line" in x for x in leaks), leaks
    assert any(x.startswith("bench: an instructor-only file") for x in leaks), leaks
    assert any("rnn.cpython-311.pyc: a compiled file" in x for x in leaks), leaks


def test_the_fingerprint_sees_through_renaming():
    one = ast.parse("def f(x, y):\n    '''doc'''\n    z = x + y\n    return z * x\n").body[0]
    two = ast.parse("def g(a, b):\n    t = a + b\n    return t * a\n").body[0]
    three = ast.parse("def g(a, b):\n    t = a + b\n    return t * b\n").body[0]
    assert normalized(one) == normalized(two) != normalized(three)


# ----------------------------------------------------------------------------- releases


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


# ----------------------------------------------------------------------------- releases


@pytest.mark.parametrize("k", range(2, len(ALL) + 1))
def test_releases_move_forward(tmp_path, k):
    """Edition k, after the solutions of assignments 1..k-1 are published: it holds their
    references and stubs for the rest, and assignment k runs on them."""
    dest = tmp_path / "student"
    released, published = ALL[:k], ALL[: k - 1]
    build_edition(ROOT, dest, released=released, published=published)
    assert sorted(p.name for p in (dest / "assignments").iterdir()) == sorted(released)
    info = json.loads((dest / "edition.json").read_text())
    assert info["solutions_published"] == sorted(published)
    for g in graded_functions(ROOT):
        ours, theirs = (definition(module_source(r, g.dotted), g.name) for r in (ROOT, dest))
        if g.assignment in published:
            assert normalized(theirs) == normalized(ours), f"{g.dotted} is not the reference"
        else:
            assert f"yours({g.dotted!r})" in ast.unparse(theirs), f"{g.dotted} is not a stub"
    student = copy_of(dest, tmp_path / "work")
    paste_solution(student, ALL[k - 1])
    run = course(student, "check", ALL[k - 1])
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


# ----------------------------------------------------------------------------- working in it
