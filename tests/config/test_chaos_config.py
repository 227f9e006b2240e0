"""The optional [chaos] section: the steady-state thresholds every chaos experiment reads, and
FIS on AWS only; bad values are refused naming the key, the value and what was expected."""

from __future__ import annotations

import copy

import pytest

from modules.config.loader import parse_environment
from modules.config.schema import ConfigError

GOOD = {
    "project": "items",
    "regions": ["eu-west-1", "eu-central-1"],
    "allowed_account_ids": ["123456789012"],
    "domain": {"zone_name": "example.com", "record_name": "api.example.com"},
    "auth": {"issuer": "https://auth.example.com/", "audience": "items"},
}


def parse(chaos: dict | None, environment: str = "test", **top):
    raw = {**copy.deepcopy(GOOD), **top}
    if chaos is not None:
        raw["chaos"] = chaos
    return parse_environment(raw, environment=environment, source="test.toml")


def test_without_the_section_the_documented_defaults_apply():
    chaos = parse(None).chaos
    assert (chaos.max_error_rate, chaos.max_p99_ms, chaos.fis) == (0.01, 2000, False)
    assert (chaos.fis_duration_minutes, chaos.fis_lambda_error_percent, chaos.fis_lambda_delay_ms) == (5, 100, 300)


def test_the_section_sets_the_thresholds_and_fis():
    chaos = parse({"max_error_rate": 0.05, "max_p99_ms": 800, "fis": True, "fis_duration_minutes": 10}).chaos
    assert (chaos.max_error_rate, chaos.max_p99_ms, chaos.fis, chaos.fis_duration_minutes) == (0.05, 800, True, 10)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max_error_rate", 1.5, r"chaos.max_error_rate: 1.5 is out of range \(expected 0 to 1\)"),
        ("max_error_rate", "1%", r'chaos.max_error_rate: "1%" is a string \(expected an integer or number\)'),
        ("max_p99_ms", 0, r"chaos.max_p99_ms: 0 is out of range \(expected 1 to 60000\)"),
        ("fis", "yes", r'chaos.fis: "yes" is a string \(expected a boolean\)'),
        ("fis_duration_minutes", 120, r"chaos.fis_duration_minutes: 120 is out of range \(expected 1 to 60\)"),
        ("fis_lambda_error_percent", 0, r"chaos.fis_lambda_error_percent: 0 is out of range \(expected 1 to 100\)"),
        ("max_error", 0.1, r"chaos.max_error: \"max_error\" is not a known key \(did you mean 'max_error_rate'\?\)"),
    ],
)
def test_bad_values_name_the_key_the_value_and_the_expectation(key, value, message):
    with pytest.raises(ConfigError, match=message):
        parse({key: value})


def test_the_fis_extension_is_pinned_by_its_parameter_version():
    assert parse(None).chaos.fis_extension_version is None  # unpinned: the parameter's latest
    assert parse({"fis": True, "fis_extension_version": 7}).chaos.fis_extension_version == 7
    with pytest.raises(ConfigError, match=r"chaos.fis_extension_version: 0 is out of range \(expected 1 to 100000\)"):
        parse({"fis_extension_version": 0})


def test_fis_is_refused_in_an_emulator_environment():
    with pytest.raises(ConfigError, match=r"chaos.fis: true is not available with emulator = true \(expected false"):
        parse({"fis": True}, emulator=True)


def test_fis_buckets_must_fit_s3s_name_limit():
    long_project = "a-project-name-of-20"
    with pytest.raises(ConfigError, match=r"chaos.fis: true needs a bucket per region named .* \(expected at most 63"):
        parse({"fis": True}, "preproduction", project=long_project, regions=["ap-southeast-1", "eu-west-1"])
    assert parse({"fis": True}, regions=["ap-southeast-1", "eu-west-1"]).chaos.fis
