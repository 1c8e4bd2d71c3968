"""Wire protocol: every message round-trips; framing survives any chunking; bad
frames raise ProtocolError."""

from __future__ import annotations

import itertools
import struct

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestra.errors import ProtocolError
from orchestra.wire import (
    Call,
    CallFailed,
    FrameDecoder,
    Heartbeat,
    Init,
    InitFailed,
    Log,
    Message,
    Ready,
    Release,
    Result,
    RouteCall,
    RouteResult,
    Shutdown,
    encode,
    encode_into,
)

ids = st.integers(min_value=0, max_value=2**63 - 1)
text = st.text(max_size=40)
numbers = st.lists(
    st.one_of(
        st.integers(min_value=-(2**63), max_value=2**64 - 1),
        st.floats(allow_nan=False, allow_infinity=False),  # JSON has no inf
    ),
    max_size=6,
)
refs = st.none() | st.binary(min_size=1, max_size=200)  # by reference (Ray's object store)
payload = {  # Call and Result: inline, in the shm rings, or by reference
    "id": ids,
    "data": st.binary(max_size=256),
    "shm_pos": st.integers(-1, 2**62),
    "shm_len": st.integers(0, 2**40),
    "ref": refs,
}

messages: st.SearchStrategy[Message] = st.one_of(
    st.builds(
        Init,
        plugin=text,
        instance=st.integers(0, 1024),
        spec=st.binary(max_size=64),
        cache_dir=st.none() | text,
        log_level=text,
    ),
    st.builds(
        Ready,
        pid=st.integers(1, 2**31),
        abi=text,
        exports=st.lists(text, max_size=4),
        load_ms=st.floats(0, 1e6),
        cached=st.booleans(),
    ),
    st.builds(InitFailed, kind=text, message=text),
    st.builds(Call, export=text, args=st.none() | numbers, **payload),
    st.builds(Result, values=st.none() | numbers, **payload),
    st.builds(
        RouteCall,
        id=ids,
        plugin=text,
        export=text,
        data=st.binary(max_size=256),
        args=st.none() | numbers,
        ref=refs,
    ),
    st.builds(
        RouteResult,
        id=ids,
        data=st.binary(max_size=256),
        values=st.none() | numbers,
        kind=st.none() | text,
        message=st.none() | text,
        ref=refs,
    ),
    st.builds(Release, refs=st.lists(st.binary(min_size=1, max_size=200), max_size=4)),
    st.builds(
        CallFailed,
        id=ids,
        kind=text,
        message=text,
        trap_code=st.none() | text,
        frames=st.lists(text, max_size=3),
        reset=st.booleans(),
    ),
    st.builds(Shutdown, reason=text),
    st.builds(
        Log,
        level=text,
        event=text,
        fields=st.dictionaries(text, st.integers(-(2**63), 2**63 - 1) | text, max_size=3),
    ),
    st.builds(Heartbeat, seq=ids),
)


@given(msg=messages)
def test_every_message_round_trips_msgpack(msg: Message) -> None:
    """decode(encode(m)) == m through the real framing."""
    assert FrameDecoder().feed(encode(msg)) == [msg]


@given(msg=messages)
@settings(max_examples=50)
def test_every_message_round_trips_json(msg: Message) -> None:
    """The union is also valid JSON (handy for debugging dumps)."""
    data = msgspec.json.encode(msg)
    assert msgspec.json.decode(data, type=Message) == msg


@given(
    msgs=st.lists(messages, min_size=1, max_size=12),
    cuts=st.lists(st.integers(0, 10_000), max_size=20),
)
def test_framing_survives_arbitrary_chunking(msgs: list[Message], cuts: list[int]) -> None:
    """However the byte stream is split, the same messages come out, in order."""
    buf = bytearray()
    for m in msgs:
        encode_into(m, buf)
    stream = bytes(buf)
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    decoder = FrameDecoder()
    out: list[Message] = []
    for a, b in itertools.pairwise(points):
        out.extend(decoder.feed(stream[a:b]))
    assert out == msgs
    assert decoder.pending == 0


def test_encode_into_matches_encode() -> None:
    """Batching writers and single writes produce identical bytes."""
    buf = bytearray()
    encode_into(Heartbeat(seq=7), buf)
    encode_into(Call(id=1, export="x", data=b"hi"), buf)
    assert bytes(buf) == encode(Heartbeat(seq=7)) + encode(Call(id=1, export="x", data=b"hi"))


def test_oversize_frame_is_refused_before_its_body_arrives() -> None:
    """A length prefix over the maximum fails at once (no buffering of a huge body)."""
    decoder = FrameDecoder(max_frame=1024)
    with pytest.raises(
        ProtocolError, match="frame of 1025 bytes exceeds the maximum of 1024 bytes"
    ):
        decoder.feed(struct.pack("<I", 1025))


@given(garbage=st.binary(min_size=1, max_size=200))
def test_garbage_body_gives_protocol_error(garbage: bytes) -> None:
    """Any body that is not a known message is a ProtocolError, never another exception."""
    frame = struct.pack("<I", len(garbage)) + garbage
    try:
        msgs = FrameDecoder().feed(frame)
    except ProtocolError:
        return
    # The rare random body that *is* a valid message must round-trip.
    assert len(msgs) == 1 and FrameDecoder().feed(encode(msgs[0])) == msgs


def test_unknown_tag_is_a_protocol_error() -> None:
    body = msgspec.msgpack.encode(["launch_missiles", 1])
    with pytest.raises(ProtocolError, match="malformed frame"):
        FrameDecoder().feed(struct.pack("<I", len(body)) + body)
