"""Extism manifests (JSON, or the same keys in YAML) as a plug-in ``source:``.

The manifest is parsed and checked here (unknown keys rejected, positions in
errors); the worker reads the wasm it names, checks hashes and links the modules.
"""

from __future__ import annotations

import os
from typing import Annotated

import msgspec
from msgspec import Meta

from ..errors import ConfigError
from ._files import SourceRefused, read_bounded
from ._grants import hosts_within, paths_within, tighter
from ._loader import _explain, _parse
from ._spec import Limits, PluginSpec
from ._units import Duration, Size

__all__ = (
    "MANIFEST_SUFFIXES",
    "Manifest",
    "ManifestMemory",
    "ManifestWasm",
    "apply_manifest",
    "growth_budget",
    "is_manifest",
    "load_manifest",
    "parse_manifest",
)

MANIFEST_SUFFIXES = (".json", ".yaml", ".yml")


class _M(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    pass


class ManifestWasm(_M):
    """One module: exactly one of ``path``, ``data`` (base64) or ``url``."""

    path: str | None = None
    data: str | None = None
    url: str | None = None
    headers: dict[str, str] = {}
    method: str | None = None
    name: str | None = None
    hash: Annotated[str, Meta(pattern=r"^[0-9a-fA-F]{64}$")] | None = None


class ManifestMemory(_M):
    max_pages: Annotated[int, Meta(ge=0)] | None = None
    max_http_response_bytes: Annotated[int, Meta(ge=0)] | None = None
    max_var_bytes: Annotated[int, Meta(ge=0)] | None = None


class Manifest(_M):
    wasm: Annotated[list[ManifestWasm], Meta(min_length=1)]
    memory: ManifestMemory | None = None
    config: dict[str, str] = {}
    allowed_hosts: list[str] | None = None
    allowed_paths: dict[str, str] | None = None
    timeout_ms: Annotated[int, Meta(ge=0)] | None = None


def is_manifest(source: str) -> bool:
    return source.lower().endswith(MANIFEST_SUFFIXES)


def load_manifest(
    path: str | os.PathLike[str], *, limit: int = int(Limits().source_size)
) -> Manifest:
    """Read and check a manifest; relative wasm paths resolve against its folder.

    :param limit: the most bytes read (``limits.source_size``).
    :raises ConfigError: unreadable, not a regular file or larger than ``limit``, or
        what :func:`parse_manifest` raises.
    """
    filename = os.fspath(path)
    try:
        raw = read_bounded(filename, limit)
    except SourceRefused as exc:
        raise ConfigError(f"cannot read the manifest: {exc}", file=filename) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read the manifest: {(exc.strerror or str(exc)).lower()}", file=filename
        ) from None
    return parse_manifest(raw, filename)


def parse_manifest(raw: bytes, filename: str) -> Manifest:
    """Check the manifest ``raw`` read from ``filename``; relative wasm paths resolve
    against its folder.

    :raises ConfigError: malformed, unknown keys, duplicate module names, a wasm entry
        with none or several of path/data/url.
    """
    doc = _parse(raw, filename)
    if not isinstance(doc.data, dict):
        raise doc.error((), "expected a manifest object with a 'wasm' list")
    try:
        manifest = msgspec.convert(doc.data, Manifest)
    except msgspec.ValidationError as exc:
        raise _explain(doc, str(exc), Manifest) from None
    base = os.path.dirname(os.path.abspath(filename))
    names: set[str] = set()
    wasm = []
    for i, entry in enumerate(manifest.wasm):
        given = [k for k in ("path", "data", "url") if getattr(entry, k) is not None]
        if len(given) != 1:
            raise doc.error(
                ("wasm", i), "each wasm entry needs exactly one of 'path', 'data' or 'url'"
            )
        name = entry.name or "main"
        if entry.name is not None:
            if name in names:
                raise doc.error(("wasm", i, "name"), f"duplicate module name {name!r}")
            names.add(name)
        if entry.path is not None:
            entry = msgspec.structs.replace(
                entry, path=os.path.join(base, os.path.expanduser(entry.path))
            )
        wasm.append(entry)
    paths = manifest.allowed_paths
    if paths is not None:
        paths = {
            (
                ("ro:" + os.path.join(base, k[3:]))
                if k.startswith("ro:")
                else os.path.join(base, k)
            ): v
            for k, v in paths.items()
        }
    return msgspec.structs.replace(manifest, wasm=wasm, allowed_paths=paths)


def growth_budget(spec: PluginSpec, manifest: Manifest) -> int | None:
    """Bytes that the memories of a plug-in from ``manifest`` may grow by after
    instantiation, together (Extism's ``memory.max_pages``), when the manifest's
    value is the one in force (``spec`` is the plug-in before :func:`apply_manifest`:
    a ``limits.memory`` of its own wins, and keeps Orchestra's per-memory meaning)."""
    memory = manifest.memory
    if memory is None or memory.max_pages is None or spec.limits.memory != Limits().memory:
        return None
    return memory.max_pages * 65536


def apply_manifest(spec: PluginSpec, manifest: Manifest) -> PluginSpec:
    """The plug-in spec with the manifest's settings applied: a manifest narrows the
    spec's grants and limits, never widens them (``_grants``).

    ``config`` merges, the spec's keys winning (config is data, not a grant).
    ``allowed_hosts`` and ``allowed_paths`` must lie within the spec's, and replace
    them; each limit (``max_pages``, ``timeout_ms``, the var and HTTP caps) is the
    tighter of the spec's and the manifest's.

    :raises ConfigError: a manifest entry the spec does not grant (``file`` is the
        manifest, ``path`` the key), naming what to add.
    """
    limits: Limits = spec.limits
    memory = manifest.memory
    if memory and memory.max_pages is not None:
        pages = Size(memory.max_pages * 65536)
        limits = msgspec.structs.replace(limits, memory=tighter(limits.memory, pages))
    if manifest.timeout_ms is not None:
        timeout = Duration(manifest.timeout_ms / 1000)
        limits = msgspec.structs.replace(limits, timeout=tighter(limits.timeout, timeout))
    wasi = spec.wasi
    granted = wasi.allowed_paths if wasi else {}
    changes: dict[str, object] = {"limits": limits, "config": {**manifest.config, **spec.config}}
    where = "allowed_paths"
    try:
        if manifest.allowed_paths is not None:
            paths = paths_within(manifest.allowed_paths, granted)
            if wasi is not None:
                changes["wasi"] = msgspec.structs.replace(wasi, allowed_paths=paths)
        if manifest.allowed_hosts is not None:
            where = "allowed_hosts"
            changes["allowed_hosts"] = hosts_within(manifest.allowed_hosts, spec.allowed_hosts)
    except ValueError as exc:
        raise ConfigError(str(exc), file=spec.source, path=where) from None
    if memory and memory.max_var_bytes is not None:
        changes["max_var_bytes"] = min(spec.max_var_bytes, Size(memory.max_var_bytes))
    if memory and memory.max_http_response_bytes is not None:
        cap = Size(memory.max_http_response_bytes)
        changes["max_http_response_bytes"] = min(spec.max_http_response_bytes, cap)
    return msgspec.structs.replace(spec, **changes)  # type: ignore[arg-type]
