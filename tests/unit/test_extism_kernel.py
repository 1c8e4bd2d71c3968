"""Orchestra's Extism kernel (orchestra/runtime/extism_kernel.wat), checked in-process.

The kernel is assembled with wasmtime.wat2wasm and driven through wasmtime-py
directly; nothing of Orchestra is imported. Layout facts used here (control
block at 0..63, heap from 64, 16-byte headers, first handle 80) are the ones
documented at the top of the .wat file.
"""

from __future__ import annotations

import itertools
import random
import struct
from pathlib import Path
from typing import Any

import pytest
import wasmtime
from hypothesis import given, settings
from hypothesis import strategies as st

KERNEL_WAT = Path(__file__).resolve().parents[2] / "orchestra" / "runtime" / "extism_kernel.wat"

ENGINE = wasmtime.Engine()
KERNEL_WASM = wasmtime.wat2wasm(KERNEL_WAT.read_text())
KERNEL_MODULE = wasmtime.Module(ENGINE, KERNEL_WASM)

HEAP_START = 64
HEADER = 16
FIRST_HANDLE = HEAP_START + HEADER
PAGE = 65536
U64 = (1 << 64) - 1

I32 = "i32"
I64 = "i64"
EXPECTED_EXPORTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "alloc": ((I64,), (I64,)),
    "free": ((I64,), ()),
    "length": ((I64,), (I64,)),
    "length_unsafe": ((I64,), (I64,)),
    "load_u8": ((I64,), (I32,)),
    "load_u64": ((I64,), (I64,)),
    "store_u8": ((I64, I32), ()),
    "store_u64": ((I64, I64), ()),
    "input_set": ((I64, I64), ()),
    "input_length": ((), (I64,)),
    "input_offset": ((), (I64,)),
    "input_load_u8": ((I64,), (I32,)),
    "input_load_u64": ((I64,), (I64,)),
    "output_set": ((I64, I64), ()),
    "output_length": ((), (I64,)),
    "output_offset": ((), (I64,)),
    "error_set": ((I64,), ()),
    "error_get": ((), (I64,)),
    "memory_bytes": ((), (I64,)),
    "reset": ((), ()),
    # host-only, never linked into plug-ins: the prologue, and the input ring's two
    "orchestra_begin": ((I64,), (I64,)),
    "orchestra_ring": ((I64, I64), (I32,)),
    "orchestra_begin_ring": ((I64, I64, I64), (I32,)),
}

# Addresses no load may read and no store may write, whatever the memory size.
WILD_ADDRESSES = [-1, -8, -(2**63), 2**62, 2**63 - 1, 2**32, 2**32 - 1, 0, 1, 8, 63]


class Kernel:
    """A fresh kernel instance in its own Store; kernel exports as methods."""

    def __init__(self, memory_limit: int | None = None) -> None:
        self.store = wasmtime.Store(ENGINE)
        if memory_limit is not None:
            self.store.set_limits(memory_size=memory_limit)
        self.instance = wasmtime.Instance(self.store, KERNEL_MODULE, [])
        self.exports = self.instance.exports(self.store)
        memory = self.exports["memory"]
        assert isinstance(memory, wasmtime.Memory)
        self.memory = memory

    def __getattr__(self, name: str) -> Any:
        func = self.exports[name]
        return lambda *args: func(self.store, *args)

    def read(self, addr: int, n: int) -> bytes:
        return bytes(self.memory.read(self.store, addr, addr + n))

    def write(self, addr: int, data: bytes) -> None:
        self.memory.write(self.store, data, addr)

    def size(self) -> int:
        return self.memory.data_len(self.store)

    def control(self) -> dict[str, int]:
        """The control block at 0..63, as documented in the .wat file."""
        fields = struct.unpack("<7QII", self.read(0, 64))
        names = (
            "input_offset",
            "input_length",
            "output_offset",
            "output_length",
            "error",
            "top",
            "last",
            "free_count",
            "epoch",
        )
        return dict(zip(names, fields, strict=True))


LIVE_MAGIC = 0x4C495645
FREE_MAGIC = 0x46524545


