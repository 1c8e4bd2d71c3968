"""What satisfies each import of a plug-in: WASI, the Extism kernel, a granted host
module, or a mock (a granted module whose host plug-in is not installed).

An import of a module that is not granted is refused at load, naming the line to
add to the config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import wasmtime

from ..errors import HostFunctionError, MissingHostPlugin, PluginLoadError
from ..hostplugins import HostFunction, HostPluginRegistry
from ._detect import EXTISM_ENV, WASI_MODULES
from ._fastcall import LeanLinker

__all__ = ("BlockAccess", "ImportPlan", "Route", "Router", "define_imports", "plan_imports")


class BlockAccess(Protocol):
    """Extism kernel blocks, for host functions that take or return bytes."""

    def read_block(self, handle: int) -> bytes: ...

    def write_block(self, data: bytes) -> int: ...


Router = Callable[
    [str, str, bytes, "list[int | float] | None", float], "tuple[bytes, list[int | float] | None]"
]
"""Sends a routed call to the supervisor and waits: (plugin, export, data, args,
timeout) -> (data, values). Raises HostFunctionError."""


@dataclass(frozen=True)
class Route:
    """An import served by another plug-in's export (``imports:`` in the config)."""

    plugin: str
    export: str
    params: list[str]
    results: list[str]
    blocks: bool  # Extism style: one block in, one block out


@dataclass
class ImportPlan:
    host: dict[tuple[str, str], HostFunction] = field(default_factory=dict)
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    mocked: dict[tuple[str, str], wasmtime.FuncType] = field(default_factory=dict)
    searched: list[str] = field(default_factory=list)
    wrappers: dict[tuple[str, str], tuple[list[str], list[str], Callable[..., Any]]] = field(
        default_factory=dict
    )


def _sig(types: list[wasmtime.ValType]) -> str:
    return ", ".join(str(t) for t in types)


def plan_imports(
    module: wasmtime.Module,
    *,
    plugin: str,
    abi: str,
    granted: list[str],
    search_paths: list[str],
    routes: dict[str, str] | None = None,
) -> ImportPlan:
    """Decide every non-WASI, non-kernel import.

    :raises PluginLoadError: an import that nothing may satisfy, or a type mismatch.
    """
    plan = ImportPlan(searched=list(search_paths))
    others = [
        imp
        for imp in module.imports
        if imp.module not in WASI_MODULES and not (imp.module == EXTISM_ENV and abi == "extism")
    ]
    if not others:
        return plan
    routes = routes or {}
    unrouted = []
    for imp in others:
        target = routes.get(f"{imp.module}.{imp.name}")
        if target is None:
            unrouted.append(imp)
            continue
        if not isinstance(imp.type, wasmtime.FuncType):
            raise PluginLoadError(
                f"route {imp.module}.{imp.name}: only functions can be routed", plugin=plugin
            )
        params = [str(t) for t in imp.type.params]
        results = [str(t) for t in imp.type.results]
        target_plugin, _, target_export = target.rpartition(".")
        blocks = abi == "extism" and params == ["i64"] and results in ([], ["i64"])
        plan.routes[(imp.module, imp.name)] = Route(
            target_plugin, target_export, params, results, blocks
        )
    others = unrouted
    if not others:
        return plan
    registry = HostPluginRegistry()
    if granted:
        for path in search_paths:
            registry.load_from_path(path)
    grant_all = "*" in granted
    for imp in others:
        name = f"{imp.module}.{imp.name}"
        if not isinstance(imp.type, wasmtime.FuncType):
            raise PluginLoadError(
                f"import {name!r} is not a function; only function imports can be provided",
                plugin=plugin,
            )
        if imp.module not in granted and not (grant_all and registry.module(imp.module)):
            raise PluginLoadError(
                f"import {name!r} is not provided; grant a host module "
                f"(host_modules: [{imp.module}]) or route it "
                f'(imports: {{"{name}": other_plugin.export}})',
                plugin=plugin,
            )
        host_module = registry.module(imp.module)
        if host_module is None:
            plan.mocked[(imp.module, imp.name)] = imp.type
            continue
        fn = host_module.functions.get(imp.name)
        if fn is None:
            raise PluginLoadError(
                f"import {name!r}: host module {imp.module!r} has no function {imp.name!r} "
                f"(it has: {', '.join(sorted(host_module.functions)) or 'none'})",
                plugin=plugin,
            )
        want = ([str(t) for t in imp.type.params], [str(t) for t in imp.type.results])
        if want != (fn.wasm_params, fn.wasm_results):
            raise PluginLoadError(
                f"import {name!r} has type ({_sig(imp.type.params)}) -> ({_sig(imp.type.results)}) "
                f"but the host function declares ({', '.join(fn.wasm_params)}) -> "
                f"({', '.join(fn.wasm_results)})",
                plugin=plugin,
            )
        if fn.uses_blocks and abi != "extism":
            raise PluginLoadError(
                f"import {name!r} exchanges bytes (Extism blocks), which needs the extism ABI; "
                f"this plug-in uses {abi!r}",
                plugin=plugin,
            )
        plan.host[(imp.module, imp.name)] = fn
    return plan


