"""The local backend: one OS process per instance, talking over a socketpair."""

from ._process import LocalBackend as LocalBackend
from ._process import LocalChannel as LocalChannel

backend_class = LocalBackend

__all__ = ("LocalBackend", "LocalChannel", "backend_class")
