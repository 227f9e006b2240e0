"""The local API server: HTTP requests become API Gateway proxy events for the real
handlers (moto in-process), and the smoke tool passes against it. Loopback only."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request

import boto3
import pytest
from moto import mock_aws

from functions.schema import PARTITION_KEY, PARTITION_KEY_TYPE
from tools import local_api, smoke

REGION = "eu-west-1"
TABLE = "items-test-items"


@pytest.fixture
def server(monkeypatch, tmp_path):
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "STATUS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("TABLE_NAME", TABLE)
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": PARTITION_KEY, "AttributeType": PARTITION_KEY_TYPE}],
            BillingMode="PAY_PER_REQUEST",
        )
        httpd = local_api.make_server(REGION, "v1", 0)
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        finally:
            httpd.shutdown()
            httpd.server_close()


def test_smoke_passes_against_the_local_api(server):
    checks = smoke.smoke({REGION: server})
    assert [c.name for c in checks] == ["health", "create", "get", "delete", "get after delete"]
    assert all(c.ok for c in checks), smoke.format_checks(checks)


def test_path_parameters_are_decoded_like_api_gateway(server):
    created = smoke.request("POST", server + "/items", {"item_id": "a b/c"})
    assert created.status == 201
    assert created.headers["Location"] == "/items/a%20b%2Fc"
    got = smoke.request("GET", server + "/items/a%20b%2Fc")
    assert got.status == 200 and got.json()["item_id"] == "a b/c"


def test_unknown_routes_and_methods_answer_like_api_gateway(server):
    assert smoke.request("GET", server + "/nope").status == 403
    assert smoke.request("PUT", server + "/items").status == 403
    assert smoke.request("GET", server.replace("/v1", "/v2") + "/health").status == 403


def test_non_utf8_body_arrives_base64_encoded_and_is_rejected_cleanly(server):

    req = urllib.request.Request(server + "/items", data=b"\xff\xfe\x00", method="POST")
    try:
        urllib.request.urlopen(req, timeout=10)
        status = 200
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read()
    assert status == 400 and b'"error"' in body


def test_build_event_shape():
    route = next(r for r in local_api.compile_routes() if r.method == "GET" and "{item_id}" in r.resource)
    event = local_api.build_event(
        "GET", "/v1/items/x%2Fy?a=1&a=2", {"Host": "h"}, b"", "v1", route, {"item_id": "x%2Fy"}, "rid", "h"
    )
    assert event["resource"] == "/items/{item_id}" and event["path"] == "/items/x%2Fy"
    assert event["pathParameters"] == {"item_id": "x/y"}
    assert event["queryStringParameters"] == {"a": "2"} and event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["requestContext"]["requestId"] == "rid" and event["requestContext"]["stage"] == "v1"
    assert event["body"] is None and event["isBase64Encoded"] is False


def test_local_api_refuses_a_non_loopback_emulator():
    with pytest.raises(SystemExit):
        local_api.main(["--region", REGION, "--table", TABLE, "--endpoint", "http://10.0.0.1:5000"])
