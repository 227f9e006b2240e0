"""JSON without floats: numbers are parsed to ``Decimal`` and written from their decimal
text, so ``0.1`` stays ``0.1``, a 38-digit integer keeps every digit and integers stay
integers (``1E+2`` is written ``100``)."""

from __future__ import annotations

import json
import sys
from base64 import b64encode
from decimal import Decimal
from typing import Any, NoReturn

_encode_string = json.encoder.encode_basestring_ascii  # the C implementation when present


class DuplicateKey(ValueError):
    """An object names the same key twice (``key``: the first repeated one)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the key {key[:64]!r} appears twice in one object")
        self.key = key


class TooManyValues(ValueError):
    """The text holds more numbers and objects than the caller allowed."""


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


class _Builder:
    """Parser hooks: numbers become Decimal, objects dicts without repeated keys, and each
    of them spends one unit of ``budget`` so a huge document stops early."""

    __slots__ = ("budget",)

    def __init__(self, budget: int) -> None:
        self.budget = budget

    def number(self, text: str) -> Decimal:
        self.budget -= 1
        if self.budget < 0:
            raise TooManyValues
        return Decimal(text)

    def object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        self.budget -= 1
        if self.budget < 0:
            raise TooManyValues
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    raise DuplicateKey(key)
                seen.add(key)
        return result


def loads(text: str | bytes | bytearray, max_values: int = sys.maxsize) -> Any:
    """Parse JSON text (str or bytes); numbers become Decimal. NaN/Infinity are rejected.
    The result is any JSON value (dict, list, str, Decimal, bool or None): callers check it.

    Raises DuplicateKey for an object with a repeated key (at any depth: RFC 8259 leaves
    the meaning open and parsers disagree on which value wins), TooManyValues past
    ``max_values`` numbers and objects, and ValueError for anything else that is not valid
    JSON, including nesting too deep for the parser and numbers ``Decimal`` cannot hold.
    """
    builder = _Builder(max_values)
    try:
        return json.loads(
            text,
            parse_float=builder.number,
            parse_int=builder.number,
            parse_constant=_reject_constant,
            object_pairs_hook=builder.object,
        )
    except RecursionError:
        raise ValueError("JSON is nested too deeply") from None
    except ArithmeticError:  # decimal.InvalidOperation: an exponent beyond Decimal's range
        raise ValueError("a number is out of range") from None


def number_text(value: Decimal) -> str:
    """JSON text for a Decimal: integral values without exponent, others as ``str``."""
    text = str(value)
    if "E+" in text:  # str() uses an exponent for every positive one: 1E+2
        return format(value, "f")
    if not value.is_finite():
        raise ValueError(f"{text} is not a JSON number")
    return text


def dumps(value: object) -> str:
    """Compact JSON text for dicts, lists, str, Decimal, int, float, bool and None.

    Sets (DynamoDB SS/NS, from other writers) become arrays; bytes become base64 strings.
    """
    return _encode(value)


def _encode(value: Any) -> str:
    # Any: the dispatch is on the exact class (so bool is not taken for int, nor a str
    # subclass for str), which mypy does not narrow on.
    kind = value.__class__
    if kind is str:
        return _encode_string(value)
    if kind is Decimal:
        return number_text(value)
    if kind is dict:
        return "{" + ",".join([_encode_string(key) + ":" + _encode(item) for key, item in value.items()]) + "}"
    if kind is list or kind is tuple:
        return "[" + ",".join([_encode(item) for item in value]) + "]"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return str(value)
    if kind is float:
        return json.dumps(value, allow_nan=False)
    if kind is set or kind is frozenset:
        return _encode(sorted(value))
    if kind is bytes or kind is bytearray:
        return _encode_string(b64encode(value).decode("ascii"))
    raise TypeError(f"cannot encode {kind.__name__} as JSON")
