"""The judge and its runner in one process, for tests: the same messages, no kernel.

``loopback(namespace)`` gives a :class:`autograder.judge.Judge` whose runner
serves ``namespace`` (standing for a student's notebook) by direct calls; its
callbacks are answered by the judge directly too. Every value still crosses
as a message of :mod:`autograder.wire`, so what passes here passes the same
way over a kernel.
"""

from __future__ import annotations

import contextlib
import io

from autograder.judge import Judge
from autograder.runner import CALLBACK, Runner


def loopback(namespace: dict) -> tuple[Judge, Runner]:
    judge = None

    def ask(prompt: str) -> str:
        assert prompt.startswith(CALLBACK)
        return judge.answer_callback(prompt[len(CALLBACK) :])

    runner = Runner(namespace, ask=ask)

    def transport(text: str):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            reply = runner.respond(text)
        return reply, printed.getvalue()

    judge = Judge(transport)
    return judge, runner


def judge_notebook(path, seed: int = 12345, only=()) -> dict:
    """Run a solution notebook as a student would (its code cells in one namespace, hidden
    tests left out of the student's side) and judge every test cell over the loopback:
    grade_id -> Verdict. ``only`` limits the judged cells (the others still run)."""
    import nbformat

    from autograder.execute import judge_namespace
    from autograder.stage import (
        HIDDEN_BLOCK,
        HIDDEN_MARKERS,
        SOLUTION_MARKERS,
        is_test_cell,
        nbgrader_meta,
    )

    nb = nbformat.read(path, as_version=4)
    student: dict = {"__name__": "__main__"}
    judge, _ = loopback(student)
    setup = judge_namespace(nb, seed)
    verdicts = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = nbgrader_meta(cell)
        visible = SOLUTION_MARKERS.sub("", HIDDEN_BLOCK.sub("", cell.source))
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                exec(compile(visible, "<cell>", "exec"), student)
            except Exception:
                if not meta.get("grade"):
                    raise
        if is_test_cell(cell) and (not only or meta["grade_id"] in only):
            source = HIDDEN_MARKERS.sub("", cell.source)
            verdicts[meta["grade_id"]] = judge.run(source, setup, meta["grade_id"])
    return verdicts


if (
    __name__ == "__main__"
):  # python tests/judge_util.py solutions/a2_bptt/a2_bptt.ipynb [grade_id ...]
    import sys

    import matplotlib

    matplotlib.use("Agg")
    for grade_id, v in judge_notebook(sys.argv[1], only=sys.argv[2:]).items():
        print(
            f"{grade_id}: {'passed' if v.passed else 'FAILED'} ({v.calls} calls, {v.seconds:.2f} s)"
            + (f"\n    {v.message}" if v.message else "")
        )
