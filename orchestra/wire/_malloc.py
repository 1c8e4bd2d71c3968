"""glibc's allocator, tuned once per process for large payloads.

Every large output becomes a fresh ``bytes`` in the supervisor. With several calls
in flight, glibc's default (dynamic) thresholds give each such buffer newly mapped
or newly trimmed-back pages, so every call pays page faults for its output, about
0.7 ms per MiB here: an echo of 1 MiB with 8 callers ran 1,250 calls/s, 7,500 with
M_MMAP_THRESHOLD at 64 MiB and M_TRIM_THRESHOLD at 128 MiB, which keep those pages
in the heap for the next buffer. The cost: up to 128 MiB of freed memory stays
with the process, and buffers up to 64 MiB come from the heap rather than their
own mappings. Applied the first time a process handles a large payload (the
supervisor, a worker); ``ORCHESTRA_MALLOC_TUNING=0`` leaves the allocator alone.
"""

from __future__ import annotations

import ctypes
import os
import platform

__all__ = ("tune_malloc",)

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 128 << 20
_state: list[bool] = []  # [applied?] once decided


def tune_malloc() -> bool:
    """Apply the tuning (once per process); whether it is in effect."""
    if _state:
        return _state[0]
    applied = False
    if (
        os.environ.get("ORCHESTRA_MALLOC_TUNING", "1") != "0"
        and platform.system() == "Linux"
        and platform.libc_ver()[0] == "glibc"
    ):
        try:
            mallopt = ctypes.CDLL(None).mallopt
            applied = bool(
                mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
            )
        except (OSError, AttributeError):
            applied = False
    _state.append(applied)
    return applied
