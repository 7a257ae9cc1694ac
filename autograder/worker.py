"""Grade one submission in a private, throwaway course folder.

Run as ``python -m autograder.worker JOB.json``; it writes ``result.json``
beside the job. nbgrader's autograde step runs the notebook with
:class:`autograder.execute.JudgedExecute`: the student's cells in the
sandboxed kernel on the grading edition's ``course_pkg`` (with the
submission's answers as the student's own functions), every test cell in this
process, by the judge (:mod:`autograder.judge`). Each worker has its own
gradebook (a copy of a template), so workers running in parallel never
write to the same database; the coordinator (:mod:`autograder.grade`)
merges the results into the course gradebook afterwards, one at a time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import nbformat

from .cgroups import Cgroup, sweep_orphans
from .execute import RUN_KEY, STOPPED_ANSWERING
from .feedback import harden_file, student_view
from .judge import CUT, FLOODED
from .records import Job, Result, Status
from .sandbox import (
    NOBODY,
    MemoryWatch,
    die_with_parent,
    job_uid,
    limit_resources,
    lock_workdir,
    prepare_workdir,
    sandbox_argv,
    user_argv,
)
from .stage import (
    ANSI,
    Ungradable,
    build_graded_notebook,
    executed_code,
    read_submission,
    release_notebook,
    total_points,
)


def log_tail(path: Path, size: int) -> str:
    """The last ``size`` bytes of a log as text: a log may be large, its end says what happened."""
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - size))
        return handle.read().decode("utf-8", "replace")


def ensure_venv_bin_on_path() -> None:
    """nbgrader runs the ``alembic`` executable of this Python's environment."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def _config(job: Job, course: Path, kernel_dir: Path):
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )
    from traitlets.config import Config

    from .execute import JudgedExecute

    c = Config()
    c.CourseDirectory.root = str(course)
    c.CourseDirectory.course_id = job.course_id
    c.CourseDirectory.source_directory = "solutions"
    c.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    c.OverwriteCells.add_missing_cells = True
    c.Execute.timeout = job.limits.timeout
    c.Execute.interrupt_on_timeout = True
    c.Execute.raise_on_iopub_timeout = False
    c.Execute.startup_timeout = 60
    c.Execute.shutdown_kernel = "immediate"  # killed, not asked: nothing of it is kept
    c.CappedExecute.max_output_bytes = job.limits.max_output_bytes
    c.CappedExecute.max_notebook_output_bytes = job.limits.max_notebook_output_bytes
    c.CappedExecute.lock_folder = str(kernel_dir) if job.sandbox else ""
    c.JudgedExecute.judge_seed = job.seed
    c.LimitOutput.max_lines = 200
    c.HTMLExporter.sanitize_html = True  # Markdown and HTML of the feedback through bleach
    c.Autograde.autograde_preprocessors = [
        JudgedExecute,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    # the kernel talks over Unix sockets in its own folder: it has no network
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = str(kernel_dir / "kernel")
    return c


def _write_kernelspec(
    jupyter_dir: Path, kernel_dir: Path, job: Job, group, package, uid: int
) -> None:
    spec_dir = jupyter_dir / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    argv = [sys.executable, "-m", "autograder.launch", str(kernel_dir), str(job.limits.memory_mb)]
    argv += ["{connection_file}", "--disk-mb", str(job.limits.disk_mb)]
    argv += ["--output-cap", str(4 * job.limits.max_output_bytes)]  # 4x the grader's cut
    argv += [f"--grader={os.getpid()}"]  # the kernel dies with this process
    argv += [f"--cgroup={procs}" for procs in (group.procs_files if group else [])]
    argv += [f"--package={package}"] if job.sandbox else ["--no-sandbox"]
    if job.sandbox and job.isolation == "user":
        argv += [f"--user-only={job.limits.processes}", f"--uid={uid}"]
    spec = {
        "argv": argv,
        "display_name": "Python 3 (sandboxed grading)",
        "language": "python",
        "interrupt_mode": "message",  # a signal would stop at bwrap; a message reaches the kernel
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))


