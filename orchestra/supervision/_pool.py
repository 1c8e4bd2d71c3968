"""All instances of one plug-in: dispatch to the least-loaded, restart what dies."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import anyio
import anyio.abc
import structlog

from ..backends import Backend, ByRef
from ..config import PluginSpec
from ..errors import CallError, PluginCrashed, PluginLoadError, PluginUnavailable
from ..wire import Result
from ._restart import decide_restart
from ._worker import Router, WorkerHandle, WorkerState, _Pending

__all__ = ("PluginPool", "PluginStats")

log = structlog.get_logger("orchestra.supervisor")

WATCHDOG_GRACE = 2.0  # seconds past limits.timeout before a silent worker is killed


class _Admission:
    """A caller queued for a free slot; the pool submits its call when one frees."""

    __slots__ = ("admitted", "args", "chain", "data", "exclude", "export", "pending")

    def __init__(
        self,
        export: str,
        data: bytes | ByRef,
        args: list[Any] | None,
        exclude: frozenset[int],
        chain: tuple[tuple[str, int], ...],
    ) -> None:
        self.export = export
        self.data = data
        self.args = args
        self.exclude = exclude
        self.chain = chain
        self.admitted = anyio.Event()
        self.pending: _Pending | None = None


class PluginStats(dict[str, Any]):
    """A plain mapping (JSON-friendly) of one plug-in's counters."""


