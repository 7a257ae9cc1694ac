"""End to end: grade a synthetic class of good and bad submissions with the one command.

Every student's exact status and score is asserted, the feedback must not
contain the hidden tests' code, the gradebook must hold the merged scores and
survive an attack, and a second run must give the same grades.
"""

from __future__ import annotations

import csv
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest

from autograder.cgroups import running
from autograder.grade import course_limits, grade_class
from autograder.records import Limits
from autograder.report import spreadsheet_safe
from autograder.sample import CASES, write_sample_class

from nbgrader_util import ROOT, grading_course, hidden_lines, readable_text

ASSIGNMENT = "a1_unfolding"
SEED = 20261201


def secrets_of_the_assignment() -> set[str]:
    return hidden_lines(
        nbformat.read(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    )


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if shutil.which("bwrap") is None:
        pytest.fail("bubblewrap is not installed (apt-get install bubblewrap; `make test` does it)")
    tmp = tmp_path_factory.mktemp("class")
    course = tmp / "course"
    course.mkdir()
    for folder in ("solutions", "assignments"):  # the grading edition is built from them
        shutil.copytree(ROOT / folder, course / folder)
    (course / "course_pkg").symlink_to(ROOT / "course_pkg")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    write_sample_class(
        course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", ASSIGNMENT, tmp / "sub"
    )
    options = dict(
        course_root=course,
        roster=tmp / "sub" / "roster.csv",
        jobs=2,
        limits=Limits(timeout=10),
        seed=SEED,  # the celery executor's run below draws the same hidden-test inputs
    )
    # the top-to-bottom run of each notebook as submitted is checked on a few, in the re-grade
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, the peak so far
    results = grade_class(
        ASSIGNMENT, submissions=tmp / "sub", out=tmp / "out", check_runs_clean=False, **options
    )
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory_before
    return course, tmp, {r.student: r for r in results}, options | {"grown_kib": grown}


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
    assert r["kernel_crash"].reason.startswith("the kernel died while running the notebook")
    assert "renamed" in r["renamed"].note or "my_work.ipynb" in r["renamed"].note
    assert (r["full"].reason, r["monkeypatch"].reason, r["gradebook_attack"].reason) == ("", "", "")
    assert r["full"].seed != r["renamed"].seed  # the hidden tests' inputs are new for each
    # attempts that the sandbox and the judge defeat are still shown to a person
    assert r["solution_thief"].integrity == "calls open(); imports glob"
    assert "imports sqlite3" in r["gradebook_attack"].integrity
    assert "uses course_pkg's own rnn_forward" in r["reexport"].integrity
    assert (r["full"].integrity, r["partial"].integrity, r["infinite_loop"].integrity) == ("",) * 3


def test_attacks_on_the_kernel_change_nothing_the_judge_sees(graded):
    """The judge's own checks decide, with their messages, whatever the kernel does."""
    _, tmp, _, _ = graded

    def shown(student):
        return readable_text(tmp / "out" / "feedback" / student / f"{ASSIGNMENT}.html")

    liar = shown("lying_ndarray")  # its arrays arrive as the plain zeros they hold
    assert "sigmoid(z) differs from the expected values, most at index (2,): got 0" in liar
    swapped = shown("code_swap")  # the kernel's check_array swap does not reach the judge's
    assert "sigmoid(z) differs from the expected values" in swapped
    assert "your code raised NotImplementedError" in shown("threaded_reference") or (
        "should be a numpy array, got NoneType" in shown("threaded_reference")
    )
    assert "your code raised AssertionError: wrong" in shown("first_output")
    spy = shown("exfiltration")  # what the answers printed while the judge called them
    assert "frame /" in spy and "all checks passed" in spy  # (and no hidden test: see below)


def test_hostile_ids_get_a_row_and_nothing_a_spreadsheet_would_run(graded):
    _, tmp, results, _ = graded
    for student in ("star*", "trailing "):
        assert results[student].status == "id refused"
        assert f"the student id {student!r} cannot be used" in results[student].reason
    assert "'*'" in results["star*"].reason and "' '" in results["trailing "].reason
    with open(tmp / "out" / "grades.csv") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert rows["'=1+2"]["score"] == "9" and "=1+2" not in rows  # shown as text, not run
    assert rows["star*"]["status"] == "id refused"
    for row in rows.values():
        for field in ("student_id", "reason", "note"):
            assert not row[field].startswith(("=", "+", "-", "@")), (field, row[field])


def test_feedback_runs_nothing_whatever_the_outputs(graded):
    _, tmp, results, _ = graded
    pages = sorted((tmp / "out" / "feedback").rglob("*.html"))
    assert len(pages) >= 15
    for page in pages:
        text = page.read_text()
        assert not re.search(r"<script", text, re.I), page
        assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", text, re.I), page
        assert 'http-equiv="Content-Security-Policy" content="default-src \'none\'' in text, page
    shown = readable_text(tmp / "out" / "feedback" / "script_injection" / f"{ASSIGNMENT}.html")
    assert "Score: 30 / 30" in shown  # the student's text is shown as text, nothing more
    assert results["script_injection"].score == 30


def test_limits_hold_for_the_kernels_whole_process_tree(graded):
    _, tmp, results, _ = graded

    def shown(student):
        return readable_text(tmp / "out" / "feedback" / student / f"{ASSIGNMENT}.html")

    # a print may reach the page in pieces (blank lines between): match across them
    started = int(re.search(r"started\s+(\d+)\s+processes", shown("fork_bomb"))[1])
    assert 10 < started < Limits.processes  # stopped by the cgroup's process limit
    assert results["memory_children"].status == "out of memory"
    assert "processes it started used more than 2048 MB" in results["memory_children"].reason
    written = dict(
        (folder, int(mb))
        for mb, folder in re.findall(r"wrote\s+(\d+)\s+MB\s+in\s+(\S+)", shown("disk_filler"))
    )
    assert 0 < written.pop("/tmp") <= Limits.disk_mb  # the kernel's own space, capped
    assert list(written.values()) == [0], written  # its bound folder on the host is closed
    dead = results["dead_sockets"]
    assert dead.status == "crashed" and "stopped answering" in dead.reason
    assert dead.seconds < 60, f"a kernel that stopped answering held a worker {dead.seconds:.0f} s"


def test_a_flood_on_the_kernels_stderr_does_not_reach_the_grader(graded):
    _, _, results, options = graded
    assert results["stderr_flood"].status == "graded" and results["stderr_flood"].score == 27
    assert options["grown_kib"] < 300_000, f"the grader grew by {options['grown_kib']} KiB"


def test_outputs_are_written_and_feedback_hides_hidden_tests(graded):
    _, tmp, results, _ = graded
    out = tmp / "out"
    with open(out / "grades.csv") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {spreadsheet_safe(student) for student in CASES}
    assert rows["partial"]["score"] == "9" and rows["partial"]["test_activation_values"] == "3"
    assert rows["kernel_crash"]["status"] == "crashed"
    report = (out / "report.txt").read_text()
    assert f"{len(CASES)} students" in report and "test_rnn_forward" in report
    assert (out / "scores.png").stat().st_size > 10_000
    secrets = secrets_of_the_assignment()
    assert secrets
    for student, r in results.items():
        if r.status in ("notebook missing", "notebook unreadable", "crashed", "id refused"):
            continue
        text = readable_text(out / "feedback" / student / f"{ASSIGNMENT}.html")
        leaked = [line for line in secrets if line in text]
        assert not leaked, f"{student}'s feedback shows hidden tests: {leaked[:2]}"
    thief = readable_text(out / "feedback" / "solution_thief" / f"{ASSIGNMENT}.html")
    assert "stolen: 0 files" in thief
    # the student is told what was seen, and why a score stopped
    assert "contains code that reaches outside its answers (calls open(); imports glob)" in thief
    crash = readable_text(out / "feedback" / "kernel_crash" / f"{ASSIGNMENT}.html")
    assert "Grading stopped (crashed): the kernel died" in crash
    for student in ("solution_thief", "gradebook_attack", "reexport"):
        assert rows[student]["integrity"] == results[student].integrity != ""
        assert f"  {student}: graded\n    reaches outside its answers: " in report


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


def test_regrading_gives_the_same_grades_and_checks_notebooks_run_as_submitted(graded):
    _, tmp, first, options = graded
    subset = tmp / "again"
    for student in ("full", "blank", "partial", "monkeypatch", "corrupt_json", "tampered_tests"):
        shutil.copytree(tmp / "sub" / student, subset / student)
    options = {k: v for k, v in options.items() if k != "grown_kib"}
    again = grade_class(
        ASSIGNMENT, submissions=subset, out=tmp / "out2", **{**options, "roster": None}
    )
    for r in again:
        assert (r.status, r.score, r.questions) == (
            first[r.student].status,
            first[r.student].score,
            first[r.student].questions,
        )
    runs_clean = {r.student: r.runs_clean for r in again}
    # whether each notebook runs top to bottom as submitted
    assert runs_clean == {
        "full": True,
        "blank": False,
        "partial": False,
        # its visible tests raise NameError (tanh is never defined), and it hides the
        # tracebacks (showtraceback patched): a run that reads outputs (nbval-lax) saw none
        # and said it runs clean; the graded run reads each cell's reply, which says error
        "monkeypatch": False,
        "corrupt_json": None,
        "tampered_tests": False,  # its blank answers raise
    }
    # told by the graded run, whose kernel ran each notebook's own code, cell for cell; a
    # second run (pytest --nbval-lax in the sandbox) only for the notebook whose test cells
    # were rewritten, which the graded run did not run
    second = {r.student for r in again if "runs_clean" in r.phases}
    assert second == {"tampered_tests"}
    detail = {r.student: r.runs_clean_detail for r in again}
    full = nbformat.read(subset / "full" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    cells = [c for c in full.cells if c.cell_type == "code" and c.source.strip()]
    assert detail["full"] == f"{len(cells)} passed (the graded run's cells)", detail["full"]
    assert re.fullmatch(r"\d+ failed, \d+ passed in [\d.]+s", detail["tampered_tests"]), detail
    report = (tmp / "out2" / "report.txt").read_text()
    unclean = report.split("Do not run top to bottom as submitted:\n")[1].splitlines()
    assert sorted(line.split(":")[0].strip() for line in unclean) == [
        "blank",
        "monkeypatch",
        "partial",
        "tampered_tests",
    ]
    assert "NameError: name 'tanh' is not defined" in detail["monkeypatch"], detail
    assert all(re.search(r"\d+ failed, \d+ passed", line) for line in unclean), unclean
    blank = next(line for line in unclean if line.strip().startswith("blank"))
    assert "the first, cell" in blank and "NotImplementedError" in blank, blank


def test_shipped_sample_class_is_in_sync(tmp_path):
    shipped = ROOT / "sample_class" / ASSIGNMENT
    write_sample_class(
        ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", ASSIGNMENT, tmp_path
    )
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    committed = {p.relative_to(shipped): p.read_bytes() for p in shipped.rglob("*") if p.is_file()}
    assert fresh == committed, "sample_class/ is stale: run `make sample-class` and commit"


def test_the_instructor_guide_states_the_limits_the_grader_uses():
    limits = course_limits(ROOT)
    assert limits == Limits(timeout=120)  # the course's nbgrader_config.py, and our defaults
    guide = " ".join((ROOT / "book" / "guide_instructors.md").read_text().split())
    assert f"Each cell may run for {limits.timeout} seconds" in guide
    assert f"`--memory-mb` of memory ({limits.memory_mb})" in guide
    assert f"`--max-output-bytes` ({limits.max_output_bytes // 1_000_000} MB)" in guide
    assert course_limits(ROOT, timeout=7, memory_mb=None) == Limits(timeout=7)


def test_a_crash_of_the_grader_loses_nothing_graded_and_a_rerun_resumes(graded, tmp_path):
    course, tmp, first, options = graded
    submissions = tmp_path / "sub"
    for student in ("blank", "full", "partial"):
        shutil.copytree(tmp / "sub" / student, submissions / student)
    out = tmp_path / "out"
    scratch = Path(tempfile.mkdtemp(prefix="g", dir="/tmp"))  # short: kernels' sockets go here
    script = (
        "from pathlib import Path\n"
        "from autograder.grade import grade_class\n"
        "from autograder.records import Limits\n"
        f"grade_class({ASSIGNMENT!r}, course_root=Path({str(course)!r}),"
        f" submissions=Path({str(submissions)!r}), out=Path({str(out)!r}), jobs=1,"
        " limits=Limits(timeout=10), check_runs_clean=False, update_gradebook=False,"
        " progress=False)\n"
    )
    env = {**os.environ, "TMPDIR": str(scratch)}  # its workers' folders, to find them
    grader = subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True)
    log = out / "results.jsonl"
    deadline = time.monotonic() + 300
    while not (log.is_file() and log.read_text().count("\n") >= 1):
        assert grader.poll() is None and time.monotonic() < deadline, "no result was recorded"
        time.sleep(0.2)
    while not (out / "grades.csv").is_file():  # written as each result arrives, after its line
        assert grader.poll() is None and time.monotonic() < deadline, "no grades.csv"
        time.sleep(0.05)
    os.killpg(grader.pid, signal.SIGKILL)  # the grader dies mid-class
    grader.wait()
    subprocess.run(["pkill", "-KILL", "-f", str(scratch)], check=False)  # and its workers
    recorded = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(recorded) == 1
    with open(out / "grades.csv") as handle:  # the class so far, not waiting for the rest
        assert [row["student_id"] for row in csv.DictReader(handle)] == [recorded[0]["student"]]

    options = {k: v for k, v in options.items() if k not in ("grown_kib", "roster")}
    again = {
        r.student: r
        for r in grade_class(ASSIGNMENT, submissions=submissions, out=out, resume=True, **options)
    }
    done = recorded[0]["student"]
    assert again[done].seconds == recorded[0]["seconds"], "a recorded result was graded again"
    assert {s: (r.status, r.score) for s, r in again.items()} == {
        s: (first[s].status, first[s].score) for s in ("blank", "full", "partial")
    }
    assert len(log.read_text().splitlines()) == 3  # one line per submission, none twice
    with open(out / "grades.csv") as handle:
        assert sorted(row["student_id"] for row in csv.DictReader(handle)) == [
            "blank",
            "full",
            "partial",
        ]
    assert (out / "feedback" / done / f"{ASSIGNMENT}.html").is_file()
    shutil.rmtree(scratch, ignore_errors=True)


def test_kernels_sockets_fit_even_with_a_long_temporary_folder(monkeypatch, tmp_path):
    from autograder.grade import _short_temp_folder

    long = tmp_path / ("x" * 60)
    long.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(long))
    assert _short_temp_folder() == "/tmp"
    monkeypatch.setattr(tempfile, "tempdir", "/tmp")
    assert _short_temp_folder() is None


