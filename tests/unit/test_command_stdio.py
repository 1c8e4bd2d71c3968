"""wasi-command stdin and stdout served from memory (``runtime/_memstdio.py``): the same
bytes, errors and isolation as WASI's files, without a file per plug-in."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestra.config import Duration, Limits, PluginSpec, WasiSpec
from orchestra.errors import CallError, PluginError, PluginTimeout, PluginTrap
from orchestra.runtime import PluginInstance
from orchestra.runtime._fastcall import StartCaller
from orchestra.testing import ECHO_WASI, EXIT_CODE

WatFile = Callable[[str, str], Path]

_IMPORTS = """
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
"""

# Writes two digits: its mutable global and a byte of its memory as it found them,
# then sets both to 1. A call that saw an earlier call's state would print "11".
STATEFUL = f"""(module {_IMPORTS}
  (memory (export "memory") 1)
  (global $seen (mut i32) (i32.const 0))
  (func (export "_start")
    (i32.store8 (i32.const 100) (i32.add (i32.const 48) (global.get $seen)))
    (i32.store8 (i32.const 101) (i32.add (i32.const 48) (i32.load8_u (i32.const 2048))))
    (global.set $seen (i32.const 1))
    (i32.store8 (i32.const 2048) (i32.const 1))
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 2))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""

# One fd_read into two iovecs of 3 bytes, echoed with one fd_write of two iovecs; then
# the errnos of: the byte count read, fd_read on fd 5, fd_write on fd 0 (stdin), and
# fd_read with its iovec array past the end of memory, each as '0' + value.
PROBE = f"""(module {_IMPORTS}
  (memory (export "memory") 1)
  (func $iovs
    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 3))
    (i32.store (i32.const 8) (i32.const 200)) (i32.store (i32.const 12) (i32.const 3)))
  (func $digit (param $at i32) (param $v i32)
    (i32.store8 (local.get $at) (i32.add (i32.const 48) (local.get $v))))
  (func (export "_start")
    (call $iovs)
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 16)))
    (call $digit (i32.const 300) (i32.load (i32.const 16)))
    (call $digit (i32.const 301)
      (call $fd_read (i32.const 5) (i32.const 0) (i32.const 2) (i32.const 16)))
    (call $digit (i32.const 302)
      (call $fd_write (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 16)))
    (call $digit (i32.const 303)
      (call $fd_read (i32.const 0) (i32.const 65532) (i32.const 1) (i32.const 16)))
    (call $iovs)
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 16)))
    (i32.store (i32.const 0) (i32.const 300)) (i32.store (i32.const 4) (i32.const 4))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))
"""


def make(src: Path, **kw: object) -> PluginInstance:
    return PluginInstance(PluginSpec(source=str(src), **kw), plugin="p")  # type: ignore[arg-type]


def _stdin_files() -> list[str]:
    return [
        target
        for fd in os.listdir("/proc/self/fd")
        if "orchestra-stdin" in (target := _readlink(f"/proc/self/fd/{fd}"))
    ]


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def test_a_command_sees_no_state_of_its_previous_call(wat_file: WatFile) -> None:
    inst = make(wat_file("stateful", STATEFUL))
    assert [inst.call("_start", b"")[0] for _ in range(3)] == [b"00"] * 3


def test_stdin_and_stdout_from_memory_without_a_file(wat_file: WatFile) -> None:
    """A command granted no directories reads its input from memory: no stdin file
    is opened, and iovecs, short input, bad descriptors and bad addresses behave."""
    before = _stdin_files()
    inst = make(wat_file("probe", PROBE))
    assert _stdin_files() == before
    # 6 bytes read into two iovecs; EBADF (8) for fd 5 and for writing stdin; EFAULT
    # (21, '0' + 21 == 'E') for an iovec array past the memory.
    assert inst.call("_start", b"abcdefgh")[0] == b"abcdef" + b"688E"
    assert inst.call("_start", b"xy")[0] == b"xy\x00\x00\x00\x00" + b"288E"
    echo = make(wat_file("echo", ECHO_WASI))
    big = os.urandom(300_000)
    assert echo.call("_start", big)[0] == big
    assert echo.call("_start", b"")[0] == b""
    assert _stdin_files() == before


def test_exit_code_and_granted_paths_still_wasi(wat_file: WatFile, tmp_path: Path) -> None:
    """proc_exit's code still fails the call with the output so far; a command granted
    a directory keeps WASI's own stdin (a file) and gets the same bytes."""
    with pytest.raises(PluginError, match="exited with code 3: bad"):
        make(wat_file("exit", EXIT_CODE)).call("_start", b"")
    granted = make(wat_file("echo", ECHO_WASI), wasi=WasiSpec(allowed_paths={str(tmp_path): "/d"}))
    assert granted.call("_start", b"hello")[0] == b"hello"


# _start traps on input "trap", spins on input "spin", else writes "ok".
MOODY = f"""(module {_IMPORTS}
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 8))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (i32.eq (i32.load8_u (i32.const 100)) (i32.const 116)) (then unreachable))
    (if (i32.eq (i32.load8_u (i32.const 100)) (i32.const 115))
      (then (loop $forever (br $forever))))
    (i32.store16 (i32.const 100) (i32.const 0x6b6f))
    (i32.store (i32.const 4) (i32.const 2))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""


def test_trap_and_timeout_in_a_command_then_a_clean_call(wat_file: WatFile) -> None:
    """``_start`` entered through the lean path: a trap and a timeout come out typed,
    and the next call runs in a fresh instance."""
    inst = make(wat_file("moody", MOODY), limits=Limits(timeout=Duration(0.3)))
    assert StartCaller.fits(inst.module, "_start")
    with pytest.raises(PluginTrap):
        inst.call("_start", b"trap")
    assert inst.call("_start", b"x")[0] == b"ok"
    with pytest.raises(PluginTimeout):
        inst.call("_start", b"spin")
    assert inst.call("_start", b"x")[0] == b"ok"


def test_a_start_of_another_type_is_not_entered_unchecked(wat_file: WatFile) -> None:
    """The unchecked call trusts the type: only ``() -> ()`` qualifies."""
    src = wat_file(
        "typed", '(module (func (export "_start") (param i32)) (memory (export "memory") 1))'
    )
    inst = make(src, abi="wasi-command")
    assert not StartCaller.fits(inst.module, "_start")
    with pytest.raises(CallError):
        inst.call("_start", b"")
