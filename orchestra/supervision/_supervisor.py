"""The supervisor: one pool per plug-in, a watchdog, orderly escalating shutdown."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import anyio.abc
import structlog

from .._paths import host_plugin_search_paths
from ..backends import Backend, ByRef
from ..config import Config
from ..errors import CallError, PluginLoadError, PluginUnavailable
from ..wire import Result
from ._pool import PluginPool, PluginStats

__all__ = ("Supervisor",)

log = structlog.get_logger("orchestra.supervisor")

WATCHDOG_PERIOD = 0.25


class Supervisor:
    """Starts every plug-in's instances (concurrently), watches and restarts them.

    ``await tg.start(supervisor.run)`` returns once every instance is ready; cancel the
    task (or call :meth:`aclose`) to stop everything.
    """

    def __init__(
        self,
        config: Config,
        backend: Backend,
        *,
        cache_dir: str | None,
        log_level: str = "info",
        shutdown_grace: float = 5.0,
    ) -> None:
        self.config = config
        self.backend = backend
        self.shutdown_grace = shutdown_grace
        paths = host_plugin_search_paths(config.host_plugins.paths)
        options = config.host_plugins.option_strings()
        self.pools: dict[str, PluginPool] = {
            name: PluginPool(
                name,
                spec,
                backend,
                cache_dir=cache_dir,
                log_level=log_level,
                host_plugin_paths=paths,
                host_plugin_options=options,
                router=self,
            )
            for name, spec in config.plugins.items()
        }
        self._stopped = anyio.Event()
        self.done = anyio.Event()
        """Set once every worker has stopped and :meth:`run` is about to return."""

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[Supervisor] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Start every plug-in (concurrently), then supervise until stopped.

        :raises PluginLoadError: a plug-in could not start: one error, for the first
            such plug-in in the config (the others are named in its message).
        """
        started = time.perf_counter()
        failures: dict[str, Exception] = {}
        try:
            async with anyio.create_task_group() as tg:

                async def start_pool(pool: PluginPool) -> None:
                    try:
                        await tg.start(pool.run)
                    except Exception as exc:  # cancellation is not an Exception
                        failures[pool.name] = exc

                async with anyio.create_task_group() as start_tg:
                    for pool in self.pools.values():
                        start_tg.start_soon(start_pool, pool)
                if failures:
                    tg.cancel_scope.cancel("startup failed")
                else:
                    tg.start_soon(self._watchdog)
                    log.info(
                        "supervisor_ready",
                        plugins=len(self.pools),
                        instances=sum(p.spec.instances for p in self.pools.values()),
                        startup_ms=round((time.perf_counter() - started) * 1e3, 1),
                    )
                    task_status.started(self)
                    await self._stopped.wait()
                    await self._close_pools()
                    tg.cancel_scope.cancel("supervisor stopped")
            if failures:
                raise self._startup_error(failures)
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(self.shutdown_grace + 2):
                await self._close_pools()
            self.done.set()

    def _startup_error(self, failures: dict[str, Exception]) -> Exception:
        """The first failed plug-in's error (in config order), naming the others."""
        names = [name for name in self.pools if name in failures]
        first = failures[names[0]]
        if len(names) > 1 and isinstance(first, PluginLoadError):
            others = ", ".join(repr(n) for n in names[1:])
            return PluginLoadError(
                f"{first.message} (plug-in{'s' if len(names) > 2 else ''} {others} failed "
                "to start too)",
                plugin=first.plugin,
            )
        return first

    async def _close_pools(self) -> None:
        async with anyio.create_task_group() as tg:
            for pool in self.pools.values():
                if not pool.closing or any(w is not None for w in pool.workers):
                    tg.start_soon(pool.aclose, self.shutdown_grace)

    async def _watchdog(self) -> None:
        while True:
            await anyio.sleep(WATCHDOG_PERIOD)
            now = time.monotonic()
            for pool in self.pools.values():
                pool.watchdog(now)

    def stop(self) -> None:
        """Begin an orderly shutdown (calls already queued still get answered)."""
        self._stopped.set()

    def pool(self, plugin: str, export: str = "") -> PluginPool:
        try:
            return self.pools[plugin]
        except KeyError:
            raise PluginUnavailable(
                f"no plug-in named {plugin!r} (configured: {', '.join(sorted(self.pools)) or 'none'})",
                plugin=plugin,
                export=export or None,
            ) from None

    async def call(
        self, plugin: str, export: str, data: bytes = b"", args: list[Any] | None = None
    ) -> Result:
        """:raises CallError: a typed subclass."""
        return await self.pool(plugin, export).call(export, data, args)

    async def route(
        self,
        plugin: str,
        export: str,
        data: bytes | ByRef,
        args: list[Any] | None,
        chain: tuple[tuple[str, int], ...],
    ) -> Result:
        """Serve a routed import (plug-in A's import answered by B's export).

        ``chain`` lists the (plugin, instance) pairs blocked upstream; those instances
        are never chosen (they would deadlock), and a cycle with no free instance is
        refused at once.

        :raises CallError: a typed subclass.
        """
        return await self.pool(plugin, export).call(export, data, args, chain=chain)

    def route_now(
        self,
        plugin: str,
        export: str,
        data: bytes,
        args: list[Any] | None,
        chain: tuple[tuple[str, int], ...],
        done: Callable[[Result | CallError], None],
    ) -> bool:
        """:meth:`route` without a task when an instance of ``plugin`` has room now
        (``done`` gets the outcome); False otherwise, and for a plug-in not configured
        (:meth:`route` says why)."""
        pool = self.pools.get(plugin)
        return pool is not None and pool.route_now(export, data, args, chain, done)

    def stats(self) -> dict[str, PluginStats]:
        return {name: pool.stats() for name, pool in self.pools.items()}
