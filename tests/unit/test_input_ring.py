"""Large Extism inputs read in place from the worker's input ring (no copy into the
store): the ring mapped into the kernel's memory reservation, in-process.

These drive ``PluginInstance`` exactly as the worker does (a real memfd ring, the
supervisor's ``put_input``); tests/integration/test_extism.py checks the same
through worker processes.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestra.config import PluginSpec
from orchestra.config._spec import Limits
from orchestra.errors import CallError, PluginTrap
from orchestra.runtime import InputRing, PluginInstance
from orchestra.testing import RING_PROBE
from orchestra.wire._shm import ShmRings, create_shm

WatFile = Callable[[str, str], Path]
RING = 1 << 20
FOUR_GIB = 1 << 32


class Ringed:
    """An instance with a ring, and the supervisor's side of that ring."""

    def __init__(self, inst: PluginInstance, ring_size: int = RING) -> None:
        self.fd = create_shm(ring_size)
        self.rings = ShmRings(self.fd)
        self.inst = inst
        self.mapped = inst.map_input_ring(InputRing(self.fd, *self.rings.input_ring()))

    def call(self, export: str, data: bytes) -> bytes:
        """One call whose input went through the ring, as the worker makes it: the
        span is handed back once the output (maybe a view of it) has been read."""
        pos = self.rings.put_input(data)
        assert pos is not None
        view = self.rings.input_view(pos, len(data))
        try:
            out, _ = self.inst.call(
                export,
                view,
                view_output=True,
                ring_pos=pos if self.mapped else None,
            )
            return bytes(out)
        finally:
            view.release()
            self.rings.input_done(pos, len(data))

    def where(self, data: bytes) -> tuple[int, int, int]:
        offset, length, length_unsafe = struct.unpack("<QQQ", self.call("where", data))
        return offset, length, length_unsafe

    def close(self) -> None:
        self.inst.close()
        self.rings.close()
        os.close(self.fd)


@pytest.fixture
def ringed(wat_file: WatFile) -> Iterator[Ringed]:
    r = Ringed(PluginInstance(PluginSpec(source=str(wat_file("probe", RING_PROBE))), plugin="p"))
    yield r
    r.close()


def payload(n: int, seed: int = 0) -> bytes:
    return bytes((i * 7 + seed) % 251 for i in range(n))


def test_a_large_input_is_read_where_the_supervisor_wrote_it(ringed: Ringed) -> None:
    assert ringed.mapped
    data = payload(200_000)
    offset, length, length_unsafe = ringed.where(data)
    # The input handle lies in the ring at the top of the 4 GiB space, not in the heap.
    assert FOUR_GIB - RING <= offset < FOUR_GIB
    assert length == length_unsafe == len(data)
    # A second input lands behind the first (both spans in use at once is fine).
    assert ringed.where(data)[0] >= FOUR_GIB - RING


@pytest.mark.parametrize("export", ["copy_loads", "copy_input_loads", "echo"])
@pytest.mark.parametrize("n", [65_536, 65_541, 300_007])
def test_every_way_of_reading_the_input_sees_its_bytes(ringed: Ringed, export: str, n: int) -> None:
    for seed in range(3):  # the ring moves on between calls
        data = payload(n, seed)
        assert ringed.call(export, data) == data


@pytest.mark.parametrize("export", ["copy_input_loads", "copy_loads", "echo"])
def test_a_call_starts_before_its_input_has_arrived(wat_file: WatFile, export: str) -> None:
    """The plug-in runs while the supervisor is still copying the input into the
    ring: every read waits for the bytes it reaches (the kernel for the plug-in's
    loads, the host for an output in the input span)."""
    spec = PluginSpec(source=str(wat_file("probe", RING_PROBE)))
    r = Ringed(PluginInstance(spec, plugin="p"), ring_size=8 << 20)
    try:
        data = payload(3 << 20)  # three of the supervisor's publishing steps
        pos = r.rings.reserve_input(len(data))
        assert pos is not None and r.mapped
        view = r.rings.input_view(pos, len(data))
        got: list[bytes] = []

        def call() -> None:  # wasm runs without the GIL: this thread waits in it
            out, _ = r.inst.call(export, view, view_output=True, ring_pos=pos)
            got.append(bytes(out))

        caller = threading.Thread(target=call)
        caller.start()
        time.sleep(0.2)
        assert caller.is_alive() and not got  # waiting for the input
        r.rings.write_input(pos, data)
        caller.join(timeout=30)
        assert got == [data]
        view.release()
        r.rings.input_done(pos, len(data))
    finally:
        r.close()


