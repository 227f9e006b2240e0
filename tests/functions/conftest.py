"""Fixtures for the Lambda handler tests: a moto (in-process) table keyed by the shared
PARTITION_KEY, a clean AWS environment, and API Gateway events loaded from JSON fixtures."""

import base64
import json
import socket

import boto3
import pytest
from _events import load
from moto import mock_aws

from functions.schema import HEALTH_SENTINEL_ID, PARTITION_KEY, PARTITION_KEY_TYPE

REGION = "eu-west-1"
TABLE = "items-test-items"


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Fake credentials and region; no endpoint, profile or config file from the host."""
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "STATUS",
        "AWS_LAMBDA_LOG_LEVEL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("TABLE_NAME", TABLE)
    # Clients are cached by the handlers (and by _client below) across tests: moto
    # intercepts requests, not clients, and making a client costs ~0.1 s.


@pytest.fixture
def moto_aws(aws_env):
    with mock_aws():
        yield


_clients = {}


def client(region=REGION):
    """A low-level client (cached) for arranging and checking state in moto."""
    if region not in _clients:
        _clients[region] = boto3.client("dynamodb", region_name=region)
    return _clients[region]


@pytest.fixture
def ddb(moto_aws):
    return client()


@pytest.fixture
def table(ddb):
    """The items table as the infrastructure defines it (key from functions.schema)."""
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": PARTITION_KEY, "AttributeType": PARTITION_KEY_TYPE}],
        BillingMode="PAY_PER_REQUEST",
    )
    return TABLE


@pytest.fixture
def healthy_table(table, ddb):
    """The table of a healthy region: it holds the health check's sentinel, as Terraform
    writes it (and replication copies it)."""
    ddb.put_item(TableName=table, Item={PARTITION_KEY: {"S": HEALTH_SENTINEL_ID}, "purpose": {"S": "health check"}})
    return table


@pytest.fixture
def event():
    """``event(name, body=..., item_id=..., base64=False)``: a copy of a fixture event
    (tests/functions/events/; add headers with _events.add_header / set_header).

    ``body`` may be a JSON-able value (dumped), text or bytes (sent as is / base64);
    ``item_id`` sets the path parameter (and ``path``, URL-encoded as a client sends it).
    """
    from urllib.parse import quote

    missing = object()

    def make(name, *, body=missing, item_id=missing, base64_body=False):
        data = load(name)
        if body is not missing:
            if isinstance(body, bytes):
                base64_body = True
            elif not isinstance(body, str) and body is not None:
                body = json.dumps(body)
            if base64_body and body is not None:
                raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
                body = base64.b64encode(raw).decode("ascii")
                data["isBase64Encoded"] = True
            data["body"] = body
        if item_id is not missing:
            data["pathParameters"] = None if item_id is None else {"item_id": item_id}
            if isinstance(item_id, str):
                data["path"] = "/items/" + quote(item_id, safe="", errors="surrogatepass")
                data["requestContext"]["path"] = f"/{data['requestContext']['stage']}{data['path']}"
        return data

    return make


def body_of(response):
    from decimal import Decimal

    return json.loads(response["body"], parse_float=Decimal, parse_int=Decimal)


@pytest.fixture
def parse():
    """Parse a handler response body with numbers as Decimal."""
    return body_of


@pytest.fixture
def closed_port():
    """A 127.0.0.1 port nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_port():
    """A 127.0.0.1 port that accepts connections and never answers (read timeout)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()
