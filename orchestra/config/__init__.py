"""Config: YAML files and plug-in specs → typed, checked msgspec Structs.

General layout:

- ``_files``: reading a plug-in's source files with a size cap.
- ``_units``: ``Size`` (``64MiB``) and ``Duration`` (``150ms``) and their parsers.
- ``_spec``: the Structs (defaults live there and only there).
- ``_loader``: YAML → ``Config`` with ``FILE:LINE:COL: path: message`` errors, checks
  across fields, paths made absolute, ``${VAR}`` and ``--set`` overrides (a
  ``ConfigFile`` keeps the positions for later checks); the msgpack codec a worker
  receives its spec in.
- ``_schema``: the JSON Schema of the YAML (``orchestra schema``, ``config/schema.json``).

Imports nothing from Orchestra except ``orchestra.errors``.
"""

from ._files import SourceBudget as SourceBudget
from ._files import SourceRefused as SourceRefused
from ._loader import ConfigFile as ConfigFile
from ._loader import decode_spec as decode_spec
from ._loader import encode_spec as encode_spec
from ._loader import load_config as load_config
from ._loader import load_config_text as load_config_text
from ._loader import read_config as read_config
from ._loader import read_config_text as read_config_text
from ._manifest import Manifest as Manifest
from ._manifest import ManifestMemory as ManifestMemory
from ._manifest import ManifestWasm as ManifestWasm
from ._manifest import apply_manifest as apply_manifest
from ._manifest import growth_budget as growth_budget
from ._manifest import is_manifest as is_manifest
from ._manifest import load_manifest as load_manifest
from ._manifest import parse_manifest as parse_manifest
from ._schema import config_schema as config_schema
from ._schema import config_schema_text as config_schema_text
from ._schema import write_schema as write_schema
from ._spec import COMMAND_ENTRY_NAMES as COMMAND_ENTRY_NAMES
from ._spec import Backoff as Backoff
from ._spec import Call as Call
from ._spec import Condition as Condition
from ._spec import Config as Config
from ._spec import DeadLetter as DeadLetter
from ._spec import Filter as Filter
from ._spec import HostPluginsSpec as HostPluginsSpec
from ._spec import Limits as Limits
from ._spec import LocalBackendSpec as LocalBackendSpec
from ._spec import PipelineSpec as PipelineSpec
from ._spec import PluginSpec as PluginSpec
from ._spec import RayActorOptions as RayActorOptions
from ._spec import RayBackendSpec as RayBackendSpec
from ._spec import RayPlacement as RayPlacement
from ._spec import Restart as Restart
from ._spec import Retry as Retry
from ._spec import Rlimits as Rlimits
from ._spec import SandboxSpec as SandboxSpec
from ._spec import Stage as Stage
from ._spec import WasiSpec as WasiSpec
from ._units import Duration as Duration
from ._units import Size as Size
from ._units import parse_duration as parse_duration
from ._units import parse_size as parse_size

__all__ = (
    "COMMAND_ENTRY_NAMES",
    "Backoff",
    "Call",
    "Condition",
    "Config",
    "ConfigFile",
    "DeadLetter",
    "Duration",
    "Filter",
    "HostPluginsSpec",
    "Limits",
    "LocalBackendSpec",
    "Manifest",
    "ManifestMemory",
    "ManifestWasm",
    "PipelineSpec",
    "PluginSpec",
    "RayActorOptions",
    "RayBackendSpec",
    "RayPlacement",
    "Restart",
    "Retry",
    "Rlimits",
    "SandboxSpec",
    "Size",
    "SourceBudget",
    "SourceRefused",
    "Stage",
    "WasiSpec",
    "apply_manifest",
    "growth_budget",
    "config_schema",
    "config_schema_text",
    "decode_spec",
    "encode_spec",
    "is_manifest",
    "load_config",
    "load_config_text",
    "load_manifest",
    "parse_manifest",
    "parse_duration",
    "parse_size",
    "read_config",
    "read_config_text",
    "write_schema",
)
