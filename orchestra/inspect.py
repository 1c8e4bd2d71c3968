"""``orchestra inspect``: what a module is and what its imports would be bound to.

Compiles the module (no store, no instance) in the calling process: it is a
one-shot CLI step, not the supervisor.
"""

from __future__ import annotations

from pathlib import Path

import wasmtime

from .errors import PluginLoadError
from .runtime import detect_abi
from .runtime._detect import EXTISM_ENV, WASI_MODULES

__all__ = ("describe_module",)


def _bound_to(module: str, abi: str) -> str:
    if module in WASI_MODULES:
        return "WASI (only what the config grants)"
    if module == EXTISM_ENV:
        return "Extism kernel"
    return "unsatisfied: needs a host module grant (host_modules:) or a route (imports:)"


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


def describe_module(path: Path) -> str:
    """A human-readable report.

    :raises PluginLoadError: not a valid module.
    """
    raw = path.read_bytes()
    try:
        wasm = raw if raw.startswith(b"\0asm") else wasmtime.wat2wasm(raw.decode())
        module = wasmtime.Module(wasmtime.Engine(), wasm)
    except (wasmtime.WasmtimeError, UnicodeDecodeError) as exc:
        raise PluginLoadError(f"{path}: not a valid wasm module: {exc}") from None
    abi = detect_abi(module)
    lines = [f"module: {path}", f"abi: {abi}", "exports:"]
    for exp in module.exports:
        lines.append(f"  {exp.name}: {describe_type(exp.type)}")
    lines.append("imports:" if module.imports else "imports: none")
    for imp in module.imports:
        lines.append(
            f"  {imp.module}.{imp.name}: {describe_type(imp.type)}  <- {_bound_to(imp.module, abi)}"
        )
    return "\n".join(lines)