def _scores(api, assignment: str, student: str) -> dict:
    scores = {}
    with api.gradebook as gb:
        submission = gb.find_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.cell.cell_type == "code" or grade.auto_score is not None:
                    scores[grade.cell.name] = [grade.auto_score, grade.max_score]
                else:  # manually graded answers: not autograded
                    scores[grade.cell.name] = [None, grade.max_score]
    return scores


def _failure_kind(notebook) -> tuple[str, str]:
    """(status, reason) from the outputs of an executed notebook."""
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            ename = out.get("ename", "")
            trace = ANSI.sub("", "\n".join(out.get("traceback", [])))
            if ename == "CellTimeoutError" or "CellTimeoutError" in trace:
                return Status.TIMED_OUT, f"a cell ran longer than the limit: {cell.source[:60]!r}"
            if ename == "MemoryError":
                return (
                    Status.OUT_OF_MEMORY,
                    f"a cell exceeded the memory limit: {cell.source[:60]!r}",
                )
    for cell in notebook.cells:
        outputs = cell.get("outputs", [])
        # the note can arrive split over several stream outputs; and a test whose call
        # into the student's code was cut says so in its error, not in a stream
        printed = "".join(out.get("text", "") for out in outputs)
        errors = "\n".join(
            ANSI.sub("", "\n".join([out.get("evalue", ""), *out.get("traceback", [])]))
            for out in outputs
            if out.get("output_type") == "error"
        )
        if CUT in printed or FLOODED in errors:
            return Status.GRADED, "a cell's output exceeded the output cap and was cut"
    return Status.GRADED, ""


# nbgrader's closing lines, which say nothing about the cause
_GENERIC_LOG_LINES = ("Please see the the above traceback", "There was an error processing")


def _crash_reason(log: str) -> str:
    """Why nbgrader could not grade the notebook, from its log, in one sentence."""
    if STOPPED_ANSWERING in log:
        return (
            f"{STOPPED_ANSWERING}: it no longer replied to the grader (its connection was "
            "closed or broken), so the remaining cells could not run"
        )
    if "DeadKernelError" in log or "Kernel died" in log:
        return (
            "the kernel died while running the notebook: the Python process exited or was "
            "killed (os._exit, sys.exit from a thread, a crash in compiled code or a signal)"
        )
    errors = [
        line.strip()
        for line in log.splitlines()
        if re.search(r"\w+(Error|Exception)\b", line)
        and not any(generic in line for generic in _GENERIC_LOG_LINES)
    ]
    detail = f" ({errors[-1][:160]})" if errors else ""
    return f"nbgrader could not autograde the notebook{detail}"


def _job_cgroup(job: Job, uid: int = NOBODY):
    """The cgroup that holds this job's kernel and its processes (None where there is none)."""
    if not job.sandbox:
        return None
    if job.isolation not in ("bwrap", "user"):
        raise ValueError(f"isolation must be 'bwrap' or 'user', got {job.isolation!r}")
    sweep_orphans()  # groups of graders that died, with anything they left
    name = f"job-{os.getpid()}-{Path(job.workdir).name}"  # cgroups.ORPHAN reads the pid
    limits = job.limits
    group = Cgroup.create(name, memory_mb=limits.memory_mb, processes=limits.processes)
    if group is None and job.isolation == "user":  # no namespace, no cgroup: watch it
        return MemoryWatch(limits.memory_mb, uid=uid)
    return group


