"""The global router in traffic-policy mode: one answer from a Traffic Flow document
(local/traffic_flow.py), and the router evaluating the document it reads from the emulator
(GetTrafficPolicyInstance -> GetTrafficPolicy) with the checks in the emulator's Route53."""

from __future__ import annotations

import json
import threading
import uuid
from typing import TYPE_CHECKING

import pytest
from werkzeug.serving import make_server

from local import traffic_flow
from local.emulator import aws_client
from local.emulator_server import OneWriteRequestHandler, emulator_app
from local.router import Router
from tests.local.deployments import typed

if TYPE_CHECKING:
    from collections.abc import Iterator

WEST, CENTRAL, EAST = "eu-west-1", "eu-central-1", "us-east-1"
REGIONS = (WEST, CENTRAL, EAST)


def document(failover_within_region: bool = False) -> dict:
    """Shaped as modules/constructs/traffic_policy.py writes it."""
    rules: dict = {}
    entries = []
    for index, region in enumerate(REGIONS):
        if failover_within_region:
            backup = REGIONS[(index + 1) % len(REGIONS)]
            rules[f"failover-{region}"] = {
                "RuleType": "failover",
                "Primary": {"EndpointReference": region, "HealthCheck": f"hc-{region}"},
                "Secondary": {"EndpointReference": backup, "HealthCheck": f"hc-{backup}"},
            }
            entries.append({"Region": region, "RuleReference": f"failover-{region}"})
        else:
            entries.append({"Region": region, "EndpointReference": region, "HealthCheck": f"hc-{region}"})
    rules["latency"] = {"RuleType": "latency", "Regions": entries}
    return {
        "AWSPolicyFormatVersion": "2015-10-01",
        "RecordType": "CNAME",
        "StartRule": "latency",
        "Endpoints": {region: {"Type": "value", "Value": f"d-{region}.example"} for region in REGIONS},
        "Rules": rules,
    }


def answer(doc: dict, unhealthy: set[str], order: list[str]) -> traffic_flow.Answer:
    return traffic_flow.evaluate(doc, lambda check: check.removeprefix("hc-") not in unhealthy, order)


# --- one answer from a document ---------------------------------------------------------------


def test_latency_answers_with_the_closest_healthy_region():
    doc = document()
    assert answer(doc, set(), [WEST, CENTRAL, EAST]).endpoint == WEST
    assert answer(doc, set(), [EAST, WEST, CENTRAL]).endpoint == EAST
    assert answer(doc, {WEST}, [WEST, CENTRAL, EAST]).endpoint == CENTRAL
    assert answer(doc, {WEST, CENTRAL}, [WEST, CENTRAL, EAST]).value == f"d-{EAST}.example"


def test_with_nothing_healthy_the_closest_answers_and_the_answer_says_so():
    found = answer(document(), set(REGIONS), [CENTRAL, WEST, EAST])
    assert (found.endpoint, found.healthy) == (CENTRAL, False)
    assert found.regions == {region: (False, f"hc-{region}") for region in REGIONS}


def test_failover_within_a_region_rule_uses_its_secondary_when_the_primary_fails():
    doc = document(failover_within_region=True)
    # Clients closest to WEST go to WEST's secondary (CENTRAL), not to latency's next region (EAST).
    assert answer(doc, {WEST}, [WEST, EAST, CENTRAL]).endpoint == CENTRAL
    assert answer(doc, {CENTRAL}, [CENTRAL, WEST, EAST]).endpoint == EAST
    # Primary and secondary both failed: the rule has no healthy answer, latency moves on.
    found = answer(doc, {WEST, CENTRAL}, [WEST, CENTRAL, EAST])
    assert (found.endpoint, found.healthy) == (EAST, True)
    # Each region's own health in the status is its primary's check, whatever its secondary says.
    assert found.regions == {WEST: (False, f"hc-{WEST}"), CENTRAL: (False, f"hc-{CENTRAL}"), EAST: (True, f"hc-{EAST}")}


def test_the_status_lists_every_latency_entry_with_its_health():
    found = answer(document(), {CENTRAL}, [WEST, CENTRAL, EAST])
    assert found.regions == {WEST: (True, f"hc-{WEST}"), CENTRAL: (False, f"hc-{CENTRAL}"), EAST: (True, f"hc-{EAST}")}


