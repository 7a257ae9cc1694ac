"""Grade on Gradescope: the same job, in Gradescope's container, one submission at a time.

``make gradescope ASSIGNMENT=a1_unfolding`` (``python -m autograder gradescope ASSIGNMENT``)
writes ``grading/<assignment>/gradescope/autograder.zip``, to upload as a Gradescope
programming assignment's autograder ("Zip file upload", base image Ubuntu 22.04 or later).
Gradescope unpacks it in ``/autograder/source``, runs ``setup.sh`` once (as root, when it
builds the image), then, for each submission, ``run_autograder`` in a fresh container, with
the student's files in ``/autograder/submission`` and ``submission_metadata.json``; what it
shows is ``/autograder/results/results.json``.

What the zip holds: the assignment bundle (:mod:`autograder.jobs`: the hidden tests, the
student edition's ``course_pkg`` and a gradebook), this grader and the reference
``course_pkg`` (the judge computes expected values with it), ``settings.json`` (the limits,
and the seed if the export was given one) and the pinned versions to install.

``run_autograder`` runs :func:`run` (``python -m autograder.gradescope /autograder``), which
builds the same :class:`~autograder.jobs.GradingJob` as ``make grade`` and runs it with
:func:`~autograder.jobs.run_job`. Gradescope's container runs everything as root and cannot
make namespaces, so the kernel gets the *user* isolation (:mod:`autograder.sandbox`): it
runs as a uid of its own (no other process shares its limits), with the student edition on
its path, a home folder of its own, and no
way into ``/autograder/source`` (mode 700: the hidden tests, the reference and the bundle),
the grader's folders or ``/tmp``. Its processes are capped by ``RLIMIT_NPROC``, their memory
together by a cgroup where the container allows one and otherwise by a watch that kills the
largest, as the OOM killer does. The verdict is computed by the judge in the grader's own
process, as everywhere.

``results.json``: one test per autograded cell (its ``grade_id``, score, maximum and the
messages the student's feedback shows for it), ``after_published`` when the cell has hidden
tests and ``visible`` otherwise; the total; the status and reason in ``output``; and in
``extra_data`` what ``grades.csv`` would say (status, reason, seed, flags). Written answers
are graded by hand in Gradescope and are not in it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import zipfile
from dataclasses import asdict
from pathlib import Path

import nbformat

from .jobs import FIXED_TIME, GradingJob, JobRecord, build_bundle, run_job, unpack_bundle
from .records import Limits, Result, Status
from .stage import ANSI

VENV = "/opt/rnn-grader/venv"
# what the grader and the kernel import, pinned to the versions of constraints.txt
REQUIREMENTS = ("numpy", "matplotlib", "tqdm", "nbgrader", "ipykernel", "pytest", "nbval")

SETUP_SH = f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
cd "$(dirname "$0")"
py=${{RNN_GRADER_PYTHON:-python3}}
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  apt-get update -q && apt-get install -y -q python3.11 python3.11-venv && py=python3.11
fi
if ! "$py" -c 'import ensurepip' 2>/dev/null; then
  version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  apt-get update -q && apt-get install -y -q "python$version-venv"
fi
command -v setpriv >/dev/null || {{ apt-get update -q && apt-get install -y -q util-linux; }}
"$py" -m venv {VENV}
{VENV}/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
# the hidden tests, the reference course_pkg and the bundle: root's only
chmod -R go-rwx /autograder/source
chmod 0700 /autograder/source
"""

RUN_AUTOGRADER = f"""#!/usr/bin/env bash
# Gradescope runs this for each submission, as root, in a fresh container.
exec env PYTHONPATH=/autograder/source/lib {VENV}/bin/python -m autograder.gradescope /autograder
"""


