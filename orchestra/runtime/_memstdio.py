"""A wasi-command's stdin and stdout served from memory, without WASI files.

wasmtime's WASI reads a stdin file and writes a custom stdout through its async
runtime: a thread hand-off per ``fd_read``/``fd_write`` and a file opened per call
(~45 % of a demo pipeline's CPU was system time). A plug-in granted no directories
can reach no descriptor but 0, 1 and 2, so ``fd_read`` and ``fd_write`` are
shadowed on its linker by raw host functions over the call's bytes: stdin is the
input, stdout collects the output, stderr goes where WASI's stderr would have gone
(the instance's ``plugin_stderr`` log lines, ``_stdio.OutputLines``, when it has a
sink; else the worker's fd 2).
Every other WASI function (``proc_exit``, clocks, args, ``fd_fdstat_get`` ...)
stays wasmtime's; ``proc_exit`` is shadowed too, so a command importing nothing else
from WASI runs in a store without a WASI context (building one costs more than the
call of a small command).
"""

from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Callable

from ._detect import WASI_MODULES
from ._fastcall import CallerMemory, LeanLinker, RawValues

__all__ = ("SHADOWED", "CommandExit", "MemoryStdio")

SHADOWED = frozenset({"fd_read", "fd_write", "proc_exit"})
"""The WASI functions :class:`MemoryStdio` serves itself."""
_ESUCCESS, _EBADF, _EFAULT = 0, 8, 21
_U32 = 0xFFFFFFFF
_string_at, _memmove = ctypes.string_at, ctypes.memmove
_pack_u32 = struct.Struct("<I").pack
_unpack_iovec = struct.Struct("<II").unpack_from


class CommandExit(Exception):
    """``proc_exit(code)``: ends the wasm call, as wasmtime's ``ExitTrap`` does."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class MemoryStdio:
    """The current call's stdin (``data`` from ``pos``) and stdout (``out``)."""

    def __init__(self, stderr: Callable[[bytes], None] | None = None) -> None:
        self._stderr = stderr
        self.data: bytes | memoryview = b""
        self.pos = 0
        self.out: list[bytes] = []
        self._memory = CallerMemory()

    def start(self, data: bytes | memoryview) -> list[bytes]:
        """Begin a call reading ``data``; returns the list its output goes to."""
        self.data, self.pos, self.out = data, 0, []
        return self.out

    def finish(self) -> None:
        self.data, self.out = b"", []

    def define(self, linker: LeanLinker) -> None:
        """Shadow WASI's functions of :data:`SHADOWED` on ``linker`` (which must have
        WASI defined and allow shadowing)."""
        params = ["i32", "i32", "i32", "i32"]
        for module in sorted(WASI_MODULES):
            linker.define_raw(module, "fd_read", params, ["i32"], self._fd_read)
            linker.define_raw(module, "fd_write", params, ["i32"], self._fd_write)
            linker.define_raw(module, "proc_exit", ["i32"], [], _proc_exit)

    def _fd_read(self, caller: int, values: RawValues) -> None:
        _serve(caller, values, self._memory, (0,), self._read_into)

    def _fd_write(self, caller: int, values: RawValues) -> None:
        _serve(caller, values, self._memory, (1, 2), self._write_from)

    def _read_into(self, fd: int, base: int, vecs: list[tuple[int, int]]) -> int:
        data, pos, total = self.data, self.pos, 0
        for addr, length in vecs:
            chunk = bytes(data[pos : pos + length])
            if not chunk:
                break
            _memmove(base + addr, chunk, len(chunk))
            pos += len(chunk)
            total += len(chunk)
        self.pos = pos
        return total

    def _write_from(self, fd: int, base: int, vecs: list[tuple[int, int]]) -> int:
        chunks = [_string_at(base + addr, length) for addr, length in vecs if length]
        if fd == 1:
            self.out.extend(chunks)
        elif chunks:
            if self._stderr is not None:
                self._stderr(b"".join(chunks))  # as lines: plugin_stderr log events
            else:
                _write_all(2, b"".join(chunks))  # as WASI's inherited stderr: fd 2
        return sum(map(len, chunks))


_Transfer = Callable[[int, int, list[tuple[int, int]]], int]


def _serve(
    caller: int, values: RawValues, memory: CallerMemory, fds: tuple[int, ...], transfer: _Transfer
) -> None:
    """``fd_read``/``fd_write(fd, iovs, iovs_len, nbytes)``: checks the descriptor
    and every address, moves the bytes with ``transfer(fd, base, [(addr, len)])``,
    stores the byte count and the errno."""
    fd = values[0] & _U32
    if fd not in fds:
        values[0] = _EBADF
        return
    base, size = memory.get(caller)
    iovs, count, result = values[2] & _U32, values[4] & _U32, values[6] & _U32
    if base is None or iovs + 8 * count > size or result + 4 > size:
        values[0] = _EFAULT
        return
    raw = _string_at(base + iovs, 8 * count)
    vecs = [_unpack_iovec(raw, 8 * i) for i in range(count)]
    if any(addr + length > size for addr, length in vecs):
        values[0] = _EFAULT
        return
    _memmove(base + result, _pack_u32(transfer(fd, base, vecs)), 4)
    values[0] = _ESUCCESS


def _proc_exit(caller: int, values: RawValues) -> None:
    code = values[0] & _U32
    raise CommandExit(code - (1 << 32) if code >= 1 << 31 else code)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
