"""WasmEdge C-API plug-ins, unchanged, in real workers: a string written into the
caller's memory, arithmetic on every value type, error results as typed
HostFunctionErrors with their code, "terminate", options, data pointers, a
segfault that kills only its worker, grants; through the Python API, the CLI and a
pipeline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestra import HostFunctionError, MissingHostPlugin, Orchestra, PluginCrashed
from orchestra.config import Config, PipelineSpec, PluginSpec, Stage
from orchestra.errors import PluginLoadError
from orchestra.testing import ADD

from ..unit.test_wasmedge_compat import INSTANCES_PLUGIN, cc_wasmedge_plugin
from .test_hostplugins import _build_script, config, core, wait_ready

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)"),
]

GUEST = r"""
(module
  (import "wetest" "greet" (func $greet (param i32 i32) (result i32)))
  (import "wetest" "arith" (func $arith (param i32 i64 f32 f64) (result i32 i64 f32 f64)))
  (import "wetest" "sum" (func $sum (param i32 i32) (result i32)))
  (import "wetest" "fail" (func $fail (param i32)))
  (import "wetest" "terminate" (func $terminate (result i32)))
  (import "wetest" "count" (func $count (result i64)))
  (import "wetest" "crash" (func $crash))
  (memory (export "memory") 1)
  (data (i32.const 100) "\01\02\03\04\05")
  (global $after (mut i32) (i32.const 0))
  ;; greet into [1000, 1000+cap), then the sum of the bytes written and their count
  (func (export "greet") (param $cap i32) (result i32 i32) (local $n i32)
    (local.set $n (call $greet (i32.const 1000) (local.get $cap)))
    (call $sum (i32.const 1000) (local.get $n))
    (local.get $n))
  (func (export "greet_at") (param i32 i32) (result i32) (call $greet (local.get 0) (local.get 1)))
  (func (export "arith") (param i32 i64 f32 f64) (result i32 i64 f32 f64)
    (call $arith (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "sum") (param i32 i32) (result i32) (call $sum (local.get 0) (local.get 1)))
  (func (export "fail") (param i32) (call $fail (local.get 0)))
  (func (export "terminate") (result i32)
    (drop (call $terminate))
    (global.set $after (i32.const 1))
    (i32.const 7))
  (func (export "after") (result i32) (global.get $after))
  (func (export "count") (result i64) (call $count))
  (func (export "crash") (call $crash)))
"""


def _sum(text: str) -> int:
    return sum(text.encode())


@pytest.fixture(autouse=True)
def _no_env_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORCHESTRA_PLUGIN_PATH", raising=False)
    monkeypatch.delenv("WASMEDGE_PLUGIN_PATH", raising=False)


@pytest.fixture(params=[True, False], ids=["linked", "unlinked"])
def wedir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    cc_wasmedge_plugin(tmp_path / "plugins" / "libwetest.so", link=request.param)
    return tmp_path / "plugins"


async def test_host_functions_run_with_the_callers_memory_and_typed_errors(
    tmp_path: Path, wedir: Path
) -> None:
    cfg = config(
        {"g": core(tmp_path, GUEST, host_modules=["wetest"])},
        [wedir],
        {"wetest": {"greeting": "hello wasm", "scale": 10, "loud": True}},
    )
    async with Orchestra(cfg) as orch:
        assert await orch.call("g", "greet", [64]) == [_sum("HELLO WASM"), 10]
        assert await orch.call("g", "greet", [5]) == [_sum("HELLO"), 5]
        assert await orch.call("g", "sum", [100, 5]) == [15]
        assert await orch.call("g", "arith", [-4, -(2**40), 1.25, -2.5]) == [
            -40,
            -(2**41),
            1.75,
            -5.0,
        ]
        assert await orch.call("g", "count", []) == [1]
        assert await orch.call("g", "count", []) == [2]
        with pytest.raises(HostFunctionError) as info:
            await orch.call("g", "fail", [42])
        assert info.value.message == (
            "host function wetest.fail failed: WasmEdge result 0x0100002a "
            "(user-level category, code 42: user defined error code)"
        )
        with pytest.raises(HostFunctionError, match=r"code 77"):
            await orch.call("g", "greet_at", [65530, 64])  # out of the caller's memory
        with pytest.raises(HostFunctionError) as info:
            await orch.call("g", "terminate", [])
        assert "returned WasmEdge_Result_Terminate: the wasm call ends there" in info.value.message
        assert await orch.call("g", "after", []) == [0]  # nothing after the host call ran
        assert await orch.call("g", "count", []) == [3]
        assert orch.stats()["g"]["restarts"] == 0


async def test_option_defaults_apply_without_options(tmp_path: Path, wedir: Path) -> None:
    cfg = config({"g": core(tmp_path, GUEST, host_modules=["wetest"])}, [wedir])
    async with Orchestra(cfg) as orch:
        assert await orch.call("g", "greet", [64]) == [_sum("hello"), 5]
        assert (await orch.call("g", "arith", [2, 0, 0.0, 0.0]))[0] == 6


async def test_a_segfault_kills_only_its_worker(tmp_path: Path, wedir: Path) -> None:
    add = tmp_path / "add.wat"
    add.write_text(ADD)
    cfg = config(
        {
            "g": core(tmp_path, GUEST, host_modules=["wetest"]),
            "add": core(tmp_path, ADD, name="add"),
        },
        [wedir],
    )
    async with Orchestra(cfg) as orch:
        add_pid = orch.stats()["add"]["pids"][0]
        with pytest.raises(PluginCrashed, match=r"killed by signal SIGSEGV"):
            await orch.call("g", "crash", [])
        await wait_ready(orch, "g")
        assert await orch.call("g", "count", []) == [1]  # a new worker, a new create
        assert orch.stats()["g"]["restarts"] == 1
        assert orch.stats()["add"]["pids"] == [add_pid]


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")
async def test_only_granted_workers_load_it_and_never_the_supervisor(
    tmp_path: Path, wedir: Path
) -> None:
    plugin = str(wedir / "libwetest.so")
    cfg = config(
        {
            "g": core(tmp_path, GUEST, host_modules=["wetest"]),
            "add": core(tmp_path, ADD, name="add"),
        },
        [wedir],
    )
    async with Orchestra(cfg) as orch:
        assert await orch.call("g", "count", []) == [1]
        assert plugin in Path(f"/proc/{orch.stats()['g']['pids'][0]}/maps").read_text()
        assert plugin not in Path(f"/proc/{orch.stats()['add']['pids'][0]}/maps").read_text()
        here = Path("/proc/self/maps").read_text()
        assert plugin not in here and "libwasmedge.so.0" not in here


async def test_an_ungranted_module_is_refused(tmp_path: Path, wedir: Path) -> None:
    cfg = config({"g": core(tmp_path, GUEST)}, [wedir])
    with pytest.raises(PluginLoadError, match=r"grant a host module \(host_modules: \[wetest\]\)"):
        async with Orchestra(cfg):
            pass


async def test_found_through_wasmedge_plugin_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WASMEDGE_PLUGIN_PATH entries are files or folders, as in WasmEdge."""
    plugin = cc_wasmedge_plugin(tmp_path / "elsewhere" / "libwetest.so")
    monkeypatch.setenv("WASMEDGE_PLUGIN_PATH", str(plugin))
    cfg = config({"g": core(tmp_path, GUEST, host_modules=["wetest"])}, [])
    async with Orchestra(cfg) as orch:
        assert await orch.call("g", "sum", [100, 3]) == [6]


C_GUEST = r"""
#include <stdint.h>
__attribute__((import_module("wetest"), import_name("greet"))) int32_t we_greet(int32_t, int32_t);
__attribute__((import_module("wetest"), import_name("sum"))) int32_t we_sum(int32_t, int32_t);
static char buf[64];
__attribute__((export_name("greet_sum"))) int32_t greet_sum(void) {
  int32_t n = we_greet((int32_t)(uintptr_t)buf, sizeof buf);
  return we_sum((int32_t)(uintptr_t)buf, n) * 100 + n;
}
"""


def _zig_guest(tmp_path: Path, source: str) -> Path:
    pytest.importorskip("ziglang")
    src, wasm = tmp_path / "guest.c", tmp_path / "guest.wasm"
    src.write_text(source)
    zig = [sys.executable, "-m", "ziglang", "cc", "--target=wasm32-freestanding", "-O2"]
    cmd = [*zig, "-nostdlib", "-Wl,--no-entry", "-o", str(wasm), str(src)]
    env = _build_script().zig_env()  # type: ignore[attr-defined]
    subprocess.run(cmd, check=True, capture_output=True, env=env, timeout=300)
    return wasm


async def test_a_c_guest_compiled_by_zig_calls_the_plugin(tmp_path: Path, wedir: Path) -> None:
    wasm = _zig_guest(tmp_path, C_GUEST)
    cfg = config({"c": PluginSpec(source=str(wasm), host_modules=["wetest"])}, [wedir])
    async with Orchestra(cfg) as orch:
        assert await orch.call("c", "greet_sum", []) == [_sum("hello") * 100 + 5]


def orchestra_cli(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestra", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def test_cli_lists_and_runs_a_wasmedge_plugin_in_a_pipeline(tmp_path: Path) -> None:
    """`orchestra plugins` lists name, version, API version, modules and functions;
    a pipeline stage calls a WasmEdge host function that reads the record from the
    caller's memory (an Extism guest)."""
    wedir = tmp_path / "plugins"
    cc_wasmedge_plugin(wedir / "libwetest.so")
    proc = orchestra_cli("plugins", "--path", str(wedir))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1].split() == [
        "wetest",
        "1.4.2",
        "wasmedge",
        "wetest",
        str(wedir / "libwetest.so"),
    ]
    assert "wetest 1.4.2 (wasmedge, plug-in API version 5): a WasmEdge C-API test plug-in" in lines
    assert "  wetest.arith (i32, i64, f32, f64) -> (i32, i64, f32, f64)" in lines
    assert "  option scale: arith's i32 factor (int32) (default: 3)" in lines

    guest = tmp_path / "bytesum.wat"
    guest.write_text(EXTISM_BYTESUM)
    cfg = tmp_path / "pipe.yaml"
    cfg.write_text(
        json.dumps(
            {
                "host_plugins": {"paths": [str(wedir)]},
                "plugins": {"bs": {"source": str(guest), "host_modules": ["wetest"]}},
                "pipelines": {"main": {"stages": [{"plugin": "bs", "export": "run"}]}},
            }
        )
    )
    records = tmp_path / "in.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in ("ab", "xyz")))
    proc = orchestra_cli("run", str(cfg), "--input", str(records), "--output", "-")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(_sum('"ab"')), str(_sum('"xyz"'))]


