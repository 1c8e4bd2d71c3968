"""A manifest narrows the config's grants and limits, never widens them
(orchestra/config/_grants.py, apply_manifest); sources are read with a cap."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestra.config import (
    Limits,
    Manifest,
    ManifestMemory,
    ManifestWasm,
    PluginSpec,
    Size,
    SourceBudget,
    SourceRefused,
    WasiSpec,
    apply_manifest,
)
from orchestra.config._grants import covers, paths_within
from orchestra.errors import ConfigError


@pytest.mark.parametrize(
    ("granted", "asked", "ok"),
    [
        ("*", "*", True),
        ("*", "api.example.com", True),
        ("*", "*.example.com", True),
        ("*.example.com", "api.example.com", True),
        ("*.example.com", "*.api.example.com", True),
        ("*.example.com", "*.com", False),
        ("*.example.com", "*", False),
        ("*.example.com", "example.com", False),
        ("api.example.com", "*.example.com", False),
        ("127.0.0.*", "127.0.0.1", True),
        ("127.0.0.?", "127.0.0.*", False),  # "?" is one character, "*" any number
        ("a?c", "a*c", False),
        ("API.example.com", "api.EXAMPLE.com", True),  # host names ignore case
    ],
)
def test_covers(granted: str, asked: str, ok: bool) -> None:
    """A manifest host glob is kept only when every host it matches is granted."""
    assert covers(granted, asked) is ok


_HOST = st.text(alphabet="ab.", min_size=0, max_size=6)
_GLOB = st.text(alphabet="ab.*?", min_size=0, max_size=5)


@given(granted=_GLOB, asked=_GLOB, host=_HOST)
def test_covers_is_sound(granted: str, asked: str, host: str) -> None:
    """Whenever covers(granted, asked), no host matched by asked escapes granted."""
    if covers(granted, asked) and fnmatch.fnmatchcase(host, asked):
        assert fnmatch.fnmatchcase(host, granted), (granted, asked, host)


def _manifest(**keys: object) -> Manifest:
    return Manifest(wasm=[ManifestWasm(path="/x.wasm")], **keys)  # type: ignore[arg-type]


def test_limits_are_the_tighter_of_config_and_manifest() -> None:
    """max_pages, timeout_ms and the var/HTTP caps can tighten the config, not loosen
    it (a manifest once replaced the defaults, e.g. a timeout of an hour)."""
    spec = PluginSpec(source="/m.json")
    loose = _manifest(
        timeout_ms=3_600_000,
        memory=ManifestMemory(
            max_pages=1 << 16, max_var_bytes=1 << 40, max_http_response_bytes=1 << 40
        ),
    )
    out = apply_manifest(spec, loose)
    assert out.limits == spec.limits
    assert (out.max_var_bytes, out.max_http_response_bytes) == (
        spec.max_var_bytes,
        spec.max_http_response_bytes,
    )
    tight = _manifest(
        timeout_ms=150,
        memory=ManifestMemory(max_pages=4, max_var_bytes=16, max_http_response_bytes=9),
    )
    out = apply_manifest(spec, tight)
    assert (out.limits.timeout, out.limits.memory) == (0.15, 4 * 65536)
    assert (out.max_var_bytes, out.max_http_response_bytes) == (16, 9)
    unlimited = PluginSpec(source="/m.json", limits=Limits(timeout=None, memory=None))
    out = apply_manifest(unlimited, tight)
    assert (out.limits.timeout, out.limits.memory) == (0.15, 4 * 65536)


def test_manifest_hosts_must_lie_within_the_config() -> None:
    """A manifest's allowed_hosts replace the config's when the config covers each
    entry; otherwise ConfigError naming the entry and where to grant it."""
    spec = PluginSpec(source="/m.json", allowed_hosts=["*.example.com"])
    out = apply_manifest(spec, _manifest(allowed_hosts=["api.example.com"]))
    assert out.allowed_hosts == ["api.example.com"]
    assert apply_manifest(spec, _manifest()).allowed_hosts == ["*.example.com"]
    with pytest.raises(ConfigError) as info:
        apply_manifest(spec, _manifest(allowed_hosts=["api.example.com", "*"]))
    assert str(info.value) == (
        "/m.json: allowed_hosts: '*' is not granted by the config (its allowed_hosts: "
        "'*.example.com'); a manifest may only narrow them: grant it in the YAML's "
        "allowed_hosts (or --allow-host *), or remove it from the manifest"
    )


def test_manifest_paths_must_lie_within_the_config(tmp_path: Path) -> None:
    """A manifest pre-open is kept inside a granted directory (read-only where the
    grant is), resolved through symlinks; one outside, or escaping through a symlink,
    is refused."""
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "link").symlink_to(tmp_path)
    rw = {str(data): "/data"}
    ro = {"ro:" + str(data): "/data"}
    asked = {str(data / "sub"): "/sub"}
    assert paths_within(asked, rw) == {str(data / "sub"): "/sub"}
    assert paths_within(asked, ro) == {"ro:" + str(data / "sub"): "/sub"}
    assert paths_within({"ro:" + str(data): "/d"}, rw) == {"ro:" + str(data): "/d"}
    for outside in (str(tmp_path), str(data / "link"), str(data) + "-other", "/"):
        with pytest.raises(ValueError, match="is not within a directory the config grants"):
            paths_within({outside: "/x"}, rw)
    with pytest.raises(ValueError, match=r"its wasi.allowed_paths: none\)"):
        paths_within(asked, {})
    spec = PluginSpec(source="/m.json", wasi=WasiSpec(allowed_paths=ro))
    out = apply_manifest(spec, _manifest(allowed_paths=asked))
    assert out.wasi is not None and out.wasi.allowed_paths == {"ro:" + str(data / "sub"): "/sub"}
    with pytest.raises(ConfigError, match=r"^/m\.json: allowed_paths: "):
        apply_manifest(PluginSpec(source="/m.json"), _manifest(allowed_paths=asked))


def test_budget_reads_only_regular_files_within_the_cap(tmp_path: Path) -> None:
    """/dev/zero, a FIFO and a sparse file over the cap are refused unread; files
    count against one budget."""
    sparse = tmp_path / "sparse"
    with sparse.open("wb") as f:
        f.truncate(1 << 40)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        with pytest.raises(SourceRefused, match=r"^not a regular file"):
            SourceBudget(1024).read(path)
    with pytest.raises(SourceRefused, match=r"^1024GiB, larger than limits.source_size \(1KiB\)$"):
        SourceBudget(1024).read(str(sparse))
    small = tmp_path / "small"
    small.write_bytes(b"x" * 600)
    budget = SourceBudget(1024)
    assert budget.read(str(small)) == b"x" * 600
    with pytest.raises(SourceRefused) as info:
        budget.read(str(small))
    assert str(info.value) == (
        "600 bytes, larger than limits.source_size (1KiB), "
        "with the manifest and the modules before it"
    )
    exact = SourceBudget(600)
    assert exact.read(str(small)) == b"x" * 600 and exact.left == 0
    with pytest.raises(SourceRefused):
        SourceBudget(1024).take(1025)
    assert Size(Limits().source_size) == 256 << 20