def _runs_clean(
    job: Job, work: Path, group=None, package=None, uid: int = NOBODY
) -> tuple[bool, str]:
    """Run the notebook as submitted, top to bottom, in the sandbox (pytest --nbval-lax)."""
    box = work / "nbval"
    box.mkdir()  # the grader's, read-only to the run: it writes only to its capped /tmp
    target = box / "submission.ipynb"
    shutil.copy(job.submission, target)
    target.chmod(0o644)  # readable by the run, whoever it runs as
    lock_workdir(box)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax"]
    command += ["--nbval-cell-timeout", str(job.limits.timeout), str(target)]
    user = job.sandbox and job.isolation == "user"
    if user:
        argv = user_argv(command, home=work / "nbval-home", package=package, uid=uid)
    elif job.sandbox:
        argv = sandbox_argv(box, command, disk_mb=job.limits.disk_mb, package=package)
    else:
        argv = command

    def start():
        if group is not None:
            group.attach()
        limit_resources(job.limits.memory_mb, processes=job.limits.processes if user else None)

    log = work / "nbval.log"  # a file capped by the file-size limit, not memory
    with open(log, "wb") as output:
        try:
            done = subprocess.run(
                argv,
                cwd=box,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=job.limits.timeout * 4 + 60,
                preexec_fn=start,
            )
        except subprocess.TimeoutExpired:
            return False, "did not finish in time"
    tail = log_tail(log, 20_000)
    summary = [line for line in tail.splitlines() if "passed" in line or "failed" in line]
    last = summary[-1].strip("= ") if summary else tail.strip()[-200:]
    return done.returncode == 0, last


def runs_clean_from_graded_run(submission: Path, run: dict) -> tuple[bool, str] | None:
    """Whether the notebook runs top to bottom as submitted, told by the graded run, or None
    where that run cannot tell.

    The kernel of the graded run ran the student's answers and extra cells and every other
    cell as released (the test cells without their hidden tests: the judge runs those in the
    grader). Where that is, cell for cell, the code of the submitted notebook, the graded run
    *was* a run of it top to bottom, and its errors are the ones ``pytest --nbval-lax`` would
    find. Where the student changed, moved or deleted a cell that is not an answer (or uses
    nbval's markers, which change what a run checks), only a run of the notebook itself
    (:func:`_runs_clean`) can say.
    """
    if "ran" not in run:
        return None
    try:  # as nbval reads it
        cells = nbformat.read(submission, as_version=4).cells
    except Exception:  # not a notebook nbformat reads: the second run says what it can
        return None
    code = [c.source for c in cells if c.cell_type == "code" and c.source.strip()]
    submitted = [executed_code(source) for source in code]
    if submitted != run["ran"] or any("NBVAL_" in code for code in submitted):
        return None
    failed = len({index for index, _ in run["errors"]})
    if not failed:
        return True, f"{len(submitted)} passed (the graded run's cells)"
    index, message = run["errors"][0]
    counts = f"{failed} failed, {len(submitted) - failed} passed"
    return False, f"{counts} (the graded run's cells; the first, cell {index}: {message})"


