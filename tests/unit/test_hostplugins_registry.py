"""The host plug-in registry and the native ABI, in this process (plus the probe's
child processes): discovery, search order, descriptor validation, init/fini,
options, direct calls. Real shared libraries are compiled here with ``cc``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestra import HostFunctionError, PluginLoadError
from orchestra.hostplugins import (
    KNOWN_HOST_MODULES,
    HostPluginRegistry,
    NativeFunction,
    NativeHostPlugin,
    _probe,
    describe_registry,
    include_dir,
)

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)")

#: A host plug-in for tests; variants via -D: NAME, VALUE, ABI (descriptor version),
#: NO_SYMBOL, BAD_TYPE, INIT_CRASH, INIT_FAIL, INIT_HANG, MARKER (a file init creates).
TEST_PLUGIN = r"""
#include <orchestra_hostplugin.h>
#include <stdlib.h>
#include <unistd.h>
#ifndef NAME
#define NAME "testplug"
#endif
#ifndef MODULE
#define MODULE "testmod"
#endif
#ifndef VALUE
#define VALUE 42
#endif
#ifndef ABI
#define ABI ORCHESTRA_HOSTPLUGIN_ABI_VERSION
#endif
#ifndef TYPE
#define TYPE ORCHESTRA_I32
#endif

typedef struct { int64_t value; } state;

static int32_t answer(orchestra_ctx_t *ctx, const uint64_t *a, uint64_t *r) {
    (void)ctx; (void)a; ORCHESTRA_RET_I32(r, 0, VALUE); return 0;
}
static int32_t option(orchestra_ctx_t *ctx, const uint64_t *a, uint64_t *r) {
    (void)a; ORCHESTRA_RET_I64(r, 0, ctx->plugin_data ? ((state *)ctx->plugin_data)->value : -1);
    return 0;
}
static int32_t sum(orchestra_ctx_t *ctx, const uint64_t *a, uint64_t *r) {
    uint32_t ptr = ORCHESTRA_ARG_U32(a, 0), len = ORCHESTRA_ARG_U32(a, 1);
    const uint8_t *p = orchestra_mem(ctx, ptr, len);
    if (p == NULL) return orchestra_fail(ctx, "sum: [%u, +%u) is outside memory of %llu bytes",
                                         ptr, len, (unsigned long long)ctx->memory_size);
    int64_t s = 0;
    for (uint32_t i = 0; i < len; i++) s += p[i];
    ORCHESTRA_RET_I64(r, 0, s);
    return 0;
}
static int32_t fill(orchestra_ctx_t *ctx, const uint64_t *a, uint64_t *r) {
    (void)r;
    uint8_t *p = orchestra_mem(ctx, ORCHESTRA_ARG_U32(a, 0), ORCHESTRA_ARG_U32(a, 1));
    if (p == NULL) return orchestra_fail(ctx, "fill: outside memory");
    memset(p, (int)ORCHESTRA_ARG_U32(a, 2), ORCHESTRA_ARG_U32(a, 1));
    return 0;
}
static int32_t fail(orchestra_ctx_t *ctx, const uint64_t *a, uint64_t *r) {
    (void)r;
    int32_t code = ORCHESTRA_ARG_I32(a, 0);
    if (code == 0) return 0;
    if (code == 2) return 7;  /* no message */
    return orchestra_fail(ctx, "asked to fail with code %d", code);
}
static int32_t crash(orchestra_ctx_t *ctx, const uint64_t *a, uint64_t *r) {
    (void)ctx; (void)a; (void)r;
    *(volatile int *)0 = 1;
    return 0;
}
static int32_t mix(orchestra_ctx_t *ctx, const uint64_t *a, uint64_t *r) {
    (void)ctx;
    double d = ORCHESTRA_ARG_F32(a, 0) + ORCHESTRA_ARG_F64(a, 1) + ORCHESTRA_ARG_I32(a, 2)
             + (double)ORCHESTRA_ARG_I64(a, 3);
    ORCHESTRA_RET_F64(r, 0, d);
    ORCHESTRA_RET_F32(r, 1, (float)-d);
    ORCHESTRA_RET_I32(r, 2, -1);
    return 0;
}
static int32_t reverse(orchestra_ctx_t *ctx, const uint64_t *a, uint64_t *r) {
    uint64_t len;
    const uint8_t *in = orchestra_block(ctx, ORCHESTRA_ARG_U64(a, 0), &len);
    uint8_t *copy = malloc(len ? len : 1);
    for (uint64_t i = 0; i < len; i++) copy[i] = in[len - 1 - i];
    uint64_t h = orchestra_block_new(ctx, copy, len);
    free(copy);
    if (len && h == 0) return orchestra_fail(ctx, "reverse: no kernel memory");
    ORCHESTRA_RET_I64(r, 0, h);
    return 0;
}
static int32_t memsize(orchestra_ctx_t *ctx, const uint64_t *a, uint64_t *r) {
    (void)a; ORCHESTRA_RET_I64(r, 0, ctx->memory ? (int64_t)ctx->memory_size : -1); return 0;
}

