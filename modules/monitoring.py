"""Alarms. Per region: API 5XX, Lambda errors and DynamoDB replication latency, to a topic
in that region (CloudWatch only publishes to a topic in its own region). In us-east-1, where
Route53 publishes health-check metrics: one alarm per region's health check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

from constructs import Construct

from modules import aws
from modules.config import AlarmConfig

if TYPE_CHECKING:
    from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
    from cdktf_cdktf_provider_aws.provider import AwsProvider


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
    """``function_names``: route id -> Lambda function name. ``replication_targets``:
    regions this region's table replicates to (empty when replication is emulated)."""

    provider: AwsProvider
    name_prefix: str
    region: str
    topic_arn: str
    api_name: str
    stage_name: str
    function_names: Mapping[str, str]
    table_name: str
    replication_targets: tuple[str, ...] = ()


class RegionalAlarms(Construct):
    """Each alarm fires when 3 of 5 one-minute periods breach, and tells the topic when it
    recovers; missing data (no traffic) is not a breach. Exposes ``api_5xx`` (the API's 5XX
    alarm, which Route53 also watches: modules/global_routing.py)."""

    def __init__(self, scope: Construct, id_: str, props: RegionalAlarmsProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        region = props.region
        self.api_5xx = self._alarm(
            self, "api_5xx", name="api-5xx", description=f"API 5XX errors in {region}",
            namespace="AWS/ApiGateway", metric_name="5XXError", dimensions={"ApiName": props.api_name, "Stage": props.stage_name},
            statistic="Sum", threshold=5, comparison="GreaterThanOrEqualToThreshold",
        )
        for route_id, function_name in props.function_names.items():
            self._alarm(
                Construct(self, route_id), "errors", name=f"{route_id.replace('_', '-')}-errors",
                description=f"Lambda {function_name} errors in {region}", namespace="AWS/Lambda", metric_name="Errors",
                dimensions={"FunctionName": function_name}, statistic="Sum", threshold=1,
                comparison="GreaterThanOrEqualToThreshold",
            )
        for target in props.replication_targets:
            self._alarm(
                Construct(self, f"replication_{target}"), "latency", name=f"replication-to-{target}",
                description=f"DynamoDB replication latency {region} -> {target} over 60 s", namespace="AWS/DynamoDB",
                metric_name="ReplicationLatency", dimensions={"TableName": props.table_name, "ReceivingRegion": target},
                statistic="Average", threshold=60000, comparison="GreaterThanThreshold",
            )

    def _alarm(
        self, scope: Construct, alarm_id: str, *, name: str, description: str, namespace: str, metric_name: str,
        dimensions: dict[str, str], statistic: str, threshold: float, comparison: str,
    ) -> CloudwatchMetricAlarm:
        props = self._props
        return aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm(
            scope, alarm_id, provider=props.provider, alarm_name=f"{props.name_prefix}-{name}-{props.region}",
            alarm_description=description, namespace=namespace, metric_name=metric_name, dimensions=dimensions,
            statistic=statistic, period=60, evaluation_periods=5, datapoints_to_alarm=3, threshold=threshold,
            comparison_operator=comparison, treat_missing_data="notBreaching",
            alarm_actions=[props.topic_arn], ok_actions=[props.topic_arn],
        )


@dataclass(frozen=True, kw_only=True)
class HealthAlarmsProps:
    """``provider`` must be us-east-1's; ``health_check_ids``: region -> health check id."""

    provider: AwsProvider
    name_prefix: str
    topic_arn: str
    health_check_ids: Mapping[str, str]


class HealthAlarms(Construct):
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
                treat_missing_data="breaching",
                alarm_actions=[props.topic_arn],
                ok_actions=[props.topic_arn],
            )
