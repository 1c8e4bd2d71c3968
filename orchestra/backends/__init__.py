"""Backends start workers: ``local`` processes (default) or ``ray`` actors."""

from ._base import Backend as Backend
from ._base import ByRef as ByRef
from ._base import FastIO as FastIO
from ._base import ObjectStore as ObjectStore
from ._base import PayloadLost as PayloadLost
from ._base import WorkerChannel as WorkerChannel
from ._base import get_backend as get_backend

__all__ = (
    "Backend",
    "ByRef",
    "FastIO",
    "ObjectStore",
    "PayloadLost",
    "WorkerChannel",
    "get_backend",
)
