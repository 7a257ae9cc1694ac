"""Grade a whole class: one command, in parallel, nothing lost.

``python -m autograder grade ASSIGNMENT`` (or ``make grade ASSIGNMENT=...``)
finds every submission, grades each in its own worker process and sandboxed
kernel (:mod:`autograder.worker`), several at a time, then, in this process
only, merges the scores into the course gradebook and writes

- ``grades.csv``: one row per student in the roster and per submission
  found, with a status (graded, timed out, crashed, out of memory, notebook
  missing, notebook unreadable), the reason, the score per question, and
  whether the notebook runs top to bottom as submitted;
- ``feedback/<student>/<assignment>.html`` without the hidden tests' code;
- ``report.txt`` and ``scores.png``: the distribution per question and overall.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from tqdm.auto import tqdm

from . import report
from .collect import collect, read_roster
from .worker import Job, Result, ensure_venv_bin_on_path


def _course_config(course_root: Path):
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    config.CourseDirectory.root = str(course_root)
    return config


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


def gradebook_template(course_root: Path, assignment: str, workdir: Path) -> Path:
    """A fresh gradebook that knows the assignment (each worker starts from a copy)."""
    from nbgrader.apps import NbGraderAPI

    course = workdir / "template"
    (course / "solutions").mkdir(parents=True)
    shutil.copytree(course_root / "solutions" / assignment, course / "solutions" / assignment)
    config = _course_config(course_root)
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    result = NbGraderAPI(config=config).generate_assignment(assignment, force=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader could not generate {assignment}: {result['log']}")
    return course / "gradebook.db"


def run_worker(job: Job, job_dir: Path, deadline: float) -> Result:
    """Run one worker process; turn anything that goes wrong into a Result."""
    job_dir.mkdir(parents=True)
    (job_dir / "job.json").write_text(json.dumps(asdict(job)))
    process = subprocess.Popen(
        [sys.executable, "-m", "autograder.worker", str(job_dir / "job.json")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so a timeout kills everything
    )
    try:
        _, stderr = process.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return Result(job.student, "timed out", f"grading took longer than {deadline:.0f} s")
    result_path = job_dir / "result.json"
    if not result_path.exists():
        last = [line for line in stderr.splitlines() if line.strip()][-1:] or ["no message"]
        return Result(job.student, "crashed", f"the grader's worker failed: {last[0][:200]}")
    return Result(**json.loads(result_path.read_text()))


def merge_into_gradebook(course_root: Path, assignment: str, results) -> None:
    """Write the scores into the course gradebook, one submission at a time."""
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI

    config = _course_config(course_root)
    db_url = gradebook_url(config, course_root)
    with Gradebook(db_url, config.CourseDirectory.course_id) as gb:
        known = {a.name for a in gb.assignments}
    if assignment not in known:
        config.CourseDirectory.db_url = db_url
        NbGraderAPI(config=config).generate_assignment(assignment, force=True)
    with Gradebook(db_url, config.CourseDirectory.course_id) as gb:
        for r in results:
            gb.update_or_create_student(r.student)
            submission = gb.update_or_create_submission(assignment, r.student)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.cell.cell_type != "code":
                        continue  # answers graded by hand keep whatever the grader entered
                    score = r.questions.get(grade.cell.name, [None])[0]
                    grade.auto_score = 0.0 if score is None else float(score)
            gb.db.commit()


def grade_class(
    assignment: str,
    *,
    course_root: Path,
    submissions: Path,
    out: Path,
    roster: Path | None = None,
    jobs: int | None = None,
    timeout: int = 60,
    memory_mb: int = 2048,
    max_output_bytes: int = 1_000_000,
    sandbox: bool = True,
    check_runs_clean: bool = True,
    update_gradebook: bool = True,
    progress: bool = True,
) -> list[Result]:
    """Grade every submission of ``assignment``; see the module docstring for the outputs."""
    ensure_venv_bin_on_path()
    source = course_root / "solutions" / assignment / f"{assignment}.ipynb"
    if not source.is_file():
        raise FileNotFoundError(f"no source notebook {source}")
    if sandbox:
        from .sandbox import bwrap_path

        bwrap_path()  # fail early, with the install hint, if bubblewrap is missing
    jobs = jobs or os.cpu_count() or 1
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"grade-{assignment}-"))
    os.chmod(work, 0o711)  # kernels (nobody) reach their own folders, list nothing
    try:
        template = gradebook_template(course_root, assignment, work)
        entries = collect(submissions, assignment, source, work)
        found = {e.student for e in entries}
        missing = [s for s in read_roster(roster) if s not in found]
        results = [Result(s, "notebook missing", "no submission found") for s in missing]
        todo = []
        for i, entry in enumerate(entries):
            if entry.notebook is None:
                results.append(Result(entry.student, "notebook missing", entry.note))
                continue
            job = Job(
                assignment=assignment,
                student=entry.student,
                source=str(source),
                submission=str(entry.notebook),
                gradebook_template=str(template),
                workdir=str(work / f"job{i:04d}"),
                nonce=secrets.token_hex(16),
                timeout=timeout,
                memory_mb=memory_mb,
                max_output_bytes=max_output_bytes,
                sandbox=sandbox,
                check_runs_clean=check_runs_clean,
            )
            todo.append((job, entry.note))
        deadline = 20 * timeout + 120
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [
                pool.submit(run_worker, job, Path(job.workdir) / "w", deadline) for job, _ in todo
            ]
            bar = tqdm(total=len(futures), desc=f"grading {assignment}", disable=not progress)
            for future, (_, note) in zip(futures, todo, strict=True):
                result = future.result()
                result.note = note
                results.append(result)
                bar.update()
            bar.close()
        max_score = max((r.max_score for r in results), default=0.0)
        for r in results:
            r.max_score = r.max_score or max_score
        results.sort(key=lambda r: r.student)
        feedback_dir = out / "feedback"
        for r in results:
            if r.feedback:
                dest = feedback_dir / r.student / f"{assignment}.html"
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(r.feedback, dest)
                r.feedback = str(dest)
        report.write_csv(results, out / "grades.csv")
        text = report.summary(results, assignment)
        (out / "report.txt").write_text(text)
        report.figure(results, assignment, out / "scores.png")
        if update_gradebook:
            merge_into_gradebook(course_root, assignment, results)
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)