def test_writes_to_the_input_stay_in_its_own_span(ringed: Ringed) -> None:
    data = payload(100_000)
    assert ringed.call("scribble", data) == b"XY" + data[2:]
    # The next input (right behind it in the ring) is untouched; bytes past the
    # input's end read as 0, as out-of-range loads do.
    assert ringed.call("copy_loads", data) == data
    assert ringed.call("beyond", data) == bytes(8)


def test_stores_outside_the_input_are_ignored(ringed: Ringed) -> None:
    """The plug-in cannot write next to its input: those bytes belong to other
    calls' inputs. The ring is checked directly."""
    data = payload(100_000)
    before = bytes(ringed.rings._view)  # header and both rings
    pos = ringed.rings.reserve_input(0)  # where the next input will start
    assert pos is not None
    assert ringed.call("scribble_around", data) == b""
    after = bytes(ringed.rings._view)
    start = 4096 + pos % ringed.rings.ring  # the span just used
    assert after[start - 1] == before[start - 1]
    assert after[start + len(data) :][:64] == before[start + len(data) :][:64]
    assert after[start : start + len(data)] == data  # unchanged, store_u64 included


def test_outputs_elsewhere_in_the_ring_are_refused(ringed: Ringed) -> None:
    """An output handle in the ring but outside the input (the next caller's input
    may be there) is out of bounds, not a way to read other calls' inputs."""
    data = payload(70_000)
    with pytest.raises(CallError, match="out of bounds"):
        ringed.call("past", data)
    assert ringed.call("copy_loads", data) == data


def test_a_ring_of_partial_wasm_pages_is_not_mapped(wat_file: WatFile) -> None:
    # memory.grow works in 64 KiB pages: a ring starting mid-page could be grown into.
    r = Ringed(
        PluginInstance(PluginSpec(source=str(wat_file("probe", RING_PROBE))), plugin="p"),
        ring_size=RING + 4096,
    )
    try:
        assert not r.mapped
        data = payload(70_000)
        assert r.where(data)[0] < 1 << 24  # copied into a heap block
        assert r.call("copy_loads", data) == data
    finally:
        r.close()


def test_host_functions_read_the_input_handle(ringed: Ringed) -> None:
    data = payload(70_000)
    ringed.call("stash", data)  # var_set with the ring input's handle
    assert ringed.call("unstash", b"x" * 65_536) == data


def test_a_store_reset_maps_the_ring_again(ringed: Ringed) -> None:
    data = payload(90_000)
    with pytest.raises(PluginTrap):
        ringed.call("trap", data)
    assert ringed.inst.resets == 1
    assert ringed.where(data)[0] >= FOUR_GIB - RING
    assert ringed.call("copy_input_loads", data) == data


def test_alloc_never_grows_memory_into_the_ring(wat_file: WatFile) -> None:
    # No memory limit: only the ring stops a block that would reach into it.
    spec = PluginSpec(source=str(wat_file("probe", RING_PROBE)), limits=Limits(memory=None))
    r = Ringed(PluginInstance(spec, plugin="p"))
    try:
        kernel = r.inst.abi.blocks  # type: ignore[attr-defined]
        assert kernel.ring_at == FOUR_GIB - RING - 65536  # the header page below
        assert kernel.alloc(FOUR_GIB - RING) == 0  # would need memory past ring_at
        assert kernel.alloc(FOUR_GIB - 2 * RING - 65536) != 0  # fits below it (untouched)
        data = payload(65_536)
        assert r.call("copy_loads", data) == data
    finally:
        r.close()


def test_process_memory_keeps_the_copy(wat_file: WatFile) -> None:
    """With limits.process_memory wasmtime reserves less than 4 GiB and memory may
    move: no mapping, and inputs are copied into the store as before."""
    spec = PluginSpec(
        source=str(wat_file("probe", RING_PROBE)), limits=Limits(process_memory="512MiB")
    )
    r = Ringed(PluginInstance(spec, plugin="p"))
    try:
        assert not r.mapped
        data = payload(80_000)
        offset, length, _ = r.where(data)
        assert offset < 1 << 24 and length == len(data)  # a heap block
        assert r.call("copy_input_loads", data) == data
    finally:
        r.close()
