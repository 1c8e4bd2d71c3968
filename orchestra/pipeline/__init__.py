"""Pipelines: records streamed through plug-in stages with backpressure."""

from ._exports import missing_export as missing_export
from ._exports import stage_calls as stage_calls
from ._records import RecordResult as RecordResult
from ._run import Caller as Caller
from ._run import core_args as core_args
from ._run import run_stream as run_stream
from ._stats import PipelineStats as PipelineStats
from ._stats import StageStats as StageStats

__all__ = (
    "Caller",
    "PipelineStats",
    "RecordResult",
    "StageStats",
    "core_args",
    "missing_export",
    "run_stream",
    "stage_calls",
)
