"""Items handlers against a moto table, with API Gateway REST proxy events from fixtures."""

import base64
import json
import re
import uuid
from decimal import Decimal

import pytest
from _assertions import assert_error
from botocore.stub import Stubber

from functions import _aws, _store, items, schema
from functions.schema import HEALTH_SENTINEL_ID, PARTITION_KEY

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
BIG = "12345678901234567890123456789012345678"  # 38 digits, more than a float holds


# --- create ------------------------------------------------------------------------


def test_create_new_item_is_201_with_location_and_server_fields(table, ddb, event, parse):
    response = items.create_item(event("post_item"), None)

    assert response["statusCode"] == 201
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Location"] == "/items/order-1001"
    body = parse(response)
    assert body[PARTITION_KEY] == "order-1001"
    assert body["origin_region"] == "eu-west-1"
    assert TIMESTAMP.match(body["updated_at"])
    assert body["price"] == Decimal("0.1") and body["note"] == "" and body["supplier"] is None
    stored = ddb.get_item(TableName=table, Key={PARTITION_KEY: {"S": "order-1001"}})["Item"]
    assert stored["price"] == {"N": "0.1"}
    assert stored["dimensions"] == {"M": {"w": {"N": "10"}, "h": {"N": "2.5"}}}
    assert stored["discontinued"] == {"BOOL": False}


def test_create_without_id_generates_a_uuid(table, event, parse):
    response = items.create_item(event("post_item", body={"name": "x"}), None)

    assert response["statusCode"] == 201
    item_id = parse(response)[PARTITION_KEY]
    assert str(uuid.UUID(item_id)) == item_id
    assert response["headers"]["Location"] == f"/items/{item_id}"


def test_location_url_encodes_the_id(table, event):
    response = items.create_item(event("post_item", body={PARTITION_KEY: "a/b c?é%"}), None)

    assert response["headers"]["Location"] == "/items/a%2Fb%20c%3F%C3%A9%25"


def test_create_replacing_an_item_is_200_without_location(table, event, parse):
    items.create_item(event("post_item", body={PARTITION_KEY: "k", "v": 1, "old": True}), None)
    response = items.create_item(event("post_item", body={PARTITION_KEY: "k", "v": 2}), None)

    assert response["statusCode"] == 200
    assert "Location" not in response["headers"]
    assert parse(response)["v"] == 2 and parse(response)[PARTITION_KEY] == "k"
    got = parse(items.get_item(event("get_item", item_id="k"), None))
    assert got["v"] == 2 and "old" not in got


def test_numbers_come_back_with_every_digit(table, event):
    body = f'{{"item_id": "n", "big": {BIG}, "neg": -{BIG}, "tenth": 0.1, "tiny": 1E-130, "e": 1.5e3}}'
    created = items.create_item(event("post_item", body=body), None)
    got = items.get_item(event("get_item", item_id="n"), None)

    for response in (created, got):
        text = response["body"]
        assert f'"big":{BIG}' in text and f'"neg":-{BIG}' in text
        assert '"tenth":0.1' in text
        values = json.loads(text)  # a plain client: ints stay ints
        assert values["big"] == int(BIG) and isinstance(values["big"], int)
        assert Decimal(json.loads(text, parse_float=str)["tiny"]) == Decimal("1E-130")
        assert Decimal(json.loads(text, parse_float=str, parse_int=str)["e"]) == 1500


def test_trailing_zeros_do_not_count_as_significant_digits(table, event):
    big_round = "1" + "0" * 60  # 61 digits but 1 significant: DynamoDB stores it exactly
    response = items.create_item(event("post_item", body=f'{{"item_id": "z", "n": {big_round}}}'), None)
    assert response["statusCode"] == 201

    got = items.get_item(event("get_item", item_id="z"), None)
    assert json.loads(got["body"])["n"] == 10**60


def test_nested_empty_values_round_trip(table, event, parse):
    document = {PARTITION_KEY: "e", "s": "", "l": [], "m": {}, "deep": {"a": [{"b": ""}, [], {}]}}
    items.create_item(event("post_item", body=document), None)

    got = parse(items.get_item(event("get_item", item_id="e"), None))
    assert {k: got[k] for k in document} == document


