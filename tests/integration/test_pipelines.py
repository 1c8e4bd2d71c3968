"""Pipelines end to end, with real worker processes: through ``orchestra run`` and
through ``Orchestra.run_pipeline``. Ordering, fan-out joins, filters, ``when``,
every error policy, every input and output form, ``orchestra graph``, the
shipped example configs, and memory that stays flat over a large input."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from orchestra import Orchestra, load_config
from orchestra.config import Config, Duration, Limits, PipelineSpec, PluginSpec, Retry, Stage
from orchestra.errors import ConfigError, PluginCrashed, PluginTimeout, PluginTrap

from ..conftest import REPO
from ..conftest import run_orchestra as orchestra

WatFile = Callable[[str, str], Path]
NewOrchestra = Callable[..., Orchestra]  # the new_orchestra fixture: local, then ray
PLUGINS = REPO / "examples" / "plugins"

# extism: echo spins (last byte % 8) x 40000 iterations first, so records finish out
# of order; check fails with "rejected" when the input starts with 'x', else echoes.
SPIN = """(module
  (import "extism:host/env" "input_length" (func $inlen (result i64)))
  (import "extism:host/env" "input_offset" (func $in (result i64)))
  (import "extism:host/env" "input_load_u8" (func $load (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u64" (func $store64 (param i64 i64)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  (import "extism:host/env" "error_set" (func $err (param i64)))
  (memory 1)
  (data (i32.const 0) "rejected")
  (func (export "echo") (result i32) (local $n i64) (local $i i32) (local $spin i32)
    (local.set $n (call $inlen))
    (if (i64.gt_u (local.get $n) (i64.const 0))
      (then (local.set $spin
        (i32.mul (i32.and (call $load (i64.sub (local.get $n) (i64.const 1))) (i32.const 7))
                 (i32.const 40000)))))
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $spin))))
    (call $out (call $in) (local.get $n))
    (i32.const 0))
  (func (export "check") (result i32) (local $h i64)
    (if (i32.eq (call $load (i64.const 0)) (i32.const 120))
      (then
        (local.set $h (call $alloc (i64.const 8)))
        (call $store64 (local.get $h) (i64.load (i32.const 0)))
        (call $err (local.get $h))
        (return (i32.const 1))))
    (call $out (call $in) (call $inlen))
    (i32.const 0)))"""


def write_config(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def plugins_yaml(spin: Path) -> str:
    return (
        "plugins:\n"
        f"  spin: {{source: {spin}, instances: 4}}\n"
        f"  text: {{source: {PLUGINS / 'textstats.wat'}, instances: 2}}\n"
        f"  shout: {{source: {PLUGINS / 'shout.wat'}, instances: 2}}\n"
    )


# -- the Python API ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_output_in_input_order_with_many_records_in_flight(
    tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """Records finish out of order on 4 instances; ordered output is still in input
    order, and `ordered: false` loses and duplicates nothing."""
    cfg = write_config(
        tmp_path,
        plugins_yaml(wat_file("spin", SPIN))
        + "pipelines:\n  p:\n    stages: [{plugin: spin, export: echo}]\n",
    )
    records = [f"record {i}".encode() for i in range(3000)]
    async with new_orchestra(load_config(cfg)) as orch:
        run = orch.run_pipeline("p", records)
        got = [r async for r in run]
        assert [r.index for r in got] == list(range(3000))
        assert [r.output for r in got] == records
        assert run.stats.ok == 3000 and run.stats.in_flight == 0

        unordered = [r async for r in orch.run_pipeline("p", records, ordered=False)]
        assert sorted(r.index for r in unordered) == list(range(3000))
        assert all(r.ok and r.output == records[r.index] for r in unordered)


@pytest.mark.anyio
async def test_parallel_joins_branches_into_an_object_in_branch_order(
    tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """The first branch is the slowest; the keys still come in the config's order."""
    cfg = write_config(
        tmp_path,
        plugins_yaml(wat_file("spin", SPIN)) + "pipelines:\n  p:\n    stages:\n      - parallel:\n"
        "          slow: {plugin: spin, export: echo}\n"
        "          words: {plugin: text, export: words}\n"
        "          shout: {plugin: shout, export: _start}\n",
    )
    async with new_orchestra(load_config(cfg)) as orch:
        got = [r async for r in orch.run_pipeline("p", [b"to be or not 7", b'{"a": [1]}'])]
    assert got[0].output == b'{"slow":"to be or not 7","words":5,"shout":"TO BE OR NOT 7"}'
    # a branch output that is JSON is embedded as JSON
    assert json.loads(got[1].output or b"") == {"slow": {"a": [1]}, "words": 2, "shout": {"A": [1]}}


