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

from nbgrader_util import grading_course

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
    course = grading_course(tmp_path)
    for student in ("full", "blank"):
        shutil.copytree(SAMPLE / student, tmp_path / "sub" / student)
    (tmp_path / "roster.csv").write_text("student_id\nfull\nblank\nabsent\n")
    # full submitted 25 hours after the due date; blank's download has no time
    (tmp_path / "sub" / "full" / A / "timestamp.txt").write_text("2026-11-21 13:00:00.000000 UTC")
    policy(course, percent=10)
    return course


def policy(course: Path, **settings) -> None:
    """Set the course's late policy (due 2026-11-20 12:00 UTC, 10% per day begun, cap 50%)."""
    config = course / "nbgrader_config.py"
    text = config.read_text().split("# test policy")[0]
    settings = {"penalty": "percent_per_day", "cap": 50, **settings}
    lines = [f"c.LatePolicy.due = {{{A!r}: '2026-11-20T12:00:00+00:00'}}"]
    lines += [f"c.LatePolicy.{k} = {v!r}" for k, v in settings.items()]
    config.write_text(text + "# test policy\n" + "\n".join(lines) + "\n")


def penalties_in_gradebook(course: Path) -> dict:
    from nbgrader.api import Gradebook

    config = _course_config(course)
    with Gradebook(gradebook_url(config, course), config.CourseDirectory.course_id) as gb:
        return {
            s.student.id: s.notebooks[0].late_submission_penalty
            for s in gb.assignment_submissions(A)
        }


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
    assert {s: (r["status"], r["score"], r["penalty"]) for s, r in first.items()} == {
        "full": ("graded", "24", "6"),  # 25 h late: 2 days begun, 20% of 30
        "blank": ("graded", "0", "0"),
        "absent": ("notebook missing", "0", "0"),
    }
    full = first["full"]
    assert (full["score_before_penalty"], full["late_hours"]) == ("30", "25.00")
    assert full["late_detail"] == (
        "25.0 h after the due date 2026-11-20T12:00:00+00:00: 2 days begun x 10% (cap 50%) "
        "= 20% of the points"
    )
    assert (
        first["blank"]["late_detail"] == "due date set, but the download gives no submission time"
    )
    assert first["absent"]["late_detail"] == ""
    feedback = (tmp_path / "out" / "feedback" / "full" / f"{A}.html").read_text()
    assert feedback.count("Late submission:") == 1 and "Score 30 - 6 = 24 of 30." in feedback
    blank_page = (tmp_path / "out" / "feedback" / "blank" / f"{A}.html").read_text()
    assert "Late submission" not in blank_page
    assert penalties_in_gradebook(course) == {"full": 6.0, "blank": None}
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

    policy(course, percent=5)  # and halves the penalty: every row's is recomputed
    merged = {r.student: r for r in grade_class(A, students=["blank"], **options)}
    again = rows(tmp_path / "out")
    assert set(again) == {"full", "blank", "absent"}
    assert (again["blank"]["score"], again["blank"]["tests"]) == (
        "30",
        hidden_tests_version(source),
    )
    unchanged = ("status", "score_before_penalty", "seed", "graded_at", "tests", "submitted")
    assert all(again["full"][k] == first["full"][k] for k in unchanged)  # not regraded
    assert (again["full"]["score"], again["full"]["penalty"]) == ("27", "3")  # new policy
    feedback = (tmp_path / "out" / "feedback" / "full" / f"{A}.html").read_text()
    assert feedback.count("Late submission:") == 1 and "Score 30 - 3 = 27 of 30." in feedback
    assert penalties_in_gradebook(course) == {"full": 3.0, "blank": None}
    assert merged["blank"].score == 30 and merged["full"].graded_at == first["full"]["graded_at"]
    assert gradebook_scores(course) == {"full": 30.0, "blank": 30.0}
    report = (tmp_path / "out" / "report.txt").read_text()
    assert (
        f"Graded with other hidden tests than the latest ({hidden_tests_version(source)}): "
        in report
    )
    assert "absent, full" in report
    # blank now submits full's notebook: the similarity report, run with every grading, sees it
    assert "  similar code (similarity.html shows the matching lines):\n" in report
    assert "\n    blank ~ full: 100% of one side" in report
    assert (tmp_path / "out" / "similarity.html").is_file()

    with pytest.raises(ValueError, match="no roster entry for 'nobody'"):
        grade_class(A, students=["nobody"], **options)
    with pytest.raises(TypeError, match="must be a list of student ids, got 'full'"):
        grade_class(A, students="full", **options)

    # a resumed run keeps rows graded by today's tests and regrades the rest; meanwhile full
    # was granted an extension, so its penalty goes (nbgrader issue 723 kept it)
    policy(course, percent=5, extensions={A: {"full": "2026-11-22T12:00:00+00:00"}})
    resumed = {r.student: r for r in grade_class(A, resume=True, **options)}
    assert resumed["blank"].graded_at == merged["blank"].graded_at  # kept
    assert resumed["full"].graded_at != first["full"]["graded_at"]  # older tests: graded again
    assert {r.tests for r in resumed.values()} == {hidden_tests_version(source)}
    assert "Graded with other hidden tests" not in (tmp_path / "out" / "report.txt").read_text()
    final = rows(tmp_path / "out")["full"]
    assert (final["score"], final["penalty"], final["late_hours"]) == ("30", "0", "0.00")
    feedback = (tmp_path / "out" / "feedback" / "full" / f"{A}.html").read_text()
    assert "Late submission" not in feedback
    assert penalties_in_gradebook(course) == {"full": None, "blank": None}
