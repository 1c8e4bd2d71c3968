"""All instances of one plug-in: dispatch to the least-loaded, restart what dies."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import anyio
import anyio.abc
import structlog

from ..backends import Backend, ByRef
from ..config import PluginSpec
from ..errors import CallError, Overloaded, PluginCrashed, PluginLoadError, PluginUnavailable
from ..wire import Result
from ._restart import decide_restart
from ._worker import Router, WorkerHandle, WorkerState, _Group, _Pending, _Waiter

__all__ = ("PluginPool", "PluginStats")

log = structlog.get_logger("orchestra.supervisor")

WATCHDOG_GRACE = 2.0  # seconds past limits.timeout before a silent worker is killed
# Batches (call_group, pipeline stages) are sized to about this much work: enough to
# make the per-batch cost (a frame each way, a wake-up) small against the calls, and
# no more, so slow calls still spread over every instance (one 50 ms call a batch).
BATCH_WORK = 5e-3
BATCH_FIRST = 4  # the size before any call of the export has been timed


class _Admission(_Waiter):
    """A caller queued for a free slot; the pool submits its call when one frees.

    Waiting is FIFO with lazy deletion: a caller that gives up is only marked (and
    its payload dropped), and skipped when it reaches the head of its queue, so
    joining, leaving and being admitted are O(1) each.
    """

    __slots__ = (
        "args",
        "chain",
        "data",
        "exclude",
        "export",
        "group_args",
        "items",
        "parts",
        "pending",
        "seq",
        "state",
        "taken",
    )

    def __init__(
        self,
        export: str,
        data: bytes | ByRef,
        args: list[Any] | None,
        exclude: frozenset[int],
        chain: tuple[tuple[str, int], ...],
    ) -> None:
        # An asyncio future where there is a running asyncio loop (a few hundred bytes
        # less than an Event, and no extra wake-up); an anyio Event elsewhere (trio).
        super().__init__(_loop_future())
        self.export = export
        self.data = data
        self.args = args
        self.exclude = exclude
        self.chain = chain
        self.seq = 0  # arrival order over every queue of the pool (set as it queues)
        self.state = _QUEUED
        self.pending: _Pending | None = None
        # A group (call_group) instead of one call: its items go out as instances
        # have room, as many to each as fits; ``parts`` are (offset, group) so far.
        self.items: list[bytes | ByRef] | None = None
        self.group_args: list[list[Any] | None] | None = None
        self.taken = 0
        self.parts: list[tuple[int, _Group]] = []

    def wake(self, state: int) -> None:
        self.state = state
        self._wake()


_QUEUED, _ADMITTED, _REFUSED, _LEFT = range(4)


def _loop_future() -> Any:
    """A future of the running asyncio loop; None without one (trio: an Event)."""
    try:
        return asyncio.get_running_loop().create_future()
    except RuntimeError:
        return None


class PluginStats(dict[str, Any]):
    """A plain mapping (JSON-friendly) of one plug-in's counters."""


