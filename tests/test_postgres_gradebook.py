"""A real PostgreSQL gradebook: two assignments graded at once into one server.

The test does what the instructor guide's PostgreSQL section says, command
for command: a throwaway server from Debian's ``postgresql`` (``initdb`` and
``pg_ctl`` in a temporary folder, on a Unix socket only), a database,
``db_url`` in ``nbgrader_config.py``, the tables as nbgrader makes them
(stamped for its migrations; ``nbgrader db upgrade`` then has nothing to do),
then ``make grade``'s command for two assignments in two processes at the
same time. The formgrader's API
(nbgrader's ``NbGraderAPI``) then reads every submission with its score,
and the tables hold each student, submission and grade exactly once.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from autograder.sample import solution_notebook
from autograder.stage import autograded_cell_ids, release_notebook

from nbgrader_util import grading_course, venv_env

ASSIGNMENTS = ("a1_unfolding", "a2_bptt")
STUDENTS = ("blank", "full")
PORT = 5499  # on a private socket folder: no other server can be reached or disturbed


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed (apt-get install postgresql; `make test` does it)")
    return Path(found[-1]).parent


def as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the package's `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture
def server():
    pg = postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="pg", dir="/tmp"))  # short: the socket's path
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, log = folder / "data", folder / "server.log"
    run = dict(check=True, capture_output=True, text=True)
    subprocess.run(
        as_server_user([str(pg / "initdb"), "-D", str(data), "-U", "grader", "--auth=trust"]), **run
    )
    options = f"-c listen_addresses='' -k {folder} -p {PORT}"
    start = [str(pg / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]
    subprocess.run(as_server_user(start), **run)
    try:
        subprocess.run(
            [
                str(pg / "createdb"),
                "-h",
                str(folder),
                "-p",
                str(PORT),
                "-U",
                "grader",
                "rnn_course",
            ],
            **run,
        )
        yield f"postgresql+psycopg2://grader@/rnn_course?host={folder}&port={PORT}"
    finally:
        stop = [str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
        subprocess.run(as_server_user(stop), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_two_assignments_graded_at_once_into_one_postgres_gradebook(server, tmp_path):
    course = grading_course(tmp_path, f"\nc.CourseDirectory.db_url = {server!r}\n")
    env = venv_env()
    bin_dir = Path(sys.executable).parent
    # nbgrader creates the tables the first time it opens the gradebook, stamped with the
    # newest of its migrations (`db upgrade` alone fails on an empty database: its migrations
    # start from an old schema); `db upgrade` then finds nothing to do
    for command in (["db", "student", "list"], ["db", "upgrade"]):
        done = subprocess.run(
            [str(bin_dir / "nbgrader"), *command],
            cwd=course,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    (tmp_path / "roster.csv").write_text("student_id,first_name\nfull,Fay\nblank,Bo\n")
    graders = []
    for assignment in ASSIGNMENTS:
        source = nbformat.read(course / "solutions" / assignment / f"{assignment}.ipynb", 4)
        for student, nb in (
            ("full", solution_notebook(source)),
            ("blank", release_notebook(source)),
        ):
            folder = tmp_path / assignment / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{assignment}.ipynb")
        command = [
            sys.executable, "-m", "autograder", "grade", assignment, "--course", str(course),
            "--submissions", str(tmp_path / assignment), "--roster", str(tmp_path / "roster.csv"),
            "--jobs", "1", "--no-runs-clean",
        ]  # fmt: skip
        graders.append(
            subprocess.Popen(command, cwd=course, env=env, stdout=subprocess.PIPE, text=True,
                             stderr=subprocess.STDOUT)
        )  # fmt: skip
    outputs = [g.communicate(timeout=900)[0] for g in graders]  # both run at the same time
    for grader, output in zip(graders, outputs, strict=True):
        assert grader.returncode == 0, output[-3000:]

    # what the formgrader shows, through its API
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    loaded = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    loaded.CourseDirectory.root = str(course)
    api = NbGraderAPI(config=loaded)
    for assignment in ASSIGNMENTS:
        source = nbformat.read(course / "solutions" / assignment / f"{assignment}.ipynb", 4)
        points = sum(
            float(c.metadata["nbgrader"]["points"])
            for c in source.cells
            if c.metadata.get("nbgrader", {}).get("grade_id") in autograded_cell_ids(source)
        )
        listed = {s["student"]: s for s in api.get_submissions(assignment)}
        assert sorted(listed) == list(STUDENTS), assignment
        assert all(s["autograded"] for s in listed.values())
        assert (listed["full"]["code_score"], listed["blank"]["code_score"]) == (points, 0.0)
    names = {s["id"]: s["first_name"] for s in api.get_students()}
    assert names == {"full": "Fay", "blank": "Bo"}

    # nothing lost, nothing twice: one row per student, submission and graded cell
    import sqlalchemy

    engine = sqlalchemy.create_engine(server)
    with engine.connect() as db:
        version = db.execute(sqlalchemy.text("SELECT version_num FROM alembic_version"))
        assert version.scalar_one()  # the migrations' head, as nbgrader stamped it

        def count(sql: str) -> int:
            return db.execute(sqlalchemy.text(sql)).scalar_one()

        assert count("SELECT count(*) FROM student") == 2
        assert count("SELECT count(*) FROM assignment") == 2
        assert count("SELECT count(*) FROM submitted_assignment") == 4
        assert (
            count("SELECT count(DISTINCT (assignment_id, student_id)) FROM submitted_assignment")
            == 4
        )
        cells = sum(
            len(autograded_cell_ids(nbformat.read(course / "solutions" / a / f"{a}.ipynb", 4))) + 0
            for a in ASSIGNMENTS
        )
        written = count(
            "SELECT count(*) FROM grade g JOIN grade_cells c ON g.cell_id = c.id "
            "WHERE c.cell_type = 'code'"
        )
        assert written == 2 * cells
    engine.dispose()


def test_a_student_added_by_another_grader_meanwhile_is_not_an_error(server, tmp_path):
    """Two graders (two assignments) reach a new student at once: one insert wins, the
    other grader's insert fails on the unique id, and the grader looks again."""
    from nbgrader.api import Gradebook, MissingEntry

    from autograder.grade import _student
    from autograder.worker import ensure_venv_bin_on_path

    ensure_venv_bin_on_path()  # a new gradebook runs nbgrader's `alembic`
    with Gradebook(server, "rnn-course") as first, Gradebook(server, "rnn-course") as second:
        looked = first.find_student

        def look_while_the_other_adds(student_id):
            if student_id == "newbie" and not second.students:
                second.add_student("newbie")  # the other grader, between our look and insert
                raise MissingEntry()
            return looked(student_id)

        first.find_student = look_while_the_other_adds
        _student(first, "newbie", {"first_name": "New"})  # no InvalidEntry escapes
    with Gradebook(server, "rnn-course") as gb:
        assert [(s.id, s.first_name) for s in gb.students] == [("newbie", "New")]