static const uint8_t NONE[] = {0};
static const uint8_t I32[] = {TYPE};
static const uint8_t I64[] = {ORCHESTRA_I64};
static const uint8_t I32x2[] = {ORCHESTRA_I32, ORCHESTRA_I32};
static const uint8_t I32x3[] = {ORCHESTRA_I32, ORCHESTRA_I32, ORCHESTRA_I32};
static const uint8_t MIX_P[] = {ORCHESTRA_F32, ORCHESTRA_F64, ORCHESTRA_I32, ORCHESTRA_I64};
static const uint8_t MIX_R[] = {ORCHESTRA_F64, ORCHESTRA_F32, ORCHESTRA_I32};

static const orchestra_function_t functions[] = {
    {"answer", NONE, 0, 1, I32, answer, ORCHESTRA_FN_NO_MEMORY, 0, "the answer"},
    {"option", NONE, 0, 1, I64, option, ORCHESTRA_FN_NO_MEMORY, 0, NULL},
    {"sum", I32x2, 2, 1, I64, sum, 0, 0, NULL},
    {"fill", I32x3, 3, 0, NONE, fill, 0, 0, NULL},
    {"fail", I32, 1, 0, NONE, fail, ORCHESTRA_FN_NO_MEMORY, 0, NULL},
    {"crash", NONE, 0, 0, NONE, crash, ORCHESTRA_FN_NO_MEMORY, 0, NULL},
    {"mix", MIX_P, 4, 3, MIX_R, mix, ORCHESTRA_FN_NO_MEMORY, 0, NULL},
    {"memsize", NONE, 0, 1, I64, memsize, 0, 0, NULL},
};
static const orchestra_function_t block_functions[] = {
    {"reverse", I64, 1, 1, I64, reverse, ORCHESTRA_FN_KERNEL | ORCHESTRA_FN_NO_MEMORY, 0, NULL},
};
static const orchestra_module_t modules[] = {
    {MODULE, functions, sizeof functions / sizeof *functions, 0},
    {MODULE "/blocks", block_functions, 1, 0},
};
static const orchestra_option_t options[] = {{"value", "what option() returns", "-1"}};

static int32_t init(const orchestra_option_value_t *opts, uint32_t n, void **data, char *error,
                    uint32_t cap) {
#ifdef INIT_CRASH
    *(volatile int *)0 = 1;
#endif
#ifdef INIT_HANG
    for (;;) pause();
#endif
#ifdef INIT_FAIL
    snprintf(error, cap, "cannot start: %s", "no reason");
    return 1;
#endif
#ifdef MARKER
    FILE *f = fopen(MARKER, "a");
    if (f) { fputs("init\n", f); fclose(f); }
#endif
    (void)error; (void)cap;
    const char *v = orchestra_option(opts, n, "value", NULL);
    if (v == NULL) return 0;
    state *s = malloc(sizeof *s);
    s->value = atoll(v);
    *data = s;
    return 0;
}
static void fini(void *data) {
#ifdef MARKER
    FILE *f = fopen(MARKER, "a");
    if (f) { fputs("fini\n", f); fclose(f); }
#endif
    free(data);
}

static const orchestra_plugin_t plugin = {
    ABI, sizeof(orchestra_plugin_t), NAME, "1.2.3", "a plug-in for tests",
    modules, 2, 1, options, init, fini,
};

