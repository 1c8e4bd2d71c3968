"""One plug-in instance inside a worker: engine, module, linker, store(s) and an ABI.

Never imports anyio: the worker's serve loop drives this synchronously.
"""

from __future__ import annotations

import math
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import wasmtime

from ..config import PluginSpec, is_manifest
from ..errors import CallError, PluginLoadError, PluginMemoryLimit, PluginTrap
from ._detect import WASI_MODULES, detect_abi
from ._engine import engine_settings, make_engine
from ._fastcall import LeanLinker, deadline_setter
from ._imports import BlockAccess, Router, define_imports, plan_imports
from ._sources import load_source
from ._stdio import OutputLines, StdioSink
from ._traps import translate

__all__ = ("Abi", "InputRing", "LogSink", "PluginInstance", "register_abi")

EPOCH_TICK = 0.005  # seconds per epoch tick; timeouts are honoured to about this
_NO_DEADLINE = 1 << 62


@dataclass(frozen=True)
class InputRing:
    """A worker's input ring, for an ABI to map: ``size`` bytes of the memfd ``fd``
    from ``offset``, which the worker sees as ``view``. The file's first page holds,
    at ``written``, the ring position up to which the supervisor has copied;
    ``wait(end)`` returns once that reaches ``end``."""

    fd: int
    offset: int
    size: int
    view: memoryview
    written: int
    wait: Callable[[int], None]


class Abi(Protocol):
    """A calling convention. ``call`` raises :class:`CallError` (or a wasmtime
    exception that :func:`translate` maps) and says whether the store must be reset.

    Contract on ``data`` (bytes or a read-only view of the worker's payload ring):
    an ABI copies it into the store *before* running the export and then calls
    ``owner.input_consumed()``, so the worker can hand the ring space back while the
    plug-in computes. An ABI that mapped the ring (``map_input_ring``) may instead
    read it in place when ``owner.input_at`` gives its position in the ring. When
    ``owner.view_output`` is set, a large output may come back
    as a memoryview of linear memory, valid until the next call into the store (the
    worker copies it straight into its output ring: no intermediate bytes)."""

    name: str

    def exports(self) -> list[str]: ...

    def call(
        self, export: str, data: bytes, args: list[int | float] | None
    ) -> tuple[bytes, list[int | float] | None]: ...

    def reset(self) -> None: ...


AbiFactory = Callable[["PluginInstance"], Abi]
LogSink = Callable[[str, str], None]
"""Receives (level, message) for each plug-in log line that passes the level filter."""
_ABIS: dict[str, AbiFactory] = {}


def register_abi(name: str, factory: AbiFactory) -> None:
    """The seam for ABIs: ``core`` and ``wasi-command`` register here; ``extism`` will."""
    _ABIS[name] = factory


def _mib(n: int) -> str:
    return f"{n / 1048576:.4g}MiB"


def memory_sizes(store: wasmtime.Store, *instances: wasmtime.Instance) -> list[int]:
    """Byte sizes of the memories exported by ``instances``."""
    return [
        item.data_len(store)
        for inst in instances
        for item in inst.exports(store).values()
        if isinstance(item, wasmtime.Memory)
    ]


class _EpochTicker:
    """Advances the engine's epoch while calls run, so ``set_epoch_deadline`` can
    interrupt them. Idle, the thread sleeps on an event (an idle worker costs no CPU).

    Back-to-back calls cost one attribute write each: ``start_call`` wakes the thread
    only when it has gone idle, and the thread goes idle by itself one tick after the
    last call ended (clear, then re-check: a call that started meanwhile sets it again).

    ctypes releases the GIL while wasm runs, so the ticker runs during a call that
    never returns to Python.
    """

    def __init__(self, engine: wasmtime.Engine) -> None:
        self._engine = engine
        self._busy = threading.Event()
        self._stopped = False
        self.active = False
        self._thread = threading.Thread(target=self._run, name="orchestra-epoch", daemon=True)
        self._thread.start()

    def start_call(self) -> None:
        self.active = True
        if not self._busy.is_set():
            self._busy.set()

    def end_call(self) -> None:
        self.active = False

    def _run(self) -> None:
        busy = self._busy
        while True:
            busy.wait()
            if self._stopped:
                return
            time.sleep(EPOCH_TICK)
            self._engine.increment_epoch()
            if not self.active:
                busy.clear()
                if self.active:  # a call started between the check and the clear
                    busy.set()

    def close(self) -> None:
        self._stopped = True
        self._busy.set()


