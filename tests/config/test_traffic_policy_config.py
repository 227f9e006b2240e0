"""``[routing] mode = "traffic-policy"`` and its one option, ``failover_within_region``."""

from __future__ import annotations

import pytest

from modules.config.loader import parse_environment
from modules.config.schema import ConfigError

GOOD = {
    "project": "items",
    "regions": ["eu-west-1", "eu-central-1", "us-west-2"],
    "allowed_account_ids": ["123456789012"],
    "domain": {"zone_name": "example.com", "record_name": "api.example.com"},
    "auth": {"issuer": "https://auth.example.com/", "audience": "items"},
}


def parse(routing: dict):
    return parse_environment({**GOOD, "routing": routing}, environment="test", source="test.toml")


def test_traffic_policy_is_a_mode_over_any_number_of_regions():
    config = parse({"mode": "traffic-policy"})
    assert config.routing.mode == "traffic-policy"
    assert config.routing.failover_within_region is False


def test_failover_within_region_is_read_with_traffic_policy():
    assert parse({"mode": "traffic-policy", "failover_within_region": True}).routing.failover_within_region is True


@pytest.mark.parametrize("mode", ["latency", "failover", "weighted"])
def test_failover_within_region_is_refused_in_other_modes(mode):
    with pytest.raises(
        ConfigError, match=r'routing.failover_within_region: true is only used with mode = "traffic-policy"'
    ):
        parse({"mode": mode, "failover_within_region": True})


def test_failover_within_region_must_be_a_boolean():
    with pytest.raises(ConfigError, match=r'routing.failover_within_region: "yes" is a string \(expected a boolean\)'):
        parse({"mode": "traffic-policy", "failover_within_region": "yes"})


def test_weights_are_refused_with_traffic_policy():
    with pytest.raises(ConfigError, match=r'routing.weights: .* is only used with mode = "weighted"'):
        parse({"mode": "traffic-policy", "weights": {"eu-west-1": 1}})
