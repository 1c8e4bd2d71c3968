"""Workers as Ray actors, anywhere in a Ray cluster.

How a worker starts: the driver (the supervisor's process) listens on one TCP port;
``spawn`` creates an actor (``max_restarts=0``: restarts are Orchestra's) and calls
its ``serve`` method with the driver's address and a one-time token; the actor dials
back, sends a hello line with the token and its pid, and runs the shared serve loop
on that connection. From then on the supervisor talks the ordinary worker protocol
over the socket, with the same channel code as a local worker (asyncio fast path
included). Calls never go through Ray's task API: a Ray method call costs ~0.5-1 ms
(measured on the development machine), a framed call on a socket a few microseconds.

Process control goes through Ray: ``kill``/``terminate`` are ``ray.kill``, and
``wait`` is the end of the actor's ``serve`` method (its return code, or the actor's
death as Ray reports it).

Modules travel once through Ray's object store: ``prepare_spec`` reads a plug-in's
``.wasm``/``.wat`` on the driver, ``ray.put``s it once (again only if the file
changes), and every actor gets the ObjectRef and writes a content-addressed copy on
its node; the spec the worker loads points there. Extism manifests are left as they
are: their paths must exist on every node (or use ``data:``/``url`` entries).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import re
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any

import anyio
import msgspec
import ray
import structlog

from ...config import (
    PluginSpec,
    RayActorOptions,
    RayBackendSpec,
    SandboxSpec,
    SourceBudget,
    SourceRefused,
    is_manifest,
)
from ...errors import ConfigError, PluginLoadError
from .._base import Backend
from .._socket import SocketChannel, tune_socket
from ._actor import HELLO_MAX, module_path, remote_actor_class
from ._objects import RayObjectStore, wait_future

__all__ = ("RayBackend", "RayChannel")

log = structlog.get_logger("orchestra.supervisor")

_HELLO_TIMEOUT = 10.0  # seconds for a connected actor to identify itself
_POLL = 0.05  # seconds between checks of a starting actor while waiting for its call
_PG_STRATEGIES = ("PACK", "STRICT_PACK", "STRICT_SPREAD")


@dataclass
class _Module:
    """One plug-in's module, put in the object store once."""

    key: tuple[str, int, int]  # source path, mtime_ns, size: re-put when the file changes
    ref: Any  # ray.ObjectRef[bytes]
    path: str  # where actors write it (same on every node)


def _describe_death(exc: BaseException, *, killed: bool) -> str:
    """What Ray says about an actor that ended, as a short verb phrase."""
    if killed:
        return "was killed (ray.kill)"
    text = str(exc)
    kind = re.search(r"Worker exit type: (\w+)", text)
    detail = re.search(r"Worker exit detail: (.+?\.)(?: |$)", text)
    if kind or detail:
        parts = [p.group(1) for p in (kind, detail) if p]
        return "died as a Ray actor (" + ": ".join(parts) + ")"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"died as a Ray actor ({type(exc).__name__}: {first})"


def _merge(spec: RayBackendSpec, plugin: str) -> RayActorOptions:
    """The backend-wide actor options with ``plugins.<plugin>`` laid over them."""
    base = RayActorOptions(
        num_cpus=spec.num_cpus,
        num_gpus=spec.num_gpus,
        memory=spec.memory,
        resources=dict(spec.resources),
        placement=spec.placement,
    )
    override = spec.plugins.get(plugin)
    if override is None:
        return base
    given = {
        f: getattr(override, f)
        for f in override.__struct_fields__
        if getattr(override, f) not in (None, {})
    }
    return msgspec.structs.replace(base, **given)


class RayChannel(SocketChannel):
    """A worker running as a Ray actor: the TCP connection it opened to the driver,
    plus the actor handle for process control."""

    def __init__(
        self,
        backend: RayBackend,
        actor: Any,
        done: concurrent.futures.Future[Any],
        sock: socket.socket,
        hello: dict[str, Any],
    ) -> None:
        super().__init__(sock)
        self._backend = backend
        self.actor = actor
        self._done = done
        self._killed = False
        self.pid = int(hello["pid"])
        self.node_id: str = str(hello.get("node", ""))
        self.node_ip: str = str(hello.get("ip", ""))

    def terminate(self) -> None:
        # A Ray actor has no gentler stop than its own Shutdown message (already sent
        # by the supervisor before it escalates), so terminate is a kill.
        self.kill()

    def kill(self) -> None:
        if not self._done.done():
            self._killed = True
        try:
            ray.kill(self.actor, no_restart=True)
        except Exception:  # already gone, or Ray is shutting down
            pass

    async def wait(self) -> int | None:
        await wait_future(self._done)
        exc = self._done.exception()
        if exc is None:
            code: int = self._done.result()
            return code
        self.exit_description = _describe_death(exc, killed=self._killed)
        return None

    async def aclose(self) -> None:
        self.close_socket()
        # The serve method has returned (or the actor died): free its process.
        try:
            ray.kill(self.actor, no_restart=True)
        except Exception:
            pass
        self._backend._forget(self)


