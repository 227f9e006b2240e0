"""The DynamoDB clients the handlers share: made once per (purpose, region, table,
endpoint), in this function's region, with the purpose's timeouts."""

import pytest

from functions import _aws


def test_the_same_table_object_is_reused(aws_env):
    assert _aws.table() is _aws.table()
    assert _aws.table("health") is _aws.table("health")
    assert _aws.table("health") is not _aws.table()


@pytest.fixture
def no_clients(monkeypatch):
    """Start without cached tables (other tests in this process may have made them)."""
    monkeypatch.setattr(_aws, "_tables", {})


def test_a_table_uses_the_functions_region_and_table_name(aws_env, no_clients, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # AWS_REGION wins
    monkeypatch.setenv("TABLE_NAME", "other-table")

    table = _aws.table()

    assert table.client.meta.region_name == "ap-southeast-2" and table.name == "other-table"


def test_the_first_client_is_made_without_a_session(aws_env, monkeypatch):
    monkeypatch.setattr(_aws, "_session", None)
    monkeypatch.setattr(_aws, "_tables", {})

    table = _aws.table()

    assert table.client.meta.region_name == "eu-west-1" and _aws._session is not None


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"])
def test_a_new_endpoint_gets_a_new_client(aws_env, no_clients, monkeypatch, variable):
    monkeypatch.setenv(variable, "http://127.0.0.1:1")
    first = _aws.table()
    monkeypatch.setenv(variable, "http://127.0.0.1:2")
    second = _aws.table()

    assert first is not second
    assert first.client.meta.endpoint_url == "http://127.0.0.1:1"
    assert second.client.meta.endpoint_url == "http://127.0.0.1:2"


def test_purposes_get_their_timeouts(aws_env, no_clients):
    api, health = _aws.table().client.meta.config, _aws.table("health").client.meta.config

    # total attempts, the first request included: one retry for the API, none for health
    assert (api.connect_timeout, api.read_timeout, api.retries["total_max_attempts"]) == (2, 2, 2)
    assert (health.connect_timeout, health.read_timeout, health.retries["total_max_attempts"]) == (1, 1, 1)


def test_region_falls_back_to_the_default_region(aws_env, monkeypatch):
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")

    assert _aws.region() == "sa-east-1"


def test_missing_settings_are_named(aws_env, monkeypatch):
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("TABLE_NAME")

    with pytest.raises(_aws.ConfigurationError, match="^AWS_REGION is not set$"):
        _aws.region()
    with pytest.raises(_aws.ConfigurationError, match="^TABLE_NAME is not set$"):
        _aws.table_name()
