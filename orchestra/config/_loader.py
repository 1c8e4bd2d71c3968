"""YAML text → a checked :class:`Config` whose paths are absolute.

Errors in a config are reported as ``FILE:LINE:COL: path: what is
wrong``. YAML is composed into nodes (which keep their marks) and converted to plain
Python by hand, recording where each value and each key sits; msgspec then converts and
validates, and its error (which names a ``$.json.path``) is mapped back to a line and
rewritten in plain words.
"""

from __future__ import annotations

import json
import os
import re
import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
import yaml

from ..errors import ConfigError
from ._spec import FIELD_ERROR_PREFIX, Config, DeadLetter, Name, PluginSpec, RayBackendSpec
from ._units import Duration, Size, parse_duration, parse_size, show_value

__all__ = (
    "ConfigFile",
    "decode_spec",
    "encode_spec",
    "load_config",
    "load_config_text",
    "read_config",
    "read_config_text",
)

# libyaml's parser is several times faster; its marks are the same.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Nodes converted per document, aliases expanded. Configs are small; this only stops
#: an alias bomb ("billion laughs") from eating the supervisor's memory.
_MAX_NODES = 200_000

_Path = tuple[Any, ...]
"""Where a value sits: mapping keys and sequence indices from the top of the document."""
_Position = tuple[int, int]


# --- Size / Duration hooks (shared with the schema and the worker codec) -----------------


def dec_hook(tp: type, obj: Any) -> Any:
    """Decode the custom scalar types; their ``ValueError`` message is the user's."""
    if tp is Size:
        return parse_size(obj)
    if tp is Duration:
        return parse_duration(obj)
    raise TypeError(f"unsupported type {tp!r}")


def enc_hook(obj: Any) -> Any:
    """Encode the custom scalar types as the plain numbers they are."""
    if isinstance(obj, Size):
        return int(obj)
    if isinstance(obj, Duration):
        return float(obj)
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


# --- public entry points -------------------------------------------------------------------


def load_config(path: str | os.PathLike[str], *, overrides: Sequence[str] = ()) -> Config:
    """Read, check and resolve a YAML config file.

    Relative paths inside it resolve against the file's folder, so a config means the
    same thing whatever the current directory is. Errors name ``path`` as given.
    ``${VAR}`` and ``${VAR:-default}`` in values come from the environment;
    ``overrides`` are ``--set`` items (``plugins.x.instances=4``), applied in order
    over what the file says, before it is checked.

    :raises ConfigError: the file cannot be read, is not valid YAML, or is not a valid
        config; the message carries file, line, column and field path where known (for
        a value given by an override: the ``--set`` item).
    """
    return read_config(path, overrides=overrides).config


def read_config(path: str | os.PathLike[str], *, overrides: Sequence[str] = ()) -> ConfigFile:
    """:func:`load_config`, keeping where each value was written, so that checks made
    later (``orchestra validate`` opening the plug-ins) point at the line to fix.

    :raises ConfigError: see :func:`load_config`.
    """
    filename = os.fspath(path)
    full = os.path.abspath(os.path.expanduser(filename))
    try:
        raw = Path(full).read_bytes()
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise ConfigError(f"cannot read the config: {reason}", file=filename) from exc
    return read_config_text(
        raw, filename=filename, base_dir=os.path.dirname(full), overrides=overrides
    )


def load_config_text(
    text: str | bytes,
    *,
    filename: str = "<string>",
    base_dir: str | os.PathLike[str],
    overrides: Sequence[str] = (),
) -> Config:
    """Check and resolve a config given as text (stdin, tests, an embedded config).

    ``base_dir`` is required on purpose: it is what relative paths resolve against, and
    the current directory is never a silent default. ``filename`` is only used in errors.

    :raises ConfigError: see :func:`load_config`.
    """
    return read_config_text(text, filename=filename, base_dir=base_dir, overrides=overrides).config


