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


BROKEN = """\
plugins:
  add: {source: add.wat}
  echo: {source: echo.wat}
  gone: {source: gone.wasm}
  junk: {source: junk.wasm}
  passwd: {source: /etc/passwd}
  needs:
    source: needs.wat
    imports: {env.double: add.double}
pipelines:
  p:
    input: "-"
    stages:
      - {plugin: add, export: ad}
      - {plugin: echo, export: shout}
"""


def _broken(tmp_path: Path) -> Path:
    (tmp_path / "add.wat").write_text(ADD)
    (tmp_path / "echo.wat").write_text(ECHO_WASI)
    (tmp_path / "junk.wasm").write_bytes(b"MZ\x90\x00" + bytes(60))
    (tmp_path / "needs.wat").write_text(
        '(module (import "env" "double" (func (param i32) (result i32)))'
        ' (import "env" "log" (func (param i32))))'
    )
    cfg = tmp_path / "broken.yaml"
    cfg.write_text(BROKEN)
    return cfg


def test_validate_opens_the_plugins_and_reports_every_problem(tmp_path: Path) -> None:
    """validate checks what a run would reject: sources, imports, routes, stage
    exports (a WASI command called by another name); every problem, each at the
    field to fix, exit 2; a source that is not WAT is never echoed."""
    cfg = _broken(tmp_path)
    proc = orchestra("validate", str(cfg))
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.decode().splitlines() == [
        f"orchestra: {cfg}:4:18: plugins.gone.source: no such file: {tmp_path / 'gone.wasm'}",
        f"orchestra: {cfg}:5:18: plugins.junk.source: not a wasm module: "
        f"{tmp_path / 'junk.wasm'} does not start with \\0asm (the wasm magic number)",
        f"orchestra: {cfg}:6:20: plugins.passwd.source: not a wasm module nor WAT text: "
        "/etc/passwd starts with neither \\0asm nor '('",
        f"orchestra: {cfg}:8:5: plugins.needs.host_modules: import 'env.log' is not "
        "provided; grant a host module (host_modules: [env]) or route it (imports: "
        '{"env.log": other_plugin.export})',
        f'orchestra: {cfg}:9:27: plugins.needs.imports["env.double"]: route to add.double: '
        "plug-in 'add' has no export 'double' (its exports: add)",
        f"orchestra: {cfg}:14:31: pipelines.p.stages[0].export: plug-in 'add' has no "
        "export 'ad' (its exports: add)",
        f"orchestra: {cfg}:15:32: pipelines.p.stages[1].export: plug-in 'echo' is a WASI "
        "command: it has one entry point, call it as '_start' (not 'shout')",
    ]
    assert b"root:" not in proc.stderr


def test_inspect_never_echoes_a_file_that_is_not_wat(tmp_path: Path) -> None:
    """A source pointing at /etc/passwd is neither wasm nor WAT: said so, not quoted."""
    proc = orchestra("inspect", "/etc/passwd")
    assert (proc.returncode, proc.stderr.decode()) == (
        2,
        "orchestra: not a wasm module nor WAT text: /etc/passwd starts with neither "
        "\\0asm nor '('\n",
    )


def test_run_refuses_a_misspelled_export_before_reading_a_record(tmp_path: Path) -> None:
    """A stage export that does not exist is exit 2 before any record is read (it
    used to fail every record, one stderr line each)."""
    (tmp_path / "add.wat").write_text(ADD)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "plugins:\n  add: {source: add.wat}\n"
        "pipelines:\n  p: {stages: [{plugin: add, export: ad}]}\n"
    )
    proc = orchestra("run", str(cfg), "--input", "-", input=b"[1, 2]\n" * 50)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.decode().splitlines() == [
        f"orchestra: {cfg}:4:38: pipelines.p.stages[0].export: plug-in 'add' has no "
        "export 'ad' (its exports: add)"
    ]


@pytest.mark.parametrize("name", ["demo.yaml", "text.yaml", "logs.yaml"])
def test_shipped_configs_validate(name: str) -> None:
    """Every config in config/ that needs no build step passes the deep checks
    (hostplugins.yaml needs its build: test_hostplugins validates it once built)."""
    proc = orchestra("validate", str(REPO / "config" / name))
    assert (proc.returncode, proc.stderr) == (0, b"")


def test_set_and_env_on_validate_run_and_call(tmp_path: Path) -> None:
    """--set overrides a value on validate, run and call -c; ${VAR} comes from the
    environment; an error in an overridden value names the --set item."""
    (tmp_path / "add.wat").write_text(ADD)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        'plugins:\n  add: {source: add.wat, instances: "${ADD_INSTANCES:-1}"}\n'
        "pipelines:\n  p: {stages: [{plugin: add, export: ad}]}\n"
    )
    fix = "pipelines.p.stages[0].export=add"
    assert orchestra("validate", str(cfg)).returncode == 2
    proc = orchestra("validate", str(cfg), "--set", fix, "--set", "plugins.add.instances=2")
    assert (proc.returncode, proc.stdout.decode()) == (0, f"{cfg}: ok (1 plug-ins, 1 pipelines)\n")
    proc = orchestra("validate", str(cfg), "--set", fix, "--set", "plugins.add.instances=lots")
    assert proc.returncode == 2
    assert proc.stderr.decode() == (
        "orchestra: --set plugins.add.instances=lots: plugins.add.instances: expected an "
        "integer, got 'lots'\n"
    )
    proc = orchestra("run", str(cfg), "--input", "-", "--set", fix, input=b"[1, 2]\n[3, 4]\n")
    assert (proc.returncode, proc.stdout) == (0, b"[3]\n[7]\n"), proc.stderr.decode()
    proc = orchestra("call", "-c", str(cfg), "add", "add", "--input", "[2, 5]", "--set", fix)
    assert (proc.returncode, proc.stdout) == (0, b"[7]\n"), proc.stderr.decode()
    env_cfg = tmp_path / "env.yaml"
    env_cfg.write_text(cfg.read_text().replace("${ADD_INSTANCES:-1}", "${ADD_INSTANCES}"))
    proc = orchestra("validate", str(env_cfg), "--set", fix)
    assert proc.returncode == 2
    assert proc.stderr.decode() == (
        f"orchestra: {env_cfg}:2:37: plugins.add.instances: environment variable "
        "'ADD_INSTANCES' is not set (give it a default: ${ADD_INSTANCES:-default}; write "
        "$${ for a literal ${)\n"
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
