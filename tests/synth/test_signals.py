"""Synth assertions for /health as a lever (issue 19, item 5): only Route53's checkers are
exempt from WAF's rate limit, /health has its own method throttle, and its reserved
concurrency and throttle follow from the checkers' rate; and for cost (item 7): WAF logs
only what it blocked or counted, for less long, per-method metrics are off unless asked, and
X-Ray records no /health request (docs/production-signals.md)."""

from __future__ import annotations

import fnmatch

import pytest

from modules.config.limits import (
    CHECKERS_PER_REGION,
    HEALTH_RESERVED_CONCURRENCY,
    HTTPS_CHECKS_PER_REGION,
    OPERATOR_HEALTH_PROBES,
)

ENVIRONMENTS = ["dev", "staging", "prod", "local", "weighted", "nodomain"]


def resources(doc: dict, rtype: str) -> dict[str, dict]:
    return doc.get("resource", {}).get(rtype, {})


@pytest.fixture(params=ENVIRONMENTS)
def env(request, synthesized, all_configs):
    return all_configs[request.param], synthesized[request.param]


def test_waf_exempts_only_route53_checkers_published_ranges(env):
    config, doc = env
    ip_sets = resources(doc, "aws_wafv2_ip_set")
    ranges = doc.get("data", {}).get("aws_ip_ranges", {})
    if not config.waf.enabled:
        assert ip_sets == {} and ranges == {}
        return
    assert len(ranges) == len(config.regions) and len(ip_sets) == len(config.regions)
    for region in config.regions:
        (range_id,) = [lid for lid in ranges if lid.startswith(f"{region}_")]
        source = ranges[range_id]
        assert source["services"] == ["route53_healthchecks"]
        assert source["regions"] == list(config.health_check.regions)
        (ip_set,) = [s for lid, s in ip_sets.items() if lid.startswith(f"{region}_")]
        assert ip_set["addresses"] == f"${{data.aws_ip_ranges.{range_id}.cidr_blocks}}"
        assert ip_set["scope"] == "REGIONAL" and ip_set["ip_address_version"] == "IPV4"
        assert ip_set["provider"] == source["provider"]


def test_health_has_its_own_method_throttle_sized_by_its_reservation(env):
    """Its throttle lets through what its reserved concurrency serves at the worst latency
    (1 s), so the checkers are never throttled by Lambda; a /health flood spends its own
    bucket, not the items'."""
    config, doc = env
    settings = resources(doc, "aws_api_gateway_method_settings").values()
    by_path: dict[str, list[dict]] = {}
    for setting in settings:
        by_path.setdefault(setting["method_path"], []).append(setting["settings"])
    assert set(by_path) == {"*/*", "health/GET"}
    assert len(by_path["health/GET"]) == len(config.regions)
    for health in by_path["health/GET"]:
        assert health["throttling_rate_limit"] == HEALTH_RESERVED_CONCURRENCY
        assert health["throttling_burst_limit"] == HEALTH_RESERVED_CONCURRENCY
    for default in by_path["*/*"]:
        assert default["throttling_rate_limit"] == config.api.throttle_rate_limit
    health_functions = [
        f for f in resources(doc, "aws_lambda_function").values() if f["handler"] == "functions.health.check"
    ]
    assert health_functions and all(f["reserved_concurrent_executions"] == 28 for f in health_functions)


def test_the_health_reservation_is_every_checker_of_every_https_check_plus_one_probe(synthesized, all_configs):
    """Each checker probes each of a region's HTTPS checks (one per signal check): the
    reservation holds all of them in flight at once, for the most HTTPS checks any region has."""
    for name, config in all_configs.items():
        https = [c for c in resources(synthesized[name], "aws_route53_health_check").values() if c["type"] == "HTTPS"]
        assert len(https) <= HTTPS_CHECKS_PER_REGION * len(config.regions), name
        checkers = len(config.health_check.regions) * CHECKERS_PER_REGION
        assert HEALTH_RESERVED_CONCURRENCY == checkers * HTTPS_CHECKS_PER_REGION + OPERATOR_HEALTH_PROBES == 28


def test_health_checks_probe_from_three_checker_regions(env):
    config, doc = env
    https = [c for c in resources(doc, "aws_route53_health_check").values() if c["type"] == "HTTPS"]
    assert len(https) == len(config.regions) * (2 if config.auth.public else 3)
    assert all(c["regions"] == ["us-east-1", "eu-west-1", "ap-southeast-1"] for c in https)


