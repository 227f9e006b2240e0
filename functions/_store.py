"""Items in DynamoDB: validation, conversion to and from attribute values, and the reads
and writes. Plain functions over a ``Table`` (a low-level client plus a table name), so
they can be tested without an API Gateway event.

The low-level client is used with our own conversion rather than the boto3 resource: the
validation walk has to visit every value anyway (numbers, strings, names, depth, size),
so it builds the attribute values as it goes, and clients (unlike resources) are
thread-safe for the local API server that runs these handlers in threads.
"""

from __future__ import annotations

import re
import time
import unicodedata
from base64 import b64encode
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from uuid import uuid4

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError

from ._errors import BadRequest, PayloadTooLarge, error_code
from .schema import HEALTH_SENTINEL_ID, MAX_ITEM_BYTES, PARTITION_KEY

# Every number and every object in an item costs DynamoDB at least 2 bytes (a value byte
# and a list or map element byte, or an attribute name), so a body holding more than this
# many cannot be stored: parsing stops there instead of building millions of objects.
MAX_VALUES = MAX_ITEM_BYTES // 2
MAX_ID_BYTES = 1024
MAX_NAME_BYTES = 65535  # DynamoDB's attribute name limit, nested map keys included
MAX_DEPTH = 32  # DynamoDB's nesting limit for lists and maps
MAX_DIGITS = 38
MIN_ADJUSTED_EXPONENT, MAX_ADJUSTED_EXPONENT = -130, 125  # 1E-130 .. 9.99..E+125
ORIGIN_REGION, UPDATED_AT, SERVED_BY = "origin_region", "updated_at", "served_by"
# Set by the server; ``served_by`` too, since GET would overwrite a stored one.
SERVER_ATTRIBUTES = frozenset({ORIGIN_REGION, UPDATED_AT, SERVED_BY})
# A ValidationException on put is read as "too large" only when our estimate is this close
# to the limit: the estimate is an upper bound, so a size rejection can only come from a
# store stricter than the documented limit (moto: 405,000 bytes) or a gap in the estimate,
# and either way the item is near the limit. See put_item.
_SIZE_SUSPECT_BYTES = MAX_ITEM_BYTES * 9 // 10
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# An item as the API reads and writes it: a JSON object, numbers as Decimal.
Item = dict[str, Any]
# A DynamoDB attribute value: one type tag and its content ({"S": "x"}, {"L": [...]}, ...).
AttributeValue = dict[str, Any]


class Table:
    """A DynamoDB table: the client to reach it and its name."""

    __slots__ = ("client", "name")

    def __init__(self, client: Any, name: str) -> None:  # client: a boto3 DynamoDB client
        self.client = client
        self.name = name


class Prepared:
    """A validated item: ``item`` (JSON-ready, Decimal numbers), ``attributes`` (DynamoDB
    attribute values) and ``size`` (upper bound of DynamoDB's size, bytes)."""

    __slots__ = ("item", "attributes", "size")

    def __init__(self, item: Item, attributes: dict[str, AttributeValue], size: int) -> None:
        self.item = item
        self.attributes = attributes
        self.size = size


class _TooLarge(Exception):
    """The item being converted is already over MAX_ITEM_BYTES."""


