"""Worker-side runtime: wasmtime engine/store/linker, ABIs, limits. Never imports anyio."""

from . import _abi_command as _abi_command  # registers "wasi-command"
from . import _abi_core as _abi_core  # registers "core"
from . import _abi_extism as _abi_extism  # registers "extism"
from ._detect import detect_abi as detect_abi
from ._fastcall import FastFunc as FastFunc
from ._instance import InputRing as InputRing
from ._instance import PluginInstance as PluginInstance
from ._instance import register_abi as register_abi

__all__ = ("FastFunc", "InputRing", "PluginInstance", "detect_abi", "register_abi")
