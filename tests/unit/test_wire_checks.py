"""What a worker sends is checked before it is believed: the decoder turns any bytes
into messages or a ProtocolError (nothing else), the field checks accept exactly
the frames a correct worker sends, and the output ring accepts every span a correct
producer names and no span outside the ring."""

from __future__ import annotations

import os
import struct
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestra.config._spec import MAX_OUTPUT
from orchestra.errors import CALL_ERROR_KINDS, ProtocolError
from orchestra.wire import (
    DEFAULT_MAX_FRAME,
    Call,
    CallFailed,
    FrameDecoder,
    Heartbeat,
    Init,
    InitFailed,
    Log,
    Ready,
    Release,
    Result,
    RouteCall,
    RouteResult,
    ShmRings,
    Shutdown,
    check_from_worker,
    create_shm,
    encode,
)

TAGS = [
    "init",
    "ready",
    "initfailed",
    "call",
    "result",
    "callfailed",
    "routecall",
    "routeresult",
    "release",
    "shutdown",
    "log",
    "heartbeat",
    "nosuch",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=True)
    | st.text(max_size=6)
    | st.binary(max_size=6)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)


def framed(body: bytes) -> bytes:
    return struct.pack("<I", len(body)) + body


def decode_all(data: bytes, chunk: int) -> list[Any]:
    decoder = FrameDecoder(max_frame=1 << 16)
    out: list[Any] = []
    for at in range(0, len(data), chunk):
        out.extend(decoder.feed(data[at : at + chunk]))
    return out


@settings(max_examples=300)
@given(data=st.binary(max_size=200), chunk=st.integers(1, 64))
def test_random_bytes_decode_or_raise_protocol_error(data: bytes, chunk: int) -> None:
    """Any byte stream, in any chunking: messages, or ProtocolError, never another error."""
    try:
        decode_all(data, chunk)
    except ProtocolError:
        pass


@settings(max_examples=500)
@given(tag=st.sampled_from(TAGS), fields=st.lists(values, max_size=8), chunk=st.integers(1, 64))
def test_random_field_values_decode_typed_or_raise_protocol_error(
    tag: str, fields: list[Any], chunk: int
) -> None:
    """Every kind with random values in its fields: a message whose fields have
    their declared types, or ProtocolError; and the field checks never raise."""
    data = framed(msgspec.msgpack.encode([tag, *fields]))
    try:
        msgs = decode_all(data, chunk)
    except ProtocolError:
        return
    assert len(msgs) == 1
    msg = msgs[0]
    for field in msgspec.structs.fields(type(msg)):  # each value has its declared type
        msgspec.convert(getattr(msg, field.name), field.type, strict=True)
    check_from_worker(msg)  # must not raise, whatever the values


ids = st.integers(-3, 5)
results = st.builds(
    Result,
    id=ids,
    data=st.sampled_from([b"", b"x"]),
    values=st.none() | st.lists(st.integers(0, 9), max_size=2),
    shm_pos=st.integers(-3, 3),
    shm_len=st.integers(-2, 3),
    ref=st.none() | st.sampled_from([b"", b"r"]),
)
kinds = st.sampled_from([*sorted(CALL_ERROR_KINDS), "KeyError", "", "bind"])
failures = st.builds(CallFailed, id=ids, kind=kinds, message=st.text(max_size=3))
routes = st.builds(
    RouteCall,
    id=ids,
    plugin=st.text(max_size=3),
    export=st.text(max_size=3),
    data=st.sampled_from([b"", b"x"]),
    ref=st.none() | st.sampled_from([b"", b"r"]),
)
levels = st.sampled_from(["debug", "info", "warning", "error", "critical", "warn", "bind", ""])
logs = st.builds(
    Log,
    level=levels,
    event=st.text(max_size=3),
    fields=st.dictionaries(st.sampled_from(["message", "pid", "event", "plugin"]), st.integers()),
)
others = st.sampled_from(
    [
        Init(plugin="p", instance=0, spec=b""),
        Ready(pid=1, abi="core"),
        InitFailed(kind="PluginLoadError", message="m"),
        Call(id=1, export="e"),
        RouteResult(id=1),
        Release(refs=[]),
        Shutdown(),
        Heartbeat(seq=0),
    ]
)


