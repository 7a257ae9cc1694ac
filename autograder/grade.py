"""Grade a whole class: one command, in parallel, nothing lost.

``python -m autograder grade ASSIGNMENT`` (or ``make grade ASSIGNMENT=...``)
finds every submission, grades each in its own worker process and sandboxed
kernel (:mod:`autograder.worker`), several at a time, then, in this process
only, merges the scores into the course gradebook and writes

- ``grades.csv``: one row per student in the roster and per submission
  found, with a status (:class:`autograder.records.Status`), the reason, the
  score per question, and whether the notebook runs top to bottom as
  submitted; ``results.jsonl``: each result as soon as it is graded (and
  ``grades.csv`` and the gradebook follow each result too);
- ``feedback/<student>/<assignment>.html`` without the hidden tests' code;
- ``report.txt`` and ``scores.png``: the distribution per question and overall.

With the gradebook (the default), each graded notebook, without hidden tests,
also goes where nbgrader's own tools look for it (``autograded_directory`` in
``nbgrader_config.py``, under ``grading/``), so the formgrader shows the
scores and the answers to grade by hand, and ``nbgrader generate_feedback``
works. Nothing outside ``grading/`` and the gradebook is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from . import report
from .cgroups import sweep_orphans
from .collect import Entry, Roster, collect, id_problem, read_roster
from .feedback import harden_html
from .integrity import integrity_flags
from .jobs import GradingJob, JobRecord, build_bundle, run_job, unpack_bundle
from .late import course_policy
from .records import Job, Limits, Result, Status
from .similarity import compare_class
from .similarity import write_csv as write_similarity_csv
from .similarity import write_html as write_similarity_html
from .stage import written_answer_ids
from .warm import WarmWorker
from .worker import ensure_venv_bin_on_path, log_tail


def _course_config(course_root: Path):
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    config.CourseDirectory.root = str(course_root)
    return config


def course_limits(course_root: Path, **overrides) -> Limits:
    """The course's limits: the time per cell is nbgrader's ``Execute.timeout`` as the
    course sets it (nbgrader's own default if it does not); ``overrides`` win."""
    from nbgrader.preprocessors import Execute

    config = _course_config(course_root)
    timeout = config.Execute.timeout if "timeout" in config.Execute else None
    settings = {"timeout": timeout or Execute.timeout.default_value}
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return Limits(**settings)


def gradebook_url(config, course_root: Path) -> str:
    """The course gradebook's URL; a relative SQLite path is taken from the course root.

    Any SQLAlchemy URL nbgrader accepts works (``postgresql://...`` for a
    server shared by several graders); only this process writes to it.
    """
    url = config.CourseDirectory.db_url if "db_url" in config.CourseDirectory else ""
    url = url or "sqlite:///gradebook.db"
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url[len(prefix) :].startswith("/"):
        url = prefix + str(course_root / url[len(prefix) :])
    return url


def register_assignment(course_root: Path, assignment: str, db_url: str, workdir: Path) -> None:
    """Make the gradebook at ``db_url`` know the assignment: its notebook, cells and points.

    nbgrader records them while it generates the release, so the release is
    generated into a throwaway copy of the assignment's source folder, never
    into the course's own ``assignments/``.
    """
    from nbgrader.apps import NbGraderAPI

    course = Path(tempfile.mkdtemp(prefix="register-", dir=workdir))
    shutil.copytree(course_root / "solutions" / assignment, course / "solutions" / assignment)
    config = _course_config(course_root)
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.source_directory = "solutions"
    config.CourseDirectory.release_directory = "release"
    config.CourseDirectory.db_url = db_url
    result = NbGraderAPI(config=config).generate_assignment(assignment, force=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader could not register {assignment}: {result['log']}")


def gradebook_template(course_root: Path, assignment: str, workdir: Path) -> Path:
    """A fresh gradebook that knows the assignment (each worker starts from a copy)."""
    path = workdir / "template.db"
    register_assignment(course_root, assignment, f"sqlite:///{path}", workdir)
    return path


SINGLE_THREADED = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def worker_env() -> dict:
    """The environment of a worker process (cold, or warm: :mod:`autograder.warm`)."""
    return {
        **os.environ,
        # the judge computes the reference in the worker: one BLAS thread, as each kernel has
        **{k: "1" for k in SINGLE_THREADED},
        "AUTOGRADER_PARENT": str(os.getpid()),  # it dies with this process
    }


def run_worker(job: Job, job_dir: Path, deadline: float, warm: WarmWorker | None = None) -> Result:
    """Run one worker process (forked by ``warm``, else a cold one); turn anything that goes
    wrong into a Result."""
    job_dir.mkdir(parents=True)
    job_dir.chmod(0o700)  # the job, the worker's log and result: the grader's only
    os.chmod(job_dir.parent, 0o711)  # the job's folder: the kernel passes through to its own
    (job_dir / "job.json").write_text(json.dumps(asdict(job)))
    log = job_dir / "worker.log"  # a file, never a pipe this process would have to hold
    in_time = warm.run(job_dir / "job.json", log, deadline) if warm is not None else None
    grader = warm.grader if in_time is not None else None  # a cold one is reaped already
    if in_time is None:
        in_time = _run_cold_worker(job_dir / "job.json", log, deadline)
    result_path = job_dir / "result.json"
    if not in_time or not result_path.exists():
        # its grader was killed, or died: what it could not remove (its kernel's cgroup, and
        # a process caught starting inside bubblewrap, which outlives it asleep) goes now
        sweep_orphans(killed=grader)
    if not in_time:
        return Result(job.student, Status.TIMED_OUT, f"grading took longer than {deadline:.0f} s")
    if not result_path.exists():
        lines = [line for line in log_tail(log, 4000).splitlines() if line.strip()]
        last = lines[-1:] or ["no message"]
        return Result(job.student, Status.CRASHED, f"the grader's worker failed: {last[0][:200]}")
    return Result.from_json(result_path.read_text())


def _run_cold_worker(job_json: Path, log: Path, deadline: float) -> bool:
    """``python -m autograder.worker JOB_JSON``: whether it ended within ``deadline`` seconds
    (else it was killed)."""
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "autograder.worker", str(job_json)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,  # its own process group, so a timeout kills everything
            env=worker_env(),
        )
        try:
            process.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return False
    return True


def _submission_time(entry: Entry | None):
    """The time nbgrader recorded for a submission (its ``timestamp.txt``), if any."""
    if entry is None or entry.time_source != "timestamp.txt":
        return None  # a zip entry's time is the platform's local clock: not given to nbgrader
    return entry.submitted


# what nbgrader's feedback tools need beside a graded notebook (written by nbgrader's exchange)
EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")


def _publish_autograded(coursedir, assignment: str, result: Result, entry: Entry | None) -> None:
    """Put the graded notebook (no hidden tests) where nbgrader's formgrader looks for it."""
    dest = Path(coursedir.format_path(coursedir.autograded_directory, result.student, assignment))
    shutil.rmtree(dest, ignore_errors=True)  # a previous grading of this student is replaced
    if not result.autograded:
        return
    dest.mkdir(parents=True)
    shutil.copy(result.autograded, dest / f"{assignment}.ipynb")
    for name in EXCHANGE_FILES:
        if entry is not None and entry.folder is not None and (entry.folder / name).is_file():
            shutil.copy(entry.folder / name, dest / name)


def _student(gb, student_id: str, names: dict) -> None:
    """Create or update a student. On a gradebook server another grading run (another
    assignment) may add the same student between nbgrader's look and its insert; nbgrader
    then rolls back and raises ``InvalidEntry``, and the student exists: look again."""
    from nbgrader.api import InvalidEntry

    for attempt in range(3):
        try:
            gb.update_or_create_student(student_id, **names)
            return
        except InvalidEntry:
            if attempt == 2:
                raise


NOT_IN_GRADEBOOK = (Status.ID_REFUSED, Status.UNMATCHED, Status.CONFLICT)
JUDGED = (
    Status.GRADED,
    Status.TIMED_OUT,
    Status.CRASHED,
    Status.OUT_OF_MEMORY,
    Status.NOTEBOOK_UNREADABLE,
)


class GradebookWriter:
    """The course gradebook, open for one grading run: :meth:`add` writes one result.

    Every student gets a record; every submission found gets nbgrader's
    submission record, its scores, and its graded notebook in nbgrader's
    ``autograded`` folder. A written answer the student changed waits for a
    grade by hand (nbgrader's rule), and a grade entered by hand is kept.
    The roster's names and emails go with each student, for the formgrader.
    Each result is committed as it is added, so the gradebook follows the run.
    """

    def __init__(
        self,
        course_root: Path,
        assignment: str,
        entries: dict,
        workdir: Path,
        roster: Roster | None = None,
    ):
        from nbgrader.api import Gradebook
        from nbgrader.coursedir import CourseDirectory

        config = _course_config(course_root)
        db_url = gradebook_url(config, course_root)
        with Gradebook(db_url, config.CourseDirectory.course_id) as gb:
            known = {a.name for a in gb.assignments}
        if assignment not in known:
            register_assignment(course_root, assignment, db_url, workdir)
        self.assignment, self.entries, self.roster = assignment, entries, roster
        self.coursedir = CourseDirectory(config=config)
        self.gb = Gradebook(db_url, config.CourseDirectory.course_id)

    def __enter__(self) -> GradebookWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.gb.close()

    def add(self, r: Result) -> None:
        from sqlalchemy.exc import SAWarning

        if r.status in NOT_IN_GRADEBOOK:
            return  # its row in grades.csv says why; the gradebook cannot hold it
        gb = self.gb
        known = self.roster.by_id(r.student) if self.roster is not None else None
        names = (
            {
                "first_name": known.first_name or None,
                "last_name": known.last_name or None,
                "email": known.email or None,
            }
            if known is not None
            else {}
        )
        with warnings.catch_warnings():
            # nbgrader 0.9.6's own session handling warns while it creates a submission
            warnings.simplefilter("ignore", SAWarning)
            _student(gb, r.student, names)
            entry = self.entries.get(r.student)
            if entry is None:  # on the roster, submitted nothing: no submission to record
                return
            timestamp = _submission_time(entry)
            extra = {"timestamp": timestamp} if timestamp is not None else {}
            submission = gb.update_or_create_submission(self.assignment, r.student, **extra)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    score = r.questions.get(grade.cell.name, [0.0])[0]
                    if score is None and grade.cell.cell_type == "code":
                        score = 0.0
                    grade.auto_score = None if score is None else float(score)
                    # nbgrader's rule: an answer not scored automatically, or already
                    # graded by hand, is for a person to (re)check
                    grade.needs_manual_grade = score is None or grade.manual_score is not None
            gb.db.commit()
        _publish_autograded(self.coursedir, self.assignment, r, entry)


def merge_into_gradebook(
    course_root: Path,
    assignment: str,
    results,
    entries: dict,
    workdir: Path,
    roster: Roster | None = None,
) -> None:
    """Write the scores of ``results`` into the course gradebook (:class:`GradebookWriter`)."""
    with GradebookWriter(course_root, assignment, entries, workdir, roster) as writer:
        for r in results:
            writer.add(r)


def record_penalties(course_root: Path, assignment: str, results) -> None:
    """Give every submission in the gradebook its current late penalty (in points)."""
    from nbgrader.api import Gradebook, MissingEntry

    config = _course_config(course_root)
    with Gradebook(gradebook_url(config, course_root), config.CourseDirectory.course_id) as gb:
        for r in results:
            try:
                submission = gb.find_submission(assignment, r.student)
            except MissingEntry:
                continue  # nothing submitted, or a row the gradebook cannot hold
            for notebook in submission.notebooks:
                notebook.late_submission_penalty = r.penalty or None
        gb.db.commit()


NOTES_MARK = re.compile(r"<!-- grader notes -->.*?<!-- /grader notes -->", re.S)


def feedback_notes(result: Result) -> list[str]:
    """What the student's feedback page says above the notebook, as plain sentences."""
    notes = []
    if result.status != Status.GRADED:
        notes.append(f"Grading stopped ({result.status}): {result.reason}")
    if result.integrity:
        notes.append(
            "Your notebook contains code that reaches outside its answers "
            f"({result.integrity}). Such code cannot change your grade (it runs in a sandbox "
            "and the tests are judged outside it), and your instructor will look at it."
        )
    if result.late_hours:  # after the due date (0 or None: on time, or not known)
        notes.append(
            f"Late submission: {result.late_detail}. Score {result.score:g} - "
            f"{result.penalty:g} = {result.final_score:g} of {result.max_score:g}."
        )
    return notes


FEEDBACK_SHELL = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
    "<body></body></html>"
)


