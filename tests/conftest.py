"""Shared fixtures: both anyio backends, a private module cache, WAT files on disk."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# This process runs wasm in-process (tests/unit) and is also a Ray driver (the Ray
# backend tests): Ray's failure signal handler, installed by ray.init after wasmtime's
# trap handler, would catch the SIGILL of every later wasm trap and abort the
# interpreter. Ray reads this when ``ray`` is imported, so it is set before anything
# imports it. (A supervisor never runs wasm in-process; this is a test-process issue.)
os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Tests never touch the user's cache; workers inherit ORCHESTRA_* variables."""
    path = tmp_path_factory.mktemp("orchestra-cache")
    old = os.environ.get("ORCHESTRA_CACHE_DIR")
    os.environ["ORCHESTRA_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("ORCHESTRA_CACHE_DIR", None)
    else:
        os.environ["ORCHESTRA_CACHE_DIR"] = old


@pytest.fixture
def wat_file(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a WAT text to ``tmp_path/NAME.wat`` and return its path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / f"{name}.wat"
        path.write_text(text)
        return path

    return write


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """A real local Ray cluster with 2 CPUs, started once per session (the Ray backend
    joins it instead of starting its own: Orchestra calls ray.init only when Ray is not
    initialised yet, and then shuts it down again itself). Its workers import this
    checkout of orchestra, installed or not."""
    try:
        import ray
    except ImportError:  # CI installs it with the test extra: a missing ray is a failure
        pytest.fail("the Ray backend tests need ray: pip install -e '.[test]'")
    started = False
    if not ray.is_initialized():
        old = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = str(REPO) + (os.pathsep + old if old else "")
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        finally:
            if old is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = old
        started = True
    yield str(ray.get_runtime_context().gcs_address)
    if started:
        ray.shutdown()


def run_orchestra(
    *args: str, input: bytes | None = None, cwd: Path | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m orchestra ARGS`` as a user would, on this checkout. With no
    ``input``, stdin is /dev/null (never the test runner's own stdin, which
    ``orchestra call`` would read when it is a pipe)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "orchestra", *args],
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )
