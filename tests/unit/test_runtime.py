"""The worker-side runtime, in-process (no worker processes): ABIs, limits, cache,
and the lean call path pinned to the wasmtime version."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

from orchestra.config import Limits, PluginSpec, Size, WasiSpec
from orchestra.errors import CallError, PluginLoadError, PluginTimeout, PluginTrap
from orchestra.runtime import FastFunc, PluginInstance
from orchestra.testing import ADD, COUNTER, ECHO_WASI, FORWARD, GROW, LOOP, TRAP

WatFile = Callable[[str, str], Path]


def make(src: Path, **kw: object) -> PluginInstance:
    return PluginInstance(PluginSpec(source=str(src), **kw), plugin="p")  # type: ignore[arg-type]


def test_wasmtime_version_is_the_pinned_one() -> None:
    """The lean path uses wasmtime-py's private bindings; an upgrade must be deliberate."""
    from importlib.metadata import version

    from orchestra.runtime._engine import WASMTIME_VERSION

    assert version("wasmtime") == WASMTIME_VERSION


def test_own_prototypes_match_the_bindings_they_stand_for() -> None:
    """The lean path declares its own ctypes prototypes for some C functions (plain
    addresses instead of pointer objects); each must take as many arguments, of the
    same widths, as wasmtime-py's binding of the same function."""
    import ctypes

    from wasmtime import _bindings as ffi

    from orchestra.runtime import _fastcall

    for ours, theirs in (
        (_fastcall._call_unchecked, ffi._wasmtime_func_call_unchecked),
        (_fastcall._set_epoch_deadline, ffi._wasmtime_context_set_epoch_deadline),
        (_fastcall._instance_export_get, ffi._wasmtime_instance_export_get),
    ):
        assert len(ours.argtypes) == len(theirs.argtypes)
        for a, b in zip(ours.argtypes, theirs.argtypes, strict=True):
            assert ctypes.sizeof(a) == ctypes.sizeof(b)
        assert ctypes.sizeof(ours.restype or ctypes.c_int) == ctypes.sizeof(
            theirs.restype or ctypes.c_int
        )


def test_fastcall_matches_public_call() -> None:
    """The unchecked call path gives the same results as Func.__call__ for every value type."""
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(
        engine,
        """(module
      (func (export "i") (param i32 i64) (result i64) local.get 1 local.get 0 i64.extend_i32_s i64.add)
      (func (export "f") (param f32 f64) (result f64) local.get 1 local.get 0 f64.promote_f32 f64.mul)
      (func (export "multi") (result i32 i32) i32.const -1 i32.const 2))""",
    )
    inst = wasmtime.Instance(store, module, [])
    ex = inst.exports(store)
    for name, args in (("i", [-5, 2**40]), ("f", [1.5, -2.0]), ("multi", [])):
        func = ex[name]
        assert isinstance(func, wasmtime.Func)
        public = func(store, *args)
        lean = FastFunc(store, func, name).call(args)
        assert lean == (public if isinstance(public, list) else [public])


def test_fastcall_surfaces_python_host_exceptions() -> None:
    """A Python host function's exception comes back as itself, not a generic trap."""
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)

    def host() -> None:
        raise KeyError("from host")

    linker.define_func("env", "host", wasmtime.FuncType([], []), host)
    module = wasmtime.Module(
        engine, '(module (import "env" "host" (func $h)) (func (export "go") call $h))'
    )
    inst = linker.instantiate(store, module)
    go = inst.exports(store)["go"]
    assert isinstance(go, wasmtime.Func)
    from orchestra.runtime._fastcall import WasmFailure

    with pytest.raises(WasmFailure) as info:
        FastFunc(store, go, "go").call([])
    assert isinstance(info.value.error, KeyError)


def test_core_call_and_wrong_arity(wat_file: WatFile) -> None:
    inst = make(wat_file("add", ADD))
    assert inst.abi_name == "core"
    assert inst.call("add", args=[2, 40]) == (b"", [42])
    with pytest.raises(CallError, match=r"add takes 2 argument\(s\) \(i32, i32\), got 1"):
        inst.call("add", args=[1])
    with pytest.raises(CallError, match="no exported function 'nope'; exports: add"):
        inst.call("nope", args=[])


def test_trap_resets_the_store(wat_file: WatFile) -> None:
    """After a trap the instance is fresh: state does not survive it."""
    inst = make(wat_file("counter", COUNTER))
    assert inst.call("incr")[1] == [1]
    assert inst.call("incr")[1] == [2]
    inst2 = make(wat_file("trap", TRAP))
    with pytest.raises(PluginTrap) as info:
        inst2.call("boom")
    assert info.value.trap_code == "unreachable" and inst2.resets == 1


