"""Alarms. Per region, to a topic in that region (CloudWatch only publishes to a topic in its
own region): the API's 5XX error rate and p99 latency; each function's (the authorizer's
too) errors, throttles and duration near its timeout; the table's throttled requests and system errors per operation;
DynamoDB replication latency. In us-east-1, where Route53 publishes health-check metrics:
one alarm per region's health check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from constructs import Construct

from modules.config.sections import AlarmConfig, LambdaConfig
from modules.provider import aws

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
    from cdktf_cdktf_provider_aws.provider import AwsProvider

# A function whose slowest invocation in a minute takes this share of its timeout is close
# to being cut off (API Gateway then answers 504).
DURATION_SHARE_OF_TIMEOUT = 0.8
# Days left on a certificate below which its renewal has failed (ACM renews at 60).
CERTIFICATE_DAYS_LEFT = 30
# The authorizer's error *rate* (Average of Lambda's Errors, which Lambda publishes as 1 or 0
# per invocation) at which Route53 treats the region's 5XX as an authorizer outage and stops
# counting them: a JWKS outage fails every invocation (about 1.0); a token that fails
# validation is an error too (Unauthorized), so a lower bar would let ordinary bad tokens
# hide a region's real 5XX rate (docs/production-signals.md).
AUTHORIZER_OUTAGE_ERROR_RATE = 0.9


@dataclass(frozen=True, kw_only=True)
class AlarmTopicProps:
    """``kms_key_arn`` encrypts the topic (its key policy must let CloudWatch use it).
    ``alarm_config`` (default ``AlarmConfig()``): its ``email``, when set, is subscribed."""

    provider: AwsProvider
    name: str
    kms_key_arn: str
    alarm_config: AlarmConfig = field(default_factory=AlarmConfig)


class AlarmTopic(Construct):
    """Exposes ``topic``."""

    def __init__(self, scope: Construct, id_: str, props: AlarmTopicProps) -> None:
        super().__init__(scope, id_)
        self.topic = aws.sns_topic.SnsTopic(
            self, "topic", provider=props.provider, name=props.name, kms_master_key_id=props.kms_key_arn
        )
        if props.alarm_config.email:
            aws.sns_topic_subscription.SnsTopicSubscription(
                self,
                "email",
                provider=props.provider,
                topic_arn=self.topic.arn,
                protocol="email",
                endpoint=props.alarm_config.email,
            )


@dataclass(frozen=True, kw_only=True)
class RegionalAlarmsProps:
    """``function_names``: route id -> Lambda function name. ``table_operations``: the
    DynamoDB operations the functions call (``PutItem``, ...), whose throttles and system
    errors are watched. ``lambda_config``: the functions' timeout; ``alarm_config``: the
    latency threshold (defaults: the declared defaults). ``replication_targets``: regions
    this region's table replicates to (default none: replication emulated).
    ``authorizer_function_name`` (default None: the API is public): its errors and throttles
    are alarmed too. ``certificate_arn`` (default None: no custom domain): the regional
    certificate, alarmed when its renewal is late."""

    provider: AwsProvider
    name_prefix: str
    region: str
    topic_arn: str
    api_name: str
    stage_name: str
    function_names: Mapping[str, str]
    table_name: str
    table_operations: tuple[str, ...]
    lambda_config: LambdaConfig = field(default_factory=LambdaConfig)
    alarm_config: AlarmConfig = field(default_factory=AlarmConfig)
    replication_targets: tuple[str, ...] = ()
    authorizer_function_name: str | None = None
    certificate_arn: str | None = None


class RegionalAlarms(Construct):
    """Each alarm fires when 3 of 5 one-minute periods breach, and tells the topic when it
    recovers; missing data (no traffic) is not a breach. Exposes ``api_5xx`` (the error
    rate), ``api_traffic`` (requests above the floor, no actions: a state Route53 reads, not
    a page), ``api_latency``, ``authorizer_errors`` (a page on any error) and
    ``authorizer_outage`` (its error rate at ``AUTHORIZER_OUTAGE_ERROR_RATE``, no actions;
    both None when public). Route53 watches ``api_5xx``, ``api_traffic`` and
    ``authorizer_outage``: modules/constructs/global_routing.py."""

    def __init__(self, scope: Construct, id_: str, props: RegionalAlarmsProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        self.api_5xx, self.api_traffic = self._api_errors()
        self.authorizer_errors = self.authorizer_outage = None
        if props.authorizer_function_name is not None:
            authorizer = Construct(self, "authorizer")
            self.authorizer_errors = self._function_alarms(authorizer, "authorizer", props.authorizer_function_name)
            self.authorizer_outage = self._alarm(
                authorizer,
                "outage",
                name="authorizer-outage",
                description=f"Lambda {props.authorizer_function_name} fails {AUTHORIZER_OUTAGE_ERROR_RATE:.0%} or more "
                f"of its invocations in {props.region}: the issuer's keys unavailable, most likely",
                namespace="AWS/Lambda",
                metric_name="Errors",
                dimensions={"FunctionName": props.authorizer_function_name},
                statistic="Average",
                threshold=AUTHORIZER_OUTAGE_ERROR_RATE,
                comparison="GreaterThanOrEqualToThreshold",
                actions=False,
            )
        self._other_alarms()
        if props.certificate_arn is not None:
            self._certificate_alarm(props.certificate_arn)

    def _certificate_alarm(self, certificate_arn: str) -> None:
        """ACM renews a DNS-validated certificate 60 days before it expires; under 30 days
        left, renewal has failed (the validation record gone, most likely) and the custom
        domain will break in this region. DaysToExpiry is published once a day."""
        props = self._props
        aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm(
            self,
            "certificate_expiry",
            provider=props.provider,
            alarm_name=f"{props.name_prefix}-certificate-expiry-{props.region}",
            alarm_description=f"The custom domain's certificate in {props.region} expires in under "
            f"{CERTIFICATE_DAYS_LEFT} days: ACM could not renew it",
            namespace="AWS/CertificateManager",
            metric_name="DaysToExpiry",
            dimensions={"CertificateArn": certificate_arn},
            statistic="Minimum",
            period=86400,
            evaluation_periods=1,
            threshold=CERTIFICATE_DAYS_LEFT,
            comparison_operator="LessThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[props.topic_arn],
            ok_actions=[props.topic_arn],
        )

    def _api_errors(self) -> tuple[CloudwatchMetricAlarm, CloudwatchMetricAlarm]:
        """The 5XX rate: API Gateway's ``5XXError`` is 1 for a request answered 5XX and 0
        otherwise, so its ``Average`` per minute is the error rate and its ``SampleCount``
        the number of requests: one standard-resolution metric with plain statistics, what a
        Route53 alarm check can read (no metric math, no percentiles)."""
        props = self._props
        region, api = props.region, {"ApiName": props.api_name, "Stage": props.stage_name}
        rate, floor = props.alarm_config.api_5xx_rate, props.alarm_config.api_min_requests
        errors = self._alarm(
            self,
            "api_5xx",
            name="api-5xx",
            description=f"API 5XX rate in {region} at or over {rate:.1%}",
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions=api,
            statistic="Average",
            threshold=rate,
            comparison="GreaterThanOrEqualToThreshold",
        )
        traffic = self._alarm(
            self,
            "api_traffic",
            name="api-requests",
            description=f"API in {region} serves {floor} or more requests a minute: its 5XX rate counts",
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions=api,
            statistic="SampleCount",
            threshold=floor,
            comparison="GreaterThanOrEqualToThreshold",
            actions=False,
        )
        return errors, traffic

    def _other_alarms(self) -> None:
        props = self._props
        region, api = props.region, {"ApiName": props.api_name, "Stage": props.stage_name}
        latency = props.alarm_config.api_p99_latency_ms
        self.api_latency = self._alarm(
            self,
            "api_latency",
            name="api-p99-latency",
            description=f"API p99 latency in {region} over {latency} ms",
            namespace="AWS/ApiGateway",
            metric_name="Latency",
            dimensions=api,
            extended_statistic="p99",
            threshold=latency,
            comparison="GreaterThanThreshold",
        )
        for route_id, function_name in props.function_names.items():
            self._function_alarms(Construct(self, route_id), route_id.replace("_", "-"), function_name)
        for operation in props.table_operations:
            self._table_alarms(Construct(self, f"table_{operation.lower()}"), operation)
        for target in props.replication_targets:
            self._alarm(
                Construct(self, f"replication_{target}"),
                "latency",
                name=f"replication-to-{target}",
                description=f"DynamoDB replication latency {region} -> {target} over 60 s",
                namespace="AWS/DynamoDB",
                metric_name="ReplicationLatency",
                dimensions={"TableName": props.table_name, "ReceivingRegion": target},
                statistic="Average",
                threshold=60000,
                comparison="GreaterThanThreshold",
            )

    def _function_alarms(self, scope: Construct, name: str, function_name: str) -> CloudwatchMetricAlarm:
        """Errors, throttles (its reservation or the account's concurrency is exhausted) and
        duration near its timeout; returns the errors alarm."""
        region, function = self._props.region, {"FunctionName": function_name}
        errors = self._alarm(
            scope,
            "errors",
            name=f"{name}-errors",
            description=f"Lambda {function_name} errors in {region}",
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions=function,
            statistic="Sum",
            threshold=1,
            comparison="GreaterThanOrEqualToThreshold",
        )
        self._alarm(
            scope,
            "throttles",
            name=f"{name}-throttles",
            description=f"Lambda {function_name} throttled in {region}",
            namespace="AWS/Lambda",
            metric_name="Throttles",
            dimensions=function,
            statistic="Sum",
            threshold=1,
            comparison="GreaterThanOrEqualToThreshold",
        )
        timeout_ms = self._props.lambda_config.timeout * 1000
        self._alarm(
            scope,
            "duration",
            name=f"{name}-duration",
            description=f"Lambda {function_name} in {region} near its {timeout_ms} ms timeout",
            namespace="AWS/Lambda",
            metric_name="Duration",
            dimensions=function,
            statistic="Maximum",
            threshold=DURATION_SHARE_OF_TIMEOUT * timeout_ms,
            comparison="GreaterThanOrEqualToThreshold",
        )
        return errors

    def _table_alarms(self, scope: Construct, operation: str) -> None:
        """DynamoDB reports both per table and operation. On-demand tables still throttle
        (a hot partition, or past the table's maximum); system errors are DynamoDB's 500s,
        which the handlers answer with 503."""
        region, props = self._props.region, self._props
        table = {"TableName": props.table_name, "Operation": operation}
        for alarm_id, metric_name, what in (
            ("throttled", "ThrottledRequests", "throttled"),
            ("system_errors", "SystemErrors", "system errors"),
        ):
            self._alarm(
                scope,
                alarm_id,
                name=f"table-{operation.lower()}-{alarm_id.replace('_', '-')}",
                description=f"DynamoDB {operation} {what} on {props.table_name} in {region}",
                namespace="AWS/DynamoDB",
                metric_name=metric_name,
                dimensions=table,
                statistic="Sum",
                threshold=1,
                comparison="GreaterThanOrEqualToThreshold",
            )

    def _alarm(
        self,
        scope: Construct,
        alarm_id: str,
        *,
        name: str,
        description: str,
        namespace: str,
        metric_name: str,
        dimensions: dict[str, str],
        threshold: float,
        comparison: str,
        statistic: str | None = None,
        extended_statistic: str | None = None,
        actions: bool = True,
    ) -> CloudwatchMetricAlarm:
        """One alarm; a percentile (``extended_statistic``) alarm keeps its state while a
        period has too few requests for the percentile to mean anything. ``actions=False``:
        a state for Route53 to read, told to nobody."""
        props = self._props
        topics = [props.topic_arn] if actions else None
        return aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm(
            scope,
            alarm_id,
            provider=props.provider,
            alarm_name=f"{props.name_prefix}-{name}-{props.region}",
            alarm_description=description,
            namespace=namespace,
            metric_name=metric_name,
            dimensions=dimensions,
            statistic=statistic,
            extended_statistic=extended_statistic,
            evaluate_low_sample_count_percentiles="ignore" if extended_statistic else None,
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            threshold=threshold,
            comparison_operator=comparison,
            treat_missing_data="notBreaching",
            alarm_actions=topics,
            ok_actions=topics,
        )


@dataclass(frozen=True, kw_only=True)
class HealthAlarmsProps:
    """``provider`` must be us-east-1's; ``health_check_ids``: region -> health check id."""

    provider: AwsProvider
    name_prefix: str
    topic_arn: str
    health_check_ids: Mapping[str, str]


class HealthAlarms(Construct):
    """One alarm per region's health check, quiet on a healthy fresh deploy and loud when a
    check fails or stops reporting.

    A new alarm starts in INSUFFICIENT_DATA, and CloudWatch runs actions only when the state
    changes. With ``treat_missing_data = "breaching"`` the minutes before Route53's first
    datapoints count as failures, so every fresh deploy paged (ALARM) and then resolved.
    With missing data left missing, a new alarm waits in INSUFFICIENT_DATA (no action) and
    moves to OK with the first healthy datapoints; a check that later stops reporting (the
    check deleted or disabled, its metric gone) moves the alarm from OK to
    INSUFFICIENT_DATA, which ``insufficient_data_actions`` reports to the same topic as a
    failure. The OK action also runs on that first INSUFFICIENT_DATA -> OK (CloudWatch
    cannot limit it to ALARM -> OK): one "OK" notification per new alarm, not a page."""

    def __init__(self, scope: Construct, id_: str, props: HealthAlarmsProps) -> None:
        super().__init__(scope, id_)
        for region, check_id in props.health_check_ids.items():
            aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm(
                Construct(self, region),
                "alarm",
                provider=props.provider,
                alarm_name=f"{props.name_prefix}-health-{region}",
                alarm_description=f"Route53 health check of {region} is failing: traffic has left the region",
                namespace="AWS/Route53",
                metric_name="HealthCheckStatus",
                dimensions={"HealthCheckId": check_id},
                statistic="Minimum",
                period=60,
                evaluation_periods=2,
                threshold=1,
                comparison_operator="LessThanThreshold",
                treat_missing_data="missing",
                alarm_actions=[props.topic_arn],
                insufficient_data_actions=[props.topic_arn],
                ok_actions=[props.topic_arn],
            )
