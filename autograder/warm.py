"""A warm worker: one process that imports the grader once and forks a fresh grader per job.

A cold ``python -m autograder.worker`` spends about 2 s importing nbformat, nbgrader,
jupyter_client, NumPy and course_pkg before it grades anything: more than the hidden tests
of the lighter assignments take to run. A warm worker imports all of that once. For each
job it forks a child, which starts as a copy of that clean state (it has seen no
submission, so nothing of an earlier job can be in it), runs the job exactly as
``python -m autograder.worker`` does, and exits. Every job still has a grader process of
its own, and its kernel is started, sandboxed and limited by that process as before.

The coordinator (:func:`autograder.grade.run_worker`) talks to it over its stdin and
stdout, one line each way:

- ``JOB_JSON<TAB>LOG``: fork a grader for that job, its stderr going to LOG; the answer is
  ``started PID``, then ``ended CODE`` when it has exited (CODE as :class:`subprocess.Popen`'s
  ``returncode``);
- ``kill`` (while a job runs): SIGKILL the job's process group (the grader calls
  ``setsid``, and is not reaped before this, so the group cannot be another's); then ``ended``;
- the end of its stdin: it exits.

It dies with the coordinator, and each grader with it (``PR_SET_PDEATHSIG``), as the cold
workers do. Where it is not there (it failed to start, or died before taking a job), the
coordinator starts a cold worker for that job instead.
"""

from __future__ import annotations

import gc
import os
import select
import signal
import subprocess
import sys
import traceback
from pathlib import Path

from .sandbox import die_with_parent


class Lines:
    """Lines read from a file descriptor with a timeout (a buffered file and ``select``
    do not mix: the buffer can hold a line ``select`` does not see)."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buffer = b""

    def read(self, timeout: float | None) -> str | None:
        """The next line without its newline; "" at the end of the stream; None on timeout."""
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return ""
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()


def _grader(job_json: str, log: str, warm: int) -> None:
    """The forked child: its own session and stderr, then the job as the cold worker runs it."""
    code = 1
    try:
        os.setsid()
        stream = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(stream, 2)
        os.close(stream)
        nothing = os.open(os.devnull, os.O_RDWR)
        os.dup2(nothing, 0)
        os.dup2(nothing, 1)
        os.close(nothing)
        sys.stderr = open(2, "w", closefd=False)
        os.environ["AUTOGRADER_PARENT"] = str(warm)  # its parent: it dies with the warm worker
        from .worker import main

        main([job_json])
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _warm_up() -> None:
    """What every grading imports and builds before it starts, done once: the forked graders
    find it ready (and share its pages)."""
    import nbgrader.apps
    import nbgrader.preprocessors  # noqa: F401

    import course_pkg.checks  # noqa: F401

    from . import edition, execute, judge  # noqa: F401
    from .feedback import prime_feedback_page

    prime_feedback_page()
    # what exists now stays out of the collector's reach: a grader's collections would
    # otherwise write to (and so copy) every page of it
    gc.freeze()


def serve() -> None:
    """The warm worker's loop (``python -m autograder.warm``)."""
    parent = os.environ.get("AUTOGRADER_PARENT")
    die_with_parent(int(parent) if parent else None)
    _warm_up()
    commands = Lines(0)
    while True:
        line = commands.read(None)
        if not line:  # the coordinator is done (or gone)
            return
        if line == "kill":  # the job it was meant for has ended already
            continue
        job_json, log = line.split("\t")
        pid = os.fork()
        if pid == 0:
            _grader(job_json, log, os.getppid())
        print(f"started {pid}", flush=True)
        child = os.pidfd_open(pid)
        watched = [child, commands.fd]
        try:
            while True:
                ready, _, _ = select.select(watched, [], [])
                if child in ready:
                    break
                command = commands.read(0)
                if command in ("kill", ""):  # killed, or the coordinator is gone
                    os.killpg(pid, signal.SIGKILL)
                if command == "":
                    watched = [child]
        finally:
            os.close(child)
        _, status = os.waitpid(pid, 0)
        print(f"ended {os.waitstatus_to_exitcode(status)}", flush=True)


class WarmWorker:
    """The coordinator's side: a warm worker process, started again if it has died."""

    def __init__(self, env: dict):
        self.env = env
        self.process: subprocess.Popen | None = None
        self.grader: int | None = None

    def _start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.warm"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self.env,
        )
        self.lines = Lines(self.process.stdout.fileno())

    def run(self, job_json: Path, log: Path, deadline: float) -> bool | None:
        """Run one job: whether it ended within ``deadline`` seconds (else it was killed; a
        warm worker that died while the job ran ends it too), or None if no warm worker could
        take it."""
        if self.process is None or self.process.poll() is not None:
            self.close()
            self._start()
        try:
            self.process.stdin.write(f"{job_json}\t{log}\n".encode())
            self.process.stdin.flush()
        except OSError:  # it died before reading the job
            return None
        started = self.lines.read(120)  # its imports, the first time
        if not started or not started.startswith("started "):
            self.close()
            return None
        self.grader = int(started.split()[1])  # the job's grader process (and group)
        ended = self.lines.read(deadline)
        if ended is None:
            try:
                self.process.stdin.write(b"kill\n")
                self.process.stdin.flush()
            except OSError:
                pass
            self.lines.read(30)
            return False
        return True

    def close(self) -> None:
        if self.process is None:
            return
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.process = None


if __name__ == "__main__":
    serve()
