"""Native (and Python) host plug-ins through real workers: memory access from C,
errors from C and from Python, kernel blocks, search paths and their precedence,
ABI version mismatch, grants, mocks, options, and a segfault in C that kills only
its worker. The shared libraries are compiled here with ``cc``."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import anyio
import pytest

from orchestra import (
    Config,
    HostFunctionError,
    MissingHostPlugin,
    Orchestra,
    PluginCrashed,
    PluginLoadError,
)
from orchestra.config import HostPluginsSpec, PluginSpec
from orchestra.testing import ADD

from ..conftest import REPO
from ..unit.test_hostplugins_registry import cc_plugin

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)"),
]

CORE_CALLER = r"""
(module
  (import "testmod" "answer" (func $answer (result i32)))
  (import "testmod" "option" (func $option (result i64)))
  (import "testmod" "sum" (func $sum (param i32 i32) (result i64)))
  (import "testmod" "fill" (func $fill (param i32 i32 i32)))
  (import "testmod" "fail" (func $fail (param i32)))
  (import "testmod" "crash" (func $crash))
  (import "testmod" "mix" (func $mix (param f32 f64 i32 i64) (result f64 f32 i32)))
  (import "testmod" "memsize" (func $memsize (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 100) "\01\02\03\04\05")
  (func (export "answer") (result i32) (call $answer))
  (func (export "option") (result i64) (call $option))
  (func (export "sum") (param i32 i32) (result i64) (call $sum (local.get 0) (local.get 1)))
  (func (export "fill_then_load") (param i32 i32 i32) (result i32)
    (call $fill (local.get 0) (local.get 1) (local.get 2))
    (i32.load8_u (i32.add (local.get 0) (i32.sub (local.get 1) (i32.const 1)))))
  (func (export "grow_then_memsize") (result i64)
    (drop (memory.grow (i32.const 1)))
    (call $memsize))
  (func (export "fail") (param i32) (call $fail (local.get 0)))
  (func (export "crash") (call $crash))
  (func (export "mix") (param f32 f64 i32 i64) (result f64 f32 i32)
    (call $mix (local.get 0) (local.get 1) (local.get 2) (local.get 3))))
"""

EXTISM_CALLER = r"""
(module
  (import "extism:host/env" "input_offset" (func $input_offset (result i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "testmod/blocks" "reverse" (func $reverse (param i64) (result i64)))
  (import "testmod" "sum" (func $sum (param i32 i32) (result i64)))
  (memory (export "memory") 1)
  (func (export "reverse") (result i32) (local $h i64)
    (local.set $h (call $reverse (call $input_offset)))
    (call $output_set (local.get $h) (call $length (local.get $h)))
    (i32.const 0)))
"""

ANSWER_ONLY = r"""
(module
  (import "testmod" "answer" (func $answer (result i32)))
  (func (export "answer") (result i32) (call $answer)))
"""

PY_PLUGIN = """
from orchestra.hostplugins import HostModule, i32
PLUGIN_NAME = "pyplug"
m = HostModule("pymod")

@m.function
def half(x: i32) -> i32:
    if x % 2:
        raise ValueError(f"{x} is odd")
    return x // 2
"""


@pytest.fixture(autouse=True)
def _no_env_plugin_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORCHESTRA_PLUGIN_PATH", raising=False)


@pytest.fixture
def plugdir(tmp_path: Path) -> Path:
    cc_plugin(tmp_path / "plugins" / "libtestplug.so")
    return tmp_path / "plugins"


def core(tmp_path: Path, text: str = CORE_CALLER, name: str = "caller", **kw: object) -> PluginSpec:
    path = tmp_path / f"{name}.wat"
    path.write_text(text)
    return PluginSpec(source=str(path), **kw)  # type: ignore[arg-type]


def config(
    plugins: dict[str, PluginSpec],
    paths: list[Path],
    options: dict[str, dict[str, str | int | float | bool]] | None = None,
) -> Config:
    return Config(
        plugins=plugins,
        host_plugins=HostPluginsSpec(paths=[str(p) for p in paths], options=options or {}),
    )


async def wait_ready(orch: Orchestra, plugin: str) -> None:
    with anyio.fail_after(15):
        while orch.stats()[plugin]["ready"] < 1:
            await anyio.sleep(0.02)


async def test_c_functions_see_linear_memory_and_report_errors(
    tmp_path: Path, plugdir: Path
) -> None:
    """A C host function reads and writes the caller's linear memory (its size
    follows memory.grow), takes and returns every value type, and a failure it
    reports is HostFunctionError with its message; the instance keeps serving."""
    cfg = config(
        {"c": core(tmp_path, host_modules=["testmod"])},
        [plugdir],
        {"testplug": {"value": 17}},
    )
    async with Orchestra(cfg) as orch:
        assert await orch.call("c", "answer", []) == [42]
        assert await orch.call("c", "option", []) == [17]
        assert await orch.call("c", "sum", [100, 5]) == [15]
        assert await orch.call("c", "fill_then_load", [2000, 300, 7]) == [7]
        assert await orch.call("c", "sum", [2000, 300]) == [2100]
        assert await orch.call("c", "grow_then_memsize", []) == [131072]
        assert await orch.call("c", "mix", [1.5, 2.25, -3, -4]) == [-3.25, 3.25, -1]
        with pytest.raises(HostFunctionError) as info:
            await orch.call("c", "sum", [131000, 100])
        assert info.value.message == (
            "host function testmod.sum failed: sum: [131000, +100) is outside memory of 131072 bytes"
        )
        with pytest.raises(HostFunctionError) as info:
            await orch.call("c", "fail", [9])
        assert str(info.value) == (
            "c.fail instance 0: host function testmod.fail failed: asked to fail with code 9"
        )
        assert await orch.call("c", "answer", []) == [42]
        assert orch.stats()["c"]["restarts"] == 0


async def test_c_functions_use_extism_kernel_blocks(tmp_path: Path, plugdir: Path) -> None:
    """A function flagged ORCHESTRA_FN_KERNEL reads an Extism block and returns a new
    one (growing kernel memory for big ones)."""
    cfg = config(
        {"x": core(tmp_path, EXTISM_CALLER, host_modules=["testmod", "testmod/blocks"])}, [plugdir]
    )
    async with Orchestra(cfg) as orch:
        assert orch.stats()["x"]["abi"] == "extism"
        assert await orch.call("x", "reverse", b"stressed") == b"desserts"
        big = os.urandom(3 << 20)
        assert await orch.call("x", "reverse", big) == big[::-1]
        assert await orch.call("x", "reverse", b"") == b""


async def test_kernel_functions_need_the_extism_abi(tmp_path: Path, plugdir: Path) -> None:
    wat = '(module (import "testmod/blocks" "reverse" (func (param i64) (result i64))))'
    cfg = config({"c": core(tmp_path, wat, host_modules=["testmod/blocks"])}, [plugdir])
    with pytest.raises(PluginLoadError) as info:
        async with Orchestra(cfg):
            pass
    assert info.value.message == (
        "import 'testmod/blocks.reverse' exchanges bytes (Extism blocks), which needs the "
        "extism ABI; this plug-in uses 'core'"
    )


async def test_python_host_function_errors_come_back_typed(tmp_path: Path) -> None:
    (tmp_path / "py").mkdir()
    (tmp_path / "py" / "pyplug.py").write_text(PY_PLUGIN)
    wat = """(module (import "pymod" "half" (func $h (param i32) (result i32)))
      (func (export "half") (param i32) (result i32) (call $h (local.get 0))))"""
    cfg = config({"p": core(tmp_path, wat, host_modules=["pymod"])}, [tmp_path / "py"])
    async with Orchestra(cfg) as orch:
        assert await orch.call("p", "half", [42]) == [21]
        with pytest.raises(HostFunctionError) as info:
            await orch.call("p", "half", [7])
        assert info.value.message == "host function pymod.half raised ValueError: 7 is odd"
        assert await orch.call("p", "half", [8]) == [4]


async def test_each_search_path_and_env_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ORCHESTRA_PLUGIN_PATH (a file or a folder) wins over host_plugins.paths, which
    wins over <sys.prefix>/lib/orchestra/plugins; each alone is found."""
    env_lib = cc_plugin(tmp_path / "env" / "libtestplug.so", VALUE=1)
    cc_plugin(tmp_path / "cfg" / "libtestplug.so", VALUE=2)
    prefix = tmp_path / "prefix"
    cc_plugin(prefix / "lib" / "orchestra" / "plugins" / "libtestplug.so", VALUE=3)
    monkeypatch.setattr(sys, "prefix", str(prefix))  # read by the supervisor, in this process
    spec = {"a": core(tmp_path, ANSWER_ONLY, host_modules=["testmod"])}

    async def answer(paths: list[Path], env: str | None) -> int:
        if env is None:
            monkeypatch.delenv("ORCHESTRA_PLUGIN_PATH", raising=False)
        else:
            monkeypatch.setenv("ORCHESTRA_PLUGIN_PATH", env)
        async with Orchestra(config(spec, paths)) as orch:
            result = await orch.call("a", "answer", [])
            assert isinstance(result, list)
            return int(result[0])

    assert await answer([tmp_path / "cfg"], str(env_lib)) == 1
    assert (
        await answer([tmp_path / "cfg"], os.pathsep.join(["/nonexistent", str(env_lib.parent)]))
        == 1
    )
    assert await answer([tmp_path / "cfg"], None) == 2
    assert await answer([], None) == 3


async def test_another_abi_version_fails_at_start_naming_the_file(tmp_path: Path) -> None:
    lib = cc_plugin(tmp_path / "old" / "libtestplug.so", ABI=2)
    cfg = config({"a": core(tmp_path, ANSWER_ONLY, host_modules=["testmod"])}, [lib.parent])
    with pytest.raises(PluginLoadError) as info:
        async with Orchestra(cfg):
            pass
    assert info.value.message == (
        "import 'testmod.answer': no usable host plug-in provides module 'testmod'; failed "
        f"to load: {lib}: built for host plug-in ABI version 2; this Orchestra speaks "
        "version 1 (rebuild it against the header in `orchestra plugins --include-dir`)"
    )


async def test_an_import_that_is_not_granted_names_the_line_to_add(
    tmp_path: Path, plugdir: Path
) -> None:
    cfg = config({"a": core(tmp_path, ANSWER_ONLY)}, [plugdir])
    with pytest.raises(PluginLoadError) as info:
        async with Orchestra(cfg):
            pass
    assert info.value.message == (
        "import 'testmod.answer' is not provided; grant a host module (host_modules: "
        '[testmod]) or route it (imports: {"testmod.answer": other_plugin.export})'
    )


async def test_a_known_module_whose_plugin_is_missing_is_mocked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plug-in loads; calling the mocked function fails with MissingHostPlugin
    naming the function, the plug-in and every path searched, in order."""
    monkeypatch.setenv("ORCHESTRA_PLUGIN_PATH", str(tmp_path / "env"))
    wat = """(module (import "orchestra_kv" "count" (func $c (result i64)))
      (func (export "count") (result i64) (call $c))
      (func (export "one") (result i32) (i32.const 1)))"""
    cfg = config({"m": core(tmp_path, wat, host_modules=["orchestra_kv"])}, [tmp_path / "cfg"])
    default = Path(sys.prefix) / "lib" / "orchestra" / "plugins"
    async with Orchestra(cfg) as orch:
        assert await orch.call("m", "one", []) == [1]
        with pytest.raises(MissingHostPlugin) as info:
            await orch.call("m", "count", [])
    assert info.value.message == (
        "host function orchestra_kv.count is mocked: host plug-in 'orchestra_kv' (providing "
        f"module 'orchestra_kv') is not installed (searched: {tmp_path / 'env'}, "
        f"{tmp_path / 'cfg'}, {default})"
    )


async def test_a_segfault_in_c_kills_only_its_worker(tmp_path: Path, plugdir: Path) -> None:
    """The call gets PluginCrashed, the worker is restarted and serves again; another
    plug-in keeps its worker."""
    add = tmp_path / "add.wat"
    add.write_text(ADD)
    cfg = config(
        {
            "c": core(tmp_path, host_modules=["testmod"]),
            "add": PluginSpec(source=str(add)),
        },
        [plugdir],
    )
    async with Orchestra(cfg) as orch:
        add_pid = orch.stats()["add"]["pids"][0]
        with pytest.raises(PluginCrashed, match=r"killed by signal SIGSEGV"):
            await orch.call("c", "crash", [])
        await wait_ready(orch, "c")
        assert await orch.call("c", "answer", []) == [42]
        assert orch.stats()["c"]["restarts"] == 1
        assert orch.stats()["add"]["pids"] == [add_pid]
        assert await orch.call("add", "add", [1, 2]) == [3]


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")
async def test_workers_load_only_granted_plugins_and_the_supervisor_none(
    tmp_path: Path,
) -> None:
    d = tmp_path / "plugins"
    mine = cc_plugin(d / "libtestplug.so")
    other = cc_plugin(d / "libother.so", NAME="other", MODULE="othermod")
    crashy = cc_plugin(d / "libcrashy.so", NAME="crashy", MODULE="crashmod", INIT_CRASH=True)
    cfg = config({"a": core(tmp_path, ANSWER_ONLY, host_modules=["testmod"])}, [d])
    async with Orchestra(cfg) as orch:
        assert await orch.call("a", "answer", []) == [42]
        worker = _maps(orch.stats()["a"]["pids"][0])
        assert str(mine) in worker
        assert str(other) not in worker and str(crashy) not in worker
        here = _maps(os.getpid())
        assert not any(str(lib) in here for lib in (mine, other, crashy))


def test_preflight_checks_host_functions_without_loading_them(tmp_path: Path) -> None:
    """orchestra validate's checks read a native plug-in's declared signatures from
    the probe: a wrong type, a missing function and a kernel function for a core
    plug-in are errors at the grant, and the library is never mapped here."""
    from orchestra.preflight import check_config

    d = tmp_path / "plugins"
    lib = cc_plugin(d / "libtestplug.so")
    wat = """(module
      (import "testmod" "answer" (func (result i64)))
      (import "testmod" "nosuch" (func))
      (import "testmod/blocks" "reverse" (func (param i64) (result i64))))"""
    spec = core(tmp_path, wat, host_modules=["testmod", "testmod/blocks"])
    errors = check_config(config({"c": spec}, [d]), cache_dir=tmp_path / "cache")
    assert [str(e) for e in errors] == [
        "plugins.c.host_modules[0]: import 'testmod.answer' has type () -> (i64) but the "
        "host function declares () -> (i32)",
        "plugins.c.host_modules[0]: import 'testmod.nosuch': host module 'testmod' has no "
        "function 'nosuch' (it has: answer, crash, fail, fill, memsize, mix, option, sum)",
        "plugins.c.host_modules[1]: import 'testmod/blocks.reverse' exchanges bytes (Extism "
        "blocks), which needs the extism ABI; this plug-in uses 'core'",
    ]
    assert str(lib) not in _maps(os.getpid())
    good = core(tmp_path, ANSWER_ONLY, "good", host_modules=["testmod"])
    assert check_config(config({"g": good}, [d]), cache_dir=tmp_path / "cache") == []


async def test_init_and_fini_run_in_the_probe_and_in_the_worker(tmp_path: Path) -> None:
    """Discovery runs init/fini once in the probe; the worker runs init before its
    first call and fini when it shuts down."""
    marker = tmp_path / "marker"
    lib = cc_plugin(tmp_path / "p" / "libtestplug.so", MARKER=str(marker))
    cfg = config({"a": core(tmp_path, ANSWER_ONLY, host_modules=["testmod"])}, [lib.parent])
    async with Orchestra(cfg) as orch:
        assert await orch.call("a", "answer", []) == [42]
        assert marker.read_text().split() == ["init", "fini", "init"]
    assert marker.read_text().split() == ["init", "fini", "init", "fini"]


async def test_a_granted_plugin_whose_init_fails_is_a_load_error(tmp_path: Path) -> None:
    crashy = cc_plugin(tmp_path / "p" / "libcrashy.so", INIT_CRASH=True)
    cfg = config({"a": core(tmp_path, ANSWER_ONLY, host_modules=["testmod"])}, [crashy.parent])
    with pytest.raises(PluginLoadError) as info:
        async with Orchestra(cfg):
            pass
    assert info.value.message == (
        "import 'testmod.answer': no usable host plug-in provides module 'testmod'; failed "
        f"to load: {crashy}: it crashed the probe process (signal SIGSEGV) in init"
    )


def orchestra_cli(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestra", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        timeout=120,
    )


def test_cli_plugins_and_inspect(tmp_path: Path, plugdir: Path) -> None:
    """`orchestra plugins` lists what --path finds; --include-dir prints the header's
    folder, which is enough to build a plug-in; `orchestra inspect` says which
    imports a plug-in provides and which would be mocked."""
    header_dir = orchestra_cli("plugins", "--include-dir").stdout.strip()
    assert (Path(header_dir) / "orchestra_hostplugin.h").is_file()
    proc = orchestra_cli("plugins", "--path", str(plugdir))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "KIND", "MODULES", "FILE"]
    assert lines[1].split() == [
        "testplug",
        "1.2.3",
        "native",
        "testmod,",
        "testmod/blocks",
        str(plugdir / "libtestplug.so"),
    ]
    assert "  testmod.sum (i32, i32) -> (i64)" in lines

    wat = tmp_path / "two.wat"
    wat.write_text(
        '(module (import "testmod" "answer" (func (result i32)))'
        ' (import "orchestra_kv" "count" (func (result i64))))'
    )
    proc = orchestra_cli("inspect", str(wat), env={"ORCHESTRA_PLUGIN_PATH": str(plugdir)})
    assert proc.returncode == 0, proc.stderr
    assert (
        "  testmod.answer: func () -> (i32)  <- host plug-in testplug 1.2.3 "
        f"({plugdir / 'libtestplug.so'}) once granted (host_modules: [testmod])"
    ) in proc.stdout.splitlines()
    assert (
        "  orchestra_kv.count: func () -> (i64)  <- mocked once granted (host_modules: "
        "[orchestra_kv]): host plug-in 'orchestra_kv' is not installed (searched: "
        f"{plugdir}, {Path(sys.prefix) / 'lib' / 'orchestra' / 'plugins'}); a call fails "
        "with MissingHostPlugin"
    ) in proc.stdout.splitlines()


def _build_script() -> object:
    spec = importlib.util.spec_from_file_location("examples_build", REPO / "examples" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_example_config_runs(tmp_path: Path) -> None:
    """examples/hostplugins (two C plug-ins built with cc, one Python plug-in) serve
    examples/plugins/hostdemo/hostdemo.c through config/hostplugins.yaml; the key-value
    store's file outlives the run."""
    pytest.importorskip("ziglang")
    build = _build_script()
    native = build.build_hostplugins(tmp_path / "build", log=None)  # type: ignore[attr-defined]
    assert sorted(native) == ["kv", "zhash"]
    wasm = build.build_hostdemo(tmp_path / "build", log=None)["hostdemo"]  # type: ignore[attr-defined]
    text = (REPO / "config" / "hostplugins.yaml").read_text()
    kv = tmp_path / "demo.kv"
    text = (
        text.replace("../examples/build/hostplugins", str(tmp_path / "build" / "hostplugins"))
        .replace("../examples/hostplugins", str(REPO / "examples" / "hostplugins"))
        .replace("../examples/build/hostdemo/hostdemo.wasm", str(wasm))
        .replace("/tmp/orchestra-hostplugins-demo.kv", str(kv))
        .replace(
            "data/hostplugins-input.txt", str(REPO / "config" / "data" / "hostplugins-input.txt")
        )
    )
    cfg = tmp_path / "hostplugins.yaml"
    cfg.write_text(text)
    proc = orchestra_cli("validate", str(cfg))  # the host plug-ins are probed, not loaded
    assert proc.returncode == 0, proc.stderr
    proc = orchestra_cli("run", str(cfg))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "the quick brown fox [crc32=91c102ca seen=1 words=3]",
        "jumps over the lazy dog [crc32=18786794 seen=1 words=4]",
        "the quick brown fox [crc32=91c102ca seen=2 words=3]",
        "a host plug-in in C and one in Python [crc32=5cfda579 seen=1 words=8]",
        "the quick brown fox [crc32=91c102ca seen=3 words=3]",
    ]
    proc = orchestra_cli("run", str(cfg))
    assert proc.stdout.splitlines()[0] == "the quick brown fox [crc32=91c102ca seen=4 words=3]"
    cmd = [sys.executable, "-m", "orchestra", "call", "-c", str(cfg), "hostdemo", "compress"]
    compressed = subprocess.run(
        [*cmd, "--input", "a" * 1000],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
        check=True,
    )
    assert zlib.decompress(compressed.stdout) == b"a" * 1000
