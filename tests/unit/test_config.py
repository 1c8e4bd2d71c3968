"""Loading YAML configs: what a valid config becomes, and the exact error for each mistake.

Errors are asserted as whole strings, ``FILE:LINE:COL: path: message``, because that line
is the whole user interface of ``orchestra validate``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec
import pytest
import yaml

import orchestra.config
from orchestra.config import (
    Backoff,
    DeadLetter,
    Duration,
    Limits,
    LocalBackendSpec,
    PluginSpec,
    RayBackendSpec,
    Restart,
    Retry,
    Size,
    WasiSpec,
    config_schema,
    decode_spec,
    encode_spec,
    load_config,
    load_config_text,
    read_config,
)
from orchestra.config._loader import _Loader
from orchestra.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

# Line numbers matter: the error tests below point into this text.
DEMO = """\
version: 1
backend: local
host_plugins:
  paths: [../hostplugins, /opt/orchestra/plugins]
plugins:
  vowels:
    source: ../plugins/count_vowels.wasm
    instances: 4
    abi: auto
    wasi: {args: [a], env: {K: v}, allowed_paths: {../data: /data, ro:~/shared: /shared}}
    limits:
      memory: 64MiB
      timeout: 2s
    imports:
      "extism:host/user.lookup": dictionary.lookup
    restart: {max_restarts: 3, within: 1m, backoff: 100ms}
  dictionary:
    source: /abs/dictionary.wasm
    host_modules: [orchestra_demo_math]
    restart: {backoff: {initial: 10ms, max: 1s}}
    retry: {attempts: 3}
pipelines:
  text:
    stages:
      - {plugin: vowels, export: count_vowels}
      - {plugin: dictionary, export: run, concurrency: 8}
    on_error: {dead_letter: out/errors.jsonl}
    input: samples/input.txt
  stdin:
    stages: [{plugin: vowels, export: count_vowels}]
    input: "-"
"""


def _write(root: Path, text: str) -> Path:
    path = root / "config" / "demo.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> str:
    """Load ``text`` as ``config/demo.yaml`` (relative, as a user types it); the error."""
    _write(tmp_path, text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("config/demo.yaml")
    return str(info.value)


def _edit(old: str, new: str) -> str:
    assert DEMO.count(old) == 1, old
    return DEMO.replace(old, new)


def test_full_config_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every field converts to its type, defaults fill the rest."""
    config = load_config(_write(tmp_path, DEMO))
    vowels = config.plugins["vowels"]
    assert vowels.instances == 4
    assert vowels.limits == Limits(memory=Size(64 * 1024**2), timeout=Duration(2.0))
    assert type(vowels.limits.memory) is Size
    assert vowels.restart == Restart(max_restarts=3, within=Duration(60), backoff=Duration(0.1))
    assert type(vowels.restart.backoff) is Duration
    assert vowels.imports == {"extism:host/user.lookup": "dictionary.lookup"}
    dictionary = config.plugins["dictionary"]
    assert dictionary.restart.backoff == Backoff(initial=Duration(0.01), max=Duration(1))
    assert dictionary.retry == Retry(attempts=3)
    assert dictionary.limits == Limits()
    assert dictionary.limits.memory == 256 * 1024**2
    assert config.backend == "local"
    assert config.pipelines["text"].stages[1].concurrency == 8
    assert config.pipelines["stdin"].on_error == "fail"


def test_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relative paths mean the same whatever the cwd; ``~`` expands; ``ro:`` and ``-`` stay."""
    path = _write(tmp_path / "project", DEMO)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_config(path)
    project = tmp_path / "project"
    here = project / "config"
    vowels = config.plugins["vowels"]
    assert vowels.source == str(project / "plugins" / "count_vowels.wasm")
    assert vowels.wasi == WasiSpec(
        args=["a"],
        env={"K": "v"},
        allowed_paths={
            str(project / "data"): "/data",
            f"ro:{tmp_path / 'home' / 'shared'}": "/shared",
        },
    )
    assert config.plugins["dictionary"].source == "/abs/dictionary.wasm"
    assert config.host_plugins.paths == [str(project / "hostplugins"), "/opt/orchestra/plugins"]
    text = config.pipelines["text"]
    assert text.input == str(here / "samples" / "input.txt")
    assert text.on_error == DeadLetter(dead_letter=str(here / "out" / "errors.jsonl"))
    assert config.pipelines["stdin"].input == "-"


def test_relative_config_path_resolves_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A config named relative to the cwd still resolves against its own folder."""
    _write(tmp_path, DEMO)
    monkeypatch.chdir(tmp_path)
    config = load_config("config/demo.yaml")
    assert config.plugins["vowels"].source == str(tmp_path / "plugins" / "count_vowels.wasm")


