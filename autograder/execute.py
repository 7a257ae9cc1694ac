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
import queue
import time
from pathlib import Path

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import DottedObjectName, Integer, Type, Unicode

from .judge import TRUNCATED, CallTimeout, Judge, Verdict
from .runner import CALLBACK, LOOP, STOP
from .sandbox import lock_workdir
from .stage import ANSI, HIDDEN_BLOCK, HIDDEN_MARKERS, executed_code, is_test_cell, nbgrader_meta

NOTEBOOK_CAPPED = "[output removed by the grader: the notebook printed more than {limit} bytes]"
STOPPED_ANSWERING = "the kernel stopped answering after a cell timed out"
# where JudgedExecute leaves, in the graded notebook's metadata, what the worker takes out
# again: "seconds" spent starting the kernel, running the cells in it and judging the test
# cells; "ran", the code the kernel ran, cell by cell; "errors", [cell index, message] of
# each cell whose run in the kernel ended in an error
RUN_KEY = "autograder_run"


class PromptKernelClient(AsyncKernelClient):
    """jupyter_client's kernel client, ready as soon as the kernel is.

    jupyter_client's client is ready once the kernel has answered a ``kernel_info``
    request, and then it listens to IOPub until 0.2 s pass without a message: every kernel
    start took 0.2 s more than the kernel did. This one is ready once the kernel has
    answered one of its ``kernel_info`` requests on the shell channel and IOPub has carried
    the ``idle`` status that ends one: both channels are connected. Until then it asks
    again every 0.1 s (a status sent before IOPub was connected is lost).

    Its sockets also try to connect every 10 ms, not ZeroMQ's 100 ms: they are made before
    the kernel has made the Unix sockets they connect to.
    """

    def _context_default(self) -> zmq.asyncio.Context:
        context = super()._context_default()
        context.setsockopt(zmq.RECONNECT_IVL, 10)  # for every socket made in it (ms)
        return context

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        requests, replied, idle = set(), False, False
        while not (replied and idle):
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} s")
            requests.add(self.kernel_info())
            until = time.monotonic() + 0.1
            while not (replied and idle) and time.monotonic() < until:
                if not replied:
                    try:
                        reply = await self.shell_channel.get_msg(timeout=0.01)
                    except queue.Empty:
                        pass
                    else:
                        if reply["parent_header"].get("msg_id") in requests:
                            self._handle_kernel_info_reply(reply)
                            replied = True
                try:
                    message = await self.iopub_channel.get_msg(timeout=0.01)
                except queue.Empty:
                    continue
                idle = idle or (
                    message["parent_header"].get("msg_id") in requests
                    and message["msg_type"] == "status"
                    and message["content"].get("execution_state") == "idle"
                )


class PromptKernelManager(AsyncKernelManager):
    """jupyter_client's kernel manager, prompt to start and to stop a kernel.

    Its clients are :class:`PromptKernelClient`. And once it has sent SIGKILL,
    jupyter_client's manager looks whether the process is still there every 0.1 s, the
    first look coming before the kernel has died: every kernel stop took 0.1 s. This one
    looks every 5 ms.
    """

    client_class = DottedObjectName("autograder.execute.PromptKernelClient")
    client_factory = Type(PromptKernelClient, klass=AsyncKernelClient)

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        await super()._async_wait(pollinterval=min(pollinterval, 0.005))