def _stamp_feedback(result: Result, out: Path, assignment: str) -> None:
    """Put :func:`feedback_notes` at the top of the student's feedback page (again). A
    student whose submission could not be run gets a page with the reason alone."""
    if not result.feedback and result.origin and result.status not in NOT_IN_GRADEBOOK:
        page = out / "feedback" / result.student / f"{assignment}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        shell = FEEDBACK_SHELL.format(title=html.escape(f"{assignment}: feedback"))
        page.write_text(harden_html(shell))  # the Content-Security-Policy of every page
        result.feedback = str(page)
    if not result.feedback or not Path(result.feedback).is_file():
        return
    page = Path(result.feedback)
    text = NOTES_MARK.sub("", page.read_text())
    if notes := feedback_notes(result):
        block = "".join(f"<p>{html.escape(n)}</p>" for n in notes)
        block = (
            "<!-- grader notes --><div style='border:2px solid #c00;padding:0.5em;"
            f"margin:0.5em'>{block}</div><!-- /grader notes -->"
        )
        text = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + block, text, count=1)
    page.write_text(text)


def _short_temp_folder() -> str | None:
    """Where the jobs' folders go: the kernels' Unix sockets live there, and a socket's path
    may not exceed 107 bytes, so a long temporary folder ($TMPDIR) gives way to /tmp."""
    if len(tempfile.gettempdir()) > 40 and os.path.isdir("/tmp") and os.access("/tmp", os.W_OK):
        return "/tmp"
    return None