def read_config_text(
    text: str | bytes,
    *,
    filename: str = "<string>",
    base_dir: str | os.PathLike[str],
    overrides: Sequence[str] = (),
) -> ConfigFile:
    """:func:`load_config_text`, keeping positions (see :func:`read_config`).

    :raises ConfigError: see :func:`load_config`.
    """
    doc = _parse(text, filename)
    if not isinstance(doc.data, dict):
        raise doc.error((), f"expected a mapping of settings, got {show_value(doc.data)}")
    for item in overrides:
        _override(doc, item)
    config = _convert(doc)
    _check(doc, config)
    base = os.path.abspath(os.path.expanduser(os.fspath(base_dir)))
    return ConfigFile(_resolve_paths(config, base), doc)


def _convert(doc: _Document) -> Config:
    """``doc.data`` as a Config; an expanded value refused as YAML typed it is retried
    as its text (each at most once, so this ends)."""
    retry = dict(doc.expanded)
    while True:
        try:
            return msgspec.convert(doc.data, Config, dec_hook=dec_hook)
        except msgspec.ValidationError as exc:
            path, _, _ = _locate(doc.data, Config, str(exc))
            text = retry.pop(path, None)
            if text is None or not _replace(doc.data, path, text):
                raise _explain(doc, str(exc)) from exc


def _replace(data: Any, path: _Path, value: Any) -> bool:
    """Put ``value`` at ``path`` in place; False if the value there is already it."""
    for step in path[:-1]:
        data = data[step]
    if data[path[-1]] == value and type(data[path[-1]]) is type(value):
        return False
    data[path[-1]] = value
    return True


class ConfigFile:
    """A loaded :class:`Config` and where each of its values came from."""

    def __init__(self, config: Config, doc: _Document) -> None:
        self.config = config
        self._doc = doc

    @classmethod
    def unlocated(cls, config: Config) -> ConfigFile:
        """A config built in code: its errors name field paths only."""
        return cls(config, _Document(None))

    @property
    def filename(self) -> str | None:
        return self._doc.filename

    def error(
        self, path: Sequence[str | int], message: str, *, at_key: bool = False
    ) -> ConfigError:
        """A ConfigError about the field at ``path`` (``("plugins", "x", "source")``),
        at the line and column it was written (or the nearest enclosing value that was
        written; the ``--set`` item that gave it)."""
        return self._doc.error(tuple(path), message, at_key=at_key)


_SPEC_ENCODER = msgspec.msgpack.Encoder(enc_hook=enc_hook)
_SPEC_DECODER = msgspec.msgpack.Decoder(PluginSpec, dec_hook=dec_hook)


def encode_spec(spec: PluginSpec) -> bytes:
    """Serialise a plug-in spec for a worker (msgpack); :func:`decode_spec` reverses it."""
    return _SPEC_ENCODER.encode(spec)


def decode_spec(data: bytes) -> PluginSpec:
    """Rebuild a plug-in spec sent by :func:`encode_spec`.

    :raises ConfigError: the bytes are not an encoded plug-in spec.
    """
    try:
        return _SPEC_DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise ConfigError(f"invalid encoded plug-in spec: {exc}") from exc


# --- YAML with positions -----------------------------------------------------------------


@dataclass
class _Document:
    """Plain data from YAML, and where each value (and each mapping key) was written."""

    filename: str | None
    data: Any = None
    values: dict[_Path, _Position] = field(default_factory=dict)
    keys: dict[_Path, _Position] = field(default_factory=dict)
    expanded: dict[_Path, str] = field(default_factory=dict)
    """Values made by ``${VAR}`` expansion, as text: one that is not of its field's
    type as YAML read it (4 for a string field) is given as this text instead."""
    overridden: dict[_Path, str] = field(default_factory=dict)
    """Values given by a ``--set`` item (the item, as written): errors in them point
    at the option, not at the file."""

    def error(
        self,
        path: _Path,
        message: str,
        *,
        at_key: bool = False,
        position: _Position | None = None,
    ) -> ConfigError:
        """A ConfigError at ``path``: the key's position if ``at_key``, else the value's
        (or that of the nearest enclosing value written in the file, for defaults)."""
        for n in range(len(path), -1, -1):
            item = self.overridden.get(path[:n])
            if item is not None:
                return ConfigError(message, file=f"--set {item}", path=_render(path) or None)
        if position is None and at_key:
            position = self.keys.get(path)
        probe = path
        while position is None:
            position = self.values.get(probe)
            if not probe:
                break
            probe = probe[:-1]
        line, column = position if position is not None else (None, None)
        return ConfigError(
            message, file=self.filename, line=line, column=column, path=_render(path) or None
        )