def _pins() -> list[str]:
    """The versions this grader runs with (its ``constraints.txt``), of what it imports."""
    pinned = {}
    constraints = Path(__file__).resolve().parent.parent / "constraints.txt"
    for line in constraints.read_text().splitlines():
        name, _, version = line.partition("==")
        if version:
            pinned[name.strip().lower()] = version.strip()
    missing = [name for name in REQUIREMENTS if name not in pinned]
    if missing:
        raise ValueError(f"constraints.txt pins no version of {', '.join(missing)}")
    return [f"{name}=={pinned[name]}" for name in REQUIREMENTS]


def build_autograder(
    course_root: Path,
    assignment: str,
    dest: Path,
    *,
    limits: Limits,
    seed: int | None = None,
    check_runs_clean: bool = True,
) -> Path:
    """Write ``dest/autograder.zip`` for ``assignment``; return its path."""
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    from .grade import hidden_tests_version

    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gradescope-") as tmp:
        bundle = build_bundle(course_root, assignment, Path(tmp))
        settings = {
            "assignment": assignment,
            "bundle": bundle.stem,
            "seed": seed,
            "limits": asdict(limits),
            "check_runs_clean": check_runs_clean,
            "tests": hidden_tests_version(
                course_root / "solutions" / assignment / f"{assignment}.ipynb"
            ),
        }
        members: dict[str, bytes] = {
            "setup.sh": SETUP_SH.encode(),
            "run_autograder": RUN_AUTOGRADER.encode(),
            "requirements.txt": ("\n".join(_pins()) + "\n").encode(),
            "settings.json": json.dumps(settings, indent=1, sort_keys=True).encode(),
            f"bundle/{bundle.name}": bundle.read_bytes(),
        }
        for package in ("autograder", "course_pkg"):
            root = Path(__file__).resolve().parent.parent / package
            for path in sorted(root.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    name = f"lib/{package}/{path.relative_to(root).as_posix()}"
                    members[name] = path.read_bytes()
        target = dest / "autograder.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in sorted(members.items()):
                info = zipfile.ZipInfo(name, FIXED_TIME)
                executable = name in ("setup.sh", "run_autograder")
                info.external_attr = (0o755 if executable else 0o644) << 16
                zf.writestr(info, data)
    return target


def _student_id(metadata: Path) -> str:
    """Who submitted, from Gradescope's ``submission_metadata.json``: the first submitter's
    student id (``sid``), else e-mail, else Gradescope's user id."""
    try:
        users = json.loads(metadata.read_text()).get("users") or [{}]
    except (OSError, ValueError):
        users = [{}]
    first = users[0]
    for key in ("sid", "email", "id"):
        if first.get(key):
            return str(first[key])
    return "student"


def find_notebook(submission: Path, assignment: str, source: Path) -> tuple[Path | None, str]:
    """The submitted notebook to grade, chosen as ``make grade`` chooses; a note on it."""
    from .collect import choose_notebook

    files = sorted(p for p in submission.rglob("*") if p.is_file())
    return choose_notebook(files, assignment, source)


def _cell_outputs(notebook_bytes: bytes | None) -> dict[str, str]:
    """What the student's feedback shows under each graded cell (no hidden test code)."""
    if not notebook_bytes:
        return {}
    nb = nbformat.reads(notebook_bytes.decode("utf-8", "replace"), as_version=4)
    shown = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if not grade_id or cell.cell_type != "code":
            continue
        parts = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif out.get("output_type") == "error":
                parts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}")
        shown[grade_id] = ANSI.sub("", "".join(p if p.endswith("\n") else p + "\n" for p in parts))
    return shown


