"""Orchestra's public test helpers: tiny WAT plug-ins.

Each constant is the text of a small WebAssembly module for exercising the
runtime (assemble it with ``wasmtime.wat2wasm``, or pass it wherever a
``.wat`` source is accepted):

* core ABI: ADD, TRAP, LOOP, SLOW, GROW, COUNTER
* wasi-command ABI: ECHO_WASI, EXIT_CODE
* extism ABI: EXTISM_KITCHEN, FORWARD, RING_PROBE

See :mod:`orchestra.testing._wat` for what each one exports and does.
``GATE_HOSTPLUGIN`` and ``GATED`` (:mod:`orchestra.testing._gate`) keep an
instance busy for as long as a file exists.
"""

from ._gate import GATE_HOSTPLUGIN as GATE_HOSTPLUGIN
from ._gate import GATED as GATED
from ._wat import ADD as ADD
from ._wat import COUNTER as COUNTER
from ._wat import ECHO_WASI as ECHO_WASI
from ._wat import EXIT_CODE as EXIT_CODE
from ._wat import EXTISM_KITCHEN as EXTISM_KITCHEN
from ._wat import FORWARD as FORWARD
from ._wat import GROW as GROW
from ._wat import LOOP as LOOP
from ._wat import RING_PROBE as RING_PROBE
from ._wat import SLOW as SLOW
from ._wat import TRAP as TRAP

__all__ = (
    "ADD",
    "COUNTER",
    "ECHO_WASI",
    "EXIT_CODE",
    "EXTISM_KITCHEN",
    "FORWARD",
    "GATED",
    "GATE_HOSTPLUGIN",
    "GROW",
    "LOOP",
    "RING_PROBE",
    "SLOW",
    "TRAP",
)