def test_timeout_by_epoch(wat_file: WatFile) -> None:
    inst = make(wat_file("loop", LOOP), limits=Limits(timeout=0.05))  # type: ignore[arg-type]
    with pytest.raises(PluginTimeout):
        inst.call("spin")
    assert inst.resets == 1


def test_epoch_ticker_idles_between_calls_and_wakes_for_the_next(wat_file: WatFile) -> None:
    """The ticker stops ticking once no call runs (an idle worker costs no CPU) and a
    call after an idle spell is still interrupted at its deadline."""
    import time

    inst = make(wat_file("loop", LOOP), limits=Limits(timeout=0.05))  # type: ignore[arg-type]
    ticker = inst._ticker
    try:
        for _ in range(3):
            with pytest.raises(PluginTimeout):
                inst.call("spin")
            deadline = time.monotonic() + 2
            while ticker._busy.is_set() and time.monotonic() < deadline:
                time.sleep(0.002)
            assert not ticker._busy.is_set(), "the ticker kept running with no call"
        assert inst.resets == 3
    finally:
        inst.close()


def test_memory_limit_fails_growth(wat_file: WatFile) -> None:
    """memory.grow past limits.memory returns -1 (the plug-in sees an allocation failure)."""
    inst = make(wat_file("grow", GROW), limits=Limits(memory=Size(4 * 65536)))
    assert inst.call("grow", args=[2])[1] == [1]
    assert inst.call("grow", args=[2])[1] == [-1]


def test_wasi_command_and_granted_paths(wat_file: WatFile, tmp_path: Path) -> None:
    inst = make(wat_file("echo", ECHO_WASI))
    assert inst.abi_name == "wasi-command"
    assert inst.call("_start", b"x" * 100_000)[0] == b"x" * 100_000
    with pytest.raises(CallError, match="call it as '_start'"):
        inst.call("other", b"")
    missing = tmp_path / "missing"
    with pytest.raises(PluginLoadError, match="is not a directory"):
        make(wat_file("echo2", ECHO_WASI), wasi=WasiSpec(allowed_paths={str(missing): "/data"}))


WASI_PROBE = """(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "hello.txt")
  ;; open hello.txt relative to the first preopen (fd 3); returns the WASI errno
  (func (export "open") (result i32)
    (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 9)
                (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200)))
  ;; number of environment variables the plug-in sees
  (func (export "envc") (result i32)
    (drop (call $env (i32.const 300) (i32.const 304))) (i32.load (i32.const 300))))
"""


