"""Dropping every Linux capability: a worker of a root supervisor keeps uid 0, but
loses what makes root powerful (reading any file, ``setuid``, raw sockets, loading
modules, ...), for good: the bounding set goes too, so no later ``execve`` brings a
capability back.

Capabilities belong to a thread: drop them while the process has only one, and
every thread started later inherits the empty sets (``_apply`` sees to that).
"""

from __future__ import annotations

import ctypes
import errno
from pathlib import Path

__all__ = ("drop_capabilities",)

_PR_CAPBSET_DROP = 24
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAPABILITY_VERSION_3 = 0x20080522


class _Header(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _Data(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def _last_cap() -> int:
    try:
        return int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        return 63


def drop_capabilities() -> None:
    """Empty this thread's bounding, ambient, inheritable, permitted and effective
    capability sets.

    :raises OSError: the kernel refused (the message names the step).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in range(_last_cap() + 1):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            err = ctypes.get_errno()
            if err == errno.EINVAL:  # beyond what this kernel knows
                break
            # EPERM: no CAP_SETPCAP, so nothing to drop beyond what capset clears
            # (an unprivileged process gains nothing from its bounding set with
            # no_new_privs, and has no capabilities to begin with).
            if err != errno.EPERM:
                raise OSError(err, f"PR_CAPBSET_DROP({cap}): {errno.errorcode.get(err, err)}")
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # fails only pre-4.3
    header = _Header(_CAPABILITY_VERSION_3, 0)
    data = (_Data * 2)()  # all zero
    if libc.capset(ctypes.byref(header), data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capset: {errno.errorcode.get(err, err)}")
