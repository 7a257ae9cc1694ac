"""Grading on Gradescope, tested as Gradescope runs it.

``make gradescope``'s ``autograder.zip`` is unpacked in a throwaway folder tree laid out as
Gradescope's container (``/autograder/source``, ``/opt``, ``/tmp``, bound there by
bubblewrap), with root's capabilities in a Docker container and no cgroups: ``setup.sh``
once, with the network, then ``run_autograder`` for every submission of the sample class,
each in a fresh tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from autograder.grade import student_seed
from autograder.gradescope import build_autograder
from autograder.records import Limits
from autograder.sample import CASES, write_sample_class

from nbgrader_util import ROOT, grading_course, hidden_lines, readable_text

ASSIGNMENT = "a1_unfolding"
SEED = 20261201


def secrets_of_the_assignment() -> set[str]:
    return hidden_lines(
        nbformat.read(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    )


# Docker's default capabilities for root in a container (no CAP_SYS_ADMIN: no namespaces, no
# mounts, so the grader's bubblewrap cannot run there, as in Gradescope's container)
DOCKER_CAPS = (
    "CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE "
    "SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP"
).split()


def gradescope_container(tree: Path, command: list[str], *, opt: Path, network: bool = False):
    """Run ``command`` as root in a throwaway container laid out as Gradescope's: ``tree``'s
    ``autograder`` and ``tmp`` at ``/autograder`` and ``/tmp``, ``opt`` at ``/opt`` (writable
    only while the image is built, with the network), the system read-only, no ``/sys`` (no
    cgroups), its own PID namespace, and Docker's capabilities for root."""
    argv = ["bwrap", "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for link, target in (("/bin", "usr/bin"), ("/sbin", "usr/sbin"), ("/lib", "usr/lib")):
        argv += ["--symlink", target, link] if os.path.islink(link) else ["--ro-bind", link, link]
    if os.path.islink("/lib64"):
        argv += ["--symlink", "usr/lib64", "/lib64"]
    argv += ["--bind", str(tree / "autograder"), "/autograder"]
    argv += ["--bind" if network else "--ro-bind", str(opt), "/opt"]
    for mirror in ("/opt/wheels", "/opt/pypi", "/opt/pypi-more"):  # this machine's wheels
        if network and os.path.isdir(mirror):
            argv += ["--ro-bind", mirror, mirror]
    argv += ["--bind", str(tree / "tmp"), "/tmp", "--dir", "/root", "--dir", "/var/tmp"]
    argv += ["--proc", "/proc", "--dev", "/dev", "--unshare-pid", "--unshare-ipc"]
    argv += ["--unshare-uts", "--die-with-parent", "--new-session"]
    argv += [] if network else ["--unshare-net"]
    for cap in DOCKER_CAPS:
        argv += ["--cap-add", f"CAP_{cap}"]
    argv += ["--chdir", "/autograder/source", "--setenv", "HOME", "/root"]
    argv += ["--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin"]
    return subprocess.run([*argv, "--", *command], capture_output=True, text=True, timeout=900)


def test_the_gradescope_autograder_grades_the_class_as_make_grade_does(tmp_path):
    """``make gradescope``'s zip, run as Gradescope runs it: ``setup.sh`` once, then
    ``run_autograder`` for each submission of the sample class in a fresh container. The
    status and score ``make grade`` gives each student (``CASES``, which test_autograder.py
    holds ``make grade`` to), from the seed it would draw; hidden tests stay unreadable."""
    if shutil.which("bwrap") is None:
        pytest.fail("bubblewrap is not installed (apt-get install bubblewrap; make test does)")
    course = grading_course(tmp_path)
    write_sample_class(
        course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", ASSIGNMENT, tmp_path / "sub"
    )
    limits = Limits(timeout=10)  # as test_autograder.py grades the class
    archive = build_autograder(
        course, ASSIGNMENT, tmp_path / "export", limits=limits, seed=SEED, check_runs_clean=False
    )
    image = tmp_path / "image"
    source = image / "autograder" / "source"
    source.mkdir(parents=True)
    (image / "tmp").mkdir()
    (image / "tmp").chmod(0o1777)
    opt = image / "opt"
    opt.mkdir()
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(source)
    for script in ("setup.sh", "run_autograder"):
        (source / script).chmod(0o755)
    setup = ["bash", "/autograder/source/setup.sh"]
    built = gradescope_container(image, setup, opt=opt, network=True)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert (source.stat().st_mode & 0o777) == 0o700

    judged = sorted(
        s
        for s, (status, _, _) in CASES.items()
        if status not in ("notebook missing", "id refused") and (tmp_path / "sub" / s).is_dir()
    )

    def grade_one(student: str) -> dict:
        box = tmp_path / "runs" / student.replace("*", "_").strip()
        (box / "tmp").mkdir(parents=True)
        (box / "tmp").chmod(0o1777)
        ag = box / "autograder"
        ag.mkdir()
        shutil.copytree(source, ag / "source")  # the image's, as setup.sh left it
        shutil.copytree(tmp_path / "sub" / student, ag / "submission")
        (ag / "results").mkdir()
        users = [{"sid": student, "email": f"{student}@example.edu", "id": 1}]
        (ag / "submission_metadata.json").write_text(json.dumps({"users": users}))
        done = gradescope_container(box, ["/autograder/source/run_autograder"], opt=opt)
        assert (ag / "results" / "results.json").is_file(), done.stderr[-3000:]
        data = json.loads((ag / "results" / "results.json").read_text())
        page = ag / "results" / "feedback.html"
        data["page"] = readable_text(page) if page.is_file() else ""
        return data

    slow = ["dead_sockets", "infinite_loop", "memory_children", "output_flood"]  # first:
    judged = slow + [s for s in judged if s not in slow]  # nothing long is left for the end
    # two containers at a time, as two Gradescope machines: each kernel is a uid of its own,
    # so fork_bomb in one cannot use up the process limit of the other's kernel (when all
    # were nobody, it did: `full` and memory_children crashed beside it in CI)
    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(judged, pool.map(grade_one, judged), strict=True))
    got = {s: (d["extra_data"]["status"], d["score"]) for s, d in results.items()}
    assert got == {s: (CASES[s][0], float(CASES[s][1])) for s in judged}
    for student, data in results.items():
        assert data["extra_data"]["seed"] == student_seed(SEED, student)  # make grade's
        assert sum(t["score"] for t in data["tests"]) == data["score"], student
        if data["extra_data"]["status"] in ("graded", "timed out", "out of memory"):
            assert sum(t["max_score"] for t in data["tests"]) == 30, student
        else:  # crashed or unreadable: no test ran
            assert data["tests"] == [] and data["score"] == 0, student
        assert all(t["visibility"] == "after_published" for t in data["tests"])
    # the watch in place of the cgroup Docker does not give
    assert results["memory_children"]["extra_data"]["reason"] == (
        "the kernel and the processes it started used more than 2048 MB together, and one "
        "of them was stopped"
    )
    assert "graded my_work.ipynb (most answer cells)" in results["renamed"]["output"]
    # nothing of the grader's is readable, even at the paths its command lines name
    assert "stolen: 0 files" in results["solution_thief"]["page"]
    assert (
        "judged by the grader: 8 calls into your code, all checks passed"
        in (results["full"]["page"])
    )
    secrets = secrets_of_the_assignment()
    for student, data in results.items():
        shown = json.dumps(data)
        assert not [line for line in secrets if line in shown], student
