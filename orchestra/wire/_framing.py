"""Length-prefixed msgpack framing: ``u32 little-endian length`` + body.

Decoding is incremental (:class:`FrameDecoder` takes arbitrary chunks) and batched
(one ``feed`` returns every complete message), so a reader moves batches of frames,
not one task switch per message.
"""

from __future__ import annotations

import struct

import msgspec

from ..errors import ProtocolError
from ._messages import Message

__all__ = ("DEFAULT_MAX_FRAME", "FrameDecoder", "encode", "encode_into")

# An output may be up to 256 MiB (``limits.output``, checked by the worker before it
# sends): the frame carrying it inline needs room for the envelope as well.
DEFAULT_MAX_FRAME = 256 * 1024 * 1024 + 64 * 1024
_HEADER = struct.Struct("<I")
_encoder = msgspec.msgpack.Encoder()


def encode(msg: Message) -> bytes:
    """One framed message as bytes."""
    body = _encoder.encode(msg)
    return _HEADER.pack(len(body)) + body


def encode_into(msg: Message, buf: bytearray) -> None:
    """Append one framed message to ``buf`` (batching writers reuse one buffer)."""
    start = len(buf)
    buf.extend(b"\0\0\0\0")
    _encoder.encode_into(msg, buf, start + 4)
    _HEADER.pack_into(buf, start, len(buf) - start - 4)


class FrameDecoder:
    """Turns a byte stream into messages.

    :raises ProtocolError: on a frame larger than ``max_frame`` (before reading its
        body) or a body that is not a valid message.
    """

    __slots__ = ("_buf", "_decoder", "_max")

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self._buf = bytearray()
        self._max = max_frame
        self._decoder: msgspec.msgpack.Decoder[Message] = msgspec.msgpack.Decoder(Message)

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a whole frame."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Message]:
        """Add ``data`` and return every message now complete, in order."""
        buf = self._buf
        buf += data
        out: list[Message] = []
        pos = 0
        end = len(buf)
        decode = self._decoder.decode
        mv = memoryview(buf)
        try:
            while end - pos >= 4:
                (size,) = _HEADER.unpack_from(buf, pos)
                if size > self._max:
                    raise ProtocolError(
                        f"frame of {size} bytes exceeds the maximum of {self._max} bytes"
                    )
                if end - pos - 4 < size:
                    break
                try:
                    out.append(decode(mv[pos + 4 : pos + 4 + size]))
                except (msgspec.DecodeError, UnicodeDecodeError, ValueError) as exc:
                    # msgspec reports invalid UTF-8 in a tag as UnicodeDecodeError.
                    raise ProtocolError(f"malformed frame: {exc}") from None
                pos += 4 + size
        finally:
            mv.release()
        if pos:
            del buf[:pos]
        return out
