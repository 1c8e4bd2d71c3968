"""OS-level confinement of a worker process: what the wasm sandbox does not cover.

General layout:

- ``_startup``: a worker's first steps; dying with the supervisor in every start mode
  (``PR_SET_PDEATHSIG`` where it applies, a watchdog thread on the protocol socket).

Worker side: imported by ``orchestra.worker`` and ``orchestra.zygote`` (and the test
workers), never by the supervisor.
"""

from ._startup import ORPHANED as ORPHANED
from ._startup import harden as harden
from ._startup import watch_supervisor as watch_supervisor

__all__ = ("ORPHANED", "harden", "watch_supervisor")
