"""WasmEdge C-API plug-ins, unchanged, through a compatibility library.

A WasmEdge C-API plug-in is a shared library exporting
``WasmEdge_Plugin_GetDescriptor``; its modules' ``create`` build module instances by
calling back into the WasmEdge C API. Orchestra serves that API with a small C
library of its own (``wasmedge/compat.c``, SONAME ``libwasmedge.so.0``, symbol
versions ``WASMEDGE_0.14``..``WASMEDGE_0.17``), compiled with ``cc`` on first use
into ``$ORCHESTRA_CACHE_DIR/wasmedge/<source hash>/`` and loaded ``RTLD_GLOBAL``
before the plug-in, so the plug-in's ``NEEDED libwasmedge.so.0`` resolves to it.

Each host function becomes an Orchestra :class:`NativeFunction` whose C pointer is
the compatibility library's trampoline (``orchestra_wasmedge_call``) and whose
``data`` is the WasmEdge function instance: the runtime calls it like any native
host function, with the caller's memory.

Like ``_native``, this runs only in the probe (a throw-away child process) and in
workers granted one of the plug-in's modules; nothing here imports wasmtime.
"""

from __future__ import annotations

import ctypes
import hashlib
import mmap
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import PluginLoadError
from ._native import Descriptor, FunctionDesc, NativeFunction, OptionDesc, _dlopen, _text

__all__ = (
    "SUPPORTED_API_VERSIONS",
    "SYMBOL",
    "WasmEdgeLibrary",
    "compat_library",
    "cxx_plugin_problem",
    "is_wasmedge_file",
    "open_wasmedge",
    "read_wasmedge_header",
)

SYMBOL = "WasmEdge_Plugin_GetDescriptor"
SUPPORTED_API_VERSIONS = (3, 4, 5)
"""WasmEdge plug-in API versions whose descriptor and value layouts we implement:
3 (WasmEdge 0.14.0), 4 (0.14.1 to 0.16), 5 (0.17 on)."""
SONAME = "libwasmedge.so.0"
SOURCE_DIR = Path(__file__).resolve().parent / "wasmedge"
_SOURCES = ("compat.c", "compat.map", "wasmedge.h")
_TYPE_CODES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64"}


def is_wasmedge_file(path: str | Path) -> bool:
    """Whether a shared library names ``WasmEdge_Plugin_GetDescriptor`` (read from
    its bytes: nothing is loaded)."""
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return m.find(SYMBOL.encode() + b"\0") != -1
    except (OSError, ValueError):
        return False


def cxx_plugin_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot load if it is a WasmEdge plug-in built in C++ against
    WasmEdge's internals (it needs libwasmedge and exports ``GetDescriptor``)."""
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            cxx = m.find(SONAME.encode() + b"\0") != -1 and m.find(b"\0GetDescriptor\0") != -1
    except (OSError, ValueError):
        return None
    if not cxx:
        return None
    return (
        f"{path}: a WasmEdge plug-in built in C++ against WasmEdge's internals (it exports "
        f"GetDescriptor): out of scope; Orchestra loads WasmEdge C-API plug-ins ({SYMBOL})"
    )


# -- building the compatibility library --------------------------------------------


def _source_hash() -> str:
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update((SOURCE_DIR / name).read_bytes())
    digest.update((SOURCE_DIR.parent / "orchestra_hostplugin.h").read_bytes())
    return digest.hexdigest()[:16]


def _compile(cc: str, out: Path, symver: bool) -> subprocess.CompletedProcess[str]:
    cmd = [cc, "-shared", "-fPIC", "-O2", f"-I{SOURCE_DIR.parent}", f"-Wl,-soname,{SONAME}"]
    if symver:
        cmd.append(f"-Wl,--version-script={SOURCE_DIR / 'compat.map'}")
    else:
        cmd.append("-DORCHESTRA_WASMEDGE_NO_SYMVER")
    cmd += ["-o", str(out), str(SOURCE_DIR / "compat.c")]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


