"""The Celery executor: grade a class on worker machines through a Redis broker.

``make grade ASSIGNMENT=... EXECUTOR=celery BROKER=redis://:PASSWORD@host:6379/0`` sends one
Celery task per submission; each worker runs the same job as the local executor
(:func:`autograder.jobs.run_job`, sandboxed on the worker's machine) and sends the record back.
The coordinator (:func:`autograder.grade.grade_class`) alone writes ``results.jsonl``,
``grades.csv``, the feedback and the gradebook, taking each record as it arrives.

What travels, and what does not:

- A task carries the job as JSON (the submission's bytes inside, no path of the
  coordinator's). The assignment bundle goes to Redis once, under its SHA-256
  (:data:`BUNDLE_KEY`); a worker fetches it by that hash and keeps it unpacked in its own
  cache folder (``--cache``), so workers share no folder with the coordinator or each other.
- Tasks are acknowledged late (``task_acks_late``): a task whose worker dies before it
  finishes is delivered again. A worker whose pool process is killed (by the kernel's OOM
  killer, say) hands the task back at once (``task_reject_on_worker_lost``); a whole worker
  or machine that dies stops renewing the task's *lease* (:data:`LEASE` seconds, Redis's
  ``visibility_timeout``), and once it runs out a live worker takes the task over. A
  running task renews its lease every ``LEASE / 4`` seconds, so a long job is never handed
  out twice while its worker is alive.
- Every delivery counts a try (:data:`TRIES_KEY`). A submission whose grading has already
  been cut short ``max_tries`` times (it kills workers) is not run again: its record says
  ``crashed`` and why. Nothing is lost either way: every task ends with a record.

Workers: ``python -m autograder worker --broker URL [--cache DIR] [--concurrency N]`` on any
machine with this repository's environment (``make venv``) and bubblewrap. Each worker holds
the hidden tests while it grades (in its cache, mode 700): run workers on machines you trust
as you trust the coordinator's, and give Redis a password (see the instructor guide, "Large
classes").
"""

from __future__ import annotations

import atexit
import base64
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path

from .jobs import GradingJob, JobRecord, run_job, unpack_bundle
from .records import Result, Status

TASK = "rnn_grader.grade"
QUEUE = "rnn-grading"
BUNDLE_KEY = "rnn-grader:bundle:{}"  # the bundle's bytes, by SHA-256
TRIES_KEY = "rnn-grader:tries:{}"  # deliveries of a task so far, by task id
RUNNING_KEY = "rnn-grader:running:{}"  # the worker running a task now, by task id
KEEP_SECONDS = 14 * 24 * 3600  # bundles, counters and results expire after two weeks
LEASE = 60  # seconds a dead worker's task waits before another worker takes it
MAX_TRIES = 3
UNACKED_INDEX = "unacked_index"  # kombu's Redis transport: delivery tag -> time delivered

_cache_dir: Path | None = None  # set by `python -m autograder worker` in each worker


