"""orchestra_text: word counts and title case on bytes, for Extism plug-ins.

A Python host plug-in (see docs/hostplugins.md): functions taking ``bytes`` get an
Extism kernel block in wasm (an i64 handle) and functions returning ``bytes`` give
one back, so only extism-ABI plug-ins can import them.

Options (``host_plugins.options.orchestra_text``): ``stopwords``, a comma-separated
list of words ``word_count`` ignores (case-insensitive).
"""

from __future__ import annotations

from orchestra.hostplugins import HostModule, i64

PLUGIN_NAME = "orchestra_text"
PLUGIN_VERSION = "1.0.0"
PLUGIN_DESCRIPTION = "word counts and title case on bytes (a Python host plug-in)"

text = HostModule("orchestra_text")
_stopwords: frozenset[bytes] = frozenset()


def init(options: dict[str, str]) -> None:
    """Called once per worker that loads this plug-in, with its configured options."""
    global _stopwords
    words = options.get("stopwords", "").split(",")
    _stopwords = frozenset(w.strip().lower().encode() for w in words if w.strip())


@text.function
def word_count(data: bytes) -> i64:
    """Whitespace-separated words, stop words excluded."""
    return sum(1 for word in data.split() if word.lower() not in _stopwords)


@text.function
def title(data: bytes) -> bytes:
    """Each word with an uppercase first letter (ASCII)."""
    return data.title()