def test_load_config_text_needs_no_file(tmp_path: Path) -> None:
    """Text (stdin, tests) resolves against the base_dir given, not the cwd."""
    config = load_config_text(
        "plugins: {p: {source: p.wasm}}\n", filename="<stdin>", base_dir=tmp_path
    )
    assert config.plugins["p"] == PluginSpec(source=str(tmp_path / "p.wasm"))


def test_max_waiting_is_unbounded_unless_given(tmp_path: Path) -> None:
    """plugins.X.max_waiting: null (the default) or a count >= 0, nothing else."""
    text = "plugins: {p: {source: p.wasm}, q: {source: q.wasm, max_waiting: 0}}\n"
    config = load_config_text(text, filename="<stdin>", base_dir=tmp_path)
    assert config.plugins["p"].max_waiting is None and config.plugins["q"].max_waiting == 0
    with pytest.raises(ConfigError) as info:
        load_config_text(
            "plugins: {p: {source: p.wasm, max_waiting: -1}}\n",
            filename="<stdin>",
            base_dir=tmp_path,
        )
    assert "plugins.p.max_waiting" in str(info.value) and ">= 0" in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "memory: 64MiB",
            "memory: lots",
            "config/demo.yaml:12:15: plugins.vowels.limits.memory: expected a size like 64MiB, got 'lots'",
            id="bad-size",
        ),
        pytest.param(
            "memory: 64MiB",
            "memory: 20000000TiB",
            "config/demo.yaml:12:15: plugins.vowels.limits.memory: size '20000000TiB' is too large (at most 9223372036854775807 bytes, 8EiB - 1)",
            id="size-above-2**64",
        ),
        pytest.param(
            "memory: 64MiB",
            "memory: 18446744073709551617",
            "config/demo.yaml:12:15: plugins.vowels.limits.memory: size 18446744073709551617 is too large (at most 9223372036854775807 bytes, 8EiB - 1)",
            id="size-integer-above-2**64",
        ),
        pytest.param(
            "timeout: 2s",
            "timeout: 2s\n      fuel: 18446744073709551616",
            "config/demo.yaml:14:13: plugins.vowels.limits.fuel: expected an integer <= 9223372036854775807, got 18446744073709551616",
            id="fuel-above-2**64",
        ),
        pytest.param(
            "timeout: 2s",
            "timeout: soon",
            "config/demo.yaml:13:16: plugins.vowels.limits.timeout: expected a duration like 2s or 150ms, got 'soon'",
            id="bad-duration",
        ),
        pytest.param(
            "backoff: 100ms",
            "backoff: later",
            "config/demo.yaml:16:53: plugins.vowels.restart.backoff: expected a duration like 2s or 150ms, got 'later'",
            id="bad-backoff",
        ),
        pytest.param(
            "    instances: 4",
            "    instanses: 4",
            "config/demo.yaml:8:5: plugins.vowels.instanses: unknown field 'instanses' (expected one of: source, instances, abi, wasi, config, host_modules, imports, allowed_hosts, limits, restart, retry, max_in_flight, max_waiting, start_timeout, max_var_bytes, max_http_response_bytes, http_response_headers, sandbox)",
            id="unknown-field",
        ),
        pytest.param(
            "timeout: 2s",
            "timout: 2s",
            "config/demo.yaml:13:7: plugins.vowels.limits.timout: unknown field 'timout' (expected one of: memory, timeout, fuel, stack, process_memory, output, source_size)",
            id="unknown-nested-field",
        ),
        pytest.param(
            "timeout: 2s",
            "timeout: 2s\n      output: 300MiB",
            "config/demo.yaml:14:15: plugins.vowels.limits.output: expected a size from 1 byte to 256MiB, got 314572800 bytes",
            id="output-limit-too-large",
        ),
        pytest.param(
            "instances: 4",
            "instances: abc",
            "config/demo.yaml:8:16: plugins.vowels.instances: expected an integer, got 'abc'",
            id="wrong-type",
        ),
        pytest.param(
            "instances: 4",
            "instances: 0",
            "config/demo.yaml:8:16: plugins.vowels.instances: expected an integer >= 1, got 0",
            id="out-of-range",
        ),
        pytest.param(
            "abi: auto",
            "abi: cobol",
            "config/demo.yaml:9:10: plugins.vowels.abi: expected 'auto', 'extism', 'wasi-command' or 'core', got 'cobol'",
            id="bad-choice",
        ),
        pytest.param(
            "args: [a]",
            "args: [1]",
            "config/demo.yaml:10:19: plugins.vowels.wasi.args[0]: expected a string, got 1",
            id="list-item",
        ),
        pytest.param(
            "env: {K: v}",
            "env: {K: [v]}",
            "config/demo.yaml:10:32: plugins.vowels.wasi.env.K: expected a string, got a list",
            id="mapping-value",
        ),
        pytest.param(
            "  dictionary:",
            "  dictionary book:",
            "config/demo.yaml:17:3: plugins[\"dictionary book\"]: expected a name of letters, digits, '_', '.' and '-' that starts with a letter or '_', got 'dictionary book'",
            id="bad-name",
        ),
        pytest.param(
            "      - {plugin: dictionary, export: run, concurrency: 8}",
            "      - {plugin: dictionary, concurrency: 8}",
            "config/demo.yaml:26:9: pipelines.text.stages[1]: a plug-in stage needs both plugin and export",
            id="missing-field",
        ),
        pytest.param(
            "      - {plugin: dictionary, export: run, concurrency: 8}",
            "      - {plugin: shout, export: run, concurrency: 8}",
            "config/demo.yaml:26:18: pipelines.text.stages[1].plugin: unknown plug-in 'shout' (known plug-ins: dictionary, vowels)",
            id="unknown-stage-plugin",
        ),
        pytest.param(
            "stages: [{plugin: vowels, export: count_vowels}]",
            "stages: []",
            "config/demo.yaml:30:13: pipelines.stdin.stages: expected a list of at least 1 item, got an empty list",
            id="no-stages",
        ),
        pytest.param(
            "on_error: {dead_letter: out/errors.jsonl}",
            "on_error: sometimes",
            "config/demo.yaml:27:15: pipelines.text.on_error: expected 'fail', 'skip' or a mapping, got 'sometimes'",
            id="bad-on-error",
        ),
        pytest.param(
            ": dictionary.lookup",
            ": dict.lookup",
            "config/demo.yaml:15:34: plugins.vowels.imports[\"extism:host/user.lookup\"]: unknown plug-in 'dict' (known plug-ins: dictionary, vowels)",
            id="route-to-unknown-plugin",
        ),
        pytest.param(
            ": dictionary.lookup",
            ": lookup",
            "config/demo.yaml:15:34: plugins.vowels.imports[\"extism:host/user.lookup\"]: expected a route written plugin.export (like dictionary.lookup), got 'lookup'",
            id="route-without-export",
        ),
        pytest.param(
            '"extism:host/user.lookup"',
            "lookup",
            "config/demo.yaml:15:7: plugins.vowels.imports.lookup: expected an import written module.name (like extism:host/user.lookup), got 'lookup'",
            id="import-without-module",
        ),
        pytest.param(
            "host_modules: [orchestra_demo_math]",
            'host_modules: [""]',
            "config/demo.yaml:19:20: plugins.dictionary.host_modules[0]: expected a host module name, got ''",
            id="empty-host-module",
        ),
        pytest.param(
            "backend: local",
            "backend: cloud",
            "config/demo.yaml:2:10: backend: expected 'local', 'ray' or a mapping, got 'cloud'",
            id="bad-backend",
        ),
        pytest.param(
            "backend: local",
            "backend: {kind: slurm}",
            "config/demo.yaml:2:17: backend.kind: expected 'local' or 'ray', got 'slurm'",
            id="bad-backend-kind",
        ),
        pytest.param(
            "backend: local",
            "backend: {address: auto}",
            "config/demo.yaml:2:10: backend: missing required field 'kind' (expected 'local' or 'ray')",
            id="backend-without-kind",
        ),
        pytest.param(
            "backend: local",
            "backend: {kind: ray, adress: auto}",
            "config/demo.yaml:2:22: backend.adress: unknown field 'adress' (expected one of: kind, address, num_cpus, num_gpus, memory, resources, placement, plugins, namespace, runtime_env, driver_address, by_reference)",
            id="backend-unknown-field",
        ),
        pytest.param(
            "version: 1",
            "version: 2",
            "config/demo.yaml:1:10: version: expected 1, got 2",
            id="version",
        ),
        pytest.param(
            "    instances: 4",
            "    instances: 4\n    instances: 5",
            "config/demo.yaml:9:5: plugins.vowels.instances: duplicate key 'instances' (first written at line 8, column 5)",
            id="duplicate-key",
        ),
    ],
)
def test_config_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, expected: str
) -> None:
    """Each mistake is reported at the offending value (or key), with its field path."""
    assert _error(tmp_path, monkeypatch, _edit(old, new)) == expected


