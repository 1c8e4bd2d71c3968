"""The command line, end to end, as a user runs it (a real subprocess each time)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestra.testing import ADD, ECHO_WASI, EXIT_CODE, TRAP

from ..conftest import REPO, run_orchestra


def orchestra(*args: str, **kw: Any) -> subprocess.CompletedProcess[bytes]:
    return run_orchestra(*args, timeout=120, **kw)


WatFile = Callable[[str, str], Path]


def demo_expected(line: str) -> str:
    """What redact -> shout -> vowels does to one line, computed independently."""
    redacted = "".join("#" if c.isdigit() else c for c in line)
    shouted = redacted.upper()
    vowels = sum(c in "aeiouAEIOU" for c in shouted)
    return f"{shouted} [vowels={vowels}]"


def test_run_demo_from_another_directory(tmp_path: Path) -> None:
    """`orchestra run config/demo.yaml` streams the shipped sample in input order;
    relative paths resolve against the config file, not the cwd."""
    proc = orchestra(
        "run",
        str(REPO / "config" / "demo.yaml"),
        "--stats-json",
        str(tmp_path / "s.json"),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    lines = (REPO / "config" / "data" / "demo-input.txt").read_text().splitlines()
    assert proc.stdout.decode().splitlines() == [demo_expected(x) for x in lines]
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["records_ok"] == len(lines) and stats["records_failed"] == 0
    assert stats["plugins"]["shout"]["calls"] == len(lines)
    assert b"200 ok, 0 failed" in proc.stderr


def test_run_from_stdin_to_file_keeps_order(tmp_path: Path) -> None:
    """Many records in flight, output still in input order."""
    records = [f"line {i} has {i % 10} digits" for i in range(2000)]
    out = tmp_path / "out.txt"
    proc = orchestra(
        "run",
        str(REPO / "config" / "demo.yaml"),
        "--input",
        "-",
        "--output",
        str(out),
        input="\n".join(records).encode() + b"\n",
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert out.read_text().splitlines() == [demo_expected(r) for r in records]


def test_run_exit_code_1_when_records_fail(tmp_path: Path, wat_file: WatFile) -> None:
    """A pipeline whose stage fails every record exits 1 and names the error."""
    bad = wat_file("bad", EXIT_CODE)
    cfg = tmp_path / "p.yaml"
    cfg.write_text(
        f"plugins:\n  bad: {{source: {bad}}}\n"
        "pipelines:\n  p:\n    stages: [{plugin: bad, export: _start}]\n    on_error: skip\n"
    )
    proc = orchestra("run", str(cfg), "--input", "-", input=b"a\nb\n")
    assert proc.returncode == 1
    assert proc.stdout == b""
    assert (
        b"record 0: bad._start: PluginError: bad._start instance 0: exited with code 3: bad"
        in proc.stderr
    )
    assert b"0 ok, 2 failed" in proc.stderr


def test_call_bare_wat_like_extism_call(wat_file: WatFile) -> None:
    """`orchestra call FILE.wat EXPORT --input TEXT` prints the output bytes."""
    proc = orchestra("call", str(wat_file("echo", ECHO_WASI)), "_start", "--input", "hello")
    assert (proc.returncode, proc.stdout) == (0, b"hello")


def test_call_core_abi_json_numbers(wat_file: WatFile) -> None:
    proc = orchestra("call", str(wat_file("add", ADD)), "add", "--input", "[2, 40]", "--loop", "3")
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"[42]\n[42]\n[42]\n"


def test_call_plugin_error_exits_1(wat_file: WatFile) -> None:
    proc = orchestra("call", str(wat_file("trap", TRAP)), "boom")
    assert proc.returncode == 1
    assert (
        b"PluginTrap: trap.boom instance 0: wasm `unreachable` instruction executed" in proc.stderr
    )


def test_call_from_config_plugin() -> None:
    proc = orchestra(
        "call", "-c", str(REPO / "config" / "demo.yaml"), "shout", "_start", "--input", "abc1"
    )
    assert (proc.returncode, proc.stdout) == (0, b"ABC1")


def test_call_missing_file_is_usage_error() -> None:
    proc = orchestra("call", "nope.wasm", "run")
    assert proc.returncode == 2
    assert b"nope.wasm: no such file" in proc.stderr


def test_validate_ok_and_error_with_location(tmp_path: Path) -> None:
    """validate exits 0 on the demo and 2 with FILE:LINE:COL: path: message on errors."""
    ok = orchestra("validate", str(REPO / "config" / "demo.yaml"))
    assert ok.returncode == 0, ok.stderr.decode()
    bad = tmp_path / "bad.yaml"
    bad.write_text("plugins:\n  vowels:\n    source: x.wasm\n    limits:\n      memory: lots\n")
    proc = orchestra("validate", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == (
        f"orchestra: {bad}:5:15: plugins.vowels.limits.memory: expected a size like 64MiB, got 'lots'"
    )


def test_schema_prints_json_schema() -> None:
    proc = orchestra("schema")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    assert schema == json.loads((REPO / "config" / "schema.json").read_text())


def test_inspect_shows_abi_exports_imports(wat_file: WatFile) -> None:
    proc = orchestra("inspect", str(wat_file("echo", ECHO_WASI)))
    assert proc.returncode == 0, proc.stderr.decode()
    text = proc.stdout.decode()
    assert "abi: wasi-command" in text
    assert "_start" in text
    assert "wasi_snapshot_preview1.fd_read: func (i32, i32, i32, i32) -> (i32)  <- WASI" in text
    assert "_start: func () -> ()" in text


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_log_format_goes_to_stderr(wat_file: WatFile, fmt: str) -> None:
    """Logs never mix with results: stdout holds only the output bytes."""
    proc = orchestra(
        "call",
        str(wat_file("echo", ECHO_WASI)),
        "_start",
        "--input",
        "x",
        "--log-format",
        fmt,
        "--log-level",
        "info",
    )
    assert proc.stdout == b"x"
    assert b"worker_started" in proc.stderr
    if fmt == "json":
        events = [
            json.loads(line) for line in proc.stderr.decode().splitlines() if line.startswith("{")
        ]
        assert any(e["event"] == "worker_started" and e["plugin"] == "echo" for e in events)


def test_inspect_a_config_plugin_shows_its_routes() -> None:
    """`orchestra inspect -c CONFIG PLUGIN` says which imports a route serves."""
    proc = orchestra("inspect", "-c", str(REPO / "config" / "logs.yaml"), "enrich")
    assert proc.returncode == 0, proc.stderr.decode()
    assert (
        "extism:host/user.lookup: func (i64) -> (i64)  <- route to owners.lookup (imports:)"
        in proc.stdout.decode()
    )