class PluginInstance:
    """Loads a plug-in and serves calls to it, one at a time.

    :raises PluginLoadError: the module cannot be read, compiled or linked.
    """

    def __init__(
        self,
        spec: PluginSpec,
        *,
        plugin: str,
        instance: int = 0,
        cache_dir: Path | None = None,
        host_plugin_paths: list[str] | None = None,
        host_plugin_options: dict[str, dict[str, str]] | None = None,
        log_level: str = "info",
        log_sink: LogSink | None = None,
        router: Router | None = None,
        stdio_sink: StdioSink | None = None,
    ) -> None:
        started = time.perf_counter()
        self.plugin = plugin
        self.instance = instance
        self.cache_dir = cache_dir
        self.log_level = log_level
        self.log_sink: LogSink = log_sink or (lambda level, message: None)
        # WASI stderr (and a stdout that is not the output) as lines; without a sink
        # they go to the worker's stderr as they are.
        self._stdio = (
            [OutputLines("stderr", stdio_sink), OutputLines("stdout", stdio_sink)]
            if stdio_sink is not None
            else None
        )
        self.settings = engine_settings(spec)
        self.engine = make_engine(self.settings)
        loaded = load_source(
            spec, plugin=plugin, engine=self.engine, settings=self.settings, cache_dir=cache_dir
        )
        # A manifest may have changed limits and grants: read them from the result.
        self.spec = spec = loaded.spec
        self.module, self.linked, self.cached = loaded.main, loaded.linked, loaded.cached
        self.growth_budget = loaded.growth_budget  # Extism's max_pages (runtime/_budget.py)
        limits = spec.limits
        self.timeout = float(limits.timeout) if limits.timeout else None
        self.fuel = limits.fuel
        self._deadline_ticks = (
            math.ceil(self.timeout / EPOCH_TICK) + 1 if self.timeout else _NO_DEADLINE
        )
        # The last store armed (weakly: a replaced store goes at once) and its setter.
        self._armed: tuple[weakref.ref[wasmtime.Store], Callable[[int], None]] | None = None
        self.abi_name = (
            spec.abi
            if spec.abi != "auto"
            else detect_abi(self.module, manifest=is_manifest(spec.source))
        )
        factory = _ABIS.get(self.abi_name)
        if factory is None:
            raise PluginLoadError(
                f"the {self.abi_name!r} ABI is not available in this version of Orchestra",
                plugin=plugin,
            )
        if self.linked and self.abi_name != "extism":
            raise PluginLoadError(
                "a manifest with several wasm modules is supported for Extism plug-ins only",
                plugin=plugin,
            )
        self.uses_wasi = spec.wasi is not None or any(
            imp.module in WASI_MODULES for imp in self.module.imports
        )
        self._preopens = self._check_preopens()
        linked_names = {name for name, _ in self.linked}
        self.imports = plan_imports(
            self.module,
            plugin=plugin,
            abi=self.abi_name,
            granted=list(spec.host_modules),
            search_paths=list(host_plugin_paths or []),
            own_modules=linked_names,
            routes=spec.imports,
            options=host_plugin_options,
        )
        self.imports.log_sink = self.log_sink
        self.linker = wasmtime.Linker(self.engine)
        if self.uses_wasi:
            self.linker.define_wasi()
        self.host_callbacks: dict[object, object] = {}
        self.router = router
        define_imports(
            LeanLinker(self.linker, self.host_callbacks),
            self.imports,
            self.block_access,
            router,
            self.timeout or 30.0,
        )
        self._pre: wasmtime.InstancePre | None = None
        self._ticker = _EpochTicker(self.engine)
        try:
            self.abi = factory(self)
        except BaseException:
            self._ticker.close()
            raise
        self.resets = 0
        self._release_input: Callable[[], None] | None = None
        self.view_output = False
        self.input_at: int | None = None
        self.load_ms = (time.perf_counter() - started) * 1000

    def map_input_ring(self, ring: InputRing) -> bool:
        """Let the ABI read large inputs in place from the worker's input ring, even
        while they arrive. True if it does (Extism plug-ins, memory never moving);
        calls then pass ``ring_pos``.
        Not for a plug-in granted a native host function that reads kernel blocks:
        the C helpers of the host plug-in ABI see only ``[kernel, kernel + size)``."""
        if self.imports.native_kernel:
            return False
        mapper = getattr(self.abi, "map_input_ring", None)
        return bool(mapper(ring)) if mapper else False

    def input_consumed(self) -> None:
        """Called by the ABI once the call's input is copied into the store."""
        release, self._release_input = self._release_input, None
        if release is not None:
            release()

    def block_access(self) -> BlockAccess | None:
        """The current store's Extism kernel blocks (None for other ABIs)."""
        abi = getattr(self, "abi", None)
        return abi if hasattr(abi, "read_block") else None  # type: ignore[return-value]

    @property
    def pre(self) -> wasmtime.InstancePre:
        """The module linked once against the engine-level linker (core, wasi-command).

        :raises PluginLoadError: an import cannot be linked.
        """
        if self._pre is None:
            try:
                self._pre = self.linker.instantiate_pre(self.module)
            except wasmtime.WasmtimeError as exc:
                raise PluginLoadError(
                    f"cannot link the module: {exc}", plugin=self.plugin
                ) from None
        return self._pre

    @property
    def grants_paths(self) -> bool:
        """Whether WASI pre-opens directories for this plug-in (descriptors past 2)."""
        return bool(self._preopens)

    def _check_preopens(self) -> list[tuple[str, str, bool]]:
        """Granted directories as (host path, guest path, read-only); checked at load so
        a typo fails before any call."""
        out = []
        for host, guest in (self.spec.wasi.allowed_paths if self.spec.wasi else {}).items():
            readonly = host.startswith("ro:")
            path = host[3:] if readonly else host
            if not os.path.isdir(path):
                raise PluginLoadError(
                    f"wasi.allowed_paths: {path} is not a directory", plugin=self.plugin
                )
            out.append((path, guest, readonly))
        return out

    # -- stores ---------------------------------------------------------------

    def new_store(
        self, wasi: wasmtime.WasiConfig | None = None, *, bare: bool = False
    ) -> wasmtime.Store:
        """A store with this plug-in's limits applied; ``bare``: without WASI even
        when the plug-in uses it (its caller serves every WASI import it calls)."""
        store = wasmtime.Store(self.engine)
        if self.spec.limits.memory is not None:
            store.set_limits(memory_size=int(self.spec.limits.memory))
        if self.uses_wasi and not bare:
            store.set_wasi(wasi if wasi is not None else self.wasi_config())
        return store

    @property
    def stderr_writer(self) -> Callable[[bytes], None] | None:
        """Where bytes the plug-in writes to its stderr go when WASI's own stderr is
        bypassed (``_memstdio``): the same lines as WASI's, or None for fd 2."""
        return self._stdio[0].write if self._stdio is not None else None

    def wasi_config(self) -> wasmtime.WasiConfig:
        """WASI with only what the config grants: args, env, allowed paths."""
        cfg = wasmtime.WasiConfig()
        wasi = self.spec.wasi
        cfg.argv = [self.plugin, *(wasi.args if wasi else [])]
        if wasi and wasi.env:
            cfg.env = list(wasi.env.items())
        for path, guest, readonly in self._preopens:
            cfg.preopen_dir(path, guest, fs_mutable=not readonly)
        if self._stdio is not None:
            cfg.stderr_custom = self._stdio[0].write
            cfg.stdout_custom = self._stdio[1].write  # the command ABI sets its own
        else:
            cfg.inherit_stderr()
            cfg.inherit_stdout()  # the worker's fd 1 is its stderr, never the protocol
        return cfg

    def arm(self, store: wasmtime.Store) -> None:
        """Set this call's deadline (and fuel) on ``store``."""
        armed = self._armed
        if armed is None or armed[0]() is not store:
            armed = self._armed = (weakref.ref(store), deadline_setter(store))
        armed[1](self._deadline_ticks)
        if self.fuel is not None:
            store.set_fuel(self.fuel)

    # -- calls ----------------------------------------------------------------

    def call(
        self,
        export: str,
        data: bytes | memoryview = b"",
        args: list[int | float] | None = None,
        *,
        release_input: Callable[[], None] | None = None,
        view_output: bool = False,
        ring_pos: int | None = None,
    ) -> tuple[bytes | memoryview, list[int | float] | None]:
        """One call. After a trap, timeout or fuel exhaustion the store is replaced by a
        fresh one (its state cannot be trusted), so the next call starts clean.

        ``release_input`` runs once ``data`` is no longer needed (as soon as the ABI
        has copied it, at the latest when the call ends). With ``view_output`` a large
        output may be a memoryview of linear memory, valid until the next call.
        ``ring_pos``: ``data`` is the view of the mapped input ring at this monotonic
        position (see :meth:`map_input_ring`), possibly still being written; the ABI
        waits for what it reads, may read it in place, and a view output may then
        lie in that span: the caller hands the span back only once done with the
        output (so it passes no ``release_input``).

        :raises CallError: a typed subclass naming plug-in, instance and export.
        """
        self._release_input = release_input
        self.view_output = view_output
        self.input_at = ring_pos
        self._ticker.start_call()
        try:
            return self.abi.call(export, data, args)  # type: ignore[arg-type]
        except CallError as exc:
            raise translate(exc, **self._where(export)) from None
        except Exception as exc:
            error = getattr(exc, "error", exc)  # unwrap WasmFailure
            translated = translate(error, **self._where(export))
            if isinstance(error, wasmtime.Trap | wasmtime.WasmtimeError):
                translated = self._memory_verdict(translated)
                self.abi.reset()
                self.resets += 1
            raise translated from None
        finally:
            self._ticker.end_call()
            self.input_consumed()  # an ABI that never said so is done with it now
            for lines in self._stdio or ():
                lines.end_call()

    def _memory_verdict(self, error: CallError) -> CallError:
        """A trap while a linear memory sits at its limit is a memory-limit breach:
        the plug-in's ``memory.grow`` failed and it gave up (allocation bomb). wasmtime's
        C API does not report failed grows, so "at its limit" means within one
        sixteenth of it (an allocator growing step by step gets there); a trap with a
        memory over half full says how full it was."""
        limit = self.spec.limits.memory
        if not isinstance(error, PluginTrap) or limit is None or error.trap_code == "interrupt":
            return error
        sizes = getattr(self.abi, "memory_sizes", lambda: [])()
        if not sizes:
            return error
        biggest = max(sizes)
        if biggest + max(65536, int(limit) // 16) > int(limit):
            return PluginMemoryLimit(
                f"memory limit of {_mib(int(limit))} reached (linear memory is "
                f"{_mib(biggest)}): memory.grow failed and the plug-in trapped: {error.message}",
                plugin=error.plugin,
                instance=error.instance,
                export=error.export,
            )
        if biggest * 2 > int(limit):
            error.message += f" (linear memory at {_mib(biggest)} of its {_mib(int(limit))} limit)"
        return error

    def _where(self, export: str) -> dict[str, object]:
        return {
            "plugin": self.plugin,
            "instance": self.instance,
            "export": export,
            "timeout": self.timeout,
            "fuel": self.fuel,
        }

    def close(self) -> None:
        self._ticker.close()
        self.imports.close()  # native host plug-ins run their fini
