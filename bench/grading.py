"""``make bench-grading``: how long grading takes on this machine, per assignment and per route.

Per assignment, a class of copies of the perfect submission (the solution as a student
would hand it in) is graded three ways, sandboxed as ``make grade`` does:

- one job at a time with warm workers (:mod:`autograder.warm`, the default): the wall time
  per submission, and where it went, from each result's ``phases``: the tests' own
  computation (the notebook's cells in the kernel, and the hidden tests the judge runs) and
  the rest, the overhead (worker and kernel start-up, staging, nbgrader, the feedback page,
  a second run of the notebook where the graded run cannot say it runs clean);
- the same with a cold worker process per job: the baseline of the warm workers' gain,
  run in the same process;
- one job per core, the whole ``make grade`` run: submissions per minute.

Then the first assignment's class once more through the Celery executor (a private
redis-server and one single-slot worker per core), against the local executor at one job
per core. Everything goes to ``bench/grading.json``; the instructor guide's sizing rule
and the book's appendix on speed read it.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.cluster import redis_server, start_worker, stop_worker
from autograder.grade import grade_class
from autograder.sample import solution_notebook

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir())
COPIES = int(os.environ.get("BENCH_GRADING_COPIES", "4"))


def course_copy(folder: Path) -> Path:
    """The course as ``make grade`` sees it, in a scratch folder (its gradebook is not ours)."""
    course = folder / "course"
    course.mkdir()
    for name in ("solutions", "assignments"):  # the grading edition is built from them
        shutil.copytree(ROOT / name, course / name)
    (course / "course_pkg").symlink_to(ROOT / "course_pkg")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    return course


def perfect_class(assignment: str, folder: Path, copies: int) -> Path:
    """``copies`` students who all hand in the solution (no markers, no hidden tests)."""
    source = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    notebook = solution_notebook(source)
    for k in range(copies):
        (folder / f"s{k}" / assignment).mkdir(parents=True)
        nbformat.write(notebook, folder / f"s{k}" / assignment / f"{assignment}.ipynb")
    return folder


def graded(assignment: str, course: Path, submissions: Path, out: Path, **options):
    """(results, wall seconds) of one whole grading run; every result must be full marks."""
    start = time.perf_counter()
    results = grade_class(
        assignment,
        course_root=course,
        submissions=submissions,
        out=out,
        update_gradebook=False,
        progress=False,
        **options,
    )
    seconds = time.perf_counter() - start
    wrong = [(r.student, r.status, r.score, r.max_score) for r in results if r.status != "graded"]
    assert not wrong, wrong
    return results, seconds


def per_submission(results) -> dict:
    """Medians over the class of where one submission's time went (seconds)."""
    phases = [r.phases for r in results]
    job = statistics.median(p["job"] for p in phases)
    compute = statistics.median(p["cells"] + p["judge"] for p in phases)
    return {
        "job_s": job,
        "compute_s": compute,
        "overhead_share": (job - compute) / compute,
        "kernel_start_s": statistics.median(p["kernel_start"] for p in phases),
        "feedback_s": statistics.median(p["feedback"] for p in phases),
        "second_runs": sum("runs_clean" in p for p in phases),
    }


def per_assignment(tmp: Path, course: Path, cores: int) -> dict:
    figures = {}
    for assignment in ASSIGNMENTS:
        submissions = perfect_class(assignment, tmp / f"class-{assignment}", COPIES)
        warm, _ = graded(assignment, course, submissions, tmp / f"{assignment}-warm", jobs=1)
        cold, _ = graded(
            assignment,
            course,
            submissions,
            tmp / f"{assignment}-cold",
            jobs=1,
            warm_workers=False,
        )
        # the first job of a warm worker pays its imports: the steady state is the rest
        row = per_submission(warm[1:] if len(warm) > 2 else warm)
        row["cold_job_s"] = statistics.median(r.phases["job"] for r in cold)
        row["warm_over_cold"] = row["job_s"] / row["cold_job_s"]
        many = perfect_class(assignment, tmp / f"many-{assignment}", 2 * COPIES)
        _, seconds = graded(assignment, course, many, tmp / f"{assignment}-all", jobs=cores)
        row["per_minute_all_cores"] = 60 * 2 * COPIES / seconds
        figures[assignment] = row
        print(
            f"{assignment:17s} {row['job_s']:5.1f} s a submission (cold worker "
            f"{row['cold_job_s']:5.1f} s), tests {row['compute_s']:5.1f} s, overhead "
            f"{row['overhead_share']:5.0%} of the tests (kernel start "
            f"{row['kernel_start_s']:.1f} s, feedback {row['feedback_s']:.1f} s, "
            f"second runs {row['second_runs']}); "
            f"{row['per_minute_all_cores']:5.1f} a minute on {cores} cores",
            flush=True,
        )
    return figures


def routes(tmp: Path, course: Path, cores: int) -> dict:
    """The first assignment's class: one job, one per core, and Celery workers."""
    assignment = ASSIGNMENTS[0]
    submissions = perfect_class(assignment, tmp / "routes", 3 * COPIES // 2)
    n = len(list(submissions.iterdir()))
    rates = {}
    for jobs in (1, cores):
        _, seconds = graded(assignment, course, submissions, tmp / f"routes-{jobs}", jobs=jobs)
        rates[jobs] = 60 * n / seconds
        print(f"{n} submissions, {jobs} job(s): {seconds:6.1f} s", flush=True)
    with redis_server(tmp / "redis") as broker:
        workers = [start_worker(broker, tmp / f"w{i}", name=f"w{i}") for i in range(cores)]
        try:
            time.sleep(5)  # the workers connect (not counted)
            _, seconds = graded(
                assignment,
                course,
                submissions,
                tmp / "routes-celery",
                executor="celery",
                broker=broker,
            )
        finally:
            for worker in workers:
                stop_worker(worker)
    rates["celery"] = 60 * n / seconds
    print(f"{n} submissions, {cores} celery workers: {seconds:6.1f} s", flush=True)
    return {
        "assignment": assignment,
        "submissions": n,
        "per_minute": rates,
        "parallel_speedup": rates[cores] / rates[1],
        "celery_over_local": rates["celery"] / rates[cores],
    }


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    cores = os.cpu_count() or 1
    try:
        course = course_copy(tmp)
        result = {
            "cores": cores,
            "copies": COPIES,
            "assignments": per_assignment(tmp, course, cores),
            "routes": routes(tmp, course, cores),
        }
        (ROOT / "bench" / "grading.json").write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {ROOT / 'bench' / 'grading.json'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