def test_waf_logs_only_blocked_and_counted_requests_for_its_own_retention(env):
    config, doc = env
    loggings = resources(doc, "aws_wafv2_web_acl_logging_configuration").values()
    assert len(loggings) == (len(config.regions) if config.waf.enabled else 0)
    for logging in loggings:
        (keep,) = logging["logging_filter"]["filter"]
        assert logging["logging_filter"]["default_behavior"] == "DROP"
        assert keep["behavior"] == "KEEP" and keep["requirement"] == "MEETS_ANY"
        assert [c["action_condition"]["action"] for c in keep["condition"]] == ["BLOCK", "COUNT"]
    groups = [g for g in resources(doc, "aws_cloudwatch_log_group").values() if g["name"].startswith("aws-waf-logs-")]
    assert all(g["retention_in_days"] == config.waf.log_retention_days for g in groups)
    if config.environment == "prod":
        assert config.waf.log_retention_days == 30 < config.lambda_.log_retention_days


def test_per_method_metrics_only_where_asked(env, all_configs):
    config, doc = env
    for setting in resources(doc, "aws_api_gateway_method_settings").values():
        assert setting["settings"]["metrics_enabled"] is config.api.detailed_metrics
    assert not any(c.api.detailed_metrics for c in all_configs.values())


def test_the_reserved_concurrency_skip_says_what_the_stacks_do(synthesized, all_configs):
    """CKV_AWS_115's reason (scan/checkov-skips.toml): outside production only the health
    function reserves concurrency, and it reserves HEALTH_RESERVED_CONCURRENCY."""
    import fnmatch
    import tomllib
    from pathlib import Path

    skips = tomllib.loads((Path(__file__).resolve().parents[2] / "scan" / "checkov-skips.toml").read_text())["skip"]
    (skip,) = [s for s in skips if s["id"] == "CKV_AWS_115" and s["resources"] == ["aws_lambda_function.*"]]
    assert f"health function reserves concurrency ({HEALTH_RESERVED_CONCURRENCY}" in " ".join(skip["reason"].split())
    for name, config in all_configs.items():
        if not any(fnmatch.fnmatch(config.stack_name, stack) for stack in skip["stacks"]):
            continue
        for function in resources(synthesized[name], "aws_lambda_function").values():
            health = function["handler"] == "functions.health.check"
            assert function.get("reserved_concurrent_executions") == (HEALTH_RESERVED_CONCURRENCY if health else None)


def test_a_late_certificate_renewal_is_alarmed_per_region(env):
    """A custom domain breaks when its certificate expires; ACM renews at 60 days left, so
    under 30 its renewal failed."""
    config, doc = env
    alarms = [a for a in resources(doc, "aws_cloudwatch_metric_alarm").values() if a["metric_name"] == "DaysToExpiry"]
    if config.domain is None:
        assert alarms == []
        return
    assert len(alarms) == len(config.regions) and all("-certificate-expiry-" in a["alarm_name"] for a in alarms)
    for alarm in alarms:
        region = next(r for r in config.regions if alarm["alarm_name"].endswith(f"-{r}"))
        assert alarm["dimensions"]["CertificateArn"].startswith(f"${{aws_api_gateway_domain_name.{region}_domain_")
        assert alarm["dimensions"]["CertificateArn"].endswith(".regional_certificate_arn}")
        assert (alarm["statistic"], alarm["threshold"], alarm["comparison_operator"]) == (
            "Minimum",
            30,
            "LessThanThreshold",
        )
        assert alarm["period"] == 86400 and alarm["alarm_actions"]


def test_an_xray_sampling_rule_per_region_records_no_health_requests(env):
    """Tracing is on in every region's stage; a rule evaluated before the default (10000)
    samples nothing of GET /health, whichever way it comes in. The emulator has no sampling
    rules (moto), so local has none."""
    config, doc = env
    rules = resources(doc, "aws_xray_sampling_rule")
    if config.emulator:
        assert rules == {}
        return
    assert sorted(lid.split("_", 1)[0] for lid in rules) == sorted(config.regions)
    for logical_id, rule in rules.items():
        region = logical_id.split("_", 1)[0]
        assert rule["provider"] == f"aws.{region.replace('-', '_')}"
        assert rule["fixed_rate"] == 0 and rule["reservoir_size"] == 0
        assert 1 <= rule["priority"] < 10000
        assert rule["rule_name"] == f"{config.project}-{config.environment}-health" and len(rule["rule_name"]) <= 32
        assert rule["service_type"] == "AWS::ApiGateway::Stage" and rule["http_method"] == "GET"
        assert rule["service_name"].startswith(f"${{aws_api_gateway_rest_api.{region}_api_rest_api_")
        assert rule["service_name"].endswith(f".name}}/{config.api.stage}")
        assert rule["host"] == "*" and rule["resource_arn"] == "*"
        health = config.health_check.path
        for path in (health, f"/{config.api.stage}{health}"):
            assert fnmatch.fnmatchcase(path, rule["url_path"]), path
        for path in ("/items", f"/{config.api.stage}/items/abc"):
            assert not fnmatch.fnmatchcase(path, rule["url_path"]), path
