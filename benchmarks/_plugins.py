"""Plug-ins and in-process hosts for ``bench_perf.py``.

* paths of the example plug-ins (built with zig on demand);
* :func:`big_plugin`: a generated ~1.8 MB Extism plug-in for the cold-start target;
* :class:`PublicExtism`: an Extism plug-in run in-process through wasmtime-py's
  *public* API only (``Func.__call__``, ``Linker.define_func``), on Orchestra's
  Extism kernel;
* :class:`SdkPlugin`: the Extism Python SDK;
* :func:`ping_pong`: the inter-process floor, a socketpair echo with msgspec frames.

Nothing here measures anything; ``bench_perf.py`` does.
"""

from __future__ import annotations

import hashlib
import random
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import wasmtime

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
COUNT_VOWELS = EXAMPLES / "build" / "extism" / "count_vowels.wasm"
PRIMES = EXAMPLES / "build" / "primes.wasm"
KERNEL_WAT = REPO / "orchestra" / "runtime" / "extism_kernel.wat"
EXTISM_ENV = "extism:host/env"

#: The config every count_vowels host gets (the plug-in reads "vowels" on every call).
CV_CONFIG = {"vowels": "aeiouAEIOU"}
CV_EXPORT = "count_vowels"

__all__ = (
    "COUNT_VOWELS",
    "CV_CONFIG",
    "CV_EXPORT",
    "PRIMES",
    "PublicExtism",
    "SdkPlugin",
    "big_plugin",
    "ensure_examples",
    "expected_count",
    "ping_pong",
)


def ensure_examples() -> None:
    """Build the C example plug-ins (zig, from the test extra) if they are missing."""
    if COUNT_VOWELS.exists() and PRIMES.exists():
        return
    subprocess.run([sys.executable, str(EXAMPLES / "build.py")], check=True)


def expected_count(data: bytes) -> int:
    """What count_vowels must report as ``count`` for ``data`` with :data:`CV_CONFIG`."""
    return sum(data.count(c) for c in CV_CONFIG["vowels"].encode())


# -- a big plug-in for the cold-start target ------------------------------------------

_BIG_VERSION = 1


def _big_wat(data_bytes: int, functions: int, seed: int = 7) -> str:
    """An Extism plug-in with a large data segment and many small functions.

    Export ``run``: output = 8-byte little-endian result of ``f(input length)``
    through a ``call_indirect`` into the function table (so nothing is dead code).
    """
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-_"
    blob = "".join(rng.choice(alphabet) for _ in range(data_bytes))
    pages = (1024 + data_bytes) // 65536 + 2
    out = [
        "(module",
        f'  (import "{EXTISM_ENV}" "input_length" (func $input_length (result i64)))',
        f'  (import "{EXTISM_ENV}" "alloc" (func $alloc (param i64) (result i64)))',
        f'  (import "{EXTISM_ENV}" "store_u64" (func $store_u64 (param i64 i64)))',
        f'  (import "{EXTISM_ENV}" "output_set" (func $output_set (param i64 i64)))',
        f'  (memory (export "memory") {pages})',
        f'  (data (i32.const 1024) "{blob}")',
        "  (type $t (func (param i32) (result i32)))",
        f"  (table {functions} funcref)",
        "  (elem (i32.const 0) " + " ".join(f"$f{i}" for i in range(functions)) + ")",
    ]
    for i in range(functions):
        body = ["local.get 0"]
        for _ in range(12):
            op = rng.choice(("i32.add", "i32.mul", "i32.xor", "i32.sub"))
            body.append(f"i32.const {rng.randrange(1, 1 << 30)} {op}")
        body.append(f"i32.const {1024 + rng.randrange(data_bytes - 4)} i32.load i32.add")
        out.append(f"  (func $f{i} (type $t) " + " ".join(body) + ")")
    out += [
        '  (func (export "run") (result i32)',
        "    (local $h i64) (local $n i32)",
        "    (local.set $n (i32.wrap_i64 (call $input_length)))",
        "    (local.set $h (call $alloc (i64.const 8)))",
        "    (call $store_u64 (local.get $h) (i64.extend_i32_u",
        f"      (call_indirect (type $t) (local.get $n) (i32.rem_u (local.get $n) (i32.const {functions})))))",
        "    (call $output_set (local.get $h) (i64.const 8))",
        "    (i32.const 0))",
        ")",
    ]
    return "\n".join(out)


