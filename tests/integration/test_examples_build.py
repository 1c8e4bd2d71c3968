"""The example plug-ins: build the C ones with zig, run all with wasmtime-py.

These use wasmtime directly (not Orchestra's runtime), so they check the
examples themselves: their ABIs, outputs and the build script.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import wasmtime

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PLUGINS = EXAMPLES / "plugins"
BUILD_SCRIPT = EXAMPLES / "build.py"


def load_build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("examples_build", BUILD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def build() -> ModuleType:
    return load_build_script()


@pytest.fixture(scope="module")
def built(build: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The C examples, compiled into a fresh directory."""
    return build.build_examples(tmp_path_factory.mktemp("examples-build"), log=None)


@pytest.fixture(scope="module")
def engine() -> wasmtime.Engine:
    return wasmtime.Engine()


def load(engine: wasmtime.Engine, path: Path) -> wasmtime.Module:
    if path.suffix == ".wat":
        return wasmtime.Module(engine, wasmtime.wat2wasm(path.read_text()))
    return wasmtime.Module.from_file(engine, str(path))


def function_exports(module: wasmtime.Module) -> set[str]:
    return {e.name for e in module.exports if isinstance(e.type, wasmtime.FuncType)}


def run_command(
    engine: wasmtime.Engine, module: wasmtime.Module, stdin: bytes, tmp_path: Path
) -> tuple[int, bytes]:
    """Run a wasi-command module's ``_start``; return (exit code, stdout)."""
    stdin_path, stdout_path = tmp_path / "stdin", tmp_path / "stdout"
    stdin_path.write_bytes(stdin)
    config = wasmtime.WasiConfig()
    config.stdin_file = str(stdin_path)
    config.stdout_file = str(stdout_path)
    store = wasmtime.Store(engine)
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, module)
    start = instance.exports(store)["_start"]
    assert isinstance(start, wasmtime.Func)
    try:
        start(store)
        code = 0
    except wasmtime.ExitTrap as exit_:
        code = exit_.code
    return code, stdout_path.read_bytes()


# --- core ABI: math.wat ------------------------------------------------------


def test_math_wat(engine: wasmtime.Engine) -> None:
    module = load(engine, PLUGINS / "math.wat")
    assert function_exports(module) == {"add", "mul", "fib"}
    assert "memory" in {e.name for e in module.exports}
    store = wasmtime.Store(engine)
    exports = wasmtime.Instance(store, module, []).exports(store)
    add, mul, fib = exports["add"], exports["mul"], exports["fib"]
    assert add(store, 2, 3) == 5
    assert add(store, -7, 4) == -3
    assert add(store, 2**31 - 1, 1) == -(2**31)  # wraps
    assert mul(store, 6, 7) == 42
    assert mul(store, -3, 2**40) == -3 * 2**40
    fibs = [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55]
    assert [fib(store, n) for n in range(len(fibs))] == fibs
    assert fib(store, 90) == 2880067194370816120
    assert fib(store, -5) == 0


# --- wasi-command ABI: the WAT text pipeline ---------------------------------

LOG_LINE = b"2024-05-01 user 42 logged in from 10.0.0.7: Welcome back!\n"


@pytest.mark.parametrize("name", ["redact", "shout", "vowels"])
def test_wat_commands_export_only_start(engine: wasmtime.Engine, name: str) -> None:
    module = load(engine, PLUGINS / f"{name}.wat")
    assert function_exports(module) == {"_start"}
    assert {e.name for e in module.exports} == {"_start", "memory"}


@pytest.mark.parametrize(
    ("name", "stdin", "expected"),
    [
        ("redact", LOG_LINE, b"####-##-## user ## logged in from ##.#.#.#: Welcome back!\n"),
        ("redact", b"", b""),
        ("redact", b"no digits", b"no digits"),
        ("shout", LOG_LINE, b"2024-05-01 USER 42 LOGGED IN FROM 10.0.0.7: WELCOME BACK!\n"),
        ("shout", b"", b""),
        ("shout", "caf\u00e9 z{a`".encode(), "CAF\u00e9 Z{A`".encode()),  # ASCII only
        ("vowels", LOG_LINE, LOG_LINE + b" [vowels=10]"),
        ("vowels", b"", b" [vowels=0]"),
        ("vowels", b"AEIOU aeiou xyz", b"AEIOU aeiou xyz [vowels=10]"),
    ],
)
def test_wat_commands_transform(
    engine: wasmtime.Engine, tmp_path: Path, name: str, stdin: bytes, expected: bytes
) -> None:
    module = load(engine, PLUGINS / f"{name}.wat")
    assert run_command(engine, module, stdin, tmp_path) == (0, expected)


def test_wat_pipeline(engine: wasmtime.Engine, tmp_path: Path) -> None:
    data = LOG_LINE
    for name in ("redact", "shout", "vowels"):
        code, data = run_command(engine, load(engine, PLUGINS / f"{name}.wat"), data, tmp_path)
        assert code == 0
    assert data == b"####-##-## USER ## LOGGED IN FROM ##.#.#.#: WELCOME BACK!\n [vowels=10]"