def test_missing_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A required top-level field is reported at the document's mapping."""
    text = "# a config\nversion: 1\npipelines: {}\n"
    assert (
        _error(tmp_path, monkeypatch, text)
        == "config/demo.yaml:2:1: missing required field 'plugins'"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "config/demo.yaml: the config is empty (it needs at least a plugins: section)"),
        (
            "# only a comment\n",
            "config/demo.yaml: the config is empty (it needs at least a plugins: section)",
        ),
        ("- a\n- b\n", "config/demo.yaml:1:1: expected a mapping of settings, got a list"),
        ("just words\n", "config/demo.yaml:1:1: expected a mapping of settings, got 'just words'"),
        ("plugins: []\n", "config/demo.yaml:1:10: plugins: expected a mapping, got an empty list"),
        (
            "plugins: {}\n---\nplugins: {}\n",
            "config/demo.yaml:2:1: invalid YAML: expected a single document in the stream but found another document",
        ),
        (
            "plugins: {p: {source: 2024-13-01}}\n",
            "config/demo.yaml:1:23: plugins.p.source: invalid value '2024-13-01': month must be in 1..12",
        ),
        (
            "plugins: {? [p] : {source: p.wasm}}\n",
            "config/demo.yaml:1:13: plugins: expected a plain key, got a list",
        ),
        (
            "plugins: &p\n  x: *p\n",
            "config/demo.yaml:1:10: plugins.x: an alias refers to a node that contains it",
        ),
    ],
)
def test_document_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    """Empty, non-mapping, multi-document and self-referencing documents are refused.

    (A cycle is reported at its anchor: composed YAML keeps no mark for the alias.)
    """
    assert _error(tmp_path, monkeypatch, text) == expected


