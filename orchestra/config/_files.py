"""Reading a plug-in's source files with a size cap (``limits.source_size``).

A source path comes from a config or from a manifest, which may name anything: a
device (``/dev/zero`` never ends), a FIFO (opening it blocks until a writer comes),
a sparse file of a terabyte. Only a regular file is read, never more than the cap
plus one byte, and a file whose size is already over the cap is refused unread.
"""

from __future__ import annotations

import os
import stat

__all__ = ("SourceBudget", "SourceRefused", "read_bounded", "show_bytes")

_CHUNK = 1 << 20


class SourceRefused(Exception):
    """A source that is not read: not a regular file, or larger than the cap
    (``too_large``). The message says which and names the cap; callers prefix the
    file's name."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def show_bytes(n: int) -> str:
    """``n`` bytes the way a limit is written in YAML (``256MiB``), exact."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n} bytes"


def read_bounded(
    path: str, limit: int, *, setting: str = "limits.source_size", cap: int | None = None
) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    :param cap: the value of ``setting`` to show, when ``limit`` is what is left of it.
    :raises SourceRefused: not a regular file, or more than ``limit`` bytes (the
        message names ``setting``, the knob that raises the cap).
    :raises OSError: the file cannot be opened or read.
    """
    over = f"larger than {setting} ({show_bytes(limit if cap is None else cap)})"
    # stat first: opening a device or a FIFO can block or have effects of its own.
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise SourceRefused(f"not a regular file (a source must be a file within {setting})")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        info = os.fstat(fd)  # the file opened, which a rename may have swapped in
        if not stat.S_ISREG(info.st_mode):
            raise SourceRefused(f"not a regular file (a source must be a file within {setting})")
        if info.st_size > limit:
            raise SourceRefused(f"{show_bytes(info.st_size)}, {over}", too_large=True)
        parts: list[bytes] = []
        total = 0
        want = info.st_size + 1  # one read for a file that keeps its size
        while total <= limit:
            chunk = os.read(fd, min(want, limit + 1 - total))
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
            want = _CHUNK
        if total > limit:  # it grew while being read
            raise SourceRefused(over, too_large=True)
        return b"".join(parts)
    finally:
        os.close(fd)


class SourceBudget:
    """What is left of ``limits.source_size`` for one plug-in: a manifest and every
    module it names (by path or URL) count together, so a manifest listing a big file
    a thousand times is as bounded as one big file."""

    def __init__(self, limit: int, *, setting: str = "limits.source_size") -> None:
        self.limit = self.left = limit
        self.setting = setting

    def read(self, path: str) -> bytes:
        """The file's bytes, counted.

        :raises SourceRefused: not a regular file, or more than is left.
        :raises OSError: the file cannot be opened or read.
        """
        try:
            raw = read_bounded(path, self.left, setting=self.setting, cap=self.limit)
        except SourceRefused as exc:
            if not exc.too_large:
                raise
            raise SourceRefused(f"{exc}{self._together()}", too_large=True) from None
        self.left -= len(raw)
        return raw

    def take(self, n: int) -> None:
        """Count ``n`` bytes read elsewhere (``left + 1`` at most, so that more than
        is left shows).

        :raises SourceRefused: more than is left.
        """
        if n > self.left:
            raise SourceRefused(
                f"larger than {self.setting} ({show_bytes(self.limit)}){self._together()}",
                too_large=True,
            )
        self.left -= n

    def _together(self) -> str:
        return "" if self.left == self.limit else ", with the manifest and the modules before it"