def _parse(text: str | bytes, filename: str) -> _Document:
    doc = _Document(filename)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ConfigError(
                "the config is empty (it needs at least a plugins: section)", file=filename
            )
        doc.data = _Builder(loader, doc).build(root, ())
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, filename) from exc
    except yaml.reader.ReaderError as exc:  # bytes that are not text
        message = f"invalid YAML: {exc.reason} at byte {exc.position}"
        raise ConfigError(message, file=filename) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=filename) from exc
    finally:
        loader.dispose()
    return doc


def _yaml_error(exc: yaml.MarkedYAMLError, filename: str) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    message = exc.problem or exc.context or "syntax error"
    if exc.problem and exc.context and exc.problem.startswith("but "):
        message = f"{exc.context} {exc.problem}"  # "expected a single document ... but found"
    elif exc.problem and exc.context:
        message += f" ({exc.context}"
        if exc.context_mark is not None and exc.context_mark is not mark:
            message += f" at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
        message += ")"
    return ConfigError(
        f"invalid YAML: {message}",
        file=filename,
        line=mark.line + 1 if mark is not None else None,
        column=mark.column + 1 if mark is not None else None,
    )


def _position(node: yaml.Node) -> _Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Turns composed nodes into dicts/lists/scalars, filling ``doc.values``/``doc.keys``."""

    def __init__(self, loader: yaml.SafeLoader, doc: _Document) -> None:
        self._loader = loader
        self._doc = doc
        self._budget = _MAX_NODES
        self._open: set[int] = set()  # collections being built: a repeat is a cycle

    def build(self, node: yaml.Node, path: _Path) -> Any:
        self._budget -= 1
        if self._budget < 0:
            raise self._doc.error(
                path, f"the config is too large (over {_MAX_NODES} values with aliases expanded)"
            )
        self._doc.values[path] = _position(node)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(self._expand(node, path), path)
        if id(node) in self._open:
            raise self._doc.error(path, "an alias refers to a node that contains it")
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)
            return self._mapping(node, path)
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, path: _Path) -> Any:
        try:
            return self._loader.construct_object(node)
        except (ValueError, TypeError, OverflowError) as exc:  # `2020-13-01`, `!!int x`
            raise self._doc.error(
                path, f"invalid value {node.value!r}: {exc}", position=_position(node)
            ) from exc

    def _expand(self, node: yaml.ScalarNode, path: _Path) -> yaml.ScalarNode:
        """``${VAR}`` in a value, from the environment. The result is read as YAML reads
        a plain value (``${N}`` with N=4 is the integer 4), quoted or not; the text is
        kept too (``doc.expanded``), for a field that wants a string."""
        if node.tag != _STR_TAG or "$" not in node.value:
            return node
        try:
            value = expand_env(node.value)
        except ValueError as exc:
            raise self._doc.error(path, str(exc), position=_position(node)) from None
        if value == node.value and "$${" not in node.value:
            return node
        self._doc.expanded[path] = value
        tag = self._loader.resolve(yaml.ScalarNode, value, (True, False))
        return yaml.ScalarNode(tag, value, node.start_mark, node.end_mark)

    def _mapping(self, node: yaml.MappingNode, path: _Path) -> dict[Any, Any]:
        written = {id(key) for key, _ in node.value}  # before merges (`<<: *base`) splice in
        self._loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        origin: dict[Any, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
                raise self._doc.error(
                    path, f"expected a plain key, got {kind}", position=_position(key_node)
                )
            key = self._scalar(key_node, path)
            first = origin.get(key)
            # Merged keys are overridden silently (that is what a merge is for); a key
            # written twice in one mapping is a mistake, which PyYAML would hide.
            if first is not None and id(first) in written and id(key_node) in written:
                line, column = _position(first)
                self._doc.keys[(*path, key)] = _position(key_node)
                raise self._doc.error(
                    (*path, key),
                    f"duplicate key {show_value(key)} (first written at line {line}, column {column})",
                    at_key=True,
                )
            origin[key] = key_node
            self._doc.keys[(*path, key)] = _position(key_node)
            out[key] = self.build(value_node, (*path, key))
        return out


_STR_TAG = "tag:yaml.org,2002:str"
_ENV = re.compile(r"\$\$\{|\$\{(?P<body>[^}]*)\}|\$\{")
_ENV_BODY = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?$", re.DOTALL)


def expand_env(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``${VAR}``, ``${VAR:-default}`` (used when VAR is unset or empty) replaced from
    the environment; ``$${`` is a literal ``${``. Any other ``$`` stays as written.

    :raises ValueError: an unset variable without a default, or a malformed ``${...}``.
    """
    env = os.environ if environ is None else environ

    def replace(m: re.Match[str]) -> str:
        if m[0] == "$${":
            return "${"
        body = m["body"]
        parsed = _ENV_BODY.match(body) if body is not None else None
        if parsed is None:
            written = m[0] if body is not None else text[m.start() :]
            raise ValueError(
                f"expected ${{NAME}} or ${{NAME:-default}} (or $${{ for a literal ${{), "
                f"got {written!r}"
            )
        value = env.get(parsed["name"])
        if value is None or (value == "" and parsed["default"] is not None):
            if parsed["default"] is None:
                raise ValueError(
                    f"environment variable {parsed['name']!r} is not set (give it a default: "
                    f"${{{parsed['name']}:-default}}; write $${{ for a literal ${{)"
                )
            return parsed["default"]
        return value

    return _ENV.sub(replace, text)


