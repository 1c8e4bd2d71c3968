"""Restart intensity as a pure function of the history and ``now`` (OTP ``add_restart``).

Tests call :func:`decide_restart` with made-up times; nothing here sleeps or reads
a clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..config import Backoff, Duration, Restart

__all__ = ("RestartDecision", "decide_restart")


@dataclass(frozen=True, slots=True)
class RestartDecision:
    """``allowed`` False: the budget is spent and the plug-in is marked failed."""

    allowed: bool
    delay: float
    history: tuple[float, ...]


def decide_restart(
    policy: Restart,
    history: tuple[float, ...],
    now: float,
    *,
    rng: random.Random | None = None,
) -> RestartDecision:
    """Whether one more restart at ``now`` stays within ``max_restarts`` per ``within``,
    and how long to wait first: nothing for the first restart in the window, then
    ``initial`` doubling up to ``max`` (with jitter).

    :param history: times of earlier restarts (any order).
    """
    window = tuple(sorted(t for t in history if now - t < policy.within))
    recent = (*window, now)
    if len(recent) > policy.max_restarts:
        return RestartDecision(False, 0.0, recent)
    backoff = policy.backoff
    if not isinstance(backoff, Backoff):
        backoff = Backoff(initial=backoff, max=Duration(max(float(backoff), 5.0)), jitter=0.0)
    # The first restart in the window is immediate (a lone crash should cost one fork,
    # not a sleep); repeated ones back off exponentially.
    if not window:
        return RestartDecision(True, 0.0, recent)
    delay = min(float(backoff.max), float(backoff.initial) * (2 ** (len(window) - 1)))
    if backoff.jitter:
        delay *= 1 + (rng or random).uniform(-backoff.jitter, backoff.jitter)
    return RestartDecision(True, max(0.0, delay), recent)
