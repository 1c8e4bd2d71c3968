"""The supervisor's handle on one worker: framing, batching, call matching, death.

Hot path shape (chosen by measurement, see docs/performance.md): callers encode their frame straight into
the handle's outbox and wake one writer task, which sends everything queued in one
write; one reader task decodes every frame a read returns and wakes the matching
callers. No task hand-off per message in either direction beyond the caller's own
wait.
"""

from __future__ import annotations

import enum
import functools
import signal
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import anyio
import structlog

from ..backends import Backend, ByRef, FastIO, PayloadLost, WorkerChannel
from ..config import PluginSpec, encode_spec
from ..errors import (
    CallError,
    ConfigError,
    PluginCrashed,
    PluginLoadError,
    PluginTimeout,
    ProtocolError,
    call_error_from_kind,
)
from ..wire import (
    COPY_AFTER_SEND,
    LOG_LEVELS,
    RESERVED_LOG_FIELDS,
    SHM_THRESHOLD,
    Call,
    CallBatch,
    CallFailed,
    FrameDecoder,
    Init,
    InitFailed,
    Log,
    Message,
    Ready,
    Release,
    Result,
    Results,
    RouteCall,
    RouteResult,
    ShmRings,
    Shutdown,
    check_from_worker,
    encode,
    encode_into,
    tune_malloc,
)
from ._cpus import usable_cpus

__all__ = ("Router", "WorkerHandle", "WorkerState")


class Router(Protocol):
    """Serves the routed calls of workers (the supervisor)."""

    async def route(
        self,
        plugin: str,
        export: str,
        data: bytes | ByRef,
        args: list[Any] | None,
        chain: tuple[tuple[str, int], ...],
    ) -> Result:
        """``plugin.export``'s answer, awaited (queueing, retries, payload store).

        :raises CallError: a typed subclass."""
        ...

    def route_now(
        self,
        plugin: str,
        export: str,
        data: bytes,
        args: list[Any] | None,
        chain: tuple[tuple[str, int], ...],
        done: Callable[[Result | CallError], None],
    ) -> bool:
        """Submit at once if an instance has room (no task, no await): ``done`` gets
        the outcome. False when the call has to take the awaited way."""
        ...


log = structlog.get_logger("orchestra.supervisor")

_FETCH_GRACE = 10.0  # seconds a stopped worker is kept for outputs still being read
SPIN_MAX = 200e-6  # seconds: lone calls answered faster than this are waited for busily
SPIN_LONG = 2e-3  # ... and up to this when a core is free for the spin
# After answering a lone call (with a core to spare) the worker polls this long for
# the next before sleeping: a caller one call at a time sends it within ~70 µs, and
# the worker's wake-up from recv costs 15-20 µs on these VMs. Interleaved in one run,
# one caller: 16 B p50 124.7 -> 108.1 µs, 1 KiB 6,329 -> 8,124 calls/s; 128 callers
# unchanged within the noise (their calls are rarely lone).
LINGER = 150e-6
DOZE_EARLY, DOZE_LEAD = 0.15, 50e-6  # long lone calls: spin from this far before the answer
CPUS = usable_cpus()  # affinity mask, capped by a container's CPU quota
# Handles with calls in flight, over every pool (for the spin and the linger). A plain
# set kept up to date where ``_pending`` fills and empties: counting over a WeakSet of
# every handle cost 6-10 µs per lone call.
_BUSY: set[WorkerHandle] = set()


def spin_window(rtt: float, busy: int = 1) -> float:
    """How long the event loop stays busy after sending a lone call (one to an idle
    worker) instead of sleeping until its answer. ``rtt`` is the worker's recent round
    trip (0 before any is known: no spin); ``busy`` the number of workers with calls
    in flight, this one included. Never when they and the supervisor need more cores
    than there are (the spin would take a worker's CPU).

    * Answers within ``SPIN_MAX``: twice the round trip. Sleeping costs the
      supervisor a wake-up of about 45 µs of CPU on these VMs (one call at a time it
      spent 49 µs per call against 9.7 µs batched), so the spin costs about the CPU
      it saves, and halves the latency (16 B p50 100 -> 53 µs).
    * Up to ``SPIN_LONG`` (large payloads, ~1 MiB): until the expected call and half
      again, but dozing first (:func:`doze`): the wake-up is ~3-5 % of a 1 MiB call
      (1 MiB p50 1.07 -> 1.01 ms when first spun for).
    * Slower answers: none (a wake-up is a small part of them)."""
    if rtt <= 0 or busy >= CPUS:
        return 0.0
    if rtt < SPIN_MAX:
        return 2 * rtt
    return 1.5 * rtt if rtt < SPIN_LONG else 0.0


def doze(rtt: float) -> float:
    """How long the loop sleeps before a lone call's spin starts: none for calls
    within ``SPIN_MAX``; for longer ones until ``DOZE_EARLY`` of the round trip and
    ``DOZE_LEAD`` before the expected answer, on a timer precise to the µs (asyncio's
    own round to 1 ms; backends/_alarm.py). The wake-up from it is off the answer's
    path, so latency is as with a spin from the start (1 MiB p50 1.388 against 1.394
    ms) at a third of the supervisor's CPU (0.41 against 1.35 ms per call), and the
    core stays free meanwhile: for other work, and for a plug-in on its SMT sibling,
    which a spinning core slows (in-process 1 MiB p75 1.53 -> 1.82 ms with a Python
    spinner on the other vCPU, seen here). Dozing until 5 % + 30 µs before was late
    (+26 µs), and not spinning at all +40 µs."""
    if rtt < SPIN_MAX:
        return 0.0
    return rtt * (1 - DOZE_EARLY) - DOZE_LEAD


