"""Kernel launcher: what the grading kernelspec runs instead of ``ipykernel_launcher``.

``python -m autograder.launch WORKDIR MEMORY_MB CONNECTION_FILE [--disk-mb N]
[--cgroup PROCS_FILE ...] [--package DIR] [--no-sandbox | --user-only PROCESSES]
[--uid UID]``
copies the connection file (written by jupyter_client, readable only by its
owner) into the kernel's own folder, joins the job's cgroup (so the kernel and
every process it starts count against its limits), applies the per-process
limits, and replaces itself with an IPython kernel inside the sandbox (see
:mod:`autograder.sandbox`), or, with ``--user-only``, with one running as
``UID`` (the job's own) outside any namespace (the user isolation).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
from pathlib import Path

from .sandbox import NOBODY, die_with_parent, limit_resources, sandbox_argv, user_argv

# What the kernel runs instead of ``-m ipykernel_launcher``: the same kernel, whose
# stdout and stderr keep at most OUTPUT_CAP characters per request and drop the rest at once.
# ipykernel gathers a cell's prints in memory and sends them every 0.2 s as one message: a
# cell printing without end would otherwise hold hundreds of MB before the grader's own cap
# (a quarter of this) stops it, and leave the kernel without memory for the cells after it.
KERNEL_BOOT = """\
import ipykernel.iostream as _iostream

def _capped(self, string, _write=_iostream.OutStream.write, _cap={cap}):
    if isinstance(string, str):
        request = self.parent_header.get("msg_id")
        seen, count = getattr(self, "_grader_written", (None, 0))
        count = (count if seen == request else 0) + len(string)
        self._grader_written = (request, count)
        if count > _cap:
            return len(string)
    return _write(self, string)

_iostream.OutStream.write = _capped
del _iostream, _capped
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.launch")
    parser.add_argument("workdir", type=Path)
    parser.add_argument("memory_mb", type=int)
    parser.add_argument("connection_file")
    parser.add_argument("--disk-mb", type=int, default=256)
    parser.add_argument("--cgroup", action="append", default=[], help="a cgroup.procs file")
    parser.add_argument("--package", help="the course_pkg folder the kernel imports")
    parser.add_argument("--no-sandbox", action="store_true")
    parser.add_argument(
        "--output-cap", type=int, default=4_000_000, help="characters kept per request"
    )
    parser.add_argument(
        "--user-only", type=int, metavar="PROCESSES", help="the user isolation, this many processes"
    )
    parser.add_argument("--uid", type=int, default=NOBODY, help="the kernel's uid when root")
    parser.add_argument("--grader", type=int, help="the grader's pid: the kernel dies with it")
    args, kernel_options = parser.parse_known_args(argv)  # e.g. --HistoryManager.hist_file=...
    # set here, before the exec (it is kept through it): a grader that dies while this
    # process starts would otherwise leave bubblewrap's own --die-with-parent nothing to watch
    die_with_parent(args.grader)
    workdir = args.workdir
    local = workdir / "connection.json"
    shutil.copy(args.connection_file, local)
    if os.geteuid() == 0 and not args.no_sandbox:
        os.chown(local, args.uid, args.uid)
    for procs in args.cgroup:
        Path(procs).write_text(str(os.getpid()))  # before exec: the kernel is born inside
    boot = KERNEL_BOOT.format(cap=args.output_cap)
    kernel = [sys.executable, "-c", boot, "-f", str(local), *kernel_options]
    if args.no_sandbox:
        command = kernel
    elif args.user_only:
        command = user_argv(kernel, home=workdir / "home", package=args.package, uid=args.uid)
    else:
        command = sandbox_argv(workdir, kernel, disk_mb=args.disk_mb, package=args.package)
    # What the kernel process writes to its own stdout and stderr (os.write(2, ...), say,
    # which bypasses the notebook's outputs) goes to a file capped by the file-size limit;
    # past it a write fails (EFBIG) instead of killing the kernel.
    streams = os.open(workdir / "kernel.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if os.geteuid() == 0 and not args.no_sandbox:
        os.fchown(streams, args.uid, args.uid)
    os.dup2(streams, 1)
    os.dup2(streams, 2)
    os.close(streams)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit_resources(args.memory_mb, processes=args.user_only)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
