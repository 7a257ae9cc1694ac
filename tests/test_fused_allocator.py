"""The fused kernels keep a training step's freed memory: no page faults step after step.

``course_pkg._fused._allocator`` raises glibc's mmap and trim thresholds the
first time a kernel runs, so the megabytes a step frees are reused by the
next step instead of being returned to the kernel and faulted back in, page
by page. A page-fault count is a count, not a timing, so it can be asserted.
"""

import json
import os
import platform
import subprocess
import sys

import pytest

from course_pkg._fused._allocator import USER_SETTINGS, user_configured_malloc

GLIBC = platform.libc_ver()[0] == "glibc"

# A fresh process (torch never imported, as in a user's notebook) runs one training step
# of each cell at the benchmark's main size to warm up, then counts the next step's faults.
PROBE = """
import json, resource
import numpy as np
from course_pkg._fused import gru, lstm, rnn
from course_pkg._fused._allocator import keep_freed_memory

rng = np.random.default_rng(0)
N, T, D, H = 64, 50, 128, 128
x = rng.standard_normal((N, T, D)).astype(np.float32)
h0 = np.zeros((N, H), dtype=np.float32)
dh = rng.standard_normal((N, T, H)).astype(np.float32)

def weights(*shapes):
    return [(0.1 * rng.standard_normal(s)).astype(np.float32) for s in shapes]

steps = {
    "rnn": (rnn.rnn_forward, rnn.rnn_backward, weights((D, H), (H, H), (H,))),
    "lstm": (lstm.lstm_forward, lstm.lstm_backward, weights((D, 4 * H), (H, 4 * H), (4 * H,))),
    "gru": (gru.gru_forward, gru.gru_backward,
            weights((D, 3 * H), (H, 3 * H), (3 * H,), (3 * H,))),
}
faults = {}
for cell, (forward, backward, params) in steps.items():
    def step():
        _, cache = forward(x, h0, *params)
        return backward(dh, cache)
    step()  # warm-up: the first step gets its memory from the kernel
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    step()
    faults[cell] = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"faults": faults, "kept": keep_freed_memory()}))
"""


def second_step_faults(**env_changes) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in USER_SETTINGS}
    env.pop("GLIBC_TUNABLES", None)
    env.update(env_changes)
    run = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(run.stdout)


@pytest.mark.skipif(not GLIBC, reason="the allocator setting is for glibc's malloc")
def test_a_training_step_after_the_first_takes_almost_no_page_faults():
    result = second_step_faults()
    assert result["kept"] is True
    for cell, faults in result["faults"].items():
        assert faults < 50, f"{cell}: {faults} page faults in the second training step"


@pytest.mark.skipif(not GLIBC, reason="the allocator setting is for glibc's malloc")
def test_without_the_setting_the_same_step_faults_its_memory_back():
    # the control: malloc configured by the user (a harmless tunable), so course_pkg leaves
    # it alone; glibc's defaults then hand the LSTM's and GRU's large arrays back every step
    result = second_step_faults(GLIBC_TUNABLES="glibc.malloc.check=0")
    assert result["kept"] is False
    assert result["faults"]["lstm"] > 500
    assert result["faults"]["gru"] > 500


def test_a_user_configured_malloc_is_left_alone():
    assert not user_configured_malloc({})
    assert not user_configured_malloc({"GLIBC_TUNABLES": "glibc.pthread.rseq=0"})
    assert user_configured_malloc({"MALLOC_TOP_PAD_": "0"})
    assert user_configured_malloc({"MALLOC_MMAP_THRESHOLD_": "131072"})
    assert user_configured_malloc({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"})
