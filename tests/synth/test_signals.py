"""Synth assertions for /health as a lever (issue 19, item 5): only Route53's checkers are
exempt from WAF's rate limit, /health has its own method throttle, and its reserved
concurrency and throttle follow from the checkers' rate (docs/production-signals.md)."""

from __future__ import annotations

import pytest

from modules.config.loader import CHECKERS_PER_REGION, HEALTH_RESERVED_CONCURRENCY, OPERATOR_HEALTH_PROBES

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
    assert health_functions and all(f["reserved_concurrent_executions"] == 10 for f in health_functions)


def test_the_health_reservation_is_the_checkers_plus_one_probe(all_configs):
    for config in all_configs.values():
        checkers = len(config.health_check.regions) * CHECKERS_PER_REGION
        assert HEALTH_RESERVED_CONCURRENCY == checkers + OPERATOR_HEALTH_PROBES == 10


def test_health_checks_probe_from_three_checker_regions(env):
    config, doc = env
    https = [c for c in resources(doc, "aws_route53_health_check").values() if c["type"] == "HTTPS"]
    assert len(https) == len(config.regions)
    assert all(c["regions"] == ["us-east-1", "eu-west-1", "ap-southeast-1"] for c in https)
