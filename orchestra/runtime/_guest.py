"""Guest language runtimes of Extism plug-ins: which initialisers run, and WASI exits.

Follows the Extism runtime (``runtime/src/plugin.rs``: ``detect_guest_runtime``,
``initialize_guest_runtime`` and the ``I32Exit`` handling of ``raw_call``), as the
Extism Python SDK (libextism 1.41) behaves (tests/integration/test_extism_pdks.py
compares the two):

* a module exporting ``hs_init`` is a Haskell (GHC) plug-in: its ``_initialize``
  runs first, then ``hs_init(0, 0)``;
* otherwise ``__wasm_call_ctors`` runs when exported (and only it, even if
  ``_initialize`` is exported too), when it is ``() -> ()`` (else nothing runs);
* otherwise ``_initialize`` runs;
* an ``_initialize`` that is not ``() -> ()``, or an initialiser that traps or
  calls WASI ``proc_exit`` (even with 0), fails the load, naming the initialiser;
* a module exporting both ``_start`` and ``_initialize`` fails the load: a WASI
  program is a command or a reactor, not both (wasmtime's ``Linker::module``, which
  the SDK instantiates with, refuses it: "Program cannot be both a Command and a
  Reactor").

A WASI ``proc_exit`` inside an export: code 0 is a success (the output set so far
is the result), any other code an error naming it; the instance keeps its state,
as in the SDK. A call of ``_start`` (a WASI command's ``main``) is followed by a
fresh instance with no vars, as in the SDK (``store_needs_reset``: a new store,
whose plug-in state, vars included, starts empty).
"""

from __future__ import annotations

import wasmtime

from ..errors import PluginLoadError
from ._fastcall import FastFunc, WasmFailure

__all__ = ("INITIALISERS", "check_entry_points", "exit_code", "run_initialisers")

INITIALISERS = ("_initialize", "__wasm_call_ctors", "hs_init")
"""Exports the host runs itself, never offered as plug-in functions."""


def check_entry_points(module: wasmtime.Module, *, plugin: str) -> None:
    """:raises PluginLoadError: the module exports both ``_start`` and ``_initialize``."""
    names = {export.name for export in module.exports}
    if {"_start", "_initialize"} <= names:
        raise PluginLoadError(
            "the module exports both _start and _initialize: a program cannot be both a "
            "WASI command and a reactor (as Extism says); a plug-in exports one of them "
            "(Go and TinyGo reactors: -buildmode=c-shared)",
            plugin=plugin,
        )


def _func(store: wasmtime.Store, exports: wasmtime.InstanceExports, name: str) -> FastFunc | None:
    item = exports.get(name)
    return FastFunc(store, item, name) if isinstance(item, wasmtime.Func) else None


def _nullary(ff: FastFunc | None) -> FastFunc | None:
    return ff if ff is not None and not ff.param_types and not ff.result_types else None


def initialisers(
    store: wasmtime.Store, instance: wasmtime.Instance, *, plugin: str
) -> list[tuple[FastFunc, list[int]]]:
    """The initialisers to run, in order, with their arguments (the SDK's rules).

    :raises PluginLoadError: an ``_initialize`` that is not ``() -> ()``, an
        ``hs_init`` that does not take ``(i32, i32)``.
    """
    ex = instance.exports(store)

    def reactor() -> list[tuple[FastFunc, list[int]]]:
        init = _func(store, ex, "_initialize")
        if init is None:
            return []
        if _nullary(init) is None:
            raise PluginLoadError(
                f"the initialiser _initialize has type ({', '.join(init.param_types)}) -> "
                f"({', '.join(init.result_types)}); it must be () -> () "
                "(Extism: expected 0 types)",
                plugin=plugin,
            )
        return [(init, [])]

    hs_init = _func(store, ex, "hs_init")
    if hs_init is not None:
        if hs_init.param_types != ["i32", "i32"]:
            raise PluginLoadError(  # the SDK's call with (0, 0) fails on the type too
                f"the initialiser hs_init has parameters ({', '.join(hs_init.param_types)}); "
                "it must take (i32, i32) (GHC's argc, argv), called with (0, 0)",
                plugin=plugin,
            )
        return [*reactor(), (hs_init, [0, 0])]
    ctors = _func(store, ex, "__wasm_call_ctors")
    if ctors is not None:
        return [(ctors, [])] if _nullary(ctors) is not None else []
    return reactor()


def exit_code(error: BaseException) -> int | None:
    """The code of a WASI ``proc_exit`` that ended a call, None for other failures."""
    return error.code if isinstance(error, wasmtime.ExitTrap) else None


def run_initialisers(store: wasmtime.Store, instance: wasmtime.Instance, *, plugin: str) -> None:
    """Run the guest runtime's initialisers once, on a fresh instance.

    :raises PluginLoadError: an initialiser is mistyped, trapped or called
        ``proc_exit``, naming it.
    """
    for ff, args in initialisers(store, instance, plugin=plugin):
        try:
            ff.call(args)
        except WasmFailure as failure:
            code = exit_code(failure.error)
            reason = (
                f"it called proc_exit({code})"
                if code is not None
                else str(failure.error).splitlines()[0]
            )
            raise PluginLoadError(
                f"the initialiser {ff.name} failed: {reason} "
                "(is limits.fuel or limits.timeout too small for it?)",
                plugin=plugin,
            ) from None
