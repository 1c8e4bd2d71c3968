"""A plug-in's WASI stderr (and the stdout of plug-ins whose stdout is not their
output) as lines, for log events tagged with plug-in and instance: raw text on the
worker's stderr would scroll the progress display away and say nothing of who
wrote it.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ("MAX_LINE", "MAX_LINES_PER_CALL", "OutputLines", "StdioSink")

StdioSink = Callable[[str, str], None]
"""Receives (stream, line): ``stream`` is ``stderr`` or ``stdout``; ``line`` has no
newline, and ``…(N bytes more)`` / ``…(N lines more)`` says what was cut."""

MAX_LINE = 4096  # bytes of one line kept; the rest is counted
MAX_LINES_PER_CALL = 100  # lines per call and stream; the rest are counted


class OutputLines:
    """One stream of one instance: split into lines, bounded per call, so a plug-in
    that floods its stderr costs its own call a count, not the supervisor a log."""

    def __init__(self, stream: str, sink: StdioSink) -> None:
        self._stream = stream
        self._sink = sink
        self._partial = bytearray()
        self._cut = 0  # bytes dropped from the current line
        self._lines = 0  # lines sent during this call
        self._dropped = 0  # lines not sent during this call

    def write(self, data: bytes) -> None:
        """wasmtime's ``*_custom`` callback: called with whatever the guest wrote."""
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                self._add(data[start:])
                return
            self._add(data[start:end])
            self._emit()
            start = end + 1

    def _add(self, piece: bytes) -> None:
        room = MAX_LINE - len(self._partial)
        if len(piece) > room:
            self._cut += len(piece) - room
            piece = piece[:room]
        self._partial += piece

    def _emit(self) -> None:
        line = self._partial.decode("utf-8", "replace").removesuffix("\r")
        if self._cut:
            line += f"…({self._cut} bytes more)"
        self._partial.clear()
        self._cut = 0
        if self._lines < MAX_LINES_PER_CALL:
            self._lines += 1
            self._sink(self._stream, line)
        else:
            self._dropped += 1

    def end_call(self) -> None:
        """The call is over: send a last line without a newline, and what was cut."""
        if self._partial or self._cut:
            self._emit()
        if self._dropped:
            self._sink(self._stream, f"…({self._dropped} lines more)")
        self._lines = self._dropped = 0
