"""``python -m orchestra.zygote``: a preloaded process that forks workers.

A fresh interpreter importing wasmtime and the runtime costs ~100 ms of CPU per
worker; a fork of a process that already imported them costs a few ms
(measured on the development machine: a forkserver with wasmtime preloaded 6.7 ms
against 48-69 ms for spawn). The zygote is single-threaded and creates no wasmtime engine, so a fork
copies nothing that a thread might hold half-updated.

Control protocol on ``--fd`` (a Unix stream socket to the supervisor), one JSON line
per message:

* supervisor -> zygote: ``{"spawn": ID}`` with the worker's socket and its
  payload memfd passed by SCM_RIGHTS; the zygote forks, the child becomes a worker
  on that socket.
* zygote -> supervisor: ``{"spawned": ID, "pid": PID}`` then later
  ``{"exited": PID, "code": CODE}`` (negative: killed by that signal).

The zygote dies with the supervisor (PR_SET_PDEATHSIG), and each worker with the
zygote, so nothing outlives a SIGKILLed supervisor.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import sys

from . import worker as _worker  # preload: runtime, wasmtime, msgspec
from .confine import harden

__all__ = ("main",)


def _child(fd: int, shm_fd: int, control: socket.socket, zygote_pid: int) -> None:
    """In the forked child: become a worker on ``fd``; never returns."""
    code = 70
    try:
        control.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        harden(zygote_pid)
        sock = socket.socket(fileno=fd)
        sock.setblocking(True)
        code = _worker.serve(sock, shm_fd=shm_fd, confine=True)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestra.zygote")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--parent", type=int, default=None)
    parser.add_argument("--no-pdeathsig", action="store_true")
    args = parser.parse_args(argv)
    harden(args.parent, pdeathsig=not args.no_pdeathsig)
    control = socket.socket(fileno=args.fd)
    control.setblocking(True)
    me = os.getpid()
    # Children are reaped through a self-pipe so exits are reported promptly.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sel = selectors.DefaultSelector()
    sel.register(control, selectors.EVENT_READ, "control")
    sel.register(wake_r, selectors.EVENT_READ, "child")
    buf = b""
    fds_waiting: list[int] = []  # one fd per request line, in order
    while True:
        for key, _ in sel.select():
            if key.data == "child":
                os.read(wake_r, 4096)
                _reap(control)
                continue
            try:
                msg, fds, _flags, _addr = socket.recv_fds(control, 4096, 8)
            except OSError:
                return 0
            if not msg:
                return 0
            buf += msg
            fds_waiting.extend(fds)
            while b"\n" in buf and len(fds_waiting) >= 2:
                line, buf = buf.split(b"\n", 1)
                request = json.loads(line)
                fd, shm_fd = fds_waiting.pop(0), fds_waiting.pop(0)
                pid = os.fork()
                if pid == 0:
                    for other in fds_waiting:
                        os.close(other)
                    os.close(wake_r)
                    os.close(wake_w)
                    signal.set_wakeup_fd(-1)
                    _child(fd, shm_fd, control, me)
                os.close(fd)
                os.close(shm_fd)
                control.sendall(
                    json.dumps({"spawned": request["spawn"], "pid": pid}).encode() + b"\n"
                )
        _reap(control)


def _reap(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        code = os.waitstatus_to_exitcode(status)
        try:
            control.sendall(json.dumps({"exited": pid, "code": code}).encode() + b"\n")
        except OSError:
            return


if __name__ == "__main__":
    sys.exit(main())
