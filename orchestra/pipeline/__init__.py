"""Pipelines: records streamed through plug-in stages with backpressure."""

from ._records import RecordResult as RecordResult
from ._run import Caller as Caller
from ._run import core_args as core_args
from ._run import run_stream as run_stream

__all__ = ("Caller", "RecordResult", "core_args", "run_stream")
