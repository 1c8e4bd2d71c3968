"""The ``wasi-command`` ABI: input on stdin, output from stdout, exit code 0 is success.

A command's ``_start`` runs once per instantiation, so every call gets a fresh store
(instantiation from the prebuilt ``InstancePre`` costs tens of microseconds). A plug-in
granted no directories reads stdin and writes stdout from memory (``_memstdio``); one
granted directories gets WASI's own stdin (a file) and stdout.
"""

from __future__ import annotations

import os
import tempfile

import wasmtime

from ..config import COMMAND_ENTRY_NAMES
from ..errors import CallError, PluginError
from ._detect import WASI_MODULES
from ._fastcall import FastFunc, LeanLinker, StartCaller, WasmFailure
from ._instance import PluginInstance, memory_sizes, register_abi
from ._memstdio import SHADOWED, CommandExit, MemoryStdio

__all__ = ("CommandAbi",)

ENTRY_NAMES = COMMAND_ENTRY_NAMES


class CommandAbi:
    name = "wasi-command"

    def __init__(self, owner: PluginInstance) -> None:
        self._owner = owner
        owner.uses_wasi = True  # stdin/stdout need a WASI context even without imports
        self._last: tuple[wasmtime.Store, wasmtime.Instance] | None = None
        self._stdio: MemoryStdio | None = None
        self._fd = -1
        self._start = StartCaller("_start") if StartCaller.fits(owner.module, "_start") else None
        # Only what the module imports from WASI beyond stdio needs a WASI context.
        self._needs_wasi = True
        if not owner.grants_paths:
            self._needs_wasi = any(
                imp.module in WASI_MODULES and imp.name not in SHADOWED
                for imp in owner.module.imports
            )
            self._stdio = MemoryStdio(owner.stderr_writer)
            owner.linker.allow_shadowing = True
            try:
                self._stdio.define(LeanLinker(owner.linker, owner.host_callbacks))
            finally:
                owner.linker.allow_shadowing = False
            return
        # stdin must be a file for WASI: one per worker, rewritten per call, on tmpfs
        # when there is one. It is unlinked at once and reached through /proc/self/fd,
        # so a worker killed with SIGKILL leaves nothing behind.
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        self._fd, path = tempfile.mkstemp(prefix="orchestra-stdin-", dir=shm)
        proc_path = f"/proc/self/fd/{self._fd}"
        if os.path.exists(proc_path):
            os.unlink(path)
            self._stdin = proc_path
        else:
            self._stdin = path

    def memory_sizes(self) -> list[int]:
        last = self._last
        return memory_sizes(*last) if last else []

    def exports(self) -> list[str]:
        return ["_start"]

    def reset(self) -> None:
        """Nothing persists between calls of a command; drop the failed call's store."""
        self._last = None

    def call(
        self, export: str, data: bytes, args: list[int | float] | None
    ) -> tuple[bytes, list[int | float] | None]:
        if export not in ENTRY_NAMES:
            raise CallError(
                f"a wasi-command plug-in has one entry point; call it as '_start' (not {export!r})"
            )
        owner = self._owner
        stdio = self._stdio
        wasi = owner.wasi_config() if self._needs_wasi else None
        if stdio is not None:
            out = stdio.start(data)  # read in place; the instance releases it at the end
        else:
            assert wasi is not None
            os.ftruncate(self._fd, 0)
            if data:
                os.pwrite(self._fd, data, 0)
            owner.input_consumed()
            out = []
            wasi.stdin_file = self._stdin
            wasi.stdout_custom = out.append
        store = owner.new_store(wasi, bare=not self._needs_wasi)
        owner.arm(store)
        instance = owner.pre.instantiate(store)
        self._last = (store, instance)
        try:
            if self._start is not None:
                self._start(store, instance)
            else:
                start = instance.exports(store)["_start"]
                assert isinstance(start, wasmtime.Func)
                FastFunc(store, start, "_start").call(())
        except WasmFailure as failure:
            err = failure.error
            if isinstance(err, wasmtime.ExitTrap | CommandExit):
                if err.code != 0:
                    output = b"".join(out).decode("utf-8", "replace").strip()
                    detail = f": {output[:500]}" if output else ""
                    raise PluginError(f"exited with code {err.code}{detail}") from None
            else:
                raise
        finally:
            if stdio is not None:
                stdio.finish()
        self._last = None  # do not keep the store (and its memory) between calls
        return b"".join(out), None

    def __del__(self) -> None:
        if self._fd < 0:
            return
        try:
            os.close(self._fd)
            if not self._stdin.startswith("/proc/"):
                os.unlink(self._stdin)
        except OSError:
            pass


register_abi("wasi-command", CommandAbi)
