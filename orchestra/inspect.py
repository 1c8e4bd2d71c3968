"""``orchestra inspect``: what a module is and what its imports would be bound to.

Compiles the module (no store, no instance) in the calling process: it is a
one-shot CLI step, not the supervisor.
"""

from __future__ import annotations

from pathlib import Path

import wasmtime

from .errors import PluginLoadError
from .hostplugins import HostPluginRegistry
from .runtime import detect_abi
from .runtime._detect import EXTISM_ENV, WASI_MODULES
from .runtime._engine import wasm_bytes

__all__ = ("describe_module",)


_registry: list[HostPluginRegistry] = []


def _host_plugins() -> HostPluginRegistry:
    """The host plug-ins on the default search paths, found once (native ones by a
    probe process: nothing is loaded here)."""
    if not _registry:
        registry = HostPluginRegistry()
        registry.load_default_paths()
        _registry.append(registry)
    return _registry[0]


def _bound_to(module: str, abi: str) -> str:
    if module in WASI_MODULES:
        return "WASI (only what the config grants)"
    if module == EXTISM_ENV:
        return "Extism kernel"
    registry = _host_plugins()
    grant = f"host_modules: [{module}]"
    provider = registry.provider(module)
    if provider is not None:
        return f"host plug-in {provider.name} {provider.version} ({provider.file}) once granted ({grant})"
    searched = ", ".join(registry.searched)
    known = registry.known_modules.get(module)
    if known is not None:
        return (
            f"mocked once granted ({grant}): host plug-in {known!r} is not installed "
            f"(searched: {searched}); a call fails with MissingHostPlugin"
        )
    return (
        f"unsatisfied: grant a host module ({grant}; no host plug-in found provides it, "
        f"so it would be mocked; searched: {searched}) or route it (imports:)"
    )


def describe_type(ty: object) -> str:
    """A wasm extern type the way WAT writes it: ``func (i32, i32) -> (i32)``,
    ``memory 1..16 pages``, ``global mut i64``, ``table 4 funcref``."""
    if isinstance(ty, wasmtime.FuncType):
        params = ", ".join(str(t) for t in ty.params)
        results = ", ".join(str(t) for t in ty.results)
        return f"func ({params}) -> ({results})"
    if isinstance(ty, wasmtime.MemoryType):
        limits = ty.limits
        top = f"..{limits.max}" if limits.max is not None else "+"
        return f"memory {limits.min}{top} pages"
    if isinstance(ty, wasmtime.GlobalType):
        return f"global {'mut ' if ty.mutable else ''}{ty.content}"
    if isinstance(ty, wasmtime.TableType):
        return f"table {ty.limits.min} {ty.element}"
    return type(ty).__name__


def describe_module(path: Path, routes: dict[str, str] | None = None, abi: str = "auto") -> str:
    """A human-readable report. ``routes`` (a plug-in's ``imports:`` from a config)
    names the imports another plug-in's export serves; ``abi`` other than ``auto``
    is the ABI to report (a config's ``abi:``, ``--abi``) instead of the detected one.

    :raises PluginLoadError: not a valid module.
    """
    wasm = wasm_bytes(str(path), path.read_bytes())  # never quotes a file that is not WAT
    try:
        module = wasmtime.Module(wasmtime.Engine(), wasm)
    except wasmtime.WasmtimeError as exc:
        raise PluginLoadError(f"{path}: not a valid wasm module: {exc}") from None
    abi = abi if abi != "auto" else detect_abi(module)
    lines = [f"module: {path}", f"abi: {abi}", "exports:"]
    for exp in module.exports:
        lines.append(f"  {exp.name}: {describe_type(exp.type)}")
    lines.append("imports:" if module.imports else "imports: none")
    for imp in module.imports:
        name = f"{imp.module}.{imp.name}"
        target = (routes or {}).get(name)
        bound = f"route to {target} (imports:)" if target else _bound_to(imp.module, abi)
        lines.append(f"  {name}: {describe_type(imp.type)}  <- {bound}")
    return "\n".join(lines)
