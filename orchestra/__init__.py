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

from . import errors as errors
from ._orchestra import Orchestra as Orchestra
from ._orchestra import PipelineRun as PipelineRun
from .config import Config as Config
from .config import load_config as load_config
from .errors import (
    CallError as CallError,
)
from .errors import (
    ConfigError as ConfigError,
)
from .errors import (
    HostFunctionError as HostFunctionError,
)
from .errors import (
    MissingHostPlugin as MissingHostPlugin,
)
from .errors import (
    OrchestraError as OrchestraError,
)
from .errors import (
    PluginCrashed as PluginCrashed,
)
from .errors import (
    PluginError as PluginError,
)
from .errors import (
    PluginFuelExhausted as PluginFuelExhausted,
)
from .errors import (
    PluginLoadError as PluginLoadError,
)
from .errors import (
    PluginMemoryLimit as PluginMemoryLimit,
)
from .errors import (
    PluginTimeout as PluginTimeout,
)
from .errors import (
    PluginTrap as PluginTrap,
)
from .errors import (
    PluginUnavailable as PluginUnavailable,
)
from .errors import (
    ProtocolError as ProtocolError,
)
from .pipeline import RecordResult as RecordResult

__all__ = (
    "CallError",
    "Config",
    "ConfigError",
    "HostFunctionError",
    "MissingHostPlugin",
    "Orchestra",
    "OrchestraError",
    "PipelineRun",
    "PluginCrashed",
    "PluginError",
    "PluginFuelExhausted",
    "PluginLoadError",
    "PluginMemoryLimit",
    "PluginTimeout",
    "PluginTrap",
    "PluginUnavailable",
    "ProtocolError",
    "RecordResult",
    "errors",
    "load_config",
)
