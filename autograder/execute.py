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
import json
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer, Unicode

from .guard import GUARD_PREFIX
from .sandbox import lock_workdir

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
        graders = self.nb.cells[cell_index].source.startswith(GUARD_PREFIX)
        if kept + size > self.max_notebook_output_bytes and not graders:  # the cells still run
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
