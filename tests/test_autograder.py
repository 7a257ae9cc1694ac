"""End to end: grade a synthetic class of good and bad submissions with the one command.

Every student's exact status and score is asserted, the feedback must not
contain the hidden tests' code, the gradebook must hold the merged scores and
survive an attack, and a second run must give the same grades.
"""

from __future__ import annotations

import csv
import re
import shutil
import sqlite3

import nbformat
import pytest

from autograder.grade import grade_class
from autograder.sample import CASES, write_sample_class

from nbgrader_util import ROOT

ASSIGNMENT = "a1_unfolding"


def hidden_lines() -> set[str]:
    source = nbformat.read(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    lines = set()
    for cell in source.cells:
        for block in re.findall(
            r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S
        ):
            lines.update(s for line in block.splitlines() if len(s := line.strip()) > 30)
    return lines


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if shutil.which("bwrap") is None:
        pytest.fail("bubblewrap is not installed (apt-get install bubblewrap; `make test` does it)")
    tmp = tmp_path_factory.mktemp("class")
    course = tmp / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, course / "solutions" / ASSIGNMENT)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    write_sample_class(
        course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", ASSIGNMENT, tmp / "sub"
    )
    options = dict(course_root=course, roster=tmp / "sub" / "roster.csv", jobs=2, timeout=10)
    results = grade_class(ASSIGNMENT, submissions=tmp / "sub", out=tmp / "out", **options)
    return course, tmp, {r.student: r for r in results}, options


def test_every_student_has_the_expected_status_and_score(graded):
    _, _, results, _ = graded
    assert set(results) == set(CASES)
    got = {s: (r.status, r.score) for s, r in results.items()}
    expected = {s: (status, float(score)) for s, (status, score, _) in CASES.items()}
    assert got == expected
    assert all(r.max_score == 30 for r in results.values())


def test_reasons_and_flags_explain_what_happened(graded):
    _, _, r, _ = graded
    assert "not valid JSON" in r["corrupt_json"].reason
    assert r["no_notebook"].reason == "no .ipynb file was submitted"
    assert r["absent"].reason == "no submission found"
    assert "output cap" in r["output_flood"].reason
    assert "kernel died" in r["kernel_crash"].reason
    assert "renamed" in r["renamed"].note or "my_work.ipynb" in r["renamed"].note
    tampering = " ".join(r["monkeypatch"].tampering)
    for what in ("numpy.allclose", "course_pkg.checks.check_array", "builtins.abs"):
        assert what in tampering
    assert not r["full"].tampering and not r["gradebook_attack"].tampering
    # the nbval-lax run of the notebook as submitted
    assert r["full"].runs_clean is True and r["blank"].runs_clean is False


def test_outputs_are_written_and_feedback_hides_hidden_tests(graded):
    _, tmp, results, _ = graded
    out = tmp / "out"
    with open(out / "grades.csv") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(CASES)
    assert rows["partial"]["score"] == "9" and rows["partial"]["test_activation_values"] == "3"
    assert rows["kernel_crash"]["status"] == "crashed"
    report = (out / "report.txt").read_text()
    assert f"{len(CASES)} students" in report and "test_rnn_forward" in report
    assert (out / "scores.png").stat().st_size > 10_000
    secrets = hidden_lines()
    assert secrets
    for student, r in results.items():
        if r.status in ("notebook missing", "notebook unreadable", "crashed"):
            continue
        html = (out / "feedback" / student / f"{ASSIGNMENT}.html").read_text()
        leaked = [line for line in secrets if line in html]
        assert not leaked, f"{student}'s feedback shows hidden tests: {leaked[:2]}"
        assert "__course_guard" not in html
    thief = (out / "feedback" / "solution_thief" / f"{ASSIGNMENT}.html").read_text()
    assert "stolen: 0 files" in thief


def test_gradebook_holds_the_merged_scores_and_survived_the_attack(graded):
    course, _, _, _ = graded
    db = sqlite3.connect(course / "gradebook.db")
    rows = db.execute(
        "SELECT student.id, SUM(grade.auto_score) FROM grade "
        "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
        "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
        "JOIN student ON submitted_assignment.student_id = student.id GROUP BY student.id"
    ).fetchall()
    scores = dict(rows)
    assert scores["full"] == 30 and scores["gradebook_attack"] == 30 and scores["blank"] == 0
    assert scores["memory_bomb"] == 27 and scores["corrupt_json"] == 0
    assert max(scores.values()) == 30  # the attack's UPDATE ... = 1000 never reached it


def test_regrading_gives_the_same_grades(graded):
    _, tmp, first, options = graded
    subset = tmp / "again"
    for student in ("full", "partial", "monkeypatch", "corrupt_json"):
        shutil.copytree(tmp / "sub" / student, subset / student)
    again = grade_class(
        ASSIGNMENT, submissions=subset, out=tmp / "out2", **{**options, "roster": None}
    )
    for r in again:
        assert (r.status, r.score, r.questions) == (
            first[r.student].status,
            first[r.student].score,
            first[r.student].questions,
        )


def test_shipped_sample_class_is_in_sync(tmp_path):
    shipped = ROOT / "sample_class" / ASSIGNMENT
    write_sample_class(
        ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", ASSIGNMENT, tmp_path
    )
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    committed = {p.relative_to(shipped): p.read_bytes() for p in shipped.rglob("*") if p.is_file()}
    assert fresh == committed, "sample_class/ is stale: run `make sample-class` and commit"