def test_rule_types_the_router_does_not_evaluate_are_refused():
    doc = document()
    doc["Rules"]["latency"]["RuleType"] = "geoproximity"
    with pytest.raises(traffic_flow.Unsupported, match="geoproximity"):
        answer(doc, set(), [WEST])


# --- the router reads the deployed document -----------------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, emulator_app(), threaded=True, request_handler=OneWriteRequestHandler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def deploy_region(url: str, region: str, port: int) -> tuple[dict, str]:
    """A REST API, its regional custom domain mapped at the root; (deployment entry, regional name)."""
    apigateway = aws_client("apigateway", region, url)
    api_id = apigateway.create_rest_api(name=f"items-{region}")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName="v1")
    domain_name = f"api-{uuid.uuid4().hex[:6]}.flow.test"
    domain = apigateway.create_domain_name(domainName=domain_name, endpointConfiguration={"types": ["REGIONAL"]})
    apigateway.create_base_path_mapping(domainName=domain_name, restApiId=api_id, stage="v1")
    return {"rest_api_id": api_id, "api_url": f"http://127.0.0.1:{port}/v1"}, domain["regionalDomainName"]


def always_healthy_check(route53) -> str:
    """A calculated check without children: healthy at threshold 0, never at 1 (the drill's lever)."""
    config = {"Type": "CALCULATED", "ChildHealthChecks": [], "HealthThreshold": 0}
    return route53.create_health_check(CallerReference=str(uuid.uuid4()), HealthCheckConfig=config)["HealthCheck"]["Id"]


@pytest.fixture
def deployed(emulator, tmp_path):
    route53 = aws_client("route53", "us-east-1", emulator)
    zone_name = f"z{uuid.uuid4().hex[:6]}.test"
    zone_id = route53.create_hosted_zone(Name=zone_name, CallerReference=zone_name)["HostedZone"]["Id"]
    regions, endpoints, checks = {}, {}, {}
    for port, region in enumerate((WEST, CENTRAL), start=41001):
        regions[region], endpoints[region] = deploy_region(emulator, region, port)
        checks[region] = always_healthy_check(route53)
    doc = {
        "AWSPolicyFormatVersion": "2015-10-01",
        "RecordType": "CNAME",
        "StartRule": "latency",
        "Endpoints": {r: {"Type": "value", "Value": name} for r, name in endpoints.items()},
        "Rules": {
            "latency": {
                "RuleType": "latency",
                "Regions": [{"Region": r, "EndpointReference": r, "HealthCheck": checks[r]} for r in endpoints],
            }
        },
    }
    policy = route53.create_traffic_policy(Name=zone_name, Document=json.dumps(doc))["TrafficPolicy"]
    route53.create_traffic_policy_instance(
        HostedZoneId=zone_id, Name=f"api.{zone_name}", TTL=60, TrafficPolicyId=policy["Id"], TrafficPolicyVersion=1
    )
    deployment = typed(
        emulator,
        regions,
        latency_order=[WEST, CENTRAL],
        dns={"zone_name": zone_name, "record_name": f"api.{zone_name}"},
    )
    stop = threading.Event()
    yield Router(deployment, tmp_path / "status.json", 0.01, stop), route53, checks, tmp_path / "status.json"
    stop.set()


def test_the_router_answers_from_the_deployed_document_and_its_checks(deployed):
    router, route53, checks, status_file = deployed
    router.round()
    assert (router.pick().region, router.pick().gateway_url) == (WEST, "http://127.0.0.1:41001/v1")
    route53.update_health_check(HealthCheckId=checks[WEST], HealthThreshold=1)
    router.round()
    assert (router.pick().region, router.pick().gateway_url) == (CENTRAL, "http://127.0.0.1:41002/v1")
    status = json.loads(status_file.read_text())
    assert status["regions"] == {
        WEST: {"healthy": False, "health_check_id": checks[WEST]},
        CENTRAL: {"healthy": True, "health_check_id": checks[CENTRAL]},
    }
    assert status["traffic_policy"]["endpoint"] == CENTRAL
    route53.update_health_check(HealthCheckId=checks[WEST], HealthThreshold=0)
    router.round()
    assert router.pick().region == WEST