def student_package(job: Job, work: Path) -> Path:
    """The kernel's course_pkg: the student edition's, with the answers of this submission as
    the student's own functions (what ``make check`` does in the edition), so that the
    package's code (models, training) runs them. The reference is not in it."""
    from .edition import answers_module

    package = work / "package" / "course_pkg"
    shutil.copytree(job.package, package)
    try:
        text = answers_module(read_submission(Path(job.submission)), job.assignment)
    except Exception:  # an unreadable notebook is reported by the grading that follows
        text = ""
    (package / "yours" / f"{job.assignment}.py").write_text(text)
    for path in [package.parent, *package.parent.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return package


def grade(job: Job) -> Result:
    """Grade one submission; its kernel runs in a cgroup of its own, removed afterwards.
    In the user isolation it also runs as a uid of its own (see :func:`sandbox.job_uid`)."""
    user = job.sandbox and job.isolation == "user" and os.geteuid() == 0
    uid = job_uid() if user else NOBODY
    group = _job_cgroup(job, uid)
    try:
        return _grade(job, group, uid)
    finally:
        if group is not None:
            group.destroy()


def _out_of_memory(result: Result, job: Job, group) -> None:
    if group is not None and group.ran_out_of_memory():
        result.status = Status.OUT_OF_MEMORY
        result.reason = (
            f"the kernel and the processes it started used more than {job.limits.memory_mb} MB "
            "together, and one of them was stopped"
        )


def _grade(job: Job, group, uid: int = NOBODY) -> Result:
    start = time.perf_counter()
    result = Result(student=job.student, status=Status.GRADED, seed=job.seed)
    work = Path(job.workdir)
    course = work / "course"
    kernel_dir = work / "kernel"
    jupyter_dir = work / "jupyter"
    source_dir = course / "solutions" / job.assignment
    course.mkdir(mode=0o700)  # hidden tests, gradebook, graded notebook: the grader's only
    source_dir.mkdir(parents=True)
    notebook_name = f"{job.assignment}.ipynb"
    shutil.copy(job.source, source_dir / notebook_name)
    shutil.copy(job.gradebook_template, course / "gradebook.db")
    prepare_workdir(kernel_dir, uid)
    package = student_package(job, work)
    _write_kernelspec(jupyter_dir, kernel_dir, job, group, package, uid)
    os.environ["JUPYTER_PATH"] = str(jupyter_dir)
    ensure_venv_bin_on_path()

    source = nbformat.read(job.source, as_version=4)
    try:
        graded = build_graded_notebook(Path(job.source), Path(job.submission))
    except Ungradable as err:
        result.status, result.reason = err.status, err.reason
        result.max_score = total_points(source)
        result.seconds = time.perf_counter() - start
        return result
    submitted = course / "submitted" / job.student / job.assignment
    submitted.mkdir(parents=True)
    nbformat.write(graded, submitted / notebook_name)

    from nbgrader.apps import NbGraderAPI

    api = NbGraderAPI(config=_config(job, course, kernel_dir))
    mark = time.perf_counter()
    result.phases["staging"] = mark - start
    outcome = api.autograde(job.assignment, job.student, force=True, create=True)
    result.phases["autograde"] = time.perf_counter() - mark
    autograded_path = course / "autograded" / job.student / job.assignment / notebook_name
    if not outcome["success"] or not autograded_path.exists():
        log = ANSI.sub("", outcome.get("log") or outcome.get("error") or "")
        result.status = Status.CRASHED
        result.reason = _crash_reason(log)
        _out_of_memory(result, job, group)
        result.max_score = total_points(source)
        result.seconds = time.perf_counter() - start
        return result

    scores = _scores(api, job.assignment, job.student)
    autograded = nbformat.read(autograded_path, as_version=4)
    run = autograded.metadata.pop(RUN_KEY, {})
    result.phases.update(run.get("seconds", {}))
    mark = time.perf_counter()
    result.status, result.reason = _failure_kind(autograded)
    _out_of_memory(result, job, group)
    result.questions = scores
    result.score = float(sum(s for s, _ in scores.values() if s is not None))
    result.max_score = float(sum(m for _, m in scores.values()))

    release = release_notebook(source)
    nbformat.write(student_view(autograded, release), autograded_path)
    result.autograded = str(autograded_path)
    feedback = api.generate_feedback(job.assignment, job.student, force=True)
    html = (
        course
        / "feedback"
        / job.student
        / job.assignment
        / notebook_name.replace(".ipynb", ".html")
    )
    if feedback["success"] and html.exists():
        harden_file(html)
        result.feedback = str(html)
    result.phases["feedback"] = time.perf_counter() - mark
    if job.check_runs_clean:
        told = runs_clean_from_graded_run(Path(job.submission), run)
        if told is not None:
            result.runs_clean, result.runs_clean_detail = told
        else:  # the graded run ran other code than the notebook's: run it as submitted
            mark = time.perf_counter()
            result.runs_clean, result.runs_clean_detail = _runs_clean(
                job, work, group, package, uid
            )
            result.phases["runs_clean"] = time.perf_counter() - mark
    result.seconds = time.perf_counter() - start
    return result


def main(argv: list[str]) -> None:
    parent = os.environ.get("AUTOGRADER_PARENT")
    die_with_parent(int(parent) if parent else None)
    job_path = Path(argv[0])
    job = Job.from_json(job_path.read_text())
    result = grade(job)
    (job_path.parent / "result.json").write_text(json.dumps(asdict(result), indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