_build_lock = threading.Lock()


def compat_library() -> Path:
    """The compatibility library (``libwasmedge.so.0``), compiled on first use.

    Cached under ``$ORCHESTRA_CACHE_DIR/wasmedge/<hash of its source>/``; ``$CC``
    (default ``cc``) compiles it. Only WasmEdge plug-ins need it.

    :raises PluginLoadError: no C compiler, or the compilation failed.
    """
    from .._paths import default_cache_dir

    folder = default_cache_dir() / "wasmedge" / _source_hash()
    target = folder / SONAME
    if target.is_file():
        return target
    with _build_lock:
        if target.is_file():
            return target
        cc = os.environ.get("CC") or "cc"
        if shutil.which(cc) is None:
            raise PluginLoadError(
                f"WasmEdge plug-ins need Orchestra's compatibility library, built once with a C "
                f"compiler, and {cc!r} is not on PATH: install one (e.g. gcc or clang), or set CC"
            )
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{SONAME}.{os.getpid()}.tmp"
        done = _compile(cc, tmp, symver=True)
        if done.returncode != 0:  # a linker without multiple .symver: unversioned
            done = _compile(cc, tmp, symver=False)
        if done.returncode != 0:
            tail = " | ".join(done.stderr.strip().splitlines()[-3:])
            raise PluginLoadError(
                f"building Orchestra's WasmEdge compatibility library with {cc!r} failed: {tail}"
            )
        os.replace(tmp, target)
        return target


_compat: ctypes.CDLL | None = None


def load_compat() -> ctypes.CDLL:
    """The compatibility library loaded into this process (``RTLD_GLOBAL``: its
    SONAME then satisfies a plug-in's ``NEEDED libwasmedge.so.0``)."""
    global _compat
    if _compat is None:
        path = compat_library()
        try:
            lib = ctypes.CDLL(str(path), mode=os.RTLD_NOW | os.RTLD_GLOBAL)
        except OSError as exc:
            raise PluginLoadError(f"cannot load {path}: {exc}") from None
        p, u32 = ctypes.c_void_p, ctypes.c_uint32
        for name, restype, argtypes in (
            ("orchestra_wasmedge_module_name", ctypes.c_char_p, [p]),
            ("orchestra_wasmedge_module_export", ctypes.c_char_p, [p, u32, ctypes.c_char_p]),
            ("orchestra_wasmedge_module_size", u32, [p]),
            ("orchestra_wasmedge_module_function", p, [p, u32]),
            ("orchestra_wasmedge_function_name", ctypes.c_char_p, [p]),
            ("orchestra_wasmedge_function_types", u32, [p, p, u32]),
            ("WasmEdge_StringCreateByCString", _String, [ctypes.c_char_p]),
        ):
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, argtypes
        _compat = lib
    return _compat


# -- the descriptor's C structs (WasmEdge's public layout, API versions 3 to 5) -----


class _String(ctypes.Structure):
    _fields_ = [("Length", ctypes.c_uint32), ("Buf", ctypes.c_void_p)]


class _ProgramOption(ctypes.Structure):
    _fields_ = [
        ("Name", ctypes.c_char_p),
        ("Description", ctypes.c_char_p),
        ("Type", ctypes.c_int),
        ("Storage", ctypes.c_void_p),
        ("DefaultValue", ctypes.c_void_p),
    ]


class _ModuleDescriptor(ctypes.Structure):
    _fields_ = [
        ("Name", ctypes.c_char_p),
        ("Description", ctypes.c_char_p),
        ("Create", ctypes.c_void_p),
    ]


class _Version(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint32) for n in ("Major", "Minor", "Patch", "Build")]


class _PluginDescriptor(ctypes.Structure):
    _fields_ = [
        ("Name", ctypes.c_char_p),
        ("Description", ctypes.c_char_p),
        ("APIVersion", ctypes.c_uint32),
        ("Version", _Version),
        ("ModuleCount", ctypes.c_uint32),
        ("ProgramOptionCount", ctypes.c_uint32),
        ("ModuleDescriptions", ctypes.POINTER(_ModuleDescriptor)),
        ("ProgramOptions", ctypes.POINTER(_ProgramOption)),
    ]


