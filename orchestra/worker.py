"""``python -m orchestra.worker --fd N``: a worker process hosting exactly one instance.

The serve loop is deliberately synchronous and batching: it reads whatever bytes
are available, runs every call they contain in order (an instance is an actor: one
call at a time), and answers the whole batch with one write. No threads hand
messages around; one extra thread advances the wasmtime epoch for timeouts, another
ends the process when the supervisor goes away (``orchestra.confine``), even while a
call keeps the main thread busy.

The protocol runs on an inherited socket (``--fd``), never on stdout: fd 1 is
pointed at stderr before any plug-in code runs, so nothing a plug-in prints can
corrupt a frame.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from .config import decode_spec
from .confine import harden, sandbox_after_load, sandbox_before_load, watch_supervisor
from .errors import (
    CallError,
    HostFunctionError,
    OrchestraError,
    PluginLoadError,
    PluginOutputTooLarge,
)
from .runtime import InputRing, PluginInstance
from .wire import (
    PROTOCOL_VERSION,
    SHM_THRESHOLD,
    Call,
    CallBatch,
    CallFailed,
    FrameDecoder,
    Heartbeat,
    Init,
    InitFailed,
    Log,
    Message,
    PayloadStore,
    Ready,
    Release,
    Result,
    Results,
    RouteCall,
    RouteResult,
    ShmRings,
    Shutdown,
    encode,
    encode_into,
    tune_malloc,
)

__all__ = ("main", "serve")

# Extism level names -> structlog method names.
_LOG_LEVELS = {
    "trace": "debug",
    "debug": "debug",
    "info": "info",
    "warn": "warning",
    "error": "error",
}
# Extism levels structlog has no method for: marked on the event.
_LEVEL_FIELDS = {"trace": {"extism_level": "trace"}}
_RECV_SIZE = 1 << 20
_FLUSH_EVERY = 100e-6  # seconds: answers wait at most this long for batch-mates
# ... and this long inside a CallBatch, whose caller wakes for the whole batch: often
# enough that answers keep counting as progress for the watchdog.
_BATCH_FLUSH_EVERY = 2e-3


def _apply_process_memory(limit: int | None) -> None:
    if limit:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ValueError, OSError):
            pass


def _recv_messages(sock: socket.socket, decoder: FrameDecoder) -> list[Message] | None:
    """Block until at least one whole message arrives; None on EOF (supervisor gone)."""
    while True:
        chunk = sock.recv(_RECV_SIZE)
        if not chunk:
            return None
        msgs = decoder.feed(chunk)
        if msgs:
            return msgs


def serve(
    sock: socket.socket,
    *,
    shm_fd: int | None = None,
    store: PayloadStore | None = None,
    confine: bool = False,
) -> int:
    """Run the worker protocol on a connected socket until Shutdown or EOF.

    ``shm_fd``: the payload rings shared with the supervisor (large inputs and
    outputs travel there instead of through the socket). ``store``: payloads by
    reference instead (the Ray actor's object store). ``confine``: this
    process is the worker's own (not a Ray worker, whose runtime shares it): watch the
    supervisor (``orchestra.confine.watch_supervisor``) and apply the plug-in's
    ``sandbox:``, partly before loading it, the rest before its first call.

    :returns: the process exit code.
    """
    rings = ShmRings(shm_fd) if shm_fd is not None else None
    if rings is not None or store is not None:
        tune_malloc()  # large payloads come and go here (wire/_malloc.py)
    decoder = FrameDecoder()
    out = bytearray()  # answers (and plug-in logs) of the current batch
    queue: deque[Message] = deque()  # received, not yet served
    route_ids = iter(range(1, 1 << 62))

    def route(
        plugin: str, export: str, data: bytes, args: list[int | float] | None, timeout: float
    ) -> tuple[bytes, list[int | float] | None]:
        """A routed import: ask the supervisor for ``plugin.export`` and wait, queueing
        whatever else arrives meanwhile (this instance serves one call at a time)."""
        if len(data) > output_limit:  # what leaves this plug-in is bounded alike
            raise PluginOutputTooLarge(
                f"routed input to {plugin}.{export} of {len(data)} bytes exceeds "
                f"limits.output ({output_limit} bytes)"
            )
        rid = next(route_ids)
        ref = store.put(data) if store is not None and len(data) >= store.threshold else None
        if ref is not None:
            data = b""  # the target reads it from the store; we hold it until the answer
        call = RouteCall(id=rid, plugin=plugin, export=export, data=data, args=args, ref=ref)
        encode_into(call, out)
        sock.sendall(out)
        out.clear()
        sock.settimeout(timeout)
        try:
            while True:
                try:
                    msgs = _recv_messages(sock, decoder)
                except TimeoutError:
                    raise HostFunctionError(
                        f"route to {plugin}.{export} got no answer within {timeout:g}s"
                    ) from None
                if msgs is None:
                    raise HostFunctionError("the supervisor went away")
                for i, m in enumerate(msgs):
                    if isinstance(m, RouteResult) and m.id == rid:
                        queue.extend(msgs[i + 1 :])
                        if m.kind is not None:
                            raise HostFunctionError(
                                f"route to {plugin}.{export} failed: {m.kind}: {m.message}"
                            )
                        if m.ref is not None and store is not None:
                            try:
                                return bytes(store.get(m.ref)), m.values
                            except CallError as exc:  # the answer was lost
                                where = f"{plugin}.{export}"
                                raise HostFunctionError(f"route to {where}: {exc}") from None
                        return m.data, m.values
                    queue.append(m)
        finally:
            sock.settimeout(None)
            if ref is not None:
                store.release([ref])  # type: ignore[union-attr]

    def stdio_line(stream: str, line: str) -> None:
        """A line of the plug-in's WASI stderr (or stdout): a log event, sent at once
        (a call that never ends still shows what it said)."""
        encode_into(Log(level="warning", event=f"plugin_{stream}", fields={"line": line}), out)
        sock.sendall(out)
        out.clear()

    first = _recv_messages(sock, decoder)
    if not first:
        return 0
    init = first[0]
    queue.extend(first[1:])
    if not isinstance(init, Init) or init.protocol != PROTOCOL_VERSION:
        sock.sendall(
            encode(InitFailed(kind="ProtocolError", message=f"expected Init v{PROTOCOL_VERSION}"))
        )
        return 2
    try:
        spec = decode_spec(init.spec)
        if confine:  # capabilities and no_new_privs: before any other thread exists
            sandbox_before_load(spec.sandbox, plugin=init.plugin)
            watch_supervisor(sock.fileno(), os.getppid())
        _apply_process_memory(
            int(spec.limits.process_memory) if spec.limits.process_memory else None
        )
        instance = PluginInstance(
            spec,
            plugin=init.plugin,
            instance=init.instance,
            cache_dir=Path(init.cache_dir) if init.cache_dir else None,
            host_plugin_paths=init.host_plugin_paths,
            host_plugin_options=init.host_plugin_options,
            log_level=init.log_level,
            router=route,
            log_sink=lambda level, message: encode_into(
                Log(
                    level=_LOG_LEVELS.get(level, "info"),
                    event="plugin_log",
                    fields={"message": message, **_LEVEL_FIELDS.get(level, {})},
                ),
                out,
            ),
            stdio_sink=stdio_line,
        )
        if confine:  # loaded: from here on plug-in code runs, host plug-ins' included
            network = bool(spec.allowed_hosts)
            sandbox_after_load(spec.sandbox, network=network, plugin=init.plugin)
    except OrchestraError as exc:
        kind = type(exc).__name__ if isinstance(exc, PluginLoadError) else "PluginLoadError"
        msg = exc.message if isinstance(exc, PluginLoadError) else str(exc)
        sock.sendall(encode(InitFailed(kind=kind, message=msg)))
        return 1
    except Exception as exc:  # anything else while loading is still a load failure
        sock.sendall(
            encode(InitFailed(kind="PluginLoadError", message=f"{type(exc).__name__}: {exc}"))
        )
        return 1
    output_limit = int(spec.limits.output)
    # Large inputs are read in place from the ring where the ABI can map it (Extism):
    # one copy fewer than copying them into the store.
    in_place = False
    if rings is not None and shm_fd is not None:
        in_place = instance.map_input_ring(InputRing(shm_fd, *rings.input_ring()))
    sock.sendall(
        encode(
            Ready(
                pid=os.getpid(),
                abi=instance.abi_name,
                exports=instance.abi.exports(),
                load_ms=instance.load_ms,
                cached=instance.cached,
            )
        )
    )

    def early_answers() -> None:
        """Send the answers so far and take in what has arrived meanwhile."""
        sock.sendall(out)
        out.clear()
        queue.extend(_recv_nowait(sock, decoder) or ())  # (EOF: the next read sees it)

    last_flush = time.perf_counter()
    linger = 0.0  # the last call's: how long to poll for the next before blocking
    try:
        while True:
            if not queue:
                if out:
                    sock.sendall(out)
                    out.clear()
                msgs = _linger(sock, decoder, linger) if linger else []
                if not msgs and msgs is not None:
                    msgs = _recv_messages(sock, decoder)
                if msgs is None:
                    return 0
                queue.extend(msgs)
                last_flush = time.perf_counter()
                linger = 0.0
            msg = queue.popleft()
            if isinstance(msg, Call):
                linger = msg.linger
                _serve_call(instance, msg, out, rings, store, in_place, output_limit)
                # Answer early and take in new calls while working through a long
                # batch: the supervisor refills the pipeline instead of waiting for the
                # whole batch (measured: it halves throughput otherwise).
                now = time.perf_counter()
                if now - last_flush > _FLUSH_EVERY:
                    early_answers()
                    last_flush = now
            elif isinstance(msg, CallBatch):
                last_flush = _serve_batch(
                    instance, msg, out, rings, store, output_limit, last_flush, early_answers
                )
            elif isinstance(msg, Heartbeat):
                encode_into(msg, out)
            elif isinstance(msg, Release) and store is not None:
                store.release(msg.refs)
            elif isinstance(msg, Shutdown):
                if out:
                    sock.sendall(out)
                return 0
    except (BrokenPipeError, ConnectionResetError):
        return 0
    finally:
        instance.close()


def _serve_call(
    instance: PluginInstance,
    msg: Call,
    out: bytearray,
    rings: ShmRings | None,
    store: PayloadStore | None = None,
    in_place: bool = False,
    output_limit: int | None = None,
) -> None:
    resets = instance.resets
    if rings is not None:
        rings.set_running(msg.id)
    payload: bytes | memoryview = msg.data
    release = None
    ring_pos = None
    if msg.shm_pos >= 0 and rings is not None:
        if in_place:  # the ABI waits for the bytes it reads (they may still arrive)
            ring_pos = msg.shm_pos
        else:
            rings.wait_written(msg.shm_pos + msg.shm_len)
        view = payload = rings.input_view(msg.shm_pos, msg.shm_len)

        def release() -> None:
            view.release()
            rings.input_done(msg.shm_pos, msg.shm_len)

    # A copied input's span goes back as soon as the ABI has copied it: free again
    # while the plug-in computes (the next large input reuses the same, cache-warm
    # pages). One read in place goes back once its output, which may be a view of
    # that very span (an echo), has been sent on.
    early = release if ring_pos is None else None
    try:
        if msg.ref is not None and store is not None:
            payload = store.get(msg.ref)
        data, values = instance.call(
            msg.export,
            payload,
            msg.args,
            release_input=early,
            view_output=rings is not None,
            ring_pos=ring_pos,
        )
        _check_output(data, output_limit)
        encode_into(
            _placed(msg.id, data, values, rings, store)
            or Result(id=msg.id, data=data, values=values),
            out,
        )
    except CallError as exc:
        encode_into(_failed(msg.id, exc, instance.resets != resets), out)
    finally:
        if release is not None and early is None:
            release()


def _check_output(data: bytes | memoryview, limit: int | None) -> None:
    if limit is not None and len(data) > limit:
        # Refused here, before any copy or frame: the instance is fine, and a frame
        # this large would be a protocol violation on the supervisor's side.
        raise PluginOutputTooLarge(
            f"output of {len(data)} bytes exceeds limits.output ({limit} bytes)"
        )


def _placed(
    call_id: int,
    data: bytes | memoryview,
    values: list[int | float] | None,
    rings: ShmRings | None,
    store: PayloadStore | None,
) -> Result | None:
    """A large output's answer with the output in the shared ring or the object
    store; None when it goes inline."""
    if rings is not None and len(data) >= SHM_THRESHOLD:
        pos = rings.put_output(data)
        if pos is not None:
            return Result(id=call_id, values=values, shm_pos=pos, shm_len=len(data))
    if store is not None and len(data) >= store.threshold:
        ref = store.put(data)
        if ref is not None:
            return Result(id=call_id, values=values, ref=ref)
    return None


def _failed(call_id: int, exc: CallError, reset: bool) -> CallFailed:
    return CallFailed(
        id=call_id,
        kind=type(exc).__name__,
        message=exc.message,
        trap_code=getattr(exc, "trap_code", None),
        frames=getattr(exc, "frames", []),
        reset=reset,
    )


def _serve_batch(
    instance: PluginInstance,
    msg: CallBatch,
    out: bytearray,
    rings: ShmRings | None,
    store: PayloadStore | None,
    output_limit: int,
    last_flush: float,
    early_answers: Callable[[], None],
) -> float:
    """Run a batch's calls in order, answering in :class:`Results` parts: at least
    every ``_BATCH_FLUSH_EVERY`` (progress for the watchdog, and the supervisor gets
    what is done), the rest as soon as the batch ends. :returns: when answers were
    last sent."""
    export, args = msg.export, msg.args
    payloads: list[bytes] = msg.data if args is None else [b""] * len(args)
    call = instance.call
    start = msg.id  # the first call of the part being collected
    items: list[bytes | Result | CallFailed] = []
    began = time.perf_counter()
    for k, payload in enumerate(payloads):
        call_id = msg.id + k
        resets = instance.resets
        if rings is not None:
            rings.set_running(call_id)
        try:
            data, values = call(export, payload, None if args is None else args[k])
            _check_output(data, output_limit)
            if (
                values is None
                and len(data) < SHM_THRESHOLD
                and (store is None or len(data) < store.threshold)
            ):
                items.append(data if type(data) is bytes else bytes(data))
            else:
                items.append(
                    _placed(call_id, data, values, rings, store)
                    or Result(id=call_id, data=bytes(data), values=values)
                )
        except CallError as exc:
            items.append(_failed(call_id, exc, instance.resets != resets))
        now = time.perf_counter()
        if now - last_flush > _BATCH_FLUSH_EVERY:
            encode_into(Results(id=start, items=items, seconds=now - began), out)
            items = []
            start = call_id + 1
            early_answers()
            last_flush = began = time.perf_counter()
    if items:  # the batch's end: sent now, its caller waits for exactly this
        now = time.perf_counter()
        encode_into(Results(id=start, items=items, seconds=now - began), out)
        early_answers()
        last_flush = now
    return last_flush


def _linger(sock: socket.socket, decoder: FrameDecoder, seconds: float) -> list[Message] | None:
    """Poll for up to ``seconds`` for the next messages instead of sleeping in recv:
    the supervisor asks for this on a lone call with a core to spare, when the
    caller's next call is likely to follow at once. An empty list if none came;
    None on EOF."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        msgs = _recv_nowait(sock, decoder)
        if msgs is None or msgs:
            return msgs
    return []


def _recv_nowait(sock: socket.socket, decoder: FrameDecoder) -> list[Message] | None:
    """Whatever whole messages have already arrived, without blocking; None on EOF."""
    try:
        chunk = sock.recv(_RECV_SIZE, socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return []
    return decoder.feed(chunk) if chunk else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestra.worker")
    parser.add_argument("--fd", type=int, required=True, help="inherited protocol socket")
    parser.add_argument("--parent", type=int, default=None, help="supervisor pid")
    parser.add_argument(
        "--no-pdeathsig", action="store_true", help="forked from a short-lived thread"
    )
    parser.add_argument("--shm-fd", type=int, default=None, help="payload rings (memfd)")
    args = parser.parse_args(argv)
    harden(args.parent, pdeathsig=not args.no_pdeathsig)
    sock = socket.socket(fileno=args.fd)
    sock.setblocking(True)
    try:
        return serve(sock, shm_fd=args.shm_fd, confine=True)
    finally:
        sock.close()


if __name__ == "__main__":
    sys.exit(main())
