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


# -- call: input, usage errors, WASI options ---------------------------------------------

#: wasi-command: writes its argv strings, then its environment strings (each ending
#: in NUL) to stdout, and ``warn: from stderr\n`` twice to stderr.
ARGS_ENV_WASI = """\
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $asz (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $aget (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $esz (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $eget (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  ;; 0..7 iovec, 8..11 written, 16..23 sizes, 100.. message, 1024.. pointers, 4096.. strings
  (memory (export "memory") 1)
  (data (i32.const 100) "warn: from stderr\\n")
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (drop (call $asz (i32.const 16) (i32.const 20)))
    (drop (call $aget (i32.const 1024) (i32.const 4096)))
    (call $write (i32.const 1) (i32.const 4096) (i32.load (i32.const 20)))
    (drop (call $esz (i32.const 16) (i32.const 20)))
    (drop (call $eget (i32.const 1024) (i32.const 4096)))
    (call $write (i32.const 1) (i32.const 4096) (i32.load (i32.const 20)))
    (call $write (i32.const 2) (i32.const 100) (i32.const 18))
    (call $write (i32.const 2) (i32.const 100) (i32.const 18)))
)
"""


def test_call_reads_stdin_when_no_input_is_given(wat_file: WatFile) -> None:
    """`echo hi | orchestra call ...` sends `hi`; `--input-file -` reads stdin too;
    with stdin at EOF (or /dev/null) and no input the call gets empty input."""
    echo = str(wat_file("echo", ECHO_WASI))
    piped = orchestra("call", echo, "_start", input=b"hi\n")
    assert (piped.returncode, piped.stdout) == (0, b"hi\n"), piped.stderr.decode()
    dash = orchestra("call", echo, "_start", "--input-file", "-", input=b"from stdin")
    assert (dash.returncode, dash.stdout) == (0, b"from stdin"), dash.stderr.decode()
    empty = orchestra("call", echo, "_start")  # stdin is /dev/null
    assert (empty.returncode, empty.stdout) == (0, b""), empty.stderr.decode()
    core = orchestra("call", str(wat_file("add", ADD)), "add", input=b"[2, 40]")
    assert (core.returncode, core.stdout) == (0, b"[42]\n"), core.stderr.decode()


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("[2]", "add takes 2 arguments (i32, i32), got 1: --input '[2]'"),
        ("[1, 2, 3]", "add takes 2 arguments (i32, i32), got 3: --input '[1, 2, 3]'"),
        (
            "[2.5, 1]",
            "add takes 2 arguments (i32, i32): argument 1 is 2.5, not an integer (i32): "
            "--input '[2.5, 1]'",
        ),
        (
            "[1, 5000000000]",
            "add takes 2 arguments (i32, i32): argument 2 is 5000000000, out of range "
            "for an i32: --input '[1, 5000000000]'",
        ),
        (
            "hello",
            "add takes 2 arguments (i32, i32) as a JSON list of numbers like '[1, 1]', "
            "got --input 'hello'",
        ),
        (None, "add takes 2 arguments (i32, i32), got 0: no input"),
    ],
)
def test_call_core_abi_wrong_arguments_are_usage_errors(
    wat_file: WatFile, given: str | None, message: str
) -> None:
    """A core-ABI call with the wrong number or type of arguments exits 2 with one
    line in the CLI's words: no Python error, no "stage"."""
    extra = ["--input", given] if given is not None else []
    proc = orchestra("call", str(wat_file("add", ADD)), "add", *extra)
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == f"orchestra: {message}"


def test_call_core_abi_unknown_export_is_a_usage_error(wat_file: WatFile) -> None:
    proc = orchestra("call", str(wat_file("add", ADD)), "sub", "--input", "[1, 2]")
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == (
        "orchestra: add.wat: no exported function 'sub' (exports: add)"
    )


