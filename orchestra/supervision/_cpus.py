"""How many CPUs this process may really use: its affinity mask, capped by a cgroup
CPU quota (containers), which the mask does not show."""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ("usable_cpus",)

_CGROUP = Path("/sys/fs/cgroup")


def _quota(root: Path) -> float | None:
    """CPUs' worth of the cgroup quota (v2 ``cpu.max``, v1 ``cfs_quota_us``), if any."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]  # v2: "max 100000"
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    for v1 in ("cpu", "cpu,cpuacct"):
        try:
            quota_us = int((root / v1 / "cpu.cfs_quota_us").read_text())
            period_us = int((root / v1 / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        return quota_us / period_us if quota_us > 0 and period_us > 0 else None
    return None


def usable_cpus(root: Path = _CGROUP, affinity: int | None = None) -> int:
    """The CPUs this process may use: the affinity mask's count, or fewer when a
    cgroup quota allows less (rounded up: a quota of 1.5 CPUs gives 2)."""
    if affinity is None:
        get = getattr(os, "sched_getaffinity", None)
        affinity = len(get(0)) if get is not None else os.cpu_count() or 1
    quota = _quota(root)
    if quota is not None:
        affinity = min(affinity, max(1, math.ceil(quota)))
    return max(1, affinity)
