"""Streaming a linear pipeline with bounded memory and ordered output.

Shape: records move in *batches* (lists), never one task hop, stream hop or call
future per record per stage. A feeder takes window slots (``max_records_in_flight``)
for a batch of records at a time; each stage runs a few tasks, each taking a batch
from a bounded stream and sending it as one call group per instance
(``Caller.call_batch``: one frame per record, one wake-up per group); the records
that go on continue as a batch to the next stage, the finished ones to the
collector, which re-orders results by index (when ``ordered``) and frees their slots
as it emits. The window bounds every buffer, so memory stays flat whatever the input
size. Each record still gets exactly one result: its own output or its own error.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from typing import Any, Protocol

import anyio
import anyio.abc
import msgspec
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..config import PipelineSpec, Stage
from ..errors import CallError, ConfigError
from ._conditions import matches, truthy_verdict
from ._deadletter import _DeadLetters
from ._exports import stage_exports
from ._records import RecordResult
from ._stats import PipelineStats

__all__ = ("Caller", "run_stream")

Records = Iterable[bytes] | AsyncIterable[bytes]
_Item = tuple[int, bytes, bytes]  # index, original input, current payload
_Batch = list[_Item]
# A stage's verdict on one record: its output (it goes on), its error, or None: a
# filter dropped it.
_Outcome = bytes | CallError | None
_MAX_BATCH = 256  # records a batch may hold, whatever the plug-ins' max_in_flight


class Caller(Protocol):
    """What the pipeline needs from the supervisor."""

    async def call_batch(
        self, plugin: str, export: str, items: list[bytes]
    ) -> list[bytes | CallError]:
        """One outcome per item, in order: its output, or its own error (returned)."""
        ...

    def capacity(self, plugin: str) -> int:
        """Calls the plug-in's instances hold at once (instances x max_in_flight)."""
        ...

    def batch_size(self, plugin: str, export: str | None = None) -> int:
        """Records per call batch of ``plugin.export`` now (by its calls' recent
        cost); without ``export``, the most it may ever be."""
        ...


async def _put(send: MemoryObjectSendStream[Any], item: Any) -> None:
    """Send without a trip round the event loop when the stream has room."""
    try:
        send.send_nowait(item)
    except anyio.WouldBlock:
        await send.send(item)


class _Window:
    """The records in flight: a counting semaphore taken a batch at a time."""

    def __init__(self, size: int) -> None:
        self.free = size
        self._room = anyio.Event()

    async def take(self, most: int) -> int:
        """Wait for a free slot, then take up to ``most`` (at least 1)."""
        while not self.free:
            await self._room.wait()
        n = min(most, self.free)
        self.free -= n
        return n

    def give(self, n: int) -> None:
        if n:
            self.free += n
            self._room.set()
            self._room = anyio.Event()


