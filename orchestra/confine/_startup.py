"""A worker's first steps: tie its life to the supervisor's, no core dumps, stdout
away from the protocol.

Two layers make a worker die with its supervisor, SIGKILL included, in every start
mode (zygote fork, fresh interpreter, a custom worker module; asyncio or trio):

* ``PR_SET_PDEATHSIG``: the kernel kills us when our parent dies. It follows the
  *thread* that forked us, so it is armed only when the parent forked from a
  long-lived thread (the zygote's only thread, asyncio's loop thread); trio forks
  from a worker thread that exits after a while, and that would kill a healthy
  worker. After arming, the parent is checked again: it may have died before.
* A watchdog thread, always: it waits on the protocol socket for the supervisor's end
  to close (``POLLRDHUP``: no data is consumed, the serve loop reads it) and checks
  that the parent is still ours. It needs no help from the main thread, so it fires
  while wasm or native code keeps that thread busy and never reads the socket.
"""

from __future__ import annotations

import ctypes
import os
import resource
import select
import signal
import sys
import threading
import time

__all__ = ("ORPHANED", "harden", "watch_supervisor")

_PR_SET_PDEATHSIG = 1
ORPHANED = 70  # exit status of a worker whose supervisor went away (EX_SOFTWARE)
_CHECK_EVERY = 0.5  # seconds between two looks at the parent pid
# After the supervisor's end closed: time for the serve loop to finish on its own (a
# Shutdown followed by close, host plug-in fini) before the watchdog ends the process.
_GRACE = 1.0
_HANGUP = select.POLLHUP | select.POLLERR | select.POLLNVAL | getattr(select, "POLLRDHUP", 0)


def harden(parent_pid: int | None, *, pdeathsig: bool = True) -> None:
    """Die with the parent (``pdeathsig``, see the module docstring), no core dumps,
    fd 1 pointed at stderr (what a plug-in prints never reaches a protocol stream).

    Exits the process (status 70) if the parent is already gone."""
    if sys.platform.startswith("linux") and pdeathsig:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    # The parent may have died before prctl took effect (or it was not armed).
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(ORPHANED)
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass
    os.dup2(2, 1)


def watch_supervisor(fd: int, parent_pid: int | None) -> threading.Thread:
    """Start the watchdog thread on the protocol socket ``fd``: the process exits
    (status 70) once the supervisor's end has closed and the serve loop has not
    ended by itself within a second, or at once when ``parent_pid`` is no longer the
    parent. A daemon thread: it never keeps a finished worker alive."""
    thread = threading.Thread(
        target=_watch, args=(fd, parent_pid), name="orchestra-watchdog", daemon=True
    )
    thread.start()
    return thread


def _watch(fd: int, parent_pid: int | None) -> None:
    poller = select.poll()
    # Not POLLIN: readable data is the serve loop's business, and would wake us all
    # the time. Hang-ups are reported whatever the mask says.
    poller.register(fd, _HANGUP)
    while True:
        try:
            events = poller.poll(_CHECK_EVERY * 1000)
        except InterruptedError:
            events = []
        if parent_pid is not None and os.getppid() != parent_pid:
            os._exit(ORPHANED)
        if any(mask & _HANGUP for _, mask in events):
            time.sleep(_GRACE)
            os._exit(ORPHANED)