def walk(k: Kernel) -> list[tuple[int, int, int, int, str]]:
    """The heap's blocks as (handle, length, cap, prev, "live"/"free"/"?")."""
    ctl = k.control()
    blocks = []
    a = HEAP_START
    while a < ctl["top"]:
        length, cap, prev, tag = struct.unpack("<4I", k.read(a, HEADER))
        h = a + HEADER
        mix = ctl["epoch"] ^ (h & 0xFFFFFFFF)
        state = {LIVE_MAGIC ^ mix: "live", FREE_MAGIC ^ mix: "free"}.get(tag, "?")
        blocks.append((h, length, cap, prev, state))
        a = h + cap
    assert a == ctl["top"]
    return blocks


def check_heap(k: Kernel, live: set[int]) -> None:
    """The allocator invariants documented in the .wat file."""
    ctl = k.control()
    blocks = walk(k)
    assert {h for h, *_, state in blocks if state == "live"} == live
    assert all(state in ("live", "free") for *_, state in blocks)
    assert ctl["free_count"] == sum(state == "free" for *_, state in blocks)
    prev_header = 0
    for (_, _, _, _, s1), (_, _, _, _, s2) in itertools.pairwise(blocks):
        assert (s1, s2) != ("free", "free")  # coalesced
    for h, _, _, prev, _ in blocks:
        assert prev == prev_header
        prev_header = h - HEADER
    assert ctl["last"] == prev_header
    if blocks:
        assert blocks[-1][4] == "live"
    else:
        assert ctl["top"] == HEAP_START


@pytest.fixture
def k() -> Kernel:
    return Kernel()


def valtype_names(types: list[wasmtime.ValType]) -> tuple[str, ...]:
    return tuple(str(t) for t in types)


# --------------------------------------------------------------------------
# shape
# --------------------------------------------------------------------------


def test_exports_are_exact() -> None:
    assert not KERNEL_MODULE.imports
    funcs = {}
    memories = []
    for export in KERNEL_MODULE.exports:
        if isinstance(export.type, wasmtime.FuncType):
            funcs[export.name] = (
                valtype_names(export.type.params),
                valtype_names(export.type.results),
            )
        else:
            assert isinstance(export.type, wasmtime.MemoryType)
            memories.append(export.name)
    assert memories == ["memory"]
    assert funcs == EXPECTED_EXPORTS


def test_starts_small_and_empty(k: Kernel) -> None:
    assert k.memory_bytes() == k.size() == PAGE
    ctl = k.control()
    assert ctl["top"] == HEAP_START
    assert ctl["free_count"] == 0
    assert k.input_length() == k.input_offset() == 0
    assert k.output_length() == k.output_offset() == 0
    assert k.error_get() == 0


# --------------------------------------------------------------------------
# alloc / length / free
# --------------------------------------------------------------------------


def test_alloc_layout(k: Kernel) -> None:
    a = k.alloc(5)
    assert a == FIRST_HANDLE
    assert k.length(a) == k.length_unsafe(a) == 5
    b = k.alloc(8)
    assert b == a + 8 + HEADER  # 5 rounded up to 8
    c = k.alloc(1)
    assert c == b + 8 + HEADER
    for h in (a, b, c):
        assert h % 8 == 0
    assert k.control()["top"] == c + 8
    assert k.control()["last"] == c - HEADER
    # the header is as documented: u32 length, cap, prev, tag
    length, cap, prev, _tag = struct.unpack("<4I", k.read(b - HEADER, HEADER))
    assert (length, cap, prev) == (8, 8, a - HEADER)


@pytest.mark.parametrize("n", [0, -1, -(2**63), 2**32, 2**62, 2**63 - 1])
def test_alloc_rejects_zero_and_huge(k: Kernel, n: int) -> None:
    assert k.alloc(n) == 0
    assert k.control()["top"] == HEAP_START
    assert k.memory_bytes() == PAGE


def test_length_of_bogus_handles_is_zero(k: Kernel) -> None:
    a = k.alloc(64)
    b = k.alloc(3)
    top = k.control()["top"]
    bogus = [
        0,
        1,
        8,
        16,
        64,
        HEAP_START + 8,
        a - 8,
        a + 1,
        a + 4,
        a + 8,
        a + 32,
        a + 64,
        b + 8,
        top,
        top + 16,
        top + 1024,
        k.size(),
        k.size() + 16,
        *WILD_ADDRESSES,
    ]
    for h in bogus:
        assert k.length(h) == 0, h
    # freeing bogus handles is a no-op
    before = k.read(0, top)
    for h in bogus:
        k.free(h)
    assert k.read(0, top) == before
    assert k.length(a) == 64
    assert k.length(b) == 3


