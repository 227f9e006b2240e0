"""CloudWatch's alarm evaluation for the local environment: moto stores metric alarms and
metric data but never computes an alarm's state from the data.

Every round it reads the DEPLOYED metric alarms of every region (DescribeAlarms: namespace,
metric, dimensions, statistic, period, evaluation periods, datapoints to alarm, threshold,
comparison, treat missing data), reads each one's datapoints from the emulator
(GetMetricStatistics, one period at a time, aligned on the period as CloudWatch aligns them),
computes the state as CloudWatch does, and sets it with SetAlarmState when it changes, with a
reason that names the datapoints:

- the last ``EvaluationPeriods`` complete periods are the evaluation range; ``ALARM`` when at
  least ``DatapointsToAlarm`` of them breach the threshold by the comparison;
- a period without data counts as breaching (``breaching``), not breaching
  (``notBreaching``), or is left out (``ignore``, ``missing``); with every period left out,
  ``missing`` goes to INSUFFICIENT_DATA and ``ignore`` keeps the state;
- otherwise ``OK``.

Only alarms on a metric some local component publishes are evaluated (``PUBLISHED``); the
others (API Gateway, Lambda, Route53 metrics: nothing local publishes them) are left as they
are, so their state still changes only through SetAlarmState, and are logged once.

``TIME_SCALE`` (the deployment file's ``time_scale``, as the router uses it): a period is
``round(Period * scale)`` whole seconds (at least 1: GetMetricStatistics' unit); a threshold
that is a duration (``PUBLISHED``) is scaled by the same factor, since what makes the metric
grow, a fault window, is scaled too, but never below what the local component reaches with
no fault at all (the replicator's unscaled bound, local/replicator.py ``LAG_BOUND_S``).

    python -m local.alarm_evaluator --deployment .emulator/deployment.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from local import deployment_file
from local.emulator import AwsClient, aws_client
from local.replicator import LAG_BOUND_S, METRIC_NAME, METRIC_NAMESPACE

if TYPE_CHECKING:
    from collections.abc import Callable

# (namespace, metric) a local component publishes -> the least a duration threshold becomes
# when scaled (ms), or None when the threshold is not a duration.
PUBLISHED: dict[tuple[str, str], float | None] = {(METRIC_NAMESPACE, METRIC_NAME): LAG_BOUND_S * 1000}
COMPARISONS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "GreaterThanThreshold": ("greater than", lambda value, threshold: value > threshold),
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", lambda value, threshold: value >= threshold),
    "LessThanThreshold": ("less than", lambda value, threshold: value < threshold),
    "LessThanOrEqualToThreshold": ("less than or equal to", lambda value, threshold: value <= threshold),
}
MISSING_AS = {"breaching": True, "notBreaching": False, "ignore": None, "missing": None}


@dataclass(frozen=True)
class Rule:
    """What evaluating one deployed alarm needs, at the deployment's time scale."""

    name: str
    namespace: str
    metric: str
    dimensions: list[dict]
    statistic: str
    period_s: int
    periods: int
    to_alarm: int
    threshold: float
    comparison: str
    missing: str

    @classmethod
    def of(cls, alarm: dict, scale: float) -> Rule:
        floor = PUBLISHED.get((alarm["Namespace"], alarm["MetricName"]))
        threshold = float(alarm["Threshold"])
        if floor is not None:
            threshold = max(threshold * scale, floor)
        return cls(
            name=alarm["AlarmName"],
            namespace=alarm["Namespace"],
            metric=alarm["MetricName"],
            dimensions=alarm.get("Dimensions", []),
            statistic=alarm["Statistic"],
            period_s=max(1, round(alarm["Period"] * scale)),
            periods=alarm["EvaluationPeriods"],
            to_alarm=alarm.get("DatapointsToAlarm") or alarm["EvaluationPeriods"],
            threshold=threshold,
            comparison=alarm["ComparisonOperator"],
            missing=alarm.get("TreatMissingData") or "missing",
        )


def metric_alarms(cloudwatch: AwsClient) -> list[dict]:
    """Every metric alarm of the region (DescribeAlarms pages by 50 on AWS)."""
    pages = cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"])
    return [alarm for page in pages for alarm in page["MetricAlarms"]]


def evaluable(alarm: dict) -> str | None:
    """None when this evaluator can compute the alarm's state, else why not."""
    if (alarm.get("Namespace"), alarm.get("MetricName")) not in PUBLISHED:
        return f"no local component publishes {alarm.get('Namespace')} {alarm.get('MetricName')}"
    if not alarm.get("Statistic") or alarm.get("ComparisonOperator") not in COMPARISONS:
        return "only a plain statistic against a static threshold is evaluated"
    return None


def datapoints(cloudwatch: AwsClient, rule: Rule, now: datetime) -> list[tuple[datetime, float | None]]:
    """The last ``rule.periods`` complete periods, oldest first: (start, value or None)."""
    period = timedelta(seconds=rule.period_s)
    epoch = int(now.timestamp()) // rule.period_s * rule.period_s
    end = datetime.fromtimestamp(epoch, UTC)
    points = []
    for index in range(rule.periods, 0, -1):
        start = end - index * period
        found = cloudwatch.get_metric_statistics(
            Namespace=rule.namespace,
            MetricName=rule.metric,
            Dimensions=rule.dimensions,
            StartTime=start,
            EndTime=start + period,
            Period=rule.period_s,
            Statistics=[rule.statistic],
        )["Datapoints"]
        points.append((start, float(found[0][rule.statistic]) if found else None))
    return points


def state_of(rule: Rule, points: list[tuple[datetime, float | None]], current: str) -> tuple[str, str]:
    """(state, reason) by the module docstring's rules."""
    words, breaches = COMPARISONS[rule.comparison]
    verdicts = [MISSING_AS[rule.missing] if value is None else breaches(value, rule.threshold) for _, value in points]
    shown = ", ".join(f"{'-' if value is None else f'{value:g}'} ({start:%H:%M:%S})" for start, value in points)
    breaching = sum(1 for verdict in verdicts if verdict)
    summary = (
        f"{breaching} out of the last {rule.periods} datapoints [{shown}] were {words} the threshold "
        f"({rule.threshold:g}) (minimum {rule.to_alarm} datapoints for ALARM; missing data: {rule.missing})"
    )
    if breaching >= rule.to_alarm:
        return "ALARM", f"Threshold Crossed: {summary}."
    if all(verdict is None for verdict in verdicts):
        if rule.missing == "missing":
            return "INSUFFICIENT_DATA", f"Insufficient Data: no datapoints in the last {rule.periods} periods."
        return current, f"No datapoints; state kept (missing data: {rule.missing})."
    return "OK", f"Threshold Crossed: {summary}."


class AlarmEvaluator:
    """One round: every region's deployed alarms read, the evaluable ones evaluated."""

    def __init__(
        self, cloudwatch: dict[str, AwsClient], scale: float, log: TextIO, now: Callable[[], datetime] | None = None
    ) -> None:
        self.cloudwatch, self.scale, self.log = cloudwatch, scale, log
        self.now = now or (lambda: datetime.now(UTC))
        self.skipped: set[str] = set()

    def round(self) -> dict[str, str]:
        """Evaluates every evaluable alarm; returns alarm name -> state after the round."""
        states = {}
        for region, client in self.cloudwatch.items():
            for alarm in metric_alarms(client):
                why_not = evaluable(alarm)
                if why_not is None:
                    states[alarm["AlarmName"]] = self.evaluate(region, client, alarm)
                elif alarm["AlarmName"] not in self.skipped:
                    self.skipped.add(alarm["AlarmName"])
                    self.write({"event": "not evaluated", "alarm": alarm["AlarmName"], "why": why_not})
        return states

    def evaluate(self, region: str, client: AwsClient, alarm: dict) -> str:
        rule = Rule.of(alarm, self.scale)
        state, reason = state_of(rule, datapoints(client, rule, self.now()), alarm["StateValue"])
        if state != alarm["StateValue"]:
            client.set_alarm_state(AlarmName=rule.name, StateValue=state, StateReason=reason[:1023])
            self.write({"event": "state", "region": region, "alarm": rule.name, "state": state, "reason": reason})
        return state

    def period_s(self) -> float:
        """How often to evaluate: the shortest evaluable alarm period (one scaled minute if none)."""
        periods = [
            Rule.of(alarm, self.scale).period_s
            for client in self.cloudwatch.values()
            for alarm in metric_alarms(client)
            if evaluable(alarm) is None
        ]
        return float(min(periods, default=max(1, round(60 * self.scale))))

    def write(self, entry: dict) -> None:
        self.log.write(json.dumps(entry) + "\n")
        self.log.flush()


def run(evaluator: AlarmEvaluator, stop: threading.Event) -> None:
    while not stop.is_set():
        period = 1.0
        try:
            evaluator.round()
            period = evaluator.period_s()
        except Exception as err:  # the emulator restarting, alarms being destroyed: say so, go on
            evaluator.write({"event": "round failed", "error": f"{type(err).__name__}: {err}"})
        stop.wait(period)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate the local environment's CloudWatch alarms.")
    parser.add_argument(
        "--deployment", required=True, type=Path, help="the deployment file, e.g. .emulator/deployment.json"
    )
    args = parser.parse_args(argv)
    deployment = deployment_file.load(args.deployment)
    scale = deployment.time_scale if deployment.time_scale is not None else 1.0
    clients = {region: aws_client("cloudwatch", region, deployment.emulator_url) for region in deployment.regions}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    evaluator = AlarmEvaluator(clients, scale, sys.stdout)
    evaluator.write({"event": "started", "regions": list(clients), "time_scale": scale})
    with contextlib.suppress(KeyboardInterrupt):
        run(evaluator, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
