"""Drive nbgrader through its Python API on a throwaway copy of the course."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parent.parent
VOLATILE_CELL_KEYS = ("execution",)


def assignment_ids() -> list[str]:
    config = {}
    exec((ROOT / "nbgrader_config.py").read_text(), {"get_config": lambda: _Dummy()}, config)
    return list(config["ASSIGNMENTS"])


class _Dummy:
    def __getattr__(self, name):
        return self

    def __setattr__(self, name, value):
        pass


def make_course(tmp: Path) -> Path:
    """A course folder with the solutions and the config, nothing else."""
    course = tmp / "course"
    course.mkdir()
    shutil.copytree(ROOT / "solutions", course / "solutions")
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    return course


def api_for(course: Path):
    """An NbGraderAPI on ``course``, configured by its nbgrader_config.py."""
    # nbgrader runs the `alembic` executable to set up the gradebook: it must be on PATH
    venv_bin = str(Path(os.sys.executable).parent)
    if venv_bin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = venv_bin + os.pathsep + os.environ.get("PATH", "")
    from nbgrader.apps import NbGraderAPI

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    return NbGraderAPI(config=config)


def generate(api, assignment: str) -> None:
    result = api.generate_assignment(assignment, force=True)
    assert result["success"], result["log"] or result["error"]


def submit(course: Path, assignment: str, student: str, notebook: Path) -> None:
    dest = course / "submitted" / student / assignment
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(notebook, dest / notebook.name)
    (dest / "timestamp.txt").write_text("2026-11-21 12:00:00.000000 UTC")


def autograde(api, assignment: str, student: str) -> dict:
    """Autograde one submission; return {grade_id: (score, max_score)} for the autograded cells."""
    result = api.autograde(assignment, student, force=True, create=True)
    assert result["success"], result.get("error") or result.get("log")
    scores = {}
    with api.gradebook as gb:
        submission = gb.find_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.auto_score is not None or grade.cell.name.startswith("test"):
                    scores[grade.cell.name] = (grade.auto_score, grade.max_score)
    return scores


def normalized(path: Path) -> dict:
    """A notebook without the metadata that changes from run to run."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        cell.pop("id", None)
    return nb
