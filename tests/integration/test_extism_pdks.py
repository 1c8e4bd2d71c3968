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

from orchestra import Config, Orchestra, PluginError, PluginLoadError, PluginMemoryLimit
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


def state_module(body: str, *, wasi: bool = False) -> bytes:
    """An Extism plug-in with the state exports above plus ``body``."""
    return bytes(
        wasmtime.wat2wasm(f"(module {_PROC_EXIT if wasi else ''} {_KERNEL} {_STATE} {body})")
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


def sdk_calls(plugin: extism.Plugin, calls: list[str]) -> list[tuple[str, bytes | str]]:
    out: list[tuple[str, bytes | str]] = []
    for export in calls:
        try:
            out.append(("ok", bytes(plugin.call(export, b""))))
        except extism.Error as exc:
            out.append(("error", str(exc)))
    return out


async def orchestra_calls(
    orch: Orchestra, plugin: str, calls: list[str]
) -> list[tuple[str, bytes | str]]:
    out: list[tuple[str, bytes | str]] = []
    for export in calls:
        try:
            result = await orch.call(plugin, export, b"")
            assert isinstance(result, bytes)
            out.append(("ok", result))
        except PluginError as exc:
            out.append(("error", exc.message))
    return out


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
NOT_BUILDABLE_HERE = {
    "rust": "no wasm32 target installed for rustc (rustup target list --installed: "
    "x86_64-unknown-linux-gnu only) and none can be fetched on these machines",
}


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
    cmd += ["-target", "wasm32-freestanding", "-fno-entry", "-rdynamic", "-O", "ReleaseSmall"]
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


_BUILDERS: dict[str, Callable[[Path], Path]] = {
    "c": _build_c,
    "zig": _build_zig,
    "assemblyscript": _build_assemblyscript,
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
    ("logs", b""),
    ("fail", b"x"),
    ("rc", b""),
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


def pdk_calls(language: str, base_url: str) -> list[tuple[str, bytes]]:
    """The suite's calls: PDK_CALLS, HTTP through allowed_hosts to the loopback
    server (200 and 404), a host function, and for C (wasi-libc) a WASI file."""
    calls = [
        *PDK_CALLS,
        ("http_get", f"{base_url}/hello".encode()),
        ("http_get", f"{base_url}/missing".encode()),
        ("host_reverse", b"stressed"),
    ]
    if language == "c":
        calls += [("read_file", b"hello.txt"), ("read_file", b"nosuch.txt")]
    return calls


def pdk_setup(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """The manifest keys (with a WASI directory, as /data) and a host plug-in dir."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "hello.txt").write_bytes(b"a file through WASI\n")
    plugins = tmp_path / "hostplugins"
    plugins.mkdir()
    (plugins / "pdk_user.py").write_text(REVERSE_HOST_PLUGIN)
    return {**PDK_MANIFEST, "allowed_paths": {str(data): "/data"}}, plugins


LOG_LEVELS = ("trace", "debug", "info", "warn", "error")


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


@pytest.mark.parametrize("language", [*_BUILDERS, *NOT_BUILDABLE_HERE])
async def test_pdk_plugin_matches_the_sdk(
    language: str, pdk_plugin: Callable[[str], Path], tmp_path: Path
) -> None:
    """A plug-in written with each PDK language's conventions, built here from
    source: input/output (binary and empty), config, vars across calls, logs at
    every level the PDK has, a set error and a non-zero return, HTTP through
    allowed_hosts to a loopback server, a host function (extism:host/user), and
    for C a WASI file through allowed_paths; Orchestra gives what the SDK gives,
    and logs the lines the SDK logs."""
    if language in NOT_BUILDABLE_HERE:
        pytest.skip(NOT_BUILDABLE_HERE[language])
    import structlog

    from .test_extism_sdk_reference import reference_http_server

    wasm = pdk_plugin(language)
    keys, host_plugins = pdk_setup(tmp_path)
    manifest = tmp_path / "plugin.json"
    manifest.write_text(json.dumps({"wasm": [{"path": str(wasm)}], **keys}))
    # The YAML grants what the manifest asks for; a manifest may only narrow.
    spec = PluginSpec(
        source=str(manifest),
        host_modules=["extism:host/user"],
        allowed_hosts=keys["allowed_hosts"],
        wasi=WasiSpec(allowed_paths=keys["allowed_paths"]) if "allowed_paths" in keys else None,
    )
    config = Config(plugins={"p": spec}, host_plugins=HostPluginsSpec(paths=[str(host_plugins)]))
    with reference_http_server() as base_url:
        calls = pdk_calls(language, base_url)
        sdk, sdk_log = sdk_run(wasm, keys, calls, tmp_path)
        structlog.reset_defaults()
        with structlog.testing.capture_logs() as logs:
            ours = await _orchestra_pdk_calls(config, calls)
    rc_at = [e for e, _ in PDK_CALLS].index("rc")
    # The one difference in words: the SDK says "Error code: 3" (docs/extism.md).
    assert sdk[rc_at] == ("error", "Error code: 3")
    assert ours[rc_at] == ("error", "returned non-zero exit code 3")
    same_outcome(sdk, ours, lambda theirs, mine: theirs == mine or "exit code 3" in mine)
    assert ours[2] == ("ok", b"hi, world") and ours[3:6] == [
        ("ok", b"1"),
        ("ok", b"2"),
        ("ok", b"3"),
    ]
    at = len(PDK_CALLS)
    assert ours[at : at + 3] == [
        ("ok", b"200 hello from http.server"),
        ("ok", b"404 not found: /missing"),
        ("ok", b"desserts"),
    ]
    if language == "c":
        assert ours[at + 3 :] == [
            ("ok", b"a file through WASI\n"),
            ("error", "cannot open /data/nosuch.txt"),
        ]
    prefix = {"c": "c", "zig": "zig", "assemblyscript": "as"}[language]
    expected = [f"{prefix} {level} line" for level in LOG_LEVELS]
    sdk_lines = {line for line in expected if line in sdk_log}
    our_lines = {e["message"] for e in logs if e["event"] == "plugin_log"}
    assert our_lines == sdk_lines, (our_lines, sdk_lines)
    # every level the PDK has (the AssemblyScript PDK has no trace)
    assert our_lines == set(expected[language == "assemblyscript" :])


async def _orchestra_pdk_calls(
    config: Config, calls: list[tuple[str, bytes]]
) -> list[tuple[str, bytes | str]]:
    """The calls, in order, on one Orchestra instance of plug-in ``p``, at trace."""
    ours: list[tuple[str, bytes | str]] = []
    async with Orchestra(config, log_level="trace") as orch:
        for export, data in calls:
            try:
                result = await orch.call("p", export, data)
                assert isinstance(result, bytes)
                ours.append(("ok", result))
            except PluginError as exc:
                ours.append(("error", exc.message))
    return ours


async def test_pdk_plugin_under_concurrency(pdk_plugin: Callable[[str], Path]) -> None:
    """4 instances, 2,000 concurrent calls through the Python API: every call gives
    what one SDK plug-in per instance gives sequentially. echo and greet are
    stateless; count's var is per instance, so its answers are, per instance, 1, 2,
    3, ...: the multiset of answers is 4 such runs at most."""
    from collections import Counter

    wasm = pdk_plugin("c")
    sdk = sdk_plugin(wasm.read_bytes(), functions=["reverse"], **PDK_MANIFEST)
    n = 2000
    calls = [
        ("echo", f"record {i}".encode())
        if i % 3 == 0
        else ("greet", f"n{i}".encode())
        if i % 3 == 1
        else ("count", b"")
        for i in range(n)
    ]
    expected = [bytes(sdk.call(e, d)) if e != "count" else None for e, d in calls]
    spec = PluginSpec(
        source=str(wasm),
        config=PDK_MANIFEST["config"],
        instances=4,
        host_modules=["extism:host/user"],  # not called here: mocked is enough
    )
    results: list[bytes | None] = [None] * n
    async with Orchestra(Config(plugins={"p": spec})) as orch:

        async def one(i: int) -> None:
            out = await orch.call("p", *calls[i])
            assert isinstance(out, bytes)
            results[i] = out

        with anyio.fail_after(300):
            async with anyio.create_task_group() as tg:
                for i in range(n):
                    tg.start_soon(one, i)
    for i, (export, _) in enumerate(calls):
        if export != "count":
            assert results[i] == expected[i], (i, results[i], expected[i])
    counts = Counter(
        int(out or b"0") for (e, _), out in zip(calls, results, strict=True) if e == "count"
    )
    runs = counts[1]
    assert 1 <= runs <= 4
    assert all(counts[v] >= counts[v + 1] for v in counts), counts  # runs of 1..k each
    assert sum(counts.values()) == sum(1 for e, _ in calls if e == "count")
