"""Where a plug-in's wasm comes from: a .wasm/.wat file, or an Extism manifest."""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import wasmtime

from ..config import (
    ManifestWasm,
    PluginSpec,
    apply_manifest,
    growth_budget,
    is_manifest,
    load_manifest,
)
from ..errors import ConfigError, PluginLoadError
from ._engine import EngineSettings, load_module, load_module_bytes
from ._http import allowed_opener, host_allowed

__all__ = ("LoadedSource", "load_source")


@dataclass
class LoadedSource:
    """The plug-in's main module, the modules linked beside it, and the spec with any
    manifest settings applied."""

    spec: PluginSpec
    main: wasmtime.Module
    linked: list[tuple[str, wasmtime.Module]]
    cached: bool
    growth_budget: int | None = None
    """Extism's ``memory.max_pages`` in bytes, when a manifest's is in force."""


def _entry_bytes(entry: ManifestWasm, spec: PluginSpec, plugin: str) -> tuple[bytes, str]:
    if entry.path is not None:
        try:
            return Path(entry.path).read_bytes(), entry.path
        except OSError as exc:
            raise PluginLoadError(
                f"manifest wasm {entry.path}: {exc.strerror}", plugin=plugin
            ) from None
    if entry.data is not None:
        try:
            return base64.b64decode(entry.data, validate=True), f"{spec.source} (wasm data)"
        except ValueError:
            raise PluginLoadError(
                "manifest wasm 'data' is not valid base64", plugin=plugin
            ) from None
    assert entry.url is not None
    host = urllib.parse.urlsplit(entry.url).hostname or ""
    if not host_allowed(entry.url, spec.allowed_hosts):
        raise PluginLoadError(
            f"manifest wasm url {entry.url}: host {host!r} is not in allowed_hosts", plugin=plugin
        )
    req = urllib.request.Request(entry.url, method=entry.method or "GET", headers=entry.headers)
    try:
        with allowed_opener(spec.allowed_hosts).open(req, timeout=30) as resp:
            return resp.read(), entry.url
    except OSError as exc:
        raise PluginLoadError(f"manifest wasm url {entry.url}: {exc}", plugin=plugin) from None


def load_source(
    spec: PluginSpec,
    *,
    plugin: str,
    engine: wasmtime.Engine,
    settings: EngineSettings,
    cache_dir: Path | None,
) -> LoadedSource:
    """Load the plug-in's modules (through the compile cache).

    :raises PluginLoadError: unreadable, invalid, or a hash mismatch.
    """
    if not is_manifest(spec.source):
        module, cached = load_module(engine, settings, Path(spec.source), cache_dir=cache_dir)
        return LoadedSource(spec, module, [], cached)
    try:
        manifest = load_manifest(spec.source)
    except ConfigError as exc:
        raise PluginLoadError(str(exc), plugin=plugin) from None
    budget = growth_budget(spec, manifest)
    spec = apply_manifest(spec, manifest)
    modules: list[tuple[str, wasmtime.Module]] = []
    cached_all = True
    for entry in manifest.wasm:
        raw, where = _entry_bytes(entry, spec, plugin)
        if entry.hash is not None:
            found = hashlib.sha256(raw).hexdigest()
            if found != entry.hash.lower():
                raise PluginLoadError(
                    f"{where}: hash mismatch, found {found} expected {entry.hash.lower()}",
                    plugin=plugin,
                )
        module, cached = load_module_bytes(engine, settings, raw, where, cache_dir=cache_dir)
        cached_all = cached_all and cached
        modules.append((entry.name or "", module))
    names = [n for n, _ in modules]
    # The module named "main", or else the last one, is the plug-in (EXTISM_ABI.md).
    main_index = names.index("main") if "main" in names else len(modules) - 1
    main = modules.pop(main_index)[1]
    unnamed = [i for i, (n, _) in enumerate(modules) if not n]
    if unnamed:
        raise PluginLoadError(
            "manifest: every wasm module besides the main one needs a 'name' "
            "(the import module it serves)",
            plugin=plugin,
        )
    return LoadedSource(spec, main, modules, cached_all, budget)
