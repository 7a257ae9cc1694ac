"""The celery executor's parts, against a real redis-server: bundles fetched by hash, records
through JSON, the settings it refuses, and the shipped systemd unit. The whole executor, with
workers killed mid-class, is graded against the local one in test_autograder.py."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import shutil
import threading
import time
import zipfile
from pathlib import Path

import pytest

from autograder.cluster import redis_server, worker_command
from autograder.distributed import (
    BUNDLE_KEY,
    WorkerWatch,
    fetch_bundle,
    make_app,
    record_from_data,
    record_to_data,
    redacted,
    run_celery,
)
from autograder.grade import grade_class, student_seed
from autograder.jobs import JobRecord
from autograder.records import Result, Status

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "autograder" / "deploy" / "rnn-grader-worker@.service"


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server; make test does)")
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def tiny_bundle(folder: Path, text: str) -> tuple[Path, bytes]:
    staged = folder / "staged.zip"
    with zipfile.ZipFile(staged, "w") as zf:
        zf.writestr("bundle.json", json.dumps({"format": 1, "assignment": "a1_unfolding"}))
        zf.writestr("source.ipynb", text)
    data = staged.read_bytes()
    named = folder / f"{hashlib.sha256(data).hexdigest()}.zip"
    staged.rename(named)
    return named, data


def test_a_worker_fetches_a_bundle_by_its_hash_once_and_refuses_a_forged_one(broker, tmp_path):
    import redis

    client = redis.Redis.from_url(broker)
    bundle, data = tiny_bundle(tmp_path, "hidden tests")
    client.set(BUNDLE_KEY.format(bundle.stem), data)
    cache = tmp_path / "cache"
    unpacked = fetch_bundle(client, bundle.stem, cache)
    assert (unpacked / "source.ipynb").read_text() == "hidden tests"
    assert cache.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in cache.iterdir()] == [bundle.stem]  # no staging left behind
    client.delete(BUNDLE_KEY.format(bundle.stem))
    assert fetch_bundle(client, bundle.stem, cache) == unpacked  # from the cache, not Redis

    forged_name = "f" * 64
    client.set(BUNDLE_KEY.format(forged_name), data)  # bytes that do not hash to the name
    with pytest.raises(ValueError, match="corrupt or renamed"):
        fetch_bundle(client, forged_name, tmp_path / "other")
    with pytest.raises(LookupError, match=f"bundle {'e' * 64} is not in Redis"):
        fetch_bundle(client, "e" * 64, tmp_path / "other")


def test_a_record_comes_back_through_json_unchanged():
    result = Result("s1", Status.TIMED_OUT, "a cell ran longer", 27.0, 30.0, {"t": [3.0, 3.0]})
    record = JobRecord(result, {"feedback.html": b"<p>\xff\x00</p>"})
    again = record_from_data(json.loads(json.dumps(record_to_data(record))))
    assert again == record and again.result.status is Status.TIMED_OUT


def test_a_task_that_fails_on_its_worker_still_comes_back_as_a_crashed_row(broker, tmp_path):
    """A worker that cannot get the bundle (expired from Redis): a row, with the error."""
    from autograder.cluster import start_worker, stop_worker
    from autograder.jobs import GradingJob
    from autograder.records import Limits

    bundle, _ = tiny_bundle(tmp_path, "x")
    worker = start_worker(broker, tmp_path / "w", lease=8, name="w")
    try:
        job = GradingJob("a1_unfolding", "s1", "d" * 64, b"{}", 1, Limits(timeout=5))
        # the coordinator sends `bundle`; the job names another one, which no one sent
        ((key, record),) = list(run_celery([(job, "k")], bundle, broker, lease=8))
    finally:
        stop_worker(worker)
    assert key == "k" and record.result.status == "crashed" and record.files == {}
    assert record.result.reason == (
        f"the grading task failed: LookupError bundle {'d' * 64} is not in Redis "
        "(expired, or another broker?)"
    )


def test_a_coordinator_without_workers_says_so_and_grades_once_one_starts(broker, tmp_path, capsys):
    """No worker: the coordinator says so on stderr (its broker's password hidden) instead of
    waiting in silence, and keeps the task queued; the first worker to start takes it."""
    from autograder.cluster import start_worker, stop_worker
    from autograder.jobs import GradingJob
    from autograder.records import Limits

    watch = WorkerWatch(make_app(broker), broker, lambda: 0)
    assert not watch.listening()
    bundle, _ = tiny_bundle(tmp_path, "x")
    job = GradingJob("a1_unfolding", "s1", "d" * 64, b"{}", 1, Limits(timeout=5))
    got = []
    arriving = run_celery([(job, "k")], bundle, broker, lease=8, watch_every=1.0)
    waiting = threading.Thread(target=lambda: got.extend(arriving), daemon=True)
    waiting.start()
    said = ""
    deadline = time.monotonic() + 30
    while said.count("no Celery worker") < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        said += capsys.readouterr().err
    expected = (
        f"no Celery worker takes grading tasks (queue rnn-grading) at {redacted(broker)}: "
        "1 submission(s) wait for one. Start workers with: python -m autograder worker"
    )
    assert said.count(expected) >= 2  # said again while it lasts
    assert ":grading@" in broker and ":grading@" not in said and ":***@" in said
    worker = start_worker(broker, tmp_path / "w", lease=8, name="late")
    try:
        waiting.join(timeout=90)
        assert watch.listening()
    finally:
        stop_worker(worker)
    assert not waiting.is_alive()
    ((key, record),) = got  # taken by the worker that started late: nothing lost
    assert key == "k" and record.result.status == "crashed"
    assert record.result.reason.startswith("the grading task failed: LookupError bundle ddd")


def test_settings_the_executor_cannot_use_are_refused(tmp_path):
    with pytest.raises(ValueError, match="redis:// or rediss:// URL, got 'amqp://x'"):
        make_app("amqp://x")
    with pytest.raises(ValueError, match="lease must be a whole number of seconds >= 4, got 2"):
        make_app("redis://localhost/0", lease=2)
    with pytest.raises(ValueError, match="max_tries must be a whole number >= 1, got 0"):
        next(run_celery([], tmp_path / "b.zip", "redis://localhost/0", max_tries=0))
    common = dict(course_root=ROOT, submissions=tmp_path, out=tmp_path / "out")
    with pytest.raises(ValueError, match="executor must be 'local' or 'celery', got 'slurm'"):
        grade_class("a1_unfolding", executor="slurm", **common)
    with pytest.raises(ValueError, match="the celery executor needs a broker URL"):
        grade_class("a1_unfolding", executor="celery", **common)
    with pytest.raises(TypeError, match="seed must be an int or None, got str"):
        grade_class("a1_unfolding", seed="7", **common)


def test_seeds_derived_from_a_run_seed_differ_by_student_and_repeat():
    assert student_seed(7, "ada") == student_seed(7, "ada") != student_seed(7, "bob")
    assert student_seed(7, "ada") != student_seed(8, "ada")
    assert 0 <= student_seed(7, "ada") < 2**63
    assert student_seed(None, "ada") != student_seed(None, "ada")  # fresh each time


def test_the_shipped_systemd_unit_starts_the_worker_the_tests_start():
    text = UNIT.read_text()
    exec_start = re.search(r"^ExecStart=/bin/sh -c '(.*)'$", text, re.M)[1]
    env = {"COURSE": "/srv/rnn-course", "BROKER": "redis://:pw@host:6379/0", "CONCURRENCY": "2"}
    line = re.sub(r'"\$(\w+)', lambda m: '"' + env[m[1]], exec_start)
    line = line.replace("%i", "1").replace("%H", "grader1")
    argv = shlex.split(line.removeprefix("exec "))
    cache = Path("/var/lib/rnn-grader/1/cache")
    expected = worker_command(env["BROKER"], cache, 2, "1@grader1", 60)
    assert argv[1:] == expected[1:]
    assert argv[0] == "/srv/rnn-course/.venv/bin/python"
    assert "Restart=always" in text and "StateDirectoryMode=0700" in text