def big_plugin(
    cache: Path | None = None, *, data_bytes: int = 1_000_000, functions: int = 7_500
) -> Path:
    """A ~1.8 MB Extism plug-in (``run``), generated once and kept in ``cache``
    (default: ``$TMPDIR/orchestra-bench``)."""
    folder = cache or Path(tempfile.gettempdir()) / "orchestra-bench"
    key = hashlib.sha256(f"{_BIG_VERSION}:{data_bytes}:{functions}".encode()).hexdigest()[:12]
    path = folder / f"big-{key}.wasm"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        wasm = wasmtime.wat2wasm(_big_wat(data_bytes, functions))
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(wasm)
        tmp.replace(path)
    return path


# -- in-process hosts -------------------------------------------------------------------


class SdkPlugin:
    """The Extism Python SDK (one ``Plugin``: use one per thread)."""

    def __init__(self, source: Path, config: dict[str, str] | None = None) -> None:
        import extism

        manifest: dict[str, Any] = {"wasm": [{"path": str(source)}]}
        if config:
            manifest["config"] = dict(config)
        self.plugin = extism.Plugin(manifest, wasi=True, functions=[])

    def call(self, export: str, data: bytes) -> bytes:
        return bytes(self.plugin.call(export, data))


_I64 = wasmtime.ValType.i64()
_I32 = wasmtime.ValType.i32()


class PublicExtism:
    """An Extism plug-in in this process through wasmtime-py's public API only.

    Orchestra's Extism kernel (``extism_kernel.wat``) is instantiated in the same
    store and its function exports are linked as ``extism:host/env`` with
    ``Linker.define``; ``config_get``/``var_get``/``var_set`` are Python host
    functions defined with ``Linker.define_func`` (wasmtime-py's public, slow
    trampoline), any other ``env`` import a stub returning zeros. A call goes
    through ``Func.__call__`` for every kernel and plug-in function it runs.
    """

    def __init__(self, source: Path, config: dict[str, str] | None = None) -> None:
        self.engine = wasmtime.Engine()
        self.store = wasmtime.Store(self.engine)
        module = wasmtime.Module.from_file(self.engine, str(source))
        kernel_module = wasmtime.Module(self.engine, wasmtime.wat2wasm(KERNEL_WAT.read_text()))
        kernel = wasmtime.Instance(self.store, kernel_module, [])
        kex = kernel.exports(self.store)
        self._k: dict[str, wasmtime.Func] = {
            name: item for name, item in kex.items() if isinstance(item, wasmtime.Func)
        }
        memory = kex["memory"]
        assert isinstance(memory, wasmtime.Memory)
        self.memory = memory
        self.config = {k.encode(): v.encode() for k, v in (config or {}).items()}
        self.vars: dict[bytes, bytes] = {}

        linker = wasmtime.Linker(self.engine)
        host: dict[str, Callable[..., Any]] = {
            "config_get": self._config_get,
            "var_get": self._var_get,
            "var_set": self._var_set,
        }
        for imp in module.imports:
            ty = imp.type
            if imp.module.startswith("wasi"):
                continue
            if imp.module == EXTISM_ENV and imp.name in self._k:
                linker.define(self.store, EXTISM_ENV, imp.name, self._k[imp.name])
            elif isinstance(ty, wasmtime.FuncType):
                fn = host.get(imp.name) if imp.module == EXTISM_ENV else None
                linker.define_func(
                    imp.module, imp.name, ty, fn or _stub(ty), access_caller=fn is not None
                )
        if any(imp.module.startswith("wasi") for imp in module.imports):
            linker.define_wasi()
            self.store.set_wasi(wasmtime.WasiConfig())
        self.instance = linker.instantiate(self.store, module)
        ex = self.instance.exports(self.store)
        init = ex.get("_initialize")
        if isinstance(init, wasmtime.Func):
            init(self.store)
        self._exports = {k: v for k, v in ex.items() if isinstance(v, wasmtime.Func)}

    # host functions: read and write kernel blocks through public calls
    def _read(self, caller: Any, handle: int) -> bytes:
        if handle == 0:
            return b""
        n = self._k["length"](caller, handle)
        return bytes(self.memory.read(caller, handle, handle + n))

    def _write(self, caller: Any, data: bytes) -> int:
        handle: int = self._k["alloc"](caller, len(data))
        self.memory.write(caller, data, handle)
        return handle

    def _config_get(self, caller: Any, key: int) -> int:
        value = self.config.get(self._read(caller, key))
        return 0 if value is None else self._write(caller, value)

    def _var_get(self, caller: Any, key: int) -> int:
        value = self.vars.get(self._read(caller, key))
        return 0 if value is None else self._write(caller, value)

    def _var_set(self, caller: Any, key: int, value: int) -> None:
        k = self._read(caller, key)
        if value == 0:
            self.vars.pop(k, None)
        else:
            self.vars[k] = self._read(caller, value)

    def call(self, export: str, data: bytes) -> bytes:
        store, k = self.store, self._k
        handle = k["orchestra_begin"](store, len(data))  # reset + alloc + input_set
        if data:
            self.memory.write(store, data, handle)
        rc = self._exports[export](store)
        err = k["error_get"](store)
        if err:
            raise RuntimeError(self._read(store, err).decode("utf-8", "replace"))
        if rc:
            raise RuntimeError(f"returned non-zero exit code {rc}")
        offset = k["output_offset"](store)
        length = k["output_length"](store)
        return bytes(self.memory.read(store, offset, offset + length))


