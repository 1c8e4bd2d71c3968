"""A precise one-shot timer for an asyncio event loop (Linux: a timerfd).

asyncio's own timers wait in ``epoll_wait``, whose timeout is whole milliseconds:
too coarse to sleep through most of a 1 ms call and wake shortly before its answer.
A timerfd fires to the microsecond (no timer slack) and is just one more reader in
the loop's selector, so the loop sleeps until whichever comes first.
"""

from __future__ import annotations

import asyncio
import ctypes
import heapq
import itertools
import os
import sys
import time
import weakref
from collections.abc import Callable

__all__ = ("Alarm", "alarm_for")

_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = 0o4000
_TFD_CLOEXEC = 0o2000000
_TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))


class _Itimerspec(ctypes.Structure):
    _fields_ = (("it_interval", _Timespec), ("it_value", _Timespec))


def _libc() -> ctypes.CDLL | None:
    """libc with timerfd, where ``time.perf_counter`` reads CLOCK_MONOTONIC (so the
    timer takes perf_counter times as they are)."""
    if not sys.platform.startswith("linux"):
        return None
    if "CLOCK_MONOTONIC" not in time.get_clock_info("perf_counter").implementation:
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.timerfd_create.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.timerfd_settime.argtypes = (
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(_Itimerspec),
            ctypes.c_void_p,
        )
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


class Alarm:
    """Calls ``fn()`` in the loop at ``time.perf_counter() >= when`` (:meth:`at`),
    a few µs late at most, however far from a millisecond boundary."""

    def __init__(self, loop: asyncio.AbstractEventLoop, libc: ctypes.CDLL) -> None:
        fd = libc.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create failed")
        self._libc = libc
        self._fd = fd
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._armed = float("inf")  # when the timerfd fires next
        self._spec = _Itimerspec()
        self.fired = 0
        """Callbacks run so far."""
        # The loop's selector holds the alarm (through this reader), never the other
        # way round: the alarm goes, and its fd is closed, with the loop.
        weakref.finalize(self, os.close, fd)
        loop.add_reader(fd, self._fired)

    def at(self, when: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._due, (when, next(self._order), fn))
        if when < self._armed:
            self._arm(when)

    def _arm(self, when: float) -> None:
        self._armed = when
        spec = self._spec
        sec = int(when)
        spec.it_value.tv_sec = sec
        spec.it_value.tv_nsec = max(1, int((when - sec) * 1e9))  # 0 would disarm
        self._libc.timerfd_settime(self._fd, _TFD_TIMER_ABSTIME, ctypes.byref(spec), None)

    def _fired(self) -> None:
        try:
            os.read(self._fd, 8)
        except BlockingIOError:
            pass
        self._armed = float("inf")
        due, now = self._due, time.perf_counter()
        try:
            while due and due[0][0] <= now:
                self.fired += 1
                heapq.heappop(due)[2]()
        finally:  # a callback that raises (the loop logs it) leaves the rest armed
            if due:
                self._arm(due[0][0])


_ALARMS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Alarm] = weakref.WeakKeyDictionary()


def alarm_for(loop: asyncio.AbstractEventLoop) -> Alarm | None:
    """The loop's alarm (one per loop, made on first use); None where there is no
    timerfd (not Linux) or the loop cannot watch one (no ``add_reader``)."""
    alarm = _ALARMS.get(loop)
    if alarm is None and _LIBC is not None:
        try:
            alarm = _ALARMS[loop] = Alarm(loop, _LIBC)
        except (OSError, NotImplementedError):
            return None
    return alarm
