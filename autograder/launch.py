"""Kernel launcher: what the grading kernelspec runs instead of ``ipykernel_launcher``.

``python -m autograder.launch WORKDIR MEMORY_MB CONNECTION_FILE`` copies the
connection file (written by jupyter_client, readable only by its owner) into
the kernel's own folder, applies the resource limits, and replaces itself
with an IPython kernel inside the sandbox (see :mod:`autograder.sandbox`).
With ``MEMORY_MB`` set and ``--no-sandbox`` given, only the limits apply.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

from .sandbox import NOBODY, limit_resources, sandbox_argv


def main(argv: list[str]) -> None:
    workdir, memory_mb, connection_file = Path(argv[0]), int(argv[1]), argv[2]
    sandboxed = "--no-sandbox" not in argv[3:]
    local = workdir / "connection.json"
    shutil.copy(connection_file, local)
    if os.geteuid() == 0 and sandboxed:
        os.chown(local, NOBODY, NOBODY)
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", str(local)]
    command = sandbox_argv(workdir, kernel) if sandboxed else kernel
    # What the kernel process writes to its own stdout and stderr (os.write(2, ...), say,
    # which bypasses the notebook's outputs) goes to a file capped by the file-size limit;
    # past it a write fails (EFBIG) instead of killing the kernel.
    streams = os.open(workdir / "kernel.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if os.geteuid() == 0 and sandboxed:
        os.fchown(streams, NOBODY, NOBODY)
    os.dup2(streams, 1)
    os.dup2(streams, 2)
    os.close(streams)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit_resources(memory_mb)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
