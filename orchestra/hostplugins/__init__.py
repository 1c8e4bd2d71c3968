"""Host plug-ins: loadable libraries that add host modules to the workers granted them.

General layout:

* ``_python``: Python host plug-ins (``HostModule`` and its ``@function`` decorator);
* ``_native``: native host plug-ins, the ctypes side of ``orchestra_hostplugin.h``
  (shipped in this folder: :func:`include_dir`);
* ``_wasmedge``: WasmEdge C-API plug-ins, through the compatibility library in
  ``wasmedge/`` (compiled with ``cc`` on first use) and its header
  ``wasmedge/wasmedge.h``;
* ``_wasmedge_mocks``: the host modules WasmEdge mocks when their plug-in is missing;
* ``_probe``: a child process that reads native descriptors, so the process doing
  discovery never loads a native library;
* ``_registry``: search paths, discovery, ``find``/``names``/``create_module``.
"""

from ._native import ABI_VERSION as ABI_VERSION
from ._native import Descriptor as Descriptor
from ._native import NativeFunction as NativeFunction
from ._native import NativeLibrary as NativeLibrary
from ._native import include_dir as include_dir
from ._python import HostFunction as HostFunction
from ._python import HostModule as HostModule
from ._python import PythonHostPlugin as PythonHostPlugin
from ._python import f32 as f32
from ._python import f64 as f64
from ._python import i32 as i32
from ._python import i64 as i64
from ._python import load_python_plugin as load_python_plugin
from ._registry import KNOWN_HOST_MODULES as KNOWN_HOST_MODULES
from ._registry import HostPlugin as HostPlugin
from ._registry import HostPluginRegistry as HostPluginRegistry
from ._registry import LoadFailure as LoadFailure
from ._registry import NativeHostPlugin as NativeHostPlugin
from ._registry import PythonPluginEntry as PythonPluginEntry
from ._registry import WasmEdgeHostPlugin as WasmEdgeHostPlugin
from ._registry import default_search_paths as default_search_paths
from ._registry import describe_registry as describe_registry
from ._registry import registry_as_dict as registry_as_dict

__all__ = (
    "ABI_VERSION",
    "KNOWN_HOST_MODULES",
    "Descriptor",
    "HostFunction",
    "HostModule",
    "HostPlugin",
    "HostPluginRegistry",
    "LoadFailure",
    "NativeFunction",
    "NativeHostPlugin",
    "NativeLibrary",
    "PythonHostPlugin",
    "PythonPluginEntry",
    "WasmEdgeHostPlugin",
    "default_search_paths",
    "describe_registry",
    "f32",
    "f64",
    "i32",
    "i64",
    "include_dir",
    "load_python_plugin",
    "registry_as_dict",
)
