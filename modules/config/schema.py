"""How environment-file keys are declared, read and documented.

A key is declared once, as a field of a config dataclass in ``modules/config/sections.py``::

    memory: int = setting("memory, MB", default=256, rule=between(128, 10240))

The field's name is the key, its annotation the TOML type accepted (``float`` also takes
integers, ``tuple`` a list), and the ``Setting`` in its metadata holds the rest: default,
required-ness, constraint, description. A field made with ``section()`` holds a whole
``[table]`` of such keys. ``Reader`` checks a parsed file against these declarations and
collects every problem; ``markdown_table`` renders the README's environment table from the
same declarations. Nothing here knows a particular key, and nothing imports cdktf.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

SETTING = "setting"
SECTION = "section"


@dataclass(frozen=True)
class Rule:
    """A constraint on a value. ``problem`` completes the error message after the value
    (``is out of range (expected 1 to 10)``); ``doc`` is the README's type column."""

    test: Callable[[Any], bool]
    problem: str
    doc: str


def one_of(*choices: Any, doc: str = "") -> Rule:
    return Rule(
        test=lambda value: value in choices,
        problem=f"is not allowed (expected one of: {', '.join(map(str, choices))})",
        doc=doc or ", ".join(f"`{choice}`" for choice in choices),
    )


def between(low: float, high: float) -> Rule:
    return Rule(
        test=lambda value: low <= value <= high,
        problem=f"is out of range (expected {low:g} to {high:g})",
        doc=f"{low:g}..{high:g}",
    )


def matches(pattern: str, problem: str, doc: str) -> Rule:
    compiled = re.compile(pattern)
    return Rule(test=lambda value: bool(compiled.match(value)), problem=problem, doc=doc)


@dataclass(frozen=True)
class PerEnvironment:
    """A default that contains the environment's name: ``PerEnvironment("backend-{environment}")``."""

    template: str

    def value(self, environment: str) -> str:
        return self.template.format(environment=environment)


@dataclass(frozen=True, kw_only=True)
class Setting:
    """One key's declaration. ``default``: the value when the key is absent. ``required``:
    absence is an error wherever the key applies. ``rule``: checked on the value, given or
    default. ``each`` / ``each_key``: checked on every element of a list (or value / key of
    a table); failing elements are reported and dropped. ``backend``: a ``[state]`` key
    that exists only with that backend. The ``*_doc`` fields override what the README
    would otherwise derive."""

    description: str
    default: Any = None
    required: bool = False
    rule: Rule | None = None
    each: Rule | None = None
    each_key: Rule | None = None
    backend: str = ""
    type_doc: str = ""
    default_doc: str = ""
    required_doc: str = ""


def setting(description: str, *, default: Any = None, required: bool = False, unset: Any = MISSING, **more: Any) -> Any:
    """A dataclass field declaring one key. The field's own default is ``unset`` when given
    (the value it holds where the key does not apply, e.g. another backend's key), else
    ``default``; a required key without ``unset`` has none."""
    declared = Setting(description=description, default=default, required=required, **more)
    metadata = {SETTING: declared}
    if unset is not MISSING:
        return field(default=unset, metadata=metadata)
    if required:
        return field(metadata=metadata)
    if isinstance(default, PerEnvironment):
        raise TypeError(f"{description!r}: a per-environment default needs an explicit unset value")
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Section:
    """A ``[name]`` table whose keys are the fields of ``config_class``. ``optional``: the
    config holds None when the file has no such table (else the class's defaults)."""

    name: str
    config_class: type
    optional: bool = False

    def keys(self) -> tuple[Key, ...]:
        return keys_of(self.config_class, section=self)


def section(name: str, config_class: type, *, optional: bool = False) -> Any:
    """A dataclass field holding the ``[name]`` table."""
    metadata = {SECTION: Section(name, config_class, optional)}
    if optional:
        return field(default=None, metadata=metadata)
    return field(default_factory=config_class, metadata=metadata)


@dataclass(frozen=True)
class Key:
    """A declared key where it lives: ``path`` as written in messages and the README
    (``lambda.memory``), ``field`` the dataclass field it fills, ``kinds`` the TOML types
    it accepts."""

    path: str
    field: str
    setting: Setting
    kinds: tuple[type, ...]
    section: Section | None = None

    @property
    def name(self) -> str:
        """The key inside its table."""
        return self.path.rsplit(".", 1)[-1]