#: An Extism guest: copies its input to linear memory, sums it with wetest.sum,
#: outputs the sum in decimal.
EXTISM_BYTESUM = r"""
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "wetest" "sum" (func $sum (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i32)
    (local $n i32) (local $i i32) (local $s i32) (local $len i32) (local $h i64)
    (local.set $n (i32.wrap_i64 (call $input_length)))
    (block $done (loop $copy
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.add (i32.const 1024) (local.get $i))
        (call $input_load_u8 (i64.extend_i32_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $copy)))
    (local.set $s (call $sum (i32.const 1024) (local.get $n)))
    ;; decimal digits of $s, backwards from 200
    (local.set $i (i32.const 200))
    (loop $digit
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (local.get $i) (i32.add (i32.const 48) (i32.rem_u (local.get $s) (i32.const 10))))
      (local.set $s (i32.div_u (local.get $s) (i32.const 10)))
      (br_if $digit (local.get $s)))
    (local.set $len (i32.sub (i32.const 200) (local.get $i)))
    (local.set $h (call $alloc (i64.extend_i32_u (local.get $len))))
    (local.set $s (i32.const 0))
    (block $out (loop $put
      (br_if $out (i32.ge_u (local.get $s) (local.get $len)))
      (call $store_u8 (i64.add (local.get $h) (i64.extend_i32_u (local.get $s)))
        (i32.load8_u (i32.add (local.get $i) (local.get $s))))
      (local.set $s (i32.add (local.get $s) (i32.const 1)))
      (br $put)))
    (call $output_set (local.get $h) (i64.extend_i32_u (local.get $len)))
    (i32.const 0)))
"""


