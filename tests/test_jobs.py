"""The grading job contract: a bundle named by its hash, a job as JSON, a record back.

Two runs of one job, each on its own copy of the bundle in its own cache and
folder (as two workers on two machines would run it), give the same record.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import asdict
from pathlib import Path

import pytest

from autograder.grade import worker_env
from autograder.jobs import GradingJob, build_bundle, run_job, sha256_of, unpack_bundle
from autograder.records import Limits
from autograder.warm import WarmWorker

ROOT = Path(__file__).resolve().parents[1]
A = "a1_unfolding"
SAMPLE = ROOT / "sample_class" / A


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return build_bundle(ROOT, A, tmp_path_factory.mktemp("bundles"))


def test_a_bundle_is_named_by_its_hash_and_holds_what_grading_needs(bundle, tmp_path):
    assert bundle.stem == sha256_of(bundle) and len(bundle.stem) == 64
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
    assert {"bundle.json", "source.ipynb", "gradebook.db"} <= names
    assert "edition/course_pkg/rnn.py" in names and "edition/course_pkg/__init__.py" in names
    assert not any(
        "__pycache__" in n or n.startswith("edition/course_pkg/pretrained") for n in names
    )
    unpacked = unpack_bundle(bundle, tmp_path)
    assert unpacked == tmp_path / bundle.stem
    assert (unpacked / "source.ipynb").read_bytes() == (
        ROOT / "solutions" / A / f"{A}.ipynb"
    ).read_bytes()
    (unpacked / "marker").write_text("kept")
    assert unpack_bundle(bundle, tmp_path) == unpacked and (unpacked / "marker").exists()
    renamed = tmp_path / f"{'0' * 64}.zip"
    shutil.copy(bundle, renamed)
    with pytest.raises(ValueError, match="corrupt or renamed"):
        unpack_bundle(renamed, tmp_path)


def test_a_job_travels_as_json_unchanged():
    job = GradingJob(A, "s1", "ab" * 32, b"\x00{\xff notebook", 7, Limits(timeout=10))
    again = GradingJob.from_json(job.to_json())
    assert again == job and isinstance(again.limits, Limits)


def test_two_runs_of_one_job_give_the_same_record(bundle, tmp_path):
    job = GradingJob(
        A,
        "partial",
        bundle.stem,
        (SAMPLE / "partial" / A / f"{A}.ipynb").read_bytes(),
        seed=1234,
        limits=Limits(timeout=30),
        check_runs_clean=False,
    )
    records = []
    warm = WarmWorker(worker_env())
    try:  # a cold worker process, then one forked by a warm worker
        for worker, forker in (("w1", None), ("w2", warm)):  # separate caches and folders
            copy = tmp_path / worker / "incoming" / bundle.name
            copy.parent.mkdir(parents=True)
            shutil.copy(bundle, copy)
            unpacked = unpack_bundle(copy, tmp_path / worker)
            again = GradingJob.from_json(job.to_json())
            records.append(run_job(again, unpacked, tmp_path / worker / "job", forker))
    finally:
        warm.close()
    first, second = (asdict(r.result) for r in records)
    assert first.pop("seconds") > 0 and second.pop("seconds") > 0
    phases = first.pop("phases"), second.pop("phases")  # where the time went differs
    for spent in phases:
        assert spent.keys() == {"job", "staging", "autograde", "kernel_start", "cells", "judge"} | {
            "kernel_stop",
            "feedback",
        }
        assert spent["job"] >= spent["autograde"] >= spent["cells"] + spent["judge"] > 0
    assert first == second
    assert (first["status"], first["score"], first["seed"]) == ("graded", 9.0, 1234)
    assert records[0].files.keys() == {"feedback.html", "autograded.ipynb"}
    graded = [json.loads(r.files["autograded.ipynb"]) for r in records]
    for nb in graded:  # when each cell ran differs from run to run; nothing else may
        for cell in nb["cells"]:
            cell.get("metadata", {}).pop("execution", None)
    assert graded[0] == graded[1]
    with pytest.raises(ValueError, match="is for 'a1_unfolding'"):
        run_job(
            GradingJob("a2_bptt", "x", bundle.stem, b"{}", 1, Limits(timeout=5)),
            unpacked,
            tmp_path / "x",
        )
