"""Every assignment through the grading command, and nbgrader's own tools afterwards.

For each assignment, a copy of the course grades its own ``submitted/`` folder
as an instructor would (``make grade``: sandboxed, with the gradebook):

- the solution (full marks), the release untouched (zero), a partial answer
  (the exact score of every test cell), and typical mistakes planted in the
  solution, each of which must cost exactly the test cells about the broken
  function;
- no submission is flagged, and no feedback shows a hidden test;
- grading writes nothing outside ``grading/`` and the gradebook;
- nbgrader's own tools agree: the formgrader's view lists every submission as
  autograded with its score, a written answer waits for a grade by hand, a
  grade entered by hand reaches ``nbgrader export`` and the feedback, and
  ``generate_feedback`` and ``release_feedback`` work and show no hidden test,
  even on a notebook graded by nbgrader's own ``autograde``.
"""

from __future__ import annotations

import csv
import hashlib
import html
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.grade import grade_class
from autograder.sample import partial_notebook, solution_notebook
from autograder.stage import (
    autograded_cell_ids,
    nbgrader_meta,
    release_notebook,
    written_answer_ids,
)

from nbgrader_util import (
    ROOT,
    JupyterServer,
    api_for,
    assignment_ids,
    hidden_lines,
    readable_text,
    venv_env,
)

ASSIGNMENTS = assignment_ids()
SUBMITTED_AT = "2026-11-21 12:00:00.000000 UTC"

# assignment -> the test cells a partial answer (only the first answer cell done) passes
PARTIAL_PASSES = {
    "a1_unfolding": [
        "test_activation_grads",
        "test_activation_stability",
        "test_activation_values",
    ],
    "a2_bptt": ["test_checker_finds_bugs", "test_numerical_gradient", "test_rel_error"],
    "a3_gradients": [
        "test_gradient_experiment",
        "test_gradient_norms_by_lag",
        "test_gradient_norms_options",
        "test_orthogonal",
    ],
    "a4_lstm_gru": [
        "test_lstm_step_backward_dtypes",
        "test_lstm_step_backward_gradcheck",
        "test_lstm_step_forward",
    ],
    "a5_bidirectional": [
        "test_bidirectional_backward_gradcheck",
        "test_bidirectional_backward_reference",
        "test_bidirectional_forward",
        "test_bidirectional_lengths",
        "test_tagger",
    ],
}

# (assignment, student, what goes wrong, text in the solution, replacement, cells that lose points)
MISTAKES = [
    (
        "a1_unfolding",
        "mistake_h0",
        "every step starts from h0: the recurrence is lost",
        "h_prev, _ = rnn_step_forward(x[:, t], h_prev, U, W, b)",
        "h_prev, _ = rnn_step_forward(x[:, t], h0, U, W, b)",
        ["test_rnn_forward", "test_training"],
    ),
    (
        "a1_unfolding",
        "mistake_sigmoid",
        "the textbook sigmoid, which overflows for large negative inputs",
        "return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)",
        "return 1.0 / (1.0 + np.exp(-z))",
        ["test_activation_stability"],
    ),
    (
        "a2_bptt",
        "mistake_one_step",
        "the gradient from step t+1 is dropped: backpropagation through one step only",
        "rnn_step_backward(dh[:, t] + dh_next, step)",
        "rnn_step_backward(dh[:, t], step)",
        [
            "test_rnn_backward",
            "test_rnn_backward_general",
            "test_rnn_backward_in_model",
            "test_training",
        ],
    ),
    (
        "a3_gradients",
        "mistake_norm",
        "the global norm computed naively, so 1e200-sized gradients overflow",
        "total_norm = scale * math.sqrt(total)",
        "total_norm = math.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values()))",
        ["test_clip_grad_norm_extremes"],
    ),
    (
        "a4_lstm_gru",
        "mistake_cell_state",
        "the gradient arriving at the cell state from the next step is dropped",
        "dc_total = dc + dh * o * (1.0 - tanh_c**2)",
        "dc_total = dh * o * (1.0 - tanh_c**2)",
        # the training test cannot tell (a loss on h alone still trains): the gradient checks do
        [
            "test_lstm_backward_dtypes",
            "test_lstm_backward_gradcheck",
            "test_lstm_step_backward_dtypes",
            "test_lstm_step_backward_gradcheck",
        ],
    ),
    (
        "a4_lstm_gru",
        "mistake_gru_z",
        "the GRU's z and 1 - z swapped (the other convention, not PyTorch's)",
        "h = z * h_prev + (1.0 - z) * n",
        "h = (1.0 - z) * h_prev + z * n",
        # the backward no longer matches the forward, so the gradient checks fail too
        [
            "test_gru_backward_dtypes",
            "test_gru_backward_gradcheck",
            "test_gru_forward",
            "test_gru_step_backward_gradcheck",
            "test_gru_step_forward",
        ],
    ),
    (
        "a5_bidirectional",
        "mistake_no_recurrence",
        "the language model's steps ignore the previous state",
        "h_prev = np.tanh(x[:, t] @ U + h_prev @ W + b)",
        "h_prev = np.tanh(x[:, t] @ U + b)",
        ["test_generation"],  # a bigram model: held-out loss about 2.3 instead of 1.97
    ),
]


