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
        # 40 digits, exactly 38 significant (the most DynamoDB keeps): accepted, shortened.
        ("1" * 38 + "00", "1.1111111111111111111111111111111111111E+39"),
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
    attributes = {"ss": {"SS": ["a"]}, "ns": {"NS": ["1.5"]}, "b": {"B": b"\x00\xff"}, "bs": {"BS": [b"a"]}}

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

    assert _store.put_item(store, prepared).created is True
    assert _store.put_item(store, prepared).created is True  # the same item: nothing to replace
    assert _store.get_item(store, "p") == prepared.item
    other = _store.prepare_item({PARTITION_KEY: "p", "n": Decimal("0.2")}, region="eu-west-1")
    assert _store.put_item(store, other).created is False
    assert _store.get_item(store, "p") == other.item
    assert _store.delete_item(store, "p") is True
    assert _store.get_item(store, "p") is None
    assert _store.delete_item(store, "p") is False


@pytest.mark.parametrize(
    "left, right, same",
    [
        ({"n": {"N": "1.50"}}, {"n": {"N": "1.5"}}, True),  # DynamoDB returns numbers normalized
        ({"n": {"N": "1E+2"}}, {"n": {"N": "100"}}, True),
        ({"b": {"BOOL": True}}, {"b": {"N": "1"}}, False),  # true is not 1
        ({"l": {"L": [{"S": ""}]}}, {"l": {"L": [{"S": ""}, {"S": ""}]}}, False),
        ({"m": {"M": {"a": {"NULL": True}}}}, {"m": {"M": {"a": {"NULL": True}}}}, True),
        ({"m": {"M": {"a": {"NULL": True}}}}, {"m": {"M": {"b": {"NULL": True}}}}, False),
        ({"s": {"SS": ["a", "b"]}}, {"s": {"SS": ["b", "a"]}}, True),
        ({"s": {"NS": ["1", "2.0"]}}, {"s": {"NS": ["2", "1"]}}, True),
        ({"a": {"S": "x"}}, {"a": {"S": "x"}, "b": {"S": "y"}}, False),
    ],
)
def test_items_are_the_same_when_dynamodb_would_store_the_same_values(left, right, same):
    assert _store.same_attributes(left, right) is same
    assert _store.same_attributes(right, left) is same


def test_server_attributes_can_be_left_out_of_the_comparison():
    first = _store.prepare_item({PARTITION_KEY: "k", "v": 1}, region="eu-west-1", timestamp="t1").attributes
    retry = _store.prepare_item({PARTITION_KEY: "k", "v": 1}, region="us-east-1", timestamp="t2").attributes

    assert not _store.same_attributes(first, retry)
    assert _store.same_attributes(first, retry, ignore=_store.SERVER_ATTRIBUTES)


# --- sizes, exactly as estimated --------------------------------------------------------


