"""The alarm an experiment expects to fire, watched through CloudWatch while it runs: the
deployed replication-latency alarm of the paused direction (local/alarm_evaluator.py sets its
state from the replicator's ReplicationLatency). The experiment passes only if the alarm went
to ALARM after the fault began and is OK again at the end."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from local.alarm_evaluator import Rule, metric_alarms
from local.emulator import AwsClient, aws_client
from local.replicator import METRIC_NAME, METRIC_NAMESPACE

if TYPE_CHECKING:
    from local.deployment_file import Deployment

POLL_S = 0.1


def replication_alarm(cloudwatch: AwsClient, table_name: str, receiving_region: str) -> dict:
    """The deployed ReplicationLatency alarm of this region's table toward ``receiving_region``."""
    wanted = {"TableName": table_name, "ReceivingRegion": receiving_region}
    for alarm in metric_alarms(cloudwatch):
        dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        if (alarm["Namespace"], alarm["MetricName"]) == (METRIC_NAMESPACE, METRIC_NAME) and dimensions == wanted:
            return alarm
    raise SystemExit(f"no {METRIC_NAME} alarm of {table_name} toward {receiving_region} is deployed; not starting")


@dataclass
class AlarmWatch:
    """The alarm's states as DescribeAlarms shows them: (wall time, state) at each change."""

    client: AwsClient
    name: str
    settle_s: float  # how long its evaluation range takes to forget a fault: (periods + 1) scaled periods
    states: list[tuple[float, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def state(self) -> str:
        return self.client.describe_alarms(AlarmNames=[self.name])["MetricAlarms"][0]["StateValue"]

    def start(self) -> None:
        threading.Thread(target=self._poll, daemon=True, name="alarm-watch").start()

    def record(self) -> str:
        now = self.state()
        if not self.states or self.states[-1][1] != now:
            self.states.append((time.time(), now))
        return now

    def _poll(self) -> None:
        while not self.stop.is_set():
            self.record()
            self.stop.wait(POLL_S)

    def wait_for(self, wanted: str, timeout_s: float) -> bool:
        deadline = time.time() + timeout_s
        while self.record() != wanted:
            if time.time() > deadline:
                return False
            time.sleep(POLL_S)
        return True

    def fired(self, since: float) -> float | None:
        """When it went to ALARM at or after ``since`` (None: it did not)."""
        return next((when for when, state in self.states if state == "ALARM" and when >= since), None)


def watch(deployment: Deployment, source: str, receiving_region: str, scale: float) -> AlarmWatch:
    client = aws_client("cloudwatch", source, deployment.emulator_url)
    alarm = replication_alarm(
        client, deployment.needed(deployment.table_name, "table_name", "the alarm watch"), receiving_region
    )
    rule = Rule.of(alarm, scale)
    return AlarmWatch(client, alarm["AlarmName"], (rule.periods + 1) * rule.period_s + 1.0)


def outcome(alarm: AlarmWatch, fault: tuple[float, float] | None) -> tuple[bool, str]:
    """(as expected, the words for the verdict line) once the run is over."""
    if fault is None:
        return False, f"alarm {alarm.name} not checked (no fault window)"
    started, ended = fault
    fired = alarm.fired(started)
    if fired is None:
        return False, f"alarm {alarm.name} never fired"
    back = alarm.states[-1][1] == "OK"
    cleared = next((when for when, state in alarm.states if state == "OK" and when > fired), None)
    words = f"alarm {alarm.name} ALARM {fired - started:.1f} s into the fault"
    if not back or cleared is None:
        return False, f"{words}, not OK again"
    return True, f"{words}, OK {cleared - ended:.1f} s after it"


def begin(experiment: dict, deployment: Deployment) -> AlarmWatch | None:
    """The watch of the alarm the experiment expects (``expect_replication_alarm``: the
    primary's table toward the secondary, the direction the load's writes take), started once
    an earlier run's fault has left its evaluation range; None when it expects none."""
    config = experiment["configuration"]
    if not config.get("expect_replication_alarm"):
        return None
    scale = deployment.time_scale if deployment.time_scale is not None else 1.0
    alarm = watch(deployment, config["primary_region"], config["secondary_region"], scale)
    alarm.wait_for("OK", alarm.settle_s)
    alarm.start()
    return alarm


def end(alarm: AlarmWatch | None, fault: tuple[float, float] | None) -> tuple[bool, str | None]:
    """After the load stopped: until the alarm is OK again (within its evaluation range), then
    the outcome; (True, None) when the experiment expects no alarm."""
    if alarm is None:
        return True, None
    alarm.wait_for("OK", alarm.settle_s)
    alarm.stop.set()
    return outcome(alarm, fault)