@pytest.mark.anyio
async def test_a_failed_branch_fails_the_record_and_nothing_else(
    tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """One branch failing fails that record (the stage is the parallel one, the error
    the branch's); the other records and the run go on under on_error: skip."""
    cfg = write_config(
        tmp_path,
        plugins_yaml(wat_file("spin", SPIN))
        + "pipelines:\n  p:\n    on_error: skip\n    stages:\n      - parallel:\n"
        "          check: {plugin: spin, export: check}\n"
        "          words: {plugin: text, export: words}\n",
    )
    async with new_orchestra(load_config(cfg)) as orch:
        got = [r async for r in orch.run_pipeline("p", [b"ok", b"x bad", b"fine"])]
    assert [r.output for r in got] == [
        b'{"check":"ok","words":1}',
        None,
        b'{"check":"fine","words":1}',
    ]
    assert got[1].stage == "parallel(check, words)"
    assert type(got[1].error).__name__ == "PluginError" and "rejected" in str(got[1].error)


@pytest.mark.anyio
async def test_run_pipeline_refuses_a_missing_export_before_taking_a_record(
    tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """run_pipeline checks every stage's export against the loaded instances: a
    ConfigError naming the stage's field, before a record is taken (a WASI command
    answers only to its entry point)."""
    cfg = write_config(
        tmp_path,
        plugins_yaml(wat_file("spin", SPIN)) + "pipelines:\n"
        "  typo: {stages: [{plugin: spin, export: echo}, {filter: {plugin: text, export: wrds}}]}\n"
        "  cmd: {stages: [{parallel: {s: {plugin: shout, export: shout}}}]}\n",
    )
    taken: list[bytes] = []

    def records() -> Iterator[bytes]:
        taken.append(b"r")
        yield b"r"

    async with new_orchestra(load_config(cfg)) as orch:
        with pytest.raises(ConfigError) as info:
            orch.run_pipeline("typo", records())
        assert str(info.value) == (
            "pipelines.typo.stages[1].filter.export: plug-in 'text' has no export 'wrds' "
            "(its exports: has_letters, vowels, words)"
        )
        with pytest.raises(ConfigError) as info:
            orch.run_pipeline("cmd", records())
        assert str(info.value) == (
            "pipelines.cmd.stages[0].parallel.s.export: plug-in 'shout' is a WASI command: "
            "it has one entry point, call it as '_start' (not 'shout')"
        )
    assert taken == []


@pytest.mark.anyio
async def test_filters_drop_records_by_verdict_and_by_field(
    tmp_path: Path, new_orchestra: NewOrchestra
) -> None:
    """A plug-in verdict and a field condition drop records: they come out as
    ok + dropped, with no output, and are counted apart."""
    cfg = write_config(
        tmp_path,
        f"plugins:\n  text: {{source: {PLUGINS / 'textstats.wat'}}}\n"
        "pipelines:\n  p:\n    stages:\n"
        "      - {filter: {plugin: text, export: has_letters}}\n"
        "      - parallel: {words: {plugin: text, export: words}}\n"
        "      - {name: many, filter: {field: words, not_equals: 1}}\n",
    )
    records = [b"two words", b"---", b"one", b"", b"three more words"]
    async with new_orchestra(load_config(cfg)) as orch:
        run = orch.run_pipeline("p", records)
        got = [r async for r in run]
    assert [(r.ok, r.dropped, r.stage) for r in got] == [
        (True, False, None),
        (True, True, "filter(text.has_letters)"),
        (True, True, "many"),
        (True, True, "filter(text.has_letters)"),
        (True, False, None),
    ]
    assert [r.output for r in got if not r.dropped] == [b'{"words":2}', b'{"words":3}']
    assert (run.stats.ok, run.stats.dropped, run.stats.failed) == (2, 3, 0)
    assert [s.dropped for s in run.stats.stages] == [2, 0, 1]


@pytest.mark.anyio
async def test_when_skips_a_stage_for_records_that_fail_the_condition(
    tmp_path: Path, new_orchestra: NewOrchestra
) -> None:
    cfg = write_config(
        tmp_path,
        f"plugins:\n  shout: {{source: {PLUGINS / 'shout.wat'}}}\n"
        "pipelines:\n  p:\n    stages:\n"
        "      - {plugin: shout, export: _start, when: {field: kind, in: [loud]}}\n",
    )
    records = [b'{"kind":"loud","t":"hi"}', b'{"kind":"soft","t":"hi"}', b"not json"]
    async with new_orchestra(load_config(cfg)) as orch:
        got = [r.output async for r in orch.run_pipeline("p", records)]
        assert orch.stats()["shout"]["calls"] == 1
    assert got == [b'{"KIND":"LOUD","T":"HI"}', b'{"kind":"soft","t":"hi"}', b"not json"]


# -- error policies (through the CLI) ---------------------------------------------------
# Local only, from here on: the CLI in a subprocess, on its default backend (the Python
# API tests above run on both).


def policy_config(tmp_path: Path, spin: Path, on_error: str) -> Path:
    return write_config(
        tmp_path,
        f"plugins:\n  spin: {{source: {spin}, instances: 2}}\n"
        "pipelines:\n  p:\n    stages: [{plugin: spin, export: check}]\n"
        f"    on_error: {on_error}\n    max_records_in_flight: 8\n",
    )


def test_on_error_fail_stops_the_intake(tmp_path: Path, wat_file: WatFile) -> None:
    """The first failure stops reading; what was in flight finishes; exit 1."""
    cfg = policy_config(tmp_path, wat_file("spin", SPIN), "fail")
    records = [f"r{i}" for i in range(5000)]
    records[10] = "x bad"
    stats = tmp_path / "s.json"
    proc = orchestra(
        "run", str(cfg), "--input", "-", "--stats-json", str(stats),
        input="\n".join(records).encode(),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr.decode()
    assert b"record 10: spin.check: PluginError: " in proc.stderr
    assert b"rejected" in proc.stderr
    out = proc.stdout.decode().splitlines()
    assert out == [r for r in records[: len(out) + 1] if r != "x bad"]
    summary = json.loads(stats.read_text())
    assert summary["records_failed"] == 1
    assert summary["records_taken"] < 100  # the window is 8: reading stopped early
    assert len(out) == summary["records_ok"] < 100


def test_on_error_skip_goes_on(tmp_path: Path, wat_file: WatFile) -> None:
    cfg = policy_config(tmp_path, wat_file("spin", SPIN), "skip")
    records = ["a", "x1", "b", "x2", "c"]
    proc = orchestra("run", str(cfg), "--input", "-", input="\n".join(records).encode())
    assert proc.returncode == 1  # some records failed
    assert proc.stdout == b"a\nb\nc\n"
    assert b"record 1: spin.check: PluginError" in proc.stderr
    assert b"record 3: spin.check: PluginError" in proc.stderr
    assert b"3 ok, 2 failed in" in proc.stderr


def test_on_error_dead_letter_file(tmp_path: Path, wat_file: WatFile) -> None:
    """Each failed record: a JSON line with index, stage, error kind, message, input."""
    dead = tmp_path / "dead.jsonl"
    cfg = policy_config(tmp_path, wat_file("spin", SPIN), f"{{dead_letter: {dead}}}")
    proc = orchestra("run", str(cfg), "--input", "-", input=b"a\nx1\nb\nx2\n")
    assert proc.returncode == 1
    assert proc.stdout == b"a\nb\n"
    # lines come in the order the failures happened (each is flushed as it fails)
    letters = sorted(
        (json.loads(line) for line in dead.read_text().splitlines()), key=lambda d: d["index"]
    )
    assert [(d["index"], d["stage"], d["error"], d["input"]) for d in letters] == [
        (1, "spin.check", "PluginError", "x1"),
        (3, "spin.check", "PluginError", "x2"),
    ]
    assert all("rejected" in d["message"] for d in letters)


# -- inputs and outputs -----------------------------------------------------------------


def shout_config(tmp_path: Path, extra: str = "") -> Path:
    return write_config(
        tmp_path,
        f"plugins:\n  shout: {{source: {PLUGINS / 'shout.wat'}, instances: 2}}\n"
        f"pipelines:\n  p:\n    stages: [{{plugin: shout, export: _start}}]\n{extra}",
    )


def test_directory_in_directory_out(tmp_path: Path) -> None:
    """Each file is a record, in sorted name order (hidden files skipped); each output
    file has its input file's name."""
    cfg = shout_config(tmp_path)
    src = tmp_path / "in"
    src.mkdir()
    (src / "b.txt").write_bytes(b"second\nfile")
    (src / "a.txt").write_bytes(b"first")
    (src / "c.log").write_bytes(b"")
    (src / ".hidden").write_bytes(b"skipped")
    (src / "sub").mkdir()
    proc = orchestra("run", str(cfg), "--input", str(src), "--output", str(tmp_path / "out") + "/")
    assert proc.returncode == 0, proc.stderr.decode()
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt", "c.log"]
    assert (out / "a.txt").read_bytes() == b"FIRST"
    assert (out / "b.txt").read_bytes() == b"SECOND\nFILE"
    assert (out / "c.log").read_bytes() == b""

    proc = orchestra("run", str(cfg), "--input", str(src), "--output-format", "jsonl")
    assert [json.loads(x) for x in proc.stdout.splitlines()] == [
        {"index": 0, "file": "a.txt", "output": "FIRST"},
        {"index": 1, "file": "b.txt", "output": "SECOND\nFILE"},
        {"index": 2, "file": "c.log", "output": ""},
    ]


def test_lines_into_a_directory_are_named_by_index(tmp_path: Path) -> None:
    cfg = shout_config(tmp_path)
    out = tmp_path / "out"
    out.mkdir()  # an existing directory needs no trailing slash
    proc = orchestra("run", str(cfg), "--input", "-", "--output", str(out), input=b"a\nb\n")
    assert proc.returncode == 0, proc.stderr.decode()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {"0.out": b"A", "1.out": b"B"}


def test_jsonl_in_and_out(tmp_path: Path) -> None:
    """JSON lines in: a string is its text (it may hold newlines), any other value
    is passed as written; blank lines are skipped. JSON lines out: {index, output},
    an output that is a JSON object embedded as one."""
    cfg = shout_config(tmp_path)
    lines = ['"hello\\nworld"', "", '{"k": "v"}', "[1, 2]", "42"]
    proc = orchestra(
        "run", str(cfg), "--input", "-", "--input-format", "jsonl", "--output-format", "jsonl",
        input="\n".join(lines).encode() + b"\n",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    assert [json.loads(x) for x in proc.stdout.splitlines()] == [
        {"index": 0, "output": "HELLO\nWORLD"},
        {"index": 1, "output": {"K": "V"}},
        {"index": 2, "output": [1, 2]},
        {"index": 3, "output": "42"},
    ]


def test_jsonl_line_that_is_not_json_stops_reading(tmp_path: Path) -> None:
    cfg = shout_config(tmp_path)
    proc = orchestra(
        "run", str(cfg), "--input", "-", "--input-format", "jsonl",
        input=b'"a"\n"b"\nnot json\n"c"\n',
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stdout == b"A\nB\n"
    assert b"orchestra: input line 3: not JSON" in proc.stderr


def test_summary_and_stats_json(tmp_path: Path) -> None:
    """The summary line (dropped only when some were), a table per stage and per
    plug-in on stderr, and the same numbers in --stats-json."""
    stats = tmp_path / "s.json"
    proc = orchestra("run", str(REPO / "config" / "text.yaml"), "--stats-json", str(stats))
    assert proc.returncode == 0, proc.stderr.decode()
    err = proc.stderr.decode()
    assert re.search(r"orchestra: analyze: 4 ok, 0 failed, 4 dropped in [0-9.]+s", err)
    assert re.search(r"^stage +done +errors +dropped +records/s +p50 ms +p99 ms$", err, re.M)
    assert re.search(r"^has-letters +8 +0 +3 ", err, re.M)
    assert re.search(r"^plug-in +instances +calls +errors +restarts", err, re.M)
    assert re.search(r"^shout +2 +5 +0 +0 ", err, re.M)
    summary = json.loads(stats.read_text())
    assert {k: summary[k] for k in ("records_taken", "records_ok", "records_dropped")} == {
        "records_taken": 8,
        "records_ok": 4,
        "records_dropped": 4,
    }
    assert [(s["stage"], s["done"], s["dropped"]) for s in summary["stages"]] == [
        ("has-letters", 8, 3),
        ("analyze", 5, 0),
        ("not-one-word", 5, 1),
    ]
    assert summary["stages"][1]["latency_ms"]["p50"] > 0
    assert summary["plugins"]["shout"]["restarts"] == 0

    demo = orchestra("run", str(REPO / "config" / "demo.yaml"))
    assert b"orchestra: text: 200 ok, 0 failed in " in demo.stderr  # no ", 0 dropped"


def test_forced_progress_display_leaves_the_results_alone(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    proc = orchestra(
        "run", str(REPO / "config" / "demo.yaml"), "--progress", "--output", str(out)
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(out.read_text().splitlines()) == 200
    assert b"200 ok, 0 failed" in proc.stderr


# -- the shipped examples ---------------------------------------------------------------

OWNERS = {
    "payments": "team-payments",
    "checkout": "team-payments",
    "auth": "team-identity",
    "search": "team-discovery",
}


def logs_expected(line: str) -> str | None:
    """config/logs.yaml, computed independently: parse, drop DEBUG, mask the
    message's digits, an owner for warnings and errors, the template."""
    ts, level, service, msg = line.split(None, 3)
    if level == "DEBUG":
        return None
    owner = OWNERS.get(service, "unknown") if level in ("WARN", "ERROR") else "-"
    return f"{ts} {level} {service} owner={owner} {re.sub(r'[0-9]', '#', msg)}"


def test_shipped_logs_pipeline(tmp_path: Path) -> None:
    proc = orchestra("run", str(REPO / "config" / "logs.yaml"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    lines = (REPO / "config" / "data" / "app.log").read_text().splitlines()
    expected = [e for e in map(logs_expected, lines) if e is not None]
    assert proc.stdout.decode().splitlines() == expected
    assert "2024-05-01T12:00:03Z ERROR payments owner=team-payments card ################" in (
        proc.stdout.decode()
    )
    dropped = len(lines) - len(expected)
    assert f"{len(expected)} ok, 0 failed, {dropped} dropped".encode() in proc.stderr

    bad = orchestra("run", str(REPO / "config" / "logs.yaml"), "--input", "-", input=b"oops\n")
    assert bad.returncode == 1
    assert b"not a log line: expected TIMESTAMP LEVEL SERVICE MESSAGE" in bad.stderr


def test_shipped_text_pipeline(tmp_path: Path) -> None:
    proc = orchestra("run", str(REPO / "config" / "text.yaml"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    expected = []
    lines = (REPO / "config" / "data" / "quotes.txt").read_text().splitlines()
    for i, line in enumerate(lines):
        words = len(line.split())
        if not re.search("[A-Za-z]", line) or words == 1:
            continue
        vowels = sum(c in "aeiouAEIOU" for c in line)
        expected.append(
            {"index": i, "output": {"words": words, "vowels": vowels, "shout": line.upper()}}
        )
    assert [json.loads(x) for x in proc.stdout.splitlines()] == expected
    assert proc.stdout.splitlines()[0].startswith(b'{"index":0,"output":{"words":13,"vowels":')


# -- orchestra graph --------------------------------------------------------------------

GRAPH_CONFIG = f"""\
plugins:
  text: {{source: {PLUGINS / "textstats.wat"}}}
  shout: {{source: {PLUGINS / "shout.wat"}}}
  owners: {{source: {PLUGINS / "lookup.wat"}}}
  enrich:
    source: {PLUGINS / "enrich.wat"}
    imports: {{"extism:host/user.lookup": owners.lookup}}
pipelines:
  words:
    input: data/in.txt
    stages:
      - {{filter: {{plugin: text, export: has_letters}}}}
      - name: fan
        parallel:
          words: {{plugin: text, export: words}}
          shout: {{plugin: shout, export: _start}}
      - {{filter: {{field: words, in: [2, 3]}}}}
      - {{plugin: enrich, export: enrich, when: {{field: words, equals: 2}}}}
"""


def test_graph_mermaid(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, GRAPH_CONFIG)
    proc = orchestra("graph", str(cfg))
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    assert lines[0] == "flowchart LR"
    for line in [
        '  subgraph pipeline_words["pipeline words (on_error: fail)"]',
        '    words_input(["input: data/in.txt"])',
        '    words_s0{"filter: text.has_letters"}',
        '    words_s1{{"fan"}}',
        '    words_s1_b_words["text.words"]',
        '    words_s1_b_shout["shout._start"]',
        '    words_s1_join(("join"))',
        '    words_s2{"filter: words in [2, 3]"}',
        '    words_s3["enrich.enrich"]',
        '    words_dropped[/"dropped"\\]',
        '    plugin_enrich[["enrich"]]',
        "  words_input --> words_s0",
        '  words_s0 -->|"keep"| words_s1',
        '  words_s0 -.->|"drop"| words_dropped',
        '  words_s1 -->|"words"| words_s1_b_words',
        '  words_s1 -->|"shout"| words_s1_b_shout',
        "  words_s1_b_shout --> words_s1_join",
        "  words_s1_join --> words_s2",
        '  words_s2 -->|"keep / when words == 2"| words_s3',
        '  words_s2 -.->|"keep / otherwise"| words_output',
        "  words_s3 --> words_output",
        '  plugin_enrich -.->|"extism:host/user.lookup"| plugin_owners',
    ]:
        assert line in lines, line


def test_graph_dot(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, GRAPH_CONFIG)
    proc = orchestra("graph", str(cfg), "--format", "dot")
    assert proc.returncode == 0, proc.stderr.decode()
    text = proc.stdout.decode()
    assert text.startswith("digraph orchestra {\n  rankdir=LR;\n") and text.endswith("}\n")
    lines = text.splitlines()
    for line in [
        "  subgraph cluster_pipeline_words {",
        '    words_s0 [label="filter: text.has_letters", shape=diamond];',
        '    words_s1 [label="fan", shape=hexagon];',
        '    words_s1_join [label="join", shape=circle];',
        '    plugin_owners [label="owners", shape=component];',
        '  words_s1 -> words_s1_b_words [label="words"];',
        '  words_s2 -> words_s3 [label="keep / when words == 2"];',
        '  words_s2 -> words_output [label="keep / otherwise", style=dashed];',
        '  plugin_enrich -> plugin_owners [label="extism:host/user.lookup", style=dashed];',
    ]:
        assert line in lines, line


def test_graph_config_error_exits_2(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "plugins: {a: {source: x.wat, nope: 1}}\n")
    proc = orchestra("graph", str(cfg))
    assert proc.returncode == 2
    assert b"plugins.a.nope" in proc.stderr


# -- bounded memory ---------------------------------------------------------------------

RSS_BOUND = 150 * 1024 * 1024


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_memory_stays_flat_over_a_million_records(tmp_path: Path) -> None:
    """1,000,000 records through a fast one-stage pipeline: the supervisor's RSS
    grows by less than RSS_BOUND (the window bounds every buffer), and every
    record comes out, in order."""
    n = 1_000_000
    src = tmp_path / "in.txt"
    with open(src, "w") as fh:
        fh.write("".join(f"record {i} of the big input\n" for i in range(n)))
    cfg = write_config(
        tmp_path,
        f"plugins:\n  text: {{source: {PLUGINS / 'textstats.wat'}, instances: 2}}\n"
        "pipelines:\n  p:\n    stages: [{plugin: text, export: words}]\n",
    )
    out = tmp_path / "out.txt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestra", "run", str(cfg), "--input", str(src),
         "--output", str(out)],
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    me = psutil.Process(proc.pid)
    samples: list[int] = []
    baseline: int | None = None
    while proc.poll() is None:
        try:
            rss = me.memory_info().rss
        except psutil.NoSuchProcess:
            break
        # The baseline is taken once records flow: start-up (imports, workers) is not growth.
        if baseline is None and out.exists() and out.stat().st_size > 100_000:
            baseline = rss
        elif baseline is not None:
            samples.append(rss)
        time.sleep(0.1)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert baseline is not None and len(samples) > 10
    growth = max(samples) - baseline
    assert growth < RSS_BOUND, f"RSS grew by {growth / 2**20:.0f} MiB"
    assert f"{n} ok, 0 failed".encode() in err
    with open(out, "rb") as fh:
        count = sum(1 for _ in fh)
    assert count == n


# wasi-command: input "trap" traps, "spin" never ends, "work" loops ~20M times first;
# every other input (and "work" when done) writes "ok".
MOODY = """(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $i i32)
    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 8))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (i32.eq (i32.load8_u (i32.const 100)) (i32.const 116)) (then unreachable))
    (if (i32.eq (i32.load8_u (i32.const 100)) (i32.const 115))
      (then (loop $forever (br $forever))))
    (if (i32.eq (i32.load8_u (i32.const 100)) (i32.const 119))
      (then (loop $busy
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $busy (i32.lt_u (local.get $i) (i32.const 20000000))))))
    (i32.store16 (i32.const 100) (i32.const 0x6b6f))
    (i32.store (i32.const 4) (i32.const 2))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""


def moody_config(src: Path, retry: int = 0) -> Config:
    return Config(
        plugins={
            "moody": PluginSpec(
                source=str(src),
                instances=2,
                limits=Limits(timeout=Duration(1.0)),
                retry=Retry(attempts=retry) if retry else None,
            )
        },
        pipelines={
            "p": PipelineSpec(stages=[Stage(plugin="moody", export="_start")], on_error="skip")
        },
    )


@pytest.mark.anyio
async def test_a_trap_and_a_timeout_in_a_burst_fail_only_their_records(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """Records reach a stage in bursts, several calls to a worker per write: a trap
    and a timeout among them fail their own record with their own error, every
    other record is answered once, in order."""
    records = [b"x"] * 200
    records[37], records[120] = b"trap", b"spin"
    async with new_orchestra(moody_config(wat_file("moody", MOODY))) as orch:
        got = [r async for r in orch.run_pipeline("p", records)]
    assert [r.index for r in got] == list(range(200))
    assert isinstance(got[37].error, PluginTrap)
    assert isinstance(got[120].error, PluginTimeout)
    assert all(r.ok and r.output == b"ok" for i, r in enumerate(got) if i not in (37, 120))


@pytest.mark.anyio
@pytest.mark.parametrize("retry", [0, 3])
async def test_a_worker_killed_mid_burst_fails_or_retries_only_what_it_held(
    wat_file: WatFile, new_orchestra: NewOrchestra, retry: int
) -> None:
    """SIGKILL of a worker holding a burst of records: without ``retry:`` only those
    fail, with PluginCrashed; with it they are served again. None is lost or
    doubled, the output keeps input order."""
    records = [b"work"] * 40
    async with new_orchestra(moody_config(wat_file("moody", MOODY), retry)) as orch:
        run = orch.run_pipeline("p", records)
        got = []
        async for res in run:
            got.append(res)
            if len(got) == 2:
                os.kill(orch.stats()["moody"]["pids"][0], signal.SIGKILL)
    assert [r.index for r in got] == list(range(40))
    failed = [r for r in got if not r.ok]
    assert all(isinstance(r.error, PluginCrashed) for r in failed)
    assert all(r.output == b"ok" for r in got if r.ok)
    if retry:
        assert not failed
    else:
        assert 0 < len(failed) < 40
