"""One plug-in instance inside a worker: engine, module, linker, store(s) and an ABI.

Never imports anyio: the worker's serve loop drives this synchronously.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import wasmtime

from ..config import PluginSpec
from ..errors import CallError, PluginLoadError
from ._detect import EXTISM_ENV, WASI_MODULES, detect_abi
from ._engine import EngineSettings, load_module, make_engine
from ._traps import translate

__all__ = ("Abi", "PluginInstance", "register_abi")

EPOCH_TICK = 0.005  # seconds per epoch tick; timeouts are honoured to about this
_NO_DEADLINE = 1 << 62


class Abi(Protocol):
    """A calling convention. ``call`` raises :class:`CallError` (or a wasmtime
    exception that :func:`translate` maps) and says whether the store must be reset."""

    name: str

    def exports(self) -> list[str]: ...

    def call(
        self, export: str, data: bytes, args: list[int | float] | None
    ) -> tuple[bytes, list[int | float] | None]: ...

    def reset(self) -> None: ...


AbiFactory = Callable[["PluginInstance"], Abi]
_ABIS: dict[str, AbiFactory] = {}


def register_abi(name: str, factory: AbiFactory) -> None:
    """The seam for ABIs: ``core`` and ``wasi-command`` register here; ``extism`` will."""
    _ABIS[name] = factory


class _EpochTicker:
    """Advances the engine's epoch so ``set_epoch_deadline`` can interrupt a call.

    One daemon thread per worker; ctypes releases the GIL while wasm runs, so the
    ticker runs during a call that never returns to Python.
    """

    def __init__(self, engine: wasmtime.Engine) -> None:
        self._engine = engine
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="orchestra-epoch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(EPOCH_TICK):
            self._engine.increment_epoch()

    def close(self) -> None:
        self._stop.set()


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
    ) -> None:
        started = time.perf_counter()
        self.spec = spec
        self.plugin = plugin
        self.instance = instance
        limits = spec.limits
        self.timeout = float(limits.timeout) if limits.timeout else None
        self.fuel = limits.fuel
        self._deadline_ticks = (
            math.ceil(self.timeout / EPOCH_TICK) + 1 if self.timeout else _NO_DEADLINE
        )
        self.settings = EngineSettings(
            epoch_interruption=True,
            consume_fuel=limits.fuel is not None,
            max_wasm_stack=int(limits.stack) if limits.stack else None,
        )
        self.engine = make_engine(self.settings)
        self.module, self.cached = load_module(
            self.engine, self.settings, Path(spec.source), cache_dir=cache_dir
        )
        self.abi_name = spec.abi if spec.abi != "auto" else detect_abi(self.module)
        factory = _ABIS.get(self.abi_name)
        if factory is None:
            raise PluginLoadError(
                f"the {self.abi_name!r} ABI is not available in this version of Orchestra",
                plugin=plugin,
            )
        self.uses_wasi = spec.wasi is not None or any(
            imp.module in WASI_MODULES for imp in self.module.imports
        )
        self._preopens = self._check_preopens()
        self.linker = wasmtime.Linker(self.engine)
        if self.uses_wasi:
            self.linker.define_wasi()
        self._check_imports()
        try:
            self.pre = self.linker.instantiate_pre(self.module)
        except wasmtime.WasmtimeError as exc:
            raise PluginLoadError(f"cannot link the module: {exc}", plugin=plugin) from None
        self._ticker = _EpochTicker(self.engine)
        try:
            self.abi = factory(self)
        except BaseException:
            self._ticker.close()
            raise
        self.resets = 0
        self.load_ms = (time.perf_counter() - started) * 1000

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

    def _check_imports(self) -> None:
        for imp in self.module.imports:
            if imp.module in WASI_MODULES or (
                imp.module == EXTISM_ENV and self.abi_name == "extism"
            ):
                continue
            name = f"{imp.module}.{imp.name}"
            raise PluginLoadError(
                f"import {name!r} is not provided; grant a host module "
                f"(host_modules: [{imp.module}]) or route it "
                f'(imports: {{"{name}": other_plugin.export}})',
                plugin=self.plugin,
            )

    # -- stores ---------------------------------------------------------------

    def new_store(self, wasi: wasmtime.WasiConfig | None = None) -> wasmtime.Store:
        """A store with this plug-in's limits applied."""
        store = wasmtime.Store(self.engine)
        if self.spec.limits.memory is not None:
            store.set_limits(memory_size=int(self.spec.limits.memory))
        if self.uses_wasi:
            store.set_wasi(wasi if wasi is not None else self.wasi_config())
        return store

    def wasi_config(self) -> wasmtime.WasiConfig:
        """WASI with only what the config grants: args, env, allowed paths."""
        cfg = wasmtime.WasiConfig()
        wasi = self.spec.wasi
        cfg.argv = [self.plugin, *(wasi.args if wasi else [])]
        if wasi and wasi.env:
            cfg.env = list(wasi.env.items())
        for path, guest, readonly in self._preopens:
            cfg.preopen_dir(path, guest, fs_mutable=not readonly)
        cfg.inherit_stderr()
        cfg.inherit_stdout()  # the worker's fd 1 is the supervisor's stderr, never the protocol
        return cfg

    def arm(self, store: wasmtime.Store) -> None:
        """Set this call's deadline (and fuel) on ``store``."""
        store.set_epoch_deadline(self._deadline_ticks)
        if self.fuel is not None:
            store.set_fuel(self.fuel)

    # -- calls ----------------------------------------------------------------

    def call(
        self, export: str, data: bytes = b"", args: list[int | float] | None = None
    ) -> tuple[bytes, list[int | float] | None]:
        """One call. After a trap, timeout or fuel exhaustion the store is replaced by a
        fresh one (its state cannot be trusted), so the next call starts clean.

        :raises CallError: a typed subclass naming plug-in, instance and export.
        """
        try:
            return self.abi.call(export, data, args)
        except CallError as exc:
            raise translate(exc, **self._where(export)) from None
        except Exception as exc:
            error = getattr(exc, "error", exc)  # unwrap WasmFailure
            translated = translate(error, **self._where(export))
            if isinstance(error, wasmtime.Trap | wasmtime.WasmtimeError):
                self.abi.reset()
                self.resets += 1
            raise translated from None

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