def test_base64_body_is_decoded(table, event, parse):
    response = items.create_item(event("post_item", body={PARTITION_KEY: "b64", "ü": "ñ"}, base64_body=True), None)

    assert response["statusCode"] == 201
    assert parse(items.get_item(event("get_item", item_id="b64"), None))["ü"] == "ñ"


def test_id_of_exactly_1024_utf8_bytes_is_accepted(table, event):
    item_id = "é" * 512  # 2 bytes each
    assert items.create_item(event("post_item", body={PARTITION_KEY: item_id}), None)["statusCode"] == 201
    assert items.get_item(event("get_item", item_id=item_id), None)["statusCode"] == 200


# --- get / delete --------------------------------------------------------------------


def test_get_existing_item_is_200_with_served_by(table, event, parse):
    items.create_item(event("post_item"), None)

    response = items.get_item(event("get_item"), None)

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    body = parse(response)
    assert body["served_by"] == "eu-west-1"
    assert body["tags"] == ["a", "b"] and body["dimensions"] == {"w": 10, "h": Decimal("2.5")}


def test_get_missing_item_is_404(table, event):
    error = assert_error(items.get_item(event("get_item", item_id="nope"), None), 404, "NotFound")

    assert error["message"] == "no item with this id"


def test_delete_existing_item_is_204_then_gone(table, event):
    items.create_item(event("post_item"), None)

    response = items.delete_item(event("delete_item"), None)

    assert response["statusCode"] == 204
    assert response["body"] == ""
    assert_error(items.get_item(event("get_item"), None), 404, "NotFound")


def test_delete_is_idempotent_a_retry_and_a_missing_item_are_204(table, ddb, event):
    """RFC 9110 9.2.2: a retried DELETE whose first attempt succeeded answers as it did."""
    items.create_item(event("post_item"), None)

    first = items.delete_item(event("delete_item"), None)
    retry = items.delete_item(event("delete_item"), None)
    never_there = items.delete_item(event("delete_item", item_id="nope"), None)

    assert [r["statusCode"] for r in (first, retry, never_there)] == [204, 204, 204]
    assert retry == first and retry["body"] == ""
    assert ddb.scan(TableName=table)["Count"] == 0


# --- retries: a request sent again answers as its first attempt did -------------------


def test_a_retried_post_of_the_same_item_is_201_with_the_first_answer(table, ddb, event, parse, monkeypatch):
    body = '{"item_id": "order-9", "v": 1.50, "tags": ["a", ""], "ok": true}'
    first = items.create_item(event("post_item", body=body), None)
    monkeypatch.setattr(_store, "utc_timestamp", lambda: "2099-01-01T00:00:00.000Z")  # the retry comes later

    retry = items.create_item(event("post_item", body=body), None)

    assert first["statusCode"] == retry["statusCode"] == 201
    assert retry["headers"]["Location"] == first["headers"]["Location"] == "/items/order-9"
    assert parse(retry) == parse(first)  # the stored item, with the first attempt's updated_at
    stored = ddb.get_item(TableName=table, Key={PARTITION_KEY: {"S": "order-9"}})["Item"]
    assert stored["updated_at"] == {"S": parse(first)["updated_at"]}  # the retry wrote nothing


def test_a_post_of_a_different_item_with_a_taken_id_replaces_it_200(table, event, parse):
    items.create_item(event("post_item", body={PARTITION_KEY: "k", "v": 1}), None)

    response = items.create_item(event("post_item", body={PARTITION_KEY: "k", "v": True}), None)  # true is not 1

    assert response["statusCode"] == 200 and "Location" not in response["headers"]
    assert parse(items.get_item(event("get_item", item_id="k"), None))["v"] is True


