"""What a student may see of a graded notebook: never a hidden test.

A graded notebook holds the instructor's test cells with their hidden tests
(their outputs are the judge's verdicts). :func:`student_view` keeps the student's
answers and their outputs, shows each test cell as it was released, with a
line saying where hidden tests ran, and cuts error tracebacks to their
message (a traceback quotes the failing test line). Outputs a browser would
run (JavaScript, SVG, HTML, Markdown) become plain text, and
:func:`harden_html` takes every script and event handler out of the page and
adds a Content-Security-Policy: a student's output cannot run code in the
browser of whoever opens the feedback.

The same step runs inside nbgrader's own ``generate_feedback``
(:class:`HideHiddenTests`, set in ``nbgrader_config.py``), so feedback made by
any route carries no hidden test.
"""

from __future__ import annotations

import copy
import re

from nbconvert.preprocessors import Preprocessor

from .stage import HIDDEN_BLOCK, HIDDEN_MARKERS, nbgrader_meta

HIDDEN_NOTE = "\n# (hidden tests ran here; their code is not shown)"
# Outputs a browser would run or render as a page: a student's code produces them at will.
ACTIVE_OUTPUTS = ("application/javascript", "image/svg+xml", "text/markdown")
# Nothing in a feedback page runs: no script, no remote resource, styles and images inline only.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "form-action 'none'; base-uri 'none'"
)


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
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            for kind in [k for k in data if k in ACTIVE_OUTPUTS or k.startswith("application/vnd")]:
                del data[kind]
            if "text/html" in data:  # shown as the text it is, not as a page
                data.setdefault("text/plain", re.sub(r"<[^>]*>", "", data["text/html"]))
                del data["text/html"]
            if not data and out.get("output_type") in ("display_data", "execute_result"):
                data["text/plain"] = "(output removed: it was active content)"
        kept.append(cell)
    notebook.cells = kept
    return notebook


SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.S | re.I)
EVENT_ATTRIBUTE = re.compile(r"""\s+on[a-z]+\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.I)


def harden_html(page: str) -> str:
    """A feedback page that runs nothing: scripts and event handlers removed, and a
    Content-Security-Policy that forbids scripts and remote resources."""
    page = SCRIPT.sub("", page)
    page = re.sub(r"<[a-zA-Z][^>]*>", lambda tag: EVENT_ATTRIBUTE.sub("", tag[0]), page)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
    head = re.search(r"<head[^>]*>", page, re.I)
    if head:
        return page[: head.end()] + meta + page[head.end() :]
    return meta + page


def harden_file(path) -> None:
    from pathlib import Path

    path = Path(path)
    path.write_text(harden_html(path.read_text(encoding="utf-8")), encoding="utf-8")


# a one-pixel PNG: the sample page of prime_feedback_page shows an image as plots do
PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAA"
    "BJRU5ErkJggg=="
)


def prime_feedback_page() -> str:
    """Render a sample feedback page as nbgrader's ``generate_feedback`` renders a student's
    (its ``feedback`` template, HTML sanitized as the grader configures it).

    A warm worker (:mod:`autograder.warm`) does this once, so that every grader it forks
    finds compiled what each page would otherwise compile again: the templates' and the
    Markdown parser's regular expressions and the page's CSS selectors. Returns the page.
    """
    from nbconvert.exporters import HTMLExporter
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.sanitize_html = True
    app = GenerateFeedback(coursedir=CourseDirectory(), config=config)
    exporter = HTMLExporter(parent=app, config=app.config)
    exporter.register_preprocessor(CSSHTMLHeaderPreprocessor, enabled=True)
    answer = {"solution": True, "grade": False, "grade_id": "answer", "comment": "*Close*"}
    test = {"grade": True, "solution": False, "grade_id": "check", "points": 1, "score": 0.5}
    outputs = [
        new_output("stream", name="stdout", text="a line\n"),
        new_output("execute_result", data={"text/plain": "0.5"}, execution_count=1),
        new_output(
            "display_data",
            data={"image/png": PIXEL, "text/plain": "<Figure>"},
            metadata={"image/png": {"alt": "a plot"}},  # none would be a logged warning
        ),
        new_output("error", ename="AssertionError", evalue="no", traceback=["\x1b[31mno\x1b[0m"]),
    ]
    notebook = new_notebook(
        cells=[
            new_markdown_cell("# A title\n\nSome *text*, `code`, $x^2$ and a [link](#check)."),
            new_code_cell("def f(x):\n    return x", metadata={"nbgrader": answer}),
            new_code_cell("print(f(1))", outputs=outputs, metadata={"nbgrader": test}),
        ],
        metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}},
    )
    resources = {"nbgrader": {"score": 0.5, "max_score": 1, "late_penalty": 0}}
    page, _ = exporter.from_notebook_node(notebook, resources)
    return page


class HideHiddenTests(Preprocessor):
    """nbgrader's ``generate_feedback`` step that removes hidden tests (see the module doc)."""

    def preprocess(self, nb, resources):
        return student_view(nb), resources
