"""``orchestra inspect``: what a module is and what its imports would be bound to.

Compiles the module (no store, no instance) in the calling process: it is a
one-shot CLI step, not the supervisor. The source may be a ``.wasm``, a ``.wat``
or an Extism manifest (its main module is described; imports that another module
of the manifest serves say so).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import wasmtime

from ._paths import default_cache_dir
from .config import PluginSpec, is_manifest
from .errors import ConfigError, PluginLoadError
from .hostplugins import HostPluginRegistry
from .hostplugins._wasmedge_mocks import WASMEDGE_MOCKS
from .runtime import detect_abi
from .runtime._detect import EXTISM_ENV, WASI_MODULES
from .runtime._engine import engine_settings, make_engine
from .runtime._sources import LoadedSource, load_source

__all__ = ("describe_module", "export_params", "inspect_module", "render_report")


_registry: list[HostPluginRegistry] = []


def _host_plugins() -> HostPluginRegistry:
    """The host plug-ins on the default search paths, found once (native ones by a
    probe process: nothing is loaded here)."""
    if not _registry:
        registry = HostPluginRegistry()
        registry.load_default_paths()
        _registry.append(registry)
    return _registry[0]


def _bound_to(module: str, linked: set[str]) -> tuple[str, str]:
    """What would satisfy an import of ``module``: a kind and a sentence."""
    if module in WASI_MODULES:
        return "wasi", "WASI (only what the config grants)"
    if module == EXTISM_ENV:
        return "kernel", "Extism kernel"
    if module in linked:
        return "manifest", f"module {module!r} of the manifest"
    registry = _host_plugins()
    grant = f"host_modules: [{module}]"
    provider = registry.provider(module)
    if provider is not None:
        return "host-plugin", (
            f"host plug-in {provider.name} {provider.version} ({provider.file}) "
            f"once granted ({grant})"
        )
    searched = ", ".join(registry.searched)
    mock = WASMEDGE_MOCKS.get(module)
    if mock is not None:
        answer = "fails with MissingHostPlugin" if mock.answer is None else f"answers {mock.answer}"
        return "mocked", (
            f"mocked as WasmEdge does: the {mock.plugin} plug-in is not installed (searched: "
            f"{searched}); a call {answer}"
        )
    known = registry.known_modules.get(module)
    if known is not None:
        return "mocked", (
            f"mocked once granted ({grant}): host plug-in {known!r} is not installed "
            f"(searched: {searched}); a call fails with MissingHostPlugin"
        )
    return "unsatisfied", (
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


def _load(spec: PluginSpec) -> LoadedSource:
    """The plug-in's modules, compiled here with a worker's settings and through the
    workers' compiled-module cache: ``call`` asks for an export's parameters after
    its worker compiled the module, so this is a cache hit, not a second compile.

    :raises PluginLoadError: unreadable, not wasm, a bad manifest.
    """
    settings = engine_settings(spec)
    try:
        return load_source(
            spec,
            plugin=Path(spec.source).stem,
            engine=make_engine(settings),
            settings=settings,
            cache_dir=default_cache_dir() / "modules",
        )
    except ConfigError as exc:  # a manifest that does not check out
        raise PluginLoadError(str(exc)) from None


def inspect_module(
    spec: PluginSpec, routes: dict[str, str] | None = None, abi: str = "auto"
) -> dict[str, Any]:
    """What ``orchestra inspect --json`` prints: ``module``, ``abi``, ``linked`` (the
    other modules of a manifest), ``exports`` (``name``, ``type``) and ``imports``
    (``module``, ``name``, ``type``, ``bound`` one of ``wasi``, ``kernel``,
    ``manifest``, ``host-plugin``, ``mocked``, ``unsatisfied``, ``route``, and
    ``detail``). ``routes`` (a plug-in's ``imports:`` from a config) names the
    imports another plug-in's export serves. ``abi`` other than ``auto`` is the ABI
    to report (a config's ``abi:``, ``--abi``) instead of the detected one.

    :raises PluginLoadError: not a valid module or manifest.
    """
    loaded = _load(spec)
    module = loaded.main
    linked = {name for name, _ in loaded.linked}
    imports = []
    for imp in module.imports:
        name = f"{imp.module}.{imp.name}"
        target = (routes or {}).get(name)
        kind, detail = (
            ("route", f"route to {target} (imports:)") if target else _bound_to(imp.module, linked)
        )
        imports.append(
            {
                "module": imp.module,
                "name": imp.name,
                "type": describe_type(imp.type),
                "bound": kind,
                "detail": detail,
            }
        )
    return {
        "module": spec.source,
        "abi": abi if abi != "auto" else detect_abi(module, manifest=is_manifest(spec.source)),
        "linked": sorted(linked),
        "exports": [{"name": e.name, "type": describe_type(e.type)} for e in module.exports],
        "imports": imports,
    }


def render_report(info: dict[str, Any]) -> str:
    """:func:`inspect_module`'s answer for people."""
    lines = [f"module: {info['module']}", f"abi: {info['abi']}"]
    if info["linked"]:
        lines.append(f"linked modules: {', '.join(info['linked'])}")
    lines.append("exports:")
    lines += [f"  {e['name']}: {e['type']}" for e in info["exports"]]
    lines.append("imports:" if info["imports"] else "imports: none")
    lines += [
        f"  {i['module']}.{i['name']}: {i['type']}  <- {i['detail']}" for i in info["imports"]
    ]
    return "\n".join(lines)


def describe_module(path: Path, routes: dict[str, str] | None = None, abi: str = "auto") -> str:
    """A human-readable report (see :func:`inspect_module`).

    :raises PluginLoadError: not a valid module.
    """
    return render_report(inspect_module(PluginSpec(source=str(path)), routes, abi))


def export_params(spec: PluginSpec, export: str) -> list[str]:
    """The parameter types of function ``export`` of the plug-in's main module.

    :raises PluginLoadError: the module cannot be loaded, or has no such function
        (the message lists those it has).
    """
    module = _load(spec).main
    funcs = {e.name: e.type for e in module.exports if isinstance(e.type, wasmtime.FuncType)}
    ty = funcs.get(export)
    if ty is None:
        have = ", ".join(n for n in funcs if n != "_initialize") or "none"
        raise PluginLoadError(f"no exported function {export!r} (exports: {have})")
    return [str(t) for t in ty.params]