def lose_answers(client, operation, times, apply=True):
    """The next ``times`` ``operation`` requests time out waiting for their answer, after moto
    applied them (``apply``) or not: what a slow or unreachable DynamoDB does."""
    from botocore.exceptions import ReadTimeoutError
    from moto.core.models import botocore_stubber

    left = [times]

    def lose(request, event_name, **kwargs):
        if left[0] <= 0:
            return None
        left[0] -= 1
        if apply:
            botocore_stubber(event_name, request)
        raise ReadTimeoutError(endpoint_url=request.url)

    event_name = f"before-send.dynamodb.{operation}"
    client.meta.events.register_first(event_name, lose)
    return lambda: client.meta.events.unregister(event_name, lose)


@pytest.fixture
def no_backoff(monkeypatch):
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


def test_a_put_applied_whose_answer_was_lost_is_201_when_botocore_sends_it_again(table, ddb, event, parse, no_backoff):
    """The conditional put sent again finds its own item: created, as the first attempt was."""
    restore = lose_answers(_aws.table().client, "PutItem", 1)
    try:
        response = items.create_item(event("post_item"), None)
    finally:
        restore()

    assert response["statusCode"] == 201 and response["headers"]["Location"] == "/items/order-1001"
    stored = parse(items.get_item(event("get_item"), None))
    assert parse(response) == {name: value for name, value in stored.items() if name != "served_by"}


def test_a_write_the_store_accepted_is_never_503(table, event, parse, no_backoff):
    """Every attempt timed out, the first having been applied: a read finds our write."""
    restore = lose_answers(_aws.table().client, "PutItem", 2)
    try:
        response = items.create_item(event("post_item"), None)
    finally:
        restore()

    assert response["statusCode"] == 201
    assert parse(items.get_item(event("get_item"), None))["updated_at"] == parse(response)["updated_at"]


def test_a_write_that_never_reached_the_table_is_still_503(table, ddb, event, no_backoff):
    restore = lose_answers(_aws.table().client, "PutItem", 2, apply=False)
    try:
        response = items.create_item(event("post_item"), None)
    finally:
        restore()

    assert_error(response, 503, "StoreUnreachable")
    assert ddb.scan(TableName=table)["Count"] == 0


# --- 400 -----------------------------------------------------------------------------

BAD_BODIES = {
    "not json": ("{'a': 1}", "InvalidJson"),
    "truncated json": ('{"a": ', "InvalidJson"),
    "NaN literal": ('{"a": NaN}', "InvalidJson"),
    "Infinity literal": ('{"a": -Infinity}', "InvalidJson"),
    "exponent beyond Decimal": ('{"a": 1e999999999999999999999}', "InvalidJson"),
    "nested too deep for the parser": ("[" * 100_000 + "]" * 100_000, "InvalidJson"),
    "array": ("[1, 2]", "InvalidBody"),
    "string": ('"item"', "InvalidBody"),
    "null": ("null", "InvalidBody"),
    "empty body": ("", "MissingBody"),
    "no body": (None, "MissingBody"),
    "empty id": ('{"item_id": ""}', "InvalidItemId"),
    "numeric id": ('{"item_id": 5}', "InvalidItemId"),
    "null id": ('{"item_id": null}', "InvalidItemId"),
    "id with newline": ('{"item_id": "a\\nb"}', "InvalidItemId"),
    "id with DEL": ('{"item_id": "a\\u007fb"}', "InvalidItemId"),
    "id with C1 control": ('{"item_id": "a\\u0085b"}', "InvalidItemId"),
    "id over 1024 bytes": (json.dumps({PARTITION_KEY: "é" * 513}), "InvalidItemId"),
    "id lone surrogate": ('{"item_id": "\\ud800"}', "InvalidItemId"),
    "origin_region": ('{"origin_region": "us-east-1"}', "ReservedAttribute"),
    "updated_at": ('{"updated_at": "2020-01-01T00:00:00.000Z"}', "ReservedAttribute"),
    "served_by": ('{"served_by": "x"}', "ReservedAttribute"),
    "39 significant digits": ('{"n": 123456789012345678901234567890123456789}', "InvalidAttribute"),
    "39 digits after the point": ('{"n": 0.123456789012345678901234567890123456789}', "InvalidAttribute"),
    "too large a number": ('{"n": 1E+126}', "InvalidAttribute"),
    "too small a number": ('{"n": -1E-131}', "InvalidAttribute"),
    "number in a list": ('{"l": [1, 2, 1e400]}', "InvalidAttribute"),
    "empty attribute name": ('{"": 1}', "InvalidAttribute"),
    "empty nested name": ('{"m": {"": 1}}', "InvalidAttribute"),
    "nested 33 deep": ('{"d": ' + "[" * 33 + "]" * 33 + "}", "InvalidAttribute"),
    "lone surrogate value": ('{"s": "\\udc00"}', "InvalidAttribute"),
    "lone surrogate name": ('{"\\ud800": 1}', "InvalidAttribute"),
}