def _keep(record: JobRecord, assignment: str, out: Path) -> Result:
    """Write the files a job made for the student into the output folder."""
    result = record.result
    if "feedback.html" in record.files:
        dest = out / "feedback" / result.student / f"{assignment}.html"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(record.files["feedback.html"])
        result.feedback = str(dest)
    if "autograded.ipynb" in record.files:
        dest = out / "autograded" / f"{result.student}.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(record.files["autograded.ipynb"])
        result.autograded = str(dest)
    return result


def _with_entry(result: Result, entry: Entry) -> Result:
    """Copy what the download said about a submission into its result."""
    result.note = entry.note
    result.late = entry.late
    result.origin = entry.origin
    if entry.submitted is not None:
        result.submitted = f"{entry.submitted.isoformat()} ({entry.time_source})"
    return result


def _fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _graded_before(log: Path) -> dict[str, Result]:
    """The results a previous run recorded, by student (see ``resume``)."""
    previous = {}
    if log.is_file():
        for line in log.read_text().splitlines():
            try:
                record = Result.from_json(line)
            except (ValueError, TypeError):
                continue  # a line cut short when the previous run stopped
            previous[record.student] = record
    return previous


def settled(rows: list[Result], policy, assignment: str) -> list[Result]:
    """The rows as grades.csv shows them, by student: each with the assignment's maximum
    and, where a notebook was run, its late penalty (recomputed, never stored)."""
    max_score = max((r.max_score for r in rows), default=0.0)
    for r in rows:
        r.max_score = r.max_score or max_score
        if r.status in JUDGED:  # a notebook was run: its time can cost points
            late = policy.assess(assignment, r.student, r.submitted, r.score)
            r.penalty, r.late_hours, r.late_detail = late.penalty, late.hours, late.reason
    return sorted(rows, key=lambda r: r.student)


