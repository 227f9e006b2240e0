"""Limits checked before a body is decoded or parsed: Content-Type (415), size (413), then
while parsing, repeated keys (400) and a bound on the values a body may build (413)."""

import base64
import json

import pytest
from _assertions import assert_error
from _events import add_header, load, set_header

from functions import _http, _json, _store, items, schema
from functions.schema import PARTITION_KEY

LIMIT = schema.MAX_BODY_BYTES


def with_content_type(request, *values, header="Content-Type"):
    """The event with these Content-Type values, as API Gateway passes repeated headers."""
    return set_header(request, header, *values)


# --- 415 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        (),
        ("text/plain",),
        ("application/x-www-form-urlencoded",),
        ("application/jsonx",),
        ("application/vnd.api+json",),
        ("application/json; charset=latin-1",),
        ("application/json", "text/plain"),
        ("",),
    ],
    ids=["absent", "text", "form", "prefix", "vendor", "latin-1", "second value", "empty"],
)
def test_body_that_is_not_declared_json_is_415(table, ddb, event, values):
    request = with_content_type(event("post_item"), *values)

    assert_error(items.create_item(request, None), 415, "UnsupportedMediaType")
    assert ddb.scan(TableName=table)["Count"] == 0


def test_415_says_what_is_required(table, event):
    missing = assert_error(items.create_item(with_content_type(event("post_item")), None), 415, "UnsupportedMediaType")
    wrong = assert_error(
        items.create_item(with_content_type(event("post_item"), "Text/Plain; charset=utf-8"), None),
        415,
        "UnsupportedMediaType",
    )
    charset = assert_error(
        items.create_item(with_content_type(event("post_item"), "application/json;charset=utf-16"), None),
        415,
        "UnsupportedMediaType",
    )

    assert missing["message"] == "Content-Type: application/json is required"
    assert wrong["message"] == "Content-Type must be application/json, not 'text/plain'"
    assert charset["message"] == "the only charset accepted for JSON is utf-8"


@pytest.mark.parametrize(
    "value",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;Charset=UTF-8",
        'application/json; charset="utf-8"',
        " application/json ; foo=bar",
    ],
)
@pytest.mark.parametrize("header", ["Content-Type", "content-type", "CONTENT-TYPE"])
def test_json_content_type_is_accepted_in_any_case(table, event, value, header):
    request = with_content_type(event("post_item"), value, header=header)

    assert items.create_item(request, None)["statusCode"] == 201


def test_content_type_only_in_multi_value_headers_counts(table, event):
    request = with_content_type(event("post_item"), "application/json")
    del request["headers"]["Content-Type"]

    assert items.create_item(request, None)["statusCode"] == 201


def test_content_type_only_in_headers_counts(table, event):
    request = with_content_type(event("post_item"), "application/json")
    request["multiValueHeaders"] = None

    assert items.create_item(request, None)["statusCode"] == 201


def test_a_wrong_type_in_multi_value_headers_alone_is_415(table, event):
    request = with_content_type(event("post_item"), "application/json")
    request["multiValueHeaders"]["content-type"] = ["text/plain"]

    assert_error(items.create_item(request, None), 415, "UnsupportedMediaType")


def test_a_wrong_type_in_an_event_with_only_the_headers_map_is_415(table, event):
    """A caller other than API Gateway may fill one map: ``headers`` is read then."""
    request = with_content_type(event("post_item"), "application/json")
    request["multiValueHeaders"] = None
    request["headers"]["CONTENT-TYPE"] = "text/plain"

    assert_error(items.create_item(request, None), 415, "UnsupportedMediaType")


def test_headers_of_none_are_415_not_500(table, event):
    request = event("post_item")
    request["headers"] = request["multiValueHeaders"] = None

    assert_error(items.create_item(request, None), 415, "UnsupportedMediaType")


def test_header_values_reads_the_multi_value_map_when_it_names_the_header():
    """API Gateway puts a header sent once in both maps; it must count once (CORS needs one Origin)."""
    request = add_header(add_header(load("get_item"), "X-A", "3"), "X-A", "4")
    request["headers"]["x-b"] = "2"  # a caller other than API Gateway may fill one map
    request["multiValueHeaders"]["X-C"] = "5"  # not a list

    assert request["headers"]["X-A"] == "4"
    assert _http.header_values(request, "x-a") == ["3", "4"]
    assert _http.header_values(request, "x-b") == ["2"]  # only in headers: read from there
    assert _http.header_values(request, "X-C") == ["5"]
    assert _http.header_values(request, "x-d") == []


# --- 413 before decoding ---------------------------------------------------------------


def test_body_limit_is_three_bytes_of_json_per_stored_byte():
    assert _store.MAX_ITEM_BYTES == 409_600
    assert LIMIT == 1_228_800 and _store.MAX_VALUES == 204_800


def test_body_over_the_limit_is_413_without_being_parsed(table, event):
    # Not JSON at all: a 400 would mean it was parsed.
    error = assert_error(items.create_item(event("post_item", body="x" * (LIMIT + 1)), None), 413, "BodyTooLarge")

    assert error["message"] == f"the body is over {LIMIT} bytes, more than any storable item takes as JSON"


def test_body_at_the_limit_is_read(table, event):
    assert_error(items.create_item(event("post_item", body="x" * LIMIT), None), 400, "InvalidJson")