def test_length_unsafe_never_traps(k: Kernel) -> None:
    a = k.alloc(24)
    assert k.length_unsafe(a) == 24
    for h in [*WILD_ADDRESSES, k.size() + 8, 2**40]:
        k.length_unsafe(h)  # must not trap
    assert k.length_unsafe(0) == 0
    assert k.length_unsafe(-1) == 0
    assert k.length_unsafe(2**62) == 0


def test_free_and_reuse(k: Kernel) -> None:
    a = k.alloc(16)
    b = k.alloc(16)
    c = k.alloc(16)
    k.free(b)
    assert k.length(b) == 0
    assert k.control()["free_count"] == 1
    k.free(b)  # double free: no-op
    assert k.control()["free_count"] == 1
    # first fit reuses the hole
    assert k.alloc(10) == b
    assert k.length(b) == 10
    assert k.control()["free_count"] == 0
    # a hole that is too small is skipped
    k.free(b)
    d = k.alloc(40)
    assert d == c + 16 + HEADER
    assert k.length(a) == 16
    assert k.length(c) == 16


def test_free_last_moves_top_back(k: Kernel) -> None:
    a = k.alloc(10)
    b = k.alloc(100)
    k.free(b)
    assert k.control()["top"] == b - HEADER
    assert k.control()["free_count"] == 0
    assert k.alloc(100) == b
    k.free(b)
    k.free(a)
    assert k.control()["top"] == HEAP_START
    assert k.control()["last"] == 0
    assert k.alloc(1) == FIRST_HANDLE


def test_free_coalesces_neighbours(k: Kernel) -> None:
    a = k.alloc(8)
    b = k.alloc(8)
    c = k.alloc(8)
    d = k.alloc(8)
    e = k.alloc(8)
    k.free(b)
    k.free(d)
    assert k.control()["free_count"] == 2
    k.free(c)  # merges b, c, d into one free block
    assert k.control()["free_count"] == 1
    big = k.alloc(8 * 3 + HEADER * 2)
    assert big == b
    assert k.control()["free_count"] == 0
    assert k.length(a) == 8
    assert k.length(e) == 8
    # trailing free blocks are dropped together
    k.free(big)
    k.free(e)
    assert k.control()["top"] == a + 8
    assert k.control()["free_count"] == 0


def test_reuse_splits_large_free_block(k: Kernel) -> None:
    big = k.alloc(4096)
    guard = k.alloc(8)
    k.free(big)
    small = k.alloc(8)
    assert small == big
    assert k.control()["free_count"] == 1
    nxt = k.alloc(8)
    assert nxt == small + 8 + HEADER
    assert k.length(guard) == 8
    # freeing everything returns to an empty heap
    for h in (small, nxt, guard):
        k.free(h)
    assert k.control()["top"] == HEAP_START
    assert k.control()["free_count"] == 0


def test_reuse_without_split_keeps_capacity(k: Kernel) -> None:
    a = k.alloc(40)
    guard = k.alloc(8)
    k.free(a)
    # 40 - 16 = 24 left over is below the 48-byte split threshold
    b = k.alloc(16)
    assert b == a
    assert k.length(b) == 16
    assert struct.unpack("<I", k.read(b - HEADER + 4, 4))[0] == 40
    assert k.control()["free_count"] == 0
    assert k.length(guard) == 8


def test_free_input_clears_input(k: Kernel) -> None:
    h = k.alloc(10)
    k.input_set(h, 10)
    assert k.input_length() == 10
    assert k.input_offset() == h
    assert k.length(h) == 10  # the input block is an ordinary live block
    k.free(h)
    assert k.input_length() == 0
    assert k.input_offset() == 0
    assert k.input_load_u8(0) == 0


def test_free_other_block_keeps_input(k: Kernel) -> None:
    h = k.alloc(10)
    other = k.alloc(10)
    k.input_set(h, 10)
    k.free(other)
    assert k.input_length() == 10


