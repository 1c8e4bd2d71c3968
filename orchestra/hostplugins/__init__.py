"""Host plug-ins: loadable libraries that add host modules to the workers granted them."""

from ._python import HostFunction as HostFunction
from ._python import HostModule as HostModule
from ._python import PythonHostPlugin as PythonHostPlugin
from ._python import f32 as f32
from ._python import f64 as f64
from ._python import i32 as i32
from ._python import i64 as i64
from ._python import load_python_plugin as load_python_plugin
from ._registry import HostPluginRegistry as HostPluginRegistry
from ._registry import default_search_paths as default_search_paths

__all__ = (
    "HostFunction",
    "HostModule",
    "HostPluginRegistry",
    "PythonHostPlugin",
    "default_search_paths",
    "f32",
    "f64",
    "i32",
    "i64",
    "load_python_plugin",
)
