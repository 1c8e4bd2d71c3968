"""The cost of one host call, wasm -> native (C) and wasm -> Python, in ns per call.

    python benchmarks/bench_hostcalls.py [--calls N] [--repeat R] [--json FILE]

In-process (no workers): a core-ABI plug-in (``orchestra.runtime.PluginInstance``,
as a worker runs it) loops N times in wasm over ``call $f (i32) -> i32``; a row's
time per call is the loop's time divided by N, minus the same loop calling a wasm
function (the "wasm -> wasm" row, printed as measured). Best of R runs.

Rows:

* wasm -> native, ``ORCHESTRA_FN_NO_MEMORY``: the context is not refreshed;
* wasm -> native, with the caller's linear memory in the context (the default);
* wasm -> WasmEdge C API: the same function as a WasmEdge C-API plug-in, run
  through Orchestra's compatibility library (the caller's memory in the calling
  frame, like the row above: the difference is the shim's cost);
* wasm -> Python, a ``@HostModule.function`` taking and returning an ``i32``;
* wasm -> Python through wasmtime-py's public ``Func`` (a reference: what a host
  function costs without Orchestra's lean callbacks).

The native plug-in is compiled here with ``cc``. Only ratios within one run mean
anything on a shared machine; nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

import wasmtime  # noqa: E402

from orchestra.config import PluginSpec  # noqa: E402
from orchestra.hostplugins import include_dir  # noqa: E402
from orchestra.runtime import FastFunc, PluginInstance  # noqa: E402

NATIVE = r"""
#include <orchestra_hostplugin.h>
static int32_t inc(orchestra_ctx_t *ctx, const uint64_t *a, uint64_t *r) {
    (void)ctx; ORCHESTRA_RET_I32(r, 0, ORCHESTRA_ARG_I32(a, 0) + 1); return 0;
}
static int32_t inc_mem(orchestra_ctx_t *ctx, const uint64_t *a, uint64_t *r) {
    ORCHESTRA_RET_I32(r, 0, ORCHESTRA_ARG_I32(a, 0) + (ctx->memory != NULL)); return 0;
}
static const uint8_t I32[] = {ORCHESTRA_I32};
static const orchestra_function_t fns[] = {
    {"inc", I32, 1, 1, I32, inc, ORCHESTRA_FN_NO_MEMORY, 0, NULL},
    {"inc_mem", I32, 1, 1, I32, inc_mem, 0, 0, NULL},
};
static const orchestra_module_t mods[] = {{"bench_native", fns, 2, 0}};
static const orchestra_plugin_t plugin = {
    ORCHESTRA_HOSTPLUGIN_ABI_VERSION, sizeof(orchestra_plugin_t), "bench_native", "1",
    "host-call benchmark", mods, 1, 0, NULL, NULL, NULL,
};
ORCHESTRA_HOSTPLUGIN_EXPORT const orchestra_plugin_t *orchestra_hostplugin_descriptor(void) {
    return &plugin;
}
"""

WASMEDGE = r"""
#include <wasmedge/wasmedge.h>
static WasmEdge_Result inc(void *data, const WasmEdge_CallingFrameContext *frame,
                           const WasmEdge_Value *in, WasmEdge_Value *out) {
    (void)data; (void)frame;
    out[0] = WasmEdge_ValueGenI32(WasmEdge_ValueGetI32(in[0]) + 1);
    return WasmEdge_Result_Success;
}
static WasmEdge_ModuleInstanceContext *create(const WasmEdge_ModuleDescriptor *desc) {
    (void)desc;
    WasmEdge_String name = WasmEdge_StringCreateByCString("bench_wasmedge");
    WasmEdge_ModuleInstanceContext *mod = WasmEdge_ModuleInstanceCreate(name);
    WasmEdge_StringDelete(name);
    WasmEdge_ValType i32 = WasmEdge_ValTypeGenI32();
    WasmEdge_FunctionTypeContext *type = WasmEdge_FunctionTypeCreate(&i32, 1, &i32, 1);
    name = WasmEdge_StringCreateByCString("inc");
    WasmEdge_ModuleInstanceAddFunction(mod, name, WasmEdge_FunctionInstanceCreate(type, inc, NULL, 0));
    WasmEdge_StringDelete(name);
    WasmEdge_FunctionTypeDelete(type);
    return mod;
}
static WasmEdge_ModuleDescriptor mods[] = {{"bench_wasmedge", "host-call benchmark", create}};
static WasmEdge_PluginDescriptor plugin = {
    "bench_wasmedge", "host-call benchmark", WasmEdge_Plugin_CurrentAPIVersion, {1, 0, 0, 0}, 1, 0, mods, NULL,
};
WASMEDGE_CAPI_PLUGIN_EXPORT const WasmEdge_PluginDescriptor *WasmEdge_Plugin_GetDescriptor(void) {
    return &plugin;
}
"""

PYTHON = """
from orchestra.hostplugins import HostModule, i32
bench = HostModule("bench_python")

