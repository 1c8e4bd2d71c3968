"""Checking a config against its plug-ins before a run (``orchestra validate``): each
problem a run would meet, at ``FILE:LINE:COL`` of the field to fix, all of them.

The modules are compiled in the test process (no store, no worker); no host
plug-in is granted, so no probe process runs either.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from orchestra.config import Config, PluginSpec, read_config_text
from orchestra.preflight import check_config
from orchestra.testing import ADD, ECHO_WASI, FORWARD

CORE_IMPORTS = """(module
  (import "env" "lookup" (func (param i32) (result i32)))
  (func (export "run") (result i32) i32.const 0))
"""


@pytest.fixture
def plugins(tmp_path: Path) -> Path:
    (tmp_path / "add.wat").write_text(ADD)
    (tmp_path / "echo.wat").write_text(ECHO_WASI)
    (tmp_path / "fwd.wat").write_text(FORWARD)
    (tmp_path / "imports.wat").write_text(CORE_IMPORTS)
    return tmp_path


def _check(root: Path, text: str, **kw: object) -> list[str]:
    loaded = read_config_text(textwrap.dedent(text), filename="c.yaml", base_dir=root)
    return [str(e) for e in check_config(loaded, cache_dir=root / "cache", **kw)]  # type: ignore[arg-type]


def test_a_good_config_has_no_problems(plugins: Path) -> None:
    """Stages, parallel branches, filters and routes that exist check out."""
    text = """\
        plugins:
          add: {source: add.wat}
          echo: {source: echo.wat}
          fwd: {source: fwd.wat, imports: {"extism:host/user.next": echo._start}}
          imp: {source: imports.wat, imports: {env.lookup: dbl.add1}}
          dbl: {source: dbl.wat}
        pipelines:
          p:
            stages:
              - {plugin: echo, export: _start}
              - {plugin: fwd, export: run}
              - parallel: {a: {plugin: echo, export: run}, b: {plugin: fwd, export: run}}
              - filter: {plugin: add, export: add}
    """
    (plugins / "dbl.wat").write_text(
        '(module (func (export "add1") (param i32) (result i32) local.get 0))'
    )
    assert _check(plugins, text) == []


def test_misspelled_stage_export(plugins: Path) -> None:
    """Today's run-time failure of every record is an error at the export: field."""
    text = """\
        plugins:
          add: {source: add.wat}
        pipelines:
          p:
            stages:
              - {plugin: add, export: ad}
    """
    assert _check(plugins, text) == [
        "c.yaml:6:31: pipelines.p.stages[0].export: plug-in 'add' has no export 'ad' "
        "(its exports: add)"
    ]


def test_wasi_command_stage_must_call_its_entry_point(plugins: Path) -> None:
    text = """\
        plugins:
          echo: {source: echo.wat}
        pipelines:
          p:
            stages:
              - {plugin: echo, export: echo}
    """
    assert _check(plugins, text) == [
        "c.yaml:6:32: pipelines.p.stages[0].export: plug-in 'echo' is a WASI command: it "
        "has one entry point, call it as '_start' (not 'echo')"
    ]


def test_sources_that_are_not_modules(plugins: Path) -> None:
    """Missing, not wasm, not WAT, bad WAT: each at its source:, naming the file; a
    file that is not WAT is never quoted back."""
    (plugins / "junk.wasm").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(56))
    (plugins / "bad.wat").write_text('(module (func (export "f")) oops')
    text = """\
        plugins:
          missing: {source: nope.wasm}
          junk: {source: junk.wasm}
          passwd: {source: /etc/passwd}
          bad: {source: bad.wat}
    """
    errors = _check(plugins, text)
    assert errors[:3] == [
        f"c.yaml:2:21: plugins.missing.source: no such file: {plugins / 'nope.wasm'}",
        f"c.yaml:3:18: plugins.junk.source: not a wasm module: {plugins / 'junk.wasm'} "
        "does not start with \\0asm (the wasm magic number)",
        "c.yaml:4:20: plugins.passwd.source: not a wasm module nor WAT text: /etc/passwd "
        "starts with neither \\0asm nor '('",
    ]
    assert errors[3].startswith(
        f"c.yaml:5:17: plugins.bad.source: {plugins / 'bad.wat'}: invalid WAT: expected `(`"
    )
    assert f"--> {plugins / 'bad.wat'}:1:29" in errors[3]
    assert "<anon>" not in errors[3]
    assert len(errors) == 4


