"""Native host plug-ins: the ctypes side of ``orchestra_hostplugin.h``.

Two uses, in two kinds of process:

* the probe (``_probe.py``, a throw-away child process) opens a library, reads and
  validates its descriptor into plain data (:class:`Descriptor`), runs init/fini
  once, and prints the result as JSON; the supervisor and the CLI learn plug-ins
  only that way, so a library that crashes on load takes down the probe, not them;
* a worker opens the libraries providing the modules its plug-in is granted
  (:class:`NativeLibrary`), runs init with the configured options, and calls the
  C functions (:class:`NativeFunction`, wrapped by ``runtime/_imports.py``).

Nothing here imports wasmtime: the probe stays light.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import HostFunctionError, PluginLoadError
from ._python import HostFunction

__all__ = (
    "ABI_VERSION",
    "Descriptor",
    "FN_KERNEL",
    "FN_NO_MEMORY",
    "FunctionDesc",
    "NativeFunction",
    "NativeLibrary",
    "OptionDesc",
    "SYMBOL",
    "include_dir",
    "is_native_file",
    "open_library",
    "read_descriptor",
    "release_library",
)

ABI_VERSION = 1
SYMBOL = "orchestra_hostplugin_descriptor"
MAX_VALUES = 16
ERROR_CAPACITY = 1024
FN_NO_MEMORY = 1
FN_KERNEL = 2
_KNOWN_FLAGS = FN_NO_MEMORY | FN_KERNEL
NATIVE_SUFFIXES = (".so", ".dylib", ".dll")

_TYPE_CODES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64"}
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def include_dir() -> Path:
    """The folder holding ``orchestra_hostplugin.h`` (``cc -I`` it)."""
    return Path(__file__).resolve().parent


def is_native_file(path: Path) -> bool:
    return path.suffix in NATIVE_SUFFIXES


# -- the C structs (mirrors of the header; field order and types are the ABI) ---------


class Ctx(ctypes.Structure):
    pass


BlockAllocFn = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.POINTER(Ctx), ctypes.c_uint64)
BlockLengthFn = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.POINTER(Ctx), ctypes.c_uint64)

Ctx._fields_ = [
    ("abi_version", ctypes.c_uint32),
    ("reserved", ctypes.c_uint32),
    ("memory", ctypes.c_void_p),
    ("memory_size", ctypes.c_uint64),
    ("kernel", ctypes.c_void_p),
    ("kernel_size", ctypes.c_uint64),
    ("plugin_data", ctypes.c_void_p),
    ("block_alloc", BlockAllocFn),
    ("block_length", BlockLengthFn),
    ("error", ctypes.c_char * ERROR_CAPACITY),
]

# (ctx, args, results), passed as plain addresses: typed pointer arguments cost ctypes
# twice as much per call. CFUNCTYPE releases the GIL while the C code runs.
HostFn = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


class _Function(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("params", ctypes.POINTER(ctypes.c_uint8)),
        ("param_count", ctypes.c_uint32),
        ("result_count", ctypes.c_uint32),
        ("results", ctypes.POINTER(ctypes.c_uint8)),
        ("fn", ctypes.c_void_p),
        ("flags", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("description", ctypes.c_char_p),
    ]


class _Module(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("functions", ctypes.POINTER(_Function)),
        ("function_count", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
    ]


class _Option(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("description", ctypes.c_char_p),
        ("default_value", ctypes.c_char_p),
    ]


class _OptionValue(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("value", ctypes.c_char_p)]


_InitFn = ctypes.CFUNCTYPE(
    ctypes.c_int32,
    ctypes.POINTER(_OptionValue),
    ctypes.c_uint32,
    ctypes.POINTER(ctypes.c_void_p),
    ctypes.c_char_p,
    ctypes.c_uint32,
)
_FiniFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


class _Plugin(ctypes.Structure):
    _fields_ = [
        ("abi_version", ctypes.c_uint32),
        ("struct_size", ctypes.c_uint32),
        ("name", ctypes.c_char_p),
        ("version", ctypes.c_char_p),
        ("description", ctypes.c_char_p),
        ("modules", ctypes.POINTER(_Module)),
        ("module_count", ctypes.c_uint32),
        ("option_count", ctypes.c_uint32),
        ("options", ctypes.POINTER(_Option)),
        ("init", ctypes.c_void_p),
        ("fini", ctypes.c_void_p),
    ]


# -- descriptors as plain data --------------------------------------------------------


@dataclass(frozen=True)
class FunctionDesc:
    """One function of a descriptor: wasm signature and flags (no C pointer)."""

    name: str
    params: tuple[str, ...]
    results: tuple[str, ...]
    flags: int = 0
    description: str = ""


@dataclass(frozen=True)
class OptionDesc:
    name: str
    description: str = ""
    default: str | None = None


@dataclass(frozen=True)
class Descriptor:
    """What a native host plug-in declares, validated; JSON-able via :meth:`to_json`."""

    file: str
    name: str
    version: str
    description: str
    modules: dict[str, dict[str, FunctionDesc]]
    options: tuple[OptionDesc, ...] = ()
    has_init: bool = False
    has_fini: bool = False
    kind: str = "native"
    """``native`` (Orchestra's ABI) or ``wasmedge`` (a WasmEdge C-API plug-in)."""
    api_version: int = ABI_VERSION
    """The ABI version it was built for (WasmEdge's plug-in API version for ``wasmedge``)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "modules": {
                m: {
                    f: {
                        "params": list(d.params),
                        "results": list(d.results),
                        "flags": d.flags,
                        "description": d.description,
                    }
                    for f, d in fns.items()
                }
                for m, fns in self.modules.items()
            },
            "options": [
                {"name": o.name, "description": o.description, "default": o.default}
                for o in self.options
            ],
            "has_init": self.has_init,
            "has_fini": self.has_fini,
            "kind": self.kind,
            "api_version": self.api_version,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Descriptor:
        return cls(
            file=str(data["file"]),
            name=str(data["name"]),
            version=str(data["version"]),
            description=str(data["description"]),
            modules={
                m: {
                    f: FunctionDesc(
                        f,
                        tuple(d["params"]),
                        tuple(d["results"]),
                        int(d["flags"]),
                        str(d.get("description", "")),
                    )
                    for f, d in fns.items()
                }
                for m, fns in data["modules"].items()
            },
            options=tuple(
                OptionDesc(o["name"], o.get("description") or "", o.get("default"))
                for o in data.get("options", [])
            ),
            has_init=bool(data.get("has_init")),
            has_fini=bool(data.get("has_fini")),
            kind=str(data.get("kind", "native")),
            api_version=int(data.get("api_version", ABI_VERSION)),
        )


def _text(raw: bytes | None, what: str, where: str, *, required: bool = True) -> str:
    if raw is None:
        if required:
            raise PluginLoadError(f"{where}: malformed descriptor: {what} is NULL")
        return ""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PluginLoadError(f"{where}: malformed descriptor: {what} is not UTF-8") from None


def _types(ptr: Any, count: int, what: str, where: str) -> tuple[str, ...]:
    if count > MAX_VALUES:
        raise PluginLoadError(
            f"{where}: malformed descriptor: {what}: {count} values (at most {MAX_VALUES})"
        )
    if count and not ptr:
        raise PluginLoadError(f"{where}: malformed descriptor: {what} is NULL")
    out = []
    for i in range(count):
        code = ptr[i]
        if code not in _TYPE_CODES:
            raise PluginLoadError(
                f"{where}: malformed descriptor: {what}[{i}] has unknown value type 0x{code:02x} "
                "(use ORCHESTRA_I32/I64/F32/F64)"
            )
        out.append(_TYPE_CODES[code])
    return tuple(out)


@dataclass
class _Raw:
    """A descriptor read from a loaded library: plain data plus the C pointers."""

    desc: Descriptor
    fn_pointers: dict[tuple[str, str], int]
    init: int | None
    fini: int | None


def _read(lib: ctypes.CDLL, file: str) -> _Raw:
    try:
        getter = getattr(lib, SYMBOL)
    except AttributeError:
        raise PluginLoadError(
            f"{file}: not an Orchestra host plug-in: it does not export {SYMBOL}() "
            "(see orchestra_hostplugin.h)"
        ) from None
    getter.restype = ctypes.c_void_p
    getter.argtypes = []
    address = getter()
    if not address:
        raise PluginLoadError(f"{file}: malformed descriptor: {SYMBOL}() returned NULL")
    version = ctypes.c_uint32.from_address(address).value
    if version != ABI_VERSION:
        raise PluginLoadError(
            f"{file}: built for host plug-in ABI version {version}; this Orchestra speaks "
            f"version {ABI_VERSION} (rebuild it against the header in "
            "`orchestra plugins --include-dir`)"
        )
    plugin = _Plugin.from_address(address)
    if plugin.struct_size < ctypes.sizeof(_Plugin):
        raise PluginLoadError(
            f"{file}: malformed descriptor: struct_size is {plugin.struct_size}, expected "
            f"at least {ctypes.sizeof(_Plugin)} (sizeof(orchestra_plugin_t))"
        )
    name = _text(plugin.name, "name", file)
    if not _NAME.match(name):
        raise PluginLoadError(
            f"{file}: malformed descriptor: name {name!r} must match [A-Za-z0-9_.-]+"
        )
    where = f"{file} ({name})"
    if plugin.module_count and not plugin.modules:
        raise PluginLoadError(f"{where}: malformed descriptor: modules is NULL")
    if plugin.module_count == 0:
        raise PluginLoadError(f"{where}: malformed descriptor: it declares no module")
    modules: dict[str, dict[str, FunctionDesc]] = {}
    pointers: dict[tuple[str, str], int] = {}
    for i in range(plugin.module_count):
        mod = plugin.modules[i]
        mname = _text(mod.name, f"modules[{i}].name", where)
        if not mname:
            raise PluginLoadError(f"{where}: malformed descriptor: modules[{i}].name is empty")
        if mname in modules:
            raise PluginLoadError(f"{where}: malformed descriptor: module {mname!r} twice")
        if mod.function_count and not mod.functions:
            raise PluginLoadError(f"{where}: malformed descriptor: {mname}.functions is NULL")
        fns: dict[str, FunctionDesc] = {}
        for j in range(mod.function_count):
            f = mod.functions[j]
            what = f"{mname}.functions[{j}]"
            fname = _text(f.name, f"{what}.name", where)
            if not fname:
                raise PluginLoadError(f"{where}: malformed descriptor: {what}.name is empty")
            what = f"{mname}.{fname}"
            if fname in fns:
                raise PluginLoadError(f"{where}: malformed descriptor: function {what} twice")
            if not f.fn:
                raise PluginLoadError(f"{where}: malformed descriptor: {what} has no fn")
            if f.flags & ~_KNOWN_FLAGS:
                raise PluginLoadError(
                    f"{where}: malformed descriptor: {what} has unknown flags 0x{f.flags:x}"
                )
            fns[fname] = FunctionDesc(
                fname,
                _types(f.params, f.param_count, f"{what} params", where),
                _types(f.results, f.result_count, f"{what} results", where),
                int(f.flags),
                _text(f.description, "description", where, required=False),
            )
            pointers[(mname, fname)] = int(f.fn)
        modules[mname] = fns
    if plugin.option_count and not plugin.options:
        raise PluginLoadError(f"{where}: malformed descriptor: options is NULL")
    options = []
    for i in range(plugin.option_count):
        o = plugin.options[i]
        options.append(
            OptionDesc(
                _text(o.name, f"options[{i}].name", where),
                _text(o.description, "description", where, required=False),
                _text(o.default_value, "default_value", where, required=False)
                if o.default_value is not None
                else None,
            )
        )
    desc = Descriptor(
        file=file,
        name=name,
        version=_text(plugin.version, "version", where),
        description=_text(plugin.description, "description", where, required=False),
        modules=modules,
        options=tuple(options),
        has_init=bool(plugin.init),
        has_fini=bool(plugin.fini),
    )
    return _Raw(desc, pointers, plugin.init or None, plugin.fini or None)


def _dlopen(file: str) -> ctypes.CDLL:
    try:
        return ctypes.CDLL(os.path.abspath(file), mode=os.RTLD_NOW | os.RTLD_LOCAL)
    except OSError as exc:
        raise PluginLoadError(f"{file}: cannot load the shared library: {exc}") from None


def read_descriptor(file: str) -> Descriptor:
    """Open ``file`` in *this* process and return its validated descriptor.

    Only the probe (a child process) and workers call this: loading runs the
    library's constructors.

    :raises PluginLoadError: cannot be loaded, no descriptor symbol, another ABI
        version, or a malformed descriptor; the message names the file.
    """
    return _read(_dlopen(file), file).desc


def _option_array(options: Mapping[str, str]) -> tuple[Any, list[bytes]]:
    keep = [s.encode() for kv in options.items() for s in kv]
    array = (_OptionValue * max(1, len(options)))()
    for i in range(len(options)):
        array[i].name = keep[2 * i]
        array[i].value = keep[2 * i + 1]
    return array, keep


class NativeLibrary:
    """A native host plug-in loaded into this process, its init run with ``options``.

    :raises PluginLoadError: see :func:`read_descriptor`; also when init fails.
    """

    def __init__(self, file: str, options: Mapping[str, str] | None = None) -> None:
        self.file = file
        self._lib = _dlopen(file)
        raw = _read(self._lib, file)
        self.descriptor = raw.desc
        self._pointers = raw.fn_pointers
        self.plugin_data = ctypes.c_void_p(None)
        self._fini = _FiniFn(raw.fini) if raw.fini else None
        self.options = {str(k): str(v) for k, v in (options or {}).items()}
        known = {o.name for o in self.descriptor.options}
        unknown = sorted(set(self.options) - known)
        if unknown:
            raise PluginLoadError(
                f"{file} ({self.descriptor.name}): unknown option(s) {', '.join(unknown)}; "
                f"it takes: {', '.join(sorted(known)) or 'none'}"
            )
        if raw.init:
            array, _keep = _option_array(self.options)
            error = ctypes.create_string_buffer(ERROR_CAPACITY)
            rc = _InitFn(raw.init)(
                array, len(self.options), ctypes.byref(self.plugin_data), error, ERROR_CAPACITY
            )
            if rc != 0:
                message = error.value.decode("utf-8", "replace") or f"error code {rc}"
                raise PluginLoadError(f"{file} ({self.descriptor.name}): init failed: {message}")
        self._closed = False
        self._lock = threading.Lock()
        atexit.register(self.close)

    def function(self, module: str, name: str) -> NativeFunction:
        """:raises KeyError: no such function."""
        desc = self.descriptor.modules[module][name]
        return NativeFunction(
            module=module,
            name=name,
            params=desc.params,
            results=desc.results,
            fn=_runtime_only,
            flags=desc.flags,
            address=self._pointers[(module, name)],
            library=self,
        )

    def close(self) -> None:
        """Run fini (once). The library stays mapped: its code may still be referenced."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._fini is not None:
            self._fini(self.plugin_data)

    @property
    def closed(self) -> bool:
        return self._closed


_open: dict[tuple[str, str], tuple[NativeLibrary, int]] = {}
_open_lock = threading.Lock()


def open_library(file: str, options: Mapping[str, str] | None = None) -> NativeLibrary:
    """The library loaded (init run) once per process and options, shared by its
    users: each call must be paired with :func:`release_library`.

    :raises PluginLoadError: see :class:`NativeLibrary`.
    """
    opts = {str(k): str(v) for k, v in (options or {}).items()}
    key = (os.path.realpath(file), json.dumps(opts, sort_keys=True))
    with _open_lock:
        lib, users = _open.get(key, (None, 0))
        if lib is None:
            lib = NativeLibrary(file, opts)
        _open[key] = (lib, users + 1)
        return lib


def release_library(lib: NativeLibrary) -> None:
    """One user of ``lib`` is done; the last one runs its fini (and a later
    :func:`open_library` runs init again)."""
    with _open_lock:
        for key, (held, users) in list(_open.items()):
            if held is lib:
                if users > 1:
                    _open[key] = (held, users - 1)
                    return
                del _open[key]
                break
    lib.close()


@dataclass(frozen=True, slots=True)
class NativeFunction(HostFunction):
    """A C host function of a loaded :class:`NativeLibrary`.

    The runtime calls the C pointer itself with a context built per call
    (``runtime/_imports.py``), not ``fn``; :meth:`call` is a slow, memory-less path
    for tests and tools.
    """

    flags: int = 0
    address: int = 0
    library: NativeLibrary | None = field(default=None, compare=False, repr=False)
    data: int = 0
    """``ctx->plugin_data`` for this function when not 0 (else the library's): a
    WasmEdge plug-in's function instance, for the compatibility library's trampoline."""

    @property
    def uses_blocks(self) -> bool:
        return False

    def c_function(self) -> Any:
        return HostFn(self.address)

    def call(self, *args: int) -> list[int]:
        """Call with raw u64 bit patterns, no memory; returns the results' bit patterns.

        :raises HostFunctionError: the function reported a failure.
        """
        ctx = new_context(self.library, self.data)
        argv = (ctypes.c_uint64 * max(1, len(self.params)))(*args)
        resv = (ctypes.c_uint64 * max(1, len(self.results)))()
        rc = self.c_function()(
            ctypes.addressof(ctx), ctypes.addressof(argv), ctypes.addressof(resv)
        )
        if rc != 0:
            raise failure(self.module, self.name, ctx, rc)
        return [resv[i] for i in range(len(self.results))]


def _runtime_only(*args: Any) -> Any:
    raise TypeError(
        "a native host function is called by the runtime with a context; "
        "use NativeFunction.call() to call it directly"
    )


def new_context(library: NativeLibrary | None, data: int = 0) -> Ctx:
    ctx = Ctx()
    ctx.abi_version = ABI_VERSION
    if data:
        ctx.plugin_data = data
    elif library is not None:
        ctx.plugin_data = library.plugin_data.value
    ctx.block_alloc = _NO_ALLOC
    ctx.block_length = _NO_LENGTH
    return ctx


def failure(module: str, name: str, ctx: Ctx, rc: int) -> HostFunctionError:
    """The error for a C function that returned ``rc`` != 0 (and resets ctx.error)."""
    message = ctx.error.decode("utf-8", "replace") or f"it returned error code {rc}"
    ctx.error = b""
    return HostFunctionError(f"host function {module}.{name} failed: {message}")


_NO_ALLOC = BlockAllocFn(lambda ctx, n: 0)
_NO_LENGTH = BlockLengthFn(lambda ctx, h: 0)
