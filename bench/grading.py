"""``make bench-grading``: grading throughput, serial against parallel, on this machine.

Grades the same small class (copies of the full-marks, partial and blank
submissions of the first assignment) once with one job and once with one
job per core, and reports submissions per minute for each and their ratio.
Results are added to ``bench/grading.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

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
        result = {
            "submissions": n,
            "cores": cores,
            "per_minute": rates,
            "parallel_speedup": rates[cores] / rates[1],
        }
        print(f"parallel / serial throughput: {result['parallel_speedup']:.2f}x on {cores} cores")
        (ROOT / "bench" / "grading.json").write_text(json.dumps(result, indent=1) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
