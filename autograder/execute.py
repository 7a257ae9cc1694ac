"""nbgrader's Execute step with caps on output, and no waiting on a kernel that is gone.

A cell that prints without end would otherwise fill the grader's memory
before its timeout; past the cap, further output of that cell is dropped, a
note is kept, and the kernel is interrupted, so the cell fails at once. Past
a cap for the whole notebook, outputs are dropped (the cells still run).

A kernel that stops answering (its sockets closed, say) would make every
later cell wait for its own timeout; after a cell times out, the kernel is
asked for its info, and if it does not answer the notebook stops there.
"""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer, Unicode

from .judge import MAX_PRINTED, CallTimeout
from .sandbox import lock_workdir
from .stage import HIDDEN_BLOCK, HIDDEN_MARKERS, nbgrader_meta

TRUNCATED = "[output truncated by the grader: this cell printed more than {limit} bytes]"
NOTEBOOK_CAPPED = "[output removed by the grader: the notebook printed more than {limit} bytes]"
STOPPED_ANSWERING = "the kernel stopped answering after a cell timed out"


class CappedExecute(Execute):
    """Execute with ``max_output_bytes`` of output per cell."""

    max_output_bytes = Integer(
        1_000_000, help="Largest output (bytes of text and data) kept for one cell"
    ).tag(config=True)

    max_notebook_output_bytes = Integer(
        5_000_000, help="Largest output kept for the whole notebook"
    ).tag(config=True)
    lock_folder = Unicode(
        "", help="The kernel's bound folder, closed to it once it has started"
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if self.lock_folder and not getattr(self, "_locked", False):
            lock_workdir(Path(self.lock_folder))  # its sockets exist: nothing more to write
            self._locked = True
        self._cell_bytes = 0
        self._truncated = False
        cell, resources = super().preprocess_cell(cell, resources, index)
        timed_out = any(out.get("ename") == "CellTimeoutError" for out in cell.get("outputs", []))
        if timed_out and not self._answers():
            raise DeadKernelError(STOPPED_ANSWERING)
        return cell, resources

    async def _kernel_info(self, seconds: float):
        return await self.kc.kernel_info(reply=True, timeout=seconds)

    def _answers(self, seconds: float = 10.0) -> bool:
        try:
            run_sync(self._kernel_info)(seconds)
            return True
        except Exception as err:  # no reply in time, or the channel is gone
            self.log.warning("the kernel did not answer: %r", err)
            return False

    def output(self, outs, msg, display_id, cell_index):
        if self._truncated:
            return None
        try:
            size = len(json.dumps(msg.get("content", {})))
        except (TypeError, ValueError):
            size = 0
        self._cell_bytes += size
        if self._cell_bytes > self.max_output_bytes:  # this cell: cut, and stop it at once
            self._truncated = True
            text = TRUNCATED.format(limit=self.max_output_bytes)
            outs.append(new_output("stream", name="stderr", text=text))
            self._interrupt_task = asyncio.ensure_future(self._interrupt())
            return None
        kept = getattr(self, "_notebook_bytes", 0)
        if kept + size > self.max_notebook_output_bytes:  # the cells still run
            note = NOTEBOOK_CAPPED.format(limit=self.max_notebook_output_bytes)
            if not any(note in o.get("text", "") for o in outs):
                outs.append(new_output("stream", name="stderr", text=note))
            return None
        self._notebook_bytes = kept + size
        return super().output(outs, msg, display_id, cell_index)

    async def _interrupt(self):
        try:
            await self.km.interrupt_kernel()
        except Exception as err:  # the kernel may already be gone
            self.log.warning("could not interrupt the kernel: %s", err)


JUDGED_NOTE = "judged by the grader: {calls} calls into your code, all checks passed\n"
JUDGE_LOG = "judged {label}: {calls} calls in {seconds:.2f} s, passed={passed}"


class JudgedExecute(CappedExecute):
    """Run the student's notebook in its kernel; judge every test cell in this process.

    Each test cell runs twice. In the kernel it runs as released (visible
    tests only), so the notebook's later cells see what they would have seen;
    its outputs there decide nothing and are dropped. Then the judge
    (:mod:`autograder.judge`) runs the cell with its hidden tests here, and the
    cell's outputs become the judge's: what the student's code printed while
    it was called, then a line saying the checks passed, or an error saying
    which check failed. nbgrader's own grading step reads exactly those.
    """

    judge_seed = Integer(0, help="Seed of the hidden tests' inputs (fresh for every run)").tag(
        config=True
    )

    def preprocess(self, nb, resources=None, km=None):
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        from .judge import Judge, Verdict

        namespace = judge_namespace(nb, self.judge_seed)
        with self.setup_kernel():
            info = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            judge = self._judge = Judge(self._transport)
            self._runner_ready = False
            for index, cell in enumerate(self.nb.cells):
                if not _is_test_cell(cell):
                    self.preprocess_cell(cell, resources, index)
                    continue
                visible = copy.deepcopy(cell)
                visible.source = HIDDEN_BLOCK.sub("", cell.source)
                self.nb.cells[index] = visible
                try:
                    self.preprocess_cell(visible, resources, index)
                finally:
                    self.nb.cells[index] = cell
                cell.execution_count = visible.get("execution_count")
                label = nbgrader_meta(cell).get("grade_id", f"cell {index}")
                if any(o.get("ename") == "CellTimeoutError" for o in visible.get("outputs", [])):
                    message = f"CellTimeoutError: the cell ran longer than {self.timeout} s"
                    cell.outputs = verdict_outputs(Verdict(False, message))
                    continue  # judged: its released tests alone do not finish
                source = HIDDEN_MARKERS.sub("", cell.source)
                verdict = judge.run(source, namespace, label)
                cell.outputs = verdict_outputs(verdict)
                self.log.info(JUDGE_LOG.format(label=label, **vars(verdict)))
        self.set_widgets_metadata()
        return self.nb, self.resources

    # ------------------------------------------------------------------ transport
    def _transport(self, text: str):
        if not self._runner_ready:
            self._execute_quietly(runner_install_code())
            self._runner_ready = True
        reply, printed = self._execute_quietly(f"__course_judge__.serve({text!r})")
        if reply is None:  # the student may have removed the runner: install it once more
            self._execute_quietly(runner_install_code())
            reply, more = self._execute_quietly(f"__course_judge__.serve({text!r})")
            printed += more
        return reply, printed

    def _execute_quietly(self, code: str):
        return run_sync(self._async_execute_quietly)(code)

    async def _async_execute_quietly(self, code: str):
        """Run ``code`` in the kernel outside the notebook: (the runner's reply, printed text)."""
        import time

        import zmq
        import zmq.asyncio

        from .runner import CALLBACK, MIME

        msg_id = self.kc.execute(code, store_history=False, allow_stdin=True, stop_on_error=False)
        iopub, stdin = self.kc.iopub_channel.socket, self.kc.stdin_channel.socket
        poller = zmq.asyncio.Poller()
        poller.register(iopub, zmq.POLLIN)
        poller.register(stdin, zmq.POLLIN)
        deadline = time.monotonic() + self.timeout
        reply, printed, size = None, [], 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                await self._interrupt()
                try:
                    await self._kernel_info(10.0)
                except Exception:  # no reply in time, or the channel is gone
                    raise DeadKernelError(STOPPED_ANSWERING) from None
                raise CallTimeout(f"your code ran longer than {self.timeout} s")
            ready = dict(await poller.poll(timeout=min(remaining, 5) * 1000))
            if stdin in ready:  # the student's code calls a function of the judge's
                request = await self.kc.get_stdin_msg(timeout=1)
                if request["msg_type"] == "input_request":
                    prompt = str(request["content"].get("prompt", ""))
                    answer = ""
                    if prompt.startswith(CALLBACK):
                        answer = self._judge.answer_callback(prompt[len(CALLBACK) :])
                    self.kc.input(answer)
            if iopub not in ready:
                if not ready and not await self.km.is_alive():
                    raise DeadKernelError("the kernel died while the grader called it")
                continue
            msg = await self.kc.get_iopub_msg(timeout=1)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                break
            if kind == "stream":
                text = str(content.get("text", ""))
                size += len(text)
                printed.append(text)
                if size > self.max_output_bytes:  # stop it at once, as for a notebook cell
                    await self._interrupt()
                    printed.append("\n" + TRUNCATED.format(limit=self.max_output_bytes))
                    return None, "".join(printed)[-MAX_PRINTED:]
            elif kind in ("display_data", "execute_result"):
                data = content.get("data", {})
                if reply is None and isinstance(data.get(MIME), str):
                    reply = data[MIME]
        await self._take_shell_reply(msg_id, deadline)
        return reply, "".join(printed)

    async def _take_shell_reply(self, msg_id: str, deadline: float) -> None:
        """Read the execute reply of a quiet execution off the shell channel: left there,
        thousands of them would fill its queue, and the kernel's next replies would be dropped."""
        import queue
        import time

        while True:
            try:
                timeout = max(0.1, deadline - time.monotonic())
                msg = await self.kc.get_shell_msg(timeout=timeout)
            except queue.Empty:
                return
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return


def _is_test_cell(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def verdict_outputs(verdict) -> list:
    """The outputs of a judged test cell: the student's printed text, then the verdict."""
    outputs = []
    if verdict.printed:
        outputs.append(new_output("stream", name="stdout", text=verdict.printed))
    if verdict.passed:
        note = JUDGED_NOTE.format(calls=verdict.calls)
        outputs.append(new_output("stream", name="stdout", text=note))
    else:
        name, _, message = verdict.message.partition(": ")
        if not message:
            name, message = "Failed", verdict.message
        outputs.append(new_output("error", ename=name, evalue=message, traceback=[verdict.message]))
    return outputs


def runner_install_code() -> str:
    """Code that defines the runner in the kernel: wire.py's source, then runner.py's."""
    here = Path(__file__).parent
    source = (here / "wire.py").read_text() + "\n" + (here / "runner.py").read_text()
    return (
        "def __course_judge_install(source):\n"
        "    namespace = {'__name__': 'course_judge_runner'}\n"
        "    exec(compile(source, '<course judge runner>', 'exec'), namespace)\n"
        "    shell = get_ipython()\n"
        "    shell.user_ns['__course_judge__'] = namespace['Runner'](shell.user_ns)\n"
        f"__course_judge_install({source!r})\n"
        "del __course_judge_install\n"
    )


def judge_namespace(nb, seed: int) -> dict:
    """The judge's names: the instructor's setup cells (the locked code cells before the first
    answer), run here on the real course_pkg, with the hidden tests' inputs seeded by ``seed``."""
    import course_pkg.checks

    course_pkg.checks.set_run_seed(seed)
    namespace: dict = {"__name__": "__judge__"}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") or meta.get("grade"):
            break
        if cell.cell_type == "code" and meta.get("locked"):
            exec(compile(cell.source, "<setup>", "exec"), namespace)
    return namespace
