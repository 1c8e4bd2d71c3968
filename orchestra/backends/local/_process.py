"""Worker processes on this machine.

Each worker gets one end of a ``socketpair`` as an inherited fd (``--fd``), a
scrubbed environment, its own session (terminal signals go to the supervisor, which
decides), and stdin/stdout on ``/dev/null``. A worker dies with the supervisor even
on SIGKILL (``orchestra.confine``): ``PR_SET_PDEATHSIG`` where the forking thread
lives as long as the supervisor (see ``_pdeathsig_flag``), and in every mode a
watchdog thread on its end of the socketpair. A custom ``worker_module`` must start
with the same two calls (``orchestra.testing.faulty_worker`` shows how).

I/O over the socketpair is the shared :class:`~orchestra.backends._socket.SocketChannel`
(an asyncio ``Protocol`` fast path under asyncio, tasks under trio); this module only
adds starting processes and signalling them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.abc
import sniffio

from ...wire import create_shm
from .._base import Backend
from .._socket import SocketChannel, tune_socket

__all__ = ("LocalBackend", "LocalChannel")

# What a worker may see of the supervisor's environment; nothing else leaks in.
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "TMPDIR", "HOME", "SYSTEMROOT")
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])


def _pdeathsig_flag() -> list[str]:
    """asyncio forks children from the loop's (main) thread, so the child's
    PR_SET_PDEATHSIG means "the supervisor died". trio forks from a worker thread
    that may exit while the child lives: there the child's watchdog thread alone
    notices the supervisor's end of the socket closing."""
    try:
        if sniffio.current_async_library() == "asyncio":
            return []
    except sniffio.AsyncLibraryNotFoundError:
        pass
    return ["--no-pdeathsig"]