def test_free_output_keeps_output_handle(k: Kernel) -> None:
    h = k.alloc(4)
    k.output_set(h, 4)
    k.free(h)
    assert (k.output_offset(), k.output_length()) == (h, 4)


# --------------------------------------------------------------------------
# loads and stores
# --------------------------------------------------------------------------


def test_load_store_round_trip(k: Kernel) -> None:
    h = k.alloc(32)
    value = 0x0123456789ABCDEF
    k.store_u64(h, value)
    assert k.load_u64(h) == value
    assert k.read(h, 8) == value.to_bytes(8, "little")
    assert [k.load_u8(h + i) for i in range(8)] == list(value.to_bytes(8, "little"))
    # high bit set: the i64 comes back signed
    k.store_u64(h + 8, -2)
    assert k.load_u64(h + 8) & U64 == U64 - 1
    assert k.read(h + 8, 8) == b"\xfe" + b"\xff" * 7
    # unaligned
    k.store_u64(h + 3, 0x1122334455667788)
    assert k.load_u64(h + 3) == 0x1122334455667788
    # bytes: only the low 8 bits of the i32 are stored
    k.store_u8(h + 20, 0x1AB)
    assert k.load_u8(h + 20) == 0xAB
    assert k.read(h + 20, 1) == b"\xab"
    # host writes are visible to loads
    k.write(h + 24, b"\x01\x02\x03\x04\x05\x06\x07\x08")
    assert k.load_u64(h + 24) == 0x0807060504030201


def test_loads_reach_the_end_of_memory(k: Kernel) -> None:
    size = k.size()
    k.store_u64(size - 8, 0x55AA)
    assert k.load_u64(size - 8) == 0x55AA
    k.store_u8(size - 1, 7)
    assert k.load_u8(size - 1) == 7
    # the first heap byte is addressable too
    k.store_u8(HEAP_START, 9)
    assert k.load_u8(HEAP_START) == 9


def test_out_of_range_loads_and_stores(k: Kernel) -> None:
    h = k.alloc(8)
    k.input_set(h, 8)
    k.output_set(h, 8)
    k.error_set(h)
    size = k.size()
    k.write(size - 8, b"\xff" * 8)
    before = k.read(0, size)
    wild = [*WILD_ADDRESSES, size, size + 1, 2**40]
    for p in wild:
        assert k.load_u8(p) == 0, p
        assert k.load_u64(p) == 0, p
        k.store_u8(p, 0x5A)
        k.store_u64(p, -1)
    # u64 accesses straddling the end are out of range too
    for p in range(size - 7, size):
        assert k.load_u64(p) == 0, p
        k.store_u64(p, 0)
    # and so are accesses into the control block
    for p in range(HEAP_START):
        assert k.load_u8(p) == 0
        assert k.load_u64(p) == 0
        k.store_u8(p, 0x5A)
        k.store_u64(p, -1)
    assert k.read(0, size) == before
    assert k.input_offset() == h
    assert k.error_get() == h


# --------------------------------------------------------------------------
# input, output, error
# --------------------------------------------------------------------------


def test_input_semantics(k: Kernel) -> None:
    data = bytes(range(1, 20))  # 19 bytes, not a multiple of 8
    h = k.alloc(len(data))
    k.write(h, data)
    k.input_set(h, len(data))
    assert k.input_length() == len(data)
    assert k.input_offset() == h
    assert [k.input_load_u8(i) for i in range(len(data))] == list(data)
    for i in range(len(data) - 7):
        assert k.input_load_u64(i) == int.from_bytes(data[i : i + 8], "little")
    for i in range(len(data) - 7, len(data) + 8):
        assert k.input_load_u64(i) == 0, i
    for off in [len(data), len(data) + 1, -1, -8, 2**62, -(2**63), 2**63 - 1]:
        assert k.input_load_u8(off) == 0
        assert k.input_load_u64(off) == 0


def test_input_load_u64_does_not_read_past_input(k: Kernel) -> None:
    h = k.alloc(16)
    k.write(h, b"A" * 16)
    k.input_set(h, 3)  # input is a prefix of the block
    assert k.input_load_u64(0) == 0
    assert [k.input_load_u8(i) for i in range(4)] == [65, 65, 65, 0]