def test_manifest_module_missing(plugins: Path) -> None:
    (plugins / "m.json").write_text(json.dumps({"wasm": [{"path": "gone.wasm"}]}))
    text = """\
        plugins:
          m: {source: m.json}
    """
    [error] = _check(plugins, text)
    assert error.startswith("c.yaml:2:15: plugins.m.source: manifest wasm ")
    assert "gone.wasm" in error


def test_unsatisfied_imports(plugins: Path) -> None:
    """An import neither granted nor routed is an error where grants go."""
    text = """\
        plugins:
          imp:
            source: imports.wat
            host_modules: [other]
    """
    assert _check(plugins, text) == [
        "c.yaml:4:19: plugins.imp.host_modules: import 'env.lookup' is not provided; grant "
        'a host module (host_modules: [env]) or route it (imports: {"env.lookup": '
        "other_plugin.export})"
    ]


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (
            "add.sub",
            "route to add.sub: plug-in 'add' has no export 'sub' (its exports: add)",
        ),
        (
            "add.add",
            "route to add.add: the import has type (i32) -> (i32) but the export has type "
            "(i32, i32) -> (i32)",
        ),
        (
            "echo._start",
            "route to echo._start: the import (i32) -> (i32) passes numbers but 'echo' uses "
            "the 'wasi-command' ABI (bytes in, bytes out)",
        ),
    ],
)
def test_routes_reach_a_compatible_export(plugins: Path, route: str, message: str) -> None:
    text = f"""\
        plugins:
          add: {{source: add.wat}}
          echo: {{source: echo.wat}}
          imp: {{source: imports.wat, imports: {{env.lookup: {route}}}}}
    """
    assert _check(plugins, text) == [f'c.yaml:4:52: plugins.imp.imports["env.lookup"]: {message}']


def test_block_route_to_a_core_export(plugins: Path) -> None:
    text = """\
        plugins:
          add: {source: add.wat}
          fwd: {source: fwd.wat, imports: {"extism:host/user.next": add.add}}
    """
    assert _check(plugins, text) == [
        'c.yaml:3:61: plugins.fwd.imports["extism:host/user.next"]: route to add.add: the '
        "import passes bytes (an Extism block) but 'add' uses the 'core' ABI (numbers in, "
        "numbers out)"
    ]


def test_every_problem_in_file_order(plugins: Path) -> None:
    """All problems, not the first; sorted by line whatever was found first."""
    text = """\
        plugins:
          add: {source: add.wat}
          gone: {source: gone.wasm}
          echo: {source: echo.wat}
        pipelines:
          p:
            stages:
              - {plugin: echo, export: main}
              - {plugin: add, export: nope}
              - {plugin: gone, export: x}
              - {plugin: echo, export: shout}
    """
    assert [e.split(": ")[0] for e in _check(plugins, text)] == [
        "c.yaml:3:18",
        "c.yaml:9:31",
        "c.yaml:11:32",
    ]


def test_only_the_pipelines_asked_for(plugins: Path) -> None:
    """A run checks the stages of its own pipeline only."""
    text = """\
        plugins:
          add: {source: add.wat}
        pipelines:
          good: {stages: [{plugin: add, export: add}]}
          bad: {stages: [{plugin: add, export: sub}]}
    """
    assert _check(plugins, text, pipelines=["good"]) == []
    assert len(_check(plugins, text)) == 1


def test_a_config_built_in_code_gets_field_paths(plugins: Path) -> None:
    config = Config(plugins={"x": PluginSpec(source=str(plugins / "nope.wasm"))})
    assert [str(e) for e in check_config(config, cache_dir=plugins / "cache")] == [
        f"plugins.x.source: no such file: {plugins / 'nope.wasm'}"
    ]
