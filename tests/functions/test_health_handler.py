"""GET /health: the real check (a consistent read of the sentinel item) against moto, the
STATUS override, and bounded failure."""

import json
import time

import pytest
from botocore.stub import Stubber

from functions import _aws, health
from functions.schema import HEALTH_SENTINEL_ID, PARTITION_KEY

SENTINEL_KEY = {PARTITION_KEY: {"S": HEALTH_SENTINEL_ID}}
SENTINEL_READ = {"TableName": "items-test-items", "Key": SENTINEL_KEY, "ConsistentRead": True}


def call(event):
    response = health.check(event("health"), None)
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def test_ok_when_the_table_answers(healthy_table, event):
    status, body = call(event)

    assert status == 200
    assert body["status"] == "ok" and body["region"] == "eu-west-1" and body["forced"] is False
    assert isinstance(body["latency_ms"], float) and 0 < body["latency_ms"] < 10_000


def test_503_when_the_table_is_missing(moto_aws, event):
    status, body = call(event)

    assert status == 503
    assert body == {
        "status": "unhealthy",
        "region": "eu-west-1",
        "reason": "the table does not exist in this region",
        "forced": False,
    }


def test_503_when_the_sentinel_is_missing(table, event):
    """A table that answers but lacks the item (not replicated yet, deleted): not healthy."""
    status, body = call(event)

    assert status == 503 and body["reason"] == "the health sentinel item is missing from this region's table"


def test_the_check_is_a_consistent_read_of_the_sentinel_only(healthy_table, event):
    stubber = Stubber(_aws.table("health").client)
    stubber.add_response("get_item", {"Item": SENTINEL_KEY}, SENTINEL_READ)
    with stubber:
        status, _ = call(event)
    stubber.assert_no_pending_responses()

    assert status == 200


def test_503_within_bounds_when_dynamodb_does_not_answer(aws_env, monkeypatch, silent_port, event):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent_port}")

    started = time.perf_counter()
    status, body = call(event)
    elapsed = time.perf_counter() - started

    assert status == 503 and body["reason"] == "DynamoDB is unreachable or did not answer in time"
    assert elapsed < 3  # 1 s read timeout, one attempt


def test_503_when_dynamodb_is_unreachable(aws_env, monkeypatch, closed_port, event):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port}")

    status, body = call(event)

    assert status == 503 and body["status"] == "unhealthy"


def test_503_when_table_name_is_not_configured(moto_aws, monkeypatch, event):
    monkeypatch.delenv("TABLE_NAME")

    status, body = call(event)

    assert status == 503 and body["reason"] == "TABLE_NAME is not set"


@pytest.mark.parametrize("forced", ["503", " 500 ", "429"])
def test_status_forces_an_unhealthy_answer_even_with_a_healthy_table(healthy_table, monkeypatch, event, forced):
    monkeypatch.setenv("STATUS", forced)

    status, body = call(event)

    assert status == int(forced)
    assert body["forced"] is True and body["status"] == "unhealthy"
    assert body["reason"] == f"forced by STATUS={int(forced)}"


def test_status_200_forces_healthy_without_asking_dynamodb(moto_aws, monkeypatch, event):
    monkeypatch.setenv("STATUS", "200")  # no table exists: the real check would say 503

    status, body = call(event)

    assert status == 200 and body == {"status": "ok", "region": "eu-west-1", "forced": True}


@pytest.mark.parametrize("value", ["abc", "5O3", "99", "600", "503.0", "-503", "٥٠٣"])
def test_invalid_status_is_ignored_with_a_warning(healthy_table, monkeypatch, event, capsys, value):
    monkeypatch.setenv("STATUS", value)

    status, body = call(event)

    assert status == 200 and body["forced"] is False
    warnings = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any(w["level"] == "WARN" and "STATUS" in w["message"] for w in warnings)


