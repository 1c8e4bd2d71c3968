"""The precise alarm (backends/_alarm.py): a timerfd watched by the asyncio loop.
It fires in time order, never early, much finer than asyncio's 1 ms timers, and its
fd goes with the loop."""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import sys
import time

import pytest

from orchestra.backends._alarm import alarm_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="timerfd")


def test_callbacks_run_in_time_order_and_never_early() -> None:
    async def main() -> list[tuple[str, float, float]]:
        loop = asyncio.get_running_loop()
        alarm = alarm_for(loop)
        assert alarm is not None and alarm_for(loop) is alarm  # one per loop
        got: list[tuple[str, float, float]] = []
        done = loop.create_future()
        t0 = time.perf_counter()
        plan = {"c": 0.030, "a": 0.010, "b": 0.020, "a2": 0.010}
        for name, delay in plan.items():  # an earlier one re-arms the timer

            def fire(name: str = name, when: float = t0 + delay) -> None:
                got.append((name, when, time.perf_counter()))
                if len(got) == len(plan):
                    done.set_result(None)

            alarm.at(t0 + delay, fire)
        await asyncio.wait_for(done, 5)
        assert alarm.fired == len(plan)
        return got

    got = asyncio.run(main())
    assert [name for name, _, _ in got] == ["a", "a2", "b", "c"]
    assert all(fired >= when for _, when, fired in got)


def test_it_fires_within_a_fraction_of_a_millisecond() -> None:
    """asyncio's call_later rounds its epoll timeout up to whole milliseconds: a
    300 µs timer fires 0.7 ms late or more. The supervisor dozes through most of a
    ~1 ms call on this alarm and must wake before the answer."""

    async def lateness() -> list[float]:
        loop = asyncio.get_running_loop()
        alarm = alarm_for(loop)
        assert alarm is not None
        late: list[float] = []
        for _ in range(30):
            fired = loop.create_future()
            when = time.perf_counter() + 300e-6
            alarm.at(when, lambda f=fired: f.set_result(time.perf_counter()))
            late.append(await fired - when)
        return late

    late = asyncio.run(lateness())
    assert min(late) >= 0
    assert statistics.median(late) < 500e-6, late


def test_its_fd_is_closed_with_the_loop() -> None:
    loop = asyncio.new_event_loop()
    alarm = alarm_for(loop)
    assert alarm is not None
    fd = alarm._fd
    os.fstat(fd)
    loop.close()
    del loop, alarm
    gc.collect()
    with pytest.raises(OSError):
        os.fstat(fd)


def test_a_callback_that_raises_leaves_the_later_ones_armed() -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, _context: None)  # the loop logs it
        alarm = alarm_for(loop)
        assert alarm is not None
        got: list[str] = []
        done = loop.create_future()
        now = time.perf_counter()

        def boom() -> None:
            raise RuntimeError("boom")

        alarm.at(now + 0.005, boom)
        alarm.at(now + 0.020, lambda: (got.append("later"), done.set_result(None)))
        await asyncio.wait_for(done, 5)
        return got

    assert asyncio.run(main()) == ["later"]
