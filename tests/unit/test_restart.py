"""The restart-intensity decision is a pure function of history and now."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from orchestra.config import Backoff, Duration, Restart
from orchestra.supervision import decide_restart

POLICY = Restart(
    max_restarts=3,
    within=Duration(10),
    backoff=Backoff(initial=Duration(0.1), max=Duration(1), jitter=0),
)


def test_within_budget_is_allowed_with_exponential_backoff() -> None:
    """The first restart is immediate; later ones double, capped at max."""
    h: tuple[float, ...] = ()
    delays = []
    for now in (100.0, 101.0, 102.0):
        d = decide_restart(POLICY, h, now)
        assert d.allowed
        delays.append(d.delay)
        h = d.history
    assert delays == [0.0, 0.1, 0.2]


def test_one_too_many_within_the_window_fails() -> None:
    """The (max_restarts + 1)-th restart inside `within` is refused."""
    d = decide_restart(POLICY, (100.0, 101.0, 102.0), 103.0)
    assert not d.allowed


def test_old_restarts_leave_the_window() -> None:
    """Restarts older than `within` no longer count (OTP's sliding period)."""
    d = decide_restart(POLICY, (80.0, 85.0, 89.0), 100.0)
    assert d.allowed and d.history == (100.0,) and d.delay == 0.0


def test_zero_restarts_means_fail_on_first_crash() -> None:
    assert not decide_restart(Restart(max_restarts=0), (), 5.0).allowed


def test_plain_duration_backoff() -> None:
    d = decide_restart(Restart(backoff=Duration(0.25)), (0.5,), 1.0)
    assert d.allowed and d.delay == 0.25


@given(
    history=st.lists(st.floats(0, 1000), max_size=20),
    now=st.floats(1000, 2000),
    seed=st.integers(0, 2**32),
)
def test_delay_is_bounded_by_max_and_jitter(history: list[float], now: float, seed: int) -> None:
    """Whatever the history, a delay never exceeds max x (1 + jitter) nor goes negative."""
    policy = Restart(
        max_restarts=100,
        within=Duration(5000),
        backoff=Backoff(initial=Duration(0.1), max=Duration(2), jitter=0.5),
    )
    d = decide_restart(policy, tuple(history), now, rng=random.Random(seed))
    assert 0 <= d.delay <= 2 * 1.5
    assert d.allowed == (len(history) + 1 <= 100)
