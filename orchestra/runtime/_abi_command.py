"""The ``wasi-command`` ABI: input on stdin, output from stdout, exit code 0 is success.

A command's ``_start`` runs once per instantiation, so every call gets a fresh store
(instantiation from the prebuilt ``InstancePre`` costs tens of microseconds).
"""

from __future__ import annotations

import os
import tempfile

import wasmtime

from ..errors import CallError
from ._fastcall import FastFunc, WasmFailure
from ._instance import PluginInstance, register_abi

__all__ = ("CommandAbi",)

ENTRY_NAMES = ("_start", "run", "main")


class CommandAbi:
    name = "wasi-command"

    def __init__(self, owner: PluginInstance) -> None:
        self._owner = owner
        owner.uses_wasi = True  # stdin/stdout need a WASI context even without imports
        # stdin must be a file for WASI; one per worker, rewritten per call, on tmpfs
        # when there is one.
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        fd, self._stdin = tempfile.mkstemp(prefix="orchestra-stdin-", dir=shm)
        os.close(fd)

    def exports(self) -> list[str]:
        return ["_start"]

    def reset(self) -> None:
        """Nothing persists between calls of a command."""

    def call(
        self, export: str, data: bytes, args: list[int | float] | None
    ) -> tuple[bytes, list[int | float] | None]:
        if export not in ENTRY_NAMES:
            raise CallError(
                f"a wasi-command plug-in has one entry point; call it as '_start' (not {export!r})"
            )
        owner = self._owner
        with open(self._stdin, "wb") as fh:
            fh.write(data)
        out: list[bytes] = []
        wasi = owner.wasi_config()
        wasi.stdin_file = self._stdin
        wasi.stdout_custom = out.append
        store = owner.new_store(wasi)
        owner.arm(store)
        instance = owner.pre.instantiate(store)
        start = instance.exports(store)["_start"]
        assert isinstance(start, wasmtime.Func)
        try:
            FastFunc(store, start, "_start").call(())
        except WasmFailure as failure:
            err = failure.error
            if isinstance(err, wasmtime.ExitTrap):
                if err.code != 0:
                    output = b"".join(out).decode("utf-8", "replace").strip()
                    detail = f": {output[:500]}" if output else ""
                    raise CallError(f"exited with code {err.code}{detail}") from None
            else:
                raise
        return b"".join(out), None

    def __del__(self) -> None:
        try:
            os.unlink(self._stdin)
        except OSError:
            pass


register_abi("wasi-command", CommandAbi)
