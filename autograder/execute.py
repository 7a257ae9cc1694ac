"""nbgrader's Execute step with a cap on how much output a cell may produce.

A cell that prints without end would otherwise fill the grader's memory
before its timeout; past the cap, further output of that cell is dropped, a
note is kept, and the kernel is interrupted, so the cell fails at once.
"""

from __future__ import annotations

import asyncio
import json

from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer

TRUNCATED = "[output truncated by the grader: this cell printed more than {limit} bytes]"


class CappedExecute(Execute):
    """Execute with ``max_output_bytes`` of output per cell."""

    max_output_bytes = Integer(
        1_000_000, help="Largest output (bytes of text and data) kept for one cell"
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        self._cell_bytes = 0
        self._truncated = False
        return super().preprocess_cell(cell, resources, index)

    def output(self, outs, msg, display_id, cell_index):
        if self._truncated:
            return None
        try:
            size = len(json.dumps(msg.get("content", {})))
        except (TypeError, ValueError):
            size = 0
        self._cell_bytes += size
        if self._cell_bytes <= self.max_output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        self._truncated = True
        outs.append(
            new_output("stream", name="stderr", text=TRUNCATED.format(limit=self.max_output_bytes))
        )
        self._interrupt_task = asyncio.ensure_future(self._interrupt())
        return None

    async def _interrupt(self):
        try:
            await self.km.interrupt_kernel()
        except Exception as err:  # the kernel may already be gone
            self.log.warning("could not interrupt the kernel: %s", err)