# --- --set overrides -----------------------------------------------------------------------

_SET_SEGMENT = re.compile(
    r'\.?(?P<key>[A-Za-z_][A-Za-z0-9_-]*)|\[(?P<index>[0-9]+)\]|\[(?P<quoted>"(?:[^"\\]|\\.)*")\]'
)


def _set_path(text: str) -> _Path | None:
    """``plugins.x.limits.memory``, ``stages[0]``, ``imports["extism:host/env.x"]`` (the
    way errors write paths) as a path; None if it is not one."""
    path: list[Any] = []
    pos = 0
    while pos < len(text):
        m = _SET_SEGMENT.match(text, pos)
        if (
            m is None
            or (m[0].startswith(".") and not path)
            or (m["key"] is not None and path and not m[0].startswith("."))
        ):
            return None
        if m["key"] is not None:
            path.append(m["key"])
        elif m["index"] is not None:
            path.append(int(m["index"]))
        else:
            path.append(json.loads(m["quoted"]))
        pos = m.end()
    return tuple(path) if path else None


def _override(doc: _Document, item: str) -> None:
    """Apply one ``--set PATH=VALUE`` to the document's data (VALUE is YAML)."""
    where, sep, text = item.partition("=")
    path = _set_path(where.strip())
    if not sep or path is None or not isinstance(path[0], str):
        raise ConfigError(
            "expected PATH=VALUE, the path written as in errors "
            '(plugins.x.instances, stages[0], imports["module.name"])',
            file=f"--set {item}",
        )
    try:
        value = yaml.load(text, Loader=_Loader) if text.strip() else ""
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"invalid YAML value: {problem}", file=f"--set {item}") from None
    parent: Any = doc.data
    for depth, step in enumerate(path):
        fits = (isinstance(parent, dict) and isinstance(step, str)) or (
            isinstance(parent, list) and isinstance(step, int) and step < len(parent)
        )
        if not fits:
            above = _render(path[:depth]) or "the config"
            got = f"a list of {len(parent)}" if isinstance(parent, list) else show_value(parent)
            raise ConfigError(f"cannot set {_render(path)}: {above} is {got}", file=f"--set {item}")
        if depth == len(path) - 1:
            parent[step] = value
        else:
            if isinstance(parent, dict) and parent.get(step) is None:
                # Left out (or null) in the file: a new mapping, or a list of nothing.
                parent[step] = {} if isinstance(path[depth + 1], str) else []
            parent = parent[step]
    doc.overridden[path] = item
    for expanded in [p for p in doc.expanded if p[: len(path)] == path]:
        del doc.expanded[expanded]


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _render(path: _Path) -> str:
    """``plugins.vowels.limits.memory``, ``stages[0]``, ``imports["extism:host/env.x"]``."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif isinstance(part, str) and _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part if isinstance(part, str) else show_value(part))}]"
    return out


# --- msgspec errors → plain words at a position --------------------------------------------

_AT = re.compile(r"^(?P<message>.*) - at (?P<key>`key` in )?`\$(?P<path>[^`]*)`$", re.DOTALL)
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_EXPECTED = re.compile(r"^Expected `(?P<types>[^`]+)`(?P<rest>.*)$", re.DOTALL)
_GOT = re.compile(r"^, got `[^`]*`$")
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<name>[^`]*)`$")
_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<name>[^`]*)`$")
_FIELD_ERROR = re.compile(re.escape(FIELD_ERROR_PREFIX) + r"`(?P<name>[^`]*)`: ")
_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "null": "null",
    "object": "a mapping",
    "array": "a list",
}
_NAME_PATTERN = next(m.pattern for m in get_args(Name)[1:] if isinstance(m, msgspec.Meta))
_PATTERN_WORDS = {
    _NAME_PATTERN: "a name of letters, digits, '_', '.' and '-' that starts with a letter or '_'"
}


def _explain(doc: _Document, text: str, root: Any = Config) -> ConfigError:
    """Rewrite one msgspec ValidationError message as a ConfigError at its position."""
    path, message, at_key = _locate(doc.data, root, text)
    if m := _FIELD_ERROR.match(message):
        return doc.error((*path, m["name"]), message[m.end() :])
    value, tp = _walk(doc.data, root, path)
    got = show_value(path[-1] if at_key and path else value)

    if m := _UNKNOWN_FIELD.match(message):
        name = m["name"]
        allowed = ", ".join(_field_names(_pick(tp, value)))
        return doc.error(
            (*path, name), f"unknown field {name!r} (expected one of: {allowed})", at_key=True
        )
    if m := _MISSING_FIELD.match(message):
        name = m["name"]
        tags = [_tag(m) for m in _members(tp) if _tag_field(m) == name]
        hint = f" (expected {_or(tags)})" if tags else ""
        return doc.error(path, f"missing required field {name!r}{hint}")
    if m := _EXPECTED.match(message):
        return doc.error(
            path, f"expected {_expected(m['types'], m['rest'])}, got {got}", at_key=at_key
        )
    if message.startswith("Invalid enum value"):
        choices = [
            v for member in _members(tp) if get_origin(member) is Literal for v in get_args(member)
        ]
        words = [show_value(v) for v in choices]
        if any(_is_struct(member) or get_origin(member) is dict for member in _members(tp)):
            words.append("a mapping")
        return doc.error(path, f"expected {_or(words)}, got {got}")
    if message.startswith("Invalid value") and path:
        _, parent_tp = _walk(doc.data, root, path[:-1])
        tags = [_tag(m) for m in _members(parent_tp) if _tag_field(m) == path[-1]]
        if tags:
            return doc.error(path, f"expected {_or(tags)}, got {got}")
    # Our own messages (the Size/Duration parsers) are already plain; msgspec's are not.
    plain = re.sub(r"`([^`]*)`", r"'\1'", message)
    return doc.error(path, plain[:1].lower() + plain[1:], at_key=at_key)


def _locate(data: Any, tp: Any, text: str) -> tuple[_Path, str, bool]:
    """The concrete path of an error, and its message and whether it is about a key.

    msgspec writes a mapping's values as ``[...]`` (it does not say which key), so at
    each ``[...]`` the values are converted one by one, in order, to find the one that
    fails, and its own error is located in turn.
    """
    m = _AT.match(text)
    if m is None:
        return (), text, False
    message, at_key = m["message"], m["key"] is not None
    path: _Path = ()
    for name, index in _SEGMENT.findall(m["path"]):
        if index == "...":
            value_tp = _child_type(tp, data, ...)
            if isinstance(data, dict) and value_tp is not None:
                for key, value in data.items():
                    try:
                        msgspec.convert(value, value_tp, dec_hook=dec_hook)
                    except msgspec.ValidationError as exc:
                        sub_path, message, at_key = _locate(value, value_tp, str(exc))
                        return (*path, key, *sub_path), message, at_key
            return path, message, at_key  # not found again: stop at the mapping
        step: Any = name or int(index)
        tp = _child_type(tp, data, step)
        data = _child(data, step)
        path = (*path, step)
    if at_key and isinstance(data, dict):
        key_tp = _child_type(tp, data, "<key>")
        for key in data:
            try:
                msgspec.convert(key, key_tp if key_tp is not None else str)
            except msgspec.ValidationError:
                return (*path, key), message, True
    return path, message, at_key


def _expected(type_names: str, rest: str) -> str:
    """``int | null`` + `` >= 1`` → ``an integer or null >= 1``, and so on."""
    names = [n.strip() for n in type_names.split("|")]
    words = _or([_TYPE_WORDS.get(n, n) for n in names])
    rest = "" if _GOT.match(rest) else rest.strip()
    if m := re.match(r"^matching regex '(.*)'$", rest):
        return _PATTERN_WORDS.get(m[1], f"{words} matching {m[1]}")
    if m := re.match(r"^of length (>=|<=) (\d+)$", rest):
        bound = "at least" if m[1] == ">=" else "at most"
        unit = {"array": "item", "object": "entry", "str": "character"}.get(names[0], "item")
        count = int(m[2])
        return f"{words} of {bound} {count} {unit}{'' if count == 1 else 's'}"
    return f"{words} {rest}" if rest else words


def _or(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} or {words[-1]}"


# --- walking the Config type alongside the data --------------------------------------------


def _strip(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _members(tp: Any) -> tuple[Any, ...]:
    tp = _strip(tp)
    if get_origin(tp) in (Union, types.UnionType):
        return tuple(_strip(m) for m in get_args(tp))
    return () if tp is None else (tp,)


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def _tag_field(tp: Any) -> str | None:
    return tp.__struct_config__.tag_field if _is_struct(tp) else None


def _tag(tp: Any) -> str:
    return show_value(tp.__struct_config__.tag)


def _field_names(tp: Any) -> Iterator[str]:
    if _is_struct(tp):
        if (tag_field := _tag_field(tp)) is not None:
            yield tag_field
        for f in msgspec.structs.fields(tp):
            yield f.encode_name


def _pick(tp: Any, value: Any) -> Any:
    """The member of a (possibly union) type that msgspec decodes ``value`` as."""
    members = _members(tp)
    if isinstance(value, dict):
        structs = [m for m in members if _is_struct(m)]
        for m in structs:
            if _tag_field(m) is not None and value.get(_tag_field(m)) == m.__struct_config__.tag:
                return m
        if structs:
            return structs[0]
        return next((m for m in members if get_origin(m) is dict), None)
    if isinstance(value, list):
        return next((m for m in members if get_origin(m) is list), None)
    return members[0] if len(members) == 1 else None


def _child_type(tp: Any, value: Any, step: Any) -> Any:
    """The type of ``value[step]``; ``...`` is any value of a mapping, "<key>" its keys."""
    picked = _pick(tp, value)
    if _is_struct(picked):
        return next((f.type for f in msgspec.structs.fields(picked) if f.encode_name == step), None)
    if get_origin(picked) is dict:
        key_tp, value_tp = get_args(picked)
        return key_tp if step == "<key>" else value_tp
    if get_origin(picked) is list:
        return get_args(picked)[0]
    return None


def _child(value: Any, step: Any) -> Any:
    if isinstance(value, dict):
        return value.get(step)
    if isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value):
        return value[step]
    return None


def _walk(data: Any, tp: Any, path: _Path) -> tuple[Any, Any]:
    for step in path:
        tp = _child_type(tp, data, step)
        data = _child(data, step)
    return data, tp


# --- rules across fields, then paths -------------------------------------------------------


def _check(doc: _Document, config: Config) -> None:
    """Rules that need the whole config (what refers to what), at the referring value.

    They live here rather than in ``__post_init__`` because msgspec would report them at
    the Struct, not at the line that is wrong.
    """
    known = sorted(config.plugins)
    known_words = f"known plug-ins: {', '.join(known)}" if known else "no plug-ins are defined"
    for name, spec in config.plugins.items():
        at = ("plugins", name)
        if not spec.source.strip():
            raise doc.error(
                (*at, "source"), "expected a path to a .wasm, .wat or manifest file, got ''"
            )
        for i, module in enumerate(spec.host_modules):
            if not module.strip():
                raise doc.error(
                    (*at, "host_modules", i), f"expected a host module name, got {module!r}"
                )
        for key, target in spec.imports.items():
            module, _, function = key.rpartition(".")
            if not module or not function:
                raise doc.error(
                    (*at, "imports", key),
                    f"expected an import written module.name (like extism:host/user.lookup), got {key!r}",
                    at_key=True,
                )
            plugin, _, export = target.rpartition(".")
            if not plugin or not export:
                raise doc.error(
                    (*at, "imports", key),
                    f"expected a route written plugin.export (like dictionary.lookup), got {target!r}",
                )
            if plugin not in config.plugins:
                raise doc.error(
                    (*at, "imports", key), f"unknown plug-in {plugin!r} ({known_words})"
                )
    if isinstance(config.backend, RayBackendSpec):
        for name in config.backend.plugins:
            if name not in config.plugins:
                raise doc.error(
                    ("backend", "plugins", name),
                    f"unknown plug-in {name!r} ({known_words})",
                    at_key=True,
                )
    for name, pipeline in config.pipelines.items():
        for i, stage in enumerate(pipeline.stages):
            at_stage = ("pipelines", name, "stages", i)
            refs: list[tuple[tuple[Any, ...], str]] = []
            if stage.plugin is not None:
                refs.append(((*at_stage, "plugin"), stage.plugin))
            for branch, call in (stage.parallel or {}).items():
                refs.append(((*at_stage, "parallel", branch, "plugin"), call.plugin))
            if stage.filter is not None and stage.filter.plugin is not None:
                refs.append(((*at_stage, "filter", "plugin"), stage.filter.plugin))
            for where, plugin in refs:
                if plugin not in config.plugins:
                    raise doc.error(where, f"unknown plug-in {plugin!r} ({known_words})")


def _resolve_paths(config: Config, base_dir: str) -> Config:
    """Make every path absolute against ``base_dir`` (``~`` expands; absolute stays)."""

    def resolve(path: str) -> str:
        return os.path.normpath(os.path.join(base_dir, os.path.expanduser(path)))

    def host_dir(key: str) -> str:
        prefix = "ro:" if key.startswith("ro:") else ""
        return prefix + resolve(key[len(prefix) :])

    replace = msgspec.structs.replace
    plugins = {}
    for name, spec in config.plugins.items():
        wasi = spec.wasi
        if wasi is not None:
            allowed = {host_dir(host): guest for host, guest in wasi.allowed_paths.items()}
            wasi = replace(wasi, allowed_paths=allowed)
        plugins[name] = replace(spec, source=resolve(spec.source), wasi=wasi)
    pipelines = {}
    for name, pipeline in config.pipelines.items():
        on_error = pipeline.on_error
        if isinstance(on_error, DeadLetter):
            on_error = replace(on_error, dead_letter=resolve(on_error.dead_letter))
        source = pipeline.input
        if source is not None and source != "-":
            source = resolve(source)
        pipelines[name] = replace(pipeline, input=source, on_error=on_error)
    host_plugins = replace(
        config.host_plugins, paths=[resolve(p) for p in config.host_plugins.paths]
    )
    return replace(config, plugins=plugins, pipelines=pipelines, host_plugins=host_plugins)
