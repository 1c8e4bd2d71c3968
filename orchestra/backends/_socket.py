"""A worker channel over a connected stream socket (Unix socketpair or TCP).

Shared by the backends: the local one (a socketpair to a child process) and the
Ray one (a TCP connection an actor opened back to the driver). Only process
control differs between them.

I/O: the handshake uses plain non-blocking socket calls under anyio. Under asyncio
the serve phase then hands the socket to an asyncio ``Protocol`` (``attach``):
bytes arrive by callback inside the event loop and writes never await, which
measured several times faster than a reader task and a writer task per worker
(on the development machine). Under trio the supervisor keeps the task-based path.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import anyio
import sniffio

from ._alarm import alarm_for
from ._base import FastIO, WorkerChannel

__all__ = ("SOCK_BUF", "SocketChannel", "tune_socket")

SOCK_BUF = 4 * 1024 * 1024
_RECV = 1 << 20


def tune_socket(sock: socket.socket) -> None:
    """Large buffers both ways; no Nagle delay on TCP (a 16-byte answer must not wait
    for an ACK that delayed-ACK holds back for 40 ms)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCK_BUF)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCK_BUF)
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


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

    def __init__(
        self, loop: asyncio.AbstractEventLoop, transport: asyncio.Transport, owner: SocketChannel
    ) -> None:
        self._loop = loop
        self._transport = transport
        self._owner = owner

    def write(self, data: bytes | bytearray) -> None:
        if not self._transport.is_closing():
            self._owner.bytes_sent += len(data)
            self._transport.write(data)

    def call_soon(self, fn: Callable[[], None]) -> None:
        self._loop.call_soon(fn)

    def call_at(self, when: float, fn: Callable[[], None]) -> bool:
        alarm = alarm_for(self._loop)
        if alarm is None:
            return False
        alarm.at(when, fn)
        return True

    def new_waiter(self) -> asyncio.Future[Any]:
        return self._loop.create_future()

    def close(self) -> None:
        self._transport.close()


class SocketChannel(WorkerChannel):
    """Byte I/O over a connected, non-blocking stream socket; subclasses add process
    control (``terminate``/``kill``/``wait``)."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._io: _AsyncioIO | None = None
        self.bytes_sent = 0
        """Bytes written to the worker so far (frames, and payloads sent inline)."""
        self.bytes_received = 0

    async def send(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            try:
                sent = self._sock.send(view)
            except BlockingIOError:
                await anyio.wait_writable(self._sock)
                continue
            view = view[sent:]
            self.bytes_sent += sent

    async def receive(self) -> bytes:
        while True:
            try:
                data = self._sock.recv(_RECV)
            except BlockingIOError:
                await anyio.wait_readable(self._sock)
                continue
            except OSError:
                return b""
            self.bytes_received += len(data)
            return data

    async def attach(
        self, on_data: Callable[[bytes], None], on_eof: Callable[[], None]
    ) -> FastIO | None:
        try:
            if sniffio.current_async_library() != "asyncio":
                return None
        except sniffio.AsyncLibraryNotFoundError:
            return None
        loop = asyncio.get_running_loop()

        def counted(data: bytes) -> None:
            self.bytes_received += len(data)
            on_data(data)

        transport, _ = await loop.connect_accepted_socket(
            lambda: _Protocol(counted, on_eof), sock=self._sock
        )
        self._io = _AsyncioIO(loop, transport, self)
        return self._io

    def close_socket(self) -> None:
        """Close our end (through the transport once attached)."""
        if self._io is not None:
            self._io.close()
        else:
            self._sock.close()

    async def aclose(self) -> None:
        self.close_socket()