def test_empty_status_means_not_set(moto_aws, monkeypatch, event, capsys):
    monkeypatch.setenv("STATUS", "")

    status, _ = call(event)

    assert status == 503
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [entry["message"] for entry in logged] == ["request"]


# --- a region that cannot serve must leave DNS: every failure is a 503 ------------------


@pytest.mark.parametrize(
    "code", ["AccessDeniedException", "InternalServerError", "ServiceUnavailable", "UnrecognizedClientException"]
)
def test_503_when_dynamodb_answers_with_an_error(healthy_table, event, code):
    stubber = Stubber(_aws.table("health").client)
    stubber.add_client_error("get_item", service_error_code=code, http_status_code=500)
    with stubber:
        status, body = call(event)

    assert status == 503
    assert body == {
        "status": "unhealthy",
        "region": "eu-west-1",
        "reason": f"DynamoDB answered {code}",
        "forced": False,
    }


def test_503_when_dynamodb_answers_an_error_without_a_code(healthy_table, event):
    stubber = Stubber(_aws.table("health").client)
    stubber.add_client_error("get_item", service_error_code="", http_status_code=500)
    with stubber:
        status, body = call(event)

    assert status == 503 and body["reason"] == "DynamoDB answered an error"


def test_503_and_an_error_log_when_the_client_itself_fails(moto_aws, monkeypatch, event, capsys):
    # A region name botocore refuses (InvalidRegionError) before sending anything.
    monkeypatch.setenv("AWS_REGION", "eu west 1")

    status, body = call(event)

    assert status == 503 and body["reason"] == "DynamoDB client error (InvalidRegionError)"
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert logged[0]["level"] == "ERROR" and logged[0]["message"] == "health probe failed"
    assert "InvalidRegionError" in logged[0]["exception"]


def test_503_and_an_error_log_when_the_client_fails_unexpectedly(healthy_table, monkeypatch, event, capsys):
    def broken(**_):
        raise RuntimeError("boom")

    monkeypatch.setattr(_aws.table("health").client, "get_item", broken)  # botocore's client, not ours
    status, body = call(event)

    assert status == 503 and body["reason"] == "unexpected error (see the logs)"
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert logged[0]["level"] == "ERROR" and logged[0]["message"] == "health probe failed"
    assert "RuntimeError" in logged[0]["exception"]


# --- STATUS boundaries -----------------------------------------------------------------


@pytest.mark.parametrize("forced, healthy", [("200", True), ("399", True), ("400", False), ("599", False)])
def test_status_boundaries(moto_aws, monkeypatch, event, forced, healthy):
    monkeypatch.setenv("STATUS", forced)

    status, body = call(event)

    assert status == int(forced) and body["forced"] is True
    assert body["status"] == ("ok" if healthy else "unhealthy")
    assert ("reason" in body) is not healthy


def test_invalid_status_warning_says_what_was_ignored(healthy_table, monkeypatch, event, capsys):
    monkeypatch.setenv("STATUS", "x" * 30)

    call(event)

    warning = json.loads(capsys.readouterr().out.splitlines()[0])
    assert warning["level"] == "WARN"
    assert warning["message"] == "STATUS is not an HTTP status (200-599); ignoring it"
    assert warning["reason"] == "STATUS='" + "x" * 20 + "'"


def test_unset_status_means_the_real_check_without_a_warning(healthy_table, event, capsys):
    status, _ = call(event)

    assert status == 200
    assert [json.loads(line)["message"] for line in capsys.readouterr().out.splitlines()] == ["request"]


def test_region_is_null_when_unknown(moto_aws, monkeypatch, event):
    monkeypatch.setenv("STATUS", "503")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    status, body = call(event)

    assert status == 503 and body["region"] is None


def test_a_forced_500_is_logged_as_warn(moto_aws, monkeypatch, event, capsys):
    monkeypatch.setenv("STATUS", "500")

    status, _ = call(event)

    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert status == 500 and line["level"] == "WARN" and line["status"] == 500