def test_empty_and_invalid_input(k: Kernel) -> None:
    assert k.input_load_u8(0) == 0
    assert k.input_load_u64(0) == 0
    k.input_set(0, 0)
    assert (k.input_offset(), k.input_length()) == (0, 0)
    size = k.size()
    h = k.alloc(8)
    for bad_h, bad_len in [
        (0, 5),
        (8, 8),
        (h, size),
        (size, 1),
        (-1, 8),
        (h, -1),
        (2**62, 8),
        (h, 2**62),
    ]:
        k.input_set(h, 8)
        k.input_set(bad_h, bad_len)
        assert (k.input_offset(), k.input_length()) == (0, 0), (bad_h, bad_len)
        assert k.input_load_u64(0) == 0
    # a range ending exactly at the end of memory is fine
    k.input_set(size - 8, 8)
    assert k.input_length() == 8


def test_output_set_and_get(k: Kernel) -> None:
    assert (k.output_offset(), k.output_length()) == (0, 0)
    h = k.alloc(12)
    k.output_set(h, 12)
    assert (k.output_offset(), k.output_length()) == (h, 12)
    # stored as given: a sub-range is allowed, the host validates when reading
    k.output_set(h + 4, 3)
    assert (k.output_offset(), k.output_length()) == (h + 4, 3)
    assert k.control()["output_offset"] == h + 4
    assert k.control()["output_length"] == 3


def test_error_set_get_clear(k: Kernel) -> None:
    assert k.error_get() == 0
    h = k.alloc(5)
    k.write(h, b"boom!")
    k.error_set(h)
    assert k.error_get() == h
    assert k.control()["error"] == h
    assert k.read(k.error_get(), k.length(k.error_get())) == b"boom!"
    k.error_set(0)
    assert k.error_get() == 0


# --------------------------------------------------------------------------
# reset and growth
# --------------------------------------------------------------------------


def test_reset_frees_everything(k: Kernel) -> None:
    handles = [k.alloc(n) for n in (10, 20, 30, 40)]
    k.free(handles[1])
    k.input_set(handles[0], 10)
    k.output_set(handles[2], 30)
    k.error_set(handles[3])
    epoch = k.control()["epoch"]
    k.reset()
    ctl = k.control()
    assert ctl == {
        "input_offset": 0,
        "input_length": 0,
        "output_offset": 0,
        "output_length": 0,
        "error": 0,
        "top": HEAP_START,
        "last": 0,
        "free_count": 0,
        "epoch": epoch + 1,
    }
    # handles from before the reset are not live any more
    for h in handles:
        assert k.length(h) == 0
    assert k.alloc(10) == FIRST_HANDLE
    # even where a new block's header lands exactly where an old one was
    assert k.alloc(20) == handles[1]
    assert k.length(handles[2]) == 0
    k.free(handles[2])  # stale: no-op
    assert k.control()["free_count"] == 0


def test_reset_does_not_leak(k: Kernel) -> None:
    rng = random.Random(1)
    for _ in range(5):
        k.reset()
        for _ in range(50):
            k.alloc(rng.randint(1, 4096))
    size = k.memory_bytes()
    for i in range(1000):
        k.reset()
        assert k.alloc(100) == FIRST_HANDLE
        k.alloc(rng.randint(1, 4096))
        k.alloc(3000)
        if i % 3 == 0:
            k.free(FIRST_HANDLE)
    assert k.memory_bytes() == size


@settings(max_examples=80, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["alloc", "free", "store_u8", "store_u64"]), st.integers(0, 70_000)
        ),
        max_size=40,
    )
)
def test_reset_zeroes_everything_a_call_wrote(ops: list[tuple[str, int]]) -> None:
    """An instance serves many callers: after reset, all of [64, memory size) is zero
    again, whatever the call allocated, freed (the top moving back) or stored, inside
    blocks or anywhere above the heap top, so the next call cannot read any of it."""
    k = Kernel()
    live: list[int] = []
    for op, n in ops:
        if op == "alloc":
            size = n % 5000 + 1
            h = k.alloc(size)
            if h:
                k.write(h, b"\xaa" * size)  # what the host writes: inside the block
                live.append(h)
        elif op == "free" and live:
            k.free(live.pop(n % len(live)))
        elif op == "store_u8":
            k.store_u8(n, 0x5A)
        elif op == "store_u64":
            k.store_u64(n, -1)
    k.reset()
    assert k.read(HEAP_START, k.size() - HEAP_START) == bytes(k.size() - HEAP_START)