def _write_grades(rows: list[Result], path: Path) -> None:
    """grades.csv, replaced whole (a reader never sees half a file)."""
    partial = path.with_name(path.name + ".partial")
    report.write_csv(rows, partial)
    os.replace(partial, path)


def student_seed(seed: int | None, student: str) -> int:
    """The seed of one submission's hidden-test inputs: fresh, or derived from ``seed``."""
    if seed is None:
        return secrets.randbelow(2**63)
    digest = hashlib.sha256(f"{seed}\0{student}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _run_local(todo, bundle_dir: Path, jobs: int, warm_workers: bool = True):
    """The local executor: ``run_job`` in a pool of threads, each with a warm worker
    (:mod:`autograder.warm`) that forks one grader process per job (or, without
    ``warm_workers``, starting a cold one); yields ``(key, record)`` as each job ends."""
    idle = queue.SimpleQueue()
    count = min(jobs, len(todo))
    warm = [WarmWorker(worker_env()) if warm_workers else None for _ in range(count)]
    for worker in warm:
        idle.put(worker)

    def run(job: GradingJob, workdir: Path) -> JobRecord:
        worker = idle.get()
        try:
            return run_job(job, bundle_dir, workdir, warm=worker)
        finally:
            idle.put(worker)

    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(run, job, key[0]): key for job, key in todo}
            for future in as_completed(futures):
                yield futures[future], future.result()
    finally:
        for worker in warm:
            if worker is not None:
                worker.close()


