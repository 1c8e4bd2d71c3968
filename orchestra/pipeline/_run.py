"""Streaming a linear pipeline with bounded memory and ordered output.

Shape: a feeder takes a window slot per record (``max_records_in_flight``), each
stage runs ``concurrency`` tasks pulling from a bounded stream, and the collector
re-orders results by index (when ``ordered``) and frees the slot as it emits. The
window bounds every buffer, so memory stays flat whatever the input size.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any, Protocol

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..config import PipelineSpec, Stage
from ..errors import CallError, ConfigError
from ._records import RecordResult

__all__ = ("Caller", "run_stream")

Records = Iterable[bytes] | AsyncIterable[bytes]
_Item = tuple[int, bytes, bytes]  # index, original input, current payload


class Caller(Protocol):
    """What the pipeline needs from the supervisor."""

    async def call_bytes(self, plugin: str, export: str, data: bytes) -> bytes: ...

    def capacity(self, plugin: str) -> int: ...


async def _aiter(records: Records) -> AsyncIterator[bytes]:
    if isinstance(records, AsyncIterable):
        async for r in records:
            yield r
    else:
        for r in records:
            yield r


async def run_stream(
    caller: Caller,
    spec: PipelineSpec,
    records: Records,
    results: MemoryObjectSendStream[RecordResult],
    *,
    ordered: bool | None = None,
    stop: anyio.Event | None = None,
    progress: dict[str, int] | None = None,
) -> None:
    """Run ``records`` through ``spec`` and send one :class:`RecordResult` per record
    taken from the input to ``results`` (closed at the end).

    With ``on_error: fail`` the first failure stops the intake; records already in
    flight still finish. ``stop`` set from outside (SIGINT) does the same.
    ``progress["taken"]`` counts records taken from the input.
    """
    progress = progress if progress is not None else {}
    progress.setdefault("taken", 0)
    ordered = spec.ordered if ordered is None else ordered
    window = anyio.Semaphore(spec.max_records_in_flight)
    stop = stop or anyio.Event()
    policy = spec.on_error if isinstance(spec.on_error, str) else "dead_letter"
    n_stages = len(spec.stages)
    streams: list[tuple[MemoryObjectSendStream[_Item], MemoryObjectReceiveStream[_Item]]] = [
        anyio.create_memory_object_stream[_Item](spec.max_records_in_flight)
        for _ in range(n_stages)
    ]
    done_send, done_recv = anyio.create_memory_object_stream[RecordResult](
        spec.max_records_in_flight
    )

    async def feed() -> None:
        send = streams[0][0]
        async with send:
            index = 0
            async for record in _aiter(records):
                if stop.is_set():
                    break
                await window.acquire()
                if stop.is_set():
                    window.release()
                    break
                await send.send((index, record, record))
                index += 1
                progress["taken"] = index

    async def stage_worker(
        i: int,
        stage: Stage,
        recv: MemoryObjectReceiveStream[_Item],
        nxt: MemoryObjectSendStream[_Item] | None,
        done: MemoryObjectSendStream[RecordResult],
    ) -> None:
        name = f"{stage.plugin}.{stage.export}"
        async with recv, done:
            if nxt is not None:
                async with nxt:
                    await _stage_loop(recv, nxt, done, stage, name)
            else:
                await _stage_loop(recv, None, done, stage, name)

    async def _stage_loop(
        recv: MemoryObjectReceiveStream[_Item],
        nxt: MemoryObjectSendStream[_Item] | None,
        done: MemoryObjectSendStream[RecordResult],
        stage: Stage,
        name: str,
    ) -> None:
        async for index, original, payload in recv:
            try:
                out = await caller.call_bytes(stage.plugin, stage.export, payload)
            except CallError as exc:
                if policy == "fail":
                    stop.set()
                await done.send(RecordResult(index, False, error=exc, stage=name, input=original))
                continue
            if nxt is None:
                await done.send(RecordResult(index, True, output=out, input=original))
            else:
                await nxt.send((index, original, out))

    async def collect() -> None:
        async with done_recv, results:
            if not ordered:
                async for res in done_recv:
                    window.release()
                    await results.send(res)
                return
            waiting: dict[int, RecordResult] = {}
            next_index = 0
            async for res in done_recv:
                waiting[res.index] = res
                while next_index in waiting:
                    ready = waiting.pop(next_index)
                    next_index += 1
                    window.release()
                    await results.send(ready)

    async with anyio.create_task_group() as tg:
        tg.start_soon(collect)
        for i, stage in enumerate(spec.stages):
            conc = stage.concurrency or caller.capacity(stage.plugin)
            recv = streams[i][1]
            nxt = streams[i + 1][0] if i + 1 < n_stages else None
            for _ in range(conc):
                tg.start_soon(
                    stage_worker,
                    i,
                    stage,
                    recv.clone(),
                    nxt.clone() if nxt is not None else None,
                    done_send.clone(),
                )
            recv.close()
            if nxt is not None:
                nxt.close()
        done_send.close()
        tg.start_soon(feed)


def core_args(payload: bytes) -> list[Any]:
    """A record for a core-ABI stage: a JSON list of numbers.

    :raises ConfigError: not such a list.
    """
    try:
        value = json.loads(payload)
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, int | float) for v in value):
        raise ConfigError(f"a core-ABI stage needs a JSON list of numbers, got {payload[:80]!r}")
    return value