_CreateFn = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)

# WasmEdge_ProgramOptionType -> (name, ctypes type of *Storage)
_OPTION_TYPES: dict[int, tuple[str, Any]] = {
    0: ("none", None),
    1: ("toggle", ctypes.c_bool),
    2: ("int8", ctypes.c_int8),
    3: ("int16", ctypes.c_int16),
    4: ("int32", ctypes.c_int32),
    5: ("int64", ctypes.c_int64),
    6: ("uint8", ctypes.c_uint8),
    7: ("uint16", ctypes.c_uint16),
    8: ("uint32", ctypes.c_uint32),
    9: ("uint64", ctypes.c_uint64),
    10: ("float", ctypes.c_float),
    11: ("double", ctypes.c_double),
    12: ("string", _String),
}
_TRUE = {"1", "true", "yes", "on", ""}
_FALSE = {"0", "false", "no", "off"}


def _version(v: _Version) -> str:
    text = f"{v.Major}.{v.Minor}.{v.Patch}"
    return f"{text}.{v.Build}" if v.Build else text


def _descriptor_of(lib: ctypes.CDLL, file: str) -> _PluginDescriptor:
    try:
        getter = getattr(lib, SYMBOL)
    except AttributeError:
        raise PluginLoadError(f"{file}: not a WasmEdge C-API plug-in: no {SYMBOL}()") from None
    getter.restype, getter.argtypes = ctypes.c_void_p, []
    address = getter()
    if not address:
        raise PluginLoadError(f"{file}: malformed WasmEdge descriptor: {SYMBOL}() returned NULL")
    desc = _PluginDescriptor.from_address(address)
    if desc.APIVersion not in SUPPORTED_API_VERSIONS:
        raise PluginLoadError(
            f"{file}: built for WasmEdge plug-in API version {desc.APIVersion}; Orchestra "
            f"loads versions {', '.join(map(str, SUPPORTED_API_VERSIONS))} (WasmEdge 0.14 on): "
            "rebuild it against a supported WasmEdge or Orchestra's wasmedge/wasmedge.h"
        )
    return desc


def _header(desc: _PluginDescriptor, file: str) -> Descriptor:
    """What the descriptor alone says (modules by descriptor name, no functions)."""
    name = _text(desc.Name, "Name", file)
    where = f"{file} ({name})"
    if desc.ModuleCount and not desc.ModuleDescriptions:
        raise PluginLoadError(f"{where}: malformed WasmEdge descriptor: ModuleDescriptions is NULL")
    if desc.ProgramOptionCount and not desc.ProgramOptions:
        raise PluginLoadError(f"{where}: malformed WasmEdge descriptor: ProgramOptions is NULL")
    modules = {
        _text(desc.ModuleDescriptions[i].Name, f"ModuleDescriptions[{i}].Name", where): {}
        for i in range(desc.ModuleCount)
    }
    options = []
    for i in range(desc.ProgramOptionCount):
        o = desc.ProgramOptions[i]
        kind = _OPTION_TYPES.get(o.Type, (f"type {o.Type}", None))[0]
        text = _text(o.Description, "Description", where, required=False)
        options.append(
            OptionDesc(
                _text(o.Name, f"ProgramOptions[{i}].Name", where),
                f"{text} ({kind})" if text else f"({kind})",
                _default_text(o),
            )
        )
    return Descriptor(
        file=file,
        name=name,
        version=_version(desc.Version),
        description=_text(desc.Description, "Description", where, required=False),
        modules=modules,
        options=tuple(options),
        kind="wasmedge",
        api_version=int(desc.APIVersion),
    )


