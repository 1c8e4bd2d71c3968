"""What a pipeline yields per record."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CallError

__all__ = ("RecordResult",)


@dataclass(slots=True)
class RecordResult:
    """The outcome of one input record.

    ``index`` is the record's position in the input (0-based); ``output`` is the last
    stage's output when ``ok``; otherwise ``error`` says what failed and ``stage``
    where (the stage's label, ``"plugin.export"`` by default). A record a filter
    dropped is ``ok`` with ``dropped`` set (and no output).
    """

    index: int
    ok: bool
    output: bytes | None = None
    error: CallError | None = None
    stage: str | None = None
    input: bytes | None = None
    dropped: bool = False