@pytest.mark.parametrize(
    "item, size",
    [
        ({"b": True}, 1 + 1),
        ({"n": None}, 1 + 1),
        ({"z": Decimal(0)}, 1 + 2),
        ({"n": Decimal("12345")}, 1 + (5 // 2 + 2)),
        ({"n": Decimal("1.5")}, 1 + 3),
        ({"l": []}, 1 + 3),
        ({"l": [True, None]}, 1 + 3 + (1 + 1) + (1 + 1)),
        ({"m": {}}, 1 + 3),
        ({"m": {"ab": "é"}}, 1 + 3 + (1 + 2 + 2)),
        ({"ab": "x", "c": [{"d": Decimal(1)}]}, (2 + 1) + (1 + 3 + (1 + 3 + (1 + 1 + 2)))),
    ],
)
def test_size_estimate_is_exact_to_the_byte(item, size):
    assert _store.to_attribute_values(item)[1] == size


def test_an_item_of_exactly_409600_bytes_is_accepted_and_one_more_is_not():
    fixed = {PARTITION_KEY: "k", "origin_region": "eu-west-1", "updated_at": "2026-11-27T09:00:00.123Z"}
    overhead = _store.to_attribute_values({**fixed, "s": ""})[1]
    at_limit = {PARTITION_KEY: "k", "s": "x" * (409_600 - overhead)}

    prepared = _store.prepare_item(at_limit, region="eu-west-1", timestamp=fixed["updated_at"])
    assert prepared.size == 409_600 == _store.MAX_ITEM_BYTES
    with pytest.raises(PayloadTooLarge, match="^the item is over the 409600 bytes DynamoDB stores$"):
        _store.prepare_item({**at_limit, "s": at_limit["s"] + "x"}, region="eu-west-1", timestamp=fixed["updated_at"])


def test_an_empty_string_costs_only_its_list_or_map_element_byte():
    """DynamoDB's "Item sizes and formats": a string is its UTF-8 bytes (0 when empty); a list
    or map 3 bytes plus its elements, each element 1 byte more (a map's also its key)."""
    assert _store.to_attribute_values({"l": [""]})[1] == 1 + 3 + 1
    assert _store.to_attribute_values({"m": {"k": ""}})[1] == 1 + 3 + (1 + 1 + 0)
    assert _store.to_attribute_values({"l": [""] * 400_000})[1] == 1 + 3 + 400_000


def test_a_list_of_empty_strings_is_refused_at_409601_bytes_and_stored_at_409600():
    fixed = {PARTITION_KEY: "k", "origin_region": "eu-west-1", "updated_at": "2026-11-27T09:00:00.123Z"}
    overhead = _store.to_attribute_values({**fixed, "l": []})[1]
    at_limit = {PARTITION_KEY: "k", "l": [""] * (409_600 - overhead)}

    assert _store.prepare_item(at_limit, region="eu-west-1", timestamp=fixed["updated_at"]).size == 409_600
    with pytest.raises(PayloadTooLarge):
        _store.prepare_item({**at_limit, "l": at_limit["l"] + [""]}, region="eu-west-1", timestamp=fixed["updated_at"])


def test_attribute_names_of_65535_bytes_are_accepted_and_longer_ones_are_not():
    _store.to_attribute_values({"n" * 65_535: True, "m": {"é" * 32_767 + "x": True}})

    with pytest.raises(BadRequest) as top:
        _store.to_attribute_values({"n" * 65_536: True})
    with pytest.raises(BadRequest) as nested:
        _store.to_attribute_values({"m": {"é" * 32_768: True}})
    assert top.value.message.endswith("attribute name is 65536 bytes; at most 65535 are allowed")
    assert nested.value.message.startswith("attribute m.éé")
    assert nested.value.message.endswith("attribute name is 65536 bytes; at most 65535 are allowed")


def _nested(depth):
    value = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    "item, message",
    [
        ({"": 1}, "attribute : attribute names must not be empty"),
        ({"m": {"": 1}}, "attribute m.: attribute names must not be empty"),
        ({"s": "\ud800"}, "attribute s: string is not valid Unicode (lone surrogate)"),
        ({"n": Decimal("NaN")}, "attribute n: numbers must be finite"),
        ({"n": Decimal("1E+126")}, "attribute n: number magnitude must be between 1E-130 and 9.99E+125 (or 0)"),
        ({"n": Decimal("1" * 39)}, "attribute n: number has 39 significant digits; DynamoDB keeps at most 38"),
        ({"l": [0, [b"x"]]}, "attribute l[1][0]: bytes is not a JSON value"),
        ({"d": _nested(33)}, "attribute d" + "[0]" * 32 + ": lists and maps may be nested at most 32 deep"),
    ],
)
def test_invalid_values_are_named_with_their_path(item, message):
    with pytest.raises(BadRequest) as caught:
        _store.to_attribute_values(item)

    assert caught.value.code == "InvalidAttribute" and caught.value.message == message


def test_long_paths_are_cut_at_200_characters():
    name = "n" * 150
    with pytest.raises(BadRequest) as long:
        _store.to_attribute_values({name: {name: {"": 1}}})
    with pytest.raises(BadRequest) as exact:
        _store.to_attribute_values({"a" * 199: {"": 1}})  # path "aaa...a." is 200 characters

    with pytest.raises(BadRequest) as just_over:
        _store.to_attribute_values({"a" * 200: {"": 1}})  # 201 characters

    assert long.value.message == f"attribute {(name + '.' + name)[:200]}...: attribute names must not be empty"
    assert just_over.value.message == f"attribute {'a' * 200}...: attribute names must not be empty"
    assert exact.value.message == f"attribute {'a' * 199}.: attribute names must not be empty"


@pytest.mark.parametrize(
    "number, text, size",
    [
        ("123" + "0" * 35, "123" + "0" * 35, 38 // 2 + 2),  # 38 digits: kept as written
        ("123" + "0" * 36, "1.23E+38", 3 // 2 + 2),  # 39 digits, 3 significant: shortened
        ("-7", "-7", 2),
    ],
)
def test_number_text_and_size(number, text, size):
    attributes, item_size = _store.to_attribute_values({"n": Decimal(number)})

    assert attributes["n"] == {"N": text} and item_size == 1 + size


def test_reserved_attributes_are_all_named():
    with pytest.raises(BadRequest) as caught:
        _store.prepare_item({"updated_at": "x", "origin_region": "y"}, region="r")

    assert caught.value.message == "origin_region, updated_at cannot be set by a client"


def test_a_document_that_is_not_an_object_is_named():
    with pytest.raises(BadRequest) as caught:
        _store.prepare_item([1], region="r")

    assert caught.value.code == "InvalidBody" and caught.value.message == "the body must be a JSON object"


def test_unknown_attribute_value_types_are_refused():
    with pytest.raises(ValueError, match=r"^unknown attribute value type \['Q'\]$"):
        _store.from_attribute_values({"x": {"Q": "1"}})


def test_utc_timestamp_truncates_to_milliseconds():
    assert _store.utc_timestamp(1795770000.9995) == "2026-11-27T09:00:00.999Z"
    assert _store.utc_timestamp(1795770000) == "2026-11-27T09:00:00.000Z"


def test_reads_are_strongly_consistent(table):
    from botocore.stub import Stubber

    from functions import _aws

    store = _aws.table()
    stubber = Stubber(store.client)
    stubber.add_response(
        "get_item", {}, {"TableName": table, "Key": {PARTITION_KEY: {"S": "k"}}, "ConsistentRead": True}
    )
    with stubber:
        assert _store.get_item(store, "k") is None
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    "size, error", [(_store._SIZE_SUSPECT_BYTES, PayloadTooLarge), (_store._SIZE_SUSPECT_BYTES - 1, BadRequest)]
)
def test_a_validation_error_means_too_large_only_near_the_limit(table, size, error):
    from botocore.stub import Stubber

    from functions import _aws

    store = _aws.table()
    prepared = _store.Prepared({PARTITION_KEY: "k"}, {PARTITION_KEY: {"S": "k"}}, size)
    stubber = Stubber(store.client)
    stubber.add_client_error("put_item", service_error_code="ValidationException", http_status_code=400)
    with stubber, pytest.raises(error) as caught:
        _store.put_item(store, prepared)

    assert caught.value.message == (
        "DynamoDB refused the item as too large (limit 409600 bytes)"
        if error is PayloadTooLarge
        else "DynamoDB refused the item"
    )


# --- JSON -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (5, "5"),
        (1.5, "1.5"),
        (frozenset({"b", "a"}), '["a","b"]'),
        (bytearray(b"\x00"), '"AA=="'),
        (b"\xff", '"/w=="'),
        (("t", 1), '["t",1]'),
        ({"k": None}, '{"k":null}'),
    ],
)
def test_json_writes_python_values(value, text):
    assert _json.dumps(value) == text