def test_the_instructor_guide_lists_every_sample_student_with_its_outcome():
    guide = (ROOT / "book" / "guide_instructors.md").read_text()
    rows = {}
    for line in guide.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and line.startswith("|"):
            for name in re.findall(r"`([^`]+)`", cells[0]) or [cells[0]]:
                rows[name] = (cells[2], cells[3])
    for student, (status, score, _) in CASES.items():
        assert rows.get(student) == (status, str(score)), student


def test_limits_statuses_and_results_are_declared_once():
    from dataclasses import asdict, fields

    from autograder.__main__ import build_parser
    from autograder.records import Result, Status

    options = vars(build_parser().parse_args(["grade", "a1_unfolding"]))
    for limit in fields(Limits)[1:]:  # each option's default is the record's
        assert limit.metadata["help"] and options[limit.name] == limit.default
    row = Result("s1", "timed out", "a cell ran longer than the limit", 3.0, 30.0)
    assert row.status is Status.TIMED_OUT
    again = Result.from_json(json.dumps(asdict(row)))
    assert again == row and again.status is Status.TIMED_OUT
    with pytest.raises(ValueError, match="'finished' is not a valid Status"):
        Result("s1", "finished")
    assert [s.value for s in Status] == [
        "graded",
        "timed out",
        "crashed",
        "out of memory",
        "notebook missing",
        "notebook unreadable",
        "id refused",
        "no student",
        "conflict",
    ]