class RayBackend(Backend):
    """Starts each instance as a Ray actor (its own process and wasmtime store).

    Connects to Ray on first use (``ray.init(address=...)``) unless this process
    already did; shuts Ray down again on :meth:`aclose` only if it started it.

    :raises ConfigError: ``driver_address`` is malformed.
    """

    name = "ray"

    def __init__(self, spec: RayBackendSpec | None = None, **options: Any) -> None:
        """``spec``: the config's ``backend:`` entry; ``options`` override its fields
        (``RayBackend(address="auto", num_cpus=0.5)``)."""
        spec = spec or RayBackendSpec()
        if options:
            spec = msgspec.structs.replace(spec, **options)
        self.spec = spec
        self._lock = anyio.Lock()
        self._accept_lock = anyio.Lock()
        self._started = False
        self._owns_ray = False
        self._closed = False
        self._listener: socket.socket | None = None
        self.address: tuple[str, int] = ("", 0)
        """Where actors connect back to (host, port), once started."""
        self._bind_host, self._bind_port = self._parse_driver_address(spec.driver_address)
        self._modules: dict[str, _Module] = {}
        self._specs: dict[str, PluginSpec] = {}
        self._warned: set[str] = set()
        self._arrived: dict[str, tuple[socket.socket, dict[str, Any]]] = {}
        self._expected: set[str] = set()
        self._channels: set[RayChannel] = set()
        self._groups: dict[str, Any] = {}
        threshold = spec.by_reference
        self.payloads: RayObjectStore | None = (
            RayObjectStore(int(threshold)) if threshold is not None else None
        )

    @staticmethod
    def _parse_driver_address(value: str | None) -> tuple[str | None, int]:
        if not value:
            return None, 0
        if value.count(":") > 1 and not value.startswith("["):
            return value, 0  # a bare IPv6 address
        host, sep, port = value.rpartition(":")
        if not sep or host.endswith(":"):
            return value.strip("[]"), 0
        if not port.isdigit() or not host:
            raise ConfigError(
                f"expected HOST, HOST:PORT or [IPV6]:PORT, got {value!r}",
                path="backend.driver_address",
            )
        return host.strip("[]"), int(port)

    # -- connection to Ray and the listener -----------------------------------------

    async def _start(self) -> None:
        async with self._lock:
            if self._started:
                return
            if self._closed:
                raise PluginLoadError("the Ray backend is closed")
            if not ray.is_initialized():
                # Blocks the loop once (~1 s to join a cluster, ~4 s to start a local
                # one): ray.init must run on the main thread.
                kwargs: dict[str, Any] = {"address": self.spec.address}
                if self.spec.namespace:
                    kwargs["namespace"] = self.spec.namespace
                try:
                    ray.init(**kwargs)
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    raise PluginLoadError(
                        f"cannot connect to Ray at {self.spec.address!r}: {exc} (start a "
                        "cluster with `ray start --head`, or use address: local)"
                    ) from None
                self._owns_ray = True
            host = self._bind_host or str(
                ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]
            )
            listener = socket.socket(
                socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM
            )
            try:
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind((host, self._bind_port))
                listener.listen(512)
            except OSError as exc:
                listener.close()
                raise PluginLoadError(
                    f"cannot listen for Ray actors on {host}:{self._bind_port}: {exc.strerror}"
                ) from None
            listener.setblocking(False)
            self._listener = listener
            self.address = (host, listener.getsockname()[1])
            self._started = True
            log.info("ray_backend_started", driver=f"{host}:{self.address[1]}")

    # -- modules ----------------------------------------------------------------------

    async def prepare_spec(self, plugin: str, spec: PluginSpec) -> PluginSpec:
        """Ship ``plugin``'s module through the object store (once per file version)
        and point ``source`` at the copy each actor writes on its node; drop
        ``limits.process_memory`` (an rlimit would cap the Ray worker itself); say
        that a ``sandbox:`` asked for is not applied (it would confine the Ray worker
        runtime that shares the actor's process: its threads, sockets and files).

        :raises PluginLoadError: the module cannot be read, or Ray cannot be reached.
        """
        await self._start()
        if spec.limits.process_memory is not None:
            if plugin not in self._warned:
                self._warned.add(plugin)
                log.warning(
                    "process_memory_not_applied",
                    plugin=plugin,
                    reason="an address-space rlimit would cap the Ray worker process "
                    "itself; limits.memory still bounds the instance",
                )
            limits = msgspec.structs.replace(spec.limits, process_memory=None)
            spec = msgspec.structs.replace(spec, limits=limits)
        if spec.sandbox != SandboxSpec() and f"sandbox:{plugin}" not in self._warned:
            self._warned.add(f"sandbox:{plugin}")
            log.warning(
                "sandbox_not_applied",
                plugin=plugin,
                reason="OS confinement is the local backend's: on Ray it would confine "
                "the Ray worker process itself; the wasm sandbox still applies",
            )
        self._specs[plugin] = spec
        if is_manifest(spec.source):
            self._modules.pop(plugin, None)
            return spec
        try:
            st = os.stat(spec.source)
        except OSError as exc:
            raise PluginLoadError(
                f"cannot read {spec.source}: {exc.strerror}", plugin=plugin
            ) from None
        key = (spec.source, st.st_mtime_ns, st.st_size)
        module = self._modules.get(plugin)
        if module is None or module.key != key:
            module = await anyio.to_thread.run_sync(
                self._put_module, spec.source, key, int(spec.limits.source_size), plugin
            )
            self._modules[plugin] = module
        return msgspec.structs.replace(spec, source=module.path)

    @staticmethod
    def _put_module(source: str, key: tuple[str, int, int], limit: int, plugin: str) -> _Module:
        """Read the module (bounded, regular files only: ``SourceBudget``) into Ray.

        :raises PluginLoadError: unreadable, not a regular file, or too large.
        """
        try:
            data = SourceBudget(limit).read(source)
        except SourceRefused as exc:
            raise PluginLoadError(f"{source}: {exc}", plugin=plugin) from None
        except OSError as exc:
            raise PluginLoadError(f"cannot read {source}: {exc.strerror}") from None
        digest = hashlib.sha256(data).hexdigest()
        return _Module(key, ray.put(data), module_path(digest, os.path.basename(source)))

    # -- actors -------------------------------------------------------------------------

    def _actor_options(self, plugin: str, instance: int, token: str) -> dict[str, Any]:
        opts = _merge(self.spec, plugin)
        options: dict[str, Any] = {
            "max_restarts": 0,
            "max_task_retries": 0,
            "name": f"orchestra:{plugin}:{instance}:{token[:8]}",
        }
        if self.spec.namespace:
            options["namespace"] = self.spec.namespace
        if self.spec.runtime_env:
            options["runtime_env"] = self.spec.runtime_env
        if opts.num_cpus is not None:
            options["num_cpus"] = opts.num_cpus
        if opts.num_gpus is not None:
            options["num_gpus"] = opts.num_gpus
        if opts.memory is not None:
            options["memory"] = int(opts.memory)
        if opts.resources:
            options["resources"] = dict(opts.resources)
        strategy = opts.placement.strategy if opts.placement else "DEFAULT"
        if strategy in _PG_STRATEGIES:
            from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

            # A bundle must hold what the actor asks for; an actor in a bundle asks
            # for at least one CPU unless told otherwise.
            options.setdefault("num_cpus", 1)
            group = self._placement_group(plugin, options, strategy)
            options["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
                group, placement_group_bundle_index=instance
            )
        elif strategy == "SPREAD":
            options["scheduling_strategy"] = "SPREAD"
        return options

    def _placement_group(self, plugin: str, options: dict[str, Any], strategy: str) -> Any:
        """One placement group per plug-in, a bundle per instance holding exactly what
        one actor asks for. :raises PluginLoadError: the actor asks for nothing."""
        group = self._groups.get(plugin)
        if group is None:
            bundle: dict[str, float] = {"CPU": float(options["num_cpus"])}
            if "num_gpus" in options:
                bundle["GPU"] = float(options["num_gpus"])
            if "memory" in options:
                bundle["memory"] = float(options["memory"])
            bundle.update(options.get("resources", {}))
            bundle = {k: v for k, v in bundle.items() if v > 0}
            if not bundle:
                raise PluginLoadError(
                    f"placement strategy {strategy} needs each actor to ask for some "
                    "resource: set num_cpus above 0, or resources",
                    plugin=plugin,
                )
            count = self._specs[plugin].instances
            group = ray.util.placement_group(
                [dict(bundle) for _ in range(count)],
                strategy=strategy,
                name=f"orchestra:{plugin}:{secrets.token_hex(4)}",
            )
            self._groups[plugin] = group
        return group

    async def spawn(self, plugin: str, instance: int) -> RayChannel:
        """Create the actor, start its serve method, and wait for it to dial back.

        :raises PluginLoadError: the actor failed before connecting, or did not connect
            within the plug-in's ``start_timeout`` (e.g. the cluster lacks the
            resources it asks for).
        """
        await self._start()
        token = secrets.token_hex(16)
        module = self._modules.get(plugin)
        spec = self._specs.get(plugin)
        timeout = float(spec.start_timeout) if spec is not None else 30.0
        try:
            options = self._actor_options(plugin, instance, token)
            actor: Any = remote_actor_class().options(**options).remote()
        except (ValueError, TypeError) as exc:
            raise PluginLoadError(f"Ray rejected the actor options: {exc}", plugin=plugin) from None
        host, port = self.address
        ref = actor.serve.remote(
            host,
            port,
            token,
            module.ref if module is not None else None,
            module.path if module is not None else None,
            timeout,
            int(self.spec.by_reference) if self.spec.by_reference is not None else None,
        )
        done: concurrent.futures.Future[Any] = ref.future()
        self._expected.add(token)
        try:
            sock, hello = await self._wait_connection(token, done, timeout, plugin, options)
        except BaseException:
            self._expected.discard(token)
            late = self._arrived.pop(token, None)  # connected just as we gave up
            if late is not None:
                late[0].close()
            ray.kill(actor, no_restart=True)
            raise
        self._expected.discard(token)
        channel = RayChannel(self, actor, done, sock, hello)
        self._channels.add(channel)
        return channel

    async def _wait_connection(
        self,
        token: str,
        done: concurrent.futures.Future[Any],
        timeout: float,
        plugin: str,
        options: dict[str, Any],
    ) -> tuple[socket.socket, dict[str, Any]]:
        """Accept connections (one acceptor at a time, handing each to the spawn it
        belongs to) until ours arrives, the actor fails, or time runs out."""
        deadline = time.monotonic() + timeout
        listener = self._listener
        assert listener is not None
        while True:
            if token in self._arrived:
                return self._arrived.pop(token)
            if done.done():
                exc = done.exception()
                what = _describe_death(exc, killed=False) if exc else "returned"
                raise PluginLoadError(
                    f"the Ray actor {what} before it connected back to the driver at "
                    f"{self.address[0]}:{self.address[1]}",
                    plugin=plugin,
                )
            if time.monotonic() > deadline:
                asks = {
                    k: options[k]
                    for k in ("num_cpus", "num_gpus", "memory", "resources")
                    if k in options
                }
                if asks and "num_cpus" not in asks:
                    # Ray's default for an actor that asks for anything else.
                    asks["num_cpus"] = "1 (Ray's default; set num_cpus: 0 to hold none)"
                raise PluginLoadError(
                    f"the Ray actor did not start and connect back within {timeout:g}s "
                    f"(it asks for {asks or 'default resources'}; can the cluster place "
                    f"it, and can its node reach {self.address[0]}:{self.address[1]}? "
                    "See `ray status`)",
                    plugin=plugin,
                )
            async with self._accept_lock:
                if token in self._arrived:
                    continue
                with anyio.move_on_after(_POLL):
                    await anyio.wait_readable(listener)
                try:
                    conn, _ = listener.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    if self._closed:
                        raise PluginLoadError("the Ray backend closed", plugin=plugin) from None
                    raise
                hello = await self._read_hello(conn)
                if hello is None:
                    conn.close()
                    continue
                peer = str(hello["token"])
                if peer not in self._expected:
                    conn.close()  # stale (its spawn gave up) or not ours
                    continue
                self._arrived[peer] = (conn, hello)

    @staticmethod
    async def _read_hello(conn: socket.socket) -> dict[str, Any] | None:
        """The actor's hello line, or None (garbage, too long, too slow)."""
        conn.setblocking(False)
        buf = b""
        with anyio.move_on_after(_HELLO_TIMEOUT):
            while b"\n" not in buf and len(buf) < HELLO_MAX:
                try:
                    chunk = conn.recv(HELLO_MAX - len(buf))
                except BlockingIOError:
                    await anyio.wait_readable(conn)
                    continue
                except OSError:
                    return None
                if not chunk:
                    return None
                buf += chunk
        line, sep, rest = buf.partition(b"\n")
        if not sep or rest:  # the worker speaks only after our Init
            return None
        try:
            hello = json.loads(line)
        except ValueError:
            return None
        if not isinstance(hello, dict) or not isinstance(hello.get("token"), str):
            return None
        if not isinstance(hello.get("pid"), int):
            return None
        tune_socket(conn)
        return hello

    def _forget(self, channel: RayChannel) -> None:
        self._channels.discard(channel)

    async def aclose(self) -> None:
        """Kill the actors still running, drop placement groups, stop listening; shut
        Ray down only if this backend started it."""
        self._closed = True
        for channel in list(self._channels):
            channel.kill()
            channel.close_socket()
        self._channels.clear()
        for sock, _ in self._arrived.values():
            sock.close()
        self._arrived.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if ray.is_initialized():
            for group in self._groups.values():
                try:
                    ray.util.remove_placement_group(group)
                except Exception:
                    pass
        self._groups.clear()
        self._modules.clear()  # drops our references: Ray frees the module objects
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
            self._owns_ray = False
        self._started = False