def test_begin_zeroes_all_but_the_span_the_input_overwrites() -> None:
    """orchestra_begin skips zeroing the new input block (the host writes it whole
    next) and zeroes the rest; an input that cannot be allocated leaves that span
    counted, so the next reset zeroes it."""
    k = Kernel(memory_limit=2 * PAGE)
    for n in (5000, 100, 0):
        h = k.orchestra_begin(3000)
        k.write(h, b"\xaa" * 3000)
        k.store_u64(k.alloc(64), -1)
        k.store_u8(PAGE + 100, 7)  # above the heap top
        h = k.orchestra_begin(n)
        if n:
            assert h == FIRST_HANDLE
            k.write(h, b"\xbb" * n)
        rest = FIRST_HANDLE + n
        assert k.read(rest, k.size() - rest) == bytes(k.size() - rest), n
    k.orchestra_begin(3000)
    k.write(FIRST_HANDLE, b"\xaa" * 3000)
    assert k.orchestra_begin(3 * PAGE) == -1  # over the memory limit: no input
    k.reset()
    assert k.read(HEAP_START, k.size() - HEAP_START) == bytes(k.size() - HEAP_START)


def test_growth_to_5_mib(k: Kernel) -> None:
    n = 5 * 1024 * 1024
    small = k.alloc(8)
    h = k.alloc(n)
    assert h != 0
    assert k.length(h) == n
    assert k.memory_bytes() == k.size() >= h + n
    data = bytes(random.Random(2).randbytes(n))
    k.write(h, data)
    assert k.read(h, n) == data
    assert k.load_u8(h + n - 1) == data[-1]
    assert k.load_u64(h + n - 8) == int.from_bytes(data[-8:], "little")
    k.store_u64(h + n - 8, 0)
    assert k.read(h + n - 8, 8) == bytes(8)
    assert k.length(small) == 8
    # the memory is kept after a reset, and reused without growing
    size = k.memory_bytes()
    k.reset()
    assert k.alloc(n) == FIRST_HANDLE
    assert k.memory_bytes() == size


def test_store_limits_make_alloc_return_zero() -> None:
    k = Kernel(memory_limit=1024 * 1024)
    small = k.alloc(100)
    assert small == FIRST_HANDLE
    assert k.alloc(2 * 1024 * 1024) == 0  # no trap
    assert k.alloc(1024 * 1024) == 0  # header pushes it past the limit
    assert k.memory_bytes() <= 1024 * 1024
    assert k.length(small) == 100
    h = k.alloc(512 * 1024)  # still fits
    assert h != 0
    assert k.length(h) == 512 * 1024
    assert k.memory_bytes() <= 1024 * 1024