class _InvalidValue(Exception):
    """A bad value somewhere inside an item; ``path`` is filled in while unwinding."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: list[str | int] = []  # innermost first: attribute names and list indexes


def utc_timestamp(now: float | None = None) -> str:
    """UTC ISO 8601 with milliseconds: 2026-11-27T09:00:00.123Z."""
    now = time.time() if now is None else now
    seconds = int(now)
    millis = int((now - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def validate_item_id(value: object) -> str:
    """Return ``value`` if it is a valid item id, else raise BadRequest saying which rule.

    Valid: a non-empty string of at most 1024 UTF-8 bytes, without control characters
    (Unicode category Cc: U+0000-U+001F, U+007F-U+009F), in Unicode normalization form NFC
    (so "é" typed as one character or as "e" + U+0301 cannot name two items that look the
    same), without format characters (category Cf: bidi overrides such as U+202E, zero-width
    characters such as U+200B, which hide what an id says), and not the health check's
    sentinel (``HEALTH_SENTINEL_ID``).
    """
    if type(value) is not str:
        raise BadRequest(f"{PARTITION_KEY} must be a string", code="InvalidItemId")
    if not value:
        raise BadRequest(f"{PARTITION_KEY} must not be empty", code="InvalidItemId")
    try:
        size = _utf8_len(value)
    except _InvalidValue as exc:
        raise BadRequest(f"{PARTITION_KEY}: {exc.message}", code="InvalidItemId") from None
    if size > MAX_ID_BYTES:
        raise BadRequest(
            f"{PARTITION_KEY} is {size} UTF-8 bytes; at most {MAX_ID_BYTES} are allowed", code="InvalidItemId"
        )
    if _CONTROL_CHARACTER.search(value):
        raise BadRequest(f"{PARTITION_KEY} must not contain control characters", code="InvalidItemId")
    if value == HEALTH_SENTINEL_ID:
        # The health check's item: clients may neither read it nor change it (a deleted
        # sentinel would take the region out of DNS).
        raise BadRequest(f"{PARTITION_KEY} {value!r} is reserved for the health check", code="InvalidItemId")
    if value.isascii():  # ASCII is NFC and has no format characters
        return value
    if not unicodedata.is_normalized("NFC", value):
        raise BadRequest(f"{PARTITION_KEY} must be in Unicode normalization form NFC", code="InvalidItemId")
    for index, character in enumerate(value):
        if unicodedata.category(character) == "Cf":
            raise BadRequest(
                f"{PARTITION_KEY} must not contain Unicode format characters (category Cf): "
                f"U+{ord(character):04X} at position {index}",
                code="InvalidItemId",
            )
    return value


def prepare_item(document: object, *, region: str, timestamp: str | None = None) -> Prepared:
    """Validate a client's JSON object and build the item to store.

    Adds ``item_id`` (a UUID) when absent, ``origin_region`` and ``updated_at``. Raises
    BadRequest for a non-object, a bad id, a server-set attribute, an empty or overlong
    attribute name, nesting deeper than 32, a number DynamoDB cannot hold exactly (more
    than 38 significant digits, or outside 1E-130..9.99E+125 in magnitude) or a string
    that is not valid Unicode; PayloadTooLarge when the item may exceed 400 KB.
    """
    if type(document) is not dict:
        raise BadRequest("the body must be a JSON object", code="InvalidBody")
    reserved = SERVER_ATTRIBUTES.intersection(document)
    if reserved:
        raise BadRequest(f"{', '.join(sorted(reserved))} cannot be set by a client", code="ReservedAttribute")
    item: Item = dict(document)
    if PARTITION_KEY in item:
        validate_item_id(item[PARTITION_KEY])
    else:
        item[PARTITION_KEY] = str(uuid4())
    item[ORIGIN_REGION] = region
    item[UPDATED_AT] = utc_timestamp() if timestamp is None else timestamp
    attributes, size = to_attribute_values(item)
    return Prepared(item, attributes, size)


def to_attribute_values(item: Mapping[str, object]) -> tuple[dict[str, AttributeValue], int]:
    """DynamoDB attribute values for a dict of JSON values, and an upper bound of the item
    size by DynamoDB's rules (names + values; numbers 1 byte per 2 significant digits + 1;
    lists and maps 3 bytes + 1 per element). Raises BadRequest on an invalid value and
    PayloadTooLarge as soon as the size passes MAX_ITEM_BYTES (the rest is not converted)."""
    attributes: dict[str, AttributeValue] = {}
    size = 0
    try:
        for name, value in item.items():
            try:
                name_size = _name_len(name)
                attributes[name], value_size = _attribute_value(value, 0)
            except _InvalidValue as exc:
                exc.path.append(name)
                raise BadRequest(_describe(exc), code="InvalidAttribute") from None
            size = _add_size(size, name_size + value_size)
    except _TooLarge:
        raise PayloadTooLarge(f"the item is over the {MAX_ITEM_BYTES} bytes DynamoDB stores") from None
    return attributes, size


def _add_size(size: int, more: int) -> int:
    size += more
    if size > MAX_ITEM_BYTES:
        raise _TooLarge()
    return size


def from_attribute_values(attributes: Mapping[str, AttributeValue]) -> Item:
    """A JSON-ready dict (Decimal numbers) from DynamoDB attribute values."""
    return {name: _python_value(value) for name, value in attributes.items()}


class Written:
    """What ``put_item`` did: ``created`` (no item had this id: 201) and ``item``, the stored
    item to answer with."""

    __slots__ = ("created", "item")

    def __init__(self, created: bool, item: Item) -> None:
        self.created = created
        self.item = item


def put_item(table: Table, prepared: Prepared) -> Written:
    """Store the item; a retried request answers as its first attempt did.

    One conditional put creates the item when its id is free (created). When the id is taken
    DynamoDB returns the stored item (ReturnValuesOnConditionCheckFailure=ALL_OLD):
    - exactly our item: the put was applied and its answer lost, and botocore sent it again;
      created, as the first attempt was;
    - the same item apart from ``origin_region`` and ``updated_at``: a client's retry of a
      POST that succeeded; created, answering with the stored item (the first attempt's
      body and Location), and nothing is written;
    - another item: replaced by a second, unconditional put (not created: 200).
    A put whose answer never came (timeout, dropped connection) may have been applied: a
    strongly consistent read decides (``_confirm``), so a write the store accepted is never
    reported as 503.

    DynamoDB reports an oversized item only as a generic ValidationException. Errors map by
    type, not message text, and every other cause we know of is validated beforehand, so a
    ValidationException is read as "too large" (413) when our size estimate is near the
    limit, and as an item DynamoDB refused (400) otherwise.
    """
    try:
        table.client.put_item(
            TableName=table.name,
            Item=prepared.attributes,
            ConditionExpression="attribute_not_exists(#id)",
            ExpressionAttributeNames={"#id": PARTITION_KEY},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return Written(True, prepared.item)
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise _refusal(exc, prepared) from None
        stored = exc.response.get("Item") or {}
    except HTTPClientError as exc:
        return _confirm(table, prepared, True, exc)
    if same_attributes(stored, prepared.attributes):
        return Written(True, prepared.item)
    if same_attributes(stored, prepared.attributes, ignore=SERVER_ATTRIBUTES):
        return Written(True, from_attribute_values(stored))
    try:
        response = table.client.put_item(TableName=table.name, Item=prepared.attributes, ReturnValues="ALL_OLD")
    except ClientError as exc:
        raise _refusal(exc, prepared) from None
    except HTTPClientError as exc:
        return _confirm(table, prepared, False, exc)
    return Written("Attributes" not in response, prepared.item)


def _refusal(exc: ClientError, prepared: Prepared) -> Exception:
    if error_code(exc) != "ValidationException":
        return exc
    if prepared.size >= _SIZE_SUSPECT_BYTES:
        return PayloadTooLarge(f"DynamoDB refused the item as too large (limit {MAX_ITEM_BYTES} bytes)")
    return BadRequest("DynamoDB refused the item", code="InvalidItem")


def _confirm(table: Table, prepared: Prepared, created: bool, error: Exception) -> Written:
    """After a put whose answer was lost: Written when the table holds our write, else
    ``error`` (a 503). Ours means this invocation's ``updated_at`` (milliseconds) and
    ``origin_region``: only the key and those two are read, so a 400 KB item costs no more
    to check than a small one. (Another write of this id in this region in the same
    millisecond would pass for ours; last writer wins there anyway.)"""
    try:
        response = table.client.get_item(
            TableName=table.name,
            Key={PARTITION_KEY: prepared.attributes[PARTITION_KEY]},
            ConsistentRead=True,
            ProjectionExpression="#at, #in",
            ExpressionAttributeNames={"#at": UPDATED_AT, "#in": ORIGIN_REGION},
        )
    except (ClientError, BotoCoreError):
        raise error from None
    stored = response.get("Item") or {}
    if all(stored.get(name) == prepared.attributes[name] for name in (UPDATED_AT, ORIGIN_REGION)):
        return Written(created, prepared.item)
    raise error


def same_attributes(
    left: Mapping[str, AttributeValue], right: Mapping[str, AttributeValue], ignore: frozenset[str] = frozenset()
) -> bool:
    """Whether two items hold the same values (numbers compared as numbers, since DynamoDB
    returns them normalized: 1.50 as 1.5; types compared strictly: true is not 1),
    leaving out the attributes named in ``ignore``."""
    names = set(left) - ignore
    if names != set(right) - ignore:
        return False
    return all(_same_value(left[name], right[name]) for name in names)


def _same_value(left: AttributeValue, right: AttributeValue) -> bool:
    if left.keys() != right.keys():
        return False
    for kind, content in left.items():
        other = right[kind]
        if kind == "N":
            return Decimal(content) == Decimal(other)
        if kind == "L":
            return len(content) == len(other) and all(map(_same_value, content, other))
        if kind == "M":
            return same_attributes(content, other)
        if kind == "NS":
            return sorted(map(Decimal, content)) == sorted(map(Decimal, other))
        if kind in ("SS", "BS"):
            return sorted(content) == sorted(other)
        return bool(content == other)
    return False


def get_item(table: Table, item_id: str) -> Item | None:
    """The item (strongly consistent read in this region), or None when absent."""
    response = table.client.get_item(TableName=table.name, Key={PARTITION_KEY: {"S": item_id}}, ConsistentRead=True)
    attributes = response.get("Item")
    return None if attributes is None else from_attribute_values(attributes)


def delete_item(table: Table, item_id: str) -> bool:
    """Delete the item if there is one; True when there was. One call, so a timed-out
    delete that botocore sends again is harmless: deleting is idempotent."""
    response = table.client.delete_item(
        TableName=table.name, Key={PARTITION_KEY: {"S": item_id}}, ReturnValues="ALL_OLD"
    )
    return "Attributes" in response


def sentinel_present(table: Table) -> bool:
    """True when a strongly consistent read of the health sentinel finds it: the read path a
    GET takes (the partition answers, the table key decrypts), on the one key the health
    check's role may read."""
    response = table.client.get_item(
        TableName=table.name, Key={PARTITION_KEY: {"S": HEALTH_SENTINEL_ID}}, ConsistentRead=True
    )
    return "Item" in response