def test_call_env_and_arg_reach_a_wasi_command(wat_file: WatFile) -> None:
    """`--arg` (repeatable) follows argv[0]; `--env K=V` (repeatable) is the whole
    environment, as with `wasmtime run`."""
    proc = orchestra(
        "call",
        str(wat_file("argenv", ARGS_ENV_WASI)),
        "_start",
        "--arg",
        "one",
        "--arg",
        "two words",
        "--env",
        "GREETING=hi",
        "--env",
        "EMPTY=",
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"argenv\0one\0two words\0GREETING=hi\0EMPTY=\0"


def test_call_env_without_equals_is_a_usage_error(wat_file: WatFile) -> None:
    proc = orchestra("call", str(wat_file("echo", ECHO_WASI)), "_start", "--env", "NOPE")
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == "orchestra: --env expects K=V, got 'NOPE'"


def test_call_missing_host_plugin_path_is_a_usage_error(wat_file: WatFile) -> None:
    proc = orchestra(
        "call", str(wat_file("echo", ECHO_WASI)), "_start", "--host-plugin", "no/such/dir/"
    )
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == (
        "orchestra: --host-plugin no/such/dir/: no such file or directory"
    )


# -- run: signals ------------------------------------------------------------------------


class _Run:
    """``python -m orchestra run ...`` in the background, its stderr read as it comes."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        import os
        import queue
        import sys
        import threading

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "orchestra", "run", *args, "--log-level", "info"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert self.proc.stderr is not None
            for raw in self.proc.stderr:
                self._queue.put(raw.decode("utf-8", "replace"))
            self._queue.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Read stderr until a line contains ``text``."""
        import queue

        while not any(text in line for line in self.lines):
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                self.finish_killed()
                raise AssertionError(f"no {text!r} on stderr: {''.join(self.lines)}") from None
            if line is None:
                self.finish_killed()
                raise AssertionError(f"exited before {text!r}: {''.join(self.lines)}")
            self.lines.append(line)

    def finish_killed(self) -> None:
        self.proc.kill()
        self.proc.wait()
        assert self.proc.stderr is not None
        self.proc.stderr.close()

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.finish_killed()
            raise AssertionError(f"still running: {''.join(self.lines)}") from None
        while (line := self._queue.get(timeout=timeout)) is not None:
            self.lines.append(line)
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return code, "".join(self.lines)


#: wasi-command: writes ``spinning`` to stderr, then loops forever.
SPIN_WASI = """\
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "spinning\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 9))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop $forever (br $forever))))
"""


def _spin_config(tmp_path: Path, wat_file: WatFile) -> Path:
    """A pipeline whose records never finish (a command that loops, with a 60 s
    timeout), two records in flight at most; the first says ``spinning``."""
    cfg = tmp_path / "spin.yaml"
    cfg.write_text(
        f"plugins:\n  spin: {{source: {wat_file('spin', SPIN_WASI)}, limits: {{timeout: 60s}}}}\n"
        "pipelines:\n  p:\n    max_records_in_flight: 2\n"
        "    stages: [{plugin: spin, export: _start}]\n"
    )
    (tmp_path / "in.txt").write_text("x\n" * 10)
    return cfg


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_run_second_signal_exits_130_at_once(tmp_path: Path, wat_file: WatFile, sig: str) -> None:
    """While records in flight are given their grace period (here never-ending ones,
    a grace of 120 s), a second SIGINT or SIGTERM exits 130 at once."""
    import signal

    cfg = _spin_config(tmp_path, wat_file)
    run = _Run(
        str(cfg), "--input", str(tmp_path / "in.txt"), env={"ORCHESTRA_SHUTDOWN_GRACE": "120"}
    )
    run.wait_for("worker_started")
    run.proc.send_signal(signal.Signals[sig])
    run.wait_for("finishing the records in flight")
    run.proc.send_signal(signal.Signals[sig])
    code, err = run.finish(timeout=60)
    assert code == 130, err
    assert "Traceback" not in err and "Aborted!" not in err
    assert " ok, " not in err  # no summary: it stopped at once


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_run_second_signal_during_the_summary_exits_130(
    tmp_path: Path, wat_file: WatFile, sig: str, attempt: int
) -> None:
    """A second signal that comes after the pipeline has finished, while the summary
    is being written (here: --stats-json into a FIFO nobody reads yet), still exits
    130 at once: no `Aborted!` (exit 1), no 143 for SIGTERM."""
    import os
    import signal

    cfg = _spin_config(tmp_path, wat_file)
    fifo = tmp_path / "stats.fifo"
    os.mkfifo(fifo)
    run = _Run(
        str(cfg),
        "--input",
        str(tmp_path / "in.txt"),
        "--stats-json",
        str(fifo),
        env={"ORCHESTRA_SHUTDOWN_GRACE": "0.2"},
    )
    run.wait_for("worker_started")
    run.proc.send_signal(signal.Signals[sig])
    run.wait_for("plug-in  instances")  # the summary table: stats come next
    run.proc.send_signal(signal.Signals[sig])
    try:
        code, err = run.finish(timeout=60)
    finally:
        if run.proc.poll() is None:  # still blocked on the FIFO: let it go
            with open(fifo, "rb") as fh:
                fh.read()
    assert code == 130, err
    assert "Traceback" not in err and "Aborted!" not in err


def test_run_interrupt_counts_records_from_0(tmp_path: Path, wat_file: WatFile) -> None:
    """With records 0 and 1 in flight (never finishing) and the grace spent, the
    message names record 1 as the last one read, counting from 0 like every index."""
    import signal

    cfg = _spin_config(tmp_path, wat_file)
    run = _Run(
        str(cfg), "--input", str(tmp_path / "in.txt"), env={"ORCHESTRA_SHUTDOWN_GRACE": "0.2"}
    )
    run.wait_for("spinning")  # record 0 runs; record 1 waits behind it
    run.proc.send_signal(signal.SIGINT)
    code, err = run.finish(timeout=90)
    assert code == 130, err
    assert (
        "orchestra: p: stopped by SIGINT; input after record 1 was not read; "
        "2 records in flight were abandoned after 0.2s"
    ) in err


# -- WASI stderr ---------------------------------------------------------------------------

#: wasi-command: writes ``line N`` for N in 0..149 to stderr, then ``tail`` (no newline).
CHATTY_WASI = """\
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "line 000\\n")
  (data (i32.const 200) "tail")
  (func $write (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (local $i i32)
    (loop $next
      ;; "line NNN": three decimal digits of $i at 105..107
      (i32.store8 (i32.const 105) (i32.add (i32.const 48) (i32.div_u (local.get $i) (i32.const 100))))
      (i32.store8 (i32.const 106)
        (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $i) (i32.const 10)) (i32.const 10))))
      (i32.store8 (i32.const 107) (i32.add (i32.const 48) (i32.rem_u (local.get $i) (i32.const 10))))
      (call $write (i32.const 100) (i32.const 9))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 150))))
    (call $write (i32.const 200) (i32.const 4)))
)
"""


def _events(stderr: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]


def test_wasi_stderr_lines_are_log_events_tagged_with_plugin_and_instance(
    wat_file: WatFile,
) -> None:
    """What a WASI command writes to stderr comes out as `plugin_stderr` events with
    `plugin` and `instance`, one per line (never raw text), shown at the default
    level; stdout still holds only the output."""
    proc = orchestra(
        "call", str(wat_file("argenv", ARGS_ENV_WASI)), "_start", "--log-format", "json"
    )
    assert proc.returncode == 0, proc.stderr.decode()
    lines = [line for line in proc.stderr.decode().splitlines() if line.strip()]
    assert all(line.startswith("{") for line in lines), lines
    events = [e for e in _events(proc.stderr) if e["event"] == "plugin_stderr"]
    assert [(e["plugin"], e["instance"], e["level"], e["line"]) for e in events] == [
        ("argenv", 0, "warning", "warn: from stderr")
    ] * 2
    assert proc.stdout == b"argenv\0"


def test_wasi_stderr_is_bounded_per_call(wat_file: WatFile) -> None:
    """A flood of stderr costs at most 100 events per call, then one that counts the
    rest (the last line, which has no newline, among them)."""
    proc = orchestra("call", str(wat_file("chatty", CHATTY_WASI)), "_start", "--log-format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    lines = [e["line"] for e in _events(proc.stderr) if e["event"] == "plugin_stderr"]
    assert lines == [f"line {i:03d}" for i in range(100)] + ["…(51 lines more)"]


# -- inspect and plugins: manifests, JSON --------------------------------------------------

LIB_WAT = '(module (func (export "triple") (param i32) (result i32) local.get 0))'
MAIN_WAT = """(module
  (import "mathlib" "triple" (func (param i32) (result i32)))
  (import "extism:host/env" "input_length" (func (result i64)))
  (func (export "run") (result i32) (i32.const 0)))
"""


def test_inspect_an_extism_manifest_as_json(tmp_path: Path) -> None:
    """`orchestra inspect` takes an Extism manifest as `call` does: its main module
    is described, an import another module of the manifest serves says so; --json
    has the documented keys."""
    (tmp_path / "lib.wat").write_text(LIB_WAT)
    (tmp_path / "main.wat").write_text(MAIN_WAT)
    manifest = tmp_path / "plugin.json"
    manifest.write_text(
        json.dumps({"wasm": [{"path": "lib.wat", "name": "mathlib"}, {"path": "main.wat"}]})
    )
    proc = orchestra("inspect", str(manifest), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    info = json.loads(proc.stdout)
    assert info == {
        "module": str(manifest),
        "abi": "extism",
        "linked": ["mathlib"],
        "exports": [{"name": "run", "type": "func () -> (i32)"}],
        "imports": [
            {
                "module": "mathlib",
                "name": "triple",
                "type": "func (i32) -> (i32)",
                "bound": "manifest",
                "detail": "module 'mathlib' of the manifest",
            },
            {
                "module": "extism:host/env",
                "name": "input_length",
                "type": "func () -> (i64)",
                "bound": "kernel",
                "detail": "Extism kernel",
            },
        ],
    }
    text = orchestra("inspect", str(manifest))
    assert text.returncode == 0, text.stderr.decode()
    assert "mathlib.triple: func (i32) -> (i32)  <- module 'mathlib' of the manifest" in (
        text.stdout.decode()
    )


def test_plugins_json_lists_host_plugins_with_their_functions() -> None:
    proc = orchestra("plugins", "--json", "--path", str(REPO / "examples" / "hostplugins"))
    assert proc.returncode == 0, proc.stderr.decode()
    info = json.loads(proc.stdout)
    assert sorted(info) == ["errors", "plugins", "searched", "shadowed"]
    text = next(p for p in info["plugins"] if p["name"] == "orchestra_text")
    assert text["kind"] == "python" and text["version"] == "1.0.0"
    assert text["file"] == str(REPO / "examples" / "hostplugins" / "orchestra_text.py")
    assert text["modules"] == [
        {
            "name": "orchestra_text",
            "functions": [
                {"name": "title", "params": ["bytes"], "results": ["bytes"]},
                {"name": "word_count", "params": ["bytes"], "results": ["i64"]},
            ],
        }
    ]
    assert str(REPO / "examples" / "hostplugins") in info["searched"]


# -- shell completion -----------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_script(shell: str) -> None:
    """`_ORCHESTRA_COMPLETE={shell}_source orchestra` prints a completion script (the
    README shows how to install it), and completing `orchestra ru` offers `run`."""
    import os
    import sys

    env = {**os.environ, "PYTHONPATH": str(REPO), "_ORCHESTRA_COMPLETE": f"{shell}_source"}
    script = subprocess.run(
        [sys.executable, "-m", "orchestra"], env=env, capture_output=True, timeout=60
    )
    assert script.returncode == 0, script.stderr.decode()
    assert b"_ORCHESTRA_COMPLETE" in script.stdout
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "_ORCHESTRA_COMPLETE": "bash_complete",
        "COMP_WORDS": "orchestra ru",
        "COMP_CWORD": "1",
    }
    words = subprocess.run(
        [sys.executable, "-m", "orchestra"], env=env, capture_output=True, timeout=60
    )
    assert words.stdout.decode().split() == ["plain,run"]


def test_run_first_signal_stops_a_stdin_that_never_ends(tmp_path: Path, wat_file: WatFile) -> None:
    """`tail -f log | orchestra run CONFIG --input -`: the first SIGINT stops the
    run, finishing what was read, without waiting for a line that never comes."""
    import os
    import signal
    import sys

    cfg = tmp_path / "p.yaml"
    cfg.write_text(
        f"plugins:\n  argenv: {{source: {wat_file('argenv', ARGS_ENV_WASI)}}}\n"
        "pipelines:\n  p:\n    stages: [{plugin: argenv, export: _start}]\n"
    )
    out = tmp_path / "out.txt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestra", "run", str(cfg), "--input", "-", "--output", str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(b"one record\n")
    proc.stdin.flush()  # and the pipe stays open
    seen = b""
    while b"warn: from stderr" not in seen:  # record 0 has run
        line = proc.stderr.readline()
        assert line, seen.decode()
        seen += line
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        proc.stdin.close()
        proc.stderr.close()  # (its workers may hold the pipe a while: no read)
        raise AssertionError(f"still waiting for stdin: {seen.decode()}") from None
    err = seen + proc.stderr.read()
    proc.stdin.close()
    proc.stderr.close()
    assert code == 130, err.decode()
    assert out.read_bytes() == b"argenv\0\n"
    assert b"orchestra: p: stopped by SIGINT; input after record 0 was not read" in err


DEBUG_LOGGER = """(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store (param i64 i32)))
  (import "extism:host/env" "log_debug" (func $log_debug (param i64)))
  (func (export "run") (result i32) (local $h i64)
    (local.set $h (call $alloc (i64.const 2)))
    (call $store (local.get $h) (i32.const 104))
    (call $store (i64.add (local.get $h) (i64.const 1)) (i32.const 105))
    (call $log_debug (local.get $h))
    (i32.const 0)))"""


def test_run_log_level_reaches_the_workers(tmp_path: Path, wat_file: WatFile) -> None:
    """``run --log-level debug`` lets a plug-in's own debug lines through, as
    ``call`` does: the level is the workers' too, not only the supervisor's."""
    src = wat_file("dbg", DEBUG_LOGGER)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"plugins:\n  dbg: {{source: {src}}}\n"
        "pipelines:\n  p: {stages: [{plugin: dbg, export: run}]}\n"
    )
    proc = orchestra(
        "run",
        str(cfg),
        "--input",
        "-",
        "--log-level",
        "debug",
        "--log-format",
        "json",
        input=b"one\n",
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith(b"{")]
    assert any(e.get("plugin") == "dbg" and "hi" in json.dumps(e) for e in events), proc.stderr
