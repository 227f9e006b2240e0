"""The experiment's alarm check against moto's server in this process: it finds the deployed
ReplicationLatency alarm of the direction, records its states through DescribeAlarms, and
passes only when the alarm went to ALARM after the fault began and is OK again."""

from __future__ import annotations

import time
import uuid

import pytest

from local.emulator import aws_client
from local.replicator import METRIC_NAME, METRIC_NAMESPACE
from ops import chaos_alarms
from tests.local.deployments import typed

A, B = "eu-west-1", "eu-central-1"


@pytest.fixture
def deployed(server):
    """A deployment with a replication alarm A -> B (and a decoy toward another region)."""
    cloudwatch = aws_client("cloudwatch", A, server)
    table = f"items-{uuid.uuid4().hex[:8]}"
    for target in ("us-east-2", B):
        cloudwatch.put_metric_alarm(
            AlarmName=f"{table}-replication-to-{target}",
            Namespace=METRIC_NAMESPACE,
            MetricName=METRIC_NAME,
            Dimensions=[{"Name": "TableName", "Value": table}, {"Name": "ReceivingRegion", "Value": target}],
            Statistic="Average",
            Period=60,
            EvaluationPeriods=5,
            DatapointsToAlarm=3,
            Threshold=60000,
            ComparisonOperator="GreaterThanThreshold",
        )
    deployment = typed(server, {A: {}, B: {}}, table_name=table, time_scale=0.02)
    return deployment, cloudwatch, f"{table}-replication-to-{B}"


def test_the_watch_finds_the_directions_alarm_and_its_settle_time(deployed):
    deployment, _, name = deployed
    alarm = chaos_alarms.watch(deployment, A, B, 0.02)
    assert alarm.name == name
    assert alarm.settle_s == 7.0  # (5 periods + 1) of 1 s, and a second


def sequence(deployed, states: list[str]) -> tuple[chaos_alarms.AlarmWatch, tuple[float, float]]:
    """The watch running while the alarm takes ``states`` during a fault window."""
    deployment, cloudwatch, name = deployed
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="before")
    alarm = chaos_alarms.watch(deployment, A, B, 0.02)
    alarm.start()
    time.sleep(0.3)
    started = time.time()
    for state in states:
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")
        time.sleep(0.3)
    ended = time.time()
    alarm.stop.set()
    return alarm, (started, ended)


def test_fired_during_the_fault_and_cleared_after_passes(deployed):
    alarm, window = sequence(deployed, ["ALARM", "OK"])
    ok, words = chaos_alarms.outcome(alarm, window)
    assert ok, words
    assert words.startswith(f"alarm {alarm.name} ALARM ") and " s into the fault, OK " in words


def test_an_alarm_that_never_fired_fails(deployed):
    alarm, window = sequence(deployed, ["OK"])
    assert chaos_alarms.outcome(alarm, window) == (False, f"alarm {alarm.name} never fired")


def test_an_alarm_still_firing_at_the_end_fails(deployed):
    alarm, window = sequence(deployed, ["ALARM"])
    ok, words = chaos_alarms.outcome(alarm, window)
    assert not ok and words.endswith("not OK again")


def test_an_experiment_that_expects_no_alarm_is_not_judged_by_one():
    assert chaos_alarms.begin({"configuration": {}}, typed("http://127.0.0.1:9", {A: {}})) is None
    assert chaos_alarms.end(None, (0.0, 1.0)) == (True, None)


def test_no_deployed_alarm_for_the_direction_stops_the_run(deployed):
    deployment = deployed[0]
    with pytest.raises(SystemExit, match="no ReplicationLatency alarm of items-.* toward ap-south-1"):
        chaos_alarms.watch(deployment, A, "ap-south-1", 0.02)
