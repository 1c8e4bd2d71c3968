"""The worker's hook for payloads passed by reference (``ref`` on Call, Result,
RouteCall and RouteResult), so the serve loop stays free of any object store.

The Ray backend's actor implements it over Ray's object store (the worker process
imports ray, the serve loop does not). The local backend needs none: its large
payloads go through the shared-memory rings (``ShmRings``), which are addressed by
position instead.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ("PayloadStore",)


class PayloadStore(Protocol):
    """Where a worker reads by-reference inputs and leaves large outputs."""

    threshold: int
    """Outputs (and routed inputs) from this many bytes go by reference."""

    def get(self, ref: bytes) -> bytes | memoryview:
        """The payload ``ref`` names. :raises CallError: it is gone (its owner died)."""
        ...

    def put(self, data: bytes | memoryview) -> bytes | None:
        """Store ``data``; its ref, held alive until :meth:`release`, or None (send it
        inline instead)."""
        ...

    def release(self, refs: list[bytes]) -> None:
        """Drop the hold on refs this worker put (the reader is done with them)."""
        ...
