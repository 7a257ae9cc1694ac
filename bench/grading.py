"""``make bench-grading``: grading throughput on this machine, three ways.

Grades the same small class (copies of the full-marks, partial and blank
submissions of the first assignment) with the local executor at one job and
at one job per core, then with the celery executor: a private redis-server
and one single-slot Celery worker per core on this machine, every submission
going through the broker. Reports submissions per minute for each, and the
ratios, in ``bench/grading.json``. The instructor guide's sizing rule
("Large classes") is drawn from these figures.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from autograder.cluster import redis_server, start_worker, stop_worker
from autograder.grade import grade_class
from autograder.sample import write_sample_class

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "a1_unfolding"
COPIES = int(os.environ.get("BENCH_GRADING_COPIES", "2"))


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        course = tmp / "course"
        course.mkdir()
        for folder in ("solutions", "assignments"):  # the grading edition is built from them
            shutil.copytree(ROOT / folder, course / folder)
        (course / "course_pkg").symlink_to(ROOT / "course_pkg")
        shutil.copy(ROOT / "nbgrader_config.py", course)
        sample = tmp / "sample"
        write_sample_class(
            course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", ASSIGNMENT, sample
        )
        class_dir = tmp / "class"
        for copy in range(COPIES):
            for student in ("full", "partial", "blank"):
                shutil.copytree(sample / student, class_dir / f"{student}{copy}")
        n = len(list(class_dir.iterdir()))
        cores = os.cpu_count() or 1
        rates = {}
        for jobs in (1, cores):
            start = time.perf_counter()
            results = grade_class(
                ASSIGNMENT,
                course_root=course,
                submissions=class_dir,
                out=tmp / f"out{jobs}",
                jobs=jobs,
                update_gradebook=False,
                progress=False,
            )
            seconds = time.perf_counter() - start
            assert all(r.status == "graded" for r in results), [r.status for r in results]
            rates[jobs] = 60 * n / seconds
            print(
                f"{n} submissions, {jobs} job(s): {seconds:6.1f} s, "
                f"{rates[jobs]:5.2f} submissions/minute",
                flush=True,
            )
        with redis_server(tmp / "redis") as broker:
            workers = [start_worker(broker, tmp / f"w{i}", name=f"w{i}") for i in range(cores)]
            try:
                time.sleep(5)  # the workers connect (not counted)
                start = time.perf_counter()
                results = grade_class(
                    ASSIGNMENT,
                    course_root=course,
                    submissions=class_dir,
                    out=tmp / "out-celery",
                    executor="celery",
                    broker=broker,
                    update_gradebook=False,
                    progress=False,
                )
                seconds = time.perf_counter() - start
            finally:
                for worker in workers:
                    stop_worker(worker)
        assert all(r.status == "graded" for r in results), [r.status for r in results]
        rates["celery"] = 60 * n / seconds
        print(
            f"{n} submissions, {cores} celery workers: {seconds:6.1f} s, "
            f"{rates['celery']:5.2f} submissions/minute",
            flush=True,
        )
        result = {
            "submissions": n,
            "cores": cores,
            "per_minute": rates,
            "parallel_speedup": rates[cores] / rates[1],
            "celery_over_local": rates["celery"] / rates[cores],
        }
        print(f"parallel / serial throughput: {result['parallel_speedup']:.2f}x on {cores} cores")
        print(f"celery / local at {cores} at once: {result['celery_over_local']:.2f}x")
        (ROOT / "bench" / "grading.json").write_text(json.dumps(result, indent=1) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
