"""The ``sandbox:`` field of a plug-in: what YAML becomes, the exact error for each
mistake, and a refusal (never a silent no-op) where the OS cannot apply it."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from orchestra.config import Duration, Rlimits, SandboxSpec, load_config_text
from orchestra.confine import sandbox_after_load
from orchestra.errors import ConfigError, PluginLoadError


def load(tmp_path: Path, sandbox: str) -> SandboxSpec:
    (tmp_path / "p.wat").write_text("(module)")
    text = f"plugins:\n  p:\n    source: p.wat\n    sandbox: {sandbox}\n"
    return load_config_text(text, filename="c.yaml", base_dir=tmp_path).plugins["p"].sandbox


def error(tmp_path: Path, sandbox: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, sandbox)
    return str(info.value)


def test_defaults_cost_nothing(tmp_path: Path) -> None:
    """No sandbox written: no_new_privs on, nothing else (no filter, no rlimits)."""
    assert load(tmp_path, "{}") == SandboxSpec(
        no_new_privs=True, drop_capabilities=False, seccomp="off", rlimits=Rlimits()
    )


def test_everything_spelled_out(tmp_path: Path) -> None:
    """Every knob, with units where they apply (cpu is a duration)."""
    got = load(
        tmp_path,
        "{drop_capabilities: true, seccomp: kill, rlimits: {nofile: 64, nproc: 8, cpu: 2m}}",
    )
    assert got == SandboxSpec(
        drop_capabilities=True,
        seccomp="kill",
        rlimits=Rlimits(nofile=64, nproc=8, cpu=Duration(120)),
    )


@pytest.mark.parametrize(
    ("sandbox", "message"),
    [
        (
            "{seccomp: strict}",
            "c.yaml:4:24: plugins.p.sandbox.seccomp: expected 'off', 'fail' or 'kill', got 'strict'",
        ),
        (
            "{seccomp: fail, no_new_privs: false}",
            "c.yaml:4:24: plugins.p.sandbox.seccomp: needs no_new_privs: true "
            "(the kernel installs a filter only with it)",
        ),
        (
            "{rlimits: {nofile: 0}}",
            "c.yaml:4:33: plugins.p.sandbox.rlimits.nofile: expected an integer >= 1, got 0",
        ),
        (
            "{rlimits: {cpu: soon}}",
            "c.yaml:4:30: plugins.p.sandbox.rlimits.cpu: expected a duration like 2s or 150ms, got 'soon'",
        ),
        (
            "{capabilities: none}",
            "c.yaml:4:15: plugins.p.sandbox.capabilities: unknown field 'capabilities' "
            "(expected one of: no_new_privs, drop_capabilities, seccomp, rlimits)",
        ),
    ],
)
def test_mistakes_are_named(tmp_path: Path, sandbox: str, message: str) -> None:
    """A wrong sandbox is a ConfigError at its line, naming the field and what is wrong."""
    assert error(tmp_path, sandbox) == message


def test_seccomp_where_it_cannot_be_installed_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked for on a machine it does not support, seccomp refuses to load the plug-in
    (saying why and how to go on), before touching this process."""
    monkeypatch.setattr(platform, "machine", lambda: "riscv64")
    with pytest.raises(PluginLoadError) as info:
        sandbox_after_load(SandboxSpec(seccomp="fail"), network=False, plugin="p")
    assert str(info.value) == (
        "plug-in 'p': sandbox.seccomp: seccomp filters need Linux on x86_64 or aarch64, "
        "not Linux riscv64; set seccomp: off to run without the filter"
    )
