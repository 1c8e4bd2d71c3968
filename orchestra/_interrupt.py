"""SIGINT and SIGTERM for ``orchestra run``: the first asks the run to stop, any
later one ends the process at once with exit code 130.

The handlers are plain ``signal.signal`` handlers, installed before the event loop
starts and kept until the process exits, so a second signal is honoured wherever
it lands: while records flow, while the workers shut down, during the summary, or
after the loop has returned. (A loop's signal receiver lives only while its task
does, and outside it Python's default turns SIGINT into ``KeyboardInterrupt``,
which click reports as ``Aborted!`` with exit 1, and SIGTERM into exit 143.)
The handler itself only records the signal and writes a byte to a socket; the
task that waits on that socket does the asking, on the event loop.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable
from types import FrameType

import anyio

__all__ = ("EXIT_INTERRUPTED", "Interrupt")

EXIT_INTERRUPTED = 130
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupt:
    """The signals of one ``orchestra run``.

    ``signal``: the name of the first signal (``None`` until one came).
    ``abandoned``: records in flight given up after the grace period.
    ``on_exit``: what to do before an immediate exit (clear the live display,
    flush what was written); each is called once, errors ignored.
    """

    def __init__(self) -> None:
        self.signal: str | None = None
        self.abandoned = 0
        self.on_exit: list[Callable[[], object]] = []
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)

    def install(self) -> None:
        """Handle SIGINT and SIGTERM from now on, for the rest of the process."""
        for sig in SIGNALS:
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is not None:
            self.exit_now()
        self.signal = signal.Signals(signum).name
        try:
            self._wake_w.send(b"\0")
        except OSError:  # the loop is gone: nothing left to ask
            pass

    def exit_now(self) -> None:
        """Run ``on_exit`` and end the process with exit code 130, now."""
        for fn in self.on_exit:
            try:
                fn()
            except Exception:  # exiting anyway: a half-drawn display is fine
                pass
        os._exit(EXIT_INTERRUPTED)

    async def wait(self) -> str:
        """Wait for the first signal; its name."""
        while self.signal is None:
            await anyio.wait_readable(self._wake_r)
            self._wake_r.recv(64)
        return self.signal
