"""Worker processes on this machine.

Each worker gets one end of a ``socketpair`` as an inherited fd (``--fd``), a
scrubbed environment, its own session (terminal signals go to the supervisor, which
decides), and stdin/stdout on ``/dev/null``; the worker also arms
``PR_SET_PDEATHSIG`` so it dies with the supervisor even on SIGKILL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import anyio
import anyio.abc
from anyio.abc import SocketStream

from .._base import Backend, WorkerChannel

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


class LocalChannel(WorkerChannel):
    def __init__(self, process: anyio.abc.Process, stream: SocketStream) -> None:
        self._process = process
        self._stream = stream
        self.pid = process.pid

    async def send(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send(data)

    async def receive(self) -> bytes:
        try:
            return await self._stream.receive(_RECV)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            return b""

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
        await self._stream.aclose()


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
        try:
            stream = await SocketStream.from_socket(parent)
        except BaseException:
            process.kill()
            raise
        return LocalChannel(process, stream)
