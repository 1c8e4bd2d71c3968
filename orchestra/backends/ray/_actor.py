"""The Ray actor that hosts one worker: it dials back to the driver and runs the
shared serve loop (:func:`orchestra.worker.serve`) on that TCP connection.

This module's actor code runs inside a Ray worker process, never in the driver:
like ``orchestra.zygote`` it is the worker side of its backend, so it (alone in
``backends``) imports ``orchestra.worker``, lazily, inside the actor. Everything
the protocol does (Init/Ready, calls, routes, logs, epoch timeouts, traps, resets)
is that one shared serve loop; the actor adds only the connection, the module
file, and the serve loop's payload store (``ActorPayloads``: large payloads by
reference through Ray's object store, see ``_objects``).

The hello line the actor sends first, before the worker protocol starts::

    {"token": "<one-time token>", "pid": 1234, "node": "<ray node id>", "ip": "10.0.0.5"}\\n
"""

from __future__ import annotations

import json
import os
import resource
import socket
import tempfile
from pathlib import Path

import ray

from .._socket import tune_socket
from ._objects import ActorPayloads

__all__ = ("WorkerActor", "module_path", "remote_actor_class")

HELLO_MAX = 4096


def module_path(digest: str, name: str) -> str:
    """Where an actor keeps a shipped module: content-addressed, so the actors of one
    node share one copy, and named after the original file so load errors still say
    which plug-in file was wrong. It is computed on the driver (it goes into the
    worker's spec), under the driver's temp directory (``/tmp`` unless ``TMPDIR``
    says otherwise), which every node must be able to create and write."""
    root = os.path.join(tempfile.gettempdir(), f"orchestra-ray-{os.getuid()}")
    return os.path.join(root, digest[:32], name)


def _write_module(path: str, data: bytes) -> None:
    target = Path(path)
    if target.exists() and target.stat().st_size == len(data):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write-then-rename: actors starting together on one node never read half a file.
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)


class WorkerActor:
    """One instance: one Ray actor, its own process and wasmtime store.

    Created with ``max_restarts=0``: Orchestra's restart policy (the supervisor's pool)
    decides what happens when it dies, not Ray.
    """

    def __init__(self) -> None:
        # The same hardening as a local worker where it applies to a process we own
        # whole: no core dumps, and a plug-in's stdout goes to stderr (Ray's log).
        # No address-space rlimit: it would cap the Ray worker runtime too (the driver
        # strips limits.process_memory and says so).
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        except (ValueError, OSError):
            pass
        try:
            os.dup2(2, 1)
        except OSError:
            pass
        self.payloads: ActorPayloads | None = None

    def serve(
        self,
        host: str,
        port: int,
        token: str,
        module: bytes | None,
        path: str | None,
        connect_timeout: float,
        by_reference: int | None = None,
    ) -> int:
        """Write the shipped module (if any) to ``path``, connect to the driver, send
        the hello, then serve the worker protocol until Shutdown or EOF. Payloads of
        ``by_reference`` bytes or more go through Ray's object store.

        :returns: the serve loop's exit code (0 after a Shutdown).
        :raises OSError: the driver cannot be reached (the actor then ends).
        """
        from ... import worker  # the shared serve loop; loads the runtime (wasmtime)

        if module is not None and path:
            _write_module(path, module)
        sock = socket.create_connection((host, port), timeout=connect_timeout)
        try:
            tune_socket(sock)
            context = ray.get_runtime_context()
            hello = {
                "token": token,
                "pid": os.getpid(),
                "node": context.get_node_id(),
                "ip": ray.util.get_node_ip_address(),  # type: ignore[no-untyped-call]
            }
            sock.sendall(json.dumps(hello).encode() + b"\n")
            sock.settimeout(None)
            if by_reference is not None:
                # Kept on the actor past serve's return: outputs it holds stay readable
                # until the driver has read them (the driver kills the actor after).
                self.payloads = ActorPayloads(by_reference)
            return worker.serve(sock, store=self.payloads)
        finally:
            sock.close()


def remote_actor_class() -> ray.actor.ActorClass[WorkerActor]:
    """The Ray actor class (created on first use, so importing this module is cheap)."""
    global _REMOTE
    if _REMOTE is None:
        _REMOTE = ray.remote(max_restarts=0, max_task_retries=0)(WorkerActor)
    return _REMOTE


_REMOTE: ray.actor.ActorClass[WorkerActor] | None = None