def test_the_limit_counts_utf8_bytes_not_characters(table, event):
    body = "é" * (LIMIT // 2 + 1)  # fewer characters than the limit, more bytes

    assert_error(items.create_item(event("post_item", body=body), None), 413, "BodyTooLarge")
    assert_error(items.create_item(event("post_item", body="é" * (LIMIT // 2)), None), 400, "InvalidJson")


def test_a_storable_item_escaped_as_ascii_fits_the_limit(table, event):
    # The worst ordinary encoding: 2-byte characters written as \u00e9 (json.dumps' default),
    # 6 bytes each. (Sized under moto's item limit, 405,000 bytes, which is stricter than AWS's.)
    text = "é" * ((405_000 - 200) // 2)
    body = json.dumps({PARTITION_KEY: "escaped", "text": text})
    assert 0.98 * LIMIT < len(body) <= LIMIT

    assert items.create_item(event("post_item", body=body), None)["statusCode"] == 201


def test_base64_body_limit_is_the_encoded_size_of_the_limit(table, event):
    limit = (LIMIT + 2) // 3 * 4
    over = event("post_item", body="A" * (limit + 4), base64_body=False)
    over["isBase64Encoded"] = True
    at = event("post_item", body=base64.b64encode(b"x" * LIMIT).decode(), base64_body=False)
    at["isBase64Encoded"] = True
    assert len(at["body"]) == limit

    assert_error(items.create_item(over, None), 413, "BodyTooLarge")
    assert_error(items.create_item(at, None), 400, "InvalidJson")


def test_exceeds_counts_bytes():
    assert _http.exceeds("abc", 2) and not _http.exceeds("abc", 3)
    assert _http.exceeds("éé", 3) and not _http.exceeds("éé", 4)
    assert _http.exceeds("\ud800", 2) and not _http.exceeds("\ud800", 3)  # a lone surrogate: 3 bytes


# --- while parsing --------------------------------------------------------------------

DUPLICATES = {
    "top level": '{"a": 1, "b": 2, "a": 3}',
    "id twice": '{"item_id": "x", "item_id": "y"}',
    "nested map": '{"m": {"k": 1, "k": 1}}',
    "map in a list": '{"l": [{}, {"k": null, "k": null}]}',
}


@pytest.mark.parametrize("body", DUPLICATES.values(), ids=DUPLICATES.keys())
def test_repeated_key_is_400_at_any_depth(table, ddb, event, body):
    error = assert_error(items.create_item(event("post_item", body=body), None), 400, "DuplicateKey")

    assert "appears twice in one object" in error["message"]
    assert ddb.scan(TableName=table)["Count"] == 0


def test_duplicate_key_message_names_the_key(table, event):
    error = assert_error(
        items.create_item(event("post_item", body='{"b": 1, "a": 1, "b": 2}'), None), 400, "DuplicateKey"
    )

    assert error["message"] == "the key 'b' appears twice in one object"


def test_same_key_in_different_objects_is_fine(table, event):
    body = '{"a": {"k": 1}, "b": {"k": 2}, "l": [{"k": 3}, {"k": 4}]}'

    assert items.create_item(event("post_item", body=body), None)["statusCode"] == 201


def test_duplicate_key_reports_the_repeated_key():
    with pytest.raises(_json.DuplicateKey) as caught:
        _json.loads('{"a": 1, "b": 2, "c": 3, "b": 4}')

    assert caught.value.key == "b"


def test_body_with_more_numbers_and_objects_than_an_item_can_hold_is_413(table, event):
    body = '{"l": [' + ",".join(["0"] * _store.MAX_VALUES) + "]}"
    assert len(body) < LIMIT

    error = assert_error(items.create_item(event("post_item", body=body), None), 413, "ItemTooLarge")

    assert error["message"] == (
        f"the body has over {_store.MAX_VALUES} numbers and objects; no item that large can be stored"
    )


@pytest.mark.parametrize(
    "text, values", [("[1, 2.5, 3]", 3), ('{"a": {}, "b": [{}]}', 3), ('[[], null, true, "s"]', 0)]
)
def test_the_value_budget_counts_numbers_and_objects(text, values):
    assert _json.loads(text, values) == json.loads(text, parse_float=_json.Decimal, parse_int=_json.Decimal)
    if values:
        with pytest.raises(_json.TooManyValues):
            _json.loads(text, values - 1)


def test_conversion_stops_at_the_item_limit():
    # 300,000 small values: the walk stops once the estimate passes 409,600 bytes.
    with pytest.raises(_store.PayloadTooLarge) as caught:
        _store.to_attribute_values({"l": [None] * 300_000})

    assert caught.value.message == "the item is over the 409600 bytes DynamoDB stores"


@pytest.mark.parametrize("value", ["application/json; charset=utf-8=x", "application/json; charset=Xutf-8"])
def test_charset_must_be_exactly_utf8(table, event, value):
    assert_error(items.create_item(with_content_type(event("post_item"), value), None), 415, "UnsupportedMediaType")


def test_long_media_types_are_cut_in_the_message(table, event):
    media_type = "application/" + "x" * 70
    request = with_content_type(event("post_item"), media_type)

    message = assert_error(items.create_item(request, None), 415, "UnsupportedMediaType")["message"]
    assert message == f"Content-Type must be application/json, not {media_type[:64]!r}"


def test_base64_limit_rounds_up_to_whole_groups():
    body = base64.b64encode(b'{"a":1234}').decode()  # 10 bytes, 16 characters
    request = load("post_item")
    request["body"], request["isBase64Encoded"] = body, True

    assert _http.json_body(request, max_bytes=10, max_values=5) == {"a": 1234}


def test_long_duplicate_keys_are_cut_in_the_message():
    key = "k" * 70
    with pytest.raises(_json.DuplicateKey, match=f"^the key {key[:64]!r} appears twice in one object$"):
        _json.loads(json.dumps({key: 1})[:-1] + f', "{key}": 2}}')