class WorkerState(enum.Enum):
    STARTING = "starting"  # spawned, waiting for Ready
    READY = "ready"  # takes calls
    DRAINING = "draining"  # finishing queued calls, takes no new ones
    STOPPED = "stopped"  # process gone; every call it held has been answered


class _Waiter:
    """What a caller waits on: an asyncio future on the fast path (no Event object
    per call), an anyio Event otherwise. Woken once, when its answer is complete."""

    __slots__ = ("_event", "future", "keep", "then")

    def __init__(self, fut: Any) -> None:
        self.keep: Any = None  # by-reference payloads the worker may still read
        self.then: Callable[[Any], None] | None = None  # called with it once woken
        self.future = fut
        """The asyncio future on the fast path (callers may await it directly)."""
        self._event = None if fut is not None else anyio.Event()

    def _wake(self) -> None:
        self.keep = None
        if self.future is not None:
            if not self.future.done():  # a cancelled caller left a cancelled future
                self.future.set_result(None)
        else:
            assert self._event is not None
            self._event.set()
        if self.then is not None:
            self.then(self)

    async def wait(self) -> None:
        if self.future is not None:
            await self.future
        else:
            assert self._event is not None
            await self._event.wait()


class _Pending(_Waiter):
    """One call waiting for its answer."""

    __slots__ = ("chain", "export", "outcome", "sent_at")

    def __init__(
        self, export: str, fut: Any = None, chain: tuple[tuple[str, int], ...] = ()
    ) -> None:
        super().__init__(fut)
        self.export = export
        self.chain = chain  # (plugin, instance) pairs blocked upstream in routed calls
        self.outcome: Result | CallError | None = None
        self.sent_at = time.monotonic()

    def set(self, outcome: Result | CallError, call_id: int = 0) -> None:
        self.outcome = outcome
        self._wake()


class _Group(_Waiter):
    """Calls of one export submitted together (a pipeline stage's batch) with one
    waiter for all: the caller wakes once per group, not once per call. Each call
    keeps its own id, frame and answer (a crash fails exactly the calls the worker
    still held); ``outcomes[k]`` is call ``first + k``'s."""

    __slots__ = ("behind", "chain", "export", "failed", "first", "left", "outcomes", "seconds")

    def __init__(self, export: str, first: int, size: int, fut: Any = None) -> None:
        super().__init__(fut)
        self.export = export
        self.first = first
        self.chain: tuple[tuple[str, int], ...] = ()  # groups are never routed calls
        self.outcomes: list[bytes | Result | CallError | None] = [None] * size
        self.left = size
        self.failed = 0  # outcomes that are errors
        self.seconds = 0.0  # the worker's time in the calls answered in Results
        # Calls (by position) its worker died holding while another call was running.
        self.behind: set[int] = set()

    def set(self, outcome: bytes | Result | CallError, call_id: int = 0) -> None:
        """Call ``call_id``'s answer (each call is answered once: its handle drops
        it from the calls it holds as it does)."""
        self.outcomes[call_id - self.first] = outcome
        if isinstance(outcome, CallError):
            self.failed += 1
        self.left -= 1
        if not self.left:
            self._wake()


_Held = _Pending | _Group  # what a handle holds per call id


