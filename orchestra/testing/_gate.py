"""A plug-in kept busy on cue: ``GATE_HOSTPLUGIN`` is the source of a Python host
plug-in whose ``gate.wait`` blocks while a file exists (set the file with
``host_plugins.options: {gate: {file: PATH}}``); ``GATED`` is a core module that
calls it from ``hold`` and counts its calls in ``next``. A test (or a benchmark)
holds an instance's slots for exactly as long as it wants, whatever the timing."""

from __future__ import annotations

__all__ = ("GATED", "GATE_HOSTPLUGIN")

GATE_HOSTPLUGIN = """
import time
from pathlib import Path
from orchestra.hostplugins import HostModule, i32

gate = HostModule("gate")
CLOSED = Path("/nonexistent")

def init(options):
    global CLOSED
    CLOSED = Path(options["file"])

@gate.function
def wait() -> i32:
    while CLOSED.exists():
        time.sleep(0.005)
    return 0
"""

#: core: ``hold`` blocks while the gate is closed, ``next`` counts its calls (so
#: the answers tell the order in which calls ran, and that no other call ran).
GATED = """(module
  (import "gate" "wait" (func $wait (result i32)))
  (global $n (mut i32) (i32.const 0))
  (func (export "hold") (result i32) (call $wait))
  (func (export "next") (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n)))"""
