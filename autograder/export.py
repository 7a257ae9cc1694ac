"""Grades for the learning platform and the instructor, from the gradebook.

``python -m autograder export ASSIGNMENT --roster roster.csv`` (``make export``)
reads the gradebook, where the autograder's scores and the grades entered
by hand in the formgrader meet, and the rows of the last grading run
(``grading/<assignment>/results.jsonl``), and writes to
``grading/<assignment>/``:

- ``canvas.csv``: Canvas's gradebook import layout. The columns ``Student``,
  ``ID`` (Canvas user id: the roster's ``platform_id``), ``SIS User ID``
  (the roster's ``student_id``), ``SIS Login ID`` and ``Section``, then one
  column for the assignment, named ``<assignment> (<Canvas assignment id>)``
  when the id is given (``--canvas-assignment-id``; without it Canvas
  creates a new assignment column), and a ``Points Possible`` row;
- ``moodle.csv``: Moodle's assignment grading worksheet ("Upload grading
  worksheet"), matched by ``Identifier`` = ``Participant <platform_id>``;
- ``questions.csv``: for the instructor, every student's score per question,
  graded automatically or by hand, whether an answer still waits for a grade
  by hand, the late penalty and the total.

The late penalty is computed again here, on the total with the grades given
by hand, by the course's policy (:mod:`autograder.late`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .collect import Roster, read_roster
from .late import course_policy
from .records import Result, Status
from .report import spreadsheet_safe

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = (
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
)


@dataclass
class Row:
    student: str
    status: str
    questions: dict = field(default_factory=dict)  # grade_id -> (score, max, by hand, waiting)
    score: float = 0.0  # before the penalty
    max_score: float = 0.0
    penalty: float = 0.0
    late_detail: str = ""
    waiting: bool = False  # an answer still waits for a grade by hand

    @property
    def total(self) -> float:
        return self.score - self.penalty


def _recorded(out: Path) -> dict[str, Result]:
    from .grade import _graded_before

    return _graded_before(out / "results.jsonl")


def class_rows(course_root: Path, assignment: str, roster: Roster, out: Path) -> list[Row]:
    """One row per student on the roster and per student the last grading recorded."""
    from nbgrader.api import Gradebook, MissingEntry

    from .grade import _course_config, gradebook_url

    config = _course_config(course_root)
    policy = course_policy(config)
    recorded = _recorded(out)
    students = list(dict.fromkeys([*roster.ids, *sorted(recorded)]))
    rows = []
    with Gradebook(gradebook_url(config, course_root), config.CourseDirectory.course_id) as gb:
        max_score = gb.find_assignment(assignment).max_score
        for student in students:
            r = recorded.get(student)
            row = Row(student, str(r.status) if r else str(Status.NOTEBOOK_MISSING))
            row.max_score = max_score
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                rows.append(row)  # nothing graded: 0 points
                continue
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    by_hand = grade.manual_score is not None
                    row.questions[grade.name] = (
                        grade.score,
                        grade.max_score,
                        by_hand,
                        bool(grade.needs_manual_grade),
                    )
            row.score = float(submission.score)
            row.waiting = bool(submission.needs_manual_grade)
            if r is not None and r.status != Status.NOTEBOOK_MISSING:
                late = policy.assess(assignment, student, r.submitted, row.score)
                row.penalty, row.late_detail = late.penalty, late.reason
            rows.append(row)
    return rows


NOBODY = (Status.UNMATCHED, Status.CONFLICT, Status.ID_REFUSED)  # no platform can take these


def write_canvas(rows, roster: Roster, assignment: str, path: Path, canvas_id=None) -> None:
    column = f"{assignment} ({canvas_id})" if canvas_id is not None else assignment
    points = max((r.max_score for r in rows), default=0.0)
    rows = [r for r in rows if r.status not in NOBODY]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*CANVAS_COLUMNS, column])
        writer.writerow(["Points Possible", "", "", "", "", f"{points:g}"])
        for r in rows:
            s = roster.by_id(r.student)
            name = f"{s.last_name}, {s.first_name}".strip(", ") if s else r.student
            platform = s.platform_id if s else ""
            cells = [name, platform, r.student, "", "", f"{r.total:g}"]
            writer.writerow([spreadsheet_safe(c) for c in cells])


def write_moodle(rows, roster: Roster, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(MOODLE_COLUMNS)
        for r in rows:
            s = roster.by_id(r.student)
            if s is None or not s.platform_id or r.status in NOBODY:
                continue  # Moodle matches "Participant <id>" only: listed by export_grades
            name = f"{s.first_name} {s.last_name}".strip()
            status = (
                "No submission" if r.status == Status.NOTEBOOK_MISSING else "Submitted for grading"
            )
            comment = "Answers still to be graded by hand." if r.waiting else ""
            if r.penalty:
                comment = (comment + f" Late: {r.late_detail}.").strip()
            cells = [
                f"Participant {s.platform_id}",
                name,
                s.email,
                status,
                f"{r.total:g}",
                f"{r.max_score:g}",
                "Yes",
                "-",
                "-",
                comment,
            ]
            writer.writerow([spreadsheet_safe(c) for c in cells])


def write_questions(rows, path: Path) -> None:
    names = list(dict.fromkeys(q for r in rows for q in r.questions))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["student_id", "status", *names, "score", "penalty", "total", "max_score", "waiting"]
        )
        for r in rows:
            cells = []
            for q in names:
                score, _, by_hand, waiting = r.questions.get(q, (None, None, False, False))
                text = "" if score is None else f"{score:g}"
                cells.append("waiting" if waiting else text + (" (by hand)" if by_hand else ""))
            writer.writerow(
                [
                    spreadsheet_safe(r.student),
                    r.status,
                    *cells,
                    f"{r.score:g}",
                    f"{r.penalty:g}",
                    f"{r.total:g}",
                    f"{r.max_score:g}",
                    "yes" if r.waiting else "no",
                ]
            )


def export_grades(
    course_root: Path,
    assignment: str,
    roster_path: Path,
    out: Path | None = None,
    canvas_assignment_id: int | None = None,
) -> tuple[list[Row], list[str]]:
    """Write the three files; returns the rows and warnings for the instructor."""
    if canvas_assignment_id is not None and (
        isinstance(canvas_assignment_id, bool) or not isinstance(canvas_assignment_id, int)
    ):
        raise TypeError(
            f"canvas_assignment_id must be an int (the number in the assignment's Canvas "
            f"address), got {canvas_assignment_id!r}"
        )
    roster = read_roster(roster_path)
    if not roster.students:
        raise ValueError(f"the roster {roster_path} lists no students")
    out = out or course_root / "grading" / assignment
    if not (out / "results.jsonl").is_file():
        raise FileNotFoundError(f"no grading run recorded in {out}: run `make grade` first")
    from .worker import ensure_venv_bin_on_path

    ensure_venv_bin_on_path()  # nbgrader's gradebook runs alembic
    rows = class_rows(course_root, assignment, roster, out)
    write_canvas(rows, roster, assignment, out / "canvas.csv", canvas_assignment_id)
    write_moodle(rows, roster, out / "moodle.csv")
    write_questions(rows, out / "questions.csv")
    warnings = []
    if waiting := [r.student for r in rows if r.waiting]:
        warnings.append(f"answers still to grade by hand (exported without them): {waiting}")
    if no_platform := [s.student_id for s in roster.students if not s.platform_id]:
        warnings.append(f"no platform_id in the roster (left out of moodle.csv): {no_platform}")
    if strangers := [r.student for r in rows if roster.by_id(r.student) is None]:
        warnings.append(f"in the grading but not on the roster (no platform id): {strangers}")
    return rows, warnings
