"""Drive nbgrader through its Python API on a throwaway copy of the course."""

from __future__ import annotations

import html
import os
import re
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


def normalized(path: Path) -> dict:
    """A notebook without the metadata that changes from run to run."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        cell.pop("id", None)
    return nb


def hidden_lines(source) -> set[str]:
    """Distinctive lines of the hidden tests."""
    lines = set()
    for cell in source.cells:
        for block in re.findall(
            r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S
        ):
            lines.update(s for line in block.splitlines() if len(s := line.strip()) > 25)
    return lines


def readable_text(path: Path) -> str:
    """What a reader sees in a feedback file: an HTML page's text, or a notebook's cells."""
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        parts = []
        for cell in nb.cells:
            parts.append(cell.source)
            for out in cell.get("outputs", []):
                parts += [out.get("text", ""), *out.get("traceback", [])]
                parts += [v for v in out.get("data", {}).values() if isinstance(v, str)]
        return "\n".join(parts)
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))
