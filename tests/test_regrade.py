"""Regrading some students, and knowing which tests graded each row.

A regrade of one student replaces only that student's row in ``grades.csv``
and the gradebook; every row records when it was graded and a hash of the
hidden tests, and a resumed run regrades what older tests graded.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.grade import _course_config, grade_class, gradebook_url, hidden_tests_version

ROOT = Path(__file__).resolve().parents[1]
A = "a1_unfolding"
SAMPLE = ROOT / "sample_class" / A


def rows(out: Path) -> dict:
    return {
        r["student_id"]: r for r in csv.DictReader((out / "grades.csv").read_text().splitlines())
    }


def gradebook_scores(course: Path) -> dict:
    from nbgrader.api import Gradebook

    config = _course_config(course)
    with Gradebook(gradebook_url(config, course), config.CourseDirectory.course_id) as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(A)}


@pytest.fixture
def course(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    for folder in ("solutions", "assignments"):
        shutil.copytree(ROOT / folder, course / folder)
    (course / "course_pkg").symlink_to(ROOT / "course_pkg")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for student in ("full", "blank"):
        shutil.copytree(SAMPLE / student, tmp_path / "sub" / student)
    (tmp_path / "roster.csv").write_text("student_id\nfull\nblank\nabsent\n")
    return course


def test_regrading_one_student_merges_into_the_class_and_the_gradebook(course, tmp_path):
    options = dict(
        course_root=course,
        submissions=tmp_path / "sub",
        out=tmp_path / "out",
        roster=tmp_path / "roster.csv",
        jobs=2,
        check_runs_clean=False,
        progress=False,
    )
    grade_class(A, **options)
    first = rows(tmp_path / "out")
    assert {s: (r["status"], r["score"]) for s, r in first.items()} == {
        "full": ("graded", "30"),
        "blank": ("graded", "0"),
        "absent": ("notebook missing", "0"),
    }
    version = hidden_tests_version(course / "solutions" / A / f"{A}.ipynb")
    assert {r["tests"] for r in first.values()} == {version} and len(version) == 16
    assert all(r["graded_at"].endswith("+00:00") for r in first.values())

    # the student fixes the notebook, and the instructor changes a hidden test's text
    shutil.copy(SAMPLE / "full" / A / f"{A}.ipynb", tmp_path / "sub" / "blank" / A / f"{A}.ipynb")
    source = course / "solutions" / A / f"{A}.ipynb"
    nb = nbformat.read(source, as_version=4)
    test_cell = next(
        c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
        and not c.metadata["nbgrader"].get("solution")
    )
    test_cell.source += "\n# checked again"
    nbformat.write(nb, source)
    assert hidden_tests_version(source) != version

    merged = {r.student: r for r in grade_class(A, students=["blank"], **options)}
    again = rows(tmp_path / "out")
    assert set(again) == {"full", "blank", "absent"}
    assert (again["blank"]["score"], again["blank"]["tests"]) == (
        "30",
        hidden_tests_version(source),
    )
    assert again["full"] == first["full"]  # untouched: same score, seed, time and tests
    assert merged["blank"].score == 30 and merged["full"].graded_at == first["full"]["graded_at"]
    assert gradebook_scores(course) == {"full": 30.0, "blank": 30.0}
    report = (tmp_path / "out" / "report.txt").read_text()
    assert (
        f"Graded with other hidden tests than the latest ({hidden_tests_version(source)}): "
        in report
    )
    assert "absent, full" in report

    with pytest.raises(ValueError, match="no roster entry for 'nobody'"):
        grade_class(A, students=["nobody"], **options)
    with pytest.raises(TypeError, match="must be a list of student ids, got 'full'"):
        grade_class(A, students="full", **options)

    # a resumed run keeps rows graded by today's tests and regrades the rest
    resumed = {r.student: r for r in grade_class(A, resume=True, **options)}
    assert resumed["blank"].graded_at == merged["blank"].graded_at  # kept
    assert resumed["full"].graded_at != first["full"]["graded_at"]  # older tests: graded again
    assert {r.tests for r in resumed.values()} == {hidden_tests_version(source)}
    assert "Graded with other hidden tests" not in (tmp_path / "out" / "report.txt").read_text()