def worker_env() -> dict[str, str]:
    env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
    env.update({k: v for k, v in os.environ.items() if k.startswith("ORCHESTRA_")})
    # The worker must import this very copy of orchestra, installed or not.
    extra = os.environ.get("PYTHONPATH")
    env["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + extra if extra else "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class _Direct:
    """A worker started as our own child process."""

    def __init__(self, process: anyio.abc.Process) -> None:
        self._process = process
        self.pid = process.pid

    def signal(self, sig: int) -> None:
        if self._process.returncode is None:
            try:
                self._process.send_signal(sig)
            except ProcessLookupError:
                pass

    async def wait(self) -> int | None:
        return await self._process.wait()


class _Forked:
    """A worker forked by the zygote: signalled by pid, its exit reported by the zygote."""

    def __init__(self, zygote: _Zygote, pid: int) -> None:
        self._zygote = zygote
        self.pid = pid

    def signal(self, sig: int) -> None:
        if self.pid not in self._zygote.exits:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    async def wait(self) -> int | None:
        return await self._zygote.wait(self.pid)


class LocalChannel(SocketChannel):
    """A worker process on this machine: the shared socket I/O plus signals."""

    def __init__(self, process: _Direct | _Forked, sock: socket.socket, shm_fd: int) -> None:
        super().__init__(sock)
        self._process = process
        self.pid = process.pid
        self.shm_fd = shm_fd

    def terminate(self) -> None:
        self._process.signal(signal.SIGTERM)

    def kill(self) -> None:
        self._process.signal(signal.SIGKILL)

    async def wait(self) -> int | None:
        return await self._process.wait()

    async def aclose(self) -> None:
        self.close_socket()
        if self.shm_fd is not None:
            os.close(self.shm_fd)
            self.shm_fd = None


class _Zygote:
    """The supervisor's side of ``python -m orchestra.zygote``.

    No long-lived reader task: whoever needs an answer (a spawn waiting for its pid,
    a wait for an exit code) takes the lock and reads, recording every message for
    the others (a leader/follower pump).
    """

    def __init__(self, process: anyio.abc.Process, sock: socket.socket) -> None:
        self._process = process
        self._sock = sock
        self._lock = anyio.Lock()
        self._buf = b""
        self._next = 0
        self.spawned: dict[int, int] = {}
        self.exits: dict[int, int] = {}
        self.dead = False

    @classmethod
    async def start(cls, python: str) -> _Zygote:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        child.set_inheritable(True)
        parent.setblocking(False)
        try:
            process = await anyio.open_process(
                [
                    python,
                    "-P",  # never import from the current directory: PYTHONPATH decides
                    "-m",
                    "orchestra.zygote",
                    "--fd",
                    str(child.fileno()),
                    "--parent",
                    str(os.getpid()),
                    *_pdeathsig_flag(),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=None,
                env=worker_env(),
                pass_fds=(child.fileno(),),
                start_new_session=True,
            )
        finally:
            child.close()
        return cls(process, parent)

    async def _pump(self, done: Callable[[], bool]) -> None:
        while not done() and not self.dead:
            async with self._lock:
                if done() or self.dead:
                    return
                try:
                    data = self._sock.recv(65536)
                except BlockingIOError:
                    await anyio.wait_readable(self._sock)
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.dead = True
                    return
                self._buf += data
                while b"\n" in self._buf:
                    line, self._buf = self._buf.split(b"\n", 1)
                    msg = json.loads(line)
                    if "spawned" in msg:
                        self.spawned[msg["spawned"]] = msg["pid"]
                    elif "exited" in msg:
                        self.exits[msg["exited"]] = msg["code"]

    async def spawn(self, worker_sock: socket.socket, shm_fd: int) -> int:
        """Fork a worker serving ``worker_sock`` (with payload rings in ``shm_fd``);
        its pid.

        :raises OSError: the zygote is gone.
        """
        request_id = self._next
        self._next += 1
        line = json.dumps({"spawn": request_id}).encode() + b"\n"
        while True:
            try:
                socket.send_fds(self._sock, [line], [worker_sock.fileno(), shm_fd])
                break
            except BlockingIOError:
                await anyio.wait_writable(self._sock)
        await self._pump(lambda: request_id in self.spawned)
        if request_id not in self.spawned:
            raise OSError("the zygote process is gone")
        return self.spawned.pop(request_id)

    async def wait(self, pid: int) -> int | None:
        await self._pump(lambda: pid in self.exits)
        if pid in self.exits:
            return self.exits.pop(pid)
        # The zygote died; its children die with it (PR_SET_PDEATHSIG). Poll.
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return None
            await anyio.sleep(0.01)

    async def aclose(self) -> None:
        if self._process.returncode is None:
            self._process.kill()
        with anyio.CancelScope(shield=True), anyio.move_on_after(2):
            await self._process.wait()
        self._sock.close()


class LocalBackend(Backend):
    """Starts ``python -m orchestra.worker`` processes."""

    name = "local"

    def __init__(
        self,
        *,
        python: str | None = None,
        worker_module: str = "orchestra.worker",
        start_method: str | None = None,
    ) -> None:
        """``start_method``: ``"zygote"`` (fork from a preloaded process; default where
        fork is available) or ``"spawn"`` (a fresh interpreter per worker; what custom
        ``worker_module`` uses). ``ORCHESTRA_START_METHOD`` overrides the default."""
        self._python = python or sys.executable
        self._worker_module = worker_module
        method = start_method or os.environ.get("ORCHESTRA_START_METHOD") or "zygote"
        if worker_module != "orchestra.worker" or not hasattr(os, "fork"):
            method = "spawn"
        self.start_method = method
        self._zygote: _Zygote | None = None
        self._zygote_lock = anyio.Lock()

    async def _get_zygote(self) -> _Zygote | None:
        async with self._zygote_lock:
            if self._zygote is None or self._zygote.dead:
                try:
                    self._zygote = await _Zygote.start(self._python)
                except OSError:
                    self.start_method = "spawn"
                    return None
            return self._zygote

    async def aclose(self) -> None:
        if self._zygote is not None:
            await self._zygote.aclose()
            self._zygote = None

    async def spawn(self, plugin: str, instance: int) -> LocalChannel:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        for s in (parent, child):
            tune_socket(s)
        parent.setblocking(False)
        shm_fd = create_shm()
        if self.start_method == "zygote":
            zygote = await self._get_zygote()
            if zygote is not None:
                try:
                    pid = await zygote.spawn(child, shm_fd)
                except OSError:
                    pass  # the zygote died: fall back to a fresh interpreter below
                else:
                    child.close()
                    return LocalChannel(_Forked(zygote, pid), parent, shm_fd)
        try:
            child.set_inheritable(True)
            os.set_inheritable(shm_fd, True)
            process = await anyio.open_process(
                [
                    self._python,
                    "-P",
                    "-m",
                    self._worker_module,
                    "--fd",
                    str(child.fileno()),
                    "--parent",
                    str(os.getpid()),
                    *_pdeathsig_flag(),
                    "--shm-fd",
                    str(shm_fd),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=None,
                env=worker_env(),
                pass_fds=(child.fileno(), shm_fd),
                start_new_session=True,
            )
        except BaseException:
            parent.close()
            child.close()
            os.close(shm_fd)
            raise
        # Our copy of the child's end must go, or we would never see EOF when it dies.
        child.close()
        return LocalChannel(_Direct(process), parent, shm_fd)
