"""text_tools: the Python host plug-in of the README ("Host plug-ins (Python)").

``extism:host/user`` ``reverse`` (bytes -> bytes, an Extism block in wasm) and
``add`` (i32, i32 -> i32), for ``examples/build/extism/kitchen_host.wasm``::

    orchestra call examples/build/extism/kitchen_host.wasm host_reverse \\
        --input stressed --host-plugin examples/hostplugins/text_tools.py
"""

from orchestra.hostplugins import HostModule, i32

user = HostModule("extism:host/user")


@user.function
def reverse(data: bytes) -> bytes:
    return data[::-1]


@user.function
def add(a: i32, b: i32) -> i32:
    return a + b
