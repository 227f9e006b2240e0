"""Route53 Traffic Flow: one traffic policy whose document routes by latency between the
regions, and one policy record (a traffic policy instance) for the API's name.

The document (Route53 API Reference, "Traffic Policy Document Format", format 2015-10-01):
a ``latency`` start rule with one entry per region, each tied to that region's routing
health check (the calculated check the alias records use in the other modes, so the drill's
evacuation lever works unchanged). An endpoint is the region's API Gateway regional domain
name as a ``value`` endpoint of a CNAME policy (Traffic Flow has no alias endpoint type for
API Gateway). With ``failover_within_region`` each region's entry references a failover
rule instead: the region's endpoint as primary, the next region's as secondary.

A policy record is billed monthly, unlike an alias record: docs/traffic-policy.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cdktf import Fn
from constructs import Construct

from modules.provider import aws

if TYPE_CHECKING:
    from cdktf_cdktf_provider_aws.provider import AwsProvider

POLICY_FORMAT_VERSION = "2015-10-01"
START_RULE = "latency"
# The policy record's TTL: the answer resolvers keep, as the alias targets' 60 s in the
# other modes (modules/failover.py counts it in the drill's bound).
POLICY_RECORD_TTL_S = 60


@dataclass(frozen=True, kw_only=True)
class PolicyEndpoint:
    """One region in the policy: its regional domain name and its routing health check id."""

    region: str
    target_name: str
    health_check_id: str


@dataclass(frozen=True, kw_only=True)
class TrafficPolicyProps:
    """``endpoints``: in the environment's region order (the failover secondary of a region is
    the next one, the last region's the first). ``failover_within_region`` (default False):
    a failover rule per region between the latency rule and the endpoints."""

    provider: AwsProvider
    name: str
    zone_id: str
    record_name: str
    endpoints: tuple[PolicyEndpoint, ...]
    failover_within_region: bool = False


def policy_document(endpoints: tuple[PolicyEndpoint, ...], failover_within_region: bool) -> dict:
    """The Traffic Flow document, as a dict (tokens stay strings inside it)."""
    rules: dict[str, dict] = {}
    regions = []
    for index, endpoint in enumerate(endpoints):
        if failover_within_region:
            # No check on the entry itself: it is healthy while its rule has a healthy answer,
            # so a failed primary hands over to the secondary rather than to latency's next.
            backup = endpoints[(index + 1) % len(endpoints)]
            rule_id = f"failover-{endpoint.region}"
            rules[rule_id] = {
                "RuleType": "failover",
                "Primary": {"EndpointReference": endpoint.region, "HealthCheck": endpoint.health_check_id},
                "Secondary": {"EndpointReference": backup.region, "HealthCheck": backup.health_check_id},
            }
            regions.append({"Region": endpoint.region, "RuleReference": rule_id})
        else:
            own = {"EndpointReference": endpoint.region, "HealthCheck": endpoint.health_check_id}
            regions.append({"Region": endpoint.region, **own})
    rules[START_RULE] = {"RuleType": "latency", "Regions": regions}
    return {
        "AWSPolicyFormatVersion": POLICY_FORMAT_VERSION,
        "RecordType": "CNAME",
        "StartRule": START_RULE,
        "Endpoints": {e.region: {"Type": "value", "Value": e.target_name} for e in endpoints},
        "Rules": rules,
    }


class TrafficPolicy(Construct):
    """Exposes ``policy`` (the traffic policy) and ``record`` (its instance for the name)."""

    def __init__(self, scope: Construct, id_: str, props: TrafficPolicyProps) -> None:
        super().__init__(scope, id_)
        content = policy_document(props.endpoints, props.failover_within_region)
        document = json.dumps(content, sort_keys=True)
        # The provider replaces a policy whose document changes (document and name force a new
        # resource, terraform-provider-aws #27767), and a policy in use by the record cannot be
        # deleted: the new one is created first under a name of its own (the document's hash),
        # the record moves to it (UpdateTrafficPolicyInstance), then the old one is deleted.
        self.policy = aws.route53_traffic_policy.Route53TrafficPolicy(
            self,
            "policy",
            provider=props.provider,
            name=f"{props.name}-{Fn.substr(Fn.sha1(Fn.jsonencode(content)), 0, 8)}",
            comment=f"latency between {', '.join(e.region for e in props.endpoints)}",
            document=document,
            lifecycle={"create_before_destroy": True},
        )
        self.record = aws.route53_traffic_policy_instance.Route53TrafficPolicyInstance(
            self,
            "record",
            provider=props.provider,
            hosted_zone_id=props.zone_id,
            name=props.record_name,
            ttl=POLICY_RECORD_TTL_S,
            traffic_policy_id=self.policy.id,
            traffic_policy_version=self.policy.version,
        )
