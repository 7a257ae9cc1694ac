"""What the graded run tells: the code its kernel ran is the submitted notebook's own, cell for
cell, so whether the notebook runs top to bottom needs no second run; and the graded notebook
runs each of the instructor's cells once, where it stands."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.sample import solution_notebook
from autograder.stage import (
    HIDDEN_BLOCK,
    build_graded_notebook,
    executed_code,
    nbgrader_meta,
    release_notebook,
)
from autograder.worker import runs_clean_from_graded_run

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir())


def source_of(assignment: str):
    return nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)


def kernel_code(graded) -> list[str]:
    """What JudgedExecute runs in the kernel: every code cell, test cells as released."""
    return [
        executed_code(HIDDEN_BLOCK.sub("", c.source))
        for c in graded.cells
        if c.cell_type == "code" and c.source.strip()
    ]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_graded_kernel_runs_exactly_the_code_of_an_untouched_notebook(assignment, tmp_path):
    source = source_of(assignment)
    for name, notebook in (
        ("solution", solution_notebook(source)),
        ("blank", release_notebook(source)),
    ):
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(notebook, path)
        graded = build_graded_notebook(
            ROOT / "solutions" / assignment / f"{assignment}.ipynb", path
        )
        run = {"ran": kernel_code(graded), "errors": []}
        told = runs_clean_from_graded_run(path, run)
        assert told is not None, (assignment, name)  # no second run needed
        code_cells = [c for c in notebook.cells if c.cell_type == "code" and c.source.strip()]
        assert told == (True, f"{len(code_cells)} passed (the graded run's cells)")


def test_instructor_cells_without_metadata_run_once_where_they_stand(tmp_path):
    source = source_of("a4_lstm_gru")  # has an optional cell of the instructor's, no metadata
    plain = [c.source for c in source.cells if c.cell_type == "code" and not nbgrader_meta(c)]
    assert plain, "a4 keeps an instructor's plain code cell (the optional GRU run)"
    path = tmp_path / "solution.ipynb"
    nbformat.write(solution_notebook(source), path)
    graded = build_graded_notebook(ROOT / "solutions" / "a4_lstm_gru" / "a4_lstm_gru.ipynb", path)
    sources = [c.source for c in graded.cells]
    for text in plain:
        assert sources.count(text) == 1  # not also as the student's "extra" cell
        assert sources.index(text) == [c.source for c in source.cells].index(text)


def _written(tmp_path: Path, sources: list[str]) -> Path:
    path = tmp_path / "submitted.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("words are not run"))
    nbformat.write(nb, path)
    return path


def test_errors_of_the_graded_run_say_the_notebook_does_not_run_clean(tmp_path):
    path = _written(tmp_path, ["x = 1  ", "\n\ny = x + 1\n", "z = missing", ""])
    run = {"ran": ["x = 1", "y = x + 1", "z = missing"], "errors": [[3, "NameError: missing"]]}
    assert runs_clean_from_graded_run(path, run) == (
        False,
        "1 failed, 2 passed (the graded run's cells; the first, cell 3: NameError: missing)",
    )
    clean = {"ran": run["ran"], "errors": []}
    assert runs_clean_from_graded_run(path, clean) == (True, "3 passed (the graded run's cells)")


@pytest.mark.parametrize(
    "sources",
    [
        ["x = 1", "y = x + 1"],  # a cell deleted
        ["x = 1", "y = x + 2", "z = missing"],  # a cell changed
        ["y = x + 1", "x = 1", "z = missing"],  # cells moved
        ["x = 1", "y = x + 1", "# NBVAL_RAISES_EXCEPTION\nz = missing"],  # nbval's markers
    ],
)
def test_where_the_graded_run_ran_other_code_only_a_second_run_can_tell(tmp_path, sources):
    path = _written(tmp_path, sources)
    run = {"ran": ["x = 1", "y = x + 1", "z = missing"], "errors": []}
    if "NBVAL" in sources[-1]:
        run["ran"][-1] = executed_code(sources[-1])
    assert runs_clean_from_graded_run(path, run) is None


def test_no_record_of_the_run_or_an_unreadable_notebook_leaves_it_to_a_second_run(tmp_path):
    path = _written(tmp_path, ["x = 1"])
    assert runs_clean_from_graded_run(path, {}) is None
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    assert runs_clean_from_graded_run(broken, {"ran": ["x = 1"], "errors": []}) is None