def describe_exit(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class WorkerHandle:
    """One worker process hosting one instance of ``plugin``.

    Use ``handle = await tg.start(WorkerHandle(...).run)``: ``run`` reports started only
    once the worker sent ``Ready``, so load failures reach the starter, and returns
    when the worker is gone (after answering every call it held). ``run`` is
    :meth:`start` then :meth:`serve`, for a caller that wants the start's failure as a
    plain exception rather than through a task group.
    """

    def __init__(
        self,
        plugin: str,
        index: int,
        spec: PluginSpec,
        backend: Backend,
        *,
        cache_dir: str | None,
        log_level: str = "info",
        host_plugin_paths: list[str] | None = None,
        host_plugin_options: dict[str, dict[str, str]] | None = None,
        on_change: Callable[[], None] = lambda: None,
        on_reset: Callable[[str], None] = lambda kind: None,
        router: Router | None = None,
    ) -> None:
        self.plugin = plugin
        self.index = index
        self.spec = spec
        self.state = WorkerState.STARTING
        self.pid: int | None = None
        self.abi: str | None = None
        self.exports: list[str] = []
        self.cached: bool | None = None  # whether the worker loaded a cached compilation
        self.exit_reason: str | None = None
        self.last_progress = time.monotonic()
        self._routes_since = 0.0  # when the first of _routes began (or the running call)
        self._route_paused = 0.0  # route time of the running call, before that
        self._backend = backend
        self._cache_dir = cache_dir
        self._log_level = log_level
        self._host_plugin_paths = list(host_plugin_paths or [])
        self._host_plugin_options = dict(host_plugin_options or {})
        self._on_change = on_change
        self._on_reset = on_reset
        self._router = router
        self._route_tg: anyio.abc.TaskGroup | None = None
        self._channel: WorkerChannel | None = None
        self._pending: dict[int, _Held] = {}  # a group's calls share its waiter
        self._fetching: dict[int, _Held] = {}  # answered by reference, being read
        self._routes: set[int] = set()  # ids of the worker's routed calls being served
        self._broken: str | None = None  # set once a frame of the worker did not check out
        # Submitted, not yet sent: a large input waiting for the worker to free ring
        # space, the calls behind it, and None for a Shutdown queued after them.
        self._held: deque[tuple[int, str, bytes, list[Any] | None] | None] = deque()
        self._next_id = 1
        self._outbox = bytearray()
        # Large inputs whose calls are in the outbox, copied into the ring once it is
        # written (ShmRings: COPY_AFTER_SEND).
        self._copies: list[tuple[int, bytes]] = []
        self._wake_writer = anyio.Event()
        self._killed_for_timeout = False
        self._io: FastIO | None = None
        self._flush_scheduled = False
        self._rtt = 0.0  # moving average round trip of lone calls, seconds
        self._lone: tuple[int, float] | None = None  # (call id, sent at) of a lone call
        self._spin_until = 0.0
        self._gone = anyio.Event()
        self._gone_reason = "exited"
        self._decoder = FrameDecoder()
        self._rings: ShmRings | None = None
        self._log = log.bind(plugin=plugin, instance=index)
        self.calls = 0
        self.errors = 0

    # -- introspection ----------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    @property
    def accepting(self) -> bool:
        return self.state is WorkerState.READY

    def oldest_call_age(self, now: float) -> float:
        """How long the running call (the oldest held: a worker runs one at a time)
        has gone without its answer: since it was sent, or since the answer before
        it. Only answers count as progress, never other frames (a worker wedged in
        a call may still log, echo heartbeats or ask for routes). Time the supervisor
        spent serving this worker's routed calls is left out (the worker waits on us
        then), up to one route timeout (``limits.timeout``, the most a call that
        keeps its deadline can spend that way)."""
        if not self._pending:
            return 0.0
        paused = self._route_paused
        if self._routes:
            paused += now - self._routes_since
        if paused:
            paused = min(paused, float(self.spec.limits.timeout or 30.0))
        return now - self.last_progress - paused

    def _answered(self, now: float) -> None:
        """An answer arrived: the next held call starts running now."""
        self.last_progress = now
        self._route_paused = 0.0
        if self._routes:
            self._routes_since = now

    # -- lifecycle --------------------------------------------------------------

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[WorkerHandle] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Start the worker, wait for Ready (bounded), then serve until it exits.

        :raises PluginLoadError: the worker could not be started or never got ready.
        """
        await self.start()
        task_status.started(self)
        await self.serve()

    async def start(self) -> None:
        """Spawn the worker and wait (at most ``start_timeout``) for its ``Ready``; the
        handle is READY on return. Whatever goes wrong on the way (a load error, a
        spawn failure, the worker dying or going silent, a bad frame) comes out as one
        :class:`PluginLoadError`, so a supervisor can count it against the restart
        budget instead of dying of it; cancellation propagates as is. On failure the
        worker, if one was started, is gone and the handle is STOPPED.

        :raises PluginLoadError: see above (``ConfigError`` from the backend as is).
        """
        try:
            spec = await self._backend.prepare_spec(self.plugin, self.spec)
            # Shielded: a cancellation landing mid-spawn would orphan a started
            # process; once we hold the channel, the cleanup below reaps it.
            with anyio.CancelScope(shield=True):
                channel = await self._backend.spawn(self.plugin, self.index)
        except Exception as exc:
            self.state = WorkerState.STOPPED
            error = self._start_error(exc, "could not start a worker")
            if error is exc:
                raise
            raise error from exc
        self._channel = channel
        self.pid = channel.pid
        decoder = FrameDecoder()
        try:
            await channel.send(
                encode(
                    Init(
                        plugin=self.plugin,
                        instance=self.index,
                        spec=encode_spec(spec),
                        cache_dir=self._cache_dir,
                        log_level=self._log_level,
                        host_plugin_paths=self._host_plugin_paths,
                        host_plugin_options=self._host_plugin_options,
                    )
                )
            )
            with anyio.fail_after(float(self.spec.start_timeout)):
                ready = await self._wait_ready(channel, decoder)
        except BaseException as exc:
            code: int | None = None
            # A start timeout is an OSError too (TimeoutError), but its worker is alive.
            died = isinstance(exc, OSError | anyio.BrokenResourceError) and not isinstance(
                exc, TimeoutError
            )
            with anyio.CancelScope(shield=True):
                if died:
                    with anyio.move_on_after(0.5):  # it died: say how
                        code = await channel.wait()
                channel.kill()
                with anyio.move_on_after(2):
                    await channel.wait()
                await channel.aclose()
            self.state = WorkerState.STOPPED
            if isinstance(exc, TimeoutError):
                raise PluginLoadError(
                    f"worker did not get ready within {float(self.spec.start_timeout):g}s",
                    plugin=self.plugin,
                ) from None
            if died:
                how = channel.exit_description or describe_exit(code)
                raise PluginLoadError(
                    f"worker {how} before it was ready (sending Init: {exc or type(exc).__name__})",
                    plugin=self.plugin,
                ) from exc
            if isinstance(exc, Exception):
                error = self._start_error(exc, "worker failed while starting")
                if error is not exc:
                    raise error from exc
            raise
        self.abi, self.exports, self.cached = ready.abi, list(ready.exports), ready.cached
        self._decoder = decoder
        if channel.shm_fd is not None:
            self._rings = ShmRings(channel.shm_fd)
        self._io = await channel.attach(self._on_data, self._on_eof)
        self.state = WorkerState.READY
        self._log.info(
            "worker_started",
            pid=self.pid,
            abi=ready.abi,
            load_ms=round(ready.load_ms, 2),
            cached=ready.cached,
        )

    def _start_error(self, exc: Exception, what: str) -> Exception:
        """A start failure as the typed error a starter expects."""
        if isinstance(exc, PluginLoadError | ConfigError):
            return exc
        return PluginLoadError(f"{what}: {type(exc).__name__}: {exc}", plugin=self.plugin)

    async def serve(self) -> None:
        """Serve the started worker until it exits; every call it held is answered
        (PluginCrashed) before this returns, also when cancelled."""
        channel = self._channel
        assert channel is not None and self.state is not WorkerState.STARTING
        reason = "cancelled"
        try:
            self._on_change()
            async with anyio.create_task_group() as tg:
                self._route_tg = tg  # routed calls this worker asks for run here
                if self._io is not None:
                    await self._gone.wait()
                    reason = self._gone_reason
                else:
                    tg.start_soon(self._write_loop, channel)
                    reason = await self._read_loop(channel, self._decoder)
                # Outputs still being read by reference live in the worker: it is
                # killed only once they are read (or lost, if it died).
                if self._fetching and self.state is WorkerState.READY:
                    self.state = WorkerState.DRAINING  # gone: no new calls meanwhile
                with anyio.move_on_after(_FETCH_GRACE):
                    while self._fetching:
                        await anyio.sleep(0.01)
                tg.cancel_scope.cancel("worker gone")
        finally:
            self._route_tg = None
            with anyio.CancelScope(shield=True):
                await self._finish(channel, reason)

    async def _wait_ready(self, channel: WorkerChannel, decoder: FrameDecoder) -> Ready:
        while True:
            data = await channel.receive()
            if not data:
                code = await channel.wait()
                raise PluginLoadError(
                    f"worker {channel.exit_description or describe_exit(code)} before it was ready",
                    plugin=self.plugin,
                )
            for msg in decoder.feed(data):
                if isinstance(msg, Ready):
                    return msg
                if isinstance(msg, InitFailed):
                    raise PluginLoadError(msg.message, plugin=self.plugin)
                if isinstance(msg, Log):
                    self._emit_log(msg)

    async def _write_loop(self, channel: WorkerChannel) -> None:
        while True:
            await self._wake_writer.wait()
            self._wake_writer = anyio.Event()
            if not self._outbox:
                continue
            batch, self._outbox = self._outbox, bytearray()
            try:
                await channel.send(batch)
            except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                return  # the reader sees EOF and reports the death

    async def _read_loop(self, channel: WorkerChannel, decoder: FrameDecoder) -> str:
        """Task-based reading (when the channel has no fast path). :returns: why the
        worker stopped."""
        while True:
            data = await channel.receive()
            if not data:  # a reason recorded first (a violation found in _fetch) wins
                return self._gone_reason if self._gone.is_set() else "exited"
            reason = self._on_data(data)
            if reason is not None:
                return reason

    def _on_eof(self) -> None:
        self._end("exited")

    def _end(self, reason: str) -> None:
        if not self._gone.is_set():
            self._gone_reason = reason
            self._gone.set()

    def _on_data(self, data: bytes) -> str | None:
        """Decode a batch of bytes and answer every call it completes. Runs in the
        event loop's read callback on the fast path. :returns: a stop reason on a
        protocol violation (the worker is killed), else None.

        Every frame is checked before it is acted on (``wire._check``, plus what
        needs this handle's state): one that does not check out kills the worker,
        and the calls it held get PluginCrashed naming the violation. Nothing a
        worker sends may raise here: on the fast path that would leave its calls
        unanswered, on the task path take the supervisor down."""
        if self._broken is not None:  # killed for a violation: nothing after it counts
            return self._broken
        try:
            msgs = self._decoder.feed(data)
        except ProtocolError as exc:
            return self._violation(str(exc))
        now = time.monotonic()  # one reading per batch: the answers in it came together
        try:
            for msg in msgs:
                problem = check_from_worker(msg) or self._dispatch(msg, now)
                if problem is not None:
                    return self._violation(problem)
        except Exception as exc:  # a bug of ours, not the worker's: still contained
            self._log.exception("worker_frame_failed", pid=self.pid)
            return self._violation(f"frame could not be handled ({type(exc).__name__}: {exc})")
        finally:
            if not self._pending:
                _BUSY.discard(self)
        if self._held:  # answers mean the worker consumed inputs: ring space is back
            self._send_held()
        self._on_change()
        return None

    def _violation(self, problem: str) -> str:
        """Kill the worker for a frame that did not check out; the stop reason (the
        first violation's, when there are several)."""
        if self._broken is not None:
            return self._broken
        self._log.error("worker_protocol_error", pid=self.pid, error=problem)
        if self._channel is not None:
            self._channel.kill()
        reason = self._broken = f"protocol error: {problem}"
        self._end(reason)
        return reason

    def _dispatch(self, msg: Message, now: float) -> str | None:
        """Act on one frame that checked out on its face (:func:`check_from_worker`);
        what is wrong with it given this handle's state, if anything."""
        if type(msg) is Results:
            return self._take_results(msg, now)
        if isinstance(msg, Result | CallFailed):
            waiter = self._pending.get(msg.id)
            if waiter is None:
                return (
                    f"{type(msg).__name__} for call {msg.id}, which it does not hold "
                    "(never sent, or already answered)"
                )
            if isinstance(msg, Result):
                problem = self._take_result(msg, waiter)
                if problem is not None:
                    return problem  # the call stays held: answered when the worker is gone
            else:
                self._failed(msg, waiter)
            del self._pending[msg.id]
            # Only an answer is progress (see oldest_call_age): logs, heartbeats and
            # route calls from a worker stuck in a call are not.
            self._answered(now)
            lone = self._lone
            if lone is not None and lone[0] == msg.id:
                rtt = time.perf_counter() - lone[1]
                self._rtt = rtt if not self._rtt else 0.75 * self._rtt + 0.25 * rtt
                self._lone = None
        elif isinstance(msg, RouteCall):
            if not self._pending:
                return f"RouteCall {msg.id} while no call of it is running"
            if msg.id in self._routes:
                return f"RouteCall {msg.id} while one of that id is being served"
            if msg.ref is not None and self._backend.payloads is None:
                return f"RouteCall {msg.id} by reference, but {self._no_store}"
            self._start_route(msg)
        elif isinstance(msg, Log):
            self._emit_log(msg)
        return None

    def _take_results(self, msg: Results, now: float) -> str | None:
        """Answer calls ``msg.id``, ``msg.id + 1``, ... of batches in order: a bytes
        item inline, any other as the frame it is (checked and dispatched alike)."""
        pending = self._pending
        call_id = msg.id
        head = pending.get(call_id)
        if type(head) is _Group:
            head.seconds += msg.seconds
        for item in msg.items:
            waiter = pending.get(call_id)
            if type(waiter) is not _Group:
                return (
                    f"Results for call {call_id}, which it does not hold in a batch "
                    "(never sent, answered already, or sent alone)"
                )
            if type(item) is bytes:  # the common case, inline (_Group.set)
                waiter.outcomes[call_id - waiter.first] = item
                waiter.left -= 1
                if not waiter.left:
                    waiter._wake()
                del pending[call_id]
            else:
                assert isinstance(item, Result | CallFailed)
                if item.id != call_id:
                    return f"Results {msg.id}: item for call {item.id} in the place of {call_id}"
                problem = check_from_worker(item) or self._dispatch(item, now)
                if problem is not None:
                    return problem
            call_id += 1
        self._answered(now)
        return None

    @property
    def _no_store(self) -> str:
        return f"the {self._backend.name} backend has no object store"

    def _take_result(self, msg: Result, waiter: _Held) -> str | None:
        """Answer ``waiter`` with a Result, reading its output wherever it is."""
        if msg.shm_pos >= 0:
            rings = self._rings
            if rings is None:
                return f"Result {msg.id} in shared memory, but this worker has no rings"
            problem = rings.check_output(msg.shm_pos, msg.shm_len)
            if problem is not None:
                return f"Result {msg.id}: {problem}"
            tune_malloc()  # once: outputs into warm heap pages
            # Copy out now: the worker reuses the span once we say so.
            msg.data = rings.take_output(msg.shm_pos, msg.shm_len)
        elif msg.ref is not None:
            if self._backend.payloads is None:
                return f"Result {msg.id} by reference, but {self._no_store}"
            if self._route_tg is None:
                return f"Result {msg.id} by reference while the worker is stopping"
            self._fetching[msg.id] = waiter
            self._route_tg.start_soon(self._fetch, msg)
            return None
        waiter.set(msg, msg.id)
        return None

    def _failed(self, msg: CallFailed, waiter: _Held) -> None:
        """Answer ``waiter`` with the typed error the worker reported."""
        self.errors += 1
        if msg.reset:
            self._log.info("instance_reset", pid=self.pid, kind=msg.kind, export=waiter.export)
            self._on_reset(f"instance {self.index}: {msg.kind} in {waiter.export}: {msg.message}")
        if msg.kind == "PluginOutputTooLarge":  # the worker is fine: say so once, here
            self._log.warning(
                "call_output_too_large",
                pid=self.pid,
                call_id=msg.id,
                export=waiter.export,
                message=msg.message,
            )
        waiter.set(
            call_error_from_kind(
                msg.kind,
                msg.message,
                plugin=self.plugin,
                instance=self.index,
                export=waiter.export,
                trap_code=msg.trap_code,
                frames=msg.frames,
            ),
            msg.id,
        )

    async def _fetch(self, msg: Result) -> None:
        """Read an output the worker left in the object store, then let it go."""
        store = self._backend.payloads
        assert store is not None and msg.ref is not None
        ref, outcome = msg.ref, msg
        held = self._fetching.get(msg.id)
        try:
            msg.data, msg.ref = await store.get(ref), None
        except PayloadLost as exc:
            outcome = PluginCrashed(  # type: ignore[assignment]
                f"worker (pid {self.pid}) lost this call's output before it was read ({exc})",
                plugin=self.plugin,
                instance=self.index,
                export=held.export if held else None,
            )
        except Exception as exc:  # not a ref at all: the worker broke the protocol
            reason = self._violation(f"Result {msg.id} with a ref that does not load ({exc})")
            outcome = PluginCrashed(  # type: ignore[assignment]
                f"worker (pid {self.pid}) was killed for a {reason}",
                plugin=self.plugin,
                instance=self.index,
                export=held.export if held else None,
            )
        finally:  # read, lost or cancelled: the worker may drop it
            if self.state is not WorkerState.STOPPED:
                encode_into(Release(refs=[ref]), self._outbox)
                self._kick()
        waiter = self._fetching.pop(msg.id, None)
        if waiter is not None:
            waiter.set(outcome, msg.id)
            self._on_change()

    def _start_route(self, msg: RouteCall) -> None:
        # The running call is the oldest one this worker holds (one call at a time).
        running = next(iter(self._pending.values()), None)
        chain = (*(running.chain if running else ()), (self.plugin, self.index))
        if not self._routes:  # the worker waits on us from now: not its own time
            self._routes_since = time.monotonic()
        self._routes.add(msg.id)
        if self._route_tg is None or self._router is None:
            self._answer_route(msg.id, CallError("routing is not available"))
            return
        # The common case answers from the target's wake-up, without a task: an
        # inline input, no payload store, and an instance with room.
        if msg.ref is None and self._backend.payloads is None:
            done = functools.partial(self._answer_route, msg.id)
            if self._router.route_now(msg.plugin, msg.export, msg.data, msg.args, chain, done):
                return
        self._route_tg.start_soon(self._serve_route, msg, chain, running)

    async def _serve_route(
        self, msg: RouteCall, chain: tuple[tuple[str, int], ...], running: _Held | None
    ) -> None:
        assert self._router is not None
        # A by-reference input is forwarded as is (the calling worker holds it until
        # it gets the answer): the supervisor never reads it.
        data = msg.data if msg.ref is None else ByRef(msg.ref, 0)
        try:
            try:
                result = await self._router.route(msg.plugin, msg.export, data, msg.args, chain)
            except CallError as exc:
                self._answer_route(msg.id, exc)
                return
            store = self._backend.payloads
            if store is not None and running is not None and len(result.data) >= store.threshold:
                held = await store.put(result.data)
                if held is not None:  # kept until the calling worker's running call ends
                    running.keep = (running.keep, held)
                    result = Result(id=result.id, values=result.values, ref=held.ref)
            self._answer_route(msg.id, result)
        finally:
            self._route_done(msg.id)  # answered, or cancelled with the worker

    def _route_done(self, rid: int) -> None:
        """Routed call ``rid`` is over: once none is left, the time since the first
        began counts as paused for the watchdog (see :meth:`oldest_call_age`)."""
        if rid in self._routes:
            self._routes.discard(rid)
            if not self._routes:
                self._route_paused += time.monotonic() - self._routes_since

    def _answer_route(self, rid: int, outcome: Result | CallError) -> None:
        self._route_done(rid)
        if self.state is WorkerState.STOPPED:
            return
        if isinstance(outcome, CallError):
            answer = RouteResult(id=rid, kind=type(outcome).__name__, message=str(outcome))
        else:
            answer = RouteResult(id=rid, data=outcome.data, values=outcome.values, ref=outcome.ref)
        encode_into(answer, self._outbox)
        self._kick()

    async def _finish(self, channel: WorkerChannel, reason: str) -> None:
        """Reap the process and answer every call it still held with PluginCrashed."""
        was_draining = self.state is WorkerState.DRAINING
        self.state = WorkerState.STOPPED
        if reason == "cancelled":
            channel.kill()  # nobody is left to drain it gracefully
        code: int | None = None
        with anyio.move_on_after(2):
            code = await channel.wait()
        if code is None:
            channel.kill()
            with anyio.move_on_after(2):
                code = await channel.wait()
        running = 0  # the call it died in, where its rings say so
        if self._rings is not None:
            running = self._rings.running()
            self._rings.close()
        await channel.aclose()
        exit_text = channel.exit_description or describe_exit(code)
        if reason != "exited":
            self.exit_reason = reason
        elif self.exit_reason is None:
            self.exit_reason = exit_text
        stuck, self._pending = self._pending, {}
        _BUSY.discard(self)
        self._held.clear()  # never sent: failed below with the rest
        self._copies = []
        self._lone = None  # stops a spin
        stuck.update(self._fetching)  # answered by reference, never read: lost with it
        self._fetching = {}
        first = next(iter(stuck), 0)
        if running not in stuck:  # unknown: the oldest, and its group's calls suspect
            running = first
        suspects = stuck.get(running) if self._rings is None else None
        for call_id, waiter in stuck.items():
            if call_id == running and self._killed_for_timeout:
                # The call it was in (without rings: the oldest held) timed out.
                waiter.set(
                    PluginTimeout(
                        f"no answer within the timeout plus grace; worker (pid {self.pid}) "
                        f"{exit_text} ({self.exit_reason})",
                        plugin=self.plugin,
                        instance=self.index,
                        export=waiter.export,
                    ),
                    call_id,
                )
            else:
                if call_id != running and type(waiter) is _Group and waiter is not suspects:
                    waiter.behind.add(call_id - waiter.first)  # only held: not its fault
                waiter.set(
                    PluginCrashed(
                        f"worker (pid {self.pid}) {exit_text} while holding this call "
                        f"({self.exit_reason})",
                        plugin=self.plugin,
                        instance=self.index,
                        export=waiter.export,
                    ),
                    call_id,
                )
        clean = was_draining and code == 0
        (self._log.info if clean else self._log.warning)(
            "worker_exited",
            pid=self.pid,
            code=code,
            reason=self.exit_reason,
            lost_calls=len(stuck),
        )
        self._on_change()

    def request_stop(self) -> None:
        """Stop taking calls; the worker finishes what it holds, then exits."""
        if self.state is WorkerState.READY:
            self.state = WorkerState.DRAINING
            if self._held:
                self._held.append(None)  # after the calls that wait for ring space
                return
            encode_into(Shutdown(), self._outbox)
            self._kick()

    async def stop(self, grace: float = 5.0) -> None:
        """Escalate: Shutdown message, then SIGTERM, then SIGKILL, each bounded."""
        self.request_stop()
        channel = self._channel
        if channel is None or self.state is WorkerState.STOPPED:
            return
        with anyio.CancelScope(shield=True):
            with anyio.move_on_after(grace):
                while self.state is not WorkerState.STOPPED:
                    await anyio.sleep(0.01)
                return
            channel.terminate()
            with anyio.move_on_after(1.0):
                while self.state is not WorkerState.STOPPED:
                    await anyio.sleep(0.01)
                return
            channel.kill()

    def kill(self, reason: str, *, timed_out: bool = False) -> None:
        """Kill the process now (watchdog, protocol violation, failed plug-in).

        Calls it held get PluginCrashed; with ``timed_out`` the running (oldest) one
        gets PluginTimeout instead.
        """
        if self._channel is not None and self.state is not WorkerState.STOPPED:
            self._log.warning("worker_killed", pid=self.pid, reason=reason)
            self.exit_reason = reason
            self._killed_for_timeout = timed_out
            self._channel.kill()

    # -- calls --------------------------------------------------------------------

    def submit(
        self,
        export: str,
        data: bytes | ByRef,
        args: list[Any] | None,
        chain: tuple[tuple[str, int], ...] = (),
    ) -> _Pending:
        """Queue one call (never blocks); ``await waiter.wait()`` then read ``.outcome``."""
        call_id = self._next_id
        self._next_id = call_id + 1
        io = self._io
        waiter = _Pending(export, io.new_waiter() if io is not None else None, chain)
        idle = not self._pending
        if idle:  # it starts running now (a route still open from before is not its)
            self._answered(waiter.sent_at)
        self._pending[call_id] = waiter
        _BUSY.add(self)
        self.calls += 1
        lone = idle and self._io is not None
        busy = len(_BUSY) if lone else 0
        if isinstance(data, ByRef):  # the worker reads it from the object store
            waiter.keep = data
            encode_into(Call(id=call_id, export=export, args=args, ref=data.ref), self._outbox)
        else:
            # A lone call with a core to spare: the worker may stay awake for the next.
            linger = LINGER if lone and self._rtt and busy < CPUS else 0.0
            if self._held or not self._encode(call_id, export, data, args, linger):
                # Behind a payload that waits for ring space: calls go out in the order
                # they were submitted (the oldest pending call is the one running).
                self._held.append((call_id, export, data, args))
                return waiter
        if lone:
            self._send_lone(call_id, busy)
        else:
            self._kick()
        return waiter

    def submit_group(
        self,
        export: str,
        items: list[bytes | ByRef],
        args: list[list[Any] | None] | None = None,
    ) -> _Group:
        """Queue ``len(items)`` calls of ``export`` with one waiter (never blocks):
        ``await group.wait()``, then ``group.outcomes`` in order (``bytes`` for an
        inline output). ``args[k]``: the core ABI's numbers for call ``k``. Runs of
        small inline payloads go in one :class:`CallBatch` frame; large ones (ring
        or object store) as calls of their own, in order."""
        n = len(items)
        first = self._next_id
        self._next_id = first + n
        io = self._io
        group = _Group(export, first, n, io.new_waiter() if io is not None else None)
        if not self._pending:  # its first call starts running now
            self._answered(time.monotonic())
        self._pending.update(dict.fromkeys(range(first, first + n), group))
        _BUSY.add(self)
        self.calls += n
        limit = SHM_THRESHOLD if self._rings is not None else None
        if (
            self._backend.payloads is None  # so no ByRef among them
            and not self._held
            and (limit is None or max(map(len, items)) < limit)  # type: ignore[arg-type]
        ):  # the common case: small payloads, all in one frame
            self._encode_batch(first, export, items, args)  # type: ignore[arg-type]
            self._kick()
            return group
        run_at = first  # the first call of the run of small payloads being gathered
        run: list[bytes] = []
        run_args: list[list[Any]] = []
        for k, data in enumerate(items):
            call_id = first + k
            a = args[k] if args is not None else None
            small = not isinstance(data, ByRef) and (limit is None or len(data) < limit)
            if small and not self._held:
                if not run:
                    run_at = call_id
                run.append(data)  # type: ignore[arg-type]
                if a is not None:
                    run_args.append(a)
                continue
            if run:
                self._encode_batch(run_at, export, run, run_args)
                run, run_args = [], []
            if isinstance(data, ByRef):  # the worker reads it from the object store
                group.keep = (group.keep, data)
                encode_into(Call(id=call_id, export=export, args=a, ref=data.ref), self._outbox)
            elif self._held or not self._encode(call_id, export, data, a):
                # Behind a payload that waits for ring space: in submission order.
                self._held.append((call_id, export, data, a))
        if run:
            self._encode_batch(run_at, export, run, run_args)
        self._kick()
        return group

    def _encode_batch(
        self, first: int, export: str, data: list[bytes], args: list[list[Any]] | None
    ) -> None:
        if args:  # the core ABI: numbers, no payloads
            encode_into(CallBatch(id=first, export=export, args=args), self._outbox)
        else:
            encode_into(CallBatch(id=first, export=export, data=data), self._outbox)

    def _encode(
        self,
        call_id: int,
        export: str,
        data: bytes,
        args: list[Any] | None,
        linger: float = 0.0,
    ) -> bool:
        """Put one call in the outbox. False: its payload needs ring space that the
        worker has not freed yet (sent by :meth:`_send_held` once it has)."""
        rings = self._rings
        if rings is not None and SHM_THRESHOLD <= len(data) <= rings.ring:
            pos = rings.reserve_input(len(data))
            if pos is None:
                # Waiting beats the inline fallback: a large frame through the socket
                # costs several copies on both sides (measured 3x slower at 4 MiB).
                return False
            if COPY_AFTER_SEND and self._io is not None:
                # The worker wakes up while we copy (see _flush). Only where writes
                # never wait: a writer task awaiting a full socket while the worker
                # waits for this copy (and so reads nothing) would never get here.
                self._copies.append((pos, data))
            else:
                rings.write_input(pos, data)
            call = Call(
                id=call_id,
                export=export,
                args=args,
                shm_pos=pos,
                shm_len=len(data),
                linger=linger,
            )
        else:
            call = Call(id=call_id, export=export, data=data, args=args, linger=linger)
        encode_into(call, self._outbox)
        return True

    def _send_held(self) -> None:
        """Send what waited for ring space, in order, as far as the space goes."""
        held = self._held
        sent = False
        while held:
            item = held[0]
            if item is None:  # a Shutdown asked for while calls were held
                encode_into(Shutdown(), self._outbox)
            elif not self._encode(*item):
                break
            held.popleft()
            sent = True
        if sent:
            self._kick()

    def _send_lone(self, call_id: int, busy: int) -> None:
        """A call to an idle worker: nothing to batch it with, so write it now (saving
        it a trip round the event loop) and, if the worker's answers come back
        quickly, keep the loop busy until this one does (see :func:`spin_window`)."""
        assert self._io is not None
        self._flush()
        now = time.perf_counter()
        self._lone = (call_id, now)
        rtt = self._rtt
        window = spin_window(rtt, busy) if rtt else 0.0
        if window:
            self._spin_until = now + window
            wake = doze(rtt)
            if not (wake and self._io.call_at(now + wake, functools.partial(self._wake, call_id))):
                self._io.call_soon(self._spin)

    def _wake(self, call_id: int) -> None:
        """The end of a doze: spin now if that call is still unanswered."""
        lone = self._lone
        if lone is not None and lone[0] == call_id:
            self._spin()

    def _kick(self) -> None:
        """Get the outbox written: once per loop iteration on the fast path (every call
        queued meanwhile goes in the same write), else by waking the writer task."""
        io = self._io
        if io is None:
            self._wake_writer.set()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            io.call_soon(self._flush)

    def _spin(self) -> None:
        """Keep the loop busy (no sleep, so no wake-up) until the lone call is
        answered or its window has passed."""
        lone, io = self._lone, self._io
        if lone is not None and io is not None and time.perf_counter() < self._spin_until:
            io.call_soon(self._spin)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._outbox and self._io is not None:
            batch, self._outbox = self._outbox, bytearray()
            self._io.write(batch)
            if self._copies:
                copies, self._copies = self._copies, []
                self._copy_inputs(copies)

    def _copy_inputs(self, copies: list[tuple[int, bytes]]) -> None:
        """Copy the large inputs of calls just written into the ring, in the order
        their spans were reserved (the worker waits for each)."""
        rings = self._rings
        if rings is not None:
            try:
                for pos, data in copies:
                    rings.write_input(pos, data)
            except ValueError:  # the worker ended meanwhile and its rings are closed
                pass

    def _emit_log(self, msg: Log) -> None:
        """Re-emit a worker's log event. Only a known level picks the method (a name
        like ``bind`` would not log), and reserved fields are dropped: this also runs
        for logs sent while starting, before frames are checked."""
        level = msg.level if msg.level in LOG_LEVELS else "info"
        fields = {k: v for k, v in msg.fields.items() if k not in RESERVED_LOG_FIELDS}
        getattr(self._log, level)(msg.event, pid=self.pid, **fields)