async def test_a_missing_wasmedge_plugin_is_mocked_as_wasmedge_does(tmp_path: Path) -> None:
    """Modules WasmEdge mocks instantiate without a grant; wasi_nn's mock answers
    its error code (1), wasmedge_process's traps; each names the plug-in."""
    guest = r"""
    (module
      (import "wasi_ephemeral_nn" "compute" (func $compute (param i32) (result i32)))
      (import "wasmedge_process" "wasmedge_process_run" (func $run (result i32)))
      (import "wasi_ephemeral_crypto_symmetric" "symmetric_key_generate"
        (func $keygen (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "compute") (result i32) (call $compute (i32.const 0)))
      (func (export "keygen") (result i32)
        (call $keygen (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
      (func (export "run") (result i32) (call $run)))
    """
    cfg = config({"m": core(tmp_path, guest)}, [tmp_path])
    async with Orchestra(cfg) as orch:
        assert await orch.call("m", "compute", []) == [1]
        assert await orch.call("m", "compute", []) == [1]
        assert await orch.call("m", "keygen", []) == [1]
        with pytest.raises(MissingHostPlugin) as info:
            await orch.call("m", "run", [])
        assert "WasmEdge-Process plug-in not installed" in info.value.message
        assert str(tmp_path) in info.value.message


