"""The plain functions under the handlers, without events: validation, conversion, size,
JSON writing, and the store operations against a moto table."""

from decimal import Decimal

import pytest

from functions import _json, _store
from functions._errors import BadRequest, PayloadTooLarge
from functions.schema import PARTITION_KEY


def test_prepare_item_adds_server_fields_and_keeps_values():
    document = {PARTITION_KEY: "a", "n": Decimal("0.1"), "l": [None, True, ""]}

    prepared = _store.prepare_item(document, region="eu-west-2", timestamp="2026-11-27T09:00:00.123Z")

    assert prepared.item == {**document, "origin_region": "eu-west-2", "updated_at": "2026-11-27T09:00:00.123Z"}
    assert prepared.attributes["n"] == {"N": "0.1"}
    assert prepared.attributes["l"] == {"L": [{"NULL": True}, {"BOOL": True}, {"S": ""}]}
    assert document == {PARTITION_KEY: "a", "n": Decimal("0.1"), "l": [None, True, ""]}  # not mutated


def test_size_is_an_upper_bound_of_dynamodbs_formula():
    # DynamoDB: names + string bytes; number = 1 byte per 2 significant digits + 1;
    # map/list = 3 + 1 per element; bool/null = 1.
    item = {"s": "héllo", "n": Decimal("12345"), "m": {"k": True, "l": [None, Decimal("1")]}}
    documented = (1 + 6) + (1 + 3 + 1) + (1 + 3 + (1 + 1 + 1) + (1 + 1 + 3 + (1 + 1) + (1 + 2)))

    _, size = _store.to_attribute_values(item)

    assert documented <= size <= documented + 10


def test_item_over_the_limit_raises_payload_too_large():
    with pytest.raises(PayloadTooLarge):
        _store.prepare_item({"s": "x" * _store.MAX_ITEM_BYTES}, region="r")


@pytest.mark.parametrize(
    "number, text",
    [
        ("0.1", "0.1"),
        ("-1.50", "-1.50"),
        ("1" + "0" * 50, "1E+50"),  # 51 digits, 1 significant: shortened for DynamoDB
        ("123" + "0" * 40, "1.23E+42"),
        ("0", "0"),
        ("-0.000", "0"),
        ("9.9999999999999999999999999999999999999E+125", "9.9999999999999999999999999999999999999E+125"),
        ("1E-130", "1E-130"),
    ],
)
def test_numbers_are_sent_as_exact_dynamodb_text(number, text):
    attributes, _ = _store.to_attribute_values({"n": Decimal(number)})

    assert attributes["n"] == {"N": text}
    assert Decimal(text) == Decimal(number)


@pytest.mark.parametrize("number", ["1" * 39, "1E+126", "1E-131", "NaN", "Infinity"])
def test_numbers_dynamodb_cannot_hold_exactly_are_rejected(number):
    with pytest.raises(BadRequest):
        _store.to_attribute_values({"n": Decimal(number)})


def test_python_ints_and_floats_are_accepted_by_the_plain_function():
    attributes, _ = _store.to_attribute_values({"i": 10**20, "f": 0.1})

    assert attributes == {"i": {"N": "100000000000000000000"}, "f": {"N": "0.1"}}


def test_attribute_values_from_other_writers_become_json():
    attributes = {
        "ss": {"SS": ["a"]},
        "ns": {"NS": ["1.5"]},
        "b": {"B": b"\x00\xff"},
        "bs": {"BS": [b"a"]},
    }

    item = _store.from_attribute_values(attributes)

    assert item == {"ss": ["a"], "ns": [Decimal("1.5")], "b": "AP8=", "bs": ["YQ=="]}
    assert _json.dumps(item) == '{"ss":["a"],"ns":[1.5],"b":"AP8=","bs":["YQ=="]}'


@pytest.mark.parametrize(
    "value, text",
    [
        (Decimal("0.1"), "0.1"),
        (Decimal("1E+2"), "100"),
        (Decimal("1.0"), "1.0"),
        (Decimal("-0.0"), "-0.0"),
        (Decimal("1E-7"), "1E-7"),
        (Decimal("12345678901234567890123456789012345678"), "12345678901234567890123456789012345678"),
        ({"a": [True, False, None, "é\n"]}, '{"a":[true,false,null,"\\u00e9\\n"]}'),
        ({"s": {"b", "a"}}, '{"s":["a","b"]}'),
    ],
)
def test_json_writes_decimals_exactly(value, text):
    assert _json.dumps(value) == text


def test_json_refuses_non_finite_numbers():
    with pytest.raises(ValueError):
        _json.dumps(Decimal("NaN"))


def test_utc_timestamp_has_milliseconds_and_z():
    assert _store.utc_timestamp(1795770000.1234) == "2026-11-27T09:00:00.123Z"


def test_put_get_delete_against_the_table(table):
    from functions import _aws

    store = _aws.table()
    prepared = _store.prepare_item({PARTITION_KEY: "p", "n": Decimal("0.1")}, region="eu-west-1")

    assert _store.put_item(store, prepared) is False
    assert _store.put_item(store, prepared) is True
    assert _store.get_item(store, "p") == prepared.item
    assert _store.delete_item(store, "p") is True
    assert _store.get_item(store, "p") is None
    assert _store.delete_item(store, "p") is False
