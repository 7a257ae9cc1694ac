"""What a student may see of a graded notebook: never a hidden test.

A graded notebook holds the instructor's test cells with their hidden tests,
and the grader's own guard cells. :func:`student_view` keeps the student's
answers and every output, shows each test cell as it was released, with a
line saying where hidden tests ran, and cuts error tracebacks to their
message (a traceback quotes the failing test line).

The same step runs inside nbgrader's own ``generate_feedback``
(:class:`HideHiddenTests`, set in ``nbgrader_config.py``), so feedback made by
any route carries no hidden test.
"""

from __future__ import annotations

import copy

from nbconvert.preprocessors import Preprocessor

from .stage import HIDDEN_BLOCK, HIDDEN_MARKERS, nbgrader_meta

HIDDEN_NOTE = "\n# (hidden tests ran here; their code is not shown)"
GUARD_PREFIX = "__course_guard_"  # the grader's guard and restore cells (autograder.guard)


def student_view(autograded, release=None):
    """A copy of ``autograded`` fit for the student.

    ``release`` is the notebook as released; its test cells are shown. Without
    it, the hidden-test blocks are cut out of the graded cells by their markers.
    """
    visible = None
    if release is not None:
        visible = {nbgrader_meta(c).get("grade_id"): c.source for c in release.cells}
    notebook = copy.deepcopy(autograded)
    kept = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and GUARD_PREFIX in cell.source:
            continue  # the grader's cells, not the student's
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            hidden = HIDDEN_BLOCK.findall(cell.source)
            shown = HIDDEN_BLOCK.sub("", cell.source)
            if visible is not None:
                shown = visible.get(meta.get("grade_id"), "")
            cell.source = HIDDEN_MARKERS.sub("", shown) + (HIDDEN_NOTE if hidden else "")
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
        kept.append(cell)
    notebook.cells = kept
    return notebook


class HideHiddenTests(Preprocessor):
    """nbgrader's ``generate_feedback`` step that removes hidden tests (see the module doc)."""

    def preprocess(self, nb, resources):
        return student_view(nb), resources