# Python annotation -> the TOML values that may fill it.
_TOML_KINDS: dict[type, tuple[type, ...]] = {
    str: (str,),
    bool: (bool,),
    int: (int,),
    float: (int, float),
    tuple: (list,),
    list: (list,),
    Mapping: (Mapping,),
}


def toml_kinds(annotation: Any) -> tuple[type, ...]:
    if isinstance(annotation, types.UnionType):  # ``int | None``: None means "not set"
        (annotation,) = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return _TOML_KINDS[typing.get_origin(annotation) or annotation]


def keys_of(config_class: type, section: Section | None = None) -> tuple[Key, ...]:
    """The keys declared by ``config_class``'s fields, in field order."""
    hints = typing.get_type_hints(config_class)
    prefix = f"{section.name}." if section else ""
    return tuple(
        Key(prefix + item.name, item.name, item.metadata[SETTING], toml_kinds(hints[item.name]), section)
        for item in fields(config_class)
        if SETTING in item.metadata
    )


def declarations(config_class: type) -> tuple[tuple[str, Key | Section], ...]:
    """(field name, its key or section) for ``config_class``'s declared fields, in field order."""
    keys = {key.field: key for key in keys_of(config_class)}
    found: list[tuple[str, Key | Section]] = []
    for item in fields(config_class):
        if item.name in keys:
            found.append((item.name, keys[item.name]))
        elif SECTION in item.metadata:
            found.append((item.name, item.metadata[SECTION]))
    return tuple(found)


class ConfigError(ValueError):
    """An environment file that must not be synthesized. The message names the file,
    the field, the value received and what was expected."""


class Reader:
    """Reads one file against the declarations, collecting every problem so the user fixes
    them in one pass. A value that fails its check is reported and replaced by its default."""

    def __init__(self, source: str, environment: str) -> None:
        self.source = source
        self.environment = environment
        self.errors: list[str] = []

    def error(self, field_name: str, value: Any, expected: str) -> None:
        self.errors.append(f"{self.source}: {field_name}: {_show(value)} {expected}")

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ConfigError("\n".join(self.errors))

    def check(self, field_name: str, value: Any, rule: Rule) -> bool:
        if rule.test(value):
            return True
        self.error(field_name, value, rule.problem)
        return False

    def table(self, raw: Any, prefix: str, allowed: Iterable[str]) -> Mapping[str, Any]:
        """``raw`` if it is a table, reporting every key not in ``allowed``."""
        if not isinstance(raw, Mapping):
            self.error(prefix.rstrip("."), raw, "is not a table (expected [section] with keys)")
            return {}
        allowed = set(allowed)
        for key in raw:
            if key not in allowed:
                hint = closest(key, allowed)
                self.error(
                    f"{prefix}{key}",
                    key,
                    f"is not a known key{f' (did you mean {hint!r}?)' if hint else ''} "
                    f"(expected one of: {', '.join(sorted(allowed))})",
                )
        return raw

    def section(self, top: Mapping[str, Any], name: str, allowed: Iterable[str]) -> Mapping[str, Any]:
        """The ``[name]`` table of ``top`` (empty when absent)."""
        if name not in top:
            return {}
        return self.table(top[name], f"{name}.", allowed)

    def read_section(self, top: Mapping[str, Any], declared: Section) -> dict[str, Any]:
        """Field name -> value for every key of the section."""
        keys = declared.keys()
        table = self.section(top, declared.name, [key.name for key in keys])
        return {key.field: self.read(table, key) for key in keys}

    def read(self, table: Mapping[str, Any], key: Key) -> Any:
        """The key's value: given and valid, else its default (reporting why)."""
        declared = key.setting
        default = declared.default
        if isinstance(default, PerEnvironment):
            default = default.value(self.environment)
        if isinstance(default, dict):
            default = dict(default)  # never hand out the declaration's own object
        value = self._typed(table, key)
        if value is None:
            value = default
        if value is not None and declared.rule is not None and not self.check(key.path, value, declared.rule):
            return default
        if value is not None and (declared.each or declared.each_key):
            return self._each(key.path, value, declared)
        if value is not None and float in key.kinds:
            return float(value)  # a TOML integer where a number is asked
        return value

    def _typed(self, table: Mapping[str, Any], key: Key) -> Any:
        """The value if present and of an accepted TOML type, else None (reporting why)."""
        if key.name not in table:
            if key.setting.required:
                self.error(key.path, None, f"is missing (expected {_with_article(_kind_names(key.kinds))})")
            return None
        value = table[key.name]
        # bool is an int in Python; never accept true for a number or 1 for a flag.
        if not isinstance(value, key.kinds) or (isinstance(value, bool) and bool not in key.kinds):
            self.error(
                key.path,
                value,
                f"is {_with_article(_toml_type(value))} (expected {_with_article(_kind_names(key.kinds))})",
            )
            return None
        return value

    def _each(self, path: str, value: Any, declared: Setting) -> Any:
        """The elements (list) or items (table) that pass ``each`` / ``each_key``."""
        if isinstance(value, Mapping):
            kept: dict[str, Any] = {}
            for item_key, item in value.items():
                if declared.each_key and not self.check(f"{path}.{item_key}", item_key, declared.each_key):
                    continue
                if declared.each and not self.check(f"{path}.{item_key}", item, declared.each):
                    continue
                kept[item_key] = item
            return kept
        assert declared.each is not None, f"{path}: a list needs an `each` rule"
        return tuple(item for item in value if self.check(path, item, declared.each))