def test_wasi_sees_only_what_is_granted(wat_file: WatFile, tmp_path: Path) -> None:
    """Allowed paths are pre-opened, env holds only the configured variables."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "hello.txt").write_text("hi")
    src = wat_file("probe", WASI_PROBE)
    granted = make(src, wasi=WasiSpec(allowed_paths={str(data): "/data"}, env={"A": "1", "B": "2"}))
    assert granted.call("open")[1] == [0]  # errno 0: opened
    assert granted.call("envc")[1] == [2]
    bare = make(src)
    assert bare.call("open")[1] != [0]  # fd 3 is not a preopen: EBADF
    assert bare.call("envc")[1] == [0]


def test_cache_hit_on_second_load(wat_file: WatFile, tmp_path: Path) -> None:
    src = wat_file("add", ADD)
    spec = PluginSpec(source=str(src))
    first = PluginInstance(spec, plugin="p", cache_dir=tmp_path)
    second = PluginInstance(spec, plugin="p", cache_dir=tmp_path)
    assert (first.cached, second.cached) == (False, True)
    assert second.call("add", args=[1, 1])[1] == [2]


def test_corrupt_cache_entry_is_recompiled(wat_file: WatFile, tmp_path: Path) -> None:
    src = wat_file("add", ADD)
    spec = PluginSpec(source=str(src))
    PluginInstance(spec, plugin="p", cache_dir=tmp_path)
    (entry,) = tmp_path.glob("*.cwasm")
    entry.write_bytes(b"garbage")
    again = PluginInstance(spec, plugin="p", cache_dir=tmp_path)
    assert again.cached is False and again.call("add", args=[2, 2])[1] == [4]


def test_input_is_released_before_the_export_runs(wat_file: WatFile) -> None:
    """The worker frees a call's shared-memory input span as soon as the ABI has
    copied it: while the plug-in runs, the span is already released (the next large
    input reuses the same pages)."""
    events: list[str] = []

    def router(plugin: str, export: str, data: bytes, args: object, timeout: float):  # type: ignore[no-untyped-def]
        events.append("plug-in running")
        return data.upper(), None

    inst = PluginInstance(
        PluginSpec(
            source=str(wat_file("forward", FORWARD)), imports={"extism:host/user.next": "x.y"}
        ),
        plugin="p",
        router=router,
    )
    try:
        ring = bytearray(b"hello")
        view = memoryview(ring)
        out, _ = inst.call("run", view, release_input=lambda: events.append("released"))
        assert bytes(out) == b"HELLO"
        assert events == ["released", "plug-in running"]
        # A failing call releases too (exactly once), e.g. an unknown export.
        events.clear()
        with pytest.raises(CallError):
            inst.call("nope", view, release_input=lambda: events.append("released"))
        assert events == ["released"]
    finally:
        inst.close()


def test_large_output_as_a_view_of_linear_memory(wat_file: WatFile) -> None:
    """With view_output a large output is a read-only view of linear memory (the
    worker copies it straight into its output ring); small ones and the default
    stay bytes."""
    inst = make(wat_file("forward", FORWARD), imports={"extism:host/user.next": "x.y"})
    try:
        big = bytes(range(256)) * 1024  # 256 KiB
        out, _ = inst.call("echo", big, view_output=True)
        assert isinstance(out, memoryview) and out.readonly and out.format == "B"
        assert out == big
        out, _ = inst.call("echo", big)
        assert type(out) is bytes and out == big
        out, _ = inst.call("echo", b"small", view_output=True)
        assert type(out) is bytes and out == b"small"
    finally:
        inst.close()


VARS = """(module
  (import "extism:host/env" "input_offset" (func $in (result i64)))
  (import "extism:host/env" "input_length" (func $inlen (result i64)))
  (import "extism:host/env" "length" (func $len (param i64) (result i64)))
  (import "extism:host/env" "var_get" (func $var_get (param i64) (result i64)))
  (import "extism:host/env" "var_set" (func $var_set (param i64 i64)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  (func (export "remember") (result i32)
    (call $var_set (call $in) (call $in)) (i32.const 0))
  (func (export "recall") (result i32) (local $v i64)
    (local.set $v (call $var_get (call $in)))
    (call $out (local.get $v) (call $len (local.get $v))) (i32.const 0))
  (func (export "echo") (result i32)
    (call $out (call $in) (call $inlen)) (i32.const 0)))"""


@pytest.mark.parametrize("fixed", [True, False], ids=["fixed-memory", "movable-memory"])
def test_kernel_memory_view_follows_growth(wat_file: WatFile, fixed: bool) -> None:
    """The host reads kernel memory through a cached view: it must follow growth
    (64 MiB input) in both modes, and with wasmtime's default reservation the memory
    must not move (the cache relies on it; a wasmtime change that moves it fails here)."""
    limits = Limits() if fixed else Limits(process_memory=Size(3 << 30))
    inst = make(wat_file("vars", VARS), limits=limits)
    try:
        k = inst.abi.blocks  # type: ignore[attr-defined]
        assert k._fixed is fixed
        base = k.base()
        inst.call("remember", b"colour")
        big = bytes(range(256)) * (256 * 1024)  # 64 MiB: the kernel memory grows
        assert inst.call("echo", big)[0] == big
        assert inst.call("recall", b"colour")[0] == b"colour"
        if fixed:
            assert k.base() == base
        assert len(k.mem()) == k.size() >= len(big)
    finally:
        inst.close()


def test_host_side_length_matches_the_kernel(wat_file: WatFile) -> None:
    """``_Kernel.length`` re-implements the kernel's ``length`` export in Python (no
    call into wasm); for live, freed, misaligned, out-of-range and stale handles it
    must answer exactly what the kernel answers."""
    import random

    inst = make(wat_file("vars", VARS))
    try:
        abi = inst.abi
        inst.call("echo", b"x" * 100)
        k = abi.blocks  # type: ignore[attr-defined]
        ex = k.instance.exports(k.store)
        kernel_length, free = ex["length"], ex["free"]
        handles = [k.write(bytes(n)) for n in (1, 7, 8, 9, 100, 4096)]
        free(k.store, handles[2])
        rng = random.Random(7)
        top = int.from_bytes(k.read(40, 8), "little")
        probes = [*handles, 0, 1, 8, 64, 72, 80, top, top + 8, 1 << 40, -8, -(1 << 63)]
        probes += [h + d for h in handles for d in (-16, -8, 1, 8, 16)]
        probes += [rng.randrange(0, top + 64) for _ in range(500)]
        for h in probes:
            assert k.length(h) == kernel_length(k.store, h), h
            # The fused read the host functions use agrees with length-then-read.
            assert k.block(h) == (k.read(h, k.length(h)) if h >= 0 else b""), h
        inst.call("echo", b"next call")  # a new epoch: the old handles are stale
        for h in handles:
            assert k.length(h) == kernel_length(k.store, h) == 0
    finally:
        inst.close()


GROW_THEN_READ = """(module
  (import "extism:host/env" "input_length" (func $inlen (result i64)))
  (import "extism:host/env" "input_load_u8" (func $inload (param i64) (result i32)))
  (import "extism:host/env" "store_u8" (func $store (param i64 i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "length" (func $len (param i64) (result i64)))
  (import "extism:host/env" "var_get" (func $var_get (param i64) (result i64)))
  (import "extism:host/env" "var_set" (func $var_set (param i64 i64)))
  (import "extism:host/env" "config_get" (func $config_get (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  ;; The input copied into a new block placed after 64 MiB allocated first: the
  ;; kernel memory grows in the call, past the view the host made before it.
  (func $key (result i64) (local $k i64) (local $i i64)
    (drop (call $alloc (i64.const 67108864)))
    (local.set $k (call $alloc (call $inlen)))
    (block $done (loop $next
      (br_if $done (i64.ge_u (local.get $i) (call $inlen)))
      (call $store (i64.add (local.get $k) (local.get $i)) (call $inload (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $next)))
    (local.get $k))
  (func (export "remember") (result i32) (local $k i64)
    (local.set $k (call $key))
    (call $var_set (local.get $k) (local.get $k)) (i32.const 0))
  (func (export "recall") (result i32) (local $v i64)
    (local.set $v (call $var_get (call $key)))
    (call $out (local.get $v) (call $len (local.get $v))) (i32.const 0))
  (func (export "setting") (result i32) (local $v i64)
    (local.set $v (call $config_get (call $key)))
    (call $out (local.get $v) (call $len (local.get $v))) (i32.const 0)))"""


def test_config_and_vars_read_blocks_past_a_memory_grown_in_the_call(
    wat_file: WatFile,
) -> None:
    """config_get, var_get and var_set read their key block, and write their answer,
    through the host's cached view of kernel memory: when the memory grew during
    the call, past that view, they must see the new blocks all the same."""
    inst = make(wat_file("grow_then_read", GROW_THEN_READ), config={"colour": "teal"})
    try:
        inst.call("remember", b"shape")
        assert inst.call("recall", b"shape")[0] == b"shape"
        assert inst.call("recall", b"absent")[0] == b""
        assert inst.call("setting", b"colour")[0] == b"teal"
        assert inst.call("setting", b"absent")[0] == b""
        # A write whose own allocation grows the memory past the view.
        k = inst.abi.blocks  # type: ignore[attr-defined]
        big = bytes(range(256)) * (512 * 1024)  # 128 MiB
        assert k.size() < len(big)
        assert k.block(k.write(big)) == big
    finally:
        inst.close()


def test_host_side_allocation_matches_the_kernel(wat_file: WatFile) -> None:
    """``_Kernel.write`` bumps the kernel's heap itself when the kernel would (no
    free block, room below the memory's size), else asks the kernel's ``alloc``.
    Two instances, one written through the host, one through ``alloc`` and a copy,
    must end with the same handles and the same kernel memory, byte for byte:
    through bumps, frees (reuse), growth and a new epoch."""
    src = wat_file("vars", VARS)
    host, ref = make(src), make(src)
    try:
        ka = host.abi.blocks  # type: ignore[attr-defined]
        kb = ref.abi.blocks  # type: ignore[attr-defined]
        ex = kb.instance.exports(kb.store)
        alloc, free_b = ex["alloc"], ex["free"]
        free_a = ka.instance.exports(ka.store)["free"]

        def by_kernel(data: bytes) -> int:
            h = int(alloc(kb.store, len(data)))
            kb.put(h, data)
            return h

        def same() -> None:
            top = int.from_bytes(ka.read(40, 8), "little")
            assert int.from_bytes(kb.read(40, 8), "little") == top
            assert ka.read(0, top) == kb.read(0, top)

        sizes = [1, 7, 8, 9, 16, 100, 4096, 3, 65536, 5]
        for _round in range(2):
            for inst in (host, ref):
                inst.call("echo", b"x" * 100)  # reset: a new epoch, top back to 64
            same()
            handles = [ka.write(bytes([n % 251]) * n) for n in sizes]
            assert handles == [by_kernel(bytes([n % 251]) * n) for n in sizes]
            same()
            for i in (2, 5):  # free blocks: the next writes go through the kernel
                free_a(ka.store, handles[i])
                free_b(kb.store, handles[i])
            assert [ka.write(b"r" * 40), ka.write(b"s" * 9)] == [
                by_kernel(b"r" * 40),
                by_kernel(b"s" * 9),
            ]
            same()
            big = b"g" * (3 << 20)  # past the memory's size: the kernel grows it
            assert ka.write(big) == by_kernel(big)
            same()
    finally:
        host.close()
        ref.close()
