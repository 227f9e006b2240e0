"""The local alarm evaluator against moto's server in this process: alarms created through
PutMetricAlarm, data through PutMetricData, states read back with DescribeAlarms. M of N
datapoints, each treat_missing_data, each comparison, the time scale, alarms on metrics
nothing local publishes left alone; and the replicator's ReplicationLatency, completed and
pending, reaching CloudWatch in the source region."""

from __future__ import annotations

import io
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from local.alarm_evaluator import AlarmEvaluator, Rule
from local.emulator import aws_client
from local.replicator import METRIC_NAME, METRIC_NAMESPACE, LatencyPublisher, replicator_for
from tests.local.deployments import typed
from tests.local.moto_server import create_table

REGION, OTHER = "eu-west-1", "eu-central-1"
# A whole minute: the evaluation range (the last 5 one-second periods) ends here.
NOW = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)


@pytest.fixture
def cloudwatch(server):
    return aws_client("cloudwatch", REGION, server)


def alarm(cloudwatch, *, comparison="GreaterThanThreshold", missing="notBreaching", threshold=60000.0, **extra) -> str:
    """A replication alarm shaped like the stack's (5 periods of 60 s, 3 to alarm) on a fresh table."""
    table = f"items-{uuid.uuid4().hex[:8]}"
    name = f"replication-to-{OTHER}-{table}"
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace=METRIC_NAMESPACE,
        MetricName=METRIC_NAME,
        Dimensions=[{"Name": "TableName", "Value": table}, {"Name": "ReceivingRegion", "Value": OTHER}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=5,
        DatapointsToAlarm=3,
        Threshold=threshold,
        ComparisonOperator=comparison,
        TreatMissingData=missing,
        **extra,
    )
    return name


def put(cloudwatch, name: str, values_by_period: dict[int, list[float]]) -> None:
    """Values into the periods ``index`` seconds before NOW (1: the last complete period)."""
    dimensions = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["Dimensions"]
    for index, values in values_by_period.items():
        cloudwatch.put_metric_data(
            Namespace=METRIC_NAMESPACE,
            MetricData=[
                {
                    "MetricName": METRIC_NAME,
                    "Dimensions": dimensions,
                    "Timestamp": NOW - timedelta(seconds=index) + timedelta(milliseconds=300),
                    "Values": values,
                    "Unit": "Milliseconds",
                }
            ],
        )


def evaluate(cloudwatch, name: str, scale: float = 1 / 60) -> tuple[str, str, io.StringIO]:
    """One round at TIME_SCALE ``scale`` (1/60: one-second periods); (state, reason, log)."""
    log = io.StringIO()
    AlarmEvaluator({REGION: cloudwatch}, scale, log, now=lambda: NOW).round()
    found = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    return found["StateValue"], found["StateReason"], log


def set_state(cloudwatch, name: str, state: str) -> None:
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def test_three_of_five_breaching_periods_alarm_and_the_reason_names_the_datapoints(cloudwatch):
    name = alarm(cloudwatch)
    set_state(cloudwatch, name, "OK")
    # Averages 5000 (breaching: above the floor of 2000 ms), 100, 3000, 2500; one period empty.
    put(cloudwatch, name, {5: [4000, 6000], 4: [100], 3: [3000], 1: [2500]})
    state, reason, log = evaluate(cloudwatch, name)
    assert state == "ALARM"
    assert reason.startswith("Threshold Crossed: 3 out of the last 5 datapoints [5000 (")
    assert "100 (" in reason and "- (" in reason and "2500 (" in reason and "threshold (2000)" in reason
    assert json.loads(log.getvalue().splitlines()[-1])["state"] == "ALARM"


def test_two_of_five_breaching_periods_are_ok(cloudwatch):
    name = alarm(cloudwatch)
    set_state(cloudwatch, name, "ALARM")
    put(cloudwatch, name, {5: [9000], 3: [9000], 2: [10], 1: [10]})
    assert evaluate(cloudwatch, name)[0] == "OK"


def test_an_unchanged_state_is_not_set_again(cloudwatch):
    name = alarm(cloudwatch)
    set_state(cloudwatch, name, "OK")
    put(cloudwatch, name, {1: [10]})
    state, reason, log = evaluate(cloudwatch, name)
    assert (state, reason, log.getvalue()) == ("OK", "test", "")


@pytest.mark.parametrize(
    ("missing", "before", "after"),
    [
        ("notBreaching", "ALARM", "OK"),
        ("breaching", "OK", "ALARM"),
        ("missing", "OK", "INSUFFICIENT_DATA"),
        ("ignore", "ALARM", "ALARM"),
        ("ignore", "OK", "OK"),
    ],
)
def test_periods_without_data_count_as_treat_missing_data_says(cloudwatch, missing, before, after):
    name = alarm(cloudwatch, missing=missing)
    set_state(cloudwatch, name, before)
    assert evaluate(cloudwatch, name)[0] == after