# --- README ------------------------------------------------------------------------------


def markdown_table(keys: Iterable[Key]) -> str:
    """The README's environment table: one row per key."""
    lines = ["| key | description | type | default | required |", "|---|---|---|---|---|"]
    for key in keys:
        declared = key.setting
        description = f"{declared.backend}: {declared.description}" if declared.backend else declared.description
        cells = [f"`{key.path}`", description, _type_doc(key), _default_doc(key), _required_doc(key)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _type_doc(key: Key) -> str:
    declared = key.setting
    if declared.type_doc:
        return declared.type_doc
    if declared.rule:
        return declared.rule.doc
    if declared.each:
        return f"{_kind_names(key.kinds)} of {declared.each.doc}"
    return _kind_names(key.kinds)


def _default_doc(key: Key) -> str:
    declared = key.setting
    default = declared.default
    if declared.default_doc or declared.required:
        return declared.default_doc
    if isinstance(default, PerEnvironment):
        return f"`{default.value('<env>')}`"
    if default is None or default == {} or default == ():
        return "none"
    if isinstance(default, bool):
        return f"`{_show(default)}`"
    if isinstance(default, str):
        return f"`{default}`"
    return f"{default:g}"


def _required_doc(key: Key) -> str:
    declared = key.setting
    if declared.required_doc:
        return declared.required_doc
    if not declared.required:
        return "no"
    if declared.backend:
        return f"with `{declared.backend}`"
    if key.section is not None and key.section.optional:
        return f"with `[{key.section.name}]`"
    return "yes"


def marked_span(text: str, begin: str, end: str) -> tuple[int, int]:
    """Where the lines between the ``begin`` and ``end`` marker lines are in ``text``."""
    start, stop = text.find(begin + "\n"), text.find("\n" + end)
    if start == -1 or stop == -1 or stop < start:
        raise ValueError(f"markers {begin!r} ... {end!r} not found, or not in that order")
    return start + len(begin) + 1, stop + 1


# --- messages ----------------------------------------------------------------------------


def closest(word: str, options: Iterable[str]) -> str | None:
    match = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.75)
    return match[0] if match else None


def _kind_names(kinds: tuple[type, ...]) -> str:
    names = {str: "string", int: "integer", float: "number", bool: "boolean", list: "list", Mapping: "table"}
    return " or ".join(names.get(kind, kind.__name__) for kind in kinds)


def _toml_type(value: Any) -> str:
    for kind, name in (
        (bool, "boolean"),
        (int, "integer"),
        (float, "number"),
        (str, "string"),
        (list, "list"),
        (Mapping, "table"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "(not set)"
    return repr(value) if not isinstance(value, Mapping) else repr(dict(value))


def _with_article(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"