def test_yaml_syntax_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A YAML syntax error points at the character where parsing failed."""
    text = _edit("    instances: 4", "    instances: 4: 5")
    message = (
        "mapping values are not allowed in this context"
        if _Loader is getattr(yaml, "CSafeLoader", None)
        else "mapping values are not allowed here"
    )
    assert _error(tmp_path, monkeypatch, text) == f"config/demo.yaml:8:17: invalid YAML: {message}"


def test_yaml_unclosed_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unclosed ``[`` says where the sequence began."""
    text = _edit("/opt/orchestra/plugins]", "/opt/orchestra/plugins")
    message = (
        "config/demo.yaml:5:8: invalid YAML: did not find expected ',' or ']'"
        " (while parsing a flow sequence at line 4, column 10)"
        if _Loader is getattr(yaml, "CSafeLoader", None)
        else "config/demo.yaml:5:8: invalid YAML: expected ',' or ']', but got ':'"
        " (while parsing a flow sequence at line 4, column 10)"
    )
    assert _error(tmp_path, monkeypatch, text) == message


def test_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing file is a ConfigError naming the file as given."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("config/nope.yaml")
    assert str(info.value) == "config/nope.yaml: cannot read the config: no such file or directory"
    assert info.value.file == "config/nope.yaml"