def _stub(ty: wasmtime.FuncType) -> Callable[..., Any]:
    results = [0 for _ in ty.results]

    def stub(*_args: Any) -> Any:
        if not results:
            return None
        return results[0] if len(results) == 1 else list(results)

    return stub


# -- the inter-process floor ------------------------------------------------------------


class _Echo(msgspec.Struct, array_like=True, tag=True):
    id: int
    data: bytes


_ECHO_CHILD = r"""
import socket, struct, sys
import msgspec

class _Echo(msgspec.Struct, array_like=True, tag=True):
    id: int
    data: bytes

sock = socket.socket(fileno=int(sys.argv[1]))
enc, dec = msgspec.msgpack.Encoder(), msgspec.msgpack.Decoder(_Echo)
head = struct.Struct("<I")
buf = bytearray()
while True:
    chunk = sock.recv(1 << 16)
    if not chunk:
        break
    buf += chunk
    while len(buf) >= 4:
        (n,) = head.unpack_from(buf)
        if len(buf) < 4 + n:
            break
        msg = dec.decode(memoryview(buf)[4 : 4 + n])
        del buf[: 4 + n]
        body = enc.encode(msg)
        sock.sendall(head.pack(len(body)) + body)
"""


def ping_pong(seconds: float, payload: int = 16) -> list[float]:
    """Round trips (µs) of one framed msgspec message at a time between this process
    and an echo process over a socketpair (blocking sockets, no event loop)."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    proc = subprocess.Popen(
        [sys.executable, "-c", _ECHO_CHILD, str(child.fileno())], pass_fds=(child.fileno(),)
    )
    child.close()
    enc, dec = msgspec.msgpack.Encoder(), msgspec.msgpack.Decoder(_Echo)
    head = struct.Struct("<I")
    data = b"x" * payload
    out: list[float] = []
    perf = time.perf_counter
    try:

        def round_trip(i: int) -> None:
            body = enc.encode(_Echo(i, data))
            parent.sendall(head.pack(len(body)) + body)
            buf = bytearray()
            while len(buf) < 4 or len(buf) < 4 + head.unpack_from(buf)[0]:
                chunk = parent.recv(1 << 16)
                if not chunk:
                    raise RuntimeError("echo process died")
                buf += chunk
            msg = dec.decode(memoryview(buf)[4:])
            if msg.id != i or msg.data != data:
                raise RuntimeError("echo returned a wrong message")

        for i in range(200):  # warm-up
            round_trip(i)
        deadline = perf() + seconds
        i = 0
        while True:
            t0 = perf()
            round_trip(i)
            t1 = perf()
            out.append((t1 - t0) * 1e6)
            i += 1
            if t1 >= deadline:
                return out
    finally:
        parent.close()
        proc.wait(timeout=10)
