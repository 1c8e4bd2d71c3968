"""The host modules WasmEdge mocks when their plug-in is not installed.

WasmEdge registers a mock module for each of these, so a wasm module importing
them instantiates; a call prints "<PLUG-IN> plugin not installed" and answers an
error code (most: 1) or traps (wasmedge_process, wasi:logging/logging and its
older name logging). Orchestra does the
same, with WasmEdge's signatures (from its ``include/host/mock/*`` sources): an
import of one of these modules that no installed plug-in provides is mocked
without a grant, and a call answers what WasmEdge's mock answers and logs once
per plug-in, naming it and the paths searched.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import MissingHostPlugin

__all__ = ("WASMEDGE_MOCKS", "MockModule", "mock_function", "mock_problem")

Signature = tuple[tuple[str, ...], tuple[str, ...]]


@dataclass(frozen=True)
class MockModule:
    """A module WasmEdge mocks: its plug-in (as WasmEdge names it in the message),
    what a call answers (an i32 error code, or None: a trap), its functions."""

    plugin: str
    answer: int | None
    functions: dict[str, Signature]


def _sig(text: str) -> Signature:
    """``"i32 i32 -> i32"`` -> (("i32", "i32"), ("i32",))."""
    params, _, results = text.partition("->")
    return tuple(params.split()), tuple(results.split())


def _module(plugin: str, answer: int | None, spec: str) -> MockModule:
    functions = {}
    for line in spec.strip().splitlines():
        if not line.strip():
            continue
        name, _, sig = line.strip().partition(":")
        functions[name.strip()] = _sig(sig)
    return MockModule(plugin, answer, functions)


def _n(count: int) -> str:
    return " ".join(["i32"] * count)


_I5 = f"{_n(5)} -> i32"
_ERR = 1  # every error-code mock of WasmEdge answers 1
_TF_SESSIONS = """
        create_session: i32 i32 i32 -> i32
        delete_session: i32 -> i32
        run_session: i32 -> i32
        get_output_tensor: i32 i32 i32 i32 -> i32
        get_tensor_len: i32 i32 i32 -> i32
        get_tensor_data: i32 i32 i32 i32 i32 -> i32
