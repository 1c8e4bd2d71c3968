"""The ``extism`` ABI: bytes in, bytes out through Orchestra's own kernel.

The kernel (``extism_kernel.wat``) is a wasm module instantiated in the plug-in's
store, so the plug-in's byte loops (load/store/input_load) stay inside wasm; Python
touches kernel memory only to place the input and read the output, plus the few
host functions Extism defines (config, vars, logs, HTTP). See docs/extism.md.
"""

from __future__ import annotations

import ctypes
import json
import os
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import _bindings as _ffi  # private, pinned: see _fastcall

from ..errors import (
    CallError,
    HostFunctionError,
    PluginError,
    PluginLoadError,
    PluginMemoryLimit,
)
from ._budget import GrowthBudget
from ._detect import EXTISM_ENV
from ._engine import load_module
from ._fastcall import FastFunc, LeanLinker, WasmFailure, host_failure
from ._guest import INITIALISERS, check_entry_points, exit_code, run_initialisers
from ._http import HostNotAllowed, allowed_opener, check_url
from ._imports import define_imports
from ._instance import InputRing, PluginInstance, memory_sizes, register_abi

__all__ = ("ExtismAbi",)

KERNEL_PATH = Path(__file__).with_name("extism_kernel.wat")

# Kernel exports a plug-in may import (all provided by the wasm kernel).
KERNEL_FUNCS = (
    "alloc", "free", "length", "length_unsafe", "load_u8", "load_u64", "store_u8",
    "store_u64", "input_length", "input_offset", "input_load_u8", "input_load_u64",
    "output_set", "error_set", "error_get", "memory_bytes", "input_set", "output_length",
    "output_offset", "reset",
)  # fmt: skip

LEVELS = {"trace": 0, "debug": 1, "info": 2, "warn": 3, "warning": 3, "error": 4, "critical": 4}
_OFF = 2**31 - 1


def _host_error(message: str) -> HostFunctionError:
    return HostFunctionError(message)


def _gunzip(data: bytes, limit: int) -> bytes:
    """A gzip body decoded, at most ``limit`` bytes of it (the cap applies decoded)."""
    try:
        return zlib.decompressobj(wbits=31).decompress(data, limit)
    except zlib.error as exc:
        raise _host_error(f"http_request: the gzip response body is corrupt: {exc}") from None


_mem_data = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(
    ("wasmtime_memory_data", _ffi.dll)
)
_mem_size = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p)(
    ("wasmtime_memory_data_size", _ffi.dll)
)
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = (
    ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long,
)  # fmt: skip
_PROT_RW, _MAP_SHARED_FIXED = 0x3, 0x01 | 0x10  # PROT_READ|PROT_WRITE, MAP_SHARED|MAP_FIXED
_MAP_NONE = 0x02 | 0x10 | 0x20 | 0x4000  # MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_NORESERVE
_4G = 1 << 32  # a 32-bit memory's address space; the kernel's "no ring"
_WASM_PAGE = 65536  # a multiple of the OS page size
_PAGE = os.sysconf("SC_PAGE_SIZE")
_VIEW_MIN = 64 * 1024  # outputs from this size may be returned as views (view_output)
_CONTROL = struct.Struct("<QQQ")  # output offset, output length, error handle (at 16)
_HEADER = struct.Struct("<IIII")  # block header: length, cap, prev, tag
_U64, _U32 = struct.Struct("<Q"), struct.Struct("<I")
_BUMP = struct.Struct("<QQII")  # at 40: heap top, last block, free count, epoch
_U64x2 = struct.Struct("<QQ")  # at 40: heap top, last block
_LIVE = 0x4C495645  # "LIVE", the kernel's live-block magic
_FIRST_HANDLE = 80  # below it: the control block and the first block's header
_FREE = 0x46524545  # "FREE", its free-block magic


def _reserved(base: int, start: int, end: int) -> bool:
    """True if ``[start, end)`` lies inside one inaccessible private mapping that
    starts at or above ``base``: the unused tail of a wasmtime memory reservation."""
    try:
        with open("/proc/self/maps", "rb") as maps:
            for line in maps:
                span, perms = line.split(None, 2)[:2]
                lo, hi = (int(x, 16) for x in span.split(b"-"))
                if lo <= start < hi:
                    return perms == b"---p" and base <= lo and end <= hi
    except OSError:
        pass
    return False