@pytest.mark.parametrize(
    "value, message",
    [
        (float("nan"), "Out of range float values are not JSON compliant"),
        (Decimal("Infinity"), "Infinity is not a JSON number"),
        (object(), "cannot encode object as JSON"),
    ],
)
def test_json_refuses_what_it_cannot_write(value, message):
    with pytest.raises((ValueError, TypeError)) as caught:
        _json.dumps(value)

    assert str(caught.value).startswith(message)


def test_json_reads_numbers_as_decimal():
    assert _json.loads("[1, 1.5]") == [Decimal(1), Decimal("1.5")]
    assert all(type(n) is Decimal for n in _json.loads("[1, 1.5]"))


@pytest.mark.parametrize(
    "text, message",
    [
        ("[NaN]", "NaN is not a JSON number"),
        ("[" * 100_000 + "]" * 100_000, "JSON is nested too deeply"),
        ("[1e999999999999999999999]", "a number is out of range"),
    ],
)
def test_json_errors_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        _json.loads(text)


def test_error_basics():
    from botocore.exceptions import ClientError

    from functions._errors import ServiceUnavailable, error_code

    assert error_code(ClientError({}, "GetItem")) == "" == error_code(ClientError({"Error": {}}, "GetItem"))
    assert str(BadRequest("bad")) == "bad" and BadRequest("bad", code="X").code == "X"
    assert ServiceUnavailable("busy").retry_after == 1
