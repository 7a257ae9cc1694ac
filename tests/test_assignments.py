"""The nbgrader assignments: in sync, leak nothing, and grade solutions full and blanks zero."""

from __future__ import annotations

import json
import re
import time

import nbformat
import pytest

from nbgrader_util import (
    ROOT,
    api_for,
    assignment_ids,
    autograde,
    generate,
    make_course,
    normalized,
    submit,
)

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
def test_autograde_gives_solution_full_marks_and_blank_zero(assignment, tmp_path):
    course = make_course(tmp_path)
    api = api_for(course)
    generate(api, assignment)
    name = f"{assignment}.ipynb"
    submit(course, assignment, "solution", course / "solutions" / assignment / name)
    submit(course, assignment, "blank", ROOT / "assignments" / assignment / name)
    start = time.perf_counter()
    full = autograde(api, assignment, "solution")
    seconds = time.perf_counter() - start
    blank = autograde(api, assignment, "blank")
    assert full, "no autograded cell"
    assert {k: s for k, (s, m) in full.items() if s != m} == {}, "the solution loses points"
    assert {k: s for k, (s, _) in blank.items() if s != 0} == {}, "a blank release earns points"
    assert seconds < 60, f"autograding one submission took {seconds:.0f} s"
