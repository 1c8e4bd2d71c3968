"""``on_error: {dead_letter: FILE}``: failed records as JSON lines, one per record."""

from __future__ import annotations

import base64
from typing import IO

import anyio
import msgspec

from ..config import DeadLetter, PipelineSpec
from ..errors import CallError

__all__ = ("_DeadLetters",)


class _DeadLetters:
    """Appends ``{"index", "stage", "error", "message", "input"}`` lines; the input is
    text when it is valid UTF-8, else ``{"base64": ...}``. Lines are flushed as they
    are written, so a crash of the supervisor loses none already reported."""

    def __init__(self, spec: PipelineSpec) -> None:
        assert isinstance(spec.on_error, DeadLetter)
        self.path = spec.on_error.dead_letter
        self._file: IO[bytes] = open(self.path, "ab")
        self._lock = anyio.Lock()

    async def write(self, index: int, stage: str, error: CallError, data: bytes) -> None:
        try:
            shown: object = data.decode("utf-8")
        except UnicodeDecodeError:
            shown = {"base64": base64.b64encode(data).decode()}
        line = msgspec.json.encode(
            {
                "index": index,
                "stage": stage,
                "error": type(error).__name__,
                "message": error.message,
                "input": shown,
            }
        )
        async with self._lock:
            self._file.write(line + b"\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()
