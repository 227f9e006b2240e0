"""Route53: one health check per region on that region's execute-api host and stage
``/health``, and (with a domain) A and AAAA alias records per region in the chosen mode,
each tied to its region's health check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from constructs import Construct

from modules import aws
from modules.config import DomainConfig, HealthCheckConfig, RoutingConfig

if TYPE_CHECKING:
    from cdktf_cdktf_provider_aws.provider import AwsProvider
    from cdktf_cdktf_provider_aws.route53_health_check import Route53HealthCheck
    from cdktf_cdktf_provider_aws.route53_record import Route53Record


@dataclass(frozen=True, kw_only=True)
class RegionEndpoint:
    """What routing needs from one region. ``target_name`` / ``target_zone_id``: the custom
    domain's regional alias target, None without a domain."""

    region: str
    execute_api_host: str
    stage: str
    target_name: str | None = None
    target_zone_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class GlobalRoutingProps:
    """``endpoints``: primary first. ``health_check_config``: path, interval and threshold of
    every region's check. ``routing_config`` (default latency): failover makes the primary
    PRIMARY and the other SECONDARY; weighted uses its weight per region. ``domain`` and
    ``zone_id`` (default None, no records): the record's name and its hosted zone."""

    provider: AwsProvider
    name_prefix: str
    endpoints: tuple[RegionEndpoint, ...]
    health_check_config: HealthCheckConfig
    routing_config: RoutingConfig = field(default_factory=RoutingConfig)
    domain: DomainConfig | None = None
    zone_id: str | None = None


class GlobalRouting(Construct):
    """Exposes ``health_checks`` (region -> health check) and ``records``
    (region -> [A, AAAA])."""

    def __init__(self, scope: Construct, id_: str, props: GlobalRoutingProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        self.health_checks: dict[str, Route53HealthCheck] = {}
        self.records: dict[str, list[Route53Record]] = {}
        for index, endpoint in enumerate(props.endpoints):
            region_scope = Construct(self, endpoint.region)
            check = self._health_check(region_scope, endpoint)
            self.health_checks[endpoint.region] = check
            records = self._records(region_scope, endpoint, check, index)
            if records:
                self.records[endpoint.region] = records

    def _health_check(self, scope: Construct, endpoint: RegionEndpoint) -> Route53HealthCheck:
        props = self._props
        return aws.route53_health_check.Route53HealthCheck(
            scope,
            "health_check",
            provider=props.provider,
            type="HTTPS",
            fqdn=endpoint.execute_api_host,
            port=443,
            enable_sni=True,
            resource_path=f"/{endpoint.stage}{props.health_check_config.path}",
            request_interval=props.health_check_config.interval,
            failure_threshold=props.health_check_config.failure_threshold,
            measure_latency=True,
            tags={"Name": f"{props.name_prefix}-{endpoint.region}"},
        )

    def _records(
        self, scope: Construct, endpoint: RegionEndpoint, check: Route53HealthCheck, index: int
    ) -> list[Route53Record]:
        """The region's A and AAAA alias records, tied to its health check; none without a
        domain. ``index``: the region's place in the endpoints (0 is the primary)."""
        props = self._props
        if props.zone_id is None or props.domain is None or endpoint.target_name is None or endpoint.target_zone_id is None:
            return []
        return [
            aws.route53_record.Route53Record(
                scope,
                f"record_{record_type.lower()}",
                provider=props.provider,
                zone_id=props.zone_id,
                name=props.domain.record_name,
                type=record_type,
                set_identifier=endpoint.region,
                health_check_id=check.id,
                alias=aws.route53_record.Route53RecordAlias(
                    name=endpoint.target_name, zone_id=endpoint.target_zone_id, evaluate_target_health=True
                ),
                **_routing_policy(props.routing_config, endpoint.region, index),
            )
            for record_type in ("A", "AAAA")
        ]


def _routing_policy(routing: RoutingConfig, region: str, index: int) -> dict:
    """The record argument for the routing mode: failover (index 0 is PRIMARY), weighted or latency."""
    record = aws.route53_record
    if routing.mode == "failover":
        role = "PRIMARY" if index == 0 else "SECONDARY"
        return {"failover_routing_policy": record.Route53RecordFailoverRoutingPolicy(type=role)}
    if routing.mode == "weighted":
        return {"weighted_routing_policy": record.Route53RecordWeightedRoutingPolicy(weight=routing.weights[region])}
    return {"latency_routing_policy": record.Route53RecordLatencyRoutingPolicy(region=region)}
