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

Before the first call it behaves: later calls never come (the supervisor kills it).
"""

from __future__ import annotations

import argparse
import os
import socket
import struct
import sys
import time

from ..confine import harden, watch_supervisor
from ..wire import Call, FrameDecoder, Init, Ready, encode

__all__ = ("main",)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--parent", type=int, default=None)
    parser.add_argument("--shm-fd", type=int, default=None)
    parser.add_argument("--no-pdeathsig", action="store_true")
    args = parser.parse_args(argv)
    # What every worker module must do first: die with the supervisor.
    harden(args.parent, pdeathsig=not args.no_pdeathsig)
    watch_supervisor(args.fd, args.parent)
    fault = os.environ.get("ORCHESTRA_FAULT", "garbage")
    sock = socket.socket(fileno=args.fd)
    decoder = FrameDecoder()
    while True:
        data = sock.recv(65536)
        if not data:
            return 0
        for msg in decoder.feed(data):
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


if __name__ == "__main__":
    sys.exit(main())
