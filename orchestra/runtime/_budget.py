"""Extism's ``memory.max_pages``: a growth budget shared by all of a store's memories.

In the Extism runtime (``current_plugin.rs``, ``MemoryLimiter``) the manifest's
``max_pages`` is reset after every instantiation into a budget of bytes that all the
store's memories (plug-in, linked modules and kernel) may grow by, together; a grow
past it traps with ``oom``. The wasmtime C API has no grow callback, so Orchestra
keeps the same budget this way: at instantiation the module's own memories must fit
in it (``limits.memory``, applied per memory, as before); after it each memory may
grow to its size then plus the budget (the store limit), and the growth of all of
them together is checked against the budget when the input is placed and when the
export returns. Past it the call fails with ``PluginMemoryLimit`` (``oom``) and
the instance is replaced, as after a trap (vars are kept).
"""

from __future__ import annotations

import wasmtime

__all__ = ("GrowthBudget",)

_PAGE = 65536


class GrowthBudget:
    """The growth left to one store's memories since its instantiation."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._baseline = 0

    def start(self, store: wasmtime.Store, sizes: list[int]) -> None:
        """The store was just instantiated with memories of ``sizes`` bytes."""
        self._baseline = sum(sizes)
        store.set_limits(memory_size=max(sizes, default=0) + self.budget)

    def overrun(self, sizes: list[int]) -> str | None:
        """What is wrong when the memories, now of ``sizes`` bytes, grew past the
        budget together; None while they fit."""
        grown = sum(sizes) - self._baseline
        if grown <= self.budget:
            return None
        return (
            f"oom: the memories grew by {grown // _PAGE} pages since instantiation, past "
            f"the manifest's memory.max_pages of {self.budget // _PAGE} (a budget shared "
            "by all of them, as in Extism)"
        )