def source_of(assignment: str):
    return nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)


def plant(solution, old: str, new: str):
    """The solution with one mistake: ``old`` replaced by ``new`` in its only answer cell."""
    wrong = nbformat.from_dict(solution)
    cells = [c for c in wrong.cells if nbgrader_meta(c).get("solution") and old in c.source]
    assert len(cells) == 1 and cells[0].source.count(old) == 1, f"{old!r} is not in one answer"
    cells[0].source = cells[0].source.replace(old, new)
    return wrong


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root``: relative path -> content hash."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@dataclass
class Graded:
    assignment: str
    course: Path
    before: dict  # the course's files before grading
    results: dict  # student -> Result
    expected_loss: dict  # student -> sorted grade_ids expected to lose points
    source: object


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """``graded_course(assignment)``: a copy of the course that has graded that assignment."""
    done = {}

    def grade(assignment: str) -> Graded:
        if assignment in done:
            return done[assignment]
        course = tmp_path_factory.mktemp(assignment) / "course"
        for folder in ("solutions", "assignments"):
            shutil.copytree(ROOT / folder, course / folder)
        (course / "course_pkg").symlink_to(ROOT / "course_pkg")  # the grading edition's source
        shutil.copy(ROOT / "nbgrader_config.py", course)
        source = source_of(assignment)
        submissions = {
            "solution": solution_notebook(source),
            "blank": release_notebook(source),
            "partial": partial_notebook(source),
        }
        expected_loss = {
            "solution": [],
            "blank": sorted(autograded_cell_ids(source)),
            "partial": sorted(set(autograded_cell_ids(source)) - set(PARTIAL_PASSES[assignment])),
        }
        for a, student, _, old, new, lost in MISTAKES:
            if a == assignment:
                submissions[student] = plant(submissions["solution"], old, new)
                expected_loss[student] = sorted(lost)
        for student, nb in submissions.items():  # what `nbgrader collect` leaves
            folder = course / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{assignment}.ipynb")
            (folder / "timestamp.txt").write_text(SUBMITTED_AT)
            (folder / "submission_secret.txt").write_text(f"secret-{student}")
        roster = ["student_id,platform_id,first_name,last_name,email"] + [
            f"{student},{1000 + i},{student.title()},Tester,{student}@example.edu"
            for i, student in enumerate(submissions)
        ]
        (course / "roster.csv").write_text("\n".join(roster) + "\n")
        before = tree(course)
        results = grade_class(
            assignment,
            course_root=course,
            submissions=course / "submitted",
            out=course / "grading" / assignment,
            roster=course / "roster.csv",
            jobs=2,
            check_runs_clean=False,  # the sample class checks it; the solutions run in nbval
            progress=False,
        )
        done[assignment] = Graded(
            assignment, course, before, {r.student: r for r in results}, expected_loss, source
        )
        return done[assignment]

    return grade