def valid(msg: Any) -> bool:
    """The rules, written out independently of ``check_from_worker``."""
    if isinstance(msg, Result):
        inline_or_shm = (msg.shm_pos == -1 and msg.shm_len == 0) or (
            msg.shm_pos >= 0 and msg.shm_len >= 0
        )
        places = [msg.data != b"", msg.shm_pos >= 0, msg.ref is not None].count(True)
        return msg.id >= 1 and inline_or_shm and places <= 1 and msg.ref != b""
    if isinstance(msg, CallFailed):
        return msg.id >= 1 and msg.kind in CALL_ERROR_KINDS
    if isinstance(msg, RouteCall):
        return msg.ref != b"" and not (msg.data and msg.ref is not None)
    if isinstance(msg, Log):
        levels = {"debug", "info", "warning", "error", "critical"}
        return msg.level in levels and not {"pid", "event"} & set(msg.fields)
    return isinstance(msg, Heartbeat)  # allowed, ignored


@settings(max_examples=500)
@given(msg=results | failures | routes | logs | others)
def test_field_checks_accept_exactly_the_valid_frames(msg: Any) -> None:
    """A started worker's frame passes the field checks exactly when it follows the
    rules for its kind (and kinds a started worker never sends never pass)."""
    problem = check_from_worker(msg)
    assert (problem is None) == valid(msg), problem


def rings(size: int) -> tuple[ShmRings, ShmRings]:
    fd = create_shm(size)
    try:
        return ShmRings(fd), ShmRings(fd)
    finally:
        os.close(fd)


@settings(max_examples=200)
@given(sizes=st.lists(st.integers(1, 5000), min_size=1, max_size=30), batch=st.integers(1, 4))
def test_every_span_a_producer_names_is_accepted(sizes: list[int], batch: int) -> None:
    """Outputs put by a correct worker (several before the supervisor takes them,
    skips and restarts included) always pass the span check, and read back whole."""
    sup, wrk = rings(8192)
    queued: list[tuple[int, bytes]] = []
    for n, size in enumerate(sizes):
        data = bytes([n % 251]) * size
        pos = wrk.put_output(data)
        if pos is not None:
            queued.append((pos, data))
        if pos is None or len(queued) >= batch:
            for at, expected in queued:
                assert sup.check_output(at, len(expected)) is None
                assert sup.take_output(at, len(expected)) == expected
            queued.clear()


@settings(max_examples=500)
@given(taken=st.integers(0, 3 * 4096), pos=st.integers(-10, 5 * 4096), n=st.integers(-5, 9000))
def test_accepted_spans_lie_inside_the_ring_after_what_was_taken(
    taken: int, pos: int, n: int
) -> None:
    """A span passes only if it lies within the output ring, starts at or after the
    last output taken and less than a ring ahead of it."""
    sup, wrk = rings(4096)
    if taken:
        wrk.put_output(b"\0" * min(taken, 4096))
        sup.take_output(taken - min(taken, 4096), min(taken, 4096))
    if sup.check_output(pos, n) is None:
        assert 0 <= n <= 4096 and pos >= taken
        assert pos % 4096 + n <= 4096 and pos - taken < 4096


def test_the_largest_output_fits_in_one_frame() -> None:
    """An output at the largest ``limits.output`` travels inline in one frame (the
    worker refuses larger ones before sending): the frame limit is never reached."""
    sample = 70_000
    envelope = len(encode(Result(id=2**63 - 1, data=b"x" * sample, values=[2**63 - 1] * 16)))
    assert envelope - sample + MAX_OUTPUT <= DEFAULT_MAX_FRAME
