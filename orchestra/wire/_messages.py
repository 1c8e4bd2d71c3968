"""Messages between the supervisor and a worker: one tagged union of msgspec Structs.

Schema evolution rule (msgspec ``schema-evolution``): new fields get defaults, field
types never change, tags are never reused.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = (
    "Call",
    "CallBatch",
    "CallFailed",
    "Heartbeat",
    "Init",
    "InitFailed",
    "Log",
    "Message",
    "PROTOCOL_VERSION",
    "Ready",
    "Release",
    "Result",
    "Results",
    "RouteCall",
    "RouteResult",
    "Shutdown",
)

PROTOCOL_VERSION = 3  # 2: payloads by reference (``ref``, Release); 3: CallBatch, Results

Number = int | float


class _Msg(msgspec.Struct, tag_field="op", tag=str.lower, array_like=True, omit_defaults=True):
    """Base of every message. ``array_like`` keeps frames small (no field names)."""


class Init(_Msg):
    """Supervisor → worker, first message: what to load. ``spec`` is the plug-in spec
    encoded as msgpack by the config layer (the worker decodes it with the same type)."""

    plugin: str
    instance: int
    spec: bytes
    protocol: int = PROTOCOL_VERSION
    cache_dir: str | None = None
    log_level: str = "info"
    host_plugin_paths: list[str] = []
    host_plugin_options: dict[str, dict[str, str]] = {}


class Ready(_Msg):
    """Worker → supervisor: the instance is loaded and takes calls."""

    pid: int
    abi: str
    exports: list[str] = []
    load_ms: float = 0.0
    cached: bool = False


class InitFailed(_Msg):
    """Worker → supervisor: loading failed; the worker exits after sending this."""

    kind: str
    message: str


class Call(_Msg):
    """Supervisor → worker: call ``export``. Bytes ABIs use ``data``; the core ABI
    uses ``args`` (numbers)."""

    id: int
    export: str
    data: bytes = b""
    args: list[Number] | None = None
    shm_pos: int = -1  # >= 0: the payload is in the worker's input ring at this position
    shm_len: int = 0
    ref: bytes | None = None  # set: the payload is in an object store (Ray), by reference
    linger: float = 0.0  # seconds the worker may poll for the next call after answering


class Result(_Msg):
    """Worker → supervisor: call ``id`` succeeded."""

    id: int
    data: bytes = b""
    values: list[Number] | None = None
    shm_pos: int = -1  # >= 0: the output is in the worker's output ring at this position
    shm_len: int = 0
    ref: bytes | None = None  # set: the output is in an object store; Release it once read


class CallFailed(_Msg):
    """Worker → supervisor: call ``id`` failed with an ``orchestra.errors`` kind."""

    id: int
    kind: str
    message: str
    trap_code: str | None = None
    frames: list[str] = []
    reset: bool = False  # the worker reset its store after this failure


class CallBatch(_Msg):
    """Supervisor → worker: calls ``id``, ``id + 1``, ... of ``export``, one per item
    of ``data`` (inline payloads) or, for the core ABI, of ``args``. A pipeline
    stage's batch in one frame: one decode, one loop, and answers in few
    :class:`Results` frames instead of a frame each way per record. Each call is
    still its own: its own id, answer and error."""

    id: int
    export: str
    data: list[bytes] = []
    args: list[list[Number]] | None = None


class Results(_Msg):
    """Worker → supervisor: the answers to calls ``id``, ``id + 1``, ... in order (a
    batch may be answered in several parts, so that answers keep coming while a long
    one runs). A ``bytes`` item is that call's inline output; a ``Result`` or
    ``CallFailed`` item (with that call's id) is anything else: numbers, an output
    in shared memory or by reference, a failure."""

    id: int
    items: list[bytes | Result | CallFailed] = []
    seconds: float = 0.0  # the worker's time in these calls (batch sizing)


class RouteCall(_Msg):
    """Worker → supervisor: a routed import of the running call needs
    ``plugin.export``; the worker blocks until the matching RouteResult."""

    id: int
    plugin: str
    export: str
    data: bytes = b""
    args: list[Number] | None = None
    ref: bytes | None = None  # by reference; the worker holds it until the RouteResult


class RouteResult(_Msg):
    """Supervisor → worker: the answer to RouteCall ``id`` (``kind`` set on failure)."""

    id: int
    data: bytes = b""
    values: list[Number] | None = None
    kind: str | None = None
    message: str | None = None
    ref: bytes | None = None  # by reference; held by the supervisor until the call ends


class Release(_Msg):
    """Supervisor → worker: it has read these by-reference outputs (their ``ref``s);
    the worker may drop its hold on them."""

    refs: list[bytes]


class Shutdown(_Msg):
    """Supervisor → worker: finish what is queued, then exit 0."""

    reason: str = "shutdown"


class Log(_Msg):
    """Worker → supervisor: a structlog event to re-emit in the supervisor's log."""

    level: str
    event: str
    fields: dict[str, Any] = {}


class Heartbeat(_Msg):
    """Either direction: liveness probe; the worker echoes the sequence number."""

    seq: int


Message = (
    Init
    | Ready
    | InitFailed
    | Call
    | CallBatch
    | Result
    | Results
    | CallFailed
    | RouteCall
    | RouteResult
    | Release
    | Shutdown
    | Log
    | Heartbeat
)