class PluginPool:
    """Owns ``spec.instances`` slots, each running a worker and restarting it.

    Callers wait (bounded by capacity, not by memory) when every instance holds
    ``max_in_flight`` calls; past ``max_waiting`` waiting callers a call fails at once
    with :class:`Overloaded`.
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
        # Waiting callers, one FIFO per set of instances to avoid: plain calls under
        # the empty set (always present), routed calls under what their chain holds.
        # There are few such sets, so admitting scans the heads, never the callers.
        self._plain: deque[_Admission] = deque()
        self._queues: dict[frozenset[int], deque[_Admission]] = {frozenset(): self._plain}
        self._seq = 0
        self.waiting = 0
        """Callers waiting for a free instance now (not those that gave up)."""
        self._left = 0  # callers that gave up, still in a queue
        self._restart_history: tuple[float, ...] = ()
        self.failures: deque[str] = deque(maxlen=10)
        self.restarts = 0
        self.resets = 0
        self.calls = 0
        self.errors = 0
        self.overloaded = 0
        self._latencies: deque[float] = deque(maxlen=4096)
        self._call_seconds: dict[str, float] = {}  # per export: a call's recent cost
        self.abi: str | None = None
        self._log = log.bind(plugin=name)

    # -- admission ----------------------------------------------------------------

    def _notify(self) -> None:
        """Capacity or health changed: admit queued callers, oldest first. A routed
        call that must avoid some instances (they wait on it up the chain) may be
        passed by later ones that fit elsewhere."""
        if not self.waiting:
            return
        if self.failed or self.closing:
            self._refuse_waiters()
            return
        queues = self._queues
        while self.waiting:
            free = self._pick()
            if free is None:
                break  # no room anywhere: everyone waits
            if len(queues) == 1:  # the common case: no routed caller waits
                head = self._head(self._plain)
                assert head is not None
                self._admit_head(self._plain, free)
                continue
            best: _Admission | None = None
            best_queue = self._plain
            best_worker = free
            for exclude, queue in queues.items():
                head = self._head(queue)
                if head is None or (best is not None and head.seq > best.seq):
                    continue
                worker = free if free.index not in exclude else self._pick(exclude)
                if worker is not None:
                    best, best_queue, best_worker = head, queue, worker
            if best is None:
                break
            self._admit_head(best_queue, best_worker)
        for exclude in [k for k, q in queues.items() if k and not q]:
            del queues[exclude]

    def _head(self, queue: deque[_Admission]) -> _Admission | None:
        """The oldest caller still waiting in ``queue`` (dropping those that left)."""
        while queue:
            head = queue[0]
            if head.state == _QUEUED:
                return head
            queue.popleft()
            self._left -= 1
        return None

    def _admit_head(self, queue: deque[_Admission], worker: WorkerHandle) -> None:
        waiter = queue[0]
        if waiter.items is not None:  # a group: as much as fits; it stays head until done
            self._submit_part(waiter, worker)
            if waiter.taken < len(waiter.items):
                return
            waiter.items = waiter.group_args = None
            queue.popleft()
            self.waiting -= 1
            waiter.wake(_ADMITTED)
            return
        queue.popleft()
        self.waiting -= 1
        waiter.pending = worker.submit(waiter.export, waiter.data, waiter.args, waiter.chain)
        waiter.data = b""
        waiter.wake(_ADMITTED)

    def _refuse_waiters(self) -> None:
        """The plug-in failed or is closing: every waiting caller gets PluginUnavailable."""
        for queue in self._queues.values():
            while queue:
                waiter = queue.popleft()
                if waiter.state == _QUEUED:
                    waiter.wake(_REFUSED)
        self._queues = {frozenset(): self._plain}
        self.waiting = self._left = 0

    def _leave(self, waiter: _Admission) -> None:
        """A waiting caller gave up (cancelled): O(1), amortised over the compactions
        that keep the queues from filling with callers that left."""
        waiter.state = _LEFT
        waiter.data = b""
        waiter.args = None
        self.waiting -= 1
        self._left += 1
        if self._left > 64 and self._left > self.waiting:
            for exclude, queue in list(self._queues.items()):
                live = deque(w for w in queue if w.state == _QUEUED)
                if exclude and not live:
                    del self._queues[exclude]
                    continue
                queue.clear()
                queue.extend(live)
            self._left = 0

    # -- lifecycle ----------------------------------------------------------------

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[PluginPool] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Start every instance concurrently; report started when all are ready.

        :raises PluginLoadError: one for the plug-in, however many instances failed
            (the message says how many); a ``ConfigError`` from the backend as is.
        """
        failures: list[tuple[int, Exception]] = []
        async with anyio.create_task_group() as tg:

            async def start_one(index: int) -> None:
                try:
                    await tg.start(self._slot, index)
                except Exception as exc:  # cancellation is not an Exception: it goes on
                    failures.append((index, exc))

            async with anyio.create_task_group() as start_tg:
                for index in range(self.spec.instances):
                    start_tg.start_soon(start_one, index)
            if failures:
                self.closing = True
                tg.cancel_scope.cancel("startup failed")
            else:
                task_status.started(self)
        if failures:
            raise self._startup_error(failures)

    def _startup_error(self, failures: list[tuple[int, Exception]]) -> Exception:
        """One error for the instances that failed to start (lowest instance first)."""
        errors = [exc for _, exc in sorted(failures, key=lambda f: f[0])]
        other = next((e for e in errors if not isinstance(e, PluginLoadError)), None)
        if other is not None:
            return other  # a ConfigError from the backend: the same for every instance
        messages: list[str] = []
        for exc in errors:
            assert isinstance(exc, PluginLoadError)
            if exc.message not in messages:
                messages.append(exc.message)
        message = messages[0]
        if len(messages) > 1:
            message += "; also: " + "; ".join(messages[1:3])
        if self.spec.instances > 1:
            message += f" ({len(errors)} of {self.spec.instances} instances failed to start)"
        return PluginLoadError(message, plugin=self.name)

    async def _slot(
        self, index: int, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Keep instance ``index`` alive until the pool closes or fails.

        The first start's failure goes to the starter (``task_status``). After that,
        a failed restart (load error, the worker dying or timing out while it starts,
        a spawn failure) is one more failure against the restart budget, like a
        crash: it backs off and retries, and at worst marks this plug-in failed. It
        never leaves this slot, so no other instance or plug-in is harmed.
        """
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
                await handle.start()
            except Exception as exc:  # cancellation goes on: it is not an Exception
                if first:
                    raise
                message = exc.message if isinstance(exc, PluginLoadError) else str(exc)
                reason = f"restart failed: {message}"
                self._log.warning("worker_restart_failed", instance=index, error=message)
            else:
                self.workers[index] = handle
                self.abi = handle.abi
                if first:
                    first = False
                    task_status.started()
                try:
                    await handle.serve()  # admits queued callers once it is ready
                except Exception as exc:  # a bug in serving one worker: not everyone's
                    self._log.exception("worker_serve_failed", instance=index, pid=handle.pid)
                    handle.exit_reason = f"serving failed: {type(exc).__name__}: {exc}"
                finally:
                    if self.workers[index] is handle:
                        self.workers[index] = None
                    self._notify()
                reason = handle.exit_reason or "exited"
            if self.closing or self.failed:
                return
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
        attempts = self._attempts
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
                self._count_call(outcome, started)
                return outcome
            assert isinstance(outcome, CallError)
            if isinstance(outcome, PluginCrashed) and attempt < attempts:
                continue
            self._count_call(outcome, started)
            # The error's traceback keeps this frame alive: drop a by-reference input
            # now rather than whenever the cycle is collected.
            data = b""
            raise outcome
        raise AssertionError("unreachable")

    def route_now(
        self,
        export: str,
        data: bytes,
        args: list[Any] | None,
        chain: tuple[tuple[str, int], ...],
        done: Callable[[Result | CallError], None],
    ) -> bool:
        """A routed call submitted at once to an instance with room, not blocked in
        ``chain``; ``done`` gets its outcome from the answer's wake-up. False (nothing
        submitted) when it must queue, may be retried or would close a cycle: the
        awaited :meth:`call` handles those."""
        if self._attempts > 1:
            return False
        exclude = self._blocked(chain)
        if len(exclude) >= self.spec.instances:
            return False
        pending = self._submit_now(export, data, args, chain, exclude)
        if pending is None:
            return False
        started = time.perf_counter()

        def finish(woken: _Pending) -> None:
            outcome = woken.outcome
            assert outcome is not None
            self._count_call(outcome, started)
            done(outcome)

        pending.then = finish
        return True

    @property
    def _attempts(self) -> int:
        """Tries a call gets: ``retry.attempts``, else one."""
        return self.spec.retry.attempts if self.spec.retry else 1

    def _blocked(self, chain: tuple[tuple[str, int], ...]) -> frozenset[int]:
        """This plug-in's instances waiting upstream in a route ``chain``: a routed
        call must avoid them (they would deadlock)."""
        return frozenset(i for p, i in chain if p == self.name)

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
        if not self.waiting or exclude:
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
        exclude = self._blocked(chain)
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
        refused = self._refusal(export)
        if refused is not None:
            raise refused
        admission = _Admission(export, data, args, exclude, chain)
        await self._wait_in_line(admission)
        if admission.pending is None:
            raise self._unavailable(export)
        return admission.pending

    def _refusal(self, export: str) -> CallError | None:
        """Why a caller that found no room may not wait for it, if it may not: the
        plug-in failed or is closing, or ``max_waiting`` callers already wait."""
        if self.failed or self.closing:
            return self._unavailable(export)
        limit = self.spec.max_waiting
        if limit is not None and self.waiting >= limit:
            self.overloaded += 1
            return Overloaded(
                f"every instance is busy and {self.waiting} callers already wait "
                f"(max_waiting: {limit}); retry later, or raise plugins.{self.name}."
                "max_waiting or instances",
                plugin=self.name,
                export=export,
            )
        return None

    async def _wait_in_line(self, admission: _Admission) -> None:
        """Queue ``admission`` behind every caller already waiting (in the queue of
        the instances it must avoid) until it is admitted or refused."""
        self._seq += 1
        admission.seq = self._seq
        queue = self._queues.get(admission.exclude)
        if queue is None:
            queue = self._queues[admission.exclude] = deque()
        queue.append(admission)
        self.waiting += 1
        try:
            await admission.wait()
        except BaseException:
            if admission.state == _QUEUED:
                self._leave(admission)
            raise

    async def call_group(
        self,
        export: str,
        items: list[bytes],
        args: list[list[Any] | None] | None = None,
    ) -> list[bytes | Result | CallError]:
        """Many calls of ``export`` at once (a pipeline stage's batch): one outcome per
        item, in order: its output (``bytes`` when inline, else its ``Result``) or its
        own typed ``CallError`` (returned, never raised). The items go to the
        least-loaded instances with room, as many to each as its ``max_in_flight``
        allows, queueing first-come first-served for the rest like single calls; each
        instance's share is one ``submit_group``, so the caller wakes once per share,
        not once per call. ``retry:`` re-sends only the items that got
        ``PluginCrashed``.
        """
        n = len(items)
        attempts = self._attempts
        started = time.perf_counter()
        store = self._backend.payloads
        sent: list[bytes | ByRef] = list(items)
        if store is not None:
            for k, data in enumerate(items):
                if len(data) >= store.threshold:
                    sent[k] = await store.put(data) or data
        parts, error = await self._submit_group(export, sent, args)
        if error is None and len(parts) == 1:
            group = parts[0][1]  # the common case: one share, nothing to retry
            await group.wait()
            self._timed(export, group)
            if attempts == 1 or not group.failed:
                self._count(n, group.failed, time.perf_counter() - started)
                return group.outcomes  # type: ignore[return-value]
        # Retries: a call that was *running* when its worker died (the likely cause)
        # spends an attempt and goes again alone, so that a record that kills its
        # worker every time takes nobody else with it; calls that were only queued
        # behind it go again together without spending one (within a bound).
        outcomes: list[bytes | Result | CallError | None] = [None] * n
        tries, spared = [0] * n, [0] * n
        todo = list(range(n))
        shares = [(todo, parts, error)]
        while shares:
            again: list[int] = []
            for ks, share_parts, share_error in shares:
                covered = 0
                for offset, group in share_parts:
                    await group.wait()
                    self._timed(export, group)
                    for j, outcome in enumerate(group.outcomes):
                        k = ks[offset + j]
                        outcomes[k] = outcome
                        if isinstance(outcome, PluginCrashed) and attempts > 1:
                            if j in group.behind:
                                spared[k] += 1
                                if spared[k] <= 4 * attempts:
                                    again.append(k)
                            else:
                                tries[k] += 1
                                if tries[k] < attempts:
                                    again.append(k)
                    covered = max(covered, offset + len(group.outcomes))
                if share_error is not None:  # not submitted at all: unavailable, overloaded
                    for k in ks[covered:]:
                        outcomes[k] = share_error
            shares = []
            if again:
                rest = [k for k in again if not tries[k]]
                groups = [[k] for k in again if tries[k]] + ([rest] if rest else [])
                for ks in groups:
                    share_parts, share_error = await self._submit_group(
                        export,
                        [sent[k] for k in ks],
                        None if args is None else [args[k] for k in ks],
                    )
                    shares.append((ks, share_parts, share_error))
        sent = []
        failed = sum(1 for o in outcomes if isinstance(o, CallError))
        self._count(n, failed, time.perf_counter() - started)
        return outcomes  # type: ignore[return-value]

    def _count_call(self, outcome: Result | CallError, started: float) -> None:
        """One call's final outcome in the counters (a success's latency too)."""
        self.calls += 1
        if isinstance(outcome, CallError):
            self.errors += 1
        else:
            self._latencies.append(time.perf_counter() - started)

    def _count(self, n: int, failed: int, seconds: float) -> None:
        """A group's calls in the counters: each took about ``seconds`` (at most 64
        samples a group, so one large group does not fill the latency window)."""
        self.calls += n
        self.errors += failed
        self._latencies.extend([seconds] * min(n, 64))

    def batch_size(self, export: str | None = None) -> int:
        """Calls of ``export`` per batch: about ``BATCH_WORK`` of them by their recent
        cost, at most half an instance's ``max_in_flight`` (one batch runs while the
        next waits); without ``export``, that most."""
        most = max(1, self.spec.max_in_flight // 2)
        if export is None:
            return most
        cost = self._call_seconds.get(export)
        if cost is None:
            return min(BATCH_FIRST, most)
        return max(1, min(most, int(BATCH_WORK / cost) if cost > 0 else most))

    def _timed(self, export: str, group: _Group) -> None:
        """Learn a call's cost from the worker's time in a group's batched calls."""
        if group.seconds > 0:
            cost = group.seconds / len(group.outcomes)
            old = self._call_seconds.get(export)
            self._call_seconds[export] = cost if old is None else 0.75 * old + 0.25 * cost

    async def _submit_group(
        self,
        export: str,
        items: list[bytes | ByRef],
        args: list[list[Any] | None] | None,
    ) -> tuple[list[tuple[int, _Group]], CallError | None]:
        """Submit ``items`` as shares to instances with room, waiting in line for
        room for the rest. :returns: the (offset, group) shares, and the error for
        the items past the last share when they could not be submitted."""
        admission = _Admission(export, b"", None, frozenset(), ())
        admission.items = items
        admission.group_args = args
        if not self.waiting:
            while admission.taken < len(items):
                worker = self._pick()
                if worker is None:
                    break
                self._submit_part(admission, worker)
        if admission.taken == len(items):
            return admission.parts, None
        refused = self._refusal(export)
        if refused is not None:
            return admission.parts, refused
        await self._wait_in_line(admission)
        if admission.state != _ADMITTED:
            return admission.parts, self._unavailable(export)
        return admission.parts, None

    def _submit_part(self, admission: _Admission, worker: WorkerHandle) -> None:
        """As many of a group's remaining items as ``worker`` has room for."""
        items = admission.items
        assert items is not None
        start = admission.taken
        end = min(len(items), start + max(1, self.spec.max_in_flight - worker.in_flight))
        args = admission.group_args
        part = worker.submit_group(
            admission.export, items[start:end], None if args is None else args[start:end]
        )
        admission.parts.append((start, part))
        admission.taken = end

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
            waiting=self.waiting,
            overloaded=self.overloaded,
            last_failure=self.failures[-1] if self.failures else None,
            failures=list(self.failures),
            latency_ms={"p50": pct(0.50), "p99": pct(0.99)},
            pids=[w.pid for w in live],
        )
