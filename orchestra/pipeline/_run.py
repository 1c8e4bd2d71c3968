"""Streaming a linear pipeline with bounded memory and ordered output.

Shape: a feeder takes a window slot per record (``max_records_in_flight``), each
stage runs ``concurrency`` tasks pulling from a bounded stream, and the collector
re-orders results by index (when ``ordered``) and frees the slot as it emits. The
window bounds every buffer, so memory stays flat whatever the input size.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any, Protocol

import anyio
import anyio.abc
import msgspec
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..config import Call, PipelineSpec, Stage
from ..errors import CallError, ConfigError
from ._conditions import matches, truthy_verdict
from ._deadletter import _DeadLetters
from ._records import RecordResult
from ._stats import PipelineStats

__all__ = ("Caller", "run_stream")

Records = Iterable[bytes] | AsyncIterable[bytes]
_Item = tuple[int, bytes, bytes]  # index, original input, current payload


class Caller(Protocol):
    """What the pipeline needs from the supervisor."""

    async def call_bytes(self, plugin: str, export: str, data: bytes) -> bytes: ...

    def capacity(self, plugin: str) -> int: ...


async def _put(send: MemoryObjectSendStream[Any], item: Any) -> None:
    """Send without a trip round the event loop when the stream has room: records
    then enter a stage in bursts, and the calls of one loop iteration go to a worker
    in one write (one checkpoint per record per stage made every call a write)."""
    try:
        send.send_nowait(item)
    except anyio.WouldBlock:
        await send.send(item)


async def _acquire(window: anyio.Semaphore) -> None:
    try:
        window.acquire_nowait()
    except anyio.WouldBlock:
        await window.acquire()


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
    stats: PipelineStats | None = None,
) -> None:
    """Run ``records`` through ``spec`` and send one :class:`RecordResult` per record
    taken from the input to ``results`` (closed at the end).

    With ``on_error: fail`` the first failure stops the intake; records already in
    flight still finish. ``stop`` set from outside (SIGINT) does the same.
    ``stats`` (a :class:`PipelineStats`) is updated live, for progress displays.
    """
    stats = stats if stats is not None else PipelineStats.for_spec(spec)
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
                await _acquire(window)
                if stop.is_set():
                    window.release()
                    break
                await _put(send, (index, record, record))
                index += 1
                stats.taken = index

    dead_letters = _DeadLetters(spec) if policy == "dead_letter" else None

    async def run_stage(stage: Stage, payload: bytes) -> tuple[bytes | None, bool]:
        """The stage's output, and whether the record goes on (False: dropped)."""
        if stage.when is not None and not matches(stage.when, payload):
            return payload, True
        if stage.plugin is not None:
            assert stage.export is not None
            return await caller.call_bytes(stage.plugin, stage.export, payload), True
        if stage.parallel is not None:
            outputs: dict[str, Any] = {}
            failures: dict[str, CallError] = {}

            async def branch(name: str, call: Call) -> None:
                # A failure is kept, not raised: raised, the task group would wrap it in
                # an ExceptionGroup, and the other branches' calls are left to finish.
                try:
                    out = await caller.call_bytes(call.plugin, call.export, payload)
                except CallError as exc:
                    failures[name] = exc
                    return
                try:
                    outputs[name] = msgspec.json.decode(out)
                except msgspec.DecodeError:
                    outputs[name] = out.decode("utf-8", "replace")

            async with anyio.create_task_group() as tg:
                for name, call in stage.parallel.items():
                    tg.start_soon(branch, name, call)
            for name in stage.parallel:  # the first failed branch in the config's order
                if name in failures:
                    raise failures[name]
            # Keys in the order the config lists the branches, whatever finished first.
            return msgspec.json.encode({k: outputs[k] for k in stage.parallel}), True
        flt = stage.filter
        assert flt is not None
        if flt.plugin is not None:
            assert flt.export is not None
            verdict = await caller.call_bytes(flt.plugin, flt.export, payload)
            return payload, truthy_verdict(verdict)
        condition = flt.condition()
        assert condition is not None
        return payload, matches(condition, payload)

    async def stage_worker(
        i: int,
        stage: Stage,
        recv: MemoryObjectReceiveStream[_Item],
        nxt: MemoryObjectSendStream[_Item] | None,
        done: MemoryObjectSendStream[RecordResult],
    ) -> None:
        name = stage.label
        counters = stats.stages[i]
        async with recv, done:
            async for index, original, payload in recv:
                counters.in_flight += 1
                started = time.perf_counter()
                try:
                    out, keep = await run_stage(stage, payload)
                except CallError as exc:
                    counters.in_flight -= 1
                    counters.errors += 1
                    if policy == "fail":
                        stop.set()
                    if dead_letters is not None:
                        await dead_letters.write(index, name, exc, original)
                    await _put(
                        done, RecordResult(index, False, error=exc, stage=name, input=original)
                    )
                    continue
                counters.in_flight -= 1
                counters.record(time.perf_counter() - started)
                if not keep:
                    counters.dropped += 1
                    await _put(
                        done, RecordResult(index, True, stage=name, input=original, dropped=True)
                    )
                elif nxt is None:
                    await _put(done, RecordResult(index, True, output=out, input=original))
                else:
                    assert out is not None
                    await _put(nxt, (index, original, out))
            if nxt is not None:
                await nxt.aclose()

    async def emit(res: RecordResult) -> None:
        window.release()
        if not res.ok:
            stats.failed += 1
        elif res.dropped:
            stats.dropped += 1
        else:
            stats.ok += 1
        await _put(results, res)

    async def collect() -> None:
        async with done_recv, results:
            try:
                if not ordered:
                    async for res in done_recv:
                        await emit(res)
                    return
                waiting: dict[int, RecordResult] = {}
                next_index = 0
                async for res in done_recv:
                    waiting[res.index] = res
                    while next_index in waiting:
                        ready = waiting.pop(next_index)
                        next_index += 1
                        await emit(ready)
            finally:
                if dead_letters is not None:
                    dead_letters.close()

    async with anyio.create_task_group() as tg:
        tg.start_soon(collect)
        for i, stage in enumerate(spec.stages):
            conc = stage.concurrency or max(
                [caller.capacity(p) for p in stage.plugins()] or [spec.max_records_in_flight]
            )
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