def test_shout_reads_all_of_a_large_input(engine: wasmtime.Engine, tmp_path: Path) -> None:
    # 3 MiB: many fd_read calls and several memory.grow steps.
    stdin = bytes(range(256)) * (3 * 4096)
    assert len(stdin) == 3 * 1024 * 1024
    code, stdout = run_command(engine, load(engine, PLUGINS / "shout.wat"), stdin, tmp_path)
    assert code == 0
    assert len(stdout) == len(stdin)
    assert stdout == stdin.upper()  # bytes.upper() is ASCII-only, as is shout


def test_vowels_counts_a_large_input(engine: wasmtime.Engine, tmp_path: Path) -> None:
    stdin = b"aeiou-xyz\n" * 900_000  # ~8.6 MiB
    code, stdout = run_command(engine, load(engine, PLUGINS / "vowels.wat"), stdin, tmp_path)
    assert code == 0
    assert stdout == stdin + b" [vowels=4500000]"


# --- C examples, compiled with zig -------------------------------------------


def test_build_outputs(built: dict[str, Path]) -> None:
    assert set(built) == {p.stem for p in PLUGINS.glob("*.c")} >= {"primes", "wordfreq"}
    for path in built.values():
        assert path.is_file()
        assert path.read_bytes()[:4] == b"\0asm"


def test_primes(engine: wasmtime.Engine, built: dict[str, Path]) -> None:
    module = load(engine, built["primes"])
    assert list(module.imports) == []  # freestanding: no WASI, no libc
    assert function_exports(module) == {"count_primes"}
    assert "memory" in {e.name for e in module.exports}
    store = wasmtime.Store(engine)
    count_primes = wasmtime.Instance(store, module, []).exports(store)["count_primes"]
    assert count_primes(store, 100) == 25
    assert [count_primes(store, n) for n in (-1, 0, 1, 2, 3, 4, 10)] == [0, 0, 0, 1, 2, 2, 4]
    assert count_primes(store, 100_000) == 9592


def test_wordfreq_exports_only_start(engine: wasmtime.Engine, built: dict[str, Path]) -> None:
    module = load(engine, built["wordfreq"])
    assert function_exports(module) == {"_start"}
    assert {i.module for i in module.imports} <= {"wasi_snapshot_preview1"}


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        (
            b"The cat and the dog. THE end; a cat, a a!",
            '{"a":3,"the":3,"cat":2,"and":1,"dog":1}',
        ),
        (b"the the the a a", '{"the":3,"a":2}'),
        (b"", "{}"),
        (b"123 -- !!", "{}"),
        (b"Don't stop", '{"don":1,"stop":1,"t":1}'),
    ],
)
def test_wordfreq(
    engine: wasmtime.Engine, built: dict[str, Path], tmp_path: Path, stdin: bytes, expected: str
) -> None:
    code, stdout = run_command(engine, load(engine, built["wordfreq"]), stdin, tmp_path)
    assert code == 0
    assert stdout.decode() == expected


def test_wordfreq_large_input(
    engine: wasmtime.Engine, built: dict[str, Path], tmp_path: Path
) -> None:
    def word(n: int) -> str:  # distinct letters-only words: qa, qb, ..., qba, ...
        letters = ""
        while True:
            n, digit = divmod(n, 26)
            letters += chr(ord("a") + digit)
            if n == 0:
                return "q" + letters

    # ~1.5 MiB: 997 words about 200 times each, and "Zebra" 5000 times.
    stdin = (" ".join(word(i % 997) for i in range(200_000)) + " Zebra" * 5000).encode()
    code, stdout = run_command(engine, load(engine, built["wordfreq"]), stdin, tmp_path)
    assert code == 0
    result = json.loads(stdout)
    assert len(result) == 5
    assert next(iter(result.items())) == ("zebra", 5000)


# --- the build script ---------------------------------------------------------


def test_build_script_cli(tmp_path: Path) -> None:
    out = tmp_path / "out"

    def run() -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, str(BUILD_SCRIPT), "--out", str(out)]
        return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)

    first = run()
    assert first.returncode == 0, first.stderr
    assert f"built {out / 'primes.wasm'}" in first.stdout
    assert f"built {out / 'wordfreq.wasm'}" in first.stdout

    second = run()  # everything is up to date now
    assert second.returncode == 0, second.stderr
    assert "built" not in second.stdout


def test_build_failure_reports_compiler_message(
    build: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = tmp_path / "src"
    sources.mkdir()
    (sources / "broken.c").write_text("int main(void) { return not_declared; }\n")
    monkeypatch.setattr(build, "PLUGINS_DIR", sources)
    with pytest.raises(build.BuildError, match="not_declared"):
        build.build_examples(tmp_path / "out", log=None)
    assert list((tmp_path / "out").iterdir()) == []  # no partial output
