"""Orchestra: many WebAssembly plug-ins at once, safely.

General layout (imports point down only)::

    cli ── pipeline ── supervision (workers, restarts, routing) ── backends/{local, ray}
                                       │
    worker (serve loop) ── runtime/ (wasmtime store; ABIs; limits) ── hostplugins/
                     wire/ (msgspec messages, framing)     config/     errors

``Orchestra`` (in ``_orchestra``) is the public face over supervision and pipeline;
``runtime`` and ``supervision`` never import each other: the wire protocol is the
only contract across the process boundary.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from . import errors as errors
from .errors import CallError as CallError
from .errors import ConfigError as ConfigError
from .errors import HostFunctionError as HostFunctionError
from .errors import MissingHostPlugin as MissingHostPlugin
from .errors import OrchestraError as OrchestraError
from .errors import Overloaded as Overloaded
from .errors import PluginCrashed as PluginCrashed
from .errors import PluginError as PluginError
from .errors import PluginFuelExhausted as PluginFuelExhausted
from .errors import PluginLoadError as PluginLoadError
from .errors import PluginMemoryLimit as PluginMemoryLimit
from .errors import PluginOutputTooLarge as PluginOutputTooLarge
from .errors import PluginTimeout as PluginTimeout
from .errors import PluginTrap as PluginTrap
from .errors import PluginUnavailable as PluginUnavailable
from .errors import ProtocolError as ProtocolError

if _TYPE_CHECKING:
    from ._orchestra import Orchestra as Orchestra
    from ._orchestra import PipelineRun as PipelineRun
    from .config import Config as Config
    from .config import load_config as load_config
    from .pipeline import RecordResult as RecordResult

# The supervisor side (anyio, structlog, pipelines) loads on first use, so a worker
# process (``python -m orchestra.worker``) imports only what it needs: worker start
# time is paid once per instance and per restart.
_LAZY = {
    "Orchestra": "._orchestra",
    "PipelineRun": "._orchestra",
    "Config": ".config",
    "load_config": ".config",
    "RecordResult": ".pipeline",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'orchestra' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = (
    "CallError",
    "Config",
    "ConfigError",
    "HostFunctionError",
    "MissingHostPlugin",
    "Orchestra",
    "OrchestraError",
    "Overloaded",
    "PipelineRun",
    "PluginCrashed",
    "PluginError",
    "PluginFuelExhausted",
    "PluginLoadError",
    "PluginMemoryLimit",
    "PluginOutputTooLarge",
    "PluginTimeout",
    "PluginTrap",
    "PluginUnavailable",
    "ProtocolError",
    "RecordResult",
    "errors",
    "load_config",
)