async def test_a_mock_with_the_wrong_signature_is_refused(tmp_path: Path) -> None:
    guest = '(module (import "wasi_ephemeral_nn" "compute" (func (param i64) (result i32))))'
    cfg = config({"m": core(tmp_path, guest)}, [tmp_path])
    with pytest.raises(PluginLoadError, match=r"WasmEdge's wasi_ephemeral_nn.compute is \(i32\)"):
        async with Orchestra(cfg):
            pass


INSTANCES_GUEST = r"""
(module
  (import "weinst" "bump" (func $bump (result i64)))
  (import "weinst" "stash" (func $stash (param i32 i32) (result i32)))
  (import "weinst" "grow" (func $grow (result i32)))
  (import "weinst" "shape" (func $shape (result i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\0a\14\1e")
  (func (export "bump") (result i64) (call $bump))
  (func (export "stash") (result i32) (call $stash (i32.const 16) (i32.const 3)))
  (func (export "grow") (result i32) (call $grow))
  (func (export "shape") (result i32 i32 i32) (call $shape)))
"""


async def test_a_modules_tables_memories_and_globals_serve_its_functions(tmp_path: Path) -> None:
    """What create adds besides functions (a global, memories of the 0.16 and 0.17
    limit forms, a table) lives in the worker, for the plug-in's functions."""
    cc_wasmedge_plugin(tmp_path / "plugins" / "libweinst.so", source=INSTANCES_PLUGIN)
    cfg = config(
        {"g": core(tmp_path, INSTANCES_GUEST, host_modules=["weinst"])}, [tmp_path / "plugins"]
    )
    async with Orchestra(cfg) as orch:
        assert await orch.call("g", "bump", []) == [1]
        assert await orch.call("g", "bump", []) == [2]
        assert await orch.call("g", "stash", []) == [60]  # across its own page boundary
        assert await orch.call("g", "grow", []) == [2]
        with pytest.raises(HostFunctionError, match=r"0x00000408 .*out of bounds memory access"):
            await orch.call("g", "grow", [])  # past the memory type's maximum
        assert await orch.call("g", "stash", []) == [60]
        assert await orch.call("g", "shape", []) == [3, 3, 6]


