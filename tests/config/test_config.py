"""Every bad input is rejected with a message naming the field, the value and what was
expected; good files load into the typed config."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modules.config.loader import load_environment, load_environments, parse_environment
from modules.config.schema import ConfigError

PROJECT_DIR = Path(__file__).resolve().parents[2]

GOOD = {
    "project": "items",
    "regions": ["eu-west-1", "eu-central-1"],
    "allowed_account_ids": ["123456789012"],
    "domain": {"zone_name": "example.com", "record_name": "api.example.com"},
    "auth": {"issuer": "https://auth.example.com/", "audience": "items"},
}


def parse(raw, environment="test"):
    return parse_environment(raw, environment=environment, source="test.toml")


def with_(path: str, value):
    """GOOD with one dotted key set (a value of ... deletes it)."""
    raw = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = raw
    for p in parents:
        node = node.setdefault(p, {})
    if value is ...:
        node.pop(last, None)
    else:
        node[last] = value
    return raw


def test_good_minimal_file_gets_documented_defaults():
    c = parse(GOOD)
    assert c.regions == ("eu-west-1", "eu-central-1") and c.primary_region == "eu-west-1"
    assert c.routing.mode == "latency"
    assert (c.health_check.interval, c.health_check.failure_threshold, c.health_check.path) == (30, 3, "/health")
    assert (c.lambda_.runtime, c.lambda_.architecture, c.lambda_.memory, c.lambda_.timeout) == (
        "python3.12",
        "arm64",
        256,
        10,
    )
    assert c.lambda_.reserved_concurrency is None and c.lambda_.log_retention_days == 30
    assert (c.api.stage, c.api.throttle_rate_limit, c.api.throttle_burst_limit) == ("v1", 100.0, 200)
    assert (
        c.table.encryption == "customer_managed" and c.table.point_in_time_recovery and not c.table.deletion_protection
    )
    assert c.state.backend == "local" and c.state.path == "state/backend-test.tfstate"
    assert c.stack_name == "backend-test" and not c.emulator


def test_primary_region_moves_to_the_front():
    c = parse(with_("primary_region", "eu-central-1"))
    assert c.regions == ("eu-central-1", "eu-west-1")


def test_project_environment_files_load(environment_configs):
    assert set(environment_configs) >= {"dev", "staging", "prod"}
    assert environment_configs["dev"].regions == ("eu-west-1", "eu-central-1")
    prod = environment_configs["prod"]
    assert len(prod.regions) == 3 and prod.table.deletion_protection and prod.alarms.email


BAD = [
    # (description, raw, expected fragments of the message)
    (
        "typo in a top-level key",
        with_("regoins", ["eu-west-1"]),
        ['regoins: "regoins" is not a known key', "did you mean 'regions'"],
    ),
    (
        "typo in a section key",
        with_("lambda.memroy", 512),
        ['lambda.memroy: "memroy" is not a known key', "did you mean 'memory'"],
    ),
    ("unknown section", with_("databse", {"x": 1}), ['databse: "databse" is not a known key']),
    (
        "not an AWS region",
        with_("regions", ["eu-west-9", "eu-west-1"]),
        ['regions: "eu-west-9" is not an AWS region', "expected e.g."],
    ),
    (
        "one region",
        with_("regions", ["eu-west-1"]),
        ["regions: ['eu-west-1'] has fewer than two regions", "expected at least two"],
    ),
    ("no regions key", with_("regions", ...), ["regions: (not set) is missing", "expected a list"]),
    (
        "duplicate region",
        with_("regions", ["eu-west-1", "eu-west-1", "eu-central-1"]),
        ['regions: "eu-west-1" is listed twice', "expected each region once"],
    ),
    (
        "primary outside the list",
        with_("primary_region", "us-east-1"),
        ['primary_region: "us-east-1" is not one of regions', "expected one of: eu-west-1, eu-central-1"],
    ),
    ("regions not a list", with_("regions", "eu-west-1"), ['regions: "eu-west-1" is a string', "expected a list"]),
    (
        "malformed zone",
        with_("domain.zone_name", "example..com"),
        ['domain.zone_name: "example..com" is not a valid domain name'],
    ),
    (
        "upper-case record",
        with_("domain.record_name", "API.example.com"),
        ['domain.record_name: "API.example.com" is not a valid domain name'],
    ),
    (
        "trailing dot",
        with_("domain.zone_name", "example.com."),
        ['domain.zone_name: "example.com." is not a valid domain name'],
    ),
    (
        "record outside zone",
        with_("domain.record_name", "api.example.org"),
        ['domain.record_name: "api.example.org" is not inside the zone', 'ending in ".example.com"'],
    ),
    (
        "unknown routing mode",
        with_("routing.mode", "geo"),
        ['routing.mode: "geo" is not allowed', "expected one of: latency, failover, weighted, traffic-policy"],
    ),
    (
        "weighted without weights",
        with_("routing", {"mode": "weighted"}),
        ["routing.weights: {} has no weight for eu-west-1, eu-central-1"],
    ),
    (
        "weighted with a missing weight",
        with_("routing", {"mode": "weighted", "weights": {"eu-west-1": 10}}),
        ["has no weight for eu-central-1"],
    ),
    (
        "zero weight",
        with_("routing", {"mode": "weighted", "weights": {"eu-west-1": 0, "eu-central-1": 5}}),
        ["routing.weights.eu-west-1: 0 is not a positive weight", "1 to 255"],
    ),
    (
        "negative weight",
        with_("routing", {"mode": "weighted", "weights": {"eu-west-1": -3, "eu-central-1": 5}}),
        ["routing.weights.eu-west-1: -3 is not a positive weight"],
    ),
    (
        "weight for another region",
        with_("routing", {"mode": "weighted", "weights": {"eu-west-1": 1, "eu-central-1": 1, "us-east-1": 1}}),
        ['routing.weights.us-east-1: "us-east-1" is not one of regions'],
    ),
    (
        "weights without weighted mode",
        with_("routing", {"mode": "latency", "weights": {"eu-west-1": 1}}),
        ["routing.weights", 'only used with mode = "weighted"'],
    ),
    (
        "failover with three regions",
        {**with_("routing.mode", "failover"), "regions": ["eu-west-1", "eu-central-1", "us-east-1"]},
        ['routing.mode: "failover" needs exactly two regions (got 3'],
    ),
    (
        "health check interval",
        with_("health_check.interval", 20),
        ["health_check.interval: 20 is not allowed", "expected one of: 10, 30"],
    ),
    (
        "failure threshold out of range",
        with_("health_check.failure_threshold", 11),
        ["health_check.failure_threshold: 11 is out of range (expected 1 to 10)"],
    ),
    (
        "health path",
        with_("health_check.path", "health"),
        ['health_check.path: "health" is not the path of the health route'],
    ),
    ("memory too small", with_("lambda.memory", 64), ["lambda.memory: 64 is out of range (expected 128 to 10240)"]),
    (
        "timeout over API Gateway's",
        with_("lambda.timeout", 60),
        ["lambda.timeout: 60 is out of range (expected 1 to 29)"],
    ),
    ("timeout as boolean", with_("lambda.timeout", True), ["lambda.timeout: true is a boolean (expected an integer)"]),
    ("memory as string", with_("lambda.memory", "512"), ['lambda.memory: "512" is a string (expected an integer)']),
    ("unknown runtime", with_("lambda.runtime", "python2.7"), ['lambda.runtime: "python2.7" is not allowed']),
    (
        "unknown architecture",
        with_("lambda.architecture", "arm"),
        ['lambda.architecture: "arm" is not allowed', "arm64, x86_64"],
    ),
    (
        "reserved concurrency zero",
        with_("lambda.reserved_concurrency", 0),
        ["lambda.reserved_concurrency: 0 is out of range (expected 1 to 10000)"],
    ),
    (
        "log retention not offered",
        with_("lambda.log_retention_days", 10),
        ["lambda.log_retention_days: 10 is not allowed"],
    ),
    ("stage name", with_("api.stage", "v 1"), ['api.stage: "v 1" is not a valid stage name']),
    ("throttle rate zero", with_("api.throttle_rate_limit", 0), ["api.throttle_rate_limit: 0 is out of range"]),
    (
        "burst too high",
        with_("api.throttle_burst_limit", 99999),
        ["api.throttle_burst_limit: 99999 is out of range (expected 1 to 5000)"],
    ),
    (
        "table encryption",
        with_("table.encryption", "none"),
        ['table.encryption: "none" is not allowed', "customer_managed, aws_managed, aws_owned"],
    ),
    (
        "deletion protection as string",
        with_("table.deletion_protection", "yes"),
        ['table.deletion_protection: "yes" is a string (expected a boolean)'],
    ),
    ("bad email", with_("alarms.email", "oncall"), ['alarms.email: "oncall" is not an email address']),
    (
        "two checker regions",
        with_("health_check.regions", ["us-east-1", "eu-west-1"]),
        ["health_check.regions:", "is not 3 regions"],
    ),
    (
        "no checkers there",
        with_("health_check.regions", ["us-east-1", "eu-west-1", "eu-central-1"]),
        ['"eu-central-1" is not allowed', "sa-east-1"],
    ),
    (
        "unknown backend",
        with_("state.backend", "gcs"),
        ['state.backend: "gcs" is not allowed', "expected one of: local, s3, cloud"],
    ),
    (
        "s3 without bucket",
        with_("state", {"backend": "s3", "region": "eu-west-1"}),
        ["state.bucket: (not set) is missing"],
    ),
    (
        "s3 bad region",
        with_("state", {"backend": "s3", "bucket": "my-state", "region": "mars-1"}),
        ['state.region: "mars-1" is not an AWS region'],
    ),
    (
        "key of another backend",
        with_("state", {"backend": "local", "bucket": "x"}),
        ['state.bucket: "bucket" is not a known key'],
    ),
    (
        "local path escaping the project",
        with_("state.path", "../elsewhere.tfstate"),
        ['state.path: "../elsewhere.tfstate" is not a path inside the project'],
    ),
    ("cloud without organization", with_("state", {"backend": "cloud"}), ["state.organization: (not set) is missing"]),
    (
        "account id",
        with_("allowed_account_ids", ["1234"]),
        ['allowed_account_ids: "1234" is not an AWS account id', "12 digits"],
    ),
    ("aws: tag", with_("tags", {"aws:owner": "me"}), ['tags.aws:owner: "aws:owner" is not a valid tag key']),
    ("project name", with_("project", "Items_API"), ['project: "Items_API" is not a valid name']),
    ("emulator not boolean", with_("emulator", "yes"), ['emulator: "yes" is a string (expected a boolean)']),
]


@pytest.mark.parametrize("raw,fragments", [(raw, frags) for _, raw, frags in BAD], ids=[d for d, _, _ in BAD])
def test_bad_input_is_rejected_with_field_value_and_expectation(raw, fragments):
    with pytest.raises(ConfigError) as err:
        parse(raw)
    message = str(err.value)
    assert message.startswith("test.toml: ")
    for fragment in fragments:
        assert fragment in message


def test_all_problems_are_reported_at_once():
    raw = with_("lambda.memory", 1)
    raw["regions"] = ["nowhere-1", "eu-west-1"]
    with pytest.raises(ConfigError) as err:
        parse(raw)
    assert len(str(err.value).splitlines()) == 2


def test_bad_environment_name(tmp_path):
    path = tmp_path / "Prod_EU.toml"
    path.write_text('project = "items"\nregions = ["eu-west-1", "eu-central-1"]\n')
    with pytest.raises(ConfigError, match=r'environment \(file name\): "Prod_EU" is not a valid name'):
        load_environment(path)


def test_invalid_toml_names_the_file(tmp_path):
    path = tmp_path / "dev.toml"
    path.write_text('project = "items\n')
    with pytest.raises(ConfigError, match=r"dev.toml: not valid TOML"):
        load_environment(path)


def test_unknown_environment_is_named(tmp_path):
    (tmp_path / "dev.toml").write_text('project = "items"\nregions = ["eu-west-1", "eu-central-1"]\n')
    with pytest.raises(ConfigError, match=r"environment .qa. not found in .* \(expected one of: dev\)"):
        load_environments(tmp_path, ["qa"])


def test_a_typo_file_exits_nonzero_fast_and_writes_nothing(tmp_path):
    envs = tmp_path / "environments"
    envs.mkdir()
    (envs / "dev.toml").write_text(
        'project = "items"\nregions = ["eu-west-1", "eu-central-1"]\nallowed_account_ids = ["111111111111"]\n'
    )
    (envs / "qa.toml").write_text(
        'project = "items"\nregions = ["eu-west-1", "eu-central-1"]\n[lambda]\nmemroy = 512\n'
    )
    outdir = tmp_path / "out"
    env = {**os.environ, "BACKEND_ENVIRONMENTS_DIR": str(envs), "CDKTF_OUTDIR": str(outdir)}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "main.py")], env=env, capture_output=True, text=True, timeout=60
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert "qa.toml: lambda.memroy" in result.stderr and "did you mean 'memory'" in result.stderr
    assert "nothing was synthesized" in result.stderr
    assert not outdir.exists()
    # Validation must not pay for cdktf or the provider binding (seconds); a Python start is ~0.1 s.
    assert elapsed < 3, f"took {elapsed:.1f}s: is cdktf imported before validation?"


def test_validation_does_not_import_cdktf():
    code = (
        f"import sys; sys.path.insert(0, {str(PROJECT_DIR)!r})\n"
        "from modules.config.loader import load_environments\n"
        "from pathlib import Path\n"
        f"load_environments(Path({str(PROJECT_DIR / 'environments')!r}))\n"
        "heavy = {'cdktf', 'jsii', 'cdktf_cdktf_provider_aws', 'constructs'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_protected_defaults_to_false_and_prod_is_protected():
    configs = {c.environment: c for c in load_environments(PROJECT_DIR / "environments")}
    assert configs["prod"].protected is True
    assert not [name for name, c in configs.items() if name != "prod" and c.protected]
    assert parse(GOOD).protected is False
    with pytest.raises(ConfigError, match=r'protected: "yes" is a string \(expected a boolean\)'):
        parse(with_("protected", "yes"))


# --- issue 19: runtimes near deprecation, WAF's log retention ---------------------------------


def test_a_runtime_aws_has_deprecated_is_refused_with_its_date():
    with pytest.raises(ConfigError) as err:
        parse(with_("lambda.runtime", "python3.11"))
    assert 'lambda.runtime: "python3.11" was deprecated by AWS Lambda on 2026-06-30' in str(err.value)
    assert "expected one of: python3.12, python3.13" in str(err.value)


def test_a_runtime_deprecated_within_six_months_is_refused_and_not_before():
    import datetime

    from modules.config.rules import runtime_refusal

    refusal = runtime_refusal("python3.12", datetime.date(2028, 5, 1))
    assert refusal and refusal.startswith("is deprecated by AWS Lambda on 2028-10-31, within 183 days of 2028-05-01")
    assert runtime_refusal("python3.12", datetime.date(2028, 4, 30)) is None
    assert runtime_refusal("python3.13", datetime.date(2028, 5, 1)) is None


def test_the_emulator_keeps_the_machines_runtime():
    """The local environment runs the handlers on this machine's Python, not on Lambda."""
    raw = with_("lambda.runtime", "python3.11")
    raw["emulator"] = True
    raw.pop("allowed_account_ids")
    raw["auth"] = {"audience": "items-local"}
    assert parse(raw).lambda_.runtime == "python3.11"


def test_wafs_log_retention_is_read_from_the_file():
    config = parse(with_("waf", {"enabled": True, "log_retention_days": 14}))
    assert (config.waf.enabled, config.waf.log_retention_days) == (True, 14)
