"""Which calling convention (ABI) a module uses; README.md "Calling conventions (ABIs)"."""

from __future__ import annotations

import wasmtime

__all__ = ("EXTISM_ENV", "EXTISM_USER", "WASI_MODULES", "detect_abi")

EXTISM_ENV = "extism:host/env"
EXTISM_USER = "extism:host/user"
WASI_MODULES = frozenset({"wasi_snapshot_preview1", "wasi_unstable"})
_RUNTIME_EXPORTS = frozenset({"_initialize", "__wasm_call_ctors", "hs_init", "_start"})


def detect_abi(module: wasmtime.Module, *, manifest: bool = False) -> str:
    """The ABI of a module whose config says ``abi: auto`` (docs/extism.md, "Which
    ABI"), the first rule that holds:

    1. ``extism`` if it imports the Extism kernel or Extism host functions
       (``extism:host/env``, ``extism:host/user``), or came from an Extism
       ``manifest``;
    2. ``wasi-command`` if ``_start`` is its only callable export;
    3. ``extism`` if it imports WASI, exports a guest runtime entry point
       (``_initialize``, ``__wasm_call_ctors``, ``hs_init`` or ``_start``), and its
       other callable exports are all ``() -> i32``, at least one: a PDK plug-in
       that uses no kernel function (TinyGo's, Go's wasip1 reactors);
    4. ``core`` otherwise: a WASI module exporting ``() -> i32`` functions and no
       entry point may be either, and stays ``core`` as before (``abi: extism``,
       ``--abi extism`` say otherwise).
    """
    if manifest or any(imp.module in (EXTISM_ENV, EXTISM_USER) for imp in module.imports):
        return "extism"
    funcs = {
        exp.name: exp.type for exp in module.exports if isinstance(exp.type, wasmtime.FuncType)
    }
    if "_start" in funcs and all(name == "_start" for name in funcs):
        return "wasi-command"
    plugin = [t for name, t in funcs.items() if name not in _RUNTIME_EXPORTS]
    if (
        plugin
        and len(plugin) < len(funcs)
        and any(imp.module in WASI_MODULES for imp in module.imports)
        and all(not t.params and [str(r) for r in t.results] == ["i32"] for t in plugin)
    ):
        return "extism"
    return "core"
