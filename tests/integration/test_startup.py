"""A plug-in that cannot load: exactly one PluginLoadError from ``Orchestra(...)``,
naming the plug-in (and how many instances failed), whatever ``instances:`` is; the
CLI exits 2 with that one line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from orchestra import Config, Orchestra, PluginLoadError
from orchestra.config import HostPluginsSpec, PluginSpec
from orchestra.testing import ADD

from ..conftest import run_orchestra

pytestmark = pytest.mark.anyio
WatFile = Callable[[str, str], Path]
NewOrchestra = Callable[..., Orchestra]  # the new_orchestra fixture: local, then ray

BROKEN_INIT = """
from orchestra.hostplugins import HostModule, i32
broken = HostModule("broken")

def init(options):
    raise RuntimeError("no licence")

@broken.function
def f() -> i32:
    return 1
"""
USES_BROKEN = '(module (import "broken" "f" (func $f (result i32))) (func (export "f") (result i32) (call $f)))'


def broken_config(tmp_path: Path, wat_file: WatFile, instances: int) -> Config:
    hp = tmp_path / "hp"
    hp.mkdir(exist_ok=True)
    (hp / "broken.py").write_text(BROKEN_INIT)
    return Config(
        plugins={
            "ok": PluginSpec(source=str(wat_file("add", ADD)), instances=2),
            "bad": PluginSpec(
                source=str(wat_file("bad", USES_BROKEN)),
                instances=instances,
                host_modules=["broken"],
            ),
        },
        host_plugins=HostPluginsSpec(paths=[str(hp)]),
    )


@pytest.mark.parametrize("instances", [1, 2, 8])
async def test_one_load_error_whatever_the_instances(
    tmp_path: Path, wat_file: WatFile, instances: int, new_orchestra: NewOrchestra
) -> None:
    """Every instance fails at once (repeated: the failures race each other): one
    PluginLoadError naming the plug-in, never an ExceptionGroup."""
    cfg = broken_config(tmp_path, wat_file, instances)
    for _ in range(5):
        with pytest.raises(PluginLoadError) as info:
            async with new_orchestra(cfg):
                pass
        assert type(info.value) is PluginLoadError and info.value.plugin == "bad"
        text = str(info.value)
        assert (
            text.startswith("plug-in 'bad': ") and "init failed: RuntimeError: no licence" in text
        )
        if instances > 1:
            assert text.endswith(f"({instances} of {instances} instances failed to start)")


async def test_a_wasm_that_does_not_parse_with_many_instances(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    cfg = Config(
        plugins={"bad": PluginSpec(source=str(wat_file("bad", "(module (func")), instances=8)}
    )
    for _ in range(5):
        with pytest.raises(PluginLoadError, match=r"^plug-in 'bad': .*bad\.wat"):
            async with new_orchestra(cfg):
                pass


async def test_two_plugins_failing_give_one_error_naming_both(
    tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    cfg = broken_config(tmp_path, wat_file, 2)
    cfg.plugins["bad2"] = cfg.plugins["bad"]
    with pytest.raises(PluginLoadError) as info:
        async with new_orchestra(cfg):
            pass
    assert info.value.plugin == "bad"
    assert str(info.value).endswith("(plug-in 'bad2' failed to start too)")


@pytest.mark.parametrize("instances", [1, 2, 8])
def test_cli_exits_2_with_one_line(tmp_path: Path, wat_file: WatFile, instances: int) -> None:
    """`orchestra run` and `orchestra call -c`: exit 2, stderr one line, no traceback."""
    # Local only: the CLI in a subprocess, on its default backend.
    hp = tmp_path / "hp"
    broken_config(tmp_path, wat_file, instances)  # writes the files
    config = tmp_path / "bad.yaml"
    config.write_text(
        f"host_plugins: {{paths: [{hp}]}}\n"
        f"plugins:\n  bad: {{source: {tmp_path / 'bad.wat'}, instances: {instances}, "
        "host_modules: [broken]}\n"
        "pipelines:\n  p:\n    stages: [{plugin: bad, export: f}]\n"
    )
    for _ in range(3):
        for args in (["run", str(config), "--input", "-"], ["call", "-c", str(config), "bad", "f"]):
            proc = run_orchestra(*args, input=b"[]\n")
            err = proc.stderr.decode()
            assert proc.returncode == 2, err
            assert len(err.splitlines()) == 1, err
            assert err.startswith("orchestra: plug-in 'bad': ") and "no licence" in err
            if instances > 1 and args[0] == "run":  # (call runs one instance)
                assert err.rstrip().endswith(
                    f"({instances} of {instances} instances failed to start)"
                )