# --------------------------------------------------------------------------
# property: random alloc/free sequences
# --------------------------------------------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("alloc"), st.integers(min_value=1, max_value=200)),
        st.tuples(st.just("alloc"), st.integers(min_value=1, max_value=70_000)),
        st.tuples(st.just("free"), st.integers(min_value=0, max_value=1000)),
        st.tuples(st.just("reset"), st.just(0)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(ops=OPS)
def test_alloc_free_property(ops: list[tuple[str, int]]) -> None:
    k = Kernel()
    live: dict[int, tuple[int, int]] = {}  # handle -> (n, fill byte)
    dead: set[int] = set()
    for step, (op, arg) in enumerate(ops):
        if op == "alloc":
            h = k.alloc(arg)
            assert h != 0
            assert h not in live
            fill = step % 251 + 1
            k.write(h, bytes([fill]) * arg)
            live[h] = (arg, fill)
            dead.discard(h)
        elif op == "free" and live:
            h = sorted(live)[arg % len(live)]
            k.free(h)
            del live[h]
            dead.add(h)
        elif op == "reset":
            k.reset()
            dead.update(live)
            live.clear()
        # live blocks: aligned, right length, disjoint (headers included), intact
        caps = {h: cap for h, _, cap, _, _ in walk(k)}
        spans = sorted((h - HEADER, h + caps[h]) for h in live)
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start
        for h, (n, fill) in live.items():
            assert h >= FIRST_HANDLE
            assert h % 8 == 0
            assert k.length(h) == n
            assert k.length_unsafe(h) == n
            # capacity: n rounded up to 8, plus < 48 spare bytes on an unsplit reuse
            assert 0 <= caps[h] - (n + (-n % 8)) < 48
            assert k.read(h, n) == bytes([fill]) * n
        for h in dead - live.keys():
            assert k.length(h) == 0
        check_heap(k, set(live))


# --------------------------------------------------------------------------
# a tiny plug-in linked against the kernel
# --------------------------------------------------------------------------

UPPER_PLUGIN = """
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory 1)

  ;; ASCII-uppercase bytes [0, n) of this module's memory
  (func $upper (param $n i32)
    (local $i i32) (local $c i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $c (i32.load8_u (local.get $i)))
        (if (i32.lt_u (i32.sub (local.get $c) (i32.const 97)) (i32.const 26))
          (then (i32.store8 (local.get $i) (i32.sub (local.get $c) (i32.const 32)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  (func (export "upper") (result i32)
    (local $len i64) (local $i i64) (local $out i64)
    (local.set $len (call $input_length))
    ;; input -> own memory: 8 bytes at a time, then the tail byte by byte
    (block $done8
      (loop $copy8
        (br_if $done8 (i64.gt_u (i64.add (local.get $i) (i64.const 8)) (local.get $len)))
        (i64.store (i32.wrap_i64 (local.get $i)) (call $input_load_u64 (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 8)))
        (br $copy8)))
    (block $done1
      (loop $copy1
        (br_if $done1 (i64.ge_u (local.get $i) (local.get $len)))
        (i32.store8 (i32.wrap_i64 (local.get $i)) (call $input_load_u8 (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $copy1)))
    (call $upper (i32.wrap_i64 (local.get $len)))
    ;; own memory -> a new kernel block, then mark it as the output
    (local.set $out (call $alloc (local.get $len)))
    (local.set $i (i64.const 0))
    (block $out8
      (loop $put8
        (br_if $out8 (i64.gt_u (i64.add (local.get $i) (i64.const 8)) (local.get $len)))
        (call $store_u64 (i64.add (local.get $out) (local.get $i))
                         (i64.load (i32.wrap_i64 (local.get $i))))
        (local.set $i (i64.add (local.get $i) (i64.const 8)))
        (br $put8)))
    (block $out1
      (loop $put1
        (br_if $out1 (i64.ge_u (local.get $i) (local.get $len)))
        (call $store_u8 (i64.add (local.get $out) (local.get $i))
                        (i32.load8_u (i32.wrap_i64 (local.get $i))))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $put1)))
    (call $output_set (local.get $out) (local.get $len))
    (i32.const 0))
)
"""


def test_plugin_linked_to_kernel_uppercases_input() -> None:
    k = Kernel()
    linker = wasmtime.Linker(ENGINE)
    linker.define_instance(k.store, "extism:host/env", k.instance)
    plugin = linker.instantiate(k.store, wasmtime.Module(ENGINE, UPPER_PLUGIN))
    upper = plugin.exports(k.store)["upper"]
    assert isinstance(upper, wasmtime.Func)

    def call(data: bytes) -> bytes:
        # what the host does around every call
        k.reset()
        h = k.alloc(len(data))
        if data:
            k.write(h, data)
        k.input_set(h, len(data))
        assert upper(k.store) == 0
        assert k.error_get() == 0
        off, n = k.output_offset(), k.output_length()
        assert n == len(data)
        return k.read(off, n) if n else b""

    randomish = bytes(random.Random(3).randbytes(1000))
    cases = [b"", b"a", b"hello, world!", b"exactly8", b"MiXeD cAsE 123 xyz{}", randomish]
    size = None
    for _ in range(3):
        for data in cases:
            assert call(data) == data.upper()
        # repeated calls reuse the same kernel memory
        size = size or k.memory_bytes()
        assert k.memory_bytes() == size


def test_corrupted_headers_never_trap() -> None:
    """A plug-in can overwrite headers; the allocator must still not trap or hang."""
    rng = random.Random(4)
    for trial in range(30):
        k = Kernel()
        handles = [k.alloc(rng.randint(1, 300)) for _ in range(20)]
        for h in handles[::3]:
            k.free(h)
        top = k.control()["top"]
        if trial % 2:
            k.write(HEAP_START, rng.randbytes(top - HEAP_START))
        else:  # plausible-looking garbage: huge caps, bogus prev pointers
            for h in handles:
                k.write(h - HEADER, struct.pack("<4I", *(rng.getrandbits(32) for _ in range(4))))
        for _ in range(50):
            h = rng.choice([*handles, rng.getrandbits(40)])
            k.length(h)
            k.free(h)
            k.alloc(rng.randint(1, 5000))
        k.reset()
        assert k.alloc(8) == FIRST_HANDLE


def test_free_block_with_corrupted_huge_cap_is_not_reused() -> None:
    k = Kernel()
    a = k.alloc(64)
    guard = k.alloc(8)
    k.free(a)
    k.write(a - HEADER + 4, struct.pack("<I", 0xFFFFFF00))  # cap far past memory
    h = k.alloc(1 << 20)  # would split at the end of the bogus block
    assert h > guard
    assert k.length(h) == 1 << 20


def test_orchestra_begin_is_reset_alloc_input_set() -> None:
    """The host prologue resets, allocates and marks the input in one call."""
    store = wasmtime.Store(ENGINE)
    inst = wasmtime.Instance(store, KERNEL_MODULE, [])
    ex = inst.exports(store)
    begin, alloc = ex["orchestra_begin"], ex["alloc"]
    assert isinstance(begin, wasmtime.Func) and isinstance(alloc, wasmtime.Func)
    alloc(store, 100)
    h = begin(store, 5)
    assert h == 80  # everything before was released
    assert ex["input_offset"](store) == 80 and ex["input_length"](store) == 5  # type: ignore[operator]
    assert begin(store, 0) == 0 and ex["input_length"](store) == 0  # type: ignore[operator]
    store.set_limits(memory_size=65536)
    assert begin(store, 1 << 20) == -1


def test_input_ring_bounds(k: Kernel) -> None:
    """orchestra_ring reserves [at, 4 GiB) for the host's ring mapping: alloc never
    grows memory into it, and orchestra_begin_ring accepts inputs only inside it.
    (Nothing is mapped here, so nothing reads there: test_input_ring.py does.)"""
    four_g = 1 << 32
    assert k.orchestra_begin_ring(four_g - 16, 8, 0) == 0  # no ring yet
    assert k.orchestra_ring(0, 0) == 0  # below the memory's size
    assert k.orchestra_ring(four_g + PAGE, 0) == 0
    assert k.orchestra_ring(3 * PAGE + 4096, 0) == 0  # not on a wasm page boundary
    assert k.orchestra_ring(3 * PAGE, 3 * PAGE - 8) == 0  # written below the mapping
    assert k.orchestra_ring(3 * PAGE, 3 * PAGE + 4) == 0  # written not 8-aligned
    at = 3 * PAGE
    assert k.orchestra_ring(at, 0) == 1
    assert k.alloc(2 * PAGE) != 0  # ends below at
    assert k.alloc(PAGE) == 0  # would grow memory past at
    assert k.size() == at

    assert k.orchestra_begin_ring(at + 8, 100, 0) == 1
    assert (k.input_offset(), k.input_length()) == (at + 8, 100)
    assert k.length(at + 8) == k.length_unsafe(at + 8) == 100
    assert k.length(at + 16) == 0  # only the input's own handle
    k.free(at + 8)  # not a heap block: nothing happens
    assert k.input_length() == 100
    assert k.alloc(8) == 80  # begin_ring reset the heap

    for off, n in ((at - 8, 16), (four_g - 10, 11), (four_g, 0), (2**64 - 8, 16)):
        assert k.orchestra_begin_ring(off, n, 0) == 0
        assert (k.input_offset(), k.input_length()) == (0, 0)
    assert k.orchestra_begin_ring(four_g - 10, 10, 0) == 1
