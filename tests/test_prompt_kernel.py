"""The grader's kernel manager and client (autograder.execute): ready as soon as the kernel
is, gone as soon as it is killed, and nothing lost for it. Real IPython kernels."""

from __future__ import annotations

import json
import os
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.execute import PromptKernelClient, PromptKernelManager
from autograder.feedback import prime_feedback_page


def client_for(notebook, tmp_path, transport: str) -> NotebookClient:
    client = NotebookClient(
        notebook,
        kernel_manager_class=PromptKernelManager,
        shutdown_kernel="immediate",
        timeout=30,
    )
    if transport == "ipc":  # as the grader runs its kernels: Unix sockets in a folder
        client.km = PromptKernelManager(transport="ipc", ip=str(tmp_path / "kernel"))
    return client


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_the_first_cell_output_of_a_fresh_kernel_is_never_lost(tmp_path, transport):
    """Ready means both channels are connected: a first cell's prints go out on IOPub, and
    a client declared ready before IOPub was connected would lose them."""
    for k in range(4):
        notebook = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(f"print('first {k}')\n{k} * 10")]
        )
        client = client_for(notebook, tmp_path, transport)
        with client.setup_kernel():
            assert isinstance(client.kc, PromptKernelClient)
            client.execute_cell(notebook.cells[0], 0)
        outputs = notebook.cells[0].outputs
        assert [o.get("text") for o in outputs if o.output_type == "stream"] == [f"first {k}\n"]
        results = [o.data["text/plain"] for o in outputs if o.output_type == "execute_result"]
        assert results == [str(k * 10)]


def test_a_killed_kernel_is_reaped_before_the_client_is_done(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os; os.getpid()")])
    client = client_for(notebook, tmp_path, "tcp")
    with client.setup_kernel():
        client.execute_cell(notebook.cells[0], 0)
        pid = int(notebook.cells[0].outputs[0].data["text/plain"])
        os.kill(pid, 0)  # there
    with pytest.raises(ProcessLookupError):  # not even a zombie: killed, waited for
        os.kill(pid, 0)


def test_a_kernel_that_dies_before_it_answers_is_reported_not_waited_for(tmp_path, monkeypatch):
    spec = tmp_path / "jupyter" / "kernels" / "dies"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-c", "raise SystemExit(3)", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    client = NotebookClient(
        notebook,
        kernel_name="dies",
        kernel_manager_class=PromptKernelManager,
        startup_timeout=600,  # reported at once all the same
    )
    with pytest.raises(RuntimeError, match="Kernel died before replying to kernel_info"):
        with client.setup_kernel():
            pass


def test_the_primed_feedback_page_goes_through_what_a_student_page_does():
    """The warm worker's sample page uses nbgrader's feedback template with its scores and
    comments, Markdown, and every kind of output a graded notebook has."""
    page = prime_feedback_page()
    assert "<b>Comments:</b> <p><em>Close</em></p>" in page  # a comment, Markdown to HTML
    assert "Score: 0.5 / 1.0" in page  # nbgrader's feedback template, not the classic one
    assert "<h1" in page and "A title" in page
    assert 'alt="a plot" src="data:image/png;base64,iVBOR' in page
    assert '<span class="ansi-red-fg">no</span>' in page  # an error's traceback, colours kept
    assert "<pre>a line\n</pre>" in page
