"""JSON without floats: numbers are parsed to ``Decimal`` and written from their decimal
text, so ``0.1`` stays ``0.1``, a 38-digit integer keeps every digit and integers stay
integers (``1E+2`` is written ``100``)."""

import json
from base64 import b64encode
from decimal import Decimal

_encode_string = json.encoder.encode_basestring_ascii  # the C implementation when present


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def loads(text):
    """Parse JSON text (str or bytes); numbers become Decimal. NaN/Infinity are rejected.

    Raises ValueError for anything that is not valid JSON, including nesting too deep for
    the parser and numbers ``Decimal`` cannot hold.
    """
    try:
        return json.loads(
            text, parse_float=Decimal, parse_int=Decimal, parse_constant=_reject_constant
        )
    except RecursionError:
        raise ValueError("JSON is nested too deeply") from None
    except ArithmeticError:  # decimal.InvalidOperation: an exponent beyond Decimal's range
        raise ValueError("a number is out of range") from None


def number_text(value):
    """JSON text for a Decimal: integral values without exponent, others as ``str``."""
    text = str(value)
    if "E+" in text:  # str() uses an exponent for every positive one: 1E+2
        return format(value, "f")
    if not value.is_finite():
        raise ValueError(f"{text} is not a JSON number")
    return text


def dumps(value):
    """Compact JSON text for dicts, lists, str, Decimal, int, float, bool and None.

    Sets (DynamoDB SS/NS, from other writers) become arrays; bytes become base64 strings.
    """
    return _encode(value)


def _encode(value):
    kind = value.__class__
    if kind is str:
        return _encode_string(value)
    if kind is Decimal:
        return number_text(value)
    if kind is dict:
        return "{" + ",".join(
            [_encode_string(key) + ":" + _encode(item) for key, item in value.items()]
        ) + "}"
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