def _wrap(fn: HostFunction, blocks: Callable[[], BlockAccess | None]) -> Callable[..., Any]:
    where = f"{fn.module}.{fn.name}"
    params, results, call = fn.params, fn.results, fn.fn

    def host(*args: Any) -> Any:
        access = blocks()
        try:
            if access is not None:
                args = tuple(
                    access.read_block(a) if k == "bytes" else a
                    for k, a in zip(params, args, strict=True)
                )
            out = call(*args)
        except HostFunctionError:
            raise
        except Exception as exc:
            raise HostFunctionError(
                f"host function {where} raised {type(exc).__name__}: {exc}"
            ) from None
        if not results:
            return None
        values = out if len(results) > 1 else (out,)
        if access is not None:
            values = tuple(
                access.write_block(bytes(v)) if k == "bytes" else v
                for k, v in zip(results, values, strict=True)
            )
        return values[0] if len(results) == 1 else list(values)

    return host


def _mock(module: str, name: str, searched: list[str]) -> Callable[..., Any]:
    message = (
        f"host function {module}.{name} is mocked: no installed host plug-in provides "
        f"module {module!r} (searched: {', '.join(searched) or 'nothing'})"
    )

    def mocked(*_: Any) -> Any:
        raise MissingHostPlugin(message)

    return mocked


def _route(
    route: Route, blocks: Callable[[], BlockAccess | None], router: Router | None, timeout: float
) -> Callable[..., Any]:
    where = f"{route.plugin}.{route.export}"

    def routed(*args: Any) -> Any:
        if router is None:
            raise HostFunctionError(f"route to {where}: this runtime has no router")
        if route.blocks:
            access = blocks()
            assert access is not None
            data, _ = router(route.plugin, route.export, access.read_block(args[0]), None, timeout)
            return access.write_block(data) if route.results else None
        _, values = router(route.plugin, route.export, b"", list(args), timeout)
        values = values or []
        if len(values) != len(route.results):
            raise HostFunctionError(
                f"route to {where} returned {len(values)} value(s), the import expects "
                f"{len(route.results)}"
            )
        return None if not values else values[0] if len(values) == 1 else values

    return routed


def define_imports(
    linker: LeanLinker,
    plan: ImportPlan,
    blocks: Callable[[], BlockAccess | None],
    router: Router | None = None,
    timeout: float = 30.0,
) -> None:
    """Define the planned host functions and mocks on ``linker`` (lean callbacks).

    The Python wrappers are made once per plan and reused by every store's linker.
    """
    wrappers = plan.wrappers
    if not wrappers:
        for key, fn in plan.host.items():
            wrappers[key] = (fn.wasm_params, fn.wasm_results, _wrap(fn, blocks))
        for (module, name), ty in plan.mocked.items():
            wrappers[(module, name)] = (
                [str(t) for t in ty.params],
                [str(t) for t in ty.results],
                _mock(module, name, plan.searched),
            )
        for key, route in plan.routes.items():
            wrappers[key] = (route.params, route.results, _route(route, blocks, router, timeout))
    for (module, name), (params, results, fn) in wrappers.items():
        linker.define(module, name, params, results, fn)
