"""Drive nbgrader through its Python API on a throwaway copy of the course."""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
from traitlets.config.loader import PyFileConfigLoader

from autograder.edition import course_settings
from autograder.worker import ensure_venv_bin_on_path

ROOT = Path(__file__).resolve().parent.parent
VOLATILE_CELL_KEYS = ("execution",)


def assignment_ids() -> list[str]:
    return course_settings(ROOT)["ASSIGNMENTS"]


def grading_course(tmp: Path, config: str = "") -> Path:
    """``tmp/course``: what ``make grade`` reads (solutions, assignments, ``course_pkg`` as a
    link) and the course's ``nbgrader_config.py`` with ``config`` appended."""
    course = tmp / "course"
    course.mkdir()
    for folder in ("solutions", "assignments"):  # the grading edition is built from them
        shutil.copytree(ROOT / folder, course / folder)
    (course / "course_pkg").symlink_to(ROOT / "course_pkg")
    (course / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text() + config)
    return course


def make_course(tmp: Path) -> Path:
    """A course folder with the solutions and the config, nothing else."""
    course = tmp / "course"
    course.mkdir()
    shutil.copytree(ROOT / "solutions", course / "solutions")
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    return course


def api_for(course: Path):
    """An NbGraderAPI on ``course``, configured by its nbgrader_config.py."""
    ensure_venv_bin_on_path()  # nbgrader runs the `alembic` executable of the venv
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


def venv_env(**extra: str) -> dict:
    """This process's environment with the venv's ``bin`` first on PATH (nbgrader runs the
    venv's ``alembic``), plus ``extra``."""
    bin_dir = Path(sys.executable).parent
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **extra}


class JupyterServer:
    """A Jupyter server (``command`` plus port, token and the rest) on a free local port.

    ``ready`` is the path that must answer before the server counts as started.
    Requests carry the token; :meth:`close` stops the server and all it started.
    """

    def __init__(self, command: list[str], *, cwd: Path, log: Path, env: dict, ready: str):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.token = secrets.token_hex(16)
        options = [f"--port={self.port}", f"--IdentityProvider.token={self.token}", "--no-browser"]
        options += ["--allow-root"] if os.geteuid() == 0 else []
        self.log, self.log_file = log, log.open("w")
        self.process = subprocess.Popen(
            [*command, *options],
            cwd=cwd,
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so that close() reaches whatever it started
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                self.request("GET", ready)
                return
            except (urllib.error.URLError, ConnectionError) as err:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the server did not start: {log.read_text()[-2000:]}"
                    ) from err
                time.sleep(0.5)

    def request(self, method: str, path: str, body=None):
        """The response to a request: decoded JSON, or the text of a page."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read().decode()
        return json.loads(text) if "/api/" in path else text  # the APIs answer in JSON

    def close(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log_file.close()