@bench.function
def inc(x: i32) -> i32:
    return x + 1
"""


def loop_wat(import_line: str) -> str:
    return f"""(module
  {import_line}
  (memory (export "memory") 1)
  (func (export "loop") (param $n i32) (result i32) (local $acc i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $acc (call $f (local.get $acc)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $acc)))"""


WASM_FN = "(func $f (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))"
CASES = {
    "wasm -> wasm (loop baseline)": (WASM_FN, []),
    "wasm -> native, FN_NO_MEMORY": (
        '(import "bench_native" "inc" (func $f (param i32) (result i32)))',
        ["bench_native"],
    ),
    "wasm -> native, with linear memory": (
        '(import "bench_native" "inc_mem" (func $f (param i32) (result i32)))',
        ["bench_native"],
    ),
    "wasm -> WasmEdge C API, with linear memory": (
        '(import "bench_wasmedge" "inc" (func $f (param i32) (result i32)))',
        ["bench_wasmedge"],
    ),
    "wasm -> Python (i32 -> i32)": (
        '(import "bench_python" "inc" (func $f (param i32) (result i32)))',
        ["bench_python"],
    ),
}


def time_loop(run: object, calls: int, repeat: int) -> float:
    """Best seconds for one ``run(calls)`` over ``repeat`` runs (after a warm-up)."""
    assert callable(run)
    run(min(calls, 1000))
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        result = run(calls)
        best = min(best, time.perf_counter() - started)
        assert result == calls, result
    return best


def wasmtime_py_reference(calls: int, repeat: int) -> float:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(
        engine, loop_wat('(import "py" "inc" (func $f (param i32) (result i32)))')
    )
    ty = wasmtime.FuncType([wasmtime.ValType.i32()], [wasmtime.ValType.i32()])
    func = wasmtime.Func(store, ty, lambda x: x + 1)
    instance = wasmtime.Instance(store, module, [func])
    loop = instance.exports(store)["loop"]
    assert isinstance(loop, wasmtime.Func)
    fast = FastFunc(store, loop, "loop").bind()
    return time_loop(fast, calls, repeat)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000, help="host calls per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per row (best is kept)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    if shutil.which("cc") is None:
        print("bench_hostcalls.py: needs a C compiler (cc) for the native rows", file=sys.stderr)
        return 1
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp:
        plugins = Path(tmp) / "plugins"
        plugins.mkdir()
        (Path(tmp) / "bench_native.c").write_text(NATIVE)
        lib, src = plugins / "libbench_native.so", Path(tmp) / "bench_native.c"
        cc = ["cc", "-shared", "-fPIC", "-O2", "-I", str(include_dir())]
        subprocess.run([*cc, "-o", str(lib), str(src)], check=True)
        (Path(tmp) / "bench_wasmedge.c").write_text(WASMEDGE)
        wasmedge = [str(plugins / "libbench_wasmedge.so"), str(Path(tmp) / "bench_wasmedge.c")]
        subprocess.run([*cc, "-o", *wasmedge], check=True)
        (plugins / "bench_python.py").write_text(PYTHON)
        times: dict[str, float] = {}
        for name, (import_line, grants) in CASES.items():
            wat = Path(tmp) / "loop.wat"
            wat.write_text(loop_wat(import_line))
            inst = PluginInstance(
                PluginSpec(source=str(wat), host_modules=grants),
                plugin="bench",
                host_plugin_paths=[str(plugins)],
            )
            times[name] = time_loop(
                lambda n, inst=inst: inst.call("loop", b"", [n])[1][0],  # type: ignore[index]
                args.calls,
                args.repeat,
            )
            inst.close()
        times["wasm -> Python, wasmtime-py Func (reference)"] = wasmtime_py_reference(
            args.calls, args.repeat
        )
    base = times["wasm -> wasm (loop baseline)"] / args.calls
    python = times["wasm -> Python (i32 -> i32)"] / args.calls - base
    print(f"{'host call':<48} {'ns/call':>9} {'vs Python':>10}")
    for name, seconds in times.items():
        per = seconds / args.calls
        ns = per * 1e9 if name.startswith("wasm -> wasm") else (per - base) * 1e9
        ratio = "" if name.startswith("wasm -> wasm") else f"{ns / (python * 1e9):.2f}x"
        print(f"{name:<48} {ns:>9.0f} {ratio:>10}")
        rows.append({"name": name, "ns_per_call": round(ns, 1)})
    print(
        f"({args.calls} calls per run, best of {args.repeat}; Python {platform.python_version()}, "
        f"{platform.machine()})"
    )
    if args.json:
        args.json.write_text(json.dumps({"calls": args.calls, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