"""  # the functions wasmedge_tensorflow and wasmedge_tensorflowlite share

_LOG = "log: i32 i32 i32 i32 i32 ->"

WASMEDGE_MOCKS: dict[str, MockModule] = {
    "wasi_ephemeral_nn": _module(
        "WASI-NN",
        _ERR,
        f"""
        load: {_I5}
        init_execution_context: i32 i32 -> i32
        set_input: i32 i32 i32 -> i32
        get_output: {_I5}
        compute: i32 -> i32
        """,
    ),
    "wasi_ephemeral_crypto_common": _module(
        "WASI-Crypto",
        _ERR,
        """
        array_output_len: i32 i32 -> i32
        array_output_pull: i32 i32 i32 i32 -> i32
        options_open: i32 i32 -> i32
        options_close: i32 -> i32
        options_set: i32 i32 i32 i32 i32 -> i32
        options_set_u64: i32 i32 i32 i64 -> i32
        options_set_guest_buffer: i32 i32 i32 i32 i32 -> i32
        secrets_manager_open: i32 i32 -> i32
        secrets_manager_close: i32 -> i32
        secrets_manager_invalidate: i32 i32 i32 i64 -> i32
        """,
    ),
    "wasi_ephemeral_crypto_asymmetric_common": _module(
        "WASI-Crypto",
        _ERR,
        """
        keypair_generate: i32 i32 i32 i32 i32 -> i32
        keypair_import: i32 i32 i32 i32 i32 i32 i32 -> i32
        keypair_generate_managed: i32 i32 i32 i32 i32 i32 -> i32
        keypair_store_managed: i32 i32 i32 i32 -> i32
        keypair_replace_managed: i32 i32 i32 i32 -> i32
        keypair_id: i32 i32 i32 i32 i32 -> i32
        keypair_from_id: i32 i32 i32 i64 i32 -> i32
        keypair_from_pk_and_sk: i32 i32 i32 -> i32
        keypair_export: i32 i32 i32 -> i32
        keypair_publickey: i32 i32 -> i32
        keypair_secretkey: i32 i32 -> i32
        keypair_close: i32 -> i32
        publickey_import: i32 i32 i32 i32 i32 i32 i32 -> i32
        publickey_export: i32 i32 i32 -> i32
        publickey_verify: i32 -> i32
        publickey_from_secretkey: i32 i32 -> i32
        publickey_close: i32 -> i32
        secretkey_import: i32 i32 i32 i32 i32 i32 i32 -> i32
        secretkey_export: i32 i32 i32 -> i32
        secretkey_close: i32 -> i32
        """,
    ),
    "wasi_ephemeral_crypto_kx": _module(
        "WASI-Crypto",
        _ERR,
        """
        kx_dh: i32 i32 i32 -> i32
        kx_encapsulate: i32 i32 i32 -> i32
        kx_decapsulate: i32 i32 i32 i32 -> i32
        """,
    ),
    "wasi_ephemeral_crypto_signatures": _module(
        "WASI-Crypto",
        _ERR,
        """
        signature_export: i32 i32 i32 -> i32
        signature_import: i32 i32 i32 i32 i32 i32 -> i32
        signature_state_open: i32 i32 -> i32
        signature_state_update: i32 i32 i32 -> i32
        signature_state_sign: i32 i32 -> i32
        signature_state_close: i32 -> i32
        signature_verification_state_open: i32 i32 -> i32
        signature_verification_state_update: i32 i32 i32 -> i32
        signature_verification_state_verify: i32 i32 -> i32
        signature_verification_state_close: i32 -> i32
        signature_close: i32 -> i32
        """,
    ),
    "wasi_ephemeral_crypto_symmetric": _module(
        "WASI-Crypto",
        _ERR,
        """
        symmetric_key_generate: i32 i32 i32 i32 -> i32
        symmetric_key_import: i32 i32 i32 i32 i32 -> i32
        symmetric_key_export: i32 i32 -> i32
        symmetric_key_close: i32 -> i32
        symmetric_key_generate_managed: i32 i32 i32 i32 i32 -> i32
        symmetric_key_store_managed: i32 i32 i32 i32 -> i32
        symmetric_key_replace_managed: i32 i32 i32 i32 -> i32
        symmetric_key_id: i32 i32 i32 i32 i32 -> i32
        symmetric_key_from_id: i32 i32 i32 i64 i32 -> i32
        symmetric_state_open: i32 i32 i32 i32 i32 -> i32
        symmetric_state_clone: i32 i32 -> i32
        symmetric_state_options_get: i32 i32 i32 i32 i32 i32 -> i32
        symmetric_state_options_get_u64: i32 i32 i32 i32 -> i32
        symmetric_state_close: i32 -> i32
        symmetric_state_absorb: i32 i32 i32 -> i32
        symmetric_state_squeeze: i32 i32 i32 -> i32
        symmetric_state_squeeze_tag: i32 i32 -> i32
        symmetric_state_squeeze_key: i32 i32 i32 i32 -> i32
        symmetric_state_max_tag_len: i32 i32 -> i32
        symmetric_state_encrypt: i32 i32 i32 i32 i32 i32 -> i32
        symmetric_state_encrypt_detached: i32 i32 i32 i32 i32 i32 -> i32
        symmetric_state_decrypt: i32 i32 i32 i32 i32 i32 -> i32
        symmetric_state_decrypt_detached: i32 i32 i32 i32 i32 i32 i32 i32 -> i32
        symmetric_state_ratchet: i32 -> i32
        symmetric_tag_len: i32 i32 -> i32
        symmetric_tag_pull: i32 i32 i32 i32 -> i32
        symmetric_tag_verify: i32 i32 i32 -> i32
        symmetric_tag_close: i32 -> i32
        """,
    ),
    "wasi:logging/logging": _module("wasi-logging", None, _LOG),
    # the module name of WasmEdge's logging mock before it became wasi:logging/logging
    "logging": _module("wasi-logging", None, _LOG),
    "wasmedge_process": _module(
        "WasmEdge-Process",
        None,
        """
        wasmedge_process_set_prog_name: i32 i32 ->
        wasmedge_process_add_arg: i32 i32 ->
        wasmedge_process_add_env: i32 i32 i32 i32 ->
        wasmedge_process_add_stdin: i32 i32 ->
        wasmedge_process_set_timeout: i32 ->
        wasmedge_process_run: -> i32
        wasmedge_process_get_exit_code: -> i32
        wasmedge_process_get_stdout_len: -> i32
        wasmedge_process_get_stdout: i32 ->
        wasmedge_process_get_stderr_len: -> i32
        wasmedge_process_get_stderr: i32 ->
        """,
    ),
    "wasmedge_image": _module(
        "WasmEdge-Image",
        _ERR,
        """
        load_jpg: i32 i32 i32 i32 i32 i32 i32 -> i32
        load_png: i32 i32 i32 i32 i32 i32 i32 -> i32
        """,
    ),
    "wasmedge_tensorflow": _module(
        "WasmEdge-Tensorflow",
        _ERR,
        _TF_SESSIONS
        + """
        append_input: i32 i32 i32 i32 i32 i32 i32 i32 -> i32
        append_output: i32 i32 i32 -> i32
        clear_input: i32 -> i32
        clear_output: i32 -> i32
        """,
    ),
    "wasmedge_tensorflowlite": _module(
        "WasmEdge-TensorflowLite",
        _ERR,
        _TF_SESSIONS
        + """
        append_input: i32 i32 i32 i32 i32 -> i32
        """,
    ),
    "wasmedge_stablediffusion": _module(
        "WasmEdge-Stable-Diffusion",
        _ERR,
        f"""
        create_context: {_n(32)} -> i32
        text_to_image: {_n(7)} f32 {_n(3)} f32 {_n(4)} f32 f32 {_n(12)} -> i32
        image_to_image: {_n(3)} f32 {_n(9)} f32 {_n(2)} f32 {_n(2)} f32 f32 {_n(12)} -> i32
        convert: {_n(7)} -> i32
        """,
    ),
}


def mock_problem(module: str, name: str, params: list[str], results: list[str]) -> str | None:
    """Why import ``module.name`` of this type cannot be WasmEdge's mock (None: it can).

    :raises KeyError: ``module`` is not one WasmEdge mocks.
    """
    mock = WASMEDGE_MOCKS[module]
    sig = mock.functions.get(name)
    if sig is None:
        return (
            f"import '{module}.{name}': WasmEdge's mock of the {mock.plugin} plug-in has no "
            f"function {name!r} (it has: {', '.join(sorted(mock.functions))})"
        )
    if (tuple(params), tuple(results)) != sig:
        return (
            f"import '{module}.{name}' has type ({', '.join(params)}) -> ({', '.join(results)}) "
            f"but WasmEdge's {module}.{name} is ({', '.join(sig[0])}) -> ({', '.join(sig[1])})"
        )
    return None


_logged: set[str] = set()
_logged_lock = threading.Lock()


def mock_function(
    module: str, name: str, searched: list[str], log: Callable[[str, str], None] | None = None
) -> Callable[..., Any]:
    """The mock of ``module.name``: logs "<PLUG-IN> plug-in not installed" once per
    plug-in and process (through ``log(level, message)``), then answers WasmEdge's
    error code, or raises :class:`MissingHostPlugin` where WasmEdge's mock traps."""
    mock = WASMEDGE_MOCKS[module]
    where = ", ".join(searched) or "nothing"
    message = (
        f"{mock.plugin} plug-in not installed: host function {module}.{name} is WasmEdge's "
        f"mock (searched: {where}); install the plug-in on a search path and grant "
        f"host_modules: [{module}]"
    )
    answer = mock.answer

    def mocked(*_: Any) -> Any:
        with _logged_lock:
            first = mock.plugin not in _logged
            _logged.add(mock.plugin)
        if first and log is not None:
            log("error", message)
        if answer is None:
            raise MissingHostPlugin(message)
        return answer

    return mocked
