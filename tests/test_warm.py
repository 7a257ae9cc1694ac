"""Warm workers (autograder.warm): one process imports the grader once and forks a fresh
grader per job. Real jobs of the sample class, sandboxed as in `make grade`."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from autograder.grade import worker_env
from autograder.jobs import GradingJob, build_bundle, run_job, unpack_bundle
from autograder.records import Limits
from autograder.warm import WarmWorker

ROOT = Path(__file__).resolve().parents[1]
A = "a1_unfolding"
SAMPLE = ROOT / "sample_class" / A


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bundles")
    return unpack_bundle(build_bundle(ROOT, A, folder), folder)


@pytest.fixture
def warm():
    worker = WarmWorker(worker_env())
    yield worker
    worker.close()


def job_for(student: str, bundle_dir: Path, timeout: int = 30) -> GradingJob:
    return GradingJob(
        A,
        student,
        bundle_dir.name,
        (SAMPLE / student / A / f"{A}.ipynb").read_bytes(),
        seed=1234,
        limits=Limits(timeout=timeout),
        check_runs_clean=False,
    )


def processes_naming(text: str) -> list[int]:
    """Processes whose command line names ``text`` (a job's folder)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def gone(text: str, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while processes_naming(text):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_one_warm_worker_forks_a_fresh_grader_for_each_job(warm, bundle_dir, tmp_path):
    graders = []
    for student, score in (("partial", 9.0), ("full", 30.0), ("partial", 9.0)):
        record = run_job(
            job_for(student, bundle_dir), bundle_dir, tmp_path / f"{len(graders)}", warm
        )
        assert (record.result.status, record.result.score) == ("graded", score), record.result
        graders.append(warm.grader)
    assert len(set(graders)) == 3 and warm.process.pid not in graders  # one process per job
    assert warm.process.poll() is None  # and the same warm worker served all three


def test_a_job_past_its_deadline_is_killed_with_its_kernel(warm, bundle_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(Limits, "deadline", property(lambda self: 8.0))
    folder = tmp_path / "slow"
    record = run_job(job_for("infinite_loop", bundle_dir), bundle_dir, folder, warm)
    assert (record.result.status, record.result.reason) == (
        "timed out",
        "grading took longer than 8 s",
    )
    assert gone(str(folder)), processes_naming(str(folder))  # the grader and its kernel
    monkeypatch.undo()
    again = run_job(job_for("partial", bundle_dir), bundle_dir, tmp_path / "next", warm)
    assert (again.result.status, again.result.score) == ("graded", 9.0)


def test_a_warm_worker_that_dies_loses_only_the_job_it_held(warm, bundle_dir, tmp_path):
    folder = tmp_path / "held"

    def kill_the_warm_worker_once_its_kernel_starts():
        # the kernel's launcher is the first process that names the job's folder: killed
        # then, the grader dies while its kernel is being made (before bubblewrap could
        # watch it), the hardest moment for the kernel to follow
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not processes_naming(str(folder)):
            time.sleep(0.01)
        os.kill(warm.process.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_the_warm_worker_once_its_kernel_starts)
    killer.start()
    record = run_job(job_for("full", bundle_dir), bundle_dir, folder, warm)
    killer.join()
    assert record.result.status == "crashed", record.result
    assert record.result.reason.startswith("the grader's worker failed"), record.result.reason
    assert gone(str(folder)), processes_naming(str(folder))  # its grader and kernel died too
    again = run_job(job_for("partial", bundle_dir), bundle_dir, tmp_path / "next", warm)
    assert (again.result.status, again.result.score) == ("graded", 9.0)  # a new one took over


def test_without_a_warm_worker_the_job_runs_in_a_cold_one(bundle_dir, tmp_path):
    # a warm worker that exits at once (its parent is said to be another process)
    broken = WarmWorker({**worker_env(), "AUTOGRADER_PARENT": "1"})
    try:
        record = run_job(job_for("partial", bundle_dir), bundle_dir, tmp_path / "cold", broken)
        assert broken.grader is None  # it never started a grader
    finally:
        broken.close()
    assert (record.result.status, record.result.score) == ("graded", 9.0)
