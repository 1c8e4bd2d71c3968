"""A worker that misbehaves on cue, for fault-injection tests.

Run by ``LocalBackend(worker_module="orchestra.testing.faulty_worker")``. It does the
real handshake (Init -> Ready), then answers its first call according to
``ORCHESTRA_FAULT``:

* ``garbage``: a frame whose body is not a message
* ``oversize``: a length prefix beyond the maximum frame size
* ``silent``: never answers (a wedged worker; the watchdog must kill it)
* ``exit``: exits with status 3 while holding the call
* ``busy``: spins at full CPU in Python, never reading its socket again (a plug-in
  busy in native code)
* ``script``: sends crafted frames read from a file (below)

Before the first call it behaves: later calls never come (the supervisor kills it).

``script``: ``ORCHESTRA_FAULT_SCRIPT`` names a file written by :func:`write_script`,
one *case* per worker started for the plug-in ``ORCHESTRA_FAULT_PLUGIN`` (a counter
file beside it says which start this is; other plug-ins, and starts past the last
case, run the real serve loop). A case lists, per call received, the steps that
answer it: ``("frame", body)`` sends ``body`` framed, with the integers
:data:`CALL_ID` and :data:`RING_POS` in it replaced by the call's id and the
position of the last output put in the ring; ``("raw", bytes)`` sends bytes as they
are; ``("ring", bytes)`` puts an output in the output ring; ``("await_route",)``
sends what is queued, waits for a RouteResult and answers the call with its
``kind`` (or ``data``) as the output. A call the case has no steps for is echoed
properly. The frames of one call's steps go out in one write; once the last call
of the case is answered the worker exits 0 (so the next start runs the next case).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import socket
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from ..confine import harden, watch_supervisor
from ..wire import (
    SHM_THRESHOLD,
    Call,
    FrameDecoder,
    Init,
    Message,
    Ready,
    Result,
    RouteResult,
    ShmRings,
    encode,
)

__all__ = ("CALL_ID", "RING_POS", "main", "write_script")

CALL_ID = 0x5EED_0001
"""In a scripted frame: replaced by the id of the call being answered."""
RING_POS = 0x5EED_F00D
"""In a scripted frame: replaced by the position of the last output put in the ring."""

Step = tuple[Any, ...]
Case = list[list[Step]]


def write_script(path: Path, cases: list[Case]) -> None:
    """Write the cases for ``ORCHESTRA_FAULT=script`` (and reset the start counter)."""
    path.write_bytes(msgspec.msgpack.encode(cases))
    Path(f"{path}.starts").unlink(missing_ok=True)


def _substitute(value: Any, call_id: int, pos: int) -> Any:
    if isinstance(value, list):
        return [_substitute(v, call_id, pos) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, call_id, pos) for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool):
        return {CALL_ID: call_id, RING_POS: pos}.get(value, value)
    return value


def _frame(body: bytes, call_id: int, pos: int) -> bytes:
    try:
        value = msgspec.msgpack.decode(body)
    except msgspec.DecodeError:
        pass  # not msgpack at all: sent as it is
    else:
        body = msgspec.msgpack.encode(_substitute(value, call_id, pos))
    return struct.pack("<I", len(body)) + body


def _next_case(script: Path) -> Case | None:
    """The case for this start, or None past the last one."""
    cases: list[Case] = msgspec.msgpack.decode(script.read_bytes())
    # Workers of two instances start at once, and one may be SIGKILLed mid-update:
    # the count is read and bumped under a lock, and replaced whole, never truncated.
    counter = Path(f"{script}.starts")
    with open(f"{script}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        n = int(counter.read_text() or 0) if counter.exists() else 0
        tmp = Path(f"{counter}.{os.getpid()}")
        tmp.write_text(str(n + 1))
        os.replace(tmp, counter)
    return cases[n] if n < len(cases) else None


def _peek_init(sock: socket.socket) -> Init | None:
    """The Init frame, left unread on the socket (for the real serve loop)."""
    while True:
        data = sock.recv(1 << 20, socket.MSG_PEEK)
        if not data:
            return None
        if len(data) >= 4:
            (size,) = struct.unpack_from("<I", data)
            if len(data) >= 4 + size:
                msg = FrameDecoder().feed(data[: 4 + size])[0]
                return msg if isinstance(msg, Init) else None
        time.sleep(0.001)


def _echo(msg: Call, rings: ShmRings | None) -> bytes:
    """A correct answer to ``msg`` for an echo export (the way the real worker does)."""
    data: bytes = msg.data
    if msg.shm_pos >= 0 and rings is not None:
        rings.wait_written(msg.shm_pos + msg.shm_len)
        data = bytes(rings.input_view(msg.shm_pos, msg.shm_len))
        rings.input_done(msg.shm_pos, msg.shm_len)
    if rings is not None and len(data) >= SHM_THRESHOLD:
        pos = rings.put_output(data)
        if pos is not None:
            return encode(Result(id=msg.id, shm_pos=pos, shm_len=len(data)))
    return encode(Result(id=msg.id, data=data))


def _messages(sock: socket.socket, decoder: FrameDecoder) -> Iterator[Message]:
    """Every message the supervisor sends, until EOF."""
    while data := sock.recv(65536):
        yield from decoder.feed(data)


def _run_case(sock: socket.socket, case: Case, rings: ShmRings | None) -> int:
    decoder = FrameDecoder()
    calls = 0
    pos: int | None = -1
    for msg in _messages(sock, decoder):
        if isinstance(msg, Init):
            sock.sendall(encode(Ready(pid=os.getpid(), abi="extism", exports=["echo"])))
        elif isinstance(msg, Call):
            steps = case[calls] if calls < len(case) else None
            calls += 1
            if steps is None:
                sock.sendall(_echo(msg, rings))
                continue
            out = bytearray()
            for step in steps:
                if step[0] == "frame":
                    out += _frame(step[1], msg.id, -1 if pos is None else pos)
                elif step[0] == "raw":
                    out += step[1]
                elif step[0] == "ring" and rings is not None:
                    pos = rings.put_output(step[1])
                elif step[0] == "await_route":
                    sock.sendall(out)
                    out.clear()
                    answer = next(m for m in _messages(sock, decoder) if isinstance(m, RouteResult))
                    data = answer.kind.encode() if answer.kind is not None else answer.data
                    out += encode(Result(id=msg.id, data=data))
            sock.sendall(out)
            if calls >= len(case):
                time.sleep(0.2)  # killed meanwhile if that broke the protocol
                return 0
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--parent", type=int, default=None)
    parser.add_argument("--shm-fd", type=int, default=None)
    parser.add_argument("--no-pdeathsig", action="store_true")
    args = parser.parse_args(argv)
    # What every worker module must do first: die with the supervisor.
    harden(args.parent, pdeathsig=not args.no_pdeathsig)
    fault = os.environ.get("ORCHESTRA_FAULT", "garbage")
    sock = socket.socket(fileno=args.fd)
    if fault == "script":
        init = _peek_init(sock)
        if init is None:
            return 0
        case = None
        if init.plugin == os.environ.get("ORCHESTRA_FAULT_PLUGIN"):
            case = _next_case(Path(os.environ["ORCHESTRA_FAULT_SCRIPT"]))
        if case is None:
            from ..worker import serve  # behaves: the real serve loop

            sock.setblocking(True)
            # confine: the serve loop starts the supervisor watch itself, after it
            # dropped capabilities on the only thread (orchestra.confine).
            return serve(sock, shm_fd=args.shm_fd, confine=True)
        watch_supervisor(args.fd, args.parent)
        rings = ShmRings(args.shm_fd) if args.shm_fd is not None else None
        return _run_case(sock, case, rings)
    watch_supervisor(args.fd, args.parent)
    for msg in _messages(sock, FrameDecoder()):
        if isinstance(msg, Init):
            sock.sendall(encode(Ready(pid=os.getpid(), abi="core", exports=["add"])))
        elif isinstance(msg, Call):
            if fault == "garbage":
                sock.sendall(struct.pack("<I", 5) + b"\xc1\xc1\xc1\xc1\xc1")
            elif fault == "oversize":
                sock.sendall(struct.pack("<I", 0xFFFFFFF0))
            elif fault == "exit":
                os._exit(3)
            elif fault == "busy":
                while True:
                    pass
            time.sleep(3600)  # silent, or waiting to be killed after misbehaving
    return 0


if __name__ == "__main__":
    sys.exit(main())
