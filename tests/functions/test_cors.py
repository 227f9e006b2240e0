"""The handlers' CORS headers: the request's Origin echoed only when it is one of the
deployed CORS_ORIGINS, on every answer including errors; nothing when CORS is off."""

from __future__ import annotations

import json

import pytest
from _events import add_header, load

from functions import items


def event(origin: str | None, item_id: str = "missing") -> dict:
    """GET /items/{item_id} as API Gateway sends it (tests/functions/events/get_item.json):
    a header sent once is in ``headers`` and in ``multiValueHeaders``."""
    request = load("get_item")
    request["pathParameters"] = {"item_id": item_id}
    if origin:
        add_header(request, "Origin", origin)
    return request


@pytest.fixture()
def cors(monkeypatch):
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example.com,https://b.example.com")


@pytest.mark.parametrize("origin", ["https://a.example.com", "https://b.example.com"])
def test_an_allowed_origin_is_echoed_on_errors_too(cors, origin):
    answer = items.get_item(event(origin, item_id=""))  # 400: an empty id
    assert answer["statusCode"] == 400
    assert answer["headers"]["Access-Control-Allow-Origin"] == origin
    assert answer["headers"]["Vary"] == "Origin"
    assert "Location" in answer["headers"]["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("origin", [None, "https://evil.example.com", "https://a.example.com.evil.com", "null"])
def test_other_origins_get_no_allow_origin(cors, origin):
    headers = items.get_item(event(origin, item_id=""))["headers"]
    assert "Access-Control-Allow-Origin" not in headers and headers["Vary"] == "Origin"


def test_without_cors_origins_there_are_no_cors_headers(monkeypatch):
    monkeypatch.delenv("CORS_ORIGINS", raising=False)
    answer = items.get_item(event("https://a.example.com", item_id=""))
    assert not {"Access-Control-Allow-Origin", "Vary"} & set(answer["headers"])
    assert json.loads(answer["body"])["error"]["code"] == "InvalidItemId"


def test_an_allowed_origin_is_echoed_on_internal_errors(cors, monkeypatch):
    """A browser can read a 500 only with CORS headers: an unexpected exception still gets them."""
    monkeypatch.delenv("TABLE_NAME", raising=False)  # the handler fails reading its configuration
    answer = items.get_item(event("https://a.example.com", item_id="x"))
    assert answer["statusCode"] == 500
    assert answer["headers"]["Access-Control-Allow-Origin"] == "https://a.example.com"


def test_an_allowed_origin_is_echoed_on_unexpected_aws_errors(cors, table):
    from botocore.stub import Stubber

    from functions import _aws

    stubber = Stubber(_aws.table().client)
    stubber.add_client_error("get_item", service_error_code="AccessDeniedException")
    with stubber:
        answer = items.get_item(event("https://b.example.com", item_id="x"))
    assert answer["statusCode"] == 500
    assert answer["headers"]["Access-Control-Allow-Origin"] == "https://b.example.com"


@pytest.mark.parametrize("not_an_event", [None, [], "GET /items/x"])
def test_an_event_that_is_not_an_object_gets_an_error_and_no_allow_origin(cors, not_an_event):
    answer = items.get_item(not_an_event)
    assert 400 <= answer["statusCode"] < 600
    assert "Access-Control-Allow-Origin" not in answer["headers"] and answer["headers"]["Vary"] == "Origin"