async def test_importing_a_plugins_global_is_refused_naming_it(tmp_path: Path) -> None:
    cc_wasmedge_plugin(tmp_path / "plugins" / "libweinst.so", source=INSTANCES_PLUGIN)
    guest = '(module (import "weinst" "counter" (global i64)))'
    cfg = config({"g": core(tmp_path, guest, host_modules=["weinst"])}, [tmp_path / "plugins"])
    with pytest.raises(PluginLoadError, match=r"import 'weinst.counter' is not a function"):
        async with Orchestra(cfg):
            pass


def test_cli_calls_an_unlinked_plugin_from_wat_and_c_guests(tmp_path: Path) -> None:
    """`orchestra call --host-plugin` with a plug-in linked against nothing (its
    WasmEdge symbols resolved at load from the compatibility library)."""
    plugin = cc_wasmedge_plugin(tmp_path / "plugins" / "libwetest.so", link=False)
    wat = tmp_path / "g.wat"
    wat.write_text(GUEST)
    proc = orchestra_cli(
        "call", str(wat), "arith", "--input", "[3, 5, 0.5, 1.5]", "--host-plugin", str(plugin)
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [9, 10, 1.0, 3.0]
    proc = orchestra_cli("call", str(wat), "fail", "--input", "[9]", "--host-plugin", str(plugin))
    assert proc.returncode == 1
    assert "code 9: user defined error code" in proc.stderr
    wasm = _zig_guest(tmp_path, C_GUEST)
    proc = orchestra_cli(
        "call", str(wasm), "greet_sum", "--input", "[]", "--host-plugin", str(plugin)
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [_sum("hello") * 100 + 5]


#: A C Extism guest: the record's bytes summed by wetest.sum, output in decimal.
C_EXTISM_GUEST = r"""
#include <stdint.h>
#define ENV(name) __attribute__((import_module("extism:host/env"), import_name(name)))
ENV("input_length") uint64_t input_length(void);
ENV("input_load_u8") uint32_t input_load_u8(uint64_t);
ENV("alloc") uint64_t alloc(uint64_t);
ENV("store_u8") void store_u8(uint64_t, uint32_t);
ENV("output_set") void output_set(uint64_t, uint64_t);
__attribute__((import_module("wetest"), import_name("sum"))) int32_t we_sum(int32_t, int32_t);
static uint8_t buf[4096];
__attribute__((export_name("run"))) int32_t run(void) {
  uint64_t n = input_length();
  if (n > sizeof buf) n = sizeof buf;
  for (uint64_t i = 0; i < n; i++) buf[i] = (uint8_t)input_load_u8(i);
  uint32_t s = (uint32_t)we_sum((int32_t)(uintptr_t)buf, (int32_t)n);
  char digits[16];
  int len = 0;
  do { digits[15 - len++] = (char)('0' + s % 10); s /= 10; } while (s);
  uint64_t out = alloc((uint64_t)len);
  for (int i = 0; i < len; i++) store_u8(out + (uint64_t)i, (uint8_t)digits[16 - len + i]);
  output_set(out, (uint64_t)len);
  return 0;
}
"""


@pytest.mark.parametrize("guest", ["wat", "c"])
async def test_a_pipeline_calls_an_unlinked_plugin(
    tmp_path: Path, guest: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pipeline (the Python API) whose stage, a WAT or a C Extism guest, calls a
    plug-in linked against nothing, found through WASMEDGE_PLUGIN_PATH."""
    plugin = cc_wasmedge_plugin(tmp_path / "plugins" / "libwetest.so", link=False)
    if guest == "wat":
        source = tmp_path / "bytesum.wat"
        source.write_text(EXTISM_BYTESUM)
    else:
        source = _zig_guest(tmp_path, C_EXTISM_GUEST)
    monkeypatch.setenv("WASMEDGE_PLUGIN_PATH", str(plugin))
    cfg = Config(
        plugins={"bs": PluginSpec(source=str(source), host_modules=["wetest"])},
        pipelines={"p": PipelineSpec(stages=[Stage(plugin="bs", export="run")])},
    )
    async with Orchestra(cfg) as orch:
        got = [r async for r in orch.run_pipeline("p", [b"ab", b"xyz", b""])]
    assert [r.output for r in got] == [b"195", b"363", b"0"]
