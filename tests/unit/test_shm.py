"""The shared-memory payload rings: spans never wrap, full rings refuse (the caller
falls back to inline frames), consumption frees space, an empty ring restarts at 0."""

from __future__ import annotations

import os
import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestra.wire import ShmRings, create_shm


def rings(size: int = 4096) -> tuple[ShmRings, ShmRings]:
    fd = create_shm(size)
    try:
        return ShmRings(fd), ShmRings(fd)
    finally:
        os.close(fd)  # the mappings keep the memory alive


def test_round_trip_both_directions() -> None:
    sup, wrk = rings()
    pos = sup.put_input(b"x" * 1000)
    assert pos is not None
    view = wrk.input_view(pos, 1000)
    assert bytes(view) == b"x" * 1000
    view.release()
    wrk.input_done(pos, 1000)
    out = wrk.put_output(b"y" * 3000)
    assert out is not None
    assert sup.take_output(out, 3000) == b"y" * 3000


def test_full_ring_refuses_and_consumption_frees() -> None:
    sup, wrk = rings(4096)
    a = sup.put_input(b"a" * 3000)
    assert a is not None
    assert sup.put_input(b"b" * 2000) is None  # would overlap unconsumed bytes
    wrk.input_done(a, 3000)
    b = sup.put_input(b"b" * 2000)
    assert b is not None and b % 4096 == 0  # empty ring: back to the start
    assert sup.put_input(b"c" * 5000) is None  # larger than the ring


def test_an_empty_ring_takes_any_payload_that_fits_whatever_came_before() -> None:
    """A small payload leaves the positions mid-ring; once it is consumed, a larger
    one (up to the whole ring) must still be placed, at the start. (It was refused
    for ever: every larger payload then travelled inline through the socket.)"""
    sup, wrk = rings(4096)
    for n in (100, 1000, 3000, 4096, 10, 4096):
        pos = sup.put_input(b"p" * n)
        assert pos is not None, n
        assert pos % 4096 == 0
        wrk.input_done(pos, n)
        out = wrk.put_output(b"q" * n)
        assert out is not None, n
        assert sup.take_output(out, n) == b"q" * n


@settings(max_examples=50)
@given(sizes=st.lists(st.integers(1, 1500), min_size=1, max_size=40))
def test_spans_never_overlap_live_data(sizes: list[int]) -> None:
    """Whatever the sequence, every accepted payload reads back intact after the
    ones before it were produced (FIFO, in-order consumption)."""
    sup, wrk = rings(4096)
    live: list[tuple[int, bytes]] = []
    for i, n in enumerate(sizes):
        data = bytes([i % 251]) * n
        pos = sup.put_input(data)
        if pos is None:
            # Consume the oldest, as the worker does in order, and retry once.
            old_pos, old = live.pop(0) if live else (None, b"")
            if old_pos is not None:
                view = wrk.input_view(old_pos, len(old))
                assert bytes(view) == old
                view.release()
                wrk.input_done(old_pos, len(old))
            pos = sup.put_input(data)
        if pos is None and not live:
            raise AssertionError(f"an empty ring refused {n} bytes")
        if pos is not None:
            assert pos % 4096 + n <= 4096  # contiguous
            live.append((pos, data))
    for pos, data in live:
        view = wrk.input_view(pos, len(data))
        assert bytes(view) == data
        view.release()
        wrk.input_done(pos, len(data))


def test_the_worker_waits_for_a_reserved_input_to_be_written() -> None:
    """A span may be announced before it is filled (the supervisor copies after
    sending the call): the worker's wait_written returns only once it is published,
    and spans are published in the order reserved."""
    sup, wrk = rings(8192)
    a, b = sup.reserve_input(1000), sup.reserve_input(2000)
    assert a is not None and b is not None
    done: list[float] = []
    waiter = threading.Thread(target=lambda: (wrk.wait_written(b + 2000), done.append(1)))
    waiter.start()
    sup.write_input(a, b"a" * 1000)
    time.sleep(0.05)
    assert not done  # a is written, b is not yet
    wrk.wait_written(a + 1000)  # returns at once
    assert bytes(wrk.input_view(a, 1000)) == b"a" * 1000
    sup.write_input(b, b"b" * 2000)
    waiter.join(timeout=5)
    assert done and bytes(wrk.input_view(b, 2000)) == b"b" * 2000


def test_a_restart_on_an_empty_ring_leaves_the_whole_ring_usable() -> None:
    """After the producer restarts an empty ring at its beginning, later spans fit
    while the first is still unconsumed (the skipped tail is not in use): large
    calls are not held back one at a time."""
    sup, wrk = rings(4096)
    a = sup.put_input(b"a" * 1000)
    assert a is not None
    wrk.input_done(a, 1000)  # empty, the producer 1000 bytes into the lap
    b = sup.put_input(b"b" * 1000)
    assert b is not None and b % 4096 == 0  # restarted at the beginning
    c = sup.put_input(b"c" * 1000)  # fits behind b, though b is not consumed
    d = sup.put_input(b"d" * 2000)
    assert c == b + 1000 and d == c + 1000
    assert sup.put_input(b"e" * 200) is None  # now the ring is really full
    wrk.input_done(b, 1000)
    assert sup.put_input(b"e" * 200) is not None
    # The same for the output ring, produced by the worker.
    o = wrk.put_output(b"x" * 3000)
    assert o is not None
    sup.take_output(o, 3000)
    p = wrk.put_output(b"y" * 3000)
    assert p is not None and p % 4096 == 0
    assert wrk.put_output(b"z" * 1000) == p + 3000


def test_a_large_input_is_published_first_in_a_small_chunk_then_in_growing_ones() -> None:
    """The worker may start on the first 64 KiB while the rest is copied (1 MiB:
    per call +8 % -> +4 % over in-process against whole-MiB chunks); chunks then
    double, so an 8 MiB input takes a dozen publications, not 128."""
    published: list[int] = []

    class Recording(ShmRings):
        def _set(self, at: int, value: int) -> None:
            if at == 32:  # in_written
                published.append(value)
            super()._set(at, value)

    fd = create_shm(16 << 20)
    try:
        sup = Recording(fd)
    finally:
        os.close(fd)
    kib = 1024
    pos = sup.put_input(bytes(3 * 1024 * kib))
    assert pos == 0
    steps = [b - a for a, b in zip([0, *published], published, strict=False) if b > a]
    assert steps == [64 * kib, 128 * kib, 256 * kib, 512 * kib, 1024 * kib, 1024 * kib, 64 * kib]
    assert published[-1] == 3 * 1024 * kib
