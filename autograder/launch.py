"""Kernel launcher: what the grading kernelspec runs instead of ``ipykernel_launcher``.

``python -m autograder.launch WORKDIR MEMORY_MB CONNECTION_FILE [--disk-mb N]
[--cgroup PROCS_FILE ...] [--no-sandbox]`` copies the connection file (written
by jupyter_client, readable only by its owner) into the kernel's own folder,
joins the job's cgroup (so the kernel and every process it starts count
against its limits), applies the per-process limits, and replaces itself with
an IPython kernel inside the sandbox (see :mod:`autograder.sandbox`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
from pathlib import Path

from .sandbox import NOBODY, limit_resources, sandbox_argv


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.launch")
    parser.add_argument("workdir", type=Path)
    parser.add_argument("memory_mb", type=int)
    parser.add_argument("connection_file")
    parser.add_argument("--disk-mb", type=int, default=256)
    parser.add_argument("--cgroup", action="append", default=[], help="a cgroup.procs file")
    parser.add_argument("--package", help="the course_pkg folder the kernel imports")
    parser.add_argument("--no-sandbox", action="store_true")
    args, kernel_options = parser.parse_known_args(argv)  # e.g. --HistoryManager.hist_file=...
    workdir = args.workdir
    local = workdir / "connection.json"
    shutil.copy(args.connection_file, local)
    if os.geteuid() == 0 and not args.no_sandbox:
        os.chown(local, NOBODY, NOBODY)
    for procs in args.cgroup:
        Path(procs).write_text(str(os.getpid()))  # before exec: the kernel is born inside
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", str(local), *kernel_options]
    command = (
        kernel
        if args.no_sandbox
        else sandbox_argv(workdir, kernel, disk_mb=args.disk_mb, package=args.package)
    )
    # What the kernel process writes to its own stdout and stderr (os.write(2, ...), say,
    # which bypasses the notebook's outputs) goes to a file capped by the file-size limit;
    # past it a write fails (EFBIG) instead of killing the kernel.
    streams = os.open(workdir / "kernel.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if os.geteuid() == 0 and not args.no_sandbox:
        os.fchown(streams, NOBODY, NOBODY)
    os.dup2(streams, 1)
    os.dup2(streams, 2)
    os.close(streams)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit_resources(args.memory_mb)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
