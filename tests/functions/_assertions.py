"""Assertions shared by the handler tests (imported as a plain module: tests/ has no packages)."""

import json


def assert_error(response, status, code):
    """The response is a JSON error with this status and code; returns the error object."""
    assert response["statusCode"] == status, response
    assert response["headers"]["Content-Type"] == "application/json"
    body = json.loads(response["body"])
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "request_id"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]