def _attribute_value(value: Any, depth: int) -> tuple[AttributeValue, int]:
    # Any: the dispatch is on the exact class (bool is not int, a str subclass is refused),
    # which mypy does not narrow on.
    kind = value.__class__
    if kind is str:
        return {"S": value}, _utf8_len(value)
    if kind is Decimal:
        text, size = _number(value)
        return {"N": text}, size
    if kind is bool:
        return {"BOOL": value}, 1
    if value is None:
        return {"NULL": True}, 1
    if kind is dict or kind is list:
        depth += 1
        if depth > MAX_DEPTH:
            raise _InvalidValue(f"lists and maps may be nested at most {MAX_DEPTH} deep")
        size = 3
        if kind is dict:
            members: dict[str, AttributeValue] = {}
            for name, member in value.items():
                try:
                    name_size = _name_len(name)
                    members[name], member_size = _attribute_value(member, depth)
                except _InvalidValue as exc:
                    exc.path.append(name)
                    raise
                size = _add_size(size, 1 + name_size + member_size)
            return {"M": members}, size
        elements: list[AttributeValue] = []
        for index, member in enumerate(value):
            try:
                member_value, member_size = _attribute_value(member, depth)
            except _InvalidValue as exc:
                exc.path.append(index)
                raise
            elements.append(member_value)
            size = _add_size(size, 1 + member_size)
        return {"L": elements}, size
    if kind is int:  # callers other than the JSON parser
        return _attribute_value(Decimal(value), depth)
    if kind is float:
        return _attribute_value(Decimal(repr(value)), depth)
    raise _InvalidValue(f"{kind.__name__} is not a JSON value")