@pytest.mark.parametrize("body, code", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_create_body_is_400(table, ddb, event, body, code):
    error = assert_error(items.create_item(event("post_item", body=body), None), 400, code)

    assert error["request_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert ddb.scan(TableName=table)["Count"] == 0


def test_400_message_names_the_bad_attribute(table, event):
    body = '{"outer": {"list": [0, {"n": 1E+200}]}}'
    error = assert_error(items.create_item(event("post_item", body=body), None), 400, "InvalidAttribute")

    assert error["message"].startswith("attribute outer.list[1].n:")


def test_32_levels_of_nesting_are_accepted(table, event):
    body = '{"d": ' + "[" * 32 + "]" * 32 + "}"
    assert items.create_item(event("post_item", body=body), None)["statusCode"] == 201


@pytest.mark.parametrize(
    "body",
    ["not base64!", "eyJ", "////"],  # bad alphabet, bad padding, not UTF-8 once decoded
)
def test_bad_base64_body_is_400(table, event, body):
    request = event("post_item", body=body)
    request["isBase64Encoded"] = True

    assert_error(items.create_item(request, None), 400, "InvalidBody")


BAD_PATH_IDS = {
    "empty": "",
    "control character": "a\x00b",
    "tab": "a\tb",
    "over 1024 bytes": "x" * 1025,
    "lone surrogate": "\udfff",
    "decomposed (NFD)": "cafe\u0301",
    "right-to-left override": "invoice\u202egnp.exe",
    "zero-width space": "a\u200bb",
}


@pytest.mark.parametrize("handler", [items.get_item, items.delete_item], ids=["get", "delete"])
@pytest.mark.parametrize("item_id", BAD_PATH_IDS.values(), ids=BAD_PATH_IDS.keys())
def test_bad_path_id_is_400(table, event, handler, item_id):
    assert_error(handler(event("get_item", item_id=item_id), None), 400, "InvalidItemId")


UNICODE_RULES = {
    "decomposed e-acute": ("cafe\u0301", "item_id must be in Unicode normalization form NFC"),
    "Angstrom sign": ("\u212b", "item_id must be in Unicode normalization form NFC"),
    "right-to-left override": (
        "invoice\u202egnp.exe",
        "item_id must not contain Unicode format characters (category Cf): U+202E at position 7",
    ),
    "zero-width joiner": (
        "é\u200d",
        "item_id must not contain Unicode format characters (category Cf): U+200D at position 1",
    ),
    "byte order mark": (
        "\ufeffé",
        "item_id must not contain Unicode format characters (category Cf): U+FEFF at position 0",
    ),
}


def test_the_health_sentinel_can_be_neither_read_nor_written_nor_deleted(healthy_table, ddb, event):
    """Deleting it would take the region out of DNS; overwriting it would hide a broken read."""
    message = f"item_id {HEALTH_SENTINEL_ID!r} is reserved for the health check"
    responses = [
        items.create_item(event("post_item", body={PARTITION_KEY: HEALTH_SENTINEL_ID, "x": 1}), None),
        items.get_item(event("get_item", item_id=HEALTH_SENTINEL_ID), None),
        items.delete_item(event("delete_item", item_id=HEALTH_SENTINEL_ID), None),
    ]

    for response in responses:
        assert assert_error(response, 400, "InvalidItemId")["message"] == message
    stored = ddb.get_item(TableName=healthy_table, Key={PARTITION_KEY: {"S": HEALTH_SENTINEL_ID}})["Item"]
    assert "x" not in stored


@pytest.mark.parametrize("item_id, message", UNICODE_RULES.values(), ids=UNICODE_RULES.keys())
def test_id_rule_broken_is_named_in_the_message(table, ddb, event, item_id, message):
    created = items.create_item(event("post_item", body={PARTITION_KEY: item_id}), None)
    got = items.get_item(event("get_item", item_id=item_id), None)

    for response in (created, got):
        assert assert_error(response, 400, "InvalidItemId")["message"] == message
    assert ddb.scan(TableName=table)["Count"] == 0


@pytest.mark.parametrize(
    "item_id",
    ["caf\u00e9", "\u00c5ngstr\u00f6m", "\u05e9\u05dc\u05d5\u05dd", "\U0001f600", "\uac00"],
    ids=["latin", "nordic", "hebrew", "emoji", "hangul"],  # ASCII ids: mutmut passes them back to pytest
)
def test_nfc_ids_without_format_characters_are_accepted(table, event, item_id):
    created = items.create_item(event("post_item", body={PARTITION_KEY: item_id}), None)

    assert created["statusCode"] == 201
    assert json.loads(items.get_item(event("get_item", item_id=item_id), None)["body"])[PARTITION_KEY] == item_id


@pytest.mark.parametrize("handler", [items.get_item, items.delete_item], ids=["get", "delete"])
def test_missing_path_parameter_is_400(table, event, handler):
    assert_error(handler(event("get_item", item_id=None), None), 400, "MissingPathParameter")


def test_event_that_is_not_an_object_is_400(table):
    error = assert_error(items.get_item("GET /items/1", None), 400, "InvalidEvent")

    assert error["message"] == "not an API Gateway proxy event"


# --- 413 -----------------------------------------------------------------------------


def test_item_over_400_kb_is_413_and_not_written(table, ddb, event):
    response = items.create_item(event("post_item", body={PARTITION_KEY: "big", "s": "x" * 410_000}), None)

    assert_error(response, 413, "ItemTooLarge")
    assert ddb.scan(TableName=table)["Count"] == 0


def test_size_counts_utf8_bytes_not_characters(table, event):
    body = {PARTITION_KEY: "big", "s": "€" * 140_000}  # 140,000 characters, 420,000 bytes
    assert_error(items.create_item(event("post_item", body=body), None), 413, "ItemTooLarge")


def test_item_just_under_the_limit_is_stored(table, event):
    body = {PARTITION_KEY: "almost", "s": "x" * 400_000}
    assert items.create_item(event("post_item", body=body), None)["statusCode"] == 201


def test_a_body_of_empty_strings_over_the_limit_is_413_without_calling_dynamodb(table, event):
    """1.2 MB of JSON, 409,601 bytes to DynamoDB: refused before any call (the stubber has no
    answer queued, so a call would be a 500), not sent to a store that takes seconds to say no."""
    server_set = {"origin_region": "eu-west-1", "updated_at": "2026-11-27T09:00:00.123Z"}
    overhead = _store.to_attribute_values({PARTITION_KEY: "e", "l": [], **server_set})[1]
    body = json.dumps({PARTITION_KEY: "e", "l": [""] * (409_601 - overhead)}, separators=(",", ":"))
    assert len(body) <= schema.MAX_BODY_BYTES  # so it is the item size that refuses it

    with Stubber(_aws.table().client):
        assert_error(items.create_item(event("post_item", body=body), None), 413, "ItemTooLarge")


def _stub_put_error(code):
    stubber = Stubber(_aws.table().client)
    stubber.add_client_error("put_item", service_error_code=code, http_status_code=400)
    return stubber


def test_dynamodb_size_rejection_is_413(table, ddb, event):
    # Under our bound (409,600) but over moto's stricter 405,000: DynamoDB (moto) itself
    # refuses the item with a ValidationException.
    body = {PARTITION_KEY: "big", "s": "x" * 405_000}
    assert_error(items.create_item(event("post_item", body=body), None), 413, "ItemTooLarge")
    assert ddb.scan(TableName=table)["Count"] == 0


def test_other_dynamodb_validation_error_is_400(table, event):
    with _stub_put_error("ValidationException"):
        assert_error(items.create_item(event("post_item"), None), 400, "InvalidItem")


# --- 503 -----------------------------------------------------------------------------

THROTTLING = ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"]
OPERATIONS = [
    (items.create_item, "put_item", "post_item"),
    (items.get_item, "get_item", "get_item"),
    (items.delete_item, "delete_item", "delete_item"),
]


@pytest.mark.parametrize("code", THROTTLING)
@pytest.mark.parametrize("handler, operation, fixture", OPERATIONS, ids=["create", "get", "delete"])
def test_throttling_is_503_with_retry_after(table, event, code, handler, operation, fixture):
    stubber = Stubber(_aws.table().client)
    stubber.add_client_error(operation, service_error_code=code, http_status_code=400)
    with stubber:
        response = handler(event(fixture), None)

    assert_error(response, 503, "Throttled")
    assert int(response["headers"]["Retry-After"]) > 0


def test_missing_table_is_503(moto_aws, event):
    response = items.get_item(event("get_item"), None)

    assert_error(response, 503, "StoreUnavailable")
    assert "Retry-After" in response["headers"]


@pytest.mark.parametrize("handler, fixture", [(items.create_item, "post_item"), (items.get_item, "get_item")])
def test_unreachable_dynamodb_is_503(aws_env, monkeypatch, closed_port, event, handler, fixture):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port}")

    response = handler(event(fixture), None)

    assert_error(response, 503, "StoreUnreachable")
    assert "Retry-After" in response["headers"]


# --- 500 -----------------------------------------------------------------------------


def test_unexpected_aws_error_is_500_with_request_id_and_no_detail(table, event, capsys):
    stubber = Stubber(_aws.table().client)
    stubber.add_client_error(
        "get_item", service_error_code="AccessDeniedException", service_message="not allowed: arn:secret"
    )
    with stubber:
        response = items.get_item(event("get_item"), None)

    error = assert_error(response, 500, "InternalError")
    assert error["request_id"] == "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
    assert "Traceback" not in response["body"] and "secret" not in response["body"]
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert logged[-1]["level"] == "ERROR"
    assert "AccessDeniedException" in logged[-1]["exception"]  # the detail goes to the log
    assert_unexpected_error_line(logged[-1], "GET /items/{item_id}", "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")


def assert_unexpected_error_line(line, route, request_id):
    assert line["level"] == "ERROR" and line["message"] == "unexpected error"
    assert line["route"] == route and line["request_id"] == request_id
    assert line["status"] == 500 and line["error_code"] == "InternalError"


def test_missing_configuration_is_500(table, event, monkeypatch, capsys):
    monkeypatch.delenv("TABLE_NAME")

    error = assert_error(items.create_item(event("post_item"), None), 500, "InternalError")

    assert error["request_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert_unexpected_error_line(line, "POST /items", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef")
    assert "TABLE_NAME is not set" in line["exception"]


def test_request_id_falls_back_to_the_lambda_context(table, monkeypatch, event):
    monkeypatch.delenv("TABLE_NAME")
    request = event("get_item")
    del request["requestContext"]

    class Context:
        aws_request_id = "lambda-req-1"

    assert assert_error(items.get_item(request, Context()), 500, "InternalError")["request_id"] == "lambda-req-1"


# --- logging -------------------------------------------------------------------------


def test_one_json_log_line_per_request_without_the_body(table, event, capsys):
    secret = "s3cr3t-card-number"
    items.create_item(event("post_item", body={PARTITION_KEY: "log", "card": secret}), None)
    items.get_item(event("get_item", item_id="missing"), None)

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO" and first["message"] == "request"
    assert first["request_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert first["route"] == "POST /items" and first["status"] == 201
    assert isinstance(first["duration_ms"], float) and 0 < first["duration_ms"] < 60_000
    assert second["status"] == 404 and second["error_code"] == "NotFound"
    assert secret not in "".join(lines)


# --- the same client across "regions" in one process --------------------------------


def test_region_switch_uses_that_regions_table(ddb, event, monkeypatch, parse):
    import boto3

    from functions.schema import PARTITION_KEY_TYPE

    for region in ("eu-west-1", "us-east-1"):
        boto3.client("dynamodb", region_name=region).create_table(
            TableName="items-test-items",
            KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": PARTITION_KEY, "AttributeType": PARTITION_KEY_TYPE}],
            BillingMode="PAY_PER_REQUEST",
        )
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert parse(items.create_item(event("post_item"), None))["origin_region"] == "us-east-1"

    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert items.get_item(event("get_item"), None)["statusCode"] == 404
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert parse(items.get_item(event("get_item"), None))["served_by"] == "us-east-1"


# --- exact answers for DynamoDB's failures ----------------------------------------------

FAILURES = {
    # code: (status, error code, message, Retry-After)
    "ThrottlingException": (503, "Throttled", "DynamoDB is throttling requests; retry later", "1"),
    "InternalServerError": (503, "StoreUnavailable", "the item store is unavailable in this region", "5"),
    "ServiceUnavailable": (503, "StoreUnavailable", "the item store is unavailable in this region", "5"),
    "ResourceNotFoundException": (503, "StoreUnavailable", "the item store is unavailable in this region", "5"),
}


@pytest.mark.parametrize("aws_code", FAILURES, ids=FAILURES.keys())
@pytest.mark.parametrize("handler, operation, fixture", OPERATIONS, ids=["create", "get", "delete"])
def test_dynamodb_failures_get_exact_answers(table, event, aws_code, handler, operation, fixture):
    status, code, message, retry_after = FAILURES[aws_code]
    stubber = Stubber(_aws.table().client)
    stubber.add_client_error(operation, service_error_code=aws_code, http_status_code=500)
    with stubber:
        response = handler(event(fixture), None)

    assert assert_error(response, status, code)["message"] == message
    assert response["headers"]["Retry-After"] == retry_after


def test_unreachable_dynamodb_has_an_exact_answer(aws_env, monkeypatch, closed_port, event):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port}")

    response = items.get_item(event("get_item"), None)

    assert assert_error(response, 503, "StoreUnreachable")["message"] == "the item store did not answer in time"
    assert response["headers"]["Retry-After"] == "5"


def test_a_client_error_without_a_code_is_500(table, event):
    stubber = Stubber(_aws.table().client)
    stubber.add_client_error("get_item", service_error_code="", http_status_code=500)
    with stubber:
        error = assert_error(items.get_item(event("get_item"), None), 500, "InternalError")

    assert error["message"] == "internal error"


def test_errors_without_retry_after_have_no_such_header(table, event):
    response = items.get_item(event("get_item", item_id="missing"), None)

    assert set(response["headers"]) == {"Content-Type"}
    assert response["isBase64Encoded"] is False


BODY_MESSAGES = {
    "no body": (None, "MissingBody", "a JSON body is required"),
    "not text": (["a list"], "InvalidBody", "the body must be text"),
    "NaN": ('{"a": NaN}', "InvalidJson", "the body is not valid JSON: NaN is not a JSON number"),
}


@pytest.mark.parametrize("body, code, message", BODY_MESSAGES.values(), ids=BODY_MESSAGES.keys())
def test_body_errors_say_what_is_wrong(table, event, body, code, message):
    request = event("post_item")
    request["body"] = body

    assert assert_error(items.create_item(request, None), 400, code)["message"] == message


def test_bad_base64_says_so(table, event):
    request = event("post_item", body="not base64!")
    request["isBase64Encoded"] = True

    error = assert_error(items.create_item(request, None), 400, "InvalidBody")
    assert error["message"] == "the body is not valid base64-encoded UTF-8"


def test_base64_with_characters_outside_the_alphabet_is_refused(table, event):
    request = event("post_item", body=base64.b64encode(b'{"a": 1}').decode() + "!!")
    request["isBase64Encoded"] = True

    assert_error(items.create_item(request, None), 400, "InvalidBody")


def test_request_id_is_unknown_without_any(table, event):
    request = event("get_item", item_id="missing")
    del request["requestContext"]

    assert assert_error(items.get_item(request, None), 404, "NotFound")["request_id"] == "unknown"