class CappedExecute(Execute):
    """Execute with ``max_output_bytes`` of output per cell."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", PromptKernelManager)  # nbgrader sets its own
        super().__init__(*args, **kwargs)

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

        namespace = judge_namespace(nb, self.judge_seed)
        spent = {"kernel_start": 0.0, "cells": 0.0, "judge": 0.0}  # seconds (see RUN_KEY)
        self._ran, self._errors = [], []
        mark = time.perf_counter()
        with self.setup_kernel():
            info = self.wait_for_reply(self.kc.kernel_info())
            spent["kernel_start"] = time.perf_counter() - mark
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            judge = self._judge = Judge(self._transport, fatal=(DeadKernelError,))
            self._runner_ready, self._loop = False, None
            for index, cell in enumerate(self.nb.cells):
                mark = time.perf_counter()
                if cell.cell_type == "code" and cell.source.strip():  # what nbclient runs
                    self._ran.append(executed_code(HIDDEN_BLOCK.sub("", cell.source)))
                if not is_test_cell(cell):
                    self.preprocess_cell(cell, resources, index)
                    spent["cells"] += time.perf_counter() - mark
                    continue
                visible = copy.deepcopy(cell)
                visible.source = HIDDEN_BLOCK.sub("", cell.source)
                self.nb.cells[index] = visible
                try:
                    self.preprocess_cell(visible, resources, index)
                finally:
                    self.nb.cells[index] = cell
                    spent["cells"] += time.perf_counter() - mark
                cell.execution_count = visible.get("execution_count")
                label = nbgrader_meta(cell).get("grade_id", f"cell {index}")
                if any(o.get("ename") == "CellTimeoutError" for o in visible.get("outputs", [])):
                    message = f"CellTimeoutError: the cell ran longer than {self.timeout} s"
                    cell.outputs = verdict_outputs(Verdict(False, message))
                    continue  # judged: its released tests alone do not finish
                source = HIDDEN_MARKERS.sub("", cell.source)
                mark = time.perf_counter()
                try:
                    verdict = judge.run(source, namespace, label)
                finally:
                    self._end_loop()
                    spent["judge"] += time.perf_counter() - mark
                cell.outputs = verdict_outputs(verdict)
                self.log.info(JUDGE_LOG.format(label=label, **vars(verdict)))
            mark = time.perf_counter()
        spent["kernel_stop"] = time.perf_counter() - mark
        self.set_widgets_metadata()
        self.nb.metadata[RUN_KEY] = {"seconds": spent, "ran": self._ran, "errors": self._errors}
        return self.nb, self.resources

    def on_cell_executed(self, **kwargs):
        """nbgrader's hook, and a note of each cell whose run in the kernel failed (from its
        reply, which a cut output cannot hide; a timeout's reply is an error too)."""
        super().on_cell_executed(**kwargs)
        content = kwargs["execute_reply"]["content"]
        if content.get("status") == "error":
            message = f"{content.get('ename', '')}: {content.get('evalue', '')}".strip(": ")
            self._errors.append([kwargs["cell_index"], ANSI.sub("", message)[:200]])

    # ------------------------------------------------------------------ transport
    # The judge's requests go to the runner's serve loop (runner.Runner.serve_loop): one
    # execution per test cell that reads each request as the answer to an input() prompt and
    # puts its reply in its next prompt, so a call is two messages on the stdin channel.

    def _transport(self, text: str):
        return run_sync(self._async_transport)(text)

    async def _async_transport(self, text: str):
        printed = ""
        if self._loop is None:
            for _ in range(2):  # the student may have removed the runner: install it once more
                if not self._runner_ready:
                    await self._async_execute_quietly(runner_install_code())
                    self._runner_ready = True
                started, printed = await self._start_loop()
                if started:
                    break
                self._runner_ready = False
            else:
                return None, printed
        self.kc.input(text)
        reply, more = await self._next_prompt()
        return reply, printed + more

    async def _start_loop(self):
        self._loop = self.kc.execute(
            "__course_judge__.serve_loop()", store_history=False, allow_stdin=True
        )
        first, printed = await self._next_prompt()
        return first == "" and self._loop is not None, printed

    def _end_loop(self) -> None:
        if self._loop is not None:
            run_sync(self._async_end_loop)()

    async def _async_end_loop(self) -> None:
        self.kc.input(STOP)
        await self._next_prompt(until_idle=True, seconds=10.0)  # and its reply is taken
        self._loop = None

    async def _next_prompt(self, until_idle: bool = False, seconds: float | None = None):
        """Wait for the runner's next prompt (its reply to the last request; answering the
        student's code's callbacks meanwhile): (the reply, or None if the loop ended; what the
        student's code printed). ``until_idle``: wait for the loop's execution to end."""

        iopub, stdin = self.kc.iopub_channel.socket, self.kc.stdin_channel.socket
        poller = zmq.asyncio.Poller()
        poller.register(iopub, zmq.POLLIN)
        poller.register(stdin, zmq.POLLIN)
        deadline = time.monotonic() + (self.timeout if seconds is None else seconds)
        printed, size, interrupted, truncated = [], 0, False, False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if interrupted:
                    raise DeadKernelError(STOPPED_ANSWERING)
                await self._interrupt()  # the loop goes on: it catches the interruption
                interrupted, deadline = True, time.monotonic() + 10.0
                continue
            ready = dict(await poller.poll(timeout=min(remaining, 5) * 1000))
            if stdin in ready:
                request = await self._message(self.kc.get_stdin_msg)
                if request is not None and request["msg_type"] == "input_request":
                    prompt = str(request["content"].get("prompt", ""))
                    if prompt.startswith(LOOP) and not until_idle:
                        if truncated:  # stopped for its output: the reply is the interruption
                            return None, "".join(printed)
                        if interrupted:
                            raise CallTimeout(f"your code ran longer than {self.timeout} s")
                        printed += await self._printed_so_far(iopub)  # sent before the prompt
                        return prompt[len(LOOP) :], "".join(printed)
                    if prompt.startswith(CALLBACK):
                        self.kc.input(self._judge.answer_callback(prompt[len(CALLBACK) :]))
                    else:  # the student's own input(), or a prompt after STOP
                        self.kc.input(STOP if prompt.startswith(LOOP) else "")
            if iopub not in ready:
                if not ready and not await self.km.is_alive():
                    raise DeadKernelError("the kernel died while the grader called it")
                continue
            msg = await self._message(self.kc.get_iopub_msg)
            if msg is None or msg.get("parent_header", {}).get("msg_id") != self._loop:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                loop, self._loop = self._loop, None  # over (stopped, or the runner is gone)
                await self._take_shell_reply(loop, time.monotonic() + 5)
                if interrupted and not truncated and not until_idle:
                    raise CallTimeout(f"your code ran longer than {self.timeout} s")
                return None, "".join(printed)
            if kind == "stream" and not until_idle:
                text = str(content.get("text", ""))
                size += len(text)
                printed.append(text)
                if size > self.max_output_bytes and not interrupted:  # stop it at once
                    await self._interrupt()
                    printed.append("\n" + TRUNCATED.format(limit=self.max_output_bytes))
                    interrupted = truncated = True
                    deadline = time.monotonic() + 10.0

    async def _printed_so_far(self, iopub) -> list[str]:
        """The serve loop's stream output already waiting on the iopub channel."""
        printed = []
        while await iopub.poll(0):
            msg = await self._message(self.kc.get_iopub_msg)
            if msg is not None and msg.get("parent_header", {}).get("msg_id") == self._loop:
                if msg["msg_type"] == "stream":
                    printed.append(str(msg["content"].get("text", "")))
        return printed

    async def _async_execute_quietly(self, code: str):
        """Run ``code`` in the kernel outside the notebook (installing the runner)."""

        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = await self._message(self.kc.get_iopub_msg)
            if msg is None:
                if not await self.km.is_alive():
                    raise DeadKernelError("the kernel died while the grader called it")
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                break
        await self._take_shell_reply(msg_id, deadline)

    async def _message(self, receive):
        """The next message of a channel, or None for one that is not a valid message of the
        session (the kernel is the student's: it may send anything)."""
        try:
            return await receive(timeout=1)
        except (ValueError, KeyError, TypeError, queue.Empty) as err:
            self.log.warning("ignored a message the kernel sent: %r", err)
            return None

    async def _take_shell_reply(self, msg_id: str, deadline: float) -> None:
        """Read the execute reply of a quiet execution off the shell channel: left there,
        thousands of them would fill its queue, and the kernel's next replies would be dropped."""
        while True:
            try:
                timeout = max(0.1, deadline - time.monotonic())
                msg = await self.kc.get_shell_msg(timeout=timeout)
            except queue.Empty:
                return
            except (ValueError, KeyError, TypeError):  # not a valid message: skip it
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return


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
