"""The backend a shared integration test runs on: ``local`` and ``ray``.

A test that builds its Orchestra through ``new_orchestra`` runs once per backend
(ids like ``test_trap[asyncio-ray]``); the ``ray`` runs are marked ``ray`` (so
``-m "not ray"`` is the quick local run) and join the session's local Ray cluster
(``ray_cluster``, 2 CPUs, started once). A test that is local by nature (process
details of a local worker: zygote, pdeathsig, rlimits, shared-memory rings, the CLI
in a subprocess) builds ``Orchestra`` itself and says why next to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from orchestra import Config, Orchestra
from orchestra.config import RayBackendSpec

BACKENDS = [pytest.param("local"), pytest.param("ray", marks=pytest.mark.ray)]


def with_backend(config: Config, kind: str) -> Config:
    """``config`` run on ``kind``: ``ray`` joins the running cluster with the default
    actor options; ``local`` leaves the config as it is."""
    if kind == "local":
        return config
    return msgspec.structs.replace(config, backend=RayBackendSpec())


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    """``local`` or ``ray`` (the latter with the session's Ray cluster up)."""
    if request.param == "ray":
        request.getfixturevalue("ray_cluster")
    return str(request.param)


@pytest.fixture
def new_orchestra(backend_kind: str) -> Callable[..., Orchestra]:
    """``new_orchestra(config, **kwargs)``: an Orchestra for ``config`` on this test's
    backend (the keyword arguments are Orchestra's)."""

    def make(config: Config, **kwargs: Any) -> Orchestra:
        return Orchestra(with_backend(config, backend_kind), **kwargs)

    return make