class _Kernel:
    """The kernel instance of one store, with the host-side fast paths bound.

    The host reads the kernel's memory through one memoryview (control block, block
    headers, inputs, outputs); see the layout comment at the top of
    ``extism_kernel.wat``. With wasmtime's default 4 GiB reservation a 32-bit memory
    never moves, so the view is rebuilt only when the memory has grown (``fixed``);
    with a smaller reservation (``limits.process_memory``) memory may move whenever
    wasm runs, so it is rebuilt on every use.
    """

    def __init__(self, store: wasmtime.Store, instance: wasmtime.Instance, *, fixed: bool) -> None:
        ex = instance.exports(store)
        self.store = store
        self.instance = instance
        mem = ex["memory"]
        assert isinstance(mem, wasmtime.Memory)
        self.memory = mem
        ctx = ctypes.cast(store._context(), ctypes.c_void_p)
        memref = ctypes.cast(ctypes.pointer(mem._memory), ctypes.c_void_p)
        self._mem_args = (ctx, memref)
        self._keep = (mem._memory,)
        self._fixed = fixed
        self._mv = memoryview(b"")
        self.ring_at = _4G  # the kernel's no-grow line: ring header page, then ring
        self._ring_base = _4G  # where the ring's first byte is
        self._ring = memoryview(b"")
        self._ring_size = 0
        self._wait: Callable[[int], None] = lambda end: None
        self._in_end = 0  # ring position just past the current ring input
        self._in_start = self._in_len = 0  # its kernel address and length

        def fast(name: str) -> Callable[..., Any]:
            f = ex[name]
            assert isinstance(f, wasmtime.Func)
            return FastFunc(store, f, name).bind()

        self.begin = fast("orchestra_begin")
        self.begin_ring = fast("orchestra_begin_ring")
        self._set_ring = fast("orchestra_ring")
        self.alloc = fast("alloc")
        self._free = fast("free")
        self.mem()

    def map_ring(self, r: InputRing) -> bool:
        """Map the worker's input ring at the top of this memory's 4 GiB reservation,
        above its accessible size, and the ring file's first page (its header, where
        the supervisor publishes how far the ring is written) just below it, so the
        plug-in reads ring inputs in place, even while they arrive (the layout
        comment in ``extism_kernel.wat``). Only where that reservation is certain: a
        memory that never moves (``fixed``), on a 64-bit host, whole wasm pages, and
        the target range inside one inaccessible mapping starting at or above the
        memory's base (/proc/self/maps); otherwise False, and inputs are copied.
        """
        fd, offset, size, view, written, wait = r.fd, r.offset, r.size, r.view, r.written, r.wait
        # Whole wasm pages: memory.grow must not be able to reach past ring_at.
        if not self._fixed or sys.maxsize <= _4G or size % _WASM_PAGE or not 0 < size <= _4G // 2:
            return False
        if offset < _PAGE or not 0 <= written <= _PAGE - 8:
            return False
        base, ring, at = self.base(), _4G - size, _4G - size - _WASM_PAGE
        if not base or self.size() > at or not _reserved(base, base + at, base + _4G):
            return False
        for addr, length, file_offset in ((ring - _PAGE, _PAGE, 0), (ring, size, offset)):
            got = _libc.mmap(base + addr, length, _PROT_RW, _MAP_SHARED_FIXED, fd, file_offset)
            if got != base + addr:  # MAP_FIXED either replaces exactly there or fails
                break
        else:
            if self._set_ring(at, ring - _PAGE + written):
                self.ring_at, self._ring_base, self._ring = at, ring, view
                self._ring_size, self._wait = size, wait
                return True
        # Give the range back to the reservation: memory that later grew into a
        # shared page would share the kernel's heap with the ring's header.
        _libc.mmap(base + ring - _PAGE, size + _PAGE, 0, _MAP_NONE, -1, 0)
        return False

    def begin_ring_input(self, pos: int, n: int) -> bool:
        """Start a call on the ``n``-byte input at ring position ``pos``, in place."""
        if not self._ring_size:
            return False
        start = self._ring_base + pos % self._ring_size
        self._in_end, self._in_start, self._in_len = pos + n, start, n
        return bool(self.begin_ring(start, n, pos))

    def _ring_input(self) -> tuple[int, int]:
        """(start, length) of the input if it is in the ring, else (0, 0). (The
        control block's length word counts only what has arrived of such an input.)"""
        (start,) = _U64.unpack_from(self.mem(64), 0)
        return (start, self._in_len) if start and start == self._in_start else (0, 0)

    def wait_input(self, end: int) -> None:
        """Return once the ring is written up to position ``end``."""
        self._wait(end)

    def base(self) -> int:
        return int(_mem_data(*self._mem_args) or 0)

    def size(self) -> int:
        return int(_mem_size(*self._mem_args))

    def mem(self, end: int = 0) -> memoryview:
        """The kernel memory as bytes; covers at least ``[0, end)`` if memory does."""
        mv = self._mv
        if self._fixed and end <= len(mv):
            return mv
        size = self.size()
        if size != len(mv) or not self._fixed:
            array = (ctypes.c_ubyte * size).from_address(self.base())
            mv = self._mv = memoryview(array).cast("B")
        return mv

    def _span(self, offset: int, length: int) -> memoryview:
        mv = self.mem(offset + length)
        if offset < 0 or offset + length > len(mv):
            raise _host_error(f"kernel block [{offset}, +{length}) is out of bounds")
        return mv

    def _slice(self, offset: int, length: int) -> memoryview:
        at = self.ring_at
        if offset >= at:  # only the input is there: the rest of the ring is not ours
            start, size = self._ring_input()
            if not start or not start <= offset <= offset + length <= start + size:
                raise _host_error(f"kernel block [{offset}, +{length}) is out of bounds")
            self._wait(self._in_end)  # all of it has arrived
            base = self._ring_base
            return self._ring[offset - base : offset - base + length]
        return self._span(offset, length)[offset : offset + length]

    def read(self, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        return self._slice(offset, length).tobytes()

    def view(self, offset: int, length: int) -> memoryview:
        """A read-only view of a block, valid until the next call into the store."""
        return self._slice(offset, length).toreadonly()

    def put(self, handle: int, data: bytes | memoryview) -> None:
        """Copy ``data`` into the block at ``handle`` (allocated for it)."""
        n = len(data)
        mv = self._mv
        if not (self._fixed and 0 <= handle and handle + n <= len(mv)):
            mv = self._span(handle, n)  # grown (a new view), movable, or out of bounds
        mv[handle : handle + n] = data

    def control(self) -> tuple[int, int, int]:
        """(output offset, output length, error handle) of the call that just ran."""
        return _CONTROL.unpack_from(self.mem(64), 16)

    def length(self, h: int) -> int:
        """The kernel's ``length`` export, host-side: the block's length if ``h`` is a
        live handle of this epoch, else 0 (same checks as ``$is_live``)."""
        if h >= self.ring_at:  # only the input lives there
            start, size = self._ring_input()
            return size if h == start else 0
        mv = self._mv
        if not self._fixed or len(mv) < 64:
            mv = self.mem(64)
        (top,) = _U64.unpack_from(mv, 40)
        if h & 7 or h < 80 or h >= top:
            return 0
        if top > len(mv):  # the memory grew since the view was made
            mv = self.mem(top)
            if top > len(mv):
                return 0
        length, cap, _, tag = _HEADER.unpack_from(mv, h - 16)
        (epoch,) = _U32.unpack_from(mv, 60)
        if tag != (_LIVE ^ epoch ^ (h & 0xFFFFFFFF)) or h + cap > top:
            return 0
        return int(length)

    def block(self, h: int) -> bytes:
        """The bytes of block ``h``, b"" if it is 0 or not live: ``read(h, length(h))``
        without read's second bounds walk, for the host functions a plug-in may run on
        every call (config, vars, logs). ``length`` has checked that the block lies
        below the heap top and left the cached view covering that top."""
        n = self.length(h)
        if not n:
            return b""
        if h >= self.ring_at:  # the input, in the ring
            return self.read(h, n)
        return self._mv[h : h + n].tobytes()

    def free(self, h: int) -> None:
        """The kernel's ``free``. Done here for the common case, a key block just
        allocated: the last block, no free block anywhere, not the input; the
        kernel's free then tags it free and moves the top back to its header, the
        last block back to its predecessor, exactly this (a test compares the two
        byte for byte). Entering wasm costs more than the rest of a var_get."""
        mv = self._mv
        if self._fixed and 80 <= h < len(mv) and not h & 7 and len(mv) >= 64:
            top, last, free, epoch = _BUMP.unpack_from(mv, 40)
            if not free and h - 16 == last and top <= len(mv) and h != _U64.unpack_from(mv)[0]:
                _, cap, prev, tag = _HEADER.unpack_from(mv, last)
                if tag == _LIVE ^ epoch ^ (h & 0xFFFFFFFF) and h + cap == top:
                    _U32.pack_into(mv, last + 12, _FREE ^ epoch ^ (h & 0xFFFFFFFF))
                    # The kernel's free raises its high-water mark over the block so
                    # the next reset zeroes it; that mark is a wasm global out of our
                    # reach, so the block is zeroed now (a key is a few bytes).
                    mv[h:top] = bytes(top - h)
                    _U64x2.pack_into(mv, 40, last, prev)
                    return
        self._free(h)

    def write(self, data: bytes) -> int:
        """A new block holding ``data``; its handle (0 for empty data).

        :raises HostFunctionError: the kernel could not allocate (memory limit).
        """
        n = len(data)
        if not n:
            return 0
        mv = self._mv
        if self._fixed and len(mv) >= 64:
            # The kernel's bump allocation, done here: no free block to reuse and
            # room below the memory's size (the kernel's alloc does exactly this
            # then; a test compares the two byte for byte). Entering wasm to
            # allocate costs more than the rest of a config_get or var_get.
            top, last, free, epoch = _BUMP.unpack_from(mv, 40)
            h = top + 16
            end = h + ((n + 7) & -8)
            if not free and end <= len(mv) and n <= 0xFFFF0000:
                _HEADER.pack_into(
                    mv, top, n, end - h, last & 0xFFFFFFFF, _LIVE ^ epoch ^ (h & 0xFFFFFFFF)
                )
                _U64x2.pack_into(mv, 40, end, top)
                mv[h : h + n] = data
                return h
        handle = int(self.alloc(n))
        if handle == 0:
            # Extism's words for the same failure.
            raise _host_error(f"failed to allocate extism memory ({n} bytes)")
        self.put(handle, data)
        return handle


class ExtismAbi:
    """One Extism plug-in instance: plug-in + kernel in one store; vars live across
    calls (and across a reset after a trap), as in Extism."""

    name = "extism"

    def __init__(self, owner: PluginInstance) -> None:
        self._owner = owner
        spec = owner.spec
        check_entry_points(owner.module, plugin=owner.plugin)
        self._kernel_module, _ = load_module(
            owner.engine, owner.settings, KERNEL_PATH, cache_dir=owner.cache_dir
        )
        kernel_names = {e.name for e in self._kernel_module.exports}
        self._config = {k.encode(): v.encode() for k, v in spec.config.items()}
        self._vars: dict[bytes, bytes] = {}  # never rebound: the host functions hold it
        env_host = self._env_host_functions()
        for imp in owner.module.imports:
            if (
                imp.module == EXTISM_ENV
                and imp.name not in kernel_names
                and imp.name not in env_host
            ):
                raise PluginLoadError(
                    f"invalid function import {EXTISM_ENV}.{imp.name}: not provided by this "
                    "version of the Extism ABI (try updating Orchestra)",
                    plugin=owner.plugin,
                )
        self._var_bytes = 0
        self._max_var_bytes = int(spec.max_var_bytes)
        self._max_http = int(spec.max_http_response_bytes)
        self._http_status = 0
        self._http_headers: bytes | None = None
        self._deadline: float | None = None
        self._level = LEVELS.get(owner.log_level, 2)
        self._running = False
        self._exports: dict[str, Callable[[], Any]] = {}
        self.kernel: _Kernel | None = None
        self._ring: InputRing | None = None
        # Inputs read in place still count against the memory limit, as a copy would
        # (Extism's "failed to allocate extism memory" when one cannot fit).
        limit = spec.limits.memory
        self._in_place_max = int(limit) - 80 if limit is not None else _4G
        self._env_host = env_host
        budget = owner.growth_budget
        self._budget = GrowthBudget(budget) if budget is not None else None
        self.reset()

    # -- host functions of extism:host/env ---------------------------------------------

    def _env_host_functions(
        self,
    ) -> dict[str, tuple[list[str], list[str], Callable[..., Any], bool]]:
        """name -> (params, results, function, raw). Raw ones are whole C callbacks
        (``LeanLinker.define_raw(catches=True)``): config and vars, which a plug-in
        may use on every call, read the raw value array as u64s, build no value
        structs and take one Python call each. With the one-step block read
        (``_Kernel.block``) and the bound deadline (``deadline_setter``), a 16 B
        count-vowels call that reads a config key and a var and sets a var went from
        172k to 139k instructions (callgrind), ~24 -> ~21 µs, seen here."""
        abi, fail = self, host_failure

        def getter(table: dict[bytes, bytes]) -> Callable[[Any, Any, Any, int], int]:
            def get(env: Any, caller: Any, values: Any, n: int) -> int:
                try:
                    k = abi.blocks
                    key = values[0]
                    value = table.get(k.block(key))
                    k.free(key)  # Extism consumes the key block (its length is 0 after)
                    values[0] = 0 if value is None else k.write(value)
                    return 0
                except BaseException as exc:
                    return fail(exc)

            return get

        def var_set(env: Any, caller: Any, values: Any, n: int) -> int:
            try:
                abi._var_set(values[0], values[2])
                return 0
            except BaseException as exc:
                return fail(exc)

        fns: dict[str, tuple[list[str], list[str], Callable[..., Any], bool]] = {
            "config_get": (["i64"], ["i64"], getter(self._config), True),
            "var_get": (["i64"], ["i64"], getter(self._vars), True),
            "var_set": (["i64", "i64"], [], var_set, True),
            "http_request": (["i64", "i64"], ["i64"], self._http_request, False),
            "http_status_code": ([], ["i32"], lambda: self._http_status, False),
            "http_headers": ([], ["i64"], self._http_headers_get, False),
            "get_log_level": ([], ["i32"], self._get_log_level, False),
        }
        for level in ("trace", "debug", "info", "warn", "error"):
            fns[f"log_{level}"] = (["i64"], [], self._logger(level), False)
        return fns

    @property
    def blocks(self) -> _Kernel:
        assert self.kernel is not None
        return self.kernel

    def _read(self, handle: int) -> bytes:
        return self.blocks.block(handle)

    # BlockAccess for user host functions (extism:host/user and others).
    def read_block(self, handle: int) -> bytes:
        return self._read(handle)

    def write_block(self, data: bytes) -> int:
        return self.blocks.write(data)

    def _var_set(self, key: int, value: int) -> None:
        block = self.blocks.block
        k = block(key)
        old = self._vars.get(k)
        if value == 0:
            if old is not None:
                self._var_bytes -= len(k) + len(old)
                del self._vars[k]
            return
        v = block(value)
        size = self._var_bytes - (len(k) + len(old) if old is not None else 0) + len(k) + len(v)
        if self._max_var_bytes == 0:
            raise _host_error("Vars are disabled by this host")
        if size > self._max_var_bytes:
            raise _host_error("Variable store is full")
        self._vars[k] = v
        self._var_bytes = size

    def _get_log_level(self) -> int:
        return self._level if self._level <= 4 else _OFF

    def _logger(self, level: str) -> Callable[[int], None]:
        rank = LEVELS[level]

        def log(message: int) -> None:
            if rank >= self._level:
                text = self._read(message).decode("utf-8", "replace")
                self._owner.log_sink(level, text)

        return log

    def _http_headers_get(self) -> int:
        if self._http_headers is None or not self._owner.spec.http_response_headers:
            return 0
        return self.blocks.write(self._http_headers)

    def _http_request(self, request: int, body: int) -> int:
        try:
            req = json.loads(self._read(request))
            url = req["url"]
        except (ValueError, KeyError, TypeError):
            raise _host_error("http_request: the request must be JSON with a 'url'") from None
        try:
            check_url(url, self._owner.spec.allowed_hosts)
        except HostNotAllowed as exc:
            raise _host_error(str(exc.reason)) from None
        data = self._read(body) if body else None
        # Extism's client (ureq) sends accept */* and accept-encoding gzip, and decodes
        # a gzip body; the plug-in's own headers win (urllib keys them case-blind).
        headers = {"Accept": "*/*", "Accept-Encoding": "gzip", **(req.get("headers") or {})}
        http = urllib.request.Request(
            url, data=data, method=req.get("method") or "GET", headers=headers
        )
        remaining = 30.0 if self._deadline is None else self._deadline - time.monotonic()
        if remaining <= 0:
            raise _host_error("http_request: the call's timeout has passed")
        try:
            opener = allowed_opener(self._owner.spec.allowed_hosts)
            with opener.open(http, timeout=remaining) as resp:
                status, resp_headers, payload = (
                    resp.status,
                    dict(resp.headers),
                    resp.read(self._max_http + 1),
                )
        except urllib.error.HTTPError as exc:
            status, resp_headers, payload = (
                exc.code,
                dict(exc.headers),
                exc.read(self._max_http + 1),
            )
        except HostNotAllowed as exc:
            raise _host_error(str(exc.reason)) from None
        except (OSError, ValueError) as exc:
            raise _host_error(f"http_request to {url} failed: {exc}") from None
        encoding = next((v for k, v in resp_headers.items() if k.lower() == "content-encoding"), "")
        if encoding.lower() == "gzip":
            payload = _gunzip(payload, self._max_http + 1)
        if len(payload) > self._max_http:
            raise _host_error(  # Extism's words, then the URL
                "HTTP response exceeds the configured maximum number of bytes: "
                f"{self._max_http} ({url})"
            )
        self._http_status = status
        self._http_headers = json.dumps(resp_headers).encode()
        return self.blocks.write(payload)

    # -- store life -----------------------------------------------------------------------

    def reset(self) -> None:
        """A fresh store: kernel, linked modules, plug-in, initialisers run once."""
        owner = self._owner
        store = owner.new_store()
        owner.arm(store)
        kernel_instance = wasmtime.Instance(store, self._kernel_module, [])
        # Without a custom reservation wasmtime reserves 4 GiB: the memory never moves.
        fixed = owner.settings.memory_reservation is None
        self.kernel = _Kernel(store, kernel_instance, fixed=fixed)
        if self._ring is not None:
            self.kernel.map_ring(self._ring)
        linker = wasmtime.Linker(owner.engine)
        linker.allow_shadowing = True
        if owner.uses_wasi:
            linker.define_wasi()
        kex = kernel_instance.exports(store)
        for name in KERNEL_FUNCS:
            item = kex.get(name)
            if item is not None:
                linker.define(store, EXTISM_ENV, name, item)
        lean = LeanLinker(linker, owner.host_callbacks)
        for name, (params, results, fn, raw) in self._env_host.items():
            if raw:
                lean.define_raw(EXTISM_ENV, name, params, results, fn, catches=True)
            else:
                lean.define(EXTISM_ENV, name, params, results, fn)
        define_imports(lean, owner.imports, owner.block_access, owner.router, owner.timeout or 30.0)
        for name, module in owner.linked:
            linker.define_instance(store, name, linker.instantiate(store, module))
        try:
            instance = linker.instantiate(store, owner.module)
        except wasmtime.WasmtimeError as exc:
            raise PluginLoadError(f"cannot instantiate: {exc}", plugin=owner.plugin) from None
        self._store = store
        self._instance = instance
        self._exports = {}
        self._stale = False
        if self._budget is not None:
            self._budget.start(store, self.memory_sizes())
        run_initialisers(store, instance, plugin=owner.plugin)

    def _check_budget(self, what: str) -> None:
        """Past Extism's growth budget the call fails, on a fresh instance next."""
        assert self._budget is not None
        problem = self._budget.overrun(self.memory_sizes())
        if problem is not None:
            self.reset()
            raise PluginMemoryLimit(f"{what}: {problem}")

    def memory_sizes(self) -> list[int]:
        return memory_sizes(self._store, self._instance, self.blocks.instance)

    def map_input_ring(self, ring: InputRing) -> bool:
        """Read large inputs in place from the worker's input ring, in this store and
        every later one. False when this store cannot (``_Kernel.map_ring``): inputs
        are then copied as before."""
        self._ring = ring
        return self.blocks.map_ring(ring)

    def exports(self) -> list[str]:
        return [
            name
            for name, item in self._instance.exports(self._store).items()
            if isinstance(item, wasmtime.Func) and name not in INITIALISERS
        ]

    def _export(self, name: str) -> Callable[[], Any]:
        fn = self._exports.get(name)
        if fn is None:
            item = self._instance.exports(self._store).get(name)
            if not isinstance(item, wasmtime.Func):
                raise CallError(  # "Function not found: NAME" as Extism says it
                    f"Function not found: {name}; exports: {', '.join(self.exports()) or 'none'}"
                )
            ff = FastFunc(self._store, item, name)
            if ff.param_types or ff.result_types not in ([], ["i32"]):
                raise CallError(
                    f"export {name!r} has type ({', '.join(ff.param_types)}) -> "
                    f"({', '.join(ff.result_types)}); Extism exports are () -> i32"
                )
            fn = ff.bind_no_args_i32() if ff.result_types else (lambda ff=ff: ff.call(()) and 0)
            self._exports[name] = fn
        return fn

    def call(
        self, export: str, data: bytes, args: list[int | float] | None
    ) -> tuple[bytes, list[int | float] | None]:
        if self._running:
            raise CallError("re-entrant call refused: this instance is already running a call")
        if self._stale:  # after _start: a new instance with no vars, as the SDK's new store
            self._vars.clear()
            self._var_bytes = 0
            self.reset()
        fn = self._export(export)
        owner = self._owner
        # Arm first: the kernel calls below run wasm too, and under the previous
        # call's (or the load's) deadline they would time out after an idle spell.
        owner.arm(self._store)
        self._deadline = time.monotonic() + owner.timeout if owner.timeout else None
        k = self.blocks
        n = len(data)
        pos = owner.input_at
        if pos is not None and n <= self._in_place_max and k.begin_ring_input(pos, n):
            pass  # the input stays in the ring (and may still be arriving)
        else:
            if pos is not None:
                k.wait_input(pos + n)  # the copy below reads all of it
            handle = k.begin(n)  # reset + alloc + input_set, in the kernel
            if handle < 0:  # no host function ran: the input does not fit
                raise PluginMemoryLimit(
                    f"failed to allocate extism memory for the input ({n} bytes): "
                    "the memory limit is reached"
                )
            if n:  # bytes, or a view of the shared payload ring: copied straight from it
                k.put(handle, data)
            owner.input_consumed()
            if self._budget is not None:
                self._check_budget(f"failed to allocate extism memory for the input ({n} bytes)")
        self._running = True
        try:
            rc = fn()
        except WasmFailure as failure:
            code = exit_code(failure.error)
            if code is None:
                raise
            if code:
                raise PluginError(f"WASI exit code {code}") from None
            rc = 0
        finally:
            self._running = False
            self._stale = export == "_start"  # main has run: a fresh instance next
        if self._budget is not None:
            self._check_budget(f"call to {export}")
        offset, length, err = k.control()
        if err:
            owner.arm(self._store)  # reading the error must not time out the finished call
            raise PluginError(self._read(int(err)).decode("utf-8", "replace"))
        if rc:
            raise PluginError(f"returned non-zero exit code {rc}")
        if offset < _FIRST_HANDLE and length:  # the kernel's own state is not output
            raise _host_error(
                f"output_set [{offset}, +{length}) points into the kernel's control block "
                f"(blocks start at {_FIRST_HANDLE})"
            )
        if owner.view_output and length >= _VIEW_MIN:
            return k.view(offset, length), None  # (in the ring: valid until released)
        return k.read(offset, length), None


register_abi("extism", ExtismAbi)