def test_output_cap_is_reported_however_the_cut_arrives():
    """The cut note split over two stream outputs, or a test's call cut: both give the reason."""
    import nbformat

    from autograder.judge import CUT, FLOODED
    from autograder.worker import _failure_kind

    def notebook(*outputs):
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("rnn_num_params(1, 2)")
        cell.outputs = list(outputs)
        nb.cells = [cell]
        return nb

    def stream(text):
        return nbformat.v4.new_output("stream", name="stdout", text=text)

    split = notebook(stream("spam " + CUT[:12]), stream(CUT[12:] + ": ...]"))
    cut_call = notebook(
        nbformat.v4.new_output("error", ename="NoAnswer", evalue=FLOODED, traceback=[])
    )
    for nb in (split, cut_call):
        status, reason = _failure_kind(nb)
        assert status == "graded" and "output cap" in reason
    assert _failure_kind(notebook(stream("spam"))) == ("graded", "")


def _descendants(pid: int) -> set[int]:
    """The processes below ``pid`` now (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def test_the_celery_executor_grades_the_class_as_the_local_one_through_killed_workers(
    graded, tmp_path
):
    """A real redis-server and two Celery workers, each in its own folder. One worker is
    killed (its whole process group, as a machine failing) while it grades ``full``; the
    ``aa_poisoned`` submission's worker is killed every time it runs it. Every student still
    gets exactly one row, the same as the local executor's; ``aa_poisoned`` is recorded as
    crashed after its two tries; and no grading process outlives a killed worker."""
    import redis

    from autograder.cluster import redis_server, start_worker, stop_worker
    from autograder.distributed import RUNNING_KEY, TRIES_KEY

    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server; make test does)")
    _, tmp, local, options = graded
    options = {k: v for k, v in options.items() if k != "grown_kib"}
    submissions = tmp_path / "sub"
    shutil.copytree(tmp / "sub", submissions)
    shutil.copytree(tmp / "sub" / "partial", submissions / "aa_poisoned")  # not on the roster
    course = grading_course(tmp_path)
    lease = 4  # the shortest allowed: a killed worker's task moves on soon
    kills, orphans, during = [], [], []  # during: the gradebook's submissions at each kill
    with redis_server(tmp_path / "redis") as broker:
        client = redis.Redis.from_url(broker)
        workers = {
            name: start_worker(broker, tmp_path / name, lease=lease, name=name)
            for name in ("w1", "w2")
        }
        done = threading.Event()

        def chaos() -> None:
            """Kill a worker mid-job, as a failing machine would, and start it again."""
            seen = set()
            while not done.is_set():
                for key in client.scan_iter(RUNNING_KEY.format("*")):
                    value = (client.get(key) or b"").decode()
                    if value.count(" ") < 2:
                        continue  # the task ended between the scan and the read
                    host, pid, student = value.split(" ", 2)
                    if value in seen or not (
                        student == "aa_poisoned"
                        or (student == "full" and all(k[0] != "full" for k in kills))
                    ):
                        continue
                    seen.add(value)
                    name = host.split("@")[0]
                    for _ in range(100):  # until its kernel runs: the grading worker, bwrap...
                        below = _descendants(int(pid))
                        if len(below) >= 3:
                            break
                        time.sleep(0.1)
                    stop_worker(workers[name], kill=True)
                    db = sqlite3.connect(course / "gradebook.db", timeout=30)
                    during.append(
                        db.execute("SELECT COUNT(*) FROM submitted_assignment").fetchone()[0]
                    )
                    db.close()
                    kills.append((student, key.decode().rsplit(":", 1)[1], len(below)))
                    for _ in range(30):  # PR_SET_PDEATHSIG and --die-with-parent act at once
                        if not any(running(p) for p in below):
                            break
                        time.sleep(0.1)
                    orphans.extend(p for p in below if running(p))
                    workers[name] = start_worker(broker, tmp_path / name, lease=lease, name=name)
                time.sleep(0.2)

        watcher = threading.Thread(target=chaos, daemon=True)
        watcher.start()
        try:
            results = grade_class(
                ASSIGNMENT,
                submissions=submissions,
                out=tmp_path / "out",
                executor="celery",
                broker=broker,
                max_tries=2,
                lease=lease,
                progress=False,
                check_runs_clean=False,
                **{**options, "course_root": course},
            )
        finally:
            done.set()
            watcher.join()
            for process in workers.values():
                stop_worker(process)
        tries = {
            key.decode().rsplit(":", 1)[1]: int(client.get(key))
            for key in client.scan_iter(TRIES_KEY.format("*"))
        }
    by_student = {r.student: r for r in results}
    assert len(results) == len(by_student) == len(CASES) + 1  # none lost, none twice
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["student"] for line in lines) == sorted(by_student)

    # the killed job ran again elsewhere; the poisoned one twice, then was recorded crashed
    assert sorted(student for student, _, _ in kills) == ["aa_poisoned"] * 2 + ["full"], kills
    tasks = {student: task for student, task, _ in kills}  # one task each, killed 1 and 2 times
    assert all(below >= 3 for _, _, below in kills), kills  # a grading worker and its kernel
    assert orphans == [], "grading processes outlived their killed worker"
    assert (tries.pop(tasks["full"]), tries.pop(tasks["aa_poisoned"])) == (2, 3)
    # every other task ran once: a live worker's lease held, though some jobs outran it
    sent = [r for r in results if r.status not in ("notebook missing", "id refused")]
    assert len(tries) == len(sent) - 2 and set(tries.values()) == {1}
    assert max(r.seconds for r in results) > 2 * lease
    poisoned = by_student.pop("aa_poisoned")
    assert poisoned.status == "crashed" and poisoned.score == 0
    assert poisoned.reason == (
        "grading this submission was cut short 2 times (its worker died or was killed each "
        "time), so it was not run again"
    )

    # the coordinator wrote the gradebook as records arrived, not once at the end
    assert 0 < max(during) < len(sent), during

    # the same grades as the local executor, student by student
    def essentials(r):
        return (r.status, r.score, r.questions, r.seed, r.integrity, r.note, r.max_score)

    assert {s: essentials(r) for s, r in by_student.items()} == {
        s: essentials(r) for s, r in local.items()
    }
    # whether ipykernel forwards some of a flood on fd 2 to the notebook before the cell ends
    # (and the output cap cuts it) is a matter of timing, in any executor
    differing = [
        s for s in by_student if by_student[s].reason != local[s].reason and s != "stderr_flood"
    ]
    assert differing == [], [(by_student[s].reason, local[s].reason) for s in differing]
    for student in ("full", "partial", "blank", "monkeypatch"):  # whole records, to the byte
        pages = [
            (root / "feedback" / student / f"{ASSIGNMENT}.html").read_bytes()
            for root in (tmp_path / "out", tmp / "out")
        ]
        assert pages[0] == pages[1], student

    # and the same gradebook: each submission once, with the same score per graded cell
    def cells(course_root):
        db = sqlite3.connect(course_root / "gradebook.db")
        rows = db.execute(
            "SELECT student.id, base_cell.name, grade.auto_score FROM grade "
            "JOIN base_cell ON grade.cell_id = base_cell.id "
            "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = "
            "submitted_assignment.id "
            "JOIN student ON submitted_assignment.student_id = student.id"
        ).fetchall()
        db.close()
        return rows

    ours = cells(course)
    assert len(ours) == len(set(ours)) and len({(s, c) for s, c, _ in ours}) == len(ours)
    assert sorted(r for r in ours if r[0] != "aa_poisoned") == sorted(cells(graded[0]))