def test_error_carries_its_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tools (editors, the CLI) read the location from attributes, not by parsing text."""
    _write(tmp_path, _edit("memory: 64MiB", "memory: lots"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("config/demo.yaml")
    err = info.value
    assert (err.file, err.line, err.column) == ("config/demo.yaml", 12, 15)
    assert err.path == "plugins.vowels.limits.memory"
    assert err.message == "expected a size like 64MiB, got 'lots'"
    assert isinstance(err.__cause__, msgspec.ValidationError)  # kept for debugging only


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ("local", "local"),
        ("ray", "ray"),
        ("{kind: ray, address: auto}", RayBackendSpec(address="auto")),
        (
            "{kind: ray, address: 'ray://head:10001', num_cpus: 2}",
            RayBackendSpec("ray://head:10001", 2.0),
        ),
        ("{kind: local}", LocalBackendSpec()),
    ],
)
def test_backends_accepted(tmp_path: Path, backend: str, expected: object) -> None:
    """``backend`` is a name or a mapping tagged by ``kind``."""
    text = f"backend: {backend}\nplugins: {{p: {{source: p.wasm}}}}\n"
    config = load_config_text(text, filename="x.yaml", base_dir=tmp_path)
    assert config.backend == expected


def test_yaml_merge_keys(tmp_path: Path) -> None:
    """``<<: *base`` shares settings; a key written beside it wins, and is no duplicate."""
    text = (
        "plugins:\n"
        "  a: &base {source: p.wasm, instances: 2, limits: {memory: 1MiB}}\n"
        "  b: {<<: *base, instances: 3}\n"
    )
    config = load_config_text(text, filename="m.yaml", base_dir=tmp_path)
    b = config.plugins["b"]
    assert (b.source, b.instances, b.limits.memory) == (str(tmp_path / "p.wasm"), 3, 1 << 20)


def test_schema_file_is_current() -> None:
    """The committed config/schema.json is what the Structs generate."""
    committed = json.loads((REPO / "config" / "schema.json").read_text(encoding="utf-8"))
    assert committed == config_schema(), (
        "config/schema.json is stale; regenerate it with `orchestra schema > config/schema.json`"
    )


def test_schema_describes_units() -> None:
    """Sizes and durations are documented as number-or-string, with their defaults."""
    schema = config_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Orchestra config"
    memory = schema["$defs"]["Limits"]["properties"]["memory"]
    assert memory["default"] == 256 * 1024**2
    size = memory["anyOf"][0]
    assert [alt["type"] for alt in size["anyOf"]] == ["integer", "string"]
    assert schema["$defs"]["PluginSpec"]["properties"]["start_timeout"]["default"] == 30.0


@pytest.mark.parametrize(
    "spec",
    [
        PluginSpec(source="/a.wasm"),
        PluginSpec(
            source="/b.wasm",
            instances=3,
            abi="extism",
            wasi=WasiSpec(args=["x"], env={"A": "1"}, allowed_paths={"ro:/d": "/d"}),
            config={"k": "v"},
            host_modules=["m"],
            imports={"env.f": "other.g"},
            limits=Limits(memory=Size(1 << 20), timeout=Duration(0.5), fuel=10, stack=Size(4096)),
            restart=Restart(backoff=Backoff(initial=Duration(0.2), jitter=0.5)),
            retry=Retry(attempts=2),
        ),
        PluginSpec(source="/c.wasm", limits=Limits(memory=None, timeout=None)),
    ],
)
def test_spec_round_trips(spec: PluginSpec) -> None:
    """A spec sent to a worker arrives equal, with Size/Duration types intact."""
    decoded = decode_spec(encode_spec(spec))
    assert decoded == spec
    assert type(decoded.restart.within) is Duration
    if decoded.limits.memory is not None:
        assert type(decoded.limits.memory) is Size


def test_backoff_scalar_is_a_duration() -> None:
    """``backoff`` holds a Duration or a Backoff, however the Restart was made."""
    assert Restart(backoff="150ms").backoff == Duration(0.15)
    assert type(Restart(backoff=2).backoff) is Duration
    with pytest.raises(ValueError):
        Restart(backoff="soon")


def test_decode_spec_garbage() -> None:
    """Bytes that are not a spec raise ConfigError, not a msgspec error."""
    with pytest.raises(ConfigError):
        decode_spec(b"\x93\x01\x02")
    with pytest.raises(ConfigError):
        decode_spec(msgspec.msgpack.encode({"source": "/a.wasm", "limits": {"memory": "x"}}))


def test_exported_members() -> None:
    """``__all__`` lists exactly the public names, and each is defined."""
    public = {name for name in dir(orchestra.config) if not name.startswith("_")}
    modules = {"errors"} | {n for n in public if isinstance(getattr(orchestra.config, n), type(os))}
    assert set(orchestra.config.__all__) == public - modules
    assert len(orchestra.config.__all__) == len(set(orchestra.config.__all__))


# --- ${VAR} and --set ------------------------------------------------------------------


ENV_CONFIG = """\
plugins:
  p:
    source: ${SRC:-p.wasm}
    instances: ${N}
    config: {quoted: "${N}", literal: "$${N}", dollar: "$N", mixed: "n=${N}!"}