def make_app(broker: str, *, lease: int = LEASE):
    """The Celery application of coordinator and workers (they must agree on ``lease``)."""
    if not isinstance(broker, str) or not broker.startswith(("redis://", "rediss://")):
        raise ValueError(f"the broker must be a redis:// or rediss:// URL, got {broker!r}")
    if not isinstance(lease, int) or lease < 4:
        raise ValueError(f"the lease must be a whole number of seconds >= 4, got {lease!r}")
    from celery import Celery

    app = Celery("rnn_grader", broker=broker, backend=broker, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a worker holds only the tasks it is running
        task_default_queue=QUEUE,
        result_expires=KEEP_SECONDS,
        result_extended=False,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        broker_transport_options={
            "visibility_timeout": lease,
            "unacked_restore_interval": max(1, lease // 4),  # how often workers look
            "unacked_restore_throttle": 1,
        },
    )
    app.task(name=TASK, bind=True)(_grade_task)
    app.lease = lease
    return app


def _redis(url: str):
    import redis

    return redis.Redis.from_url(url)


def fetch_bundle(client, digest: str, cache: Path) -> Path:
    """The bundle ``digest`` unpacked in ``cache``, fetched from Redis the first time."""
    cache.mkdir(mode=0o700, parents=True, exist_ok=True)
    unpacked = cache / digest
    if (unpacked / "bundle.json").is_file():
        return unpacked
    data = client.get(BUNDLE_KEY.format(digest))
    if data is None:
        raise LookupError(f"bundle {digest} is not in Redis (expired, or another broker?)")
    incoming = Path(tempfile.mkdtemp(prefix="incoming-", dir=cache))
    try:
        path = incoming / f"{digest}.zip"
        path.write_bytes(data)
        return unpack_bundle(path, cache)  # checks the bytes against the hash
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


def record_to_data(record: JobRecord) -> dict:
    files = {name: base64.b64encode(data).decode("ascii") for name, data in record.files.items()}
    return {"result": asdict(record.result), "files": files}


def record_from_data(data: dict) -> JobRecord:
    result = Result(**{**data["result"], "status": Status(data["result"]["status"])})
    files = {name: base64.b64decode(text) for name, text in data["files"].items()}
    return JobRecord(result, files)


class _Lease(threading.Thread):
    """Keep a running task's message from being handed out again while this worker lives."""

    def __init__(self, client, tag: str | None, every: float):
        super().__init__(daemon=True)
        self.client, self.tag, self.every = client, tag, every
        self.stopped = threading.Event()

    def run(self) -> None:
        while self.tag and not self.stopped.wait(self.every):
            # XX: only while the message is still out (not acked, not handed back)
            self.client.zadd(UNACKED_INDEX, {self.tag: time.time()}, xx=True)


_warm = None  # this worker process's warm worker (autograder.warm), made at its first task


def _warm_worker():
    global _warm
    if _warm is None:
        from .grade import worker_env
        from .warm import WarmWorker

        _warm = WarmWorker(worker_env())
        atexit.register(_warm.close)
    return _warm


def _grade_task(task, job_json: str, max_tries: int = MAX_TRIES) -> dict:
    """One submission, on a worker: fetch the bundle by hash, run the job, return the record."""
    job = GradingJob.from_json(job_json)
    client = _redis(task.app.conf.broker_url)
    task_id = task.request.id
    tries = client.incr(TRIES_KEY.format(task_id))
    client.expire(TRIES_KEY.format(task_id), KEEP_SECONDS)
    if tries > max_tries:
        return record_to_data(
            JobRecord(
                Result(
                    job.student,
                    Status.CRASHED,
                    f"grading this submission was cut short {tries - 1} times (its worker "
                    f"died or was killed each time), so it was not run again",
                )
            )
        )
    running = RUNNING_KEY.format(task_id)
    running_for = int(job.limits.deadline) + task.app.lease  # a killed worker's entry expires
    client.set(running, f"{task.request.hostname} {os.getpid()} {job.student}", ex=running_for)
    lease = _Lease(client, (task.request.properties or {}).get("delivery_tag"), task.app.lease / 4)
    lease.start()
    cache = _cache_dir or Path(tempfile.gettempdir()) / f"rnn-grader-cache-{os.getuid()}"
    from .grade import _short_temp_folder

    workdir = Path(tempfile.mkdtemp(prefix="job-", dir=_short_temp_folder()))
    os.chmod(workdir, 0o711)  # the kernel (another uid) reaches its own folder, lists nothing
    try:
        bundle_dir = fetch_bundle(client, job.bundle, cache)
        return record_to_data(run_job(job, bundle_dir, workdir / "job", warm=_warm_worker()))
    finally:
        lease.stopped.set()
        client.delete(running)
        shutil.rmtree(workdir, ignore_errors=True)


def run_worker_process(
    broker: str, cache: Path, concurrency: int, hostname: str | None, lease: int = LEASE
) -> None:
    """``python -m autograder worker``: serve grading tasks until stopped."""
    global _cache_dir
    from .worker import ensure_venv_bin_on_path

    ensure_venv_bin_on_path()  # nbgrader runs the venv's alembic
    if not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a whole number >= 1, got {concurrency!r}")
    cache.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(cache, 0o700)  # the hidden tests: this worker's only
    _cache_dir = cache.resolve()
    app = make_app(broker, lease=lease)
    name = hostname or f"grader-{os.getpid()}@{socket.gethostname()}"
    argv = ["worker", f"--concurrency={concurrency}", f"--hostname={name}", f"--queues={QUEUE}"]
    app.worker_main([*argv, "--loglevel=INFO", "--without-gossip", "--without-mingle"])


NO_WORKER = (
    "no Celery worker takes grading tasks (queue {queue}) at {broker}: {waiting} submission(s) "
    "wait for one. Start workers with: python -m autograder worker --broker URL "
    "(see the instructor guide, 'Grading on several machines')"
)


def redacted(url: str) -> str:
    """A broker URL fit to print: its password replaced by ``***``."""
    return re.sub(r"(//[^/@]*?:)[^/@]*@", r"\1***@", url)


class WorkerWatch:
    """Says on stderr, every ``every`` seconds while it lasts, that no worker takes tasks
    from the grading queue: without it a coordinator with no workers would wait in silence.
    It only says so; the tasks stay queued for the workers that start later."""

    def __init__(self, app, broker: str, pending: Callable[[], int], every: float = 30.0):
        self.app, self.broker, self.pending, self.every = app, broker, pending, every
        self.next = 0.0  # the first look comes with the first wait

    def listening(self) -> bool:
        """Whether a worker consumes the grading queue (workers answer within the timeout)."""
        queues = self.app.control.inspect(timeout=1.0).active_queues() or {}
        return any(q.get("name") == QUEUE for per_worker in queues.values() for q in per_worker)

    def __call__(self) -> None:
        if time.monotonic() < self.next:
            return
        if not self.listening():
            message = NO_WORKER.format(
                queue=QUEUE, broker=redacted(self.broker), waiting=self.pending()
            )
            print(message, file=sys.stderr, flush=True)
        self.next = time.monotonic() + self.every


def send_bundle(client, bundle: Path) -> None:
    client.set(BUNDLE_KEY.format(bundle.stem), bundle.read_bytes(), ex=KEEP_SECONDS)


def run_celery(
    todo: Iterable,
    bundle: Path,
    broker: str,
    *,
    max_tries: int = MAX_TRIES,
    lease: int = LEASE,
    on_wait: Callable[[], None] | None = None,
    watch_every: float = 30.0,
) -> Iterator[tuple[object, JobRecord]]:
    """Send ``(job, key)`` pairs as tasks; yield ``(key, record)`` as each record arrives.

    A task that fails on its worker (an error of the grader, not of the student's code)
    still yields a record: ``crashed``, with the error. ``on_wait`` is called between polls.
    While no worker takes the grading queue, stderr says so every ``watch_every`` seconds
    (:class:`WorkerWatch`).
    """
    if not isinstance(max_tries, int) or max_tries < 1:
        raise ValueError(f"max_tries must be a whole number >= 1, got {max_tries!r}")
    app = make_app(broker, lease=lease)
    client = _redis(broker)
    send_bundle(client, bundle)
    sent = {}
    for job, key in todo:
        task_id = f"{job.assignment}-{uuid.uuid4().hex}"
        app.send_task(TASK, args=[job.to_json()], kwargs={"max_tries": max_tries}, task_id=task_id)
        sent[task_id] = (job, key)
    arrived = set()
    watch = WorkerWatch(app, broker, lambda: len(sent) - len(arrived), every=watch_every)

    def waiting() -> None:
        watch()
        if on_wait is not None:
            on_wait()

    try:
        for task_id, meta in app.backend.get_many(set(sent), interval=0.5, on_interval=waiting):
            arrived.add(task_id)
            job, key = sent[task_id]
            if meta["status"] == "SUCCESS":
                record = record_from_data(meta["result"])
            else:
                error = meta.get("result")  # the worker's exception, rebuilt by Celery
                if isinstance(error, BaseException):
                    kind, message = type(error).__name__, str(error)
                else:
                    kind, message = meta["status"], str(error)
                reason = f"the grading task failed: {kind} {message}"
                record = JobRecord(Result(job.student, Status.CRASHED, reason))
            app.backend.forget(task_id)
            yield key, record
    finally:
        app.close()