def test_missing_periods_as_breaching_add_to_breaching_data(cloudwatch):
    """Two breaching datapoints and three empty periods: ALARM only if missing data breaches."""
    names = {missing: alarm(cloudwatch, missing=missing) for missing in ("breaching", "notBreaching")}
    for name in names.values():
        set_state(cloudwatch, name, "OK")
        put(cloudwatch, name, {2: [9000], 1: [9000]})
    assert evaluate(cloudwatch, names["breaching"])[0] == "ALARM"
    assert evaluate(cloudwatch, names["notBreaching"])[0] == "OK"


@pytest.mark.parametrize(
    ("comparison", "below", "equal", "above"),
    [
        ("GreaterThanThreshold", "OK", "OK", "ALARM"),
        ("GreaterThanOrEqualToThreshold", "OK", "ALARM", "ALARM"),
        ("LessThanThreshold", "ALARM", "OK", "OK"),
        ("LessThanOrEqualToThreshold", "ALARM", "ALARM", "OK"),
    ],
)
def test_each_comparison_operator(cloudwatch, comparison, below, equal, above):
    """Threshold 120000 ms at TIME_SCALE 1/60: 2000 ms (scaled, at the floor)."""
    for value, expected in ((1000.0, below), (2000.0, equal), (3000.0, above)):
        name = alarm(cloudwatch, comparison=comparison, threshold=120000.0)
        set_state(cloudwatch, name, "INSUFFICIENT_DATA")
        put(cloudwatch, name, {3: [value], 2: [value], 1: [value]})
        assert evaluate(cloudwatch, name)[0] == expected, (comparison, value)


def test_periods_and_a_duration_threshold_scale_with_the_time_scale_down_to_the_replicators_bound():
    described = {
        "AlarmName": "a",
        "Namespace": METRIC_NAMESPACE,
        "MetricName": METRIC_NAME,
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 5,
        "DatapointsToAlarm": 3,
        "Threshold": 60000.0,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    assert (Rule.of(described, 1).period_s, Rule.of(described, 1).threshold) == (60, 60000.0)
    assert (Rule.of(described, 0.5).period_s, Rule.of(described, 0.5).threshold) == (30, 30000.0)
    # 1.2 s becomes 1 s (whole seconds); 1200 ms is below the 2000 ms the replicator reaches unfaulted.
    assert (Rule.of(described, 0.02).period_s, Rule.of(described, 0.02).threshold) == (1, 2000.0)


def test_an_alarm_on_a_metric_nothing_local_publishes_is_left_alone_and_logged_once(cloudwatch):
    name = f"errors-{uuid.uuid4().hex[:8]}"
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": name}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="breaching",  # would go to ALARM at once if it were evaluated
    )
    set_state(cloudwatch, name, "INSUFFICIENT_DATA")
    log = io.StringIO()
    evaluator = AlarmEvaluator({REGION: cloudwatch}, 1 / 60, log, now=lambda: NOW)
    evaluator.round()
    evaluator.round()
    assert cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"
    skipped = [json.loads(line) for line in log.getvalue().splitlines() if name in line]
    assert skipped == [
        {"event": "not evaluated", "alarm": name, "why": "no local component publishes AWS/Lambda Errors"}
    ]


def statistics(server: str, region: str, table: str) -> dict:
    client = aws_client("cloudwatch", region, server)
    points = client.get_metric_statistics(
        Namespace=METRIC_NAMESPACE,
        MetricName=METRIC_NAME,
        Dimensions=[
            {"Name": "TableName", "Value": table},
            {"Name": "ReceivingRegion", "Value": OTHER if region == REGION else REGION},
        ],
        StartTime=datetime.now(UTC) - timedelta(minutes=5),
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=600,
        Statistics=["SampleCount", "Maximum"],
    )["Datapoints"]
    return points[0] if points else {}


def test_the_replicator_publishes_replication_latency_in_the_source_region_and_pending_ages(server):
    table = f"items-{uuid.uuid4().hex[:8]}"
    for region in (REGION, OTHER):
        create_table(server, region, table)
    paused = {"on": True}
    replicator = replicator_for(typed(server, {REGION: {}, OTHER: {}}, table_name=table))
    replicator.blocked = lambda source, target: paused["on"]
    batches: list[dict] = []
    publisher = LatencyPublisher(server, [REGION, OTHER], table, replicator.write_log)
    replicator.publish = lambda batch: (batches.append(batch), publisher.submit(batch))
    aws_client("dynamodb", REGION, server).put_item(TableName=table, Item={"item_id": {"S": "x"}})
    replicator.step()
    time.sleep(0.3)
    replicator.step()
    # Paused: nothing replicated, but the waiting write's age, once per round and growing.
    assert [list(batch) for batch in batches] == [[(REGION, OTHER)], [(REGION, OTHER)]]
    assert batches[1][(REGION, OTHER)][0] >= batches[0][(REGION, OTHER)][0] + 250
    paused["on"] = False
    replicator.step()
    assert list(batches[-1]) == [(REGION, OTHER)] and batches[-1][(REGION, OTHER)][0] >= 300  # the write landed
    deadline = time.monotonic() + 5
    while statistics(server, REGION, table).get("SampleCount", 0) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert statistics(server, REGION, table)["SampleCount"] == 3
    assert statistics(server, OTHER, table) == {}  # nothing was written in the other region
