"""OS-level confinement of a worker process: what the wasm sandbox does not cover.

General layout:

- ``_startup``: a worker's first steps; dying with the supervisor in every start mode
  (``PR_SET_PDEATHSIG`` where it applies, a watchdog thread on the protocol socket).
- ``_apply``: a plug-in's ``sandbox:``: capabilities and no_new_privs before it is
  loaded (while the worker has one thread), rlimits and seccomp after, all before its
  first call.
- ``_capabilities``, ``_seccomp``: the two kernel interfaces, through ctypes.

Worker side: imported by ``orchestra.worker`` and ``orchestra.zygote`` (and the test
workers), never by the supervisor. Imports only ``config`` and ``errors``.
"""

from ._apply import sandbox_after_load as sandbox_after_load
from ._apply import sandbox_before_load as sandbox_before_load
from ._seccomp import SeccompUnsupported as SeccompUnsupported
from ._startup import ORPHANED as ORPHANED
from ._startup import harden as harden
from ._startup import watch_supervisor as watch_supervisor

__all__ = (
    "ORPHANED",
    "SeccompUnsupported",
    "harden",
    "sandbox_after_load",
    "sandbox_before_load",
    "watch_supervisor",
)
