"""Alarms. Per region: API 5XX, Lambda errors and DynamoDB replication latency, to a topic
in that region (CloudWatch only publishes to a topic in its own region). In us-east-1, where
Route53 publishes health-check metrics: one alarm per region's health check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from constructs import Construct

from modules import aws
from modules.config import AlarmConfig


@dataclass(frozen=True, kw_only=True)
class AlarmTopicProps:
    """``kms_key_arn`` encrypts the topic (its key policy must let CloudWatch use it).
    ``alarm_config`` (default ``AlarmConfig()``): its ``email``, when set, is subscribed."""

    provider: object
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

    provider: object
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
    recovers; missing data (no traffic) is not a breach."""

    def __init__(self, scope: Construct, id_: str, props: RegionalAlarmsProps) -> None:
        super().__init__(scope, id_)
        p, region = props, props.region

        def alarm(scope_: Construct, id__: str, name: str, description: str, namespace: str, metric: str,
                  dimensions: dict, statistic: str, threshold: float, comparison: str) -> None:
            aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm(
                scope_, id__, provider=p.provider, alarm_name=f"{p.name_prefix}-{name}-{region}",
                alarm_description=description, namespace=namespace, metric_name=metric, dimensions=dimensions,
                statistic=statistic, period=60, evaluation_periods=5, datapoints_to_alarm=3, threshold=threshold,
                comparison_operator=comparison, treat_missing_data="notBreaching",
                alarm_actions=[p.topic_arn], ok_actions=[p.topic_arn],
            )

        alarm(self, "api_5xx", "api-5xx", f"API 5XX errors in {region}", "AWS/ApiGateway", "5XXError",
              {"ApiName": p.api_name, "Stage": p.stage_name}, "Sum", 5, "GreaterThanOrEqualToThreshold")
        for route_id, function_name in p.function_names.items():
            alarm(Construct(self, route_id), "errors", f"{route_id.replace('_', '-')}-errors",
                  f"Lambda {function_name} errors in {region}", "AWS/Lambda", "Errors",
                  {"FunctionName": function_name}, "Sum", 1, "GreaterThanOrEqualToThreshold")
        for target in p.replication_targets:
            alarm(Construct(self, f"replication_{target}"), "latency", f"replication-to-{target}",
                  f"DynamoDB replication latency {region} -> {target} over 60 s", "AWS/DynamoDB",
                  "ReplicationLatency", {"TableName": p.table_name, "ReceivingRegion": target},
                  "Average", 60000, "GreaterThanThreshold")


@dataclass(frozen=True, kw_only=True)
class HealthAlarmsProps:
    """``provider`` must be us-east-1's; ``health_check_ids``: region -> health check id."""

    provider: object
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