def _plan(caller: Caller, stage: Stage) -> tuple[int, Callable[[], int]]:
    """(tasks, batch size now) for a stage: records in it at once are at most
    ``concurrency`` (default: its plug-ins' capacity), in batches sized to its calls'
    cost, each task holding one batch at a time."""
    calls = [(plugin, export) for _, plugin, export in stage_exports(stage)]
    if not calls:  # a condition filter: evaluated here, no call to wait for
        return 1, lambda: _MAX_BATCH
    conc = stage.concurrency or max(caller.capacity(p) for p, _ in calls)
    most = max(1, min([caller.batch_size(p) for p, _ in calls] + [_MAX_BATCH, conc]))
    tasks = max(1, math.ceil(conc / most) if stage.concurrency is None else conc // most)
    if len(calls) == 1:
        plugin, export = calls[0]
        return tasks, lambda: min(most, caller.batch_size(plugin, export))
    return tasks, lambda: min([most] + [caller.batch_size(p, e) for p, e in calls])


async def _stage_outcomes(caller: Caller, stage: Stage, payloads: list[bytes]) -> list[_Outcome]:
    """Run one stage over a batch of payloads: one outcome per payload, in order."""
    if stage.when is not None:
        chosen = [k for k, p in enumerate(payloads) if matches(stage.when, p)]
        outcomes: list[_Outcome] = list(payloads)  # the others pass as they are
        if chosen:
            inner = await _called(caller, stage, [payloads[k] for k in chosen])
            for k, o in zip(chosen, inner, strict=True):
                outcomes[k] = o
        return outcomes
    return await _called(caller, stage, payloads)


async def _called(caller: Caller, stage: Stage, payloads: list[bytes]) -> list[_Outcome]:
    if stage.plugin is not None:
        assert stage.export is not None
        return await caller.call_batch(stage.plugin, stage.export, payloads)  # type: ignore[return-value]
    if stage.parallel is not None:
        branches = stage.parallel
        got: dict[str, list[bytes | CallError]] = {}

        async def branch(name: str) -> None:
            call = branches[name]
            got[name] = await caller.call_batch(call.plugin, call.export, payloads)

        async with anyio.create_task_group() as tg:
            for name in branches:
                tg.start_soon(branch, name)
        outcomes: list[_Outcome] = []
        for k in range(len(payloads)):
            merged: dict[str, Any] = {}
            failure: CallError | None = None
            for name in branches:  # the config's order: keys, and the first failure
                out = got[name][k]
                if isinstance(out, CallError):
                    failure = out
                    break
                try:
                    merged[name] = msgspec.json.decode(out)
                except msgspec.DecodeError:
                    merged[name] = out.decode("utf-8", "replace")
            outcomes.append(failure if failure is not None else msgspec.json.encode(merged))
        return outcomes
    flt = stage.filter
    assert flt is not None
    if flt.plugin is not None:
        assert flt.export is not None
        verdicts = await caller.call_batch(flt.plugin, flt.export, payloads)
        return [
            v if isinstance(v, CallError) else p if truthy_verdict(v) else None
            for p, v in zip(payloads, verdicts, strict=True)
        ]
    condition = flt.condition()
    assert condition is not None
    return [p if matches(condition, p) else None for p in payloads]


async def _feed_iterable(
    records: Iterable[bytes],
    window: _Window,
    size: Callable[[], int],
    stop: anyio.Event,
    send: MemoryObjectSendStream[_Batch],
    stats: PipelineStats,
) -> None:
    """A plain iterable, read a batch at a time once the batch has its window slots."""
    index = 0
    it: Iterator[bytes] = iter(records)
    while not stop.is_set():
        n = await window.take(size())
        if stop.is_set():
            window.give(n)
            return
        batch: _Batch = []
        for record in it:
            batch.append((index, record, record))
            index += 1
            if len(batch) == n:
                break
        window.give(n - len(batch))
        if batch:
            stats.taken += len(batch)
            await _put(send, batch)
        if len(batch) < n:
            return


async def _read_async(
    records: AsyncIterable[bytes],
    window: _Window,
    stop: anyio.Event,
    send: MemoryObjectSendStream[_Item],
    stats: PipelineStats,
) -> None:
    """An async iterable, a record at a time, each taking its window slot before it
    is read: nothing is read that is not taken (a stop leaves the rest unread)."""
    index = 0
    it = aiter(records)
    try:
        async with send:
            while not stop.is_set():
                await window.take(1)
                if stop.is_set():
                    window.give(1)
                    return
                try:
                    record = await anext(it)
                except StopAsyncIteration:
                    window.give(1)
                    return
                send.send_nowait((index, record, record))
                index += 1
                stats.taken = index
    finally:
        # Closed here, on the loop: left to the interpreter's shutdown, a source
        # holding a file closes it through a worker thread after the loop has gone,
        # and the process then waits for that thread forever.
        close = getattr(it, "aclose", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await close()


async def _feed_read(
    recv: MemoryObjectReceiveStream[_Item],
    size: Callable[[], int],
    send: MemoryObjectSendStream[_Batch],
) -> None:
    """Batch what :func:`_read_async` has read: whatever has come, up to a batch (a
    slow source is never waited on to fill one)."""
    async with recv:
        async for first in recv:
            batch = [first]
            most = size()
            while len(batch) < most:
                try:
                    batch.append(recv.receive_nowait())
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
            await _put(send, batch)


async def run_stream(
    caller: Caller,
    spec: PipelineSpec,
    records: Records,
    results: MemoryObjectSendStream[list[RecordResult]],
    *,
    ordered: bool | None = None,
    stop: anyio.Event | None = None,
    stats: PipelineStats | None = None,
) -> None:
    """Run ``records`` through ``spec`` and send one :class:`RecordResult` per record
    taken from the input to ``results`` (closed at the end), in lists: as many as
    are ready at once.

    With ``on_error: fail`` the first failure stops the intake; records already in
    flight still finish. ``stop`` set from outside (SIGINT) does the same.
    ``stats`` (a :class:`PipelineStats`) is updated live, for progress displays.
    """
    stats = stats if stats is not None else PipelineStats.for_spec(spec)
    ordered = spec.ordered if ordered is None else ordered
    window = _Window(spec.max_records_in_flight)
    stop = stop or anyio.Event()
    policy = spec.on_error if isinstance(spec.on_error, str) else "dead_letter"
    plans = [_plan(caller, stage) for stage in spec.stages]
    # Streams of batches: the window bounds the records, so a batch per slot is room.
    depth = spec.max_records_in_flight
    streams = [anyio.create_memory_object_stream[_Batch](depth) for _ in spec.stages]
    done_send, done_recv = anyio.create_memory_object_stream[list[RecordResult]](depth)
    dead_letters = _DeadLetters(spec) if policy == "dead_letter" else None

    async def feed() -> None:
        send = streams[0][0]
        async with send:
            if isinstance(records, AsyncIterable):
                read_send, read_recv = anyio.create_memory_object_stream[_Item](window.free)
                tg.start_soon(_read_async, records, window, stop, read_send, stats)
                await _feed_read(read_recv, plans[0][1], send)
            else:
                await _feed_iterable(records, window, plans[0][1], stop, send, stats)

    async def stage_task(
        i: int,
        sizer: Callable[[], int],
        recv: MemoryObjectReceiveStream[_Batch],
        nxt: MemoryObjectSendStream[_Batch] | None,
        done: MemoryObjectSendStream[list[RecordResult]],
    ) -> None:
        stage = spec.stages[i]
        name = stage.label
        counters = stats.stages[i]
        async with recv, done:
            async for batch in recv:
                size = sizer()
                while len(batch) < size:  # batches shrink (filters, errors): merge them
                    try:
                        batch = batch + recv.receive_nowait()
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                for at in range(0, len(batch), size):
                    chunk = batch[at : at + size]
                    counters.in_flight += len(chunk)
                    started = time.perf_counter()
                    try:
                        outcomes = await _stage_outcomes(caller, stage, [p for _, _, p in chunk])
                    finally:
                        counters.in_flight -= len(chunk)
                    elapsed = time.perf_counter() - started
                    onward: _Batch = []
                    finished: list[RecordResult] = []
                    ok = 0
                    for (index, original, _), out in zip(chunk, outcomes, strict=True):
                        if type(out) is bytes:  # the common case first
                            ok += 1
                            if nxt is None:
                                finished.append(
                                    RecordResult(index, True, out, None, None, original)
                                )
                            else:
                                onward.append((index, original, out))
                        elif out is None:
                            ok += 1
                            counters.dropped += 1
                            finished.append(
                                RecordResult(index, True, stage=name, input=original, dropped=True)
                            )
                        else:
                            assert isinstance(out, CallError)
                            counters.errors += 1
                            if policy == "fail":
                                stop.set()
                            if dead_letters is not None:
                                await dead_letters.write(index, name, out, original)
                            finished.append(
                                RecordResult(index, False, error=out, stage=name, input=original)
                            )
                    counters.record(elapsed, ok)
                    if onward:
                        assert nxt is not None
                        await _put(nxt, onward)
                    if finished:
                        await _put(done, finished)
            if nxt is not None:
                await nxt.aclose()

    async def emit(ready: list[RecordResult]) -> None:
        window.give(len(ready))
        for res in ready:
            if not res.ok:
                stats.failed += 1
            elif res.dropped:
                stats.dropped += 1
            else:
                stats.ok += 1
        await _put(results, ready)

    async def collect() -> None:
        async with done_recv, results:
            try:
                if not ordered:
                    async for ready in done_recv:
                        await emit(ready)
                    return
                waiting: dict[int, RecordResult] = {}
                next_index = 0
                async for finished in done_recv:
                    if not waiting and all(
                        res.index == next_index + j for j, res in enumerate(finished)
                    ):  # in order already (the common case): nothing to re-order
                        next_index += len(finished)
                        await emit(finished)
                        continue
                    for res in finished:
                        waiting[res.index] = res
                    ready = []
                    while next_index in waiting:
                        ready.append(waiting.pop(next_index))
                        next_index += 1
                    if ready:
                        await emit(ready)
            finally:
                if dead_letters is not None:
                    dead_letters.close()

    async with anyio.create_task_group() as tg:
        tg.start_soon(collect)
        for i, (tasks, size) in enumerate(plans):
            recv = streams[i][1]
            nxt = streams[i + 1][0] if i + 1 < len(plans) else None
            for _ in range(tasks):
                tg.start_soon(
                    stage_task,
                    i,
                    size,
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
