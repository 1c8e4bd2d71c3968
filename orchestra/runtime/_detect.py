"""Which calling convention (ABI) a module uses; README.md "Calling conventions (ABIs)"."""

from __future__ import annotations

import wasmtime

__all__ = ("EXTISM_ENV", "WASI_MODULES", "detect_abi")

EXTISM_ENV = "extism:host/env"
WASI_MODULES = frozenset({"wasi_snapshot_preview1", "wasi_unstable"})


def detect_abi(module: wasmtime.Module) -> str:
    """``extism`` if it imports the Extism kernel; ``wasi-command`` if ``_start`` is its
    only callable export; ``core`` otherwise."""
    if any(imp.module == EXTISM_ENV for imp in module.imports):
        return "extism"
    funcs = [exp.name for exp in module.exports if isinstance(exp.type, wasmtime.FuncType)]
    if "_start" in funcs and all(name == "_start" for name in funcs):
        return "wasi-command"
    return "core"
