"""Keep freed memory in the process: glibc's allocator, set once for the fused kernels.

A training step allocates arrays of megabytes (the forward pass's cache, the
gradients of all steps) and frees them when the step is over. glibc hands such
blocks back to the kernel, by ``munmap`` above its mmap threshold or by
trimming the top of its heap, and the next step gets them back one 4 KiB page
fault at a time: about 2,700 faults, 15 % of the time, of an LSTM step at
N=64, T=50, H=128. A process that has run PyTorch does not see this (its
large frees have already raised glibc's adaptive thresholds), so this is the
difference between course_pkg alone and course_pkg beside PyTorch.

:func:`keep_freed_memory` raises the two thresholds once, the first time a
fused kernel runs: blocks up to 64 MiB come from the heap, and the heap keeps
up to 128 MiB of free memory at its top instead of returning it. The price is
that a process may hold that much freed memory for reuse. It is left alone
where it cannot apply or was chosen by the user: on any C library but glibc,
and when glibc's malloc is configured through the environment
(``MALLOC_*_`` variables or ``GLIBC_TUNABLES``).
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform

# mallopt(3) parameters, from glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 64 * 2**20  # blocks up to this size come from the heap
TRIM_THRESHOLD = 128 * 2**20  # free memory the heap keeps at its top
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def user_configured_malloc(environ=os.environ) -> bool:
    """Whether the environment sets glibc's malloc parameters (then they are the user's)."""
    return any(name in environ for name in USER_SETTINGS) or "glibc.malloc." in environ.get(
        "GLIBC_TUNABLES", ""
    )


@functools.cache
def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds, once per process; True if they were set.

    Returns False, and changes nothing, on another C library, without ``mallopt``,
    or when the user configured malloc through the environment.
    """
    if platform.libc_ver()[0] != "glibc" or user_configured_malloc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success; trim first, so a refused mmap threshold leaves the
    # trim threshold, which alone keeps the heap's top, in place
    trimmed = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and trimmed