# Every test of this module grades through `graded_course`, which grades each assignment once
# per test process: `make unit` runs with `--dist loadfile`, which keeps a module in one process.


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_submission_scores_exactly_what_it_earns(graded_course, assignment):
    g = graded_course(assignment)
    assert set(g.results) == set(g.expected_loss)
    tests = autograded_cell_ids(g.source)
    for student, r in g.results.items():
        assert (r.status, r.reason) == ("graded", ""), student
        lost = sorted(q for q in tests if r.questions[q][0] < r.questions[q][1])
        assert lost == g.expected_loss[student], f"{student}: lost {lost}"
        earned = sum(r.questions[q][1] for q in tests if q not in g.expected_loss[student])
        assert r.score == earned, student
        # a test cell scores all or nothing
        assert all(r.questions[q][0] in (0, r.questions[q][1]) for q in tests), student
    assert g.results["solution"].score == sum(g.results["solution"].questions[q][1] for q in tests)
    assert g.results["blank"].score == 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_shows_no_hidden_test(graded_course, assignment):
    g = graded_course(assignment)
    secrets = hidden_lines(g.source)
    assert secrets
    for student in g.results:
        for path in (
            g.course / "grading" / assignment / "feedback" / student / f"{assignment}.html",
            g.course / "grading" / "autograded" / student / assignment / f"{assignment}.ipynb",
        ):
            text = readable_text(path)
            leaked = [line for line in secrets if line in text]
            assert not leaked, f"{path.relative_to(g.course)} shows hidden tests: {leaked[:2]}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_grading_writes_only_under_grading_and_the_gradebook(graded_course, assignment):
    g = graded_course(assignment)
    after = tree(g.course)
    assert {p: h for p, h in after.items() if p in g.before} == g.before, "a file was changed"
    assert set(g.before) <= set(after), "a file was removed"
    new = sorted(p for p in after if p not in g.before)
    outside = [p for p in new if not p.startswith("grading/") and p != "gradebook.db"]
    assert outside == [], f"grading wrote outside grading/: {outside}"
    assert "gradebook.db" in new


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_formgrader_lists_every_submission_autograded_with_its_score(graded_course, assignment):
    g = graded_course(assignment)
    api = api_for(g.course)
    listed = {s["student"]: s for s in api.get_submissions(assignment)}
    assert set(listed) == set(g.results)
    for student, r in g.results.items():
        s = listed[student]
        assert s["autograded"] and s["submitted"], student
        assert s["code_score"] == r.score, student
        assert s["timestamp"].startswith("2026-11-21T12:00:00"), student


