"""Route53: one health check per region on that region's execute-api host and stage
``/health``, and (with a domain) A and AAAA alias records per region in the chosen mode,
each tied to its region's health check."""

from __future__ import annotations

from dataclasses import dataclass, field

from constructs import Construct

from modules import aws
from modules.config import DomainConfig, HealthCheckConfig, RoutingConfig


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

    provider: object
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
        self.health_checks: dict[str, object] = {}
        self.records: dict[str, list] = {}
        for index, ep in enumerate(props.endpoints):
            region_scope = Construct(self, ep.region)
            check = aws.route53_health_check.Route53HealthCheck(
                region_scope,
                "health_check",
                provider=props.provider,
                type="HTTPS",
                fqdn=ep.execute_api_host,
                port=443,
                enable_sni=True,
                resource_path=f"/{ep.stage}{props.health_check_config.path}",
                request_interval=props.health_check_config.interval,
                failure_threshold=props.health_check_config.failure_threshold,
                measure_latency=True,
                tags={"Name": f"{props.name_prefix}-{ep.region}"},
            )
            self.health_checks[ep.region] = check
            if props.zone_id is None or props.domain is None or ep.target_name is None:
                continue
            self.records[ep.region] = [
                aws.route53_record.Route53Record(
                    region_scope,
                    f"record_{record_type.lower()}",
                    provider=props.provider,
                    zone_id=props.zone_id,
                    name=props.domain.record_name,
                    type=record_type,
                    set_identifier=ep.region,
                    health_check_id=check.id,
                    alias=aws.route53_record.Route53RecordAlias(
                        name=ep.target_name, zone_id=ep.target_zone_id, evaluate_target_health=True
                    ),
                    **_policy(props, ep.region, index),
                )
                for record_type in ("A", "AAAA")
            ]


def _policy(props: GlobalRoutingProps, region: str, index: int) -> dict:
    r = aws.route53_record
    if props.routing_config.mode == "failover":
        role = "PRIMARY" if index == 0 else "SECONDARY"
        return {"failover_routing_policy": r.Route53RecordFailoverRoutingPolicy(type=role)}
    if props.routing_config.mode == "weighted":
        return {"weighted_routing_policy": r.Route53RecordWeightedRoutingPolicy(weight=props.routing_config.weights[region])}
    return {"latency_routing_policy": r.Route53RecordLatencyRoutingPolicy(region=region)}