def hidden_tests_version(source: Path) -> str:
    """A short hash of the hidden tests: the source of every graded test cell, in order."""
    nb = nbformat.read(source, as_version=4)
    digest = hashlib.sha256()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            digest.update(f"{meta.get('grade_id')}\0{meta.get('points')}\0{cell.source}\0".encode())
    return digest.hexdigest()[:16]


def grade_class(
    assignment: str,
    *,
    course_root: Path,
    submissions: Path,
    out: Path,
    roster: Path | None = None,
    jobs: int | None = None,
    limits: Limits | None = None,
    sandbox: bool = True,
    check_runs_clean: bool = True,
    update_gradebook: bool = True,
    progress: bool = True,
    resume: bool = False,
    pattern: str | None = None,
    students: list[str] | None = None,
    seed: int | None = None,
    executor: str = "local",
    broker: str | None = None,
    max_tries: int | None = None,
    lease: int | None = None,
    warm_workers: bool = True,
) -> list[Result]:
    """Grade every submission of ``assignment``; see the module docstring for the outputs.

    ``limits`` default to :func:`course_limits`. Each result is appended to
    ``out/results.jsonl`` as soon as its submission is graded, so a crash of
    this process loses nothing graded; with ``resume``, a submission whose
    notebook and hidden tests are unchanged since it was recorded there is
    not graded again. ``roster`` maps learning-platform ids to student ids
    (see :mod:`autograder.collect`, which also says what ``pattern`` is).

    With ``students``, only those students are graded (again), and their
    rows replace theirs among the rows recorded before in ``results.jsonl``:
    ``grades.csv`` and the report cover the whole class, and the gradebook
    changes for those students only. Every row says when it was graded and
    with which hidden tests (:func:`hidden_tests_version`).

    ``executor`` is ``"local"`` (``jobs`` worker processes here) or ``"celery"`` (tasks
    through the Redis ``broker`` to workers anywhere: :mod:`autograder.distributed`, whose
    ``max_tries`` and ``lease`` it takes). Both run the same jobs and give the same records.
    Each submission's hidden-test inputs come from a fresh random seed, or, with ``seed``,
    from one derived from it and the student id, so a run can be repeated exactly.
    ``warm_workers=False`` starts a cold worker process per job (the benchmark's baseline).
    """
    if executor not in ("local", "celery"):
        raise ValueError(f"executor must be 'local' or 'celery', got {executor!r}")
    if executor == "celery" and not broker:
        raise ValueError("the celery executor needs a broker URL (BROKER=redis://host:6379/0)")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    ensure_venv_bin_on_path()
    source = course_root / "solutions" / assignment / f"{assignment}.ipynb"
    if not source.is_file():
        raise FileNotFoundError(f"no source notebook {source}")
    if sandbox:
        from .sandbox import bwrap_path

        bwrap_path()  # fail early, with the install hint, if bubblewrap is missing
    if students is not None:
        if isinstance(students, str) or not all(isinstance(s, str) for s in students):
            raise TypeError(f"students must be a list of student ids, got {students!r}")
        students = list(dict.fromkeys(students))
    limits = limits or course_limits(course_root)
    policy = course_policy(_course_config(course_root))  # a mistake in it stops us here
    jobs = jobs or os.cpu_count() or 1
    tests = hidden_tests_version(source)
    source_json = json.loads(source.read_text())
    release = course_root / "assignments" / assignment / f"{assignment}.ipynb"
    release_json = json.loads(release.read_text()) if release.is_file() else {"cells": []}

    def scan(entry: Entry) -> str:
        """What in the submitted notebook a person should look at (autograder.integrity)."""
        return "; ".join(integrity_flags(entry.notebook, source_json, release_json))

    out.mkdir(parents=True, exist_ok=True)
    log = out / "results.jsonl"
    recorded = _graded_before(log) if (resume or students) else {}
    previous = recorded if resume else {}
    if not (resume or students):
        log.write_text("")
    work = Path(tempfile.mkdtemp(prefix=f"grade-{assignment}-", dir=_short_temp_folder()))
    os.chmod(work, 0o711)  # kernels (other uids) reach their own folders, list nothing
    try:
        class_list = read_roster(roster)
        entries = collect(submissions, assignment, source, work, class_list, pattern)
        class_entries = list(entries)  # all of them, for the similarity report
        found = {e.student for e in entries}
        missing = [s for s in class_list.ids if s not in found]
        if students is not None:
            unknown = [s for s in students if s not in found and s not in class_list.ids]
            if unknown:
                raise ValueError(
                    f"no submission in {submissions} and no roster entry for "
                    f"{', '.join(map(repr, unknown))}; found {len(found)} submissions"
                )
            entries = [e for e in entries if e.student in students]  # the class stays whole
            missing = [s for s in missing if s in students]
        bundles = work / "bundles"
        bundles.mkdir(mode=0o700)  # the hidden tests: the coordinator's and workers' only
        bundle = build_bundle(course_root, assignment, bundles)
        bundle_dir = unpack_bundle(bundle, bundles)
        results = []
        by_student = {e.student: e for e in entries}

        def class_rows() -> list[Result]:
            """The class as it stands: with --student, the rows recorded before as well."""
            if students is None:
                return results
            return list({**recorded, **{r.student: r for r in results}}.values())

        with contextlib.ExitStack() as stack:
            record = stack.enter_context(open(log, "a"))
            gradebook = (
                stack.enter_context(
                    GradebookWriter(course_root, assignment, by_student, work, class_list)
                )
                if update_gradebook
                else None
            )

            def keep(result: Result, *, again: bool = False) -> None:
                """Record a row at once (a crash loses nothing), write it into the gradebook
                and grades.csv as it comes: only this process writes them."""
                if not again:
                    if not result.graded_at:
                        result.graded_at = datetime.now(UTC).isoformat(timespec="seconds")
                        result.tests = tests
                    record.write(json.dumps(asdict(result)) + "\n")
                    record.flush()
                    os.fsync(record.fileno())
                results.append(result)
                if gradebook is not None:
                    gradebook.add(result)
                _write_grades(settled(class_rows(), policy, assignment), out / "grades.csv")

            for s in missing:
                keep(Result(s, Status.NOTEBOOK_MISSING, "no submission found"))
            todo = []
            for i, entry in enumerate(entries):
                if class_list.students and entry.student not in class_list.ids:
                    if not entry.problem:
                        entry.note = "; ".join(filter(None, [entry.note, "not on the roster"]))
                if entry.problem:
                    status = Status.CONFLICT if entry.problem == "conflict" else Status.UNMATCHED
                    keep(_with_entry(Result(entry.student, status, entry.note), entry))
                    continue
                if problem := id_problem(entry.student):
                    keep(_with_entry(Result(entry.student, Status.ID_REFUSED, problem), entry))
                    continue
                if entry.notebook is None:
                    missing_notebook = Result(entry.student, Status.NOTEBOOK_MISSING, entry.note)
                    keep(_with_entry(missing_notebook, entry))
                    continue
                fingerprint = _fingerprint(entry.notebook)
                before = previous.get(entry.student)
                unchanged = before is not None and before.fingerprint == fingerprint
                if unchanged and before.tests == tests:  # graded by a run that stopped
                    before.integrity = scan(entry) if before.status in JUDGED else ""
                    keep(_with_entry(before, entry), again=True)  # recorded already
                    continue
                job = GradingJob(
                    assignment=assignment,
                    student=entry.student,
                    bundle=bundle.stem,
                    submission=entry.notebook.read_bytes(),
                    seed=student_seed(seed, entry.student),
                    limits=limits,
                    sandbox=sandbox,
                    check_runs_clean=check_runs_clean,
                )
                todo.append((job, (work / f"job{i:04d}", entry, fingerprint)))
            if executor == "local":
                arriving = _run_local(todo, bundle_dir, jobs, warm_workers)
            else:
                from .distributed import run_celery

                options = {"max_tries": max_tries, "lease": lease}
                options = {k: v for k, v in options.items() if v is not None}
                arriving = run_celery(todo, bundle, broker, **options)
            bar = tqdm(total=len(todo), desc=f"grading {assignment}", disable=not progress)
            for (_, entry, fingerprint), job_record in arriving:  # as each one arrives
                result = _keep(job_record, assignment, out)
                result.fingerprint = fingerprint
                if result.status in JUDGED:
                    result.integrity = scan(entry)
                keep(_with_entry(result, entry))
                bar.update()
            bar.close()
        results = settled(class_rows(), policy, assignment)  # the class, with these regraded
        for r in results:
            _stamp_feedback(r, out, assignment)
        by_hand = frozenset(written_answer_ids(nbformat.read(source, as_version=4)))
        _write_grades(results, out / "grades.csv")
        # every submission's code against the others', the solution and course_pkg
        alike = compare_class(class_entries, course_root, assignment)
        write_similarity_html(alike, out / "similarity.html")
        write_similarity_csv(alike, out / "similarity.csv")
        similar = [
            f"{p.a} ~ {p.b}: {max(p.score_a, p.score_b):.0%} of one side's fingerprints "
            f"in the other, {p.shared} shared"
            for p in alike.flagged
        ]
        text = report.summary(results, assignment, by_hand, similar)
        (out / "report.txt").write_text(text)
        report.figure(results, assignment, out / "scores.png", by_hand)
        if update_gradebook:
            record_penalties(course_root, assignment, results)
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)
