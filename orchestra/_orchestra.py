"""The public entry point: ``async with Orchestra(config) as orch``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Iterable
from types import TracebackType
from typing import Any

import anyio
import anyio.abc
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream

from ._logging import configure_logging
from ._paths import default_cache_dir
from .backends import Backend, get_backend
from .config import Config, ConfigFile, LocalBackendSpec, RayBackendSpec
from .errors import CallError, ConfigError, OrchestraError
from .pipeline import (
    PipelineStats,
    RecordResult,
    core_args,
    missing_export,
    run_stream,
    stage_calls,
)
from .supervision import Supervisor
from .wire import Result

__all__ = ("Orchestra", "PipelineRun")


def _backend_for(config: Config) -> Backend:
    spec = config.backend
    if isinstance(spec, str):
        return get_backend(spec)
    if isinstance(spec, LocalBackendSpec):
        return get_backend("local")
    assert isinstance(spec, RayBackendSpec)
    return get_backend("ray", spec=spec)


def _unwrap(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


class Orchestra:
    """Runs a config's plug-ins for as long as the context is open.

    Works under asyncio and trio (anyio). ``log_level`` filters what plug-ins log
    (Extism ``log_*``) before it crosses the process boundary. Entering starts every instance of every
    plug-in concurrently and returns when all are ready; leaving drains and stops
    them (Shutdown, then SIGTERM, then SIGKILL, each bounded).

    :raises PluginLoadError: on enter, when a plug-in cannot load.
    """

    def __init__(
        self,
        config: Config,
        *,
        cache_dir: str | None = None,
        shutdown_grace: float = 5.0,
        backend: Backend | None = None,
        log_level: str = "info",
    ) -> None:
        self.config = config
        self._log_level = log_level
        self._cache_dir = cache_dir or str(default_cache_dir() / "modules")
        self._grace = shutdown_grace
        self._backend = backend
        self._tg: anyio.abc.TaskGroup | None = None
        self._supervisor: Supervisor | None = None

    async def __aenter__(self) -> Orchestra:
        if not structlog.is_configured():
            # structlog's own default prints to stdout, where results go: a library
            # user who configured nothing gets warnings on stderr instead. (The CLI
            # configures explicitly; this is the one departure from "only cli.py
            # chooses renderers", for that reason.)
            configure_logging("console", "warning")
        backend = self._backend or _backend_for(self.config)
        supervisor = Supervisor(
            self.config,
            backend,
            cache_dir=self._cache_dir,
            shutdown_grace=self._grace,
            log_level=self._log_level,
        )
        tg = anyio.create_task_group()
        await tg.__aenter__()
        try:
            self._supervisor = await tg.start(supervisor.run)
        except BaseException as exc:
            supervisor.stop()
            try:
                await tg.__aexit__(type(exc), exc, exc.__traceback__)
            except BaseException as group:
                raise _unwrap(group) from None
            finally:
                with anyio.CancelScope(shield=True):
                    await backend.aclose()
            raise _unwrap(exc) from None
        self._tg = tg
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._tg is not None and self._supervisor is not None
        self._supervisor.stop()
        tg, self._tg = self._tg, None
        if exc is None or isinstance(exc, Exception):
            # An ordinary error in the body still drains the workers gracefully; only
            # cancellation (or KeyboardInterrupt) cuts straight to killing them.
            with anyio.CancelScope(shield=True), anyio.move_on_after(self._grace + 3):
                await self._supervisor.done.wait()
        try:
            return await tg.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            raise _unwrap(group) from None
        finally:
            await self._supervisor.backend.aclose()

    @property
    def supervisor(self) -> Supervisor:
        if self._supervisor is None or self._tg is None:
            raise OrchestraError("Orchestra is not running: use `async with Orchestra(config)`")
        return self._supervisor

    async def call(self, plugin: str, export: str, data: bytes | str | list[Any] = b"") -> Any:
        """Call ``plugin.export`` on its least-loaded instance.

        Bytes ABIs (extism, wasi-command) take and return ``bytes`` (``str`` is
        UTF-8 encoded); the core ABI takes a list of numbers and returns a list.

        :raises CallError: a typed subclass (``PluginTrap``, ``PluginTimeout``, ...).
        """
        pool = self.supervisor.pool(plugin, export)
        if isinstance(data, list):
            result = await pool.call(export, b"", data)
            return result.values if result.values is not None else []
        payload = data.encode() if isinstance(data, str) else bytes(data)
        if pool.abi == "core":
            result = await pool.call(export, b"", core_args(payload) if payload else [])
            return result.values if result.values is not None else []
        result = await pool.call(export, payload, None)
        return result.data

    # The pipeline's view of us (pipeline.Caller).
    async def call_batch(
        self, plugin: str, export: str, items: list[bytes]
    ) -> list[bytes | CallError]:
        try:
            pool = self.supervisor.pool(plugin, export)
        except CallError as exc:
            return [exc] * len(items)
        if pool.abi != "core":
            outcomes = await pool.call_group(export, items)
            if all(type(o) is bytes for o in outcomes):  # inline outputs: as they are
                return outcomes  # type: ignore[return-value]
            return [o.data if isinstance(o, Result) else o for o in outcomes]
        out: list[bytes | CallError] = [b""] * len(items)
        args: list[list[Any] | None] = []
        at: list[int] = []
        for k, data in enumerate(items):
            try:
                args.append(core_args(data))
                at.append(k)
            except ConfigError as exc:
                out[k] = CallError(str(exc), plugin=plugin, export=export)
        if at:
            outcomes = await pool.call_group(export, [b""] * len(at), args)
            for k, o in zip(at, outcomes, strict=True):
                out[k] = json.dumps(o.values).encode() if isinstance(o, Result) else o
        return out

    def capacity(self, plugin: str) -> int:
        spec = self.config.plugins[plugin]
        return spec.instances * spec.max_in_flight

    def batch_size(self, plugin: str, export: str | None = None) -> int:
        return self.supervisor.pool(plugin).batch_size(export)

    def run_pipeline(
        self,
        name: str,
        records: Iterable[bytes] | AsyncIterable[bytes],
        *,
        ordered: bool | None = None,
    ) -> PipelineRun:
        """Stream ``records`` through pipeline ``name``; iterate the result for one
        :class:`RecordResult` per record, in input order unless ``ordered=False``.

        :raises ConfigError: no such pipeline, or a stage names an export its plug-in
            does not have (checked against the loaded instances, before any record is
            taken).
        """
        try:
            spec = self.config.pipelines[name]
        except KeyError:
            raise ConfigError(
                f"no pipeline named {name!r} (configured: {', '.join(sorted(self.config.pipelines)) or 'none'})"
            ) from None
        for at, plugin, export in stage_calls(spec):
            pool = self.supervisor.pools.get(plugin)
            ready = [w for w in pool.workers if w is not None] if pool is not None else []
            if ready and pool is not None and pool.abi is not None:
                problem = missing_export(plugin, pool.abi, ready[0].exports, export)
                if problem is not None:
                    raise ConfigFile.unlocated(self.config).error(("pipelines", name, *at), problem)
        return PipelineRun(self, spec, records, ordered)

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per plug-in: instances, calls, errors, restarts, latency p50/p99 (ms)."""
        return {k: dict(v) for k, v in self.supervisor.stats().items()}


