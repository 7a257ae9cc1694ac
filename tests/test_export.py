"""Grade export: Canvas's and Moodle's import layouts, per-question scores, hand grades.

The gradebook is nbgrader's real one, filled by the grader's own merge step
with recorded results; a grade entered by hand goes in through nbgrader's
API (the formgrader's path is exercised end to end in test_grading.py).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from autograder.collect import Entry, read_roster
from autograder.export import CANVAS_COLUMNS, MOODLE_COLUMNS, export_grades
from autograder.grade import _course_config, gradebook_url, merge_into_gradebook
from autograder.records import Result
from autograder.worker import ensure_venv_bin_on_path

from nbgrader_util import grading_course

ROOT = Path(__file__).resolve().parents[1]
A = "a1_unfolding"

# Canvas: "Student, ID, SIS User ID, SIS Login ID, Section", then one column per assignment
# named "<name> (<assignment id>)", and a "Points Possible" row under the header.
# Moodle's grading worksheet: the columns Moodle writes, matched back by "Identifier".
DOCUMENTED_CANVAS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
DOCUMENTED_MOODLE = [
    "Identifier",
    "Full name",
    "Email address",
    "Status",
    "Grade",
    "Maximum Grade",
    "Grade can be changed",
    "Last modified (submission)",
    "Last modified (grade)",
    "Feedback comments",
]


def read(path: Path) -> list[list[str]]:
    return list(csv.reader(path.read_text(encoding="utf-8").splitlines()))


@pytest.fixture
def course(tmp_path):
    course = grading_course(
        tmp_path,
        f"c.LatePolicy.due = {{{A!r}: '2026-11-20T12:00:00+00:00'}}\n"
        "c.LatePolicy.penalty = 'percent_per_day'\nc.LatePolicy.percent = 10\n",
    )
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "student_id,platform_id,first_name,last_name,email\n"
        "full,4242,Jane,Smith,jane@example.edu\n"
        "blank,4343,Pat,O'Brien,pat@example.edu\n"
        "absent,4444,Ann,Absent,ann@example.edu\n"
        "nolms,,No,Platform,np@example.edu\n"
    )
    return course, roster


def record(course: Path, roster: Path, tmp_path: Path) -> None:
    """What a grading run leaves: results.jsonl and the gradebook (merged by the grader)."""
    import nbformat

    from autograder.stage import autograded_cell_ids

    source = nbformat.read(course / "solutions" / A / f"{A}.ipynb", as_version=4)
    points = {
        c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") in autograded_cell_ids(source)
    }
    assert sum(points.values()) == 30
    ids = points  # grade_id -> points
    full = {q: [p, p] for q, p in ids.items()}
    results = [
        Result(
            "full",
            "graded",
            score=30.0,
            max_score=30.0,
            questions=full,
            submitted="2026-11-21T13:00:00+00:00 (timestamp.txt)",
        ),
        Result(
            "blank",
            "graded",
            score=0.0,
            max_score=30.0,
            questions={q: [0.0, p] for q, p in ids.items()},
        ),
        Result("absent", "notebook missing", reason="no submission found"),
        Result("?stray.ipynb", "no student", reason="stray.ipynb: no roster id"),
        Result("=cmd", "graded", score=3.0, max_score=30.0, questions=full),
    ]
    out = course / "grading" / A
    out.mkdir(parents=True)
    (out / "results.jsonl").write_text("".join(json.dumps(asdict(r)) + "\n" for r in results))
    entries = {r.student: Entry(r.student, None) for r in results if r.status == "graded"}
    work = tmp_path / "work"
    work.mkdir()
    ensure_venv_bin_on_path()  # nbgrader runs alembic
    merge_into_gradebook(course, A, results, entries, work, read_roster(roster))


def test_exports_follow_each_platforms_layout_and_carry_hand_grades(course, tmp_path):
    course, roster = course
    record(course, roster, tmp_path)
    assert list(CANVAS_COLUMNS) == DOCUMENTED_CANVAS and list(MOODLE_COLUMNS) == DOCUMENTED_MOODLE

    # a TA gives blank 2 points by hand on its first test cell (overriding the autograder's 0)
    from nbgrader.api import Gradebook

    config = _course_config(course)
    with Gradebook(gradebook_url(config, course), config.CourseDirectory.course_id) as gb:
        grade = gb.find_submission(A, "blank").notebooks[0].grades[0]
        first_question = grade.name
        grade.manual_score = 2.0
        gb.db.commit()

    rows, warnings = export_grades(course, A, roster, canvas_assignment_id=777)
    out = course / "grading" / A

    canvas = read(out / "canvas.csv")
    assert canvas[0] == [*DOCUMENTED_CANVAS, f"{A} (777)"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "30"]
    by_sis = {r[2]: r for r in canvas[2:]}
    assert by_sis["full"] == [
        "Smith, Jane",
        "4242",
        "full",
        "",
        "",
        "24",
    ]  # 25 h late: 2 days begun, -20%
    assert by_sis["blank"] == ["O'Brien, Pat", "4343", "blank", "", "", "2"]  # the hand grade
    assert by_sis["absent"][-1] == "0" and by_sis["nolms"] == [
        "Platform, No",
        "",
        "nolms",
        "",
        "",
        "0",
    ]
    assert "'=cmd" in by_sis and "?stray.ipynb" not in by_sis  # formula quoted; nobody's out

    moodle = read(out / "moodle.csv")
    assert moodle[0] == DOCUMENTED_MOODLE
    by_id = {r[0]: r for r in moodle[1:]}
    assert sorted(by_id) == ["Participant 4242", "Participant 4343", "Participant 4444"]
    jane = by_id["Participant 4242"]
    assert jane[1:7] == [
        "Jane Smith",
        "jane@example.edu",
        "Submitted for grading",
        "24",
        "30",
        "Yes",
    ]
    assert jane[9].startswith("Late: 25.0 h after the due date")
    assert by_id["Participant 4444"][3:5] == ["No submission", "0"]

    questions = {r[0]: r for r in read(out / "questions.csv")}
    header = questions["student_id"]
    blank = dict(zip(header, questions["blank"], strict=True))
    assert blank[first_question] == "2 (by hand)" and blank["total"] == "2"
    full = dict(zip(header, questions["full"], strict=True))
    assert (full["score"], full["penalty"], full["total"], full["waiting"]) == (
        "30",
        "6",
        "24",
        "no",
    )
    assert "?stray.ipynb" in questions  # the instructor's file keeps every row
    assert warnings == [
        "no platform_id in the roster (left out of moodle.csv): ['nolms']",
        "in the grading but not on the roster (no platform id): ['=cmd', '?stray.ipynb']",
    ]
    assert len(rows) == 6


def test_export_refuses_what_it_cannot_do(course, tmp_path):
    course, roster = course
    with pytest.raises(FileNotFoundError, match="no grading run recorded"):
        export_grades(course, A, roster)
    with pytest.raises(TypeError, match="canvas_assignment_id must be an int.*got '777'"):
        export_grades(course, A, roster, canvas_assignment_id="777")
    empty = tmp_path / "empty.csv"
    empty.write_text("student_id\n")
    with pytest.raises(ValueError, match="lists no students"):
        export_grades(course, A, empty)
