"""Traffic-policy routing: one Route53 traffic policy whose document routes by latency between
the regions, each region's entry tied to its routing (calculated) health check, and one policy
record for the API's name instead of the alias records."""

from __future__ import annotations

import json
import re

from modules.constructs.traffic_policy import POLICY_RECORD_TTL_S, PolicyEndpoint, policy_document

VARIANT = "trafficpolicy"
TOKEN = re.compile(r"^\$\{(?P<type>[a-z0-9_]+)\.(?P<name>[A-Za-z0-9_-]+)\.(?P<attr>[a-z_]+)\}$")


def resources(doc: dict, rtype: str) -> dict[str, dict]:
    return doc.get("resource", {}).get(rtype, {})


def reference(value: str) -> tuple[str, str, str]:
    match = TOKEN.match(value)
    assert match, f"{value!r} is not a reference to another resource"
    return match["type"], match["name"], match["attr"]


def the_policy(doc: dict) -> tuple[str, dict, dict]:
    policies = resources(doc, "aws_route53_traffic_policy")
    assert len(policies) == 1
    [(name, policy)] = policies.items()
    return name, policy, json.loads(policy["document"])


def routing_check_of(doc: dict, check_id: str, region: str) -> dict:
    """The health check a document refers to: the region's calculated routing check."""
    rtype, name, attr = reference(check_id)
    assert (rtype, attr) == ("aws_route53_health_check", "id")
    check = resources(doc, "aws_route53_health_check")[name]
    assert check["type"] == "CALCULATED"
    assert check["tags"]["Name"].endswith(f"-{region}-routing")
    return check


def test_latency_rule_over_every_region_each_with_its_routing_check(synthesized, all_configs):
    config, doc = all_configs[VARIANT], synthesized[VARIANT]
    _, _, document = the_policy(doc)
    assert document["AWSPolicyFormatVersion"] == "2015-10-01"
    assert document["RecordType"] == "CNAME"
    start = document["Rules"][document["StartRule"]]
    assert start["RuleType"] == "latency"
    assert [entry["Region"] for entry in start["Regions"]] == list(config.regions)
    for entry in start["Regions"]:
        # With failover within each region, the check is on the rule's primary (the next test).
        tied = entry.get("HealthCheck") or document["Rules"][entry["RuleReference"]]["Primary"]["HealthCheck"]
        routing_check_of(doc, tied, entry["Region"])


def test_endpoints_are_the_regional_domain_names(synthesized, all_configs):
    config, doc = all_configs[VARIANT], synthesized[VARIANT]
    _, _, document = the_policy(doc)
    assert set(document["Endpoints"]) == set(config.regions)
    for region, endpoint in document["Endpoints"].items():
        assert endpoint["Type"] == "value"
        rtype, name, attr = reference(endpoint["Value"])
        assert (rtype, attr) == ("aws_api_gateway_domain_name", "regional_domain_name")
        assert resources(doc, rtype)[name]["provider"] == f"aws.{region.replace('-', '_')}"


def test_failover_within_each_region_rule_backs_up_to_the_next_region(synthesized, all_configs):
    config, doc = all_configs[VARIANT], synthesized[VARIANT]
    _, _, document = the_policy(doc)
    regions = list(config.regions)
    for index, entry in enumerate(document["Rules"]["latency"]["Regions"]):
        assert "EndpointReference" not in entry
        assert "HealthCheck" not in entry  # healthy while its rule has a healthy answer
        rule = document["Rules"][entry["RuleReference"]]
        backup = regions[(index + 1) % len(regions)]
        assert rule["RuleType"] == "failover"
        assert rule["Primary"]["EndpointReference"] == entry["Region"]
        assert rule["Secondary"]["EndpointReference"] == backup
        routing_check_of(doc, rule["Primary"]["HealthCheck"], entry["Region"])
        routing_check_of(doc, rule["Secondary"]["HealthCheck"], backup)


def test_one_policy_record_for_the_name_and_no_alias_records(synthesized, all_configs):
    config, doc = all_configs[VARIANT], synthesized[VARIANT]
    name, _, _ = the_policy(doc)
    [record] = resources(doc, "aws_route53_traffic_policy_instance").values()
    assert record["name"] == config.domain.record_name
    assert record["ttl"] == POLICY_RECORD_TTL_S
    assert record["traffic_policy_id"] == f"${{aws_route53_traffic_policy.{name}.id}}"
    assert record["traffic_policy_version"] == f"${{aws_route53_traffic_policy.{name}.version}}"
    assert re.match(r"^\$\{data\.aws_route53_zone\.[a-z_]+\.zone_id\}$", record["hosted_zone_id"])
    own_names = {f"{region}.{config.domain.record_name}" for region in config.regions}  # the health checks' names
    routing_records = [
        r
        for r in resources(doc, "aws_route53_record").values()
        if "domain_validation_options" not in r["name"] and r["name"] not in own_names
    ]
    assert routing_records == []


def test_other_modes_make_no_traffic_policy(synthesized):
    for environment in ("dev", "prod", "weighted"):
        assert resources(synthesized[environment], "aws_route53_traffic_policy") == {}
        assert resources(synthesized[environment], "aws_route53_traffic_policy_instance") == {}


def test_without_failover_each_region_entry_is_its_own_endpoint():
    endpoints = tuple(
        PolicyEndpoint(region=r, target_name=f"d-{r}.example", health_check_id=f"hc-{r}") for r in ("a-1", "b-2")
    )
    document = policy_document(endpoints, failover_within_region=False)
    assert list(document["Rules"]) == ["latency"]
    assert document["Rules"]["latency"]["Regions"] == [
        {"Region": "a-1", "EndpointReference": "a-1", "HealthCheck": "hc-a-1"},
        {"Region": "b-2", "EndpointReference": "b-2", "HealthCheck": "hc-b-2"},
    ]


def test_a_changed_document_makes_a_new_policy_before_the_old_is_deleted(synthesized):
    """The provider replaces a policy whose document changes, and the record still uses the old
    one (provider issue #27767): the new one is created first, under a name of its own."""
    _, policy, _ = the_policy(synthesized[VARIANT])
    assert policy["lifecycle"] == {"create_before_destroy": True}
    assert policy["name"].startswith("items-trafficpolicy-${substr(sha1(jsonencode(")
    assert '"HealthCheck" = aws_route53_health_check.' in policy["name"]  # the checks are part of it