def nbgrader(course: Path, *args: str) -> str:
    """Run an nbgrader command in the course folder, as the instructor guide does."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), *args],
        cwd=course,
        env=venv_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"nbgrader {args[0]} failed: {done.stderr[-3000:]}"
    return done.stderr


def formgrader(course: Path, home: Path) -> JupyterServer:
    """nbgrader's formgrader, served by a real Jupyter server from a course folder."""
    jupyter = str(Path(sys.executable).parent / "jupyter")
    return JupyterServer(
        [jupyter, "server", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={course}"],
        cwd=course,
        log=home / "server.log",
        env=venv_env(HOME=str(home), JUPYTER_RUNTIME_DIR=str(home / "runtime")),
        ready="/formgrader/api/status",
    )


def test_written_answer_is_graded_by_hand_in_the_formgrader_and_reaches_export_and_feedback(
    graded_course, tmp_path
):
    assignment = "a3_gradients"
    g = graded_course(assignment)
    assert written_answer_ids(g.source) == ["answer_vanishing"]
    report = (g.course / "grading" / assignment / "report.txt").read_text()
    assert "answer_vanishing: graded by hand in the formgrader: 2 to grade, 2 left unanswered" in (
        report
    )
    server = formgrader(g.course, tmp_path)
    try:
        people = {s["id"]: s for s in server.request("GET", "/formgrader/api/students")}
        assert (people["solution"]["first_name"], people["solution"]["last_name"]) == (
            "Solution",
            "Tester",
        )  # the roster's names, not "None, None"
        assert people["blank"]["email"] == "blank@example.edu"
        listed = {
            s["student"]: s
            for s in server.request("GET", f"/formgrader/api/submissions/{assignment}")
        }
        assert all(s["autograded"] for s in listed.values())
        assert (
            listed["solution"]["needs_manual_grade"] and not listed["blank"]["needs_manual_grade"]
        )
        notebooks = server.request(
            "GET", f"/formgrader/api/submitted_notebooks/{assignment}/{assignment}"
        )
        solution = next(n for n in notebooks if n["student"] == "solution")
        page = server.request("GET", f"/formgrader/submissions/{solution['id']}/")
        shown = html.unescape(re.sub(r"<[^>]+>", "", page))
        answer = solution_notebook(g.source).cells[
            [nbgrader_meta(c).get("grade_id") for c in g.source.cells].index("answer_vanishing")
        ]
        words = " ".join(answer.source.split()[-12:])  # the student's written answer
        assert words in " ".join(shown.split()), "the grading page lacks the written answer"
        leaked = [line for line in hidden_lines(g.source) if line in shown]
        assert not leaked, f"the manual grading page shows hidden tests: {leaked[:2]}"
        grades = server.request("GET", f"/formgrader/api/grades?submission_id={solution['id']}")
        answer = next(x for x in grades if x["name"] == "answer_vanishing")
        assert answer["needs_manual_grade"] and answer["auto_score"] is None
        # the grader enters 2.5 of 3 points in the form
        saved = server.request(
            "PUT", f"/formgrader/api/grade/{answer['id']}", {"manual_score": 2.5}
        )
        assert saved["manual_score"] == 2.5 and not saved["needs_manual_grade"]
        listed = {
            s["student"]: s
            for s in server.request("GET", f"/formgrader/api/submissions/{assignment}")
        }
        assert listed["solution"]["score"] == 31 + 2.5
    finally:
        server.close()

    # the course's own exports carry the hand grade: Canvas, Moodle and per question
    from autograder.export import export_grades

    export_grades(g.course, assignment, g.course / "roster.csv", canvas_assignment_id=5)
    out = g.course / "grading" / assignment
    with open(out / "canvas.csv") as handle:
        canvas = {r["SIS User ID"]: r for r in csv.DictReader(handle) if r["ID"]}
    assert canvas["solution"][f"{assignment} (5)"] == "33.5"
    with open(out / "moodle.csv") as handle:
        moodle = {r["Identifier"]: r for r in csv.DictReader(handle)}
    assert moodle[f"Participant {canvas['solution']['ID']}"]["Grade"] == "33.5"
    with open(out / "questions.csv") as handle:
        per_question = {r["student_id"]: r for r in csv.DictReader(handle)}
    assert per_question["solution"]["answer_vanishing"] == "2.5 (by hand)"
    waiting = {s for s, v in listed.items() if v["needs_manual_grade"]}  # after the hand grade
    assert waiting and "solution" not in waiting
    for student in waiting:
        assert (per_question[student]["answer_vanishing"], per_question[student]["waiting"]) == (
            "waiting",
            "yes",
        )
    assert per_question["blank"]["waiting"] == "no"

    # the export an instructor uploads, the feedback with the hand grade, and its release
    # through nbgrader's exchange: the commands the instructor guide gives
    exported = tmp_path / "grades.csv"
    nbgrader(g.course, "export", "--to", str(exported))
    with open(exported) as handle:
        rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(handle)}
    assert float(rows[(assignment, "solution")]["score"]) == 33.5
    assert float(rows[(assignment, "blank")]["score"]) == 0

    nbgrader(g.course, "generate_feedback", assignment, "--student", "solution", "--force")
    page = g.course / "grading" / "feedback" / "solution" / assignment / f"{assignment}.html"
    text = readable_text(page)
    assert re.search(r"Score:\s*33\.5\s*/\s*34", text), "the feedback lacks the total with 2.5"
    assert not [line for line in hidden_lines(g.source) if line in text]
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    nbgrader(g.course, "release_feedback", assignment, f"--Exchange.root={exchange}")
    sent = list((exchange / "rnn-course" / "feedback").glob("*.html"))
    assert len(sent) == 1 and sent[0].read_bytes() == page.read_bytes()


def test_feedback_of_nbgraders_own_autograde_shows_no_hidden_test(graded_course, tmp_path):
    """An instructor who autogrades from the formgrader still sends no hidden test."""
    assignment = "a1_unfolding"
    g = graded_course(assignment)
    course = tmp_path / "course"
    shutil.copytree(g.course, course)
    api = api_for(course)
    graded = api.autograde(assignment, "partial", force=True, create=False)
    assert graded["success"], graded["log"]
    notebook = course / "grading" / "autograded" / "partial" / assignment / f"{assignment}.ipynb"
    assert "### BEGIN HIDDEN TESTS" in notebook.read_text()  # nbgrader's own, unfiltered
    made = api.generate_feedback(assignment, "partial", force=True)
    assert made["success"], made["log"]
    page = course / "grading" / "feedback" / "partial" / assignment / f"{assignment}.html"
    text = readable_text(page)
    assert "hidden tests ran here" in text
    leaked = [line for line in hidden_lines(g.source) if line in text]
    assert not leaked, f"nbgrader's feedback shows hidden tests: {leaked[:2]}"