"""


def test_env_variables_expand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``${VAR}`` comes from the environment and takes its field's type, quoted or not
    (an integer for instances, a string in config); ``$${`` is a literal ``${`` and a
    lone ``$`` stays as written; ``${VAR:-default}`` covers an unset variable."""
    monkeypatch.setenv("N", "4")
    monkeypatch.delenv("SRC", raising=False)
    spec = load_config_text(ENV_CONFIG, filename="e.yaml", base_dir=tmp_path).plugins["p"]
    assert spec.instances == 4
    assert spec.source == str(tmp_path / "p.wasm")
    assert spec.config == {"quoted": "4", "literal": "${N}", "dollar": "$N", "mixed": "n=4!"}
    monkeypatch.setenv("SRC", "/opt/q.wasm")
    spec = load_config_text(ENV_CONFIG, filename="e.yaml", base_dir=tmp_path).plugins["p"]
    assert spec.source == "/opt/q.wasm"
    flow = 'plugins: {p: {source: p.wasm, instances: "${N}", max_in_flight: "${M:-8}"}}'
    spec = load_config_text(flow, filename="e.yaml", base_dir=tmp_path).plugins["p"]
    assert (spec.instances, spec.max_in_flight) == (4, 8)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "${N}",
            "e.yaml:4:16: plugins.p.instances: environment variable 'N' is not set (give it a default: ${N:-default}; write $${ for a literal ${)",
        ),
        (
            "${N",
            "e.yaml:4:16: plugins.p.instances: expected ${NAME} or ${NAME:-default} (or $${ for a literal ${), got '${N'",
        ),
        (
            "${1N}",
            "e.yaml:4:16: plugins.p.instances: expected ${NAME} or ${NAME:-default} (or $${ for a literal ${), got '${1N}'",
        ),
        ("${N:-many}", "e.yaml:4:16: plugins.p.instances: expected an integer, got 'many'"),
    ],
)
def test_env_variable_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    """An unset variable without a default, or a malformed reference, is a ConfigError
    at the value that holds it; so is an expanded value of the wrong type."""
    monkeypatch.delenv("N", raising=False)
    text = ENV_CONFIG.replace("instances: ${N}", f"instances: {value}").replace('"${N}"', "x")
    text = text.replace('"n=${N}!"', "y")
    with pytest.raises(ConfigError) as info:
        load_config_text(text, filename="e.yaml", base_dir=tmp_path)
    assert str(info.value) == message


