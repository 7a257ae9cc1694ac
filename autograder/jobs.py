"""One grading job, as any executor runs it: an assignment bundle and a submission in, a
record out.

- An **assignment bundle** is one zip file: the instructor's notebook with the hidden
  tests (``source.ipynb``), the grading edition's ``course_pkg`` (``edition/``, what the
  kernel imports) and a gradebook that knows the assignment (``gradebook.db``, which
  every job starts from a copy of). It is named by the SHA-256 of its bytes, so a worker
  that has unpacked it once keeps it (:func:`unpack_bundle`).
- A **job** (:class:`GradingJob`) is the assignment, the student, the bundle's hash, the
  submitted notebook's bytes, the seed of the hidden tests' inputs and the limits. It
  travels as JSON (:meth:`GradingJob.to_json`); it names no file of the coordinator's.
- A **record** (:class:`JobRecord`) is the :class:`~autograder.records.Result` (per-test
  scores, status, reason, timings) and the files made for the student (the feedback
  page and the graded notebook without hidden tests) as bytes.

:func:`run_job` runs one job on a machine that has the bundle unpacked. Three routes run
it: the local executor of ``make grade`` (:mod:`autograder.grade`, ``run_job`` in a thread
pool), the celery executor (:mod:`autograder.distributed`, workers on other machines that
fetch the bundle by its hash) and Gradescope's ``run_autograder``
(:mod:`autograder.gradescope`, one submission per container). The tests grade the sample
class through all three and get the same records.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .records import Job, Limits, Result

BUNDLE_FORMAT = 1
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entry times: the bundle's bytes depend on content only


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_bundle(course_root: Path, assignment: str, dest: Path) -> Path:
    """Write ``dest/<sha256>.zip``, the bundle of ``assignment``; return its path."""
    from .edition import grading_edition
    from .grade import gradebook_template
    from .worker import ensure_venv_bin_on_path

    ensure_venv_bin_on_path()  # nbgrader runs the venv's alembic

    source = course_root / "solutions" / assignment / f"{assignment}.ipynb"
    if not source.is_file():
        raise FileNotFoundError(f"no source notebook {source}")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        work = Path(tmp)
        template = gradebook_template(course_root, assignment, work)
        package = grading_edition(course_root, assignment, work / "edition")
        members = {"source.ipynb": source, "gradebook.db": template}
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                members[f"edition/course_pkg/{path.relative_to(package).as_posix()}"] = path
        manifest = {"format": BUNDLE_FORMAT, "assignment": assignment}
        staged = work / "bundle.zip"
        with zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as zf:
            info = zipfile.ZipInfo("bundle.json", FIXED_TIME)
            zf.writestr(info, json.dumps(manifest, sort_keys=True))
            for name, path in sorted(members.items()):
                zf.writestr(zipfile.ZipInfo(name, FIXED_TIME), path.read_bytes())
        final = dest / f"{sha256_of(staged)}.zip"
        shutil.move(staged, final)
    return final


def unpack_bundle(bundle: Path, cache: Path) -> Path:
    """The bundle unpacked in ``cache/<sha256>/`` (done once per bundle and cache).

    Its hash is checked: a bundle whose bytes do not match its name is refused.
    """
    digest = sha256_of(bundle)
    if bundle.stem != digest:
        raise ValueError(f"bundle {bundle.name} has SHA-256 {digest}: corrupt or renamed")
    target = cache / digest
    if (target / "bundle.json").is_file():
        return target
    staging = Path(tempfile.mkdtemp(prefix=f"{digest[:12]}-", dir=cache))
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            parts = Path(info.filename).parts
            if info.filename.startswith("/") or ".." in parts:
                raise ValueError(f"bundle {bundle.name} holds an unsafe path {info.filename!r}")
        zf.extractall(staging)
    try:
        staging.rename(target)  # atomic: a concurrent unpack of the same bundle is harmless
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    return target


@dataclass
class GradingJob:
    assignment: str
    student: str
    bundle: str  # SHA-256 of the bundle's zip
    submission: bytes  # the submitted notebook, as read from the download
    seed: int  # of the hidden tests' inputs
    limits: Limits
    sandbox: bool = True
    check_runs_clean: bool = True
    isolation: str = "bwrap"  # or "user" (autograder.sandbox): how the sandbox is made

    def to_json(self) -> str:
        data = asdict(self)
        data["submission"] = base64.b64encode(self.submission).decode("ascii")
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GradingJob:
        data = json.loads(text)
        data["submission"] = base64.b64decode(data["submission"])
        data["limits"] = Limits(**data["limits"])
        return cls(**data)


@dataclass
class JobRecord:
    result: Result
    files: dict = field(default_factory=dict)  # "feedback.html", "autograded.ipynb" -> bytes


def run_job(job: GradingJob, bundle_dir: Path, workdir: Path, warm=None) -> JobRecord:
    """Grade one submission from an unpacked bundle, in ``workdir`` (which it fills); its
    worker process is forked by ``warm`` (:class:`autograder.warm.WarmWorker`) if given."""
    from .grade import run_worker

    start = time.perf_counter()
    manifest = json.loads((bundle_dir / "bundle.json").read_text())
    if manifest.get("format") != BUNDLE_FORMAT or manifest.get("assignment") != job.assignment:
        raise ValueError(
            f"bundle {bundle_dir.name} is for {manifest.get('assignment')!r} (format "
            f"{manifest.get('format')}), the job for {job.assignment!r} (format {BUNDLE_FORMAT})"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    # the kernel passes through on the way to its own folder, and may open nothing else:
    # a kernel outside namespaces (the user isolation) sees this path in the worker's
    # command line (/proc/PID/cmdline)
    os.chmod(workdir, 0o711)
    submission = workdir / "submission.ipynb"
    submission.write_bytes(job.submission)
    submission.chmod(0o600)
    worker_job = Job(
        assignment=job.assignment,
        student=job.student,
        source=str(bundle_dir / "source.ipynb"),
        submission=str(submission),
        gradebook_template=str(bundle_dir / "gradebook.db"),
        workdir=str(workdir / "job"),
        seed=job.seed,
        package=str(bundle_dir / "edition" / "course_pkg"),
        limits=job.limits,
        sandbox=job.sandbox,
        check_runs_clean=job.check_runs_clean,
        isolation=job.isolation,
    )
    result = run_worker(worker_job, workdir / "job" / "w", job.limits.deadline, warm)
    result.phases["job"] = time.perf_counter() - start  # all of it, the worker's start-up too
    files = {}
    for name, path in (("feedback.html", result.feedback), ("autograded.ipynb", result.autograded)):
        if path and Path(path).is_file():
            files[name] = Path(path).read_bytes()
    result.feedback = result.autograded = ""  # the coordinator decides where they go
    return JobRecord(result, files)