class PipelineRun:
    """An async iterator of :class:`RecordResult`; also an async context manager
    (leaving it early cancels the rest of the run)."""

    def __init__(self, orch: Orchestra, spec: Any, records: Any, ordered: bool | None) -> None:
        self._orch = orch
        self._spec = spec
        self._records = records
        self._ordered = ordered
        self._recv: MemoryObjectReceiveStream[list[RecordResult]] | None = None
        self._ready: list[RecordResult] = []  # the batch being yielded, from _next
        self._next = 0
        self._scope = anyio.CancelScope()
        self.stop_event = anyio.Event()
        self.stats = PipelineStats.for_spec(spec)
        """Live counters (records taken/ok/failed/dropped, per stage), see PipelineStats."""
        self.yielded = 0

    def _start(self) -> MemoryObjectReceiveStream[list[RecordResult]]:
        if self._recv is None:
            # Lists of results, past the window (freed as they are sent): a few
            # keep memory bounded by a small multiple of the window.
            send, self._recv = anyio.create_memory_object_stream[list[RecordResult]](4)
            assert self._orch._tg is not None

            async def drive() -> None:
                try:
                    with self._scope:
                        await run_stream(
                            self._orch,
                            self._spec,
                            self._records,
                            send,
                            ordered=self._ordered,
                            stop=self.stop_event,
                            stats=self.stats,
                        )
                finally:
                    send.close()  # also when abandoned: the consumer must see the end

            self._orch._tg.start_soon(drive)
        return self._recv

    def stop(self) -> None:
        """Stop taking input; records in flight still finish and are yielded."""
        self.stop_event.set()

    def abandon(self) -> None:
        """Stop now: records still in flight are dropped (see :attr:`in_flight`)."""
        self._scope.cancel("pipeline abandoned")

    @property
    def in_flight(self) -> int:
        """Records taken from the input and not yet yielded."""
        return self.stats.taken - self.yielded

    def __aiter__(self) -> PipelineRun:
        return self

    async def __anext__(self) -> RecordResult:
        ready, k = self._ready, self._next
        if k == len(ready):
            recv = self._start()
            try:
                ready = self._ready = await recv.receive()
            except anyio.EndOfStream:
                recv.close()  # iterated to the end: nothing else will close it
                raise StopAsyncIteration from None
            k = 0
        self._next = k + 1
        self.yielded += 1
        return ready[k]

    async def aclose(self) -> None:
        self._scope.cancel("pipeline consumer left")
        if self._recv is not None:
            self._recv.close()

    async def __aenter__(self) -> PipelineRun:
        self._start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