def test_set_overrides(tmp_path: Path) -> None:
    """``--set`` items apply in order over the file, values read as YAML, missing
    mappings made on the way; paths are written the way errors write them."""
    path = _write(tmp_path, DEMO)
    config = load_config(
        path,
        overrides=[
            "plugins.vowels.instances=8",
            "plugins.vowels.instances=6",
            "plugins.dictionary.limits.memory=1MiB",
            'plugins.vowels.imports["extism:host/user.lookup"]=vowels.lookup',
            "pipelines.text.stages[1].concurrency=2",
            "plugins.vowels.wasi={args: [x]}",
            "plugins.new.source=n.wasm",
        ],
    )
    vowels = config.plugins["vowels"]
    assert vowels.instances == 6
    assert vowels.imports == {"extism:host/user.lookup": "vowels.lookup"}
    assert vowels.wasi == WasiSpec(args=["x"])
    assert config.plugins["dictionary"].limits.memory == 1 << 20
    assert config.pipelines["text"].stages[1].concurrency == 2
    assert config.plugins["new"].source == str(path.parent / "n.wasm")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            "plugins.vowels.instances=many",
            "--set plugins.vowels.instances=many: plugins.vowels.instances: expected an integer, got 'many'",
        ),
        (
            "plugins.vowels.limits={memory: lots}",
            "--set plugins.vowels.limits={memory: lots}: plugins.vowels.limits.memory: expected a size like 64MiB, got 'lots'",
        ),
        (
            "plugins.vowels.instanses=4",
            "--set plugins.vowels.instanses=4: plugins.vowels.instanses: unknown field 'instanses' (expected one of: source, instances, abi, wasi, config, host_modules, imports, allowed_hosts, limits, restart, retry, max_in_flight, max_waiting, start_timeout, max_var_bytes, max_http_response_bytes, http_response_headers, sandbox)",
        ),
        (
            "plugins.vowels.instances",
            '--set plugins.vowels.instances: expected PATH=VALUE, the path written as in errors (plugins.x.instances, stages[0], imports["module.name"])',
        ),
        (
            "plugins.vowels.instances=[",
            "--set plugins.vowels.instances=[: invalid YAML value: did not find expected node content",
        ),
        (
            "pipelines.text.stages[5].export=x",
            "--set pipelines.text.stages[5].export=x: cannot set pipelines.text.stages[5].export: pipelines.text.stages is a list of 2",
        ),
        (
            "plugins.vowels.source.x=1",
            "--set plugins.vowels.source.x=1: cannot set plugins.vowels.source.x: plugins.vowels.source is '../plugins/count_vowels.wasm'",
        ),
    ],
)
def test_set_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, item: str, message: str
) -> None:
    """An error in (or about) an overridden value names the --set item, not the file."""
    _write(tmp_path, DEMO)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("config/demo.yaml", overrides=[item])
    assert str(info.value) == message


def test_set_leaves_other_positions_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Errors in values that no --set item touched still point into the file."""
    _write(tmp_path, _edit("memory: 64MiB", "memory: lots"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("config/demo.yaml", overrides=["plugins.vowels.instances=2"])
    assert str(info.value) == (
        "config/demo.yaml:12:15: plugins.vowels.limits.memory: expected a size like 64MiB, got 'lots'"
    )


def test_config_file_keeps_positions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """read_config keeps where values were written, for checks made after loading."""
    _write(tmp_path, DEMO)
    monkeypatch.chdir(tmp_path)
    loaded = read_config("config/demo.yaml", overrides=["plugins.vowels.instances=2"])
    stage = ("pipelines", "text", "stages", 1, "export")
    assert str(loaded.error(stage, "no such export")) == (
        "config/demo.yaml:26:38: pipelines.text.stages[1].export: no such export"
    )
    assert str(loaded.error(("plugins", "vowels", "instances"), "too many")) == (
        "--set plugins.vowels.instances=2: plugins.vowels.instances: too many"
    )
    assert loaded.config == load_config(
        "config/demo.yaml", overrides=["plugins.vowels.instances=2"]
    )