#ifndef NO_SYMBOL
ORCHESTRA_HOSTPLUGIN_EXPORT const orchestra_plugin_t *orchestra_hostplugin_descriptor(void) {
#else
ORCHESTRA_HOSTPLUGIN_EXPORT const orchestra_plugin_t *something_else(void) {
#endif
#ifdef BAD_TYPE
    static orchestra_function_t bad[1];
    static orchestra_module_t bad_modules[1];
    static orchestra_plugin_t bad_plugin;
    static const uint8_t odd[] = {0x42};
    bad[0] = functions[0];
    bad[0].results = odd;
    bad_modules[0] = modules[0];
    bad_modules[0].functions = bad;
    bad_modules[0].function_count = 1;
    bad_plugin = plugin;
    bad_plugin.modules = bad_modules;
    bad_plugin.module_count = 1;
    return &bad_plugin;
#endif
    return &plugin;
}
"""


def define_flags(defines: dict[str, str | int | bool]) -> list[str]:
    """``-DKEY``, ``-DKEY="text"`` or ``-DKEY=number`` for each define."""
    flags = []
    for key, value in defines.items():
        if value is True:
            flags.append(f"-D{key}")
        elif isinstance(value, str):
            flags.append(f'-D{key}="{value}"')
        else:
            flags.append(f"-D{key}={value}")
    return flags


def cc_plugin(out: Path, **defines: str | int | bool) -> Path:
    """Compile :data:`TEST_PLUGIN` into shared library ``out`` with ``-DKEY=VALUE``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    src = out.with_suffix(".c")
    src.write_text(TEST_PLUGIN)
    flags = define_flags(defines)
    cmd = ["cc", "-shared", "-fPIC", "-O1", "-I", str(include_dir()), "-o", str(out), str(src)]
    subprocess.run([*cmd, *flags], check=True, capture_output=True)
    src.unlink()
    return out


def mapped(path: Path) -> bool:
    """Is ``path`` loaded into this process?"""
    text = Path("/proc/self/maps").read_text()
    return str(path) in text


@pytest.fixture
def plug(tmp_path: Path) -> Path:
    return cc_plugin(tmp_path / "plugins" / "libtestplug.so")


def test_discovery_never_loads_a_native_library_here(plug: Path) -> None:
    """The registry learns a descriptor through the probe: after discovery the
    library is not mapped into this process; create_module loads it."""
    registry = HostPluginRegistry()
    found = registry.load_from_path(plug.parent)
    assert [p.name for p in found] == ["testplug"]
    assert registry.names() == ["testplug"]
    assert registry.module_names() == ["testmod", "testmod/blocks"]
    plugin = registry.find("testplug")
    assert isinstance(plugin, NativeHostPlugin)
    assert (plugin.kind, plugin.version, plugin.file) == ("native", "1.2.3", str(plug))
    assert plugin.signatures("testmod")["sum"] == (("i32", "i32"), ("i64",))
    assert not mapped(plug)
    module = plugin.create_module("testmod")
    assert mapped(plug)
    answer = module.functions["answer"]
    assert isinstance(answer, NativeFunction)
    assert answer.call() == [42]


def test_direct_calls_convert_bit_patterns_and_report_errors(plug: Path) -> None:
    """Values cross as u64 bit patterns; a non-zero return is HostFunctionError with
    the message the C code wrote (or the code when it wrote none)."""
    import struct

    registry = HostPluginRegistry(options={"testplug": {"value": "17"}})
    registry.load_from_path(plug)
    module = registry.module("testmod")
    assert module is not None
    fns = {n: f for n, f in module.functions.items() if isinstance(f, NativeFunction)}
    assert len(fns) == len(module.functions)
    f32 = struct.unpack("<I", struct.pack("<f", 1.5))[0]
    f64 = struct.unpack("<Q", struct.pack("<d", 2.25))[0]
    d, f, i = fns["mix"].call(f32, f64, (-3) & 0xFFFFFFFF, (-4) & (2**64 - 1))
    assert struct.unpack("<d", struct.pack("<Q", d))[0] == -3.25
    assert struct.unpack("<f", struct.pack("<I", f & 0xFFFFFFFF))[0] == 3.25
    assert i & 0xFFFFFFFF == 0xFFFFFFFF
    assert fns["option"].call() == [17]
    with pytest.raises(HostFunctionError) as info:
        fns["fail"].call(5)
    assert info.value.message == "host function testmod.fail failed: asked to fail with code 5"
    with pytest.raises(HostFunctionError) as info:
        fns["fail"].call(2)
    assert info.value.message == "host function testmod.fail failed: it returned error code 7"
    assert fns["fail"].call(0) == []


def test_another_abi_version_is_a_load_error_naming_the_file(tmp_path: Path) -> None:
    lib = cc_plugin(tmp_path / "libold.so", ABI=2)
    with pytest.raises(PluginLoadError) as info:
        HostPluginRegistry().load_from_path(lib)
    assert info.value.message == (
        f"{lib}: built for host plug-in ABI version 2; this Orchestra speaks version 1 "
        "(rebuild it against the header in `orchestra plugins --include-dir`)"
    )


def test_missing_symbol_and_malformed_descriptor(tmp_path: Path) -> None:
    nosym = cc_plugin(tmp_path / "d" / "libnosym.so", NO_SYMBOL=True)
    bad = cc_plugin(tmp_path / "d" / "libbad.so", BAD_TYPE=True)
    (tmp_path / "d" / "libjunk.so").write_bytes(b"not an ELF file")
    registry = HostPluginRegistry()
    assert registry.load_from_path(tmp_path / "d", strict=False) == []
    messages = sorted(f.message for f in registry.errors)
    assert messages[0] == (
        f"{bad} (testplug): malformed descriptor: testmod.answer results[0] has unknown "
        "value type 0x42 (use ORCHESTRA_I32/I64/F32/F64)"
    )
    assert messages[1].startswith(
        f"{tmp_path / 'd' / 'libjunk.so'}: cannot load the shared library:"
    )
    assert messages[2] == (
        f"{nosym}: not an Orchestra host plug-in: it does not export "
        "orchestra_hostplugin_descriptor() (see orchestra_hostplugin.h)"
    )
    with pytest.raises(PluginLoadError, match=r"malformed descriptor.*\(and 2 more\)"):
        HostPluginRegistry().load_from_path(tmp_path / "d")


def test_a_crashing_or_hanging_init_is_reported_not_fatal(tmp_path: Path) -> None:
    """The probe runs init in a child: a crash or a hang there becomes an error for
    that file (its modules known from the descriptor), and the files after it are
    still probed."""
    d = tmp_path / "d"
    cc_plugin(d / "liba_crash.so", NAME="crasher", MODULE="crashmod", INIT_CRASH=True)
    cc_plugin(d / "libb_hang.so", NAME="hanger", MODULE="hangmod", INIT_HANG=True)
    cc_plugin(d / "libc_fail.so", NAME="failer", MODULE="failmod", INIT_FAIL=True)
    cc_plugin(d / "libd_good.so")
    registry = HostPluginRegistry(probe_timeout=1.0)
    registry.load_from_path(d, strict=False)
    assert registry.names() == ["testplug"]
    errors = {f.plugin: f for f in registry.errors}
    assert errors["crasher"].message == (
        f"{d / 'liba_crash.so'}: it crashed the probe process (signal SIGSEGV) in init"
    )
    assert errors["crasher"].modules == ("crashmod", "crashmod/blocks")
    assert (
        errors["hanger"].message
        == f"{d / 'libb_hang.so'}: the probe hung (killed after 1 s) in init"
    )
    assert errors["failer"].message == (
        f"{d / 'libc_fail.so'} (failer): init failed: cannot start: no reason"
    )
    assert registry.known_modules["crashmod"] == "crasher"
    assert registry.failures_for("failmod") == [errors["failer"]]


def test_search_order_env_then_config_then_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ORCHESTRA_PLUGIN_PATH (files or folders) comes first, then the config's
    paths, then <sys.prefix>/lib/orchestra/plugins; the first plug-in of a name wins
    and the later ones are reported as shadowed."""
    env_lib = cc_plugin(tmp_path / "env" / "libp.so", VALUE=1)
    cfg_lib = cc_plugin(tmp_path / "cfg" / "libp.so", VALUE=2)
    prefix_lib = cc_plugin(tmp_path / "prefix" / "lib" / "orchestra" / "plugins" / "libq.so",
                           NAME="prefixed", MODULE="prefixmod")  # fmt: skip
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    monkeypatch.setenv("ORCHESTRA_PLUGIN_PATH", str(env_lib))
    registry = HostPluginRegistry()
    registry.load_default_paths([str(tmp_path / "cfg")])
    assert registry.searched == [str(env_lib), str(tmp_path / "cfg"), str(prefix_lib.parent)]
    assert registry.names() == ["prefixed", "testplug"]
    assert registry.find("testplug").file == str(env_lib)  # type: ignore[union-attr]
    assert registry.shadowed == [(str(cfg_lib), "testplug")]
    assert registry.provider("prefixmod").name == "prefixed"  # type: ignore[union-attr]

    monkeypatch.setenv("ORCHESTRA_PLUGIN_PATH", "")
    registry = HostPluginRegistry()
    registry.load_default_paths([str(tmp_path / "cfg")])
    assert registry.find("testplug").file == str(cfg_lib)  # type: ignore[union-attr]


def test_python_plugins_are_discovered_without_importing_them(tmp_path: Path) -> None:
    """A Python plug-in's modules are read from its source; it is imported (and its
    init called with its options) only by create_module."""
    marker = tmp_path / "imported"
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "texty.py").write_text(
        f"""
