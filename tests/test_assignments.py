"""The nbgrader assignments: sound metadata, in sync with their source, and leak nothing.

Grading them is tested in test_grading.py."""

from __future__ import annotations

import json
import re

import nbformat
import numpy as np
import pytest

from autograder.stage import release_notebook

from nbgrader_util import ROOT, api_for, assignment_ids, generate, make_course, normalized

ASSIGNMENTS = assignment_ids()
PRESENT = [a for a in ASSIGNMENTS if (ROOT / "solutions" / a).is_dir()]
MARKERS = (
    "### BEGIN SOLUTION",
    "### END SOLUTION",
    "### BEGIN HIDDEN TESTS",
    "### END HIDDEN TESTS",
)


def source_notebooks():
    return sorted((ROOT / "solutions").glob("*/*.ipynb"))


def blocks(text: str, begin: str, end: str) -> list[str]:
    return re.findall(rf"{re.escape(begin)}\n(.*?){re.escape(end)}", text, flags=re.S)


def secret_lines(nb) -> set[str]:
    """Distinctive lines of every solution and hidden-test block."""
    lines = set()
    for cell in nb.cells:
        for begin, end in (MARKERS[:2], MARKERS[2:]):
            for block in blocks(cell.source, begin, end):
                lines.update(
                    stripped
                    for line in block.splitlines()
                    if len(stripped := line.strip()) > 25 and not stripped.startswith("#")
                )
    return lines


def test_every_listed_assignment_has_a_source_and_a_release():
    # assignments arrive one by one; each one present must be complete
    assert PRESENT, "no assignment in solutions/"
    for assignment in PRESENT:
        assert (ROOT / "solutions" / assignment / f"{assignment}.ipynb").is_file()
        assert (ROOT / "assignments" / assignment / f"{assignment}.ipynb").is_file()
    released = {p.name for p in (ROOT / "assignments").iterdir() if p.is_dir()}
    assert released == set(PRESENT), "assignments/ holds folders that solutions/ does not"


@pytest.mark.parametrize("path", source_notebooks(), ids=lambda p: p.parent.name)
def test_source_notebook_metadata_is_sound(path):
    nb = nbformat.read(path, as_version=4)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), f"duplicate grade_id in {path.name}"
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded, "no graded cell"
    for cell in graded:
        meta = cell.metadata["nbgrader"]
        if cell.cell_type == "code":
            assert meta["locked"] and not meta["solution"], (
                f"test cell {meta['grade_id']} not locked"
            )
            assert meta["points"] > 0
    text = "\n".join(c.source for c in nb.cells)
    assert "input(" not in text, "a notebook must not wait for input"
    for match in re.finditer(r"open\(\s*['\"]([^'\"]+)", text):
        assert not match.group(1).startswith(("/", "..")), f"reads outside its folder: {match[0]}"


@pytest.mark.parametrize("assignment", PRESENT)
def test_release_is_in_sync_and_leaks_nothing(assignment, tmp_path):
    course = make_course(tmp_path)
    generate(api_for(course), assignment)
    fresh = course / "assignments" / assignment / f"{assignment}.ipynb"
    committed = ROOT / "assignments" / assignment / f"{assignment}.ipynb"
    assert normalized(fresh) == normalized(committed), (
        f"assignments/{assignment} is stale: run `make release` and commit"
    )
    source = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    secrets = secret_lines(source)
    assert secrets, "found no solution or hidden-test lines to look for"
    for path in (ROOT / "assignments" / assignment).rglob("*"):
        if path.is_file():
            text = path.read_text()
            if path.suffix == ".ipynb":
                cells = json.loads(text)["cells"]
                text = "\n".join("".join(c["source"]) for c in cells)
            for marker in MARKERS:
                assert marker not in text, f"{path.name} contains {marker}"
            leaked = [line for line in secrets if line in text]
            assert not leaked, f"{path.name} leaks solution or hidden-test code: {leaked[:3]}"


@pytest.mark.parametrize("assignment", PRESENT)
def test_the_graders_release_of_a_cell_is_nbgraders(assignment):
    """The grader fills a missing answer with the released cell: exactly nbgrader's release."""
    source = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    released = nbformat.read(
        ROOT / "assignments" / assignment / f"{assignment}.ipynb", as_version=4
    )
    ours = release_notebook(source)
    assert [c.source for c in ours.cells] == [c.source for c in released.cells]
    assert any("raise NotImplementedError()" in c.source for c in ours.cells)


def test_the_student_guides_example_message_is_what_a1_says():
    """The guide quotes a hint; it must be the one a1's visible test gives for that mistake."""
    source = nbformat.read(ROOT / "solutions" / "a1_unfolding" / "a1_unfolding.ipynb", as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in source.cells}
    namespace: dict = {}
    exec(cells["setup"], namespace)

    def rnn_step_forward(x, h_prev, U, W, b):  # x @ W[:3, :3]: the wrong matrix on x
        h = np.tanh(x @ W[:3, :3])
        return h, namespace["RNNStepCache"](x, h_prev, U, W, h)

    namespace["rnn_step_forward"] = rnn_step_forward
    visible = cells["test_rnn_step_forward"].split("### BEGIN HIDDEN TESTS")[0]
    with pytest.raises(AssertionError) as failure:
        exec(visible, namespace)
    message = f"AssertionError: {failure.value}"
    assert message.startswith("AssertionError: h has shape (2, 3), expected (2, 5):")
    guide = " ".join((ROOT / "book" / "guide_students.md").read_text().split())
    assert " ".join(message.split()) in guide


# Hidden blocks that also redraw the fixed inputs of a locked cell the student ran, to compare
# what the notebook computed from them with the reference; they draw fresh inputs as well.
REDRAWS_FIXED_INPUTS = {("a3_gradients", "test_gradient_experiment")}


@pytest.mark.parametrize("assignment", PRESENT)
def test_hidden_tests_draw_their_inputs_fresh_in_every_grading_run(assignment):
    """A fixed seed would let a student compute the expected values in advance."""
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    drawing = 0
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        for block in blocks(cell.source, MARKERS[2], MARKERS[3]):
            fixed = re.findall(r"np\.random\.default_rng\(", block)
            fresh = re.findall(r"course_pkg\.checks\.fresh_rng\(\d+\)", block)
            drawing += bool(fresh)
            if (assignment, grade_id) in REDRAWS_FIXED_INPUTS:
                assert fixed and fresh, grade_id
            else:
                assert not fixed, f"{grade_id}: a hidden test seeds its own generator"
    assert drawing >= 3  # most hidden tests draw inputs
