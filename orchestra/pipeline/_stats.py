"""Live counters of a pipeline run, for progress bars, summaries and --stats-json."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..config import PipelineSpec

__all__ = ("PipelineStats", "StageStats")


@dataclass
class StageStats:
    """One stage: records in it now, done, errors, dropped, recent latencies."""

    label: str
    in_flight: int = 0
    done: int = 0
    errors: int = 0
    dropped: int = 0
    _latencies: deque[float] = field(default_factory=lambda: deque(maxlen=8192))

    def record(self, seconds: float, n: int = 1) -> None:
        """``n`` records done, each in ``seconds`` (a batch's records share its time;
        at most 64 samples a batch, so one large batch does not fill the window)."""
        self.done += n
        self._latencies.extend([seconds] * min(n, 64))

    def percentile(self, p: float) -> float | None:
        """Latency percentile in seconds over the recent window (None if no data)."""
        if not self._latencies:
            return None
        ordered = sorted(self._latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    def as_dict(self, elapsed: float) -> dict[str, Any]:
        p50, p99 = self.percentile(0.5), self.percentile(0.99)
        return {
            "stage": self.label,
            "done": self.done,
            "errors": self.errors,
            "dropped": self.dropped,
            "in_flight": self.in_flight,
            "records_per_second": round(self.done / elapsed, 1) if elapsed > 0 else None,
            "latency_ms": {
                "p50": round(p50 * 1e3, 3) if p50 is not None else None,
                "p99": round(p99 * 1e3, 3) if p99 is not None else None,
            },
        }


@dataclass
class PipelineStats:
    """Whole-run counters: taken from the input, and emitted ok/failed/dropped."""

    stages: list[StageStats]
    taken: int = 0
    ok: int = 0
    failed: int = 0
    dropped: int = 0

    @classmethod
    def for_spec(cls, spec: PipelineSpec) -> PipelineStats:
        return cls([StageStats(stage.label) for stage in spec.stages])

    @property
    def emitted(self) -> int:
        return self.ok + self.failed + self.dropped

    @property
    def in_flight(self) -> int:
        return self.taken - self.emitted

    def as_dict(self, elapsed: float) -> dict[str, Any]:
        return {
            "records_taken": self.taken,
            "records_ok": self.ok,
            "records_failed": self.failed,
            "records_dropped": self.dropped,
            "stages": [s.as_dict(elapsed) for s in self.stages],
        }