from pathlib import Path
from orchestra.hostplugins import HostModule, i32
PLUGIN_NAME = "texty"
PLUGIN_VERSION = "2.0"
Path({str(marker)!r}).write_text("imported")
m = HostModule("texty_mod")
OPTIONS = {{}}

def init(options):
    OPTIONS.update(options)

@m.function
def double(x: i32) -> i32:
    return 2 * x
"""
    )
    registry = HostPluginRegistry(options={"texty": {"k": "v"}})
    registry.load_from_path(tmp_path / "p")
    plugin = registry.find("texty")
    assert plugin is not None and (plugin.kind, plugin.version) == ("python", "2.0")
    assert registry.module_names() == ["texty_mod"]
    assert not marker.exists()
    module = plugin.create_module("texty_mod")
    assert marker.exists()
    assert module.functions["double"].fn(21) == 42
    assert module.functions["double"].fn.__globals__["OPTIONS"] == {"k": "v"}


def test_unknown_native_option_is_a_load_error(plug: Path) -> None:
    registry = HostPluginRegistry(options={"testplug": {"colour": "red"}})
    with pytest.raises(PluginLoadError) as info:
        registry.load_from_path(plug)
    assert info.value.message == (f"{plug} (testplug): unknown option(s) colour; it takes: value")


def test_successful_probes_are_cached(plug: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second discovery of an unchanged file (same options) starts no process."""
    HostPluginRegistry().load_from_path(plug)

    def no_process(*args: object, **kw: object) -> None:
        raise AssertionError("probed again")

    monkeypatch.setattr(_probe, "_run", no_process)
    _probe._memory_cache.clear()  # the on-disk cache must answer too
    assert HostPluginRegistry().load_from_path(plug)[0].name == "testplug"
    os.utime(plug, ns=(1, 1))  # changed: probed again
    with pytest.raises(AssertionError, match="probed again"):
        HostPluginRegistry().load_from_path(plug)