def results_json(record: JobRecord, source: Path, note: str = "") -> dict:
    """Gradescope's ``results.json`` for one record."""
    result = record.result
    nb = nbformat.read(source, as_version=4)
    hidden = {
        cell.metadata["nbgrader"]["grade_id"]: "BEGIN HIDDEN TESTS" in cell.source
        for cell in nb.cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    }
    shown = _cell_outputs(record.files.get("autograded.ipynb"))
    tests = []
    for grade_id, (score, max_score) in result.questions.items():
        if score is None:  # a written answer: graded by hand in Gradescope
            continue
        tests.append(
            {
                "name": grade_id,
                "score": score,
                "max_score": max_score,
                "output": shown.get(grade_id, "")[:20_000],
                "visibility": "after_published" if hidden.get(grade_id) else "visible",
            }
        )
    lines = [f"Status: {result.status}" + (f" ({result.reason})" if result.reason else "")]
    if note:
        lines.append(note)
    if result.integrity:
        lines.append(f"A person will look at this submission: {result.integrity}")
    if any(score is None for score, _ in result.questions.values()):
        lines.append("Written answers are graded by hand.")
    return {
        "score": result.score,
        "output": "\n".join(lines),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "status": str(result.status),
            "reason": result.reason,
            "seed": result.seed,
            "tests_version": "",
            "integrity": result.integrity,
            "runs_clean": result.runs_clean,
        },
    }


def _close_shared_folders() -> None:
    """World-writable folders of the container: the kernel (another uid) gets none of them."""
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(folder):
            try:
                os.chmod(folder, 0o711)  # passable to the kernel's own folder, nothing more
            except OSError:
                pass


def run(root: Path) -> dict:
    """Grade ``root/submission`` with ``root/source``; write ``root/results/results.json``."""
    from .integrity import integrity_flags

    source_dir = root / "source"
    settings = json.loads((source_dir / "settings.json").read_text())
    assignment = settings["assignment"]
    results_path = root / "results" / "results.json"
    results_path.parent.mkdir(parents=True, exist_ok=True)
    if root == Path("/autograder"):  # in Gradescope's container (or one laid out as it)
        _close_shared_folders()
    student = _student_id(root / "submission_metadata.json")
    bundle = source_dir / "bundle" / f"{settings['bundle']}.zip"
    bundle_dir = unpack_bundle(bundle, source_dir / "bundle")
    notebook, note = find_notebook(root / "submission", assignment, bundle_dir / "source.ipynb")
    if notebook is None:
        record = JobRecord(Result(student, Status.NOTEBOOK_MISSING, note))
        note = ""
    else:
        from .grade import student_seed

        job = GradingJob(
            assignment=assignment,
            student=student,
            bundle=settings["bundle"],
            submission=notebook.read_bytes(),
            seed=student_seed(settings["seed"], student),
            limits=Limits(**settings["limits"]),
            check_runs_clean=settings["check_runs_clean"],
            isolation="user",
        )
        work = Path(tempfile.mkdtemp(prefix="job-", dir="/tmp" if os.path.isdir("/tmp") else None))
        os.chmod(work, 0o711)  # the kernel (another uid) reaches its own folder, lists nothing
        try:
            record = run_job(job, bundle_dir, work / "job")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if record.result.status in (Status.GRADED, Status.TIMED_OUT, Status.OUT_OF_MEMORY):
            from .stage import release_notebook

            source = nbformat.read(bundle_dir / "source.ipynb", as_version=4)
            as_dict = json.loads(nbformat.writes(source))
            release = json.loads(nbformat.writes(release_notebook(source)))
            record.result.integrity = "; ".join(integrity_flags(notebook, as_dict, release))
    data = results_json(record, bundle_dir / "source.ipynb", note)
    data["extra_data"]["tests_version"] = settings["tests"]
    if "feedback.html" in record.files:  # beside the results: what make grade gives students
        (results_path.parent / "feedback.html").write_bytes(record.files["feedback.html"])
    results_path.write_text(json.dumps(data, indent=1))
    return data


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path("/autograder")
    try:
        run(root)
    except Exception as err:  # a grader failure still leaves Gradescope a result to show
        (root / "results").mkdir(parents=True, exist_ok=True)
        failure = {
            "score": 0,
            "output": f"The grader failed ({type(err).__name__}: {err}); tell your instructor.",
            "tests": [],
        }
        (root / "results" / "results.json").write_text(json.dumps(failure, indent=1))
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
