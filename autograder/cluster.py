"""A grading cluster on one machine: a private Redis server and Celery workers as processes.

The tests and ``make bench-grading`` use it to run the celery executor for real; an instructor
can use it to try the executor before setting up machines (see the guide, "Large classes").
Each worker gets its own folder (its working folder, temporary folder and bundle cache), as
it would on its own machine; it is started with the same command as the shipped systemd unit
(``autograder/deploy/rnn-grader-worker@.service``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def redis_server(folder: Path, password: str = "grading") -> Iterator[str]:
    """A throwaway ``redis-server`` (Debian package) on loopback; yields its URL."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise FileNotFoundError("redis-server is not installed: `apt-get install redis-server`")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
    argv += ["--save", "", "--appendonly", "no", "--requirepass", password]
    with open(folder / "redis.log", "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    try:
        import redis

        client = redis.Redis.from_url(url)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None:
                    raise RuntimeError((folder / "redis.log").read_text()[-2000:]) from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def worker_command(broker: str, cache: Path, concurrency: int, hostname: str, lease: int):
    """The command a worker machine runs (the systemd unit's ``ExecStart``)."""
    argv = [sys.executable, "-m", "autograder", "worker", "--broker", broker]
    argv += ["--cache", str(cache), "--concurrency", str(concurrency)]
    return [*argv, "--hostname", hostname, "--lease", str(lease)]


def start_worker(
    broker: str, folder: Path, *, concurrency: int = 1, lease: int = 60, name: str = "w"
) -> subprocess.Popen:
    """A Celery grading worker in ``folder`` (its own process group); returns the process."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tmp").mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(folder / "tmp")}
    command = worker_command(broker, folder / "cache", concurrency, f"{name}@{folder.name}", lease)
    with open(folder / "worker.log", "ab") as log:
        return subprocess.Popen(
            command,
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # killpg stops it and its pool, as a machine failing would
        )


def stop_worker(process: subprocess.Popen, *, kill: bool = False) -> None:
    """Stop a worker: warm shutdown (SIGTERM, finishing its task), or SIGKILL to it all."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
