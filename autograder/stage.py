"""Build the notebook that is actually graded for one submission.

The grade must come from the instructor's tests whatever the student did to
their copy: edited, deleted or duplicated test cells, a test cell turned into
markdown, changed metadata or kernelspec. So the graded notebook is rebuilt
from the instructor's source notebook, and only the student's *answers* are
taken from the submission:

- every solution cell (by ``grade_id``) gets the student's source, or the
  release placeholder if the student's notebook has no such cell;
- the student's own extra code cells (no nbgrader metadata, and not a copy of one of the
  instructor's cells) are kept, after the answer they followed, since they may define
  helpers the answers use;
- everything else (instructions, setup, every test cell with its hidden
  tests) comes from the instructor's source.

The test cells keep their hidden tests: the judge (:mod:`autograder.judge`)
runs them in the grader; the student's kernel runs each as released.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import nbformat

from .records import Status

SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)
SOLUTION_BLOCK = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)  # the answer
HIDDEN_BLOCK = re.compile(
    r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S | re.M
)
HIDDEN_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) HIDDEN TESTS[ \t]*\n?", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # terminal colours in tracebacks


class Ungradable(Exception):
    """A submission that cannot be graded: ``status`` and a human-readable ``reason``."""

    def __init__(self, status: str, reason: str):
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


def executed_code(source: str) -> str:
    """A code cell's source as two runs are compared: blank lines around it and spaces at the
    ends of its lines left out (they change nothing that runs)."""
    return "\n".join(line.rstrip() for line in source.strip("\n").splitlines()).strip("\n")


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def release_source(cell) -> str:
    """A source cell as ``nbgrader generate_assignment`` releases it: nbgrader's own steps
    put its placeholders in place of the solutions and remove the hidden tests."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    released = copy.deepcopy(cell)
    resources = {"language": "python"}
    ClearSolutions().preprocess_cell(released, resources, 0)
    ClearHiddenTests().preprocess_cell(released, resources, 0)
    return released.source


def release_notebook(source):
    """A copy of the instructor's notebook with every cell as released to students."""
    nb = copy.deepcopy(source)
    for cell in nb.cells:
        cell.source = release_source(cell)
    return nb


def total_points(source) -> float:
    """All the points of a notebook, autograded and graded by hand."""
    return sum(
        float(nbgrader_meta(c).get("points", 0))
        for c in source.cells
        if nbgrader_meta(c).get("grade")
    )


def _graded_ids(source, cell_type: str) -> list[str]:
    return [
        nbgrader_meta(c)["grade_id"]
        for c in source.cells
        if c.cell_type == cell_type and nbgrader_meta(c).get("grade")
    ]


def is_test_cell(cell) -> bool:
    """An autograded test cell: code with points that is not an answer."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def autograded_cell_ids(source) -> list[str]:
    """The grade_ids of the autograded test cells (code cells with points)."""
    return _graded_ids(source, "code")


def written_answer_ids(source) -> list[str]:
    """The grade_ids of the answers graded by hand (markdown cells with points)."""
    return _graded_ids(source, "markdown")


def read_submission(path: Path):
    """Parse a submitted notebook, or raise :class:`Ungradable` saying why not."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise Ungradable(
            Status.NOTEBOOK_UNREADABLE, f"cannot read {path.name}: {err.strerror}"
        ) from err
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise Ungradable(Status.NOTEBOOK_UNREADABLE, f"{path.name} is not UTF-8 text") from err
    except json.JSONDecodeError as err:
        raise Ungradable(
            Status.NOTEBOOK_UNREADABLE,
            f"{path.name} is not valid JSON ({err.msg} at line {err.lineno})",
        ) from err
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise Ungradable(Status.NOTEBOOK_UNREADABLE, f"{path.name} has no list of cells")
    cells = []
    for cell in data["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue  # a damaged cell is skipped, not fatal
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if not isinstance(source, str):
            continue
        cells.append(
            {
                "cell_type": cell["cell_type"],
                "source": source,
                "metadata": cell.get("metadata") or {},
            }
        )
    return cells


DEFINED = re.compile(r"^(?:def|class)\s+(\w+)", re.M)


def student_answers(cells: list, solution_ids: set) -> tuple[dict, dict]:
    """The student's answer for each solution ``grade_id``, and their extra code cells.

    Returns ``(answers, extras)``: ``answers[grade_id]`` is a source string
    (the last cell carrying that id wins if it was duplicated);
    ``extras[grade_id]`` lists the plain code cells that followed that
    answer (key ``None`` for cells before the first answer).
    """
    answers, extras, after = {}, {}, None
    for cell in cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in solution_ids:
            answers[grade_id] = cell["source"]
            after = grade_id
        elif cell["cell_type"] == "code" and not nbgrader_meta(cell):
            extras.setdefault(after, []).append(cell["source"])
    return answers, extras


def recover_unlabelled(answers: dict, extras: dict, source_cells) -> None:
    """Match answers whose nbgrader metadata the student's notebook lost.

    A solution cell that defines functions is recognised in the student's
    plain code cells by the same function names (the first cell that
    defines all of them); that cell becomes the answer.
    """
    for cell in source_cells:
        meta = nbgrader_meta(cell)
        if not meta.get("solution") or meta["grade_id"] in answers or cell.cell_type != "code":
            continue
        names = set(DEFINED.findall(cell.source))
        if not names:
            continue
        for sources in extras.values():
            match = next((s for s in sources if names <= set(DEFINED.findall(s))), None)
            if match is not None:
                answers[meta["grade_id"]] = match
                sources.remove(match)
                break


def build_graded_notebook(source_path: Path, submission_path: Path):
    """The notebook to grade: the instructor's cells with the student's answers in place.

    Raises :class:`Ungradable` if the submission cannot be read.
    """
    source = nbformat.read(source_path, as_version=4)
    cells = read_submission(submission_path)
    solution_ids = {
        nbgrader_meta(c)["grade_id"] for c in source.cells if nbgrader_meta(c).get("solution")
    }
    answers, extras = student_answers(cells, solution_ids)
    recover_unlabelled(answers, extras, source.cells)
    # the instructor's own plain code cells come from the source, where they stand; the
    # student's unchanged copies of them are not extra cells (they would run twice, early)
    given = {
        executed_code(c.source)
        for c in source.cells
        if c.cell_type == "code" and not nbgrader_meta(c)
    }
    extras = {
        at: [s for s in found if executed_code(s) not in given] for at, found in extras.items()
    }
    graded = copy.deepcopy(source)
    new_cells = [nbformat.v4.new_code_cell(s) for s in extras.get(None, [])]
    for cell in source.cells:
        meta = nbgrader_meta(cell)
        cell = copy.deepcopy(cell)
        if cell.cell_type == "code":
            cell.outputs = []
        else:
            cell.pop("outputs", None)
        if meta.get("solution"):
            cell.source = answers.get(meta["grade_id"], release_source(cell))
            new_cells.append(cell)
            new_cells += [nbformat.v4.new_code_cell(s) for s in extras.get(meta["grade_id"], [])]
            continue
        new_cells.append(cell)
    for i, cell in enumerate(new_cells):
        cell["id"] = f"graded-{i:03d}"
        if cell.cell_type == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    graded.cells = new_cells
    graded.metadata = copy.deepcopy(source.metadata)  # the instructor's kernelspec
    return graded