def _number(value: Decimal) -> tuple[str, int]:
    """DynamoDB number text for a Decimal and an upper bound of its stored size."""
    if not value.is_finite():
        raise _InvalidValue("numbers must be finite")
    if not value:
        return "0", 2
    sign, digits, _ = value.as_tuple()  # the exponent is typed int | "n" | "N" | "F"
    count = significant = len(digits)
    if count > MAX_DIGITS:  # trailing zeros are not significant: 1 followed by 50 zeros is fine
        significant = len("".join(map(str, digits)).rstrip("0"))
        if significant > MAX_DIGITS:
            raise _InvalidValue(f"number has {significant} significant digits; DynamoDB keeps at most {MAX_DIGITS}")
    adjusted = value.adjusted()  # exponent + count - 1, for a finite value
    if not MIN_ADJUSTED_EXPONENT <= adjusted <= MAX_ADJUSTED_EXPONENT:
        raise _InvalidValue("number magnitude must be between 1E-130 and 9.99E+125 (or 0)")
    if significant < count:
        value = Decimal((sign, digits[:significant], adjusted + 1 - significant))
    return str(value), significant // 2 + 2


def _utf8_len(text: str) -> int:
    if text.isascii():
        return len(text)
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise _InvalidValue("string is not valid Unicode (lone surrogate)") from None


def _name_len(name: str) -> int:
    if not name:
        raise _InvalidValue("attribute names must not be empty")
    size = _utf8_len(name)
    if size > MAX_NAME_BYTES:
        raise _InvalidValue(f"attribute name is {size} bytes; at most {MAX_NAME_BYTES} are allowed")
    return size


def _describe(exc: _InvalidValue) -> str:
    path = ""
    for part in reversed(exc.path):
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    if len(path) > 200:
        path = path[:200] + "..."
    return f"attribute {path}: {exc.message}"


def _python_value(value: AttributeValue) -> Any:
    for kind, content in value.items():
        if kind == "S" or kind == "BOOL":
            return content
        if kind == "N":
            return Decimal(content)
        if kind == "M":
            return {name: _python_value(member) for name, member in content.items()}
        if kind == "L":
            return [_python_value(member) for member in content]
        if kind == "NULL":
            return None
        # Not written by this API, but a table may be shared: sets become arrays and
        # binary becomes base64 text.
        if kind == "SS":
            return list(content)
        if kind == "NS":
            return [Decimal(member) for member in content]
        if kind == "B":
            return b64encode(content).decode("ascii")
        if kind == "BS":
            return [b64encode(member).decode("ascii") for member in content]
    raise ValueError(f"unknown attribute value type {sorted(value)}")
