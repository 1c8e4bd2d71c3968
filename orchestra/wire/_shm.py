"""Large payloads through shared memory: two single-producer/single-consumer rings.

One memfd per worker, mapped by both sides::

    [0, 4096)            header: five monotonic u64 positions
                           0  in_produced   (supervisor)   8  in_consumed   (worker)
                          16  out_produced  (worker)      24  out_consumed  (supervisor)
                          32  in_written    (supervisor: inputs up to here are copied)
                          40  running       (worker: the id of the call it is in)
    [4096, 4096 + R)      input ring  (call payloads, written by the supervisor)
    [4096 + R, 4096 + 2R) output ring (results, written by the worker)

A payload occupies a contiguous span; when it would wrap, the producer skips to the
ring's start. Messages carry the span's monotonic start position and length; the
consumer publishes ``position + length`` once done with it. Calls are served in
order, so consumption is in order and two counters suffice: no locks, no extra
messages. When a ring is full the payload simply travels inline in the frame.

An input span may be announced before its bytes are in it: on x86 (stores are seen
in order) the supervisor writes the call's frame first and copies the payload while
the worker wakes up, publishing ``in_written`` after each chunk (64 KiB first, then
growing to 1 MiB); the worker waits for it before reading the span
(:meth:`ShmRings.wait_written`), or an Extism plug-in reading the span in place
starts at once and waits only if it catches up with the copy. Elsewhere the
supervisor copies first.

A crash loses nothing: the memfd disappears with the last process holding it, and
the calls the dead worker held are answered with PluginCrashed as usual.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import platform
import struct
from collections.abc import Callable

__all__ = ("COPY_AFTER_SEND", "SHM_THRESHOLD", "ShmRings", "create_shm")

SHM_THRESHOLD = 64 * 1024  # payloads from this size go through shared memory
# in_written is published after each chunk of a large input: the first is small (the
# plug-in starts reading sooner), each next one twice as large, up to _CHUNK. 1 MiB,
# one instance, against 1 MiB chunks: per call +8.2 % -> +4.8 % over in-process.
_FIRST_CHUNK = 64 * 1024
_CHUNK = 1 << 20
DEFAULT_RING = 32 * 1024 * 1024
_HEADER = 4096
_U64 = struct.Struct("<Q")
_IN_PRODUCED, _IN_CONSUMED, _OUT_PRODUCED, _OUT_CONSUMED, _IN_WRITTEN = 0, 8, 16, 24, 32
_RUNNING = 40
#: Total store order: a reader that sees ``in_written`` sees the bytes before it.
COPY_AFTER_SEND = platform.machine().lower() in {"x86_64", "amd64", "i386", "i686"}


def create_shm(ring_size: int = DEFAULT_RING) -> int:
    """A new memfd sized for two rings (pages are only allocated when touched)."""
    fd = os.memfd_create("orchestra-payloads", os.MFD_CLOEXEC)
    os.ftruncate(fd, _HEADER + 2 * ring_size)
    return fd


class ShmRings:
    """One side's view of a worker's payload rings."""

    def __init__(self, fd: int) -> None:
        size = os.fstat(fd).st_size
        self.ring = (size - _HEADER) // 2
        self._map = mmap.mmap(fd, size)
        self._base = ctypes.addressof(ctypes.c_char.from_buffer(self._map))
        self._view = memoryview(self._map)
        # Per direction this side produces: where it last restarted an empty ring.
        # Everything before is free, though the consumer's position still lags there.
        self._floor = {_IN_PRODUCED: 0, _OUT_PRODUCED: 0}
        self._out_taken = 0  # supervisor: end of the last output span taken

    def close(self) -> None:
        self._view.release()
        try:
            self._map.close()
        except BufferError:
            pass  # a view is still exported; the mapping goes with the process

    def _get(self, at: int) -> int:
        return int(_U64.unpack_from(self._map, at)[0])

    def _set(self, at: int, value: int) -> None:
        _U64.pack_into(self._map, at, value)

    def _place(self, produced_at: int, consumed_at: int, n: int) -> int | None:
        """Reserve ``n`` contiguous bytes; the monotonic start position, or None."""
        ring = self.ring
        if n > ring:
            return None
        pos = self._get(produced_at)
        # The consumer's position (may be stale: then the ring looks fuller), but never
        # before the last restart: the skipped tail behind it held nothing.
        consumed = max(self._get(consumed_at), self._floor[produced_at])
        empty = pos == consumed
        if pos % ring and (pos % ring + n > ring or empty):
            # Skip the tail: spans never wrap. And when the ring is empty, start over
            # at its beginning: already-touched pages are reused, fresh ones cost
            # ~0.7 ms per MiB to fault in (measured on the development machine).
            pos += ring - pos % ring
            if empty:
                self._floor[produced_at] = consumed = pos
        # Nothing unconsumed may be overwritten. Counting a tail skipped on an empty
        # ring as used refused every span after the first until the consumer caught
        # up: large calls went one at a time (64 KiB, 32 callers: 5,500 calls/s
        # instead of 11,000), and before that, larger payloads went inline for ever.
        if pos + n - consumed > ring:
            return None
        self._set(produced_at, pos + n)
        return pos

    # -- supervisor side --------------------------------------------------------------

    def reserve_input(self, n: int) -> int | None:
        """Room for an ``n``-byte input: its position (fill it with :meth:`write_input`,
        in the order reserved), or None while the ring is too full."""
        return self._place(_IN_PRODUCED, _IN_CONSUMED, n)

    def write_input(self, pos: int, data: bytes | bytearray | memoryview) -> None:
        """Copy a reserved input into the ring, publishing to the worker as it goes: a
        first small chunk, so that a plug-in reading in place starts at once, then
        chunks twice as large each time up to ``_CHUNK`` (few publications; the copy,
        ~17 GB/s, stays ahead of any plug-in that reads every byte)."""
        n = len(data)
        start = _HEADER + pos % self.ring
        view = self._view
        if n <= _FIRST_CHUNK:
            view[start : start + n] = data
        else:
            src = memoryview(data).cast("B")
            at, step = 0, _FIRST_CHUNK
            while at < n:
                end = min(at + step, n)
                view[start + at : start + end] = src[at:end]
                self._set(_IN_WRITTEN, pos + end)
                at, step = end, min(2 * step, _CHUNK)
        self._set(_IN_WRITTEN, pos + n)

    def put_input(self, data: bytes | bytearray | memoryview) -> int | None:
        pos = self.reserve_input(len(data))
        if pos is not None:
            self.write_input(pos, data)
        return pos

    def check_output(self, pos: int, n: int) -> str | None:
        """What is wrong with an output span a worker names; None if it can be taken.

        Outputs are produced and taken in order, so a valid span starts at or after
        the end of the last one taken (this side's own count: the header is writable
        by the worker), less than a ring ahead of it (the producer skips at most a
        ring's tail), and lies within the ring without wrapping."""
        ring, taken = self.ring, self._out_taken
        if n < 0 or pos < 0:
            return f"output span at {pos} of {n} bytes"
        if n > ring or pos % ring + n > ring:
            return f"output span at {pos} of {n} bytes runs past the {ring}-byte ring"
        if pos < taken:
            return f"output span at {pos} overlaps outputs already taken (up to {taken})"
        if pos - taken >= ring:
            return f"output span at {pos} is a ring or more past the last taken ({taken})"
        return None

    def take_output(self, pos: int, n: int) -> bytes:
        """Copy out an output span (checked with :meth:`check_output`) and free it."""
        start = _HEADER + self.ring + pos % self.ring
        data = self._map[start : start + n]
        self._out_taken = pos + n
        self._set(_OUT_CONSUMED, pos + n)
        return data

    # -- worker side ----------------------------------------------------------------------

    def input_ring(self) -> tuple[int, int, memoryview, int, Callable[[int], None]]:
        """For mapping the input ring elsewhere: its file offset, size and view, where
        ``in_written`` is in the header (the file's first page), and a wait for it."""
        view = self._view[_HEADER : _HEADER + self.ring]
        return _HEADER, self.ring, view, _IN_WRITTEN, self.wait_written

    def wait_written(self, end: int) -> None:
        """Return once the supervisor has copied every input up to ``end`` (it does so
        right after sending the call: microseconds). Yields the CPU while waiting."""
        while self._get(_IN_WRITTEN) < end:
            os.sched_yield()

    def input_view(self, pos: int, n: int) -> memoryview:
        start = _HEADER + pos % self.ring
        return self._view[start : start + n]

    def set_running(self, call_id: int) -> None:
        """Worker: it starts call ``call_id`` now. Answers of a batch go out in parts,
        so when a worker dies, the calls it held are not all queued behind the first:
        this says which one it died in (the supervisor reads it once the worker is
        gone; a garbled value only makes the guess the first held call)."""
        _U64.pack_into(self._map, _RUNNING, call_id)

    def running(self) -> int:
        """Supervisor: the id of the call the (dead) worker was last in; 0 if none."""
        return self._get(_RUNNING)

    def input_done(self, pos: int, n: int) -> None:
        self._set(_IN_CONSUMED, pos + n)

    def put_output(self, data: bytes | bytearray | memoryview) -> int | None:
        n = len(data)
        pos = self._place(_OUT_PRODUCED, _OUT_CONSUMED, n)
        if pos is not None:
            start = _HEADER + self.ring + pos % self.ring
            self._view[start : start + n] = data
        return pos
