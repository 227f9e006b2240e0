"""Route53, per region: HTTPS health checks on that region's own custom domain name
(``<region>.<record_name>``; without a domain, its execute-api host and stage) and
``/health``; CLOUDWATCH_METRIC *signal* checks, any of which healthy means the 5XX rate does
not take the region out: the API's 5XX rate alarm is OK, or the region's traffic is
under the floor (a rate of a few requests means nothing), or its authorizer is failing
(then the 5XX are the authorizer's, most likely the issuer's JWKS being down in every region
at once, and evacuating cannot help); and one calculated *routing* check over all of them,
healthy only while HTTPS is up and at least one signal is. With a domain, A and AAAA alias
records per region in the chosen mode, each tied to its region's routing check, so a region
that answers ``/health`` but fails requests leaves DNS too (docs/production-signals.md).

The routing check is flat because Route53 refuses a calculated check among a calculated
check's children ("Health checks to monitor", Route53 Developer Guide). With g signal
checks it has g HTTPS children (the same probe, as distinct checks: ChildHealthChecks must
be distinct) and threshold g + 1 (``routing_threshold``): HTTPS up and any signal healthy
is g + 1 or more; HTTPS up and no signal is g; HTTPS down is at most g.

The calculated check's ``child_health_threshold`` is the evacuation lever (``python -m
ops.drill --evacuate REGION``): above the number of children, Route53 always considers
the check unhealthy, whatever the children say. Terraform ignores later changes to it, so
an apply during an incident does not put an evacuated region back; ``--restore`` does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from constructs import Construct

from modules.config.sections import DomainConfig, HealthCheckConfig, RoutingConfig
from modules.constructs.traffic_policy import PolicyEndpoint, TrafficPolicy, TrafficPolicyProps
from modules.failover import routing_threshold
from modules.provider import aws

if TYPE_CHECKING:
    from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
    from cdktf_cdktf_provider_aws.provider import AwsProvider
    from cdktf_cdktf_provider_aws.route53_health_check import Route53HealthCheck
    from cdktf_cdktf_provider_aws.route53_record import Route53Record


# A CloudWatch outage (no data about the alarm) must not take a region out of DNS: the
# HTTP check still decides availability.
INSUFFICIENT_DATA_HEALTH_STATUS = "Healthy"
# Where moto's Route53 answers differently from AWS for a CLOUDWATCH_METRIC check: it drops
# AlarmIdentifier and InsufficientDataHealthStatus, and reports an endpoint check's port 80
# and request interval 30 (the interval forces a replacement). Ignored after creation in
# emulator mode only, or every plan would show them again.
EMULATOR_ALARM_CHECK_DRIFT = (
    "cloudwatch_alarm_name",
    "cloudwatch_alarm_region",
    "insufficient_data_health_status",
    "port",
    "request_interval",
)


@dataclass(frozen=True, kw_only=True)
class RegionEndpoint:
    """What routing needs from one region. ``alarm``: the region's API 5XX rate alarm (in that
    region); ``traffic_alarm``: its alarm on requests at or above the floor;
    ``authorizer_alarm``: its authorizer's outage (error rate) alarm (None when public). Each
    is watched by a CLOUDWATCH_METRIC check, replaced when the alarm changes.
    ``target_name`` / ``target_zone_id``: the custom domain's regional alias target, None
    without a domain. ``check_host``: the region's own custom domain name
    (``<region>.<record_name>``, its stage mapped at the root), which the HTTPS checks probe
    so that they cover its certificate, domain and mapping; None without a domain (they probe
    the execute-api host and stage)."""

    region: str
    execute_api_host: str
    stage: str
    alarm: CloudwatchMetricAlarm
    traffic_alarm: CloudwatchMetricAlarm
    authorizer_alarm: CloudwatchMetricAlarm | None = None
    target_name: str | None = None
    target_zone_id: str | None = None
    check_host: str | None = None


@dataclass(frozen=True, kw_only=True)
class GlobalRoutingProps:
    """``endpoints``: primary first. ``health_check_config``: path, interval and threshold of
    every region's check. ``routing_config`` (default latency): failover makes the primary
    PRIMARY and the other SECONDARY; weighted uses its weight per region. ``domain`` and
    ``zone_id`` (default None, no records): the record's name and its hosted zone.
    ``emulated`` (default False): where moto answers differently for alarm checks is ignored
    after creation (``EMULATOR_ALARM_CHECK_DRIFT``)."""

    provider: AwsProvider
    name_prefix: str
    endpoints: tuple[RegionEndpoint, ...]
    health_check_config: HealthCheckConfig
    routing_config: RoutingConfig = field(default_factory=RoutingConfig)
    domain: DomainConfig | None = None
    zone_id: str | None = None
    emulated: bool = False


class GlobalRouting(Construct):
    """Exposes, per region: ``health_checks`` (the first HTTPS check), ``https_checks``
    (all of them, one per signal check), ``alarm_checks`` (the 5XX rate alarm check),
    ``guard_checks`` (the traffic-floor and authorizer alarm checks), ``routing_checks``
    (the flat calculated check the records use), ``records`` (region -> [A, AAAA]) and
    ``traffic_policy`` (traffic-policy mode, with a domain: the policy and its record,
    which replace the alias records)."""

    def __init__(self, scope: Construct, id_: str, props: GlobalRoutingProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        self.health_checks: dict[str, Route53HealthCheck] = {}
        self.https_checks: dict[str, list[Route53HealthCheck]] = {}
        self.alarm_checks: dict[str, Route53HealthCheck] = {}
        self.guard_checks: dict[str, list[Route53HealthCheck]] = {}
        self.routing_checks: dict[str, Route53HealthCheck] = {}
        self.records: dict[str, list[Route53Record]] = {}
        for index, endpoint in enumerate(props.endpoints):
            region_scope = Construct(self, endpoint.region)
            self.alarm_checks[endpoint.region] = self._alarm_check(
                region_scope, "alarm_check", endpoint.region, endpoint.alarm, "api-5xx"
            )
            self.guard_checks[endpoint.region] = self._guard_checks(region_scope, endpoint)
            signals = 1 + len(self.guard_checks[endpoint.region])
            self.https_checks[endpoint.region] = [
                self._health_check(region_scope, endpoint, number) for number in range(1, signals + 1)
            ]
            self.health_checks[endpoint.region] = self.https_checks[endpoint.region][0]
            check = self._routing_check(region_scope, endpoint)
            self.routing_checks[endpoint.region] = check
            records = self._records(region_scope, endpoint, check, index)
            if records:
                self.records[endpoint.region] = records
        self.traffic_policy = self._traffic_policy() if props.routing_config.mode == "traffic-policy" else None

    def _health_check(self, scope: Construct, endpoint: RegionEndpoint, number: int) -> Route53HealthCheck:
        """The ``number``th HTTPS check of the region (1: ``health_check``, as before the
        copies; then ``health_check_2``...): the same probe each time; only the first
        measures latency."""
        props = self._props
        suffix = "" if number == 1 else f"-{number}"
        return aws.route53_health_check.Route53HealthCheck(
            scope,
            "health_check" if number == 1 else f"health_check_{number}",
            provider=props.provider,
            type="HTTPS",
            fqdn=endpoint.check_host or endpoint.execute_api_host,
            port=443,
            enable_sni=True,
            resource_path=_health_path(endpoint, props.health_check_config.path),
            request_interval=props.health_check_config.interval,
            failure_threshold=props.health_check_config.failure_threshold,
            regions=list(props.health_check_config.regions),
            # latency is a graph, billed per check: the first one is enough
            measure_latency=number == 1 or None,
            tags={"Name": f"{props.name_prefix}-{endpoint.region}{suffix}"},
        )

    def _alarm_check(
        self,
        scope: Construct,
        id_: str,
        region: str,
        alarm: CloudwatchMetricAlarm,
        tag: str,
        *,
        insufficient_data: str = INSUFFICIENT_DATA_HEALTH_STATUS,
        inverted: bool = False,
    ) -> Route53HealthCheck:
        """Healthy while the alarm is OK (ALARM with ``inverted``). Route53 accepts alarms on
        standard-resolution metrics with Average, Minimum, Maximum, Sum or SampleCount
        (AlarmIdentifier, Route53 API reference): every alarm here is one of those.

        Route53 copies the alarm's configuration when the check is created and does not follow
        later changes to it ("Updating health checks when you change CloudWatch alarm
        settings", Route53 Developer Guide): a change of the alarm replaces the check, the new
        one made first, since the routing check lists it among its children."""
        props = self._props
        # Terraform JSON takes a bare address here, not a ${...} reference.
        address = f"{alarm.terraform_resource_type}.{alarm.friendly_unique_id}"
        lifecycle: dict = {"create_before_destroy": True, "replace_triggered_by": [address]}
        if props.emulated:
            lifecycle["ignore_changes"] = list(EMULATOR_ALARM_CHECK_DRIFT)
        return aws.route53_health_check.Route53HealthCheck(
            scope,
            id_,
            provider=props.provider,
            type="CLOUDWATCH_METRIC",
            cloudwatch_alarm_name=alarm.alarm_name,
            cloudwatch_alarm_region=region,
            insufficient_data_health_status=insufficient_data,
            invert_healthcheck=inverted or None,
            tags={"Name": f"{props.name_prefix}-{region}-{tag}"},
            lifecycle=lifecycle,
        )

    def _guard_checks(self, scope: Construct, endpoint: RegionEndpoint) -> list[Route53HealthCheck]:
        """Healthy when the 5XX rate must not count. Traffic: healthy while requests stay
        under the floor; without data it claims nothing (Unhealthy), so the rate decides.
        Authorizer: inverted, healthy while its errors alarm is in ALARM; without data it
        claims nothing either (Healthy, inverted)."""
        region = endpoint.region
        checks = [
            self._alarm_check(
                scope, "traffic_check", region, endpoint.traffic_alarm, "api-requests", insufficient_data="Unhealthy"
            )
        ]
        if endpoint.authorizer_alarm is not None:
            checks.append(
                self._alarm_check(
                    scope, "authorizer_check", region, endpoint.authorizer_alarm, "authorizer-outage", inverted=True
                )
            )
        return checks

    def _routing_check(self, scope: Construct, endpoint: RegionEndpoint) -> Route53HealthCheck:
        """Healthy while every HTTPS check and one signal check are (module docstring): what
        the records use. Its threshold is the evacuation lever, so Terraform leaves it as the
        drill set it."""
        props = self._props
        region = endpoint.region
        children = [
            *(check.id for check in self.https_checks[region]),
            self.alarm_checks[region].id,
            *(check.id for check in self.guard_checks[region]),
        ]
        return aws.route53_health_check.Route53HealthCheck(
            scope,
            "routing_check",
            provider=props.provider,
            type="CALCULATED",
            child_healthchecks=children,
            child_health_threshold=routing_threshold(len(children)),
            tags={"Name": f"{props.name_prefix}-{region}-routing"},
            lifecycle={"ignore_changes": ["child_health_threshold"]},
        )

    def _records(
        self, scope: Construct, endpoint: RegionEndpoint, check: Route53HealthCheck, index: int
    ) -> list[Route53Record]:
        """The region's A and AAAA alias records, tied to its calculated check; none without
        a domain. ``index``: the region's place in the endpoints (0 is the primary)."""
        props = self._props
        if (
            props.zone_id is None
            or props.domain is None
            or endpoint.target_name is None
            or endpoint.target_zone_id is None
            or props.routing_config.mode == "traffic-policy"
        ):
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

    def _traffic_policy(self) -> TrafficPolicy | None:
        """Traffic-policy mode: one policy record for the name instead of alias records."""
        props = self._props
        if props.zone_id is None or props.domain is None:
            return None
        endpoints = tuple(
            PolicyEndpoint(region=e.region, target_name=e.target_name, health_check_id=self.routing_checks[e.region].id)
            for e in props.endpoints
            if e.target_name is not None
        )
        return TrafficPolicy(
            self,
            "traffic_policy",
            TrafficPolicyProps(
                provider=props.provider,
                name=props.name_prefix,
                zone_id=props.zone_id,
                record_name=props.domain.record_name,
                endpoints=endpoints,
                failover_within_region=props.routing_config.failover_within_region,
            ),
        )


def _health_path(endpoint: RegionEndpoint, path: str) -> str:
    """``/health`` where the stage is mapped at the root of the region's own name, else
    ``/<stage>/health`` on the execute-api host."""
    return path if endpoint.check_host else f"/{endpoint.stage}{path}"


def _routing_policy(routing: RoutingConfig, region: str, index: int) -> dict:
    """The record argument for the routing mode: failover (index 0 is PRIMARY), weighted or latency."""
    record = aws.route53_record
    if routing.mode == "failover":
        role = "PRIMARY" if index == 0 else "SECONDARY"
        return {"failover_routing_policy": record.Route53RecordFailoverRoutingPolicy(type=role)}
    if routing.mode == "weighted":
        return {"weighted_routing_policy": record.Route53RecordWeightedRoutingPolicy(weight=routing.weights[region])}
    return {"latency_routing_policy": record.Route53RecordLatencyRoutingPolicy(region=region)}