def test_known_modules_and_report(plug: Path) -> None:
    registry = HostPluginRegistry()
    registry.load_from_path(plug.parent)
    assert registry.known_modules == KNOWN_HOST_MODULES
    report = describe_registry(registry)
    assert report.splitlines()[0].split() == ["NAME", "VERSION", "KIND", "MODULES", "FILE"]
    assert "testplug  1.2.3    native  testmod, testmod/blocks  " + str(plug) in report
    assert "  testmod.mix (f32, f64, i32, i64) -> (f64, f32, i32)" in report
    assert "  option value: what option() returns (default: -1)" in report
    assert report.endswith(f"searched: {plug.parent}")


def test_header_compiles_as_c_and_cxx_with_warnings_as_errors(tmp_path: Path) -> None:
    """The shipped header is self-contained, strict-clean C99 and C++."""
    src = tmp_path / "h.c"
    src.write_text("#include <orchestra_hostplugin.h>\nint main(void) { return 0; }\n")
    base = ["-I", str(include_dir()), "-Wall", "-Wextra", "-Werror", "-pedantic", "-c"]
    subprocess.run(["cc", "-std=c99", *base, "-o", str(tmp_path / "h.o"), str(src)], check=True)
    if shutil.which("c++"):
        cxx = tmp_path / "h.cc"
        cxx.write_text(src.read_text())
        subprocess.run(["c++", *base, "-o", str(tmp_path / "hx.o"), str(cxx)], check=True)