class PluginPool:
    """Owns ``spec.instances`` slots, each running a worker and restarting it.

    Callers wait (bounded by capacity, not by memory) when every instance holds
    ``max_in_flight`` calls.
    """

    def __init__(
        self,
        name: str,
        spec: PluginSpec,
        backend: Backend,
        *,
        cache_dir: str | None,
        log_level: str = "info",
        host_plugin_paths: list[str] | None = None,
        host_plugin_options: dict[str, dict[str, str]] | None = None,
        router: Router | None = None,
    ) -> None:
        self.name = name
        self._router = router
        self._host_plugin_paths = host_plugin_paths
        self._host_plugin_options = host_plugin_options
        self.spec = spec
        self._backend = backend
        self._cache_dir = cache_dir
        self._log_level = log_level
        self.workers: list[WorkerHandle | None] = [None] * spec.instances
        self.failed: str | None = None
        self.closing = False
        self._waiters: deque[_Admission] = deque()
        self._restart_history: tuple[float, ...] = ()
        self.failures: deque[str] = deque(maxlen=10)
        self.restarts = 0
        self.resets = 0
        self.calls = 0
        self.errors = 0
        self._latencies: deque[float] = deque(maxlen=4096)
        self.abi: str | None = None
        self._log = log.bind(plugin=name)

    # -- lifecycle ----------------------------------------------------------------

    def _notify(self) -> None:
        """Capacity or health changed: admit queued callers, oldest first."""
        waiters = self._waiters
        if waiters and self._pick() is not None:
            # Oldest first; a routed call that must avoid some instances (they wait on
            # it up the chain) may be passed by later ones that fit elsewhere.
            for waiter in list(waiters):
                worker = self._pick(waiter.exclude)
                if worker is None:
                    if not waiter.exclude:
                        break  # no room anywhere: everyone behind waits too
                    continue
                waiters.remove(waiter)
                waiter.pending = worker.submit(
                    waiter.export, waiter.data, waiter.args, waiter.chain
                )
                waiter.admitted.set()
        if waiters and (self.failed or self.closing):
            while waiters:
                waiters.popleft().admitted.set()  # pending stays None: unavailable

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[PluginPool] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Start every instance concurrently; report started when all are ready.

        :raises PluginLoadError: an instance failed to load (the first failure).
        """
        async with anyio.create_task_group() as tg:
            starters = [tg.start(self._slot, i) for i in range(self.spec.instances)]
            errors: list[BaseException] = []

            async def start_one(coro: Any) -> None:
                try:
                    await coro
                except PluginLoadError as exc:
                    errors.append(exc)

            async with anyio.create_task_group() as start_tg:
                for coro in starters:
                    start_tg.start_soon(start_one, coro)
            if errors:
                tg.cancel_scope.cancel("startup failed")
                raise errors[0]
            task_status.started(self)

    async def _slot(
        self, index: int, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Keep instance ``index`` alive until the pool closes or fails."""
        first = True
        while True:
            handle = WorkerHandle(
                self.name,
                index,
                self.spec,
                self._backend,
                cache_dir=self._cache_dir,
                log_level=self._log_level,
                host_plugin_paths=self._host_plugin_paths,
                host_plugin_options=self._host_plugin_options,
                on_change=self._notify,
                on_reset=self._count_reset,
                router=self._router,
            )
            try:
                async with anyio.create_task_group() as tg:
                    await tg.start(handle.run)
                    self.workers[index] = handle
                    self.abi = handle.abi
                    # Admit callers queued while no instance was ready (after a
                    # restart nothing else would wake them).
                    self._notify()
                    if first:
                        first = False
                        task_status.started()
            except PluginLoadError as exc:
                if first:
                    raise
                self.failures.append(f"instance {index}: restart failed: {exc}")
            finally:
                if self.workers[index] is handle:
                    self.workers[index] = None
                self._notify()
            if self.closing:
                return
            reason = handle.exit_reason or "exited"
            self.failures.append(f"instance {index}: {reason}")
            decision = decide_restart(self.spec.restart, self._restart_history, time.monotonic())
            self._restart_history = decision.history
            if not decision.allowed:
                self._mark_failed()
                return
            self.restarts += 1
            self._log.info(
                "worker_restarting", instance=index, delay=round(decision.delay, 3), reason=reason
            )
            await anyio.sleep(decision.delay)
            if self.closing or self.failed:
                return

    def _count_reset(self, reason: str) -> None:
        self.resets += 1
        self.failures.append(reason)

    def _mark_failed(self) -> None:
        if self.failed is None:
            restart = self.spec.restart
            self.failed = (
                f"more than {restart.max_restarts} restarts within {float(restart.within):g}s"
            )
            self._log.error("plugin_failed", reason=self.failed, failures=list(self.failures))
            for worker in self.workers:
                if worker is not None:
                    worker.kill("plug-in failed")
            self._notify()

    async def aclose(self, grace: float = 5.0) -> None:
        """Drain and stop every instance with escalation."""
        self.closing = True
        self._notify()
        async with anyio.create_task_group() as tg:
            for worker in self.workers:
                if worker is not None:
                    tg.start_soon(worker.stop, grace)

    def watchdog(self, now: float) -> None:
        """Kill workers that hold calls but stopped answering (native code that never
        returns to wasm, a wedged worker)."""
        timeout = self.spec.limits.timeout
        if timeout is None:
            return
        limit = float(timeout) + WATCHDOG_GRACE
        for worker in self.workers:
            if worker is not None and worker.accepting and worker.oldest_call_age(now) > limit:
                worker.kill(f"watchdog: no answer within {limit:g}s", timed_out=True)

    # -- calls ----------------------------------------------------------------------

    def _pick(self, exclude: frozenset[int] = frozenset()) -> WorkerHandle | None:
        best: WorkerHandle | None = None
        cap = self.spec.max_in_flight
        for worker in self.workers:
            if worker is not None and worker.state is WorkerState.READY:
                if worker.index in exclude:
                    continue
                n = worker.in_flight
                if n < cap and (best is None or n < best.in_flight):
                    best = worker
                    if n == 0:
                        break
        return best

    def _unavailable(self, export: str) -> PluginUnavailable:
        if self.failed:
            msg = f"plug-in failed ({self.failed}); recent failures: " + "; ".join(self.failures)
        else:
            msg = "plug-in is shutting down"
        return PluginUnavailable(msg, plugin=self.name, export=export, failures=list(self.failures))

    async def call(
        self,
        export: str,
        data: bytes | ByRef = b"",
        args: list[Any] | None = None,
        *,
        chain: tuple[tuple[str, int], ...] = (),
    ) -> Result:
        """Send one call to the least-loaded ready instance and wait for its answer.

        A large ``data`` goes into the backend's object store first, when it has one
        (held until this call ends, retries included); a :class:`ByRef` is sent as is.

        :raises CallError: a typed subclass.
        """
        attempts = self.spec.retry.attempts if self.spec.retry else 1
        started = time.perf_counter()
        store = self._backend.payloads
        if store is not None and isinstance(data, bytes) and len(data) >= store.threshold:
            data = await store.put(data) or data
        for attempt in range(1, attempts + 1):
            # The common case without a coroutine of its own (about 1 µs each): no
            # route chain, and an instance takes the call at once.
            pending = None if chain else self._submit_now(export, data, args, chain)
            if pending is None:
                pending = await self._admit(export, data, args, chain)
            if pending.future is not None:
                await pending.future
            else:
                await pending.wait()
            outcome = pending.outcome
            if isinstance(outcome, Result):
                self.calls += 1
                self._latencies.append(time.perf_counter() - started)
                return outcome
            assert isinstance(outcome, CallError)
            if isinstance(outcome, PluginCrashed) and attempt < attempts:
                continue
            self.calls += 1
            self.errors += 1
            # The error's traceback keeps this frame alive: drop a by-reference input
            # now rather than whenever the cycle is collected.
            data = b""
            raise outcome
        raise AssertionError("unreachable")

    def _submit_now(
        self,
        export: str,
        data: bytes | ByRef,
        args: list[Any] | None,
        chain: tuple[tuple[str, int], ...] = (),
        exclude: frozenset[int] = frozenset(),
    ) -> _Pending | None:
        """Submit to the least-loaded instance with room, unless callers are queued
        (they go first; a routed call avoiding some instances need not wait); None
        when the call has to queue."""
        if not self._waiters or exclude:
            worker = self._pick(exclude)
            if worker is not None:
                return worker.submit(export, data, args, chain)
        return None

    async def _admit(
        self,
        export: str,
        data: bytes | ByRef,
        args: list[Any] | None,
        chain: tuple[tuple[str, int], ...] = (),
    ) -> _Pending:
        """Submit to the least-loaded instance with room, or queue first-come
        first-served: a caller never overtakes one that waited longer, so no caller
        starves while others keep the slots busy."""
        exclude = frozenset(i for p, i in chain if p == self.name)
        if exclude and len(exclude) >= self.spec.instances:
            path = " -> ".join(f"{p}#{i}" for p, i in chain)
            raise CallError(
                f"route cycle refused: every instance of {self.name!r} is waiting on this "
                f"chain ({path} -> {self.name}); give {self.name!r} more instances or "
                "break the cycle",
                plugin=self.name,
                export=export,
            )
        pending = self._submit_now(export, data, args, chain, exclude)
        if pending is not None:
            return pending
        if self.failed or self.closing:
            raise self._unavailable(export)
        admission = _Admission(export, data, args, exclude, chain)
        self._waiters.append(admission)
        try:
            await admission.admitted.wait()
        except BaseException:
            if admission.pending is None:
                self._waiters.remove(admission)
            raise
        if admission.pending is None:
            raise self._unavailable(export)
        return admission.pending

    def stats(self) -> PluginStats:
        lat = sorted(self._latencies)

        def pct(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1e3, 3) if lat else None

        live = [w for w in self.workers if w is not None]
        return PluginStats(
            abi=self.abi,
            instances=self.spec.instances,
            ready=sum(1 for w in live if w.state is WorkerState.READY),
            in_flight=sum(w.in_flight for w in live),
            calls=self.calls,
            errors=self.errors,
            restarts=self.restarts,
            resets=self.resets,
            failed=self.failed,
            last_failure=self.failures[-1] if self.failures else None,
            latency_ms={"p50": pct(0.50), "p99": pct(0.99)},
            pids=[w.pid for w in live],
        )
