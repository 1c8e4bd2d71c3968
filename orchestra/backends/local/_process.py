"""Worker processes on this machine.

Each worker gets one end of a ``socketpair`` as an inherited fd (``--fd``), a
scrubbed environment, its own session (terminal signals go to the supervisor, which
decides), and stdin/stdout on ``/dev/null``; the worker also arms
``PR_SET_PDEATHSIG`` so it dies with the supervisor even on SIGKILL.

I/O: the handshake uses plain non-blocking socket calls under anyio. Under asyncio
the serve phase then hands the socket to an asyncio ``Protocol`` (``attach``):
bytes arrive by callback inside the event loop and writes never await, which
measured several times faster than a reader task and a writer task per worker
(../shared/BASELINES.md). Under trio the supervisor keeps the task-based path.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import sniffio

from .._base import Backend, FastIO, WorkerChannel

__all__ = ("LocalBackend", "LocalChannel")

_SOCK_BUF = 4 * 1024 * 1024
_RECV = 1 << 20
# What a worker may see of the supervisor's environment; nothing else leaks in.
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "TMPDIR", "HOME", "SYSTEMROOT")
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])


def worker_env() -> dict[str, str]:
    env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
    env.update({k: v for k, v in os.environ.items() if k.startswith("ORCHESTRA_")})
    # The worker must import this very copy of orchestra, installed or not.
    extra = os.environ.get("PYTHONPATH")
    env["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + extra if extra else "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class _Protocol(asyncio.Protocol):
    def __init__(self, on_data: Callable[[bytes], None], on_eof: Callable[[], None]) -> None:
        self._on_data = on_data
        self._on_eof = on_eof
        self._ended = False

    def data_received(self, data: bytes) -> None:
        self._on_data(data)

    def eof_received(self) -> bool:
        self._end()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._on_eof()


class _AsyncioIO:
    """FastIO over an asyncio transport."""

    def __init__(self, loop: asyncio.AbstractEventLoop, transport: asyncio.Transport) -> None:
        self._loop = loop
        self._transport = transport

    def write(self, data: bytes | bytearray) -> None:
        if not self._transport.is_closing():
            self._transport.write(data)

    def call_soon(self, fn: Callable[[], None]) -> None:
        self._loop.call_soon(fn)

    def new_waiter(self) -> asyncio.Future[Any]:
        return self._loop.create_future()

    def close(self) -> None:
        self._transport.close()


class LocalChannel(WorkerChannel):
    def __init__(self, process: anyio.abc.Process, sock: socket.socket) -> None:
        self._process = process
        self._sock = sock
        self._io: _AsyncioIO | None = None
        self.pid = process.pid

    async def send(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            try:
                sent = self._sock.send(view)
            except BlockingIOError:
                await anyio.wait_writable(self._sock)
                continue
            view = view[sent:]

    async def receive(self) -> bytes:
        while True:
            try:
                return self._sock.recv(_RECV)
            except BlockingIOError:
                await anyio.wait_readable(self._sock)
            except OSError:
                return b""

    async def attach(
        self, on_data: Callable[[bytes], None], on_eof: Callable[[], None]
    ) -> FastIO | None:
        try:
            if sniffio.current_async_library() != "asyncio":
                return None
        except sniffio.AsyncLibraryNotFoundError:
            return None
        loop = asyncio.get_running_loop()
        transport, _ = await loop.connect_accepted_socket(
            lambda: _Protocol(on_data, on_eof), sock=self._sock
        )
        self._io = _AsyncioIO(loop, transport)  # type: ignore[arg-type]
        return self._io

    def _signal(self, sig: int) -> None:
        if self._process.returncode is None:
            try:
                self._process.send_signal(sig)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    async def wait(self) -> int | None:
        return await self._process.wait()

    async def aclose(self) -> None:
        if self._io is not None:
            self._io.close()
        else:
            self._sock.close()


class LocalBackend(Backend):
    """Starts ``python -m orchestra.worker`` processes."""

    name = "local"

    def __init__(
        self, *, python: str | None = None, worker_module: str = "orchestra.worker"
    ) -> None:
        self._python = python or sys.executable
        self._worker_module = worker_module

    async def spawn(self, plugin: str, instance: int) -> LocalChannel:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            for s in (parent, child):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SOCK_BUF)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _SOCK_BUF)
            child.set_inheritable(True)
            parent.setblocking(False)
            process = await anyio.open_process(
                [
                    self._python,
                    "-m",
                    self._worker_module,
                    "--fd",
                    str(child.fileno()),
                    "--parent",
                    str(os.getpid()),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=None,
                env=worker_env(),
                pass_fds=(child.fileno(),),
                start_new_session=True,
            )
        except BaseException:
            parent.close()
            child.close()
            raise
        # Our copy of the child's end must go, or we would never see EOF when it dies.
        child.close()
        return LocalChannel(process, parent)