def _default_text(o: _ProgramOption) -> str | None:
    ctype = _OPTION_TYPES.get(o.Type, ("", None))[1]
    if not o.DefaultValue or ctype is None:
        return None
    value = ctype.from_address(o.DefaultValue)
    if ctype is _String:
        return ctypes.string_at(value.Buf, value.Length).decode("utf-8", "replace")
    return str(value.value).lower() if ctype is ctypes.c_bool else str(value.value)


def _set_option(o: _ProgramOption, raw: str, where: str, keep: list[Any]) -> None:
    name = o.Name.decode("utf-8", "replace")
    kind, ctype = _OPTION_TYPES.get(o.Type, (f"type {o.Type}", None))
    if ctype is None or not o.Storage:
        raise PluginLoadError(f"{where}: option {name!r} ({kind}) takes no value")
    if ctype is _String:
        s = load_compat().WasmEdge_StringCreateByCString(raw.encode())
        keep.append(s)
        ctypes.memmove(o.Storage, ctypes.addressof(s), ctypes.sizeof(_String))
        return
    try:
        if ctype is ctypes.c_bool:
            low = raw.strip().lower()
            if low not in _TRUE | _FALSE:
                raise ValueError(raw)
            value: Any = ctypes.c_bool(low in _TRUE)
        elif ctype in (ctypes.c_float, ctypes.c_double):
            value = ctype(float(raw))
        else:
            number = int(raw, 0)
            value = ctype(number)
            if value.value != number:
                raise ValueError(raw)
    except ValueError:
        raise PluginLoadError(
            f"{where}: option {name!r} must be a {kind}, got {raw!r} (host_plugins.options)"
        ) from None
    ctypes.memmove(o.Storage, ctypes.addressof(value), ctypes.sizeof(ctype))


def _apply_options(desc: _PluginDescriptor, options: Mapping[str, str], where: str) -> list[Any]:
    known = {
        desc.ProgramOptions[i].Name.decode("utf-8", "replace"): desc.ProgramOptions[i]
        for i in range(desc.ProgramOptionCount)
    }
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise PluginLoadError(
            f"{where}: unknown option(s) {', '.join(unknown)}; it takes: "
            f"{', '.join(sorted(known)) or 'none'}"
        )
    keep: list[Any] = []
    for name, o in known.items():
        if name in options:
            _set_option(o, options[name], where, keep)
        elif o.DefaultValue and o.Storage:
            ctype = _OPTION_TYPES.get(o.Type, ("", None))[1]
            if ctype is not None:
                ctypes.memmove(o.Storage, o.DefaultValue, ctypes.sizeof(ctype))
    return keep


def read_wasmedge_header(file: str) -> Descriptor:
    """Load ``file`` in this process and read its descriptor, without running any
    ``create`` (modules known by name, no functions).

    :raises PluginLoadError: the library or the compatibility library cannot be
        loaded, no descriptor, an unsupported API version, a malformed descriptor.
    """
    load_compat()
    return _header(_descriptor_of(_dlopen(file), file), file)


