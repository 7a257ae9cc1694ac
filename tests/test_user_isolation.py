"""The user isolation (Gradescope's container): each job's kernel is a uid of its own.

Without a user namespace, a process count limit (RLIMIT_NPROC) counts every process of the
uid on the host. If all kernels ran as ``nobody``, a fork bomb in one job (or any other
kernel of the machine) would leave another job's kernel unable to start a thread. These
tests run real processes as real uids (the grader runs as root here, as in CI).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from autograder.sandbox import JOB_UIDS, NOBODY, MemoryWatch, job_uid, limit_resources, user_argv

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (as CI): drops to uids")
PYTHON = "/usr/bin/python3"  # Debian's, which any uid may run (the venv's may be root's only)

# starts children until one fails; prints how many it started, then waits to be killed
FORK_UNTIL_REFUSED = (
    "import subprocess, sys, time\n"
    "started = []\n"
    "try:\n"
    "    for _ in range({n}):\n"
    "        sleeper = [sys.executable, '-c', 'import time; time.sleep(60)']\n"
    "        started.append(subprocess.Popen(sleeper))\n"
    "except OSError:\n"
    "    pass\n"
    "print(len(started), flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture
def box():
    """A folder any uid may pass through (as the grader's job folders: 711)."""
    folder = Path(tempfile.mkdtemp(prefix="uid-test-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_job_uid_is_fresh_and_nobody_known():
    uids = {job_uid() for _ in range(50)}
    assert len(uids) >= 49  # 2**24 of them: two jobs meet with odds of about 1 in 17 million
    assert all(uid in JOB_UIDS for uid in uids)
    known = {entry.pw_uid for entry in pwd.getpwall()}
    assert not known & set(JOB_UIDS[:: 2**12]) and NOBODY not in JOB_UIDS
    with pytest.raises(ValueError, match="a uid other than root's"):
        user_argv(["true"], home=Path("/nonexistent"), uid=0)


def test_the_command_runs_as_the_uid_in_its_own_home(box):
    uid = job_uid()
    home = box / "home"
    code = "import os; print(os.getuid(), os.getgid(), os.getgroups(), os.environ['HOME'])"
    done = subprocess.run(
        user_argv([PYTHON, "-c", code], home=home, uid=uid),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.split() == [str(uid), str(uid), "[]", str(home)], done.stderr
    assert home.stat().st_uid == uid and home.stat().st_mode & 0o777 == 0o700


def _fork_until_refused(uid: int, home: Path, limit: int) -> subprocess.Popen:
    command = user_argv([PYTHON, "-c", FORK_UNTIL_REFUSED.format(n=limit)], home=home, uid=uid)
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: limit_resources(2048, processes=limit),
        start_new_session=True,
    )


def _kill_group(process: subprocess.Popen) -> None:
    os.killpg(process.pid, 9)
    process.wait()
    process.stdout.close()


def test_one_jobs_fork_bomb_leaves_another_jobs_process_limit_alone(box):
    bomb_uid, other_uid = job_uid(), job_uid()
    bomb = _fork_until_refused(bomb_uid, box / "bomb", 8)
    try:
        assert int(bomb.stdout.readline()) < 8  # it used up its own uid's processes
        # the same uid (what every kernel shared when all ran as nobody) gets nothing
        shared = _fork_until_refused(bomb_uid, box / "shared", 8)
        try:
            assert int(shared.stdout.readline()) == 0
        finally:
            _kill_group(shared)
        # a job of its own uid starts as many as its limit allows, beside the bomb
        other = _fork_until_refused(other_uid, box / "other", 8)
        try:
            assert int(other.stdout.readline()) == 7  # the limit counts the parent too
        finally:
            _kill_group(other)
    finally:
        _kill_group(bomb)


def test_the_memory_watch_counts_and_stops_only_its_jobs_uid(box):
    mine, theirs = job_uid(), job_uid()
    hog = (  # 300 MB, every page touched
        "import time; block = bytearray(300 * 2**20); block[::4096] = b'x' * (len(block) // 4096)\n"
        "print('ok', flush=True); time.sleep(60)"
    )
    watch = MemoryWatch(200, uid=mine)
    own = None
    other = subprocess.Popen(
        user_argv([PYTHON, "-c", hog], home=box / "theirs", uid=theirs),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout.readline().strip() == "ok"
        time.sleep(0.5)  # ten rounds of the watch: another uid's 300 MB is not this job's
        assert other.poll() is None and watch.killed == 0
        own = subprocess.Popen(
            user_argv([PYTHON, "-c", hog], home=box / "mine", uid=mine),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert own.wait(timeout=30) == -9  # its own: over 200 MB, stopped
        assert watch.ran_out_of_memory() and other.poll() is None
    finally:
        watch.destroy()
        for process in [p for p in (other, own) if p is not None]:
            process.kill()
            process.wait()
            process.stdout.close()
