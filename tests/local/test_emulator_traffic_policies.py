"""Route53 traffic policies in the emulator (local/route53_traffic_policies.py), through boto3
against the emulator's own server application on 127.0.0.1: every call the AWS provider's
aws_route53_traffic_policy and aws_route53_traffic_policy_instance make, in the order it
makes them, answered in Route53's XML shapes (boto3 parses them with the service model)."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError
from werkzeug.serving import make_server

from local.emulator import aws_client
from local.emulator_server import OneWriteRequestHandler, emulator_app

if TYPE_CHECKING:
    from collections.abc import Iterator

DOCUMENT = json.dumps(
    {
        "AWSPolicyFormatVersion": "2015-10-01",
        "RecordType": "CNAME",
        "StartRule": "latency",
        "Endpoints": {"eu-west-1": {"Type": "value", "Value": "d-1.execute-api.eu-west-1.amazonaws.com"}},
        "Rules": {
            "latency": {"RuleType": "latency", "Regions": [{"Region": "eu-west-1", "EndpointReference": "eu-west-1"}]}
        },
    },
    sort_keys=True,
)


@pytest.fixture(scope="module")
def route53() -> Iterator:
    server = make_server("127.0.0.1", 0, emulator_app(), threaded=True, request_handler=OneWriteRequestHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield aws_client("route53", "us-east-1", f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def zone_id(route53) -> str:
    zone = route53.create_hosted_zone(Name="flow.test", CallerReference="flow")["HostedZone"]
    return zone["Id"].split("/")[-1]


def error_code(call, **kwargs) -> tuple[str, int]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    return err.value.response["Error"]["Code"], err.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_policy_is_kept_with_its_document_and_found_as_the_provider_reads_it(route53):
    created = route53.create_traffic_policy(Name="kept", Document=DOCUMENT, Comment="first")["TrafficPolicy"]
    assert (created["Version"], created["Type"], created["Document"]) == (1, "CNAME", DOCUMENT)
    listed = route53.list_traffic_policies()
    # The provider's pager stops on an empty marker only (list_traffic_policies_pages_gen.go).
    assert (listed["IsTruncated"], listed["TrafficPolicyIdMarker"]) == (False, "")
    summaries = listed["TrafficPolicySummaries"]
    [summary] = [s for s in summaries if s["Id"] == created["Id"]]
    assert (summary["Name"], summary["LatestVersion"], summary["TrafficPolicyCount"]) == ("kept", 1, 1)
    read = route53.get_traffic_policy(Id=created["Id"], Version=summary["LatestVersion"])["TrafficPolicy"]
    assert read == created


def test_versions_comments_and_deletion_of_every_version(route53):
    policy_id = route53.create_traffic_policy(Name="versions", Document=DOCUMENT)["TrafficPolicy"]["Id"]
    second = DOCUMENT.replace("d-1.", "d-2.")
    assert route53.create_traffic_policy_version(Id=policy_id, Document=second)["TrafficPolicy"]["Version"] == 2
    updated = route53.update_traffic_policy_comment(Id=policy_id, Version=2, Comment="two")["TrafficPolicy"]
    assert (updated["Comment"], updated["Document"]) == ("two", second)
    listed = route53.list_traffic_policy_versions(Id=policy_id)
    assert listed["TrafficPolicyVersionMarker"] == ""
    versions = listed["TrafficPolicies"]
    assert [v["Version"] for v in versions] == [1, 2]
    for version in versions:
        route53.delete_traffic_policy(Id=policy_id, Version=version["Version"])
    assert error_code(route53.get_traffic_policy, Id=policy_id, Version=1) == ("NoSuchTrafficPolicy", 404)
    assert error_code(route53.list_traffic_policy_versions, Id=policy_id) == ("NoSuchTrafficPolicy", 404)


def test_a_document_that_is_not_traffic_flow_is_refused(route53):
    bad = json.dumps({"AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A", "StartRule": "missing"})
    assert error_code(route53.create_traffic_policy, Name="bad", Document=bad)[0] == "InvalidTrafficPolicyDocument"
    assert error_code(route53.create_traffic_policy, Name="bad", Document="{")[0] == "InvalidTrafficPolicyDocument"


def test_policy_record_lifecycle_as_the_provider_drives_it(route53, zone_id):
    policy = route53.create_traffic_policy(Name="record", Document=DOCUMENT)["TrafficPolicy"]
    created = route53.create_traffic_policy_instance(
        HostedZoneId=zone_id, Name="api.flow.test", TTL=60, TrafficPolicyId=policy["Id"], TrafficPolicyVersion=1
    )["TrafficPolicyInstance"]
    read = route53.get_traffic_policy_instance(Id=created["Id"])["TrafficPolicyInstance"]
    assert read["State"] == "Applied"
    assert (read["HostedZoneId"], read["Name"], read["TTL"]) == (zone_id, "api.flow.test.", 60)
    assert (read["TrafficPolicyId"], read["TrafficPolicyVersion"], read["TrafficPolicyType"]) == (
        policy["Id"],
        1,
        "CNAME",
    )
    by_zone = route53.list_traffic_policy_instances_by_hosted_zone(HostedZoneId=zone_id)["TrafficPolicyInstances"]
    assert [i["Id"] for i in by_zone] == [created["Id"]]
    route53.create_traffic_policy_version(Id=policy["Id"], Document=DOCUMENT.replace("d-1.", "d-3."))
    route53.update_traffic_policy_instance(
        Id=created["Id"], TTL=30, TrafficPolicyId=policy["Id"], TrafficPolicyVersion=2
    )
    read = route53.get_traffic_policy_instance(Id=created["Id"])["TrafficPolicyInstance"]
    assert (read["TrafficPolicyVersion"], read["TTL"], read["State"]) == (2, 30, "Applied")
    assert error_code(route53.delete_traffic_policy, Id=policy["Id"], Version=2)[0] == "TrafficPolicyInUse"
    route53.delete_traffic_policy_instance(Id=created["Id"])
    assert error_code(route53.get_traffic_policy_instance, Id=created["Id"]) == ("NoSuchTrafficPolicyInstance", 404)
    route53.delete_traffic_policy(Id=policy["Id"], Version=2)


def test_a_record_needs_an_existing_policy_version_and_one_per_name(route53, zone_id):
    policy_id = route53.create_traffic_policy(Name="once", Document=DOCUMENT)["TrafficPolicy"]["Id"]
    missing = {"HostedZoneId": zone_id, "Name": "x.flow.test", "TTL": 60, "TrafficPolicyId": policy_id}
    assert (
        error_code(route53.create_traffic_policy_instance, **missing, TrafficPolicyVersion=9)[0]
        == "NoSuchTrafficPolicy"
    )
    route53.create_traffic_policy_instance(**missing, TrafficPolicyVersion=1)
    code, status = error_code(route53.create_traffic_policy_instance, **missing, TrafficPolicyVersion=1)
    assert (code, status) == ("TrafficPolicyInstanceAlreadyExists", 409)
    assert route53.get_traffic_policy_instance_count()["TrafficPolicyInstanceCount"] >= 1
    by_policy = route53.list_traffic_policy_instances_by_policy(TrafficPolicyId=policy_id, TrafficPolicyVersion=1)
    assert [i["Name"] for i in by_policy["TrafficPolicyInstances"]] == ["x.flow.test."]
