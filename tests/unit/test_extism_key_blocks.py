"""``_Kernel.free``: the kernel's ``free`` done host-side for a key block just
allocated, byte for byte what the kernel's own ``free`` does (var_get and
config_get consume their key block, as in Extism)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from orchestra.config import PluginSpec
from orchestra.runtime import PluginInstance

WatFile = Callable[[str, str], Path]

NOOP = """(module
  (import "extism:host/env" "input_length" (func $len (result i64)))
  (func (export "run") (result i32) (drop (call $len)) (i32.const 0)))"""


def test_host_side_free_matches_the_kernel(wat_file: WatFile) -> None:
    """Two instances, one freeing through ``_Kernel.free`` (host-side when it may),
    one through the kernel's ``free`` export: same kernel memory, byte for byte, up
    to the top, and the same handles for the blocks written after. Cases: the last
    block (host-side), a block below it, the input block, the last block while a
    free block exists (all three through the kernel), a stale handle (no-op)."""
    src = wat_file("noop", NOOP)
    host = PluginInstance(PluginSpec(source=str(src)), plugin="a")
    ref = PluginInstance(PluginSpec(source=str(src)), plugin="b")
    try:
        ka = host.abi.blocks  # type: ignore[attr-defined]
        kb = ref.abi.blocks  # type: ignore[attr-defined]
        free_b = kb.instance.exports(kb.store)["free"]
        calls: list[int] = []
        kernel_free = ka._free
        ka._free = lambda h: (calls.append(h), kernel_free(h))[1]

        def same() -> None:
            top = int.from_bytes(ka.read(40, 8), "little")
            assert int.from_bytes(kb.read(40, 8), "little") == top
            assert ka.read(0, top + 16) == kb.read(0, top + 16)

        def both(h: int) -> None:
            ka.free(h)
            free_b(kb.store, h)
            same()

        for inst in (host, ref):
            inst.call("run", b"the input")
        same()
        a = [ka.write(b"k" * n) for n in (3, 8, 17)]
        assert a == [kb.write(b"k" * n) for n in (3, 8, 17)]
        both(a[2])  # the last block: host-side
        assert calls == []
        both(a[2])  # stale now: a no-op either way
        both(a[0])  # below the last: the kernel's (a free block now)
        both(a[1])  # the last, but a free block exists: the kernel's
        assert calls == [a[2], a[0], a[1]]
        (input_at,) = [int.from_bytes(ka.read(0, 8), "little")]
        calls.clear()
        c = [ka.write(b"x"), kb.write(b"x")]
        assert c[0] == c[1]
        both(c[0])  # host-side again
        assert calls == []
        both(input_at)  # the input: the kernel's, which also clears the input
        assert calls == [input_at] and ka.read(0, 16) == bytes(16)
        assert ka.write(b"after") == kb.write(b"after")
        same()
    finally:
        host.close()
        ref.close()


def test_a_key_freed_host_side_is_gone_by_the_next_call(wat_file: WatFile) -> None:
    """The kernel zeroes what a call wrote before the next one (its high-water mark
    covers a block ``free`` moved the top back over); a block freed host-side must
    leave nothing above the top either, or the next caller could read the key."""
    src = wat_file("noop", NOOP)
    inst = PluginInstance(PluginSpec(source=str(src)), plugin="a")
    try:
        k = inst.abi.blocks  # type: ignore[attr-defined]
        inst.call("run", b"")
        h = k.write(b"SECRETKEY" * 4)
        k.free(h)  # the last block: host-side
        inst.call("run", b"")
        assert b"SECRET" not in k.read(0, h + 64)
    finally:
        inst.close()
