"""orchestra.testing's tiny WAT plug-ins assemble and behave as documented.

Checked with wasmtime-py directly, independently of Orchestra's runtime.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import wasmtime

import orchestra.testing
from orchestra.testing import (
    ADD,
    COUNTER,
    ECHO_WASI,
    EXIT_CODE,
    GROW,
    LOOP,
    SLOW,
    TRAP,
)
from orchestra.testing._gate import GATE_HOSTPLUGIN, GATED
from orchestra.testing._wat import ALL


def test_public_names() -> None:
    assert orchestra.testing.__doc__
    assert isinstance(orchestra.testing.__all__, tuple)
    # Besides the WAT texts, the gate: a Python host plug-in and the module using it.
    gate = {"GATE_HOSTPLUGIN": GATE_HOSTPLUGIN, "GATED": GATED}
    assert set(orchestra.testing.__all__) == set(ALL) | set(gate)
    for name in orchestra.testing.__all__:
        assert getattr(orchestra.testing, name) is {**ALL, **gate}[name]
    wasmtime.Module.validate(wasmtime.Engine(), wasmtime.wat2wasm(GATED))
    compile(GATE_HOSTPLUGIN, "gate.py", "exec")


@pytest.mark.parametrize("name", sorted(ALL))
def test_assembles(name: str) -> None:
    wasm = wasmtime.wat2wasm(ALL[name])
    assert wasm[:4] == b"\0asm"
    wasmtime.Module.validate(wasmtime.Engine(), wasm)


def func_exports(wat: str) -> set[str]:
    module = wasmtime.Module(wasmtime.Engine(), wat)
    return {e.name for e in module.exports if isinstance(e.type, wasmtime.FuncType)}


@pytest.mark.parametrize("wat", [ECHO_WASI, EXIT_CODE])
def test_wasi_commands_export_only_start(wat: str) -> None:
    assert func_exports(wat) == {"_start"}


def core(wat: str, engine: wasmtime.Engine | None = None) -> tuple[wasmtime.Store, Any]:
    """Instantiate a core module; return (store, exports)."""
    engine = engine or wasmtime.Engine()
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module(engine, wat), [])
    return store, instance.exports(store)


def run_command(wat: str, stdin: bytes, tmp_path: Path) -> tuple[int, bytes]:
    """Run a wasi-command module; return (exit code, stdout)."""
    engine = wasmtime.Engine()
    (tmp_path / "stdin").write_bytes(stdin)
    config = wasmtime.WasiConfig()
    config.stdin_file = str(tmp_path / "stdin")
    config.stdout_file = str(tmp_path / "stdout")
    store = wasmtime.Store(engine)
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, wasmtime.Module(engine, wat))
    try:
        instance.exports(store)["_start"](store)
        code = 0
    except wasmtime.ExitTrap as exit_:
        code = exit_.code
    return code, (tmp_path / "stdout").read_bytes()


def test_add() -> None:
    assert func_exports(ADD) == {"add"}
    store, exports = core(ADD)
    assert exports["add"](store, 2, 3) == 5


def test_trap() -> None:
    assert func_exports(TRAP) == {"boom", "ok"}
    store, exports = core(TRAP)
    with pytest.raises(wasmtime.Trap) as info:
        exports["boom"](store)
    assert info.value.trap_code == wasmtime.TrapCode.UNREACHABLE
    assert exports["ok"](store) == 7


def test_loop_spins_until_interrupted() -> None:
    config = wasmtime.Config()
    config.epoch_interruption = True
    engine = wasmtime.Engine(config)
    store, exports = core(LOOP, engine)
    store.set_epoch_deadline(1)
    timer = threading.Timer(0.05, engine.increment_epoch)
    timer.start()
    try:
        with pytest.raises(wasmtime.Trap) as info:
            exports["spin"](store)
    finally:
        timer.cancel()
    assert info.value.trap_code == wasmtime.TrapCode.INTERRUPT


def test_slow() -> None:
    store, exports = core(SLOW)
    assert [exports["work"](store, n) for n in (0, 1, 50)] == [0, 1, 50]


def test_grow() -> None:
    store, exports = core(GROW)
    assert exports["grow"](store, 1) == 1  # old size: the initial page
    assert exports["grow"](store, 2) == 2
    assert exports["grow"](store, 0) == 4
    assert exports["grow"](store, 70_000) == -1  # over the 4 GiB wasm32 limit


def test_counter_keeps_state() -> None:
    store, exports = core(COUNTER)
    assert [exports["incr"](store) for _ in range(3)] == [1, 2, 3]


def test_echo_wasi(tmp_path: Path) -> None:
    stdin = bytes(range(256)) * 1000  # several 64 KiB reads
    assert run_command(ECHO_WASI, stdin, tmp_path) == (0, stdin)
    assert run_command(ECHO_WASI, b"", tmp_path) == (0, b"")


def test_exit_code(tmp_path: Path) -> None:
    assert run_command(EXIT_CODE, b"ignored", tmp_path) == (3, b"bad")