class WasmEdgeLibrary:
    """A WasmEdge plug-in loaded into this process: options applied, every module's
    ``create`` run once; its functions, ready to call through the trampoline.

    :raises PluginLoadError: see :func:`read_wasmedge_header`; also a bad option, a
        ``create`` returning NULL, a function of an unsupported value type.
    """

    def __init__(self, file: str, options: Mapping[str, str] | None = None) -> None:
        compat = load_compat()
        self.file = file
        self._lib = _dlopen(file)
        desc = _descriptor_of(self._lib, file)
        header = _header(desc, file)
        where = f"{file} ({header.name})"
        self.options = {str(k): str(v) for k, v in (options or {}).items()}
        self._keep = _apply_options(desc, self.options, where)
        self.instances: dict[str, int] = {}
        self.pointers: dict[tuple[str, str], int] = {}
        self.unserved: dict[str, tuple[str, ...]] = {}
        """Module -> its tables, memories and globals ("global counter", ...): the
        plug-in's own, which wasm cannot import (only host functions are linked)."""
        modules: dict[str, dict[str, FunctionDesc]] = {}
        for i in range(desc.ModuleCount):
            md = desc.ModuleDescriptions[i]
            label = md.Name.decode("utf-8", "replace")
            if not md.Create:
                raise PluginLoadError(f"{where}: module {label!r} has no Create function")
            instance = _CreateFn(md.Create)(ctypes.addressof(md))
            if not instance:
                raise PluginLoadError(f"{where}: Create of module {label!r} returned NULL")
            mname = (compat.orchestra_wasmedge_module_name(instance) or b"").decode()
            mname = mname or label
            if mname in modules:
                raise PluginLoadError(f"{where}: module {mname!r} twice")
            self.instances[mname] = instance
            modules[mname] = self._functions(compat, instance, mname, where)
            self.unserved[mname] = _unserved(compat, instance)
        self.descriptor = replace(header, modules=modules)

    def _functions(
        self, compat: ctypes.CDLL, instance: int, module: str, where: str
    ) -> dict[str, FunctionDesc]:
        fns: dict[str, FunctionDesc] = {}
        buf = (ctypes.c_uint8 * 256)()
        for j in range(compat.orchestra_wasmedge_module_size(instance)):
            fn = compat.orchestra_wasmedge_module_function(instance, j)
            fname = compat.orchestra_wasmedge_function_name(fn).decode("utf-8", "replace")
            counts = compat.orchestra_wasmedge_function_types(fn, buf, len(buf))
            n_params, n_results = counts >> 16, counts & 0xFFFF
            if n_params + n_results > len(buf):
                raise PluginLoadError(f"{where}: {module}.{fname} has too many values")
            codes = [buf[k] for k in range(n_params + n_results)]
            bad = [c for c in codes if c not in _TYPE_CODES]
            if bad:
                raise PluginLoadError(
                    f"{where}: {module}.{fname} uses value type 0x{bad[0]:02x}; Orchestra passes "
                    "i32, i64, f32 and f64 to WasmEdge host functions"
                )
            types = [_TYPE_CODES[c] for c in codes]
            fns[fname] = FunctionDesc(fname, tuple(types[:n_params]), tuple(types[n_params:]))
            self.pointers[(module, fname)] = int(fn)
        return fns

    def function(self, module: str, name: str) -> NativeFunction:
        """:raises KeyError: no such function."""
        desc = self.descriptor.modules[module][name]
        compat = load_compat()
        return NativeFunction(
            module=module,
            name=name,
            params=desc.params,
            results=desc.results,
            fn=_runtime_only,
            address=ctypes.cast(compat.orchestra_wasmedge_call, ctypes.c_void_p).value or 0,
            data=self.pointers[(module, name)],
        )


_KINDS = {b"t": "table", b"m": "memory", b"g": "global"}


def _unserved(compat: ctypes.CDLL, instance: int) -> tuple[str, ...]:
    kind = ctypes.create_string_buffer(1)
    found = []
    while (name := compat.orchestra_wasmedge_module_export(instance, len(found), kind)) is not None:
        found.append(f"{_KINDS.get(kind.raw, '?')} {name.decode('utf-8', 'replace')}")
    return tuple(sorted(found))


def _runtime_only(*args: Any) -> Any:
    raise TypeError("a WasmEdge host function is called by the runtime with a context")


_open: dict[tuple[str, str], WasmEdgeLibrary] = {}
_open_lock = threading.Lock()


def open_wasmedge(file: str, options: Mapping[str, str] | None = None) -> WasmEdgeLibrary:
    """The plug-in loaded (``create`` run) once per process and options. Module
    instances live until the process exits, as in a WasmEdge host that keeps its
    plug-in modules registered."""
    import json

    opts = {str(k): str(v) for k, v in (options or {}).items()}
    key = (os.path.realpath(file), json.dumps(opts, sort_keys=True))
    with _open_lock:
        lib = _open.get(key)
        if lib is None:
            lib = _open[key] = WasmEdgeLibrary(file, opts)
        return lib
